package udev

import (
	"bytes"
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"
)

var parseTime = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// uevent builds a kernel uevent message: the header, then each variable,
// each followed by a NUL.
func uevent(header string, vars ...string) []byte {
	var b bytes.Buffer

	b.WriteString(header)
	b.WriteByte(0)

	for _, v := range vars {
		b.WriteString(v)
		b.WriteByte(0)
	}

	return b.Bytes()
}

// Real-looking kernel messages, in the order a megaraid_sas coldplug sends
// them (variables in the order lib/kobject_uevent.c and dev_uevent add them).
var (
	msgPCIAdd = uevent("add@"+megaraidPCI,
		"ACTION=add", "DEVPATH="+megaraidPCI, "SUBSYSTEM=pci", "SYNTH_UUID=0", "DRIVER=megaraid_sas",
		"PCI_CLASS=10400", "PCI_ID=1000:0060", "PCI_SUBSYS_ID=1000:1013", "PCI_SLOT_NAME=0000:00:04.0",
		"MODALIAS=pci:v00001000d00000060sv00001000sd00001013bc01sc04i00", "SEQNUM=1187")
	msgModuleAdd = uevent("add@/module/megaraid_sas",
		"ACTION=add", "DEVPATH=/module/megaraid_sas", "SUBSYSTEM=module", "SEQNUM=1190")
	msgPCIBind = uevent("bind@"+megaraidPCI,
		"ACTION=bind", "DEVPATH="+megaraidPCI, "SUBSYSTEM=pci", "DRIVER=megaraid_sas",
		"PCI_CLASS=10400", "PCI_ID=1000:0060", "PCI_SUBSYS_ID=1000:1013", "PCI_SLOT_NAME=0000:00:04.0",
		"MODALIAS=pci:v00001000d00000060sv00001000sd00001013bc01sc04i00", "SEQNUM=1191")
	msgHostAdd = uevent("add@"+host0,
		"ACTION=add", "DEVPATH="+host0, "SUBSYSTEM=scsi", "DEVTYPE=scsi_host", "SEQNUM=1192")
	msgDiskAdd = uevent("add@"+sdaPath,
		"ACTION=add", "DEVPATH="+sdaPath, "SUBSYSTEM=block", "MAJOR=8", "MINOR=0", "DEVNAME=sda",
		"DEVTYPE=disk", "DISKSEQ=1", "SEQNUM=1201")
	msgStateAdd = uevent("add@"+sda5Path,
		"ACTION=add", "DEVPATH="+sda5Path, "SUBSYSTEM=block", "MAJOR=8", "MINOR=5", "DEVNAME=sda5",
		"DEVTYPE=partition", "DISKSEQ=1", "PARTN=5", "PARTNAME=STATE",
		"PARTUUID=7bd0f5a1-5c2e-4f3a-9d47-2a1e5ab0c7d3", "SEQNUM=1206")
	msgStateRemove = uevent("remove@"+sda5Path,
		"ACTION=remove", "DEVPATH="+sda5Path, "SUBSYSTEM=block", "MAJOR=8", "MINOR=5", "DEVNAME=sda5",
		"DEVTYPE=partition", "DISKSEQ=1", "PARTN=5", "PARTNAME=STATE", "SEQNUM=1300")
	msgDiskChange = uevent("change@"+sdaPath,
		"ACTION=change", "DEVPATH="+sdaPath, "SUBSYSTEM=block", "DISK_MEDIA_CHANGE=1", "MAJOR=8", "MINOR=0",
		"DEVNAME=sda", "DEVTYPE=disk", "DISKSEQ=1", "SEQNUM=1301")
)

func netlinkEvent(action Action, devpath, subsystem string, seqnum uint64) Event {
	return Event{Action: action, DevPath: devpath, Subsystem: subsystem, Seqnum: seqnum, Received: parseTime, Source: SourceNetlink}
}

func with(e Event, f func(*Event)) Event {
	f(&e)

	return e
}

var megaraidEnv = map[string]string{
	"PCI_CLASS": "10400", "PCI_ID": "1000:0060", "PCI_SUBSYS_ID": "1000:1013", "PCI_SLOT_NAME": "0000:00:04.0",
	"MODALIAS": "pci:v00001000d00000060sv00001000sd00001013bc01sc04i00",
}

var parseCases = []struct {
	name string
	raw  []byte
	want Event
}{
	{
		"megaraid PCI add (synthetic, driver bound)", msgPCIAdd,
		with(netlinkEvent(ActionAdd, megaraidPCI, "pci", 1187), func(e *Event) {
			e.Driver = "megaraid_sas"
			e.Env = map[string]string{"SYNTH_UUID": "0"}
			for k, v := range megaraidEnv {
				e.Env[k] = v
			}
		}),
	},
	{"module add", msgModuleAdd, netlinkEvent(ActionAdd, "/module/megaraid_sas", "module", 1190)},
	{
		"megaraid bind", msgPCIBind,
		with(netlinkEvent(ActionBind, megaraidPCI, "pci", 1191), func(e *Event) { e.Driver, e.Env = "megaraid_sas", megaraidEnv }),
	},
	{
		"scsi host add", msgHostAdd,
		with(netlinkEvent(ActionAdd, host0, "scsi", 1192), func(e *Event) { e.DevType = "scsi_host" }),
	},
	{
		"disk add", msgDiskAdd,
		with(netlinkEvent(ActionAdd, sdaPath, "block", 1201), func(e *Event) {
			e.DevType, e.DevName = "disk", "sda"
			e.Env = map[string]string{"MAJOR": "8", "MINOR": "0", "DISKSEQ": "1"}
		}),
	},
	{
		"STATE partition add", msgStateAdd,
		with(netlinkEvent(ActionAdd, sda5Path, "block", 1206), func(e *Event) {
			e.DevType, e.DevName = "partition", "sda5"
			e.Env = map[string]string{"MAJOR": "8", "MINOR": "5", "DISKSEQ": "1", "PARTN": "5", "PARTNAME": "STATE",
				"PARTUUID": "7bd0f5a1-5c2e-4f3a-9d47-2a1e5ab0c7d3"}
		}),
	},
	{
		"STATE partition remove", msgStateRemove,
		with(netlinkEvent(ActionRemove, sda5Path, "block", 1300), func(e *Event) {
			e.DevType, e.DevName = "partition", "sda5"
			e.Env = map[string]string{"MAJOR": "8", "MINOR": "5", "DISKSEQ": "1", "PARTN": "5", "PARTNAME": "STATE"}
		}),
	},
	{
		"disk change drops unkept variables", msgDiskChange,
		with(netlinkEvent(ActionChange, sdaPath, "block", 1301), func(e *Event) {
			e.DevType, e.DevName = "disk", "sda"
			e.Env = map[string]string{"MAJOR": "8", "MINOR": "0", "DISKSEQ": "1"}
		}),
	},
	{
		// go-udev's parser drops the last variable here.
		"missing final NUL keeps the last variable",
		bytes.TrimSuffix(uevent("add@"+sda5Path, "ACTION=add", "DEVPATH="+sda5Path, "SUBSYSTEM=block",
			"DEVTYPE=partition", "SEQNUM=7", "PARTNAME=STATE"), []byte{0}),
		with(netlinkEvent(ActionAdd, sda5Path, "block", 7), func(e *Event) {
			e.DevType = "partition"
			e.Env = map[string]string{"PARTNAME": "STATE"}
		}),
	},
	{
		"missing final NUL with SUBSYSTEM last",
		[]byte("add@/module/sd_mod\x00ACTION=add\x00DEVPATH=/module/sd_mod\x00SUBSYSTEM=module"),
		netlinkEvent(ActionAdd, "/module/sd_mod", "module", 0),
	},
	{
		"doubled NULs are skipped",
		[]byte("online@/devices/system/cpu/cpu1\x00\x00ACTION=online\x00DEVPATH=/devices/system/cpu/cpu1\x00\x00SUBSYSTEM=cpu\x00SEQNUM=9\x00\x00"),
		netlinkEvent(ActionOnline, "/devices/system/cpu/cpu1", "cpu", 9),
	},
	{
		"value holding = and @",
		uevent("move@/devices/virtual/net/eth1", "ACTION=move", "DEVPATH=/devices/virtual/net/eth1", "SUBSYSTEM=net",
			"DEVPATH_OLD=/devices/virtual/net/eth0", "MODALIAS=a=b@c", "SEQNUM=18446744073709551615"),
		with(netlinkEvent(ActionMove, "/devices/virtual/net/eth1", "net", 18446744073709551615), func(e *Event) {
			e.Env = map[string]string{"MODALIAS": "a=b@c"}
		}),
	},
	{
		"DEVNAME with /dev/ and a directory",
		uevent("add@/devices/pci0000:00/0000:00:14.0/usb1/1-1", "ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-1",
			"SUBSYSTEM=usb", "DEVNAME=/dev/bus/usb/001/002", "DEVTYPE=usb_device", "SEQNUM=12"),
		with(netlinkEvent(ActionAdd, "/devices/pci0000:00/0000:00:14.0/usb1/1-1", "usb", 12), func(e *Event) {
			e.DevName, e.DevType = "bus/usb/001/002", "usb_device"
		}),
	},
	{
		"offline and unbind",
		uevent("unbind@"+megaraidPCI, "ACTION=unbind", "DEVPATH="+megaraidPCI, "SUBSYSTEM=pci", "PCI_CLASS=10400", "SEQNUM=5"),
		with(netlinkEvent(ActionUnbind, megaraidPCI, "pci", 5), func(e *Event) { e.Env = map[string]string{"PCI_CLASS": "10400"} }),
	},
	{
		"largest kernel message (2 KiB) with a long value",
		uevent("add@/devices/virtual/misc/big", "ACTION=add", "DEVPATH=/devices/virtual/misc/big", "SUBSYSTEM=misc",
			"MODALIAS="+strings.Repeat("x", 1900)),
		with(netlinkEvent(ActionAdd, "/devices/virtual/misc/big", "misc", 0), func(e *Event) {
			e.Env = map[string]string{"MODALIAS": strings.Repeat("x", 1900)}
		}),
	},
}

func TestParseEvent(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEvent(tc.raw, parseTime)
			if err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}

			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseEvent:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

var garbageCases = []struct {
	name string
	raw  []byte
}{
	{"nil", nil},
	{"empty", []byte{}},
	{"a NUL", []byte{0}},
	{"no @", uevent("add/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"lone @", []byte("@")},
	{"header only", uevent("add@/devices/x")},
	{"no SUBSYSTEM", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SEQNUM=1")},
	{"empty SUBSYSTEM", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=")},
	{"no ACTION", uevent("add@/devices/x", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"no DEVPATH", uevent("add@/devices/x", "ACTION=add", "SUBSYSTEM=block")},
	{"header/ACTION mismatch", uevent("add@/devices/x", "ACTION=remove", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"header/DEVPATH mismatch", uevent("add@"+sda5Path, "ACTION=add", "DEVPATH="+sdaPath, "SUBSYSTEM=block")},
	{"unknown action", uevent("explode@/devices/x", "ACTION=explode", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"upper-case action", uevent("ADD@/devices/x", "ACTION=ADD", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"empty action", uevent("@/devices/x", "ACTION=", "DEVPATH=/devices/x", "SUBSYSTEM=block")},
	{"relative devpath", uevent("add@devices/x", "ACTION=add", "DEVPATH=devices/x", "SUBSYSTEM=block")},
	{"devpath /", uevent("add@/", "ACTION=add", "DEVPATH=/", "SUBSYSTEM=block")},
	{"devpath with ..", uevent("add@/devices/../../etc", "ACTION=add", "DEVPATH=/devices/../../etc", "SUBSYSTEM=block")},
	{"devpath with //", uevent("add@/devices//x", "ACTION=add", "DEVPATH=/devices//x", "SUBSYSTEM=block")},
	{"devpath with trailing /", uevent("add@/devices/x/", "ACTION=add", "DEVPATH=/devices/x/", "SUBSYSTEM=block")},
	{"variable without =", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "GARBAGE")},
	{"empty key", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "=value")},
	{"SEQNUM not a number", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "SEQNUM=12a")},
	{"SEQNUM empty", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "SEQNUM=")},
	{"SEQNUM overflows", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "SEQNUM=18446744073709551616")},
	{"SEQNUM negative", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "SEQNUM=-1")},
	{"DEVNAME escaping /dev", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "DEVNAME=../etc/shadow")},
	{"DEVNAME absolute", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "DEVNAME=/etc/shadow")},
	{"DEVNAME empty", uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "DEVNAME=")},
	{
		// udevd's format: "libudev\0", a 40-byte header, then properties.
		"libudev message",
		append([]byte("libudev\x00\xfe\xed\xca\xfe\x28\x00\x00\x00\x28\x00\x00\x00"+strings.Repeat("\x00", 24)),
			uevent("ACTION=add", "DEVPATH="+sda5Path, "SUBSYSTEM=block", "PARTNAME=STATE", "SEQNUM=1")...),
	},
	{"libudev prefix alone", []byte("libudev\x00")},
	{
		"huge value",
		uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "MODALIAS="+strings.Repeat("A", 1<<20)),
	},
	{"just over MaxEventSize", append(uevent("add@/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block"),
		bytes.Repeat([]byte{0}, MaxEventSize)...)},
	{"binary noise", []byte("\xff\xfe\x00\x01@\x00\x02")},
}

func TestParseEventRejectsGarbage(t *testing.T) {
	for _, tc := range garbageCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEvent(tc.raw, parseTime)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("ParseEvent = %+v, %v; want an ErrInvalidEvent", got, err)
			}

			if !reflect.DeepEqual(got, Event{}) {
				t.Fatalf("ParseEvent returned %+v with its error", got)
			}

			if len(err.Error()) > 300 {
				t.Fatalf("error message of %d bytes: keep it readable", len(err.Error()))
			}
		})
	}
}

func TestParseEventDoesNotAlias(t *testing.T) {
	raw := bytes.Clone(msgStateAdd)

	ev, err := ParseEvent(raw, parseTime)
	if err != nil {
		t.Fatal(err)
	}

	for i := range raw {
		raw[i] = 'X'
	}

	if ev.DevPath != sda5Path || ev.Env["PARTNAME"] != "STATE" || ev.DevName != "sda5" {
		t.Fatalf("event changed with its buffer: %+v", ev)
	}
}

func TestKeptVariables(t *testing.T) {
	kept := KeptVariables()
	if len(kept) != len(keptSet) {
		t.Fatalf("KeptVariables has %d entries, the set %d: duplicates?", len(kept), len(keptSet))
	}

	kept[0] = "CHANGED"
	if KeptVariables()[0] == "CHANGED" {
		t.Fatal("KeptVariables returns the package's own slice")
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.raw)
	}

	for _, tc := range garbageCases {
		if len(tc.raw) < 4096 {
			f.Add(tc.raw)
		}
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseEvent(raw, parseTime)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error %v does not wrap ErrInvalidEvent", err)
			}

			return
		}

		switch {
		case !ev.Action.Valid():
			t.Fatalf("accepted action %q", ev.Action)
		case ev.DevPath == "" || ev.DevPath[0] != '/' || path.Clean(ev.DevPath) != ev.DevPath:
			t.Fatalf("accepted devpath %q", ev.DevPath)
		case ev.Subsystem == "":
			t.Fatal("accepted an event without subsystem")
		case ev.DevName != "" && (strings.HasPrefix(ev.DevName, "/") || strings.HasPrefix(ev.DevName, "../") || ev.DevName == ".."):
			t.Fatalf("accepted devname %q", ev.DevName)
		case ev.Source != SourceNetlink || !ev.Received.Equal(parseTime):
			t.Fatalf("source %q, received %v", ev.Source, ev.Received)
		case len(raw) > MaxEventSize:
			t.Fatalf("accepted %d bytes", len(raw))
		}

		for k := range ev.Env {
			if _, ok := keptSet[k]; !ok {
				t.Fatalf("kept variable %q", k)
			}
		}

		// Re-encoding what was kept parses back to the same event.
		again, err := ParseEvent(encode(ev), parseTime)
		if err != nil {
			t.Fatalf("re-encoded event rejected: %v", err)
		}

		if !reflect.DeepEqual(again, ev) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, ev)
		}
	})
}

// encode writes ev back as a kernel message.
func encode(ev Event) []byte {
	vars := []string{"ACTION=" + string(ev.Action), "DEVPATH=" + ev.DevPath, "SUBSYSTEM=" + ev.Subsystem}
	if ev.DevType != "" {
		vars = append(vars, "DEVTYPE="+ev.DevType)
	}

	if ev.Driver != "" {
		vars = append(vars, "DRIVER="+ev.Driver)
	}

	if ev.DevName != "" {
		vars = append(vars, "DEVNAME="+ev.DevName)
	}

	for k, v := range ev.Env {
		vars = append(vars, k+"="+v)
	}

	if ev.Seqnum != 0 {
		vars = append(vars, "SEQNUM="+uitoa(ev.Seqnum))
	}

	return uevent(string(ev.Action)+"@"+ev.DevPath, vars...)
}

func uitoa(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// BenchmarkParseEvent parses the messages of a megaraid_sas coldplug, in
// turn; MB/s counts message bytes.
func BenchmarkParseEvent(b *testing.B) {
	msgs := [][]byte{msgPCIAdd, msgModuleAdd, msgPCIBind, msgHostAdd, msgDiskAdd, msgStateAdd, msgStateRemove, msgDiskChange}

	total := 0
	for _, m := range msgs {
		total += len(m)
	}

	b.SetBytes(int64(total / len(msgs)))
	b.ReportAllocs()

	i := 0
	for b.Loop() {
		if _, err := ParseEvent(msgs[i%len(msgs)], parseTime); err != nil {
			b.Fatal(err)
		}

		i++
	}
}
