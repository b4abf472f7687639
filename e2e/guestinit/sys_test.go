package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseUevent(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want uevent
		ok   bool
	}{
		{"partition", "add@/devices/pci0000:00/0000:00:03.0/host1/target1:2:0/1:2:0:0/block/sdb/sdb5\x00ACTION=add\x00DEVPATH=/devices/pci0000:00/0000:00:03.0/host1/target1:2:0/1:2:0:0/block/sdb/sdb5\x00SUBSYSTEM=block\x00DEVTYPE=partition\x00PARTNAME=STATE\x00SEQNUM=1502\x00",
			uevent{action: "add", vars: map[string]string{
				"ACTION": "add", "DEVPATH": "/devices/pci0000:00/0000:00:03.0/host1/target1:2:0/1:2:0:0/block/sdb/sdb5",
				"SUBSYSTEM": "block", "DEVTYPE": "partition", "PARTNAME": "STATE", "SEQNUM": "1502",
			}}, true},
		{"libudev message", "libudev\x00\xfe\xed\xca\xfe", uevent{}, false},
		{"no action", "add@/module/sd_mod\x00SUBSYSTEM=module\x00", uevent{}, false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseUevent([]byte(tt.raw))
			if ok != tt.ok {
				t.Fatalf("parsed: %t, want %t", ok, tt.ok)
			}

			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(uevent{})); ok && diff != "" {
				t.Errorf("uevent (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseKmsg(t *testing.T) {
	got, ok := parseKmsg("5,1234,23702518,-;raid-settle: released (state-verified) after 19.0s\n SUBSYSTEM=x\n")
	want := kmsgRecord{tsMS: 23702, prio: 5, text: "raid-settle: released (state-verified) after 19.0s"}

	if !ok || got != want {
		t.Errorf("got %+v %t, want %+v", got, ok, want)
	}

	// The facility bits are dropped: 12 is user.warning.
	if got, _ := parseKmsg("12,1,5,-;x"); got.prio != 4 {
		t.Errorf("prio = %d, want 4", got.prio)
	}

	if _, ok := parseKmsg("garbage"); ok {
		t.Error("garbage parsed")
	}
}
