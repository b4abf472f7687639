package certify

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/raid-settle/raid-settle/agent"
)

var percExpected = []string{"scsi-0:2:0:0", "scsi-0:2:0:0-part1", "scsi-0:2:1:0", "scsi-0:2:1:0-part1"}

func TestFindTarget(t *testing.T) {
	sysRoot, procRoot := buildTree(t, "sysfs-perc.txt")

	for _, tc := range []struct {
		name, address, driver string
		want                  Identity
	}{
		{
			name: "the PERC, by driver: megaraid_sas publishes no firmware version", driver: "megaraid_sas",
			want: Identity{
				Address: "0000:18:00.0", DevPath: percDevPath, Kind: "raid", Class: "0x010400", Driver: "megaraid_sas",
				PCIID: "1000:005d", SubsystemID: "1028:1f47", Revision: "0x02", Module: "megaraid_sas", DriverVersion: "07.727.03.00-rc1",
				Hosts: []string{"host0"}, Kernel: "6.12.48+deb13-amd64", Cmdline: []string{"megaraid_sas.async_probe=1", "raid_settle.debug=1"},
			},
		},
		{
			name: "the HBA, by address: mpt3sas publishes its firmware version", address: "0000:3b:00.0",
			want: Identity{
				Address: "0000:3b:00.0", DevPath: "/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0", Kind: "sas", Class: "0x010700", Driver: "mpt3sas",
				PCIID: "1000:0097", SubsystemID: "1000:3090", Module: "mpt3sas", DriverVersion: "43.100.00.00",
				Firmware: "16.00.12.00", FirmwareFrom: "/sys/class/scsi_host/host1/version_fw",
				Hosts: []string{"host1"}, Kernel: "6.12.48+deb13-amd64", Cmdline: []string{"raid_settle.debug=1"},
			},
		},
	} {
		tg, err := findTarget(sysRoot, procRoot, tc.address, tc.driver)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}

		if diff := cmp.Diff(tc.want, tg.identity); diff != "" {
			t.Errorf("%s: identity (-want +got):\n%s", tc.name, diff)
		}
	}

	tg, err := findTarget(sysRoot, procRoot, "", "megaraid_sas")
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(percExpected, tg.expected); diff != "" {
		t.Errorf("expected devices (-want +got):\n%s", diff)
	}

	if !slices.Equal(tg.hosts, []string{"host0"}) || !slices.Equal(tg.scsiDevices, []string{"0:2:0:0", "0:2:1:0"}) {
		t.Errorf("hosts %v, SCSI devices %v", tg.hosts, tg.scsiDevices)
	}

	for _, tc := range []struct{ address, driver, want string }{
		{"", "nvme", "no storage controller is bound to nvme"},
		{"0000:00:03.0", "", "is not a storage controller"},
		{"0000:99:00.0", "", "no PCI device 0000:99:00.0"},
		{"0000:18:00.0", "mpt3sas", "bound to megaraid_sas, not mpt3sas"},
	} {
		if _, err := findTarget(sysRoot, procRoot, tc.address, tc.driver); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("findTarget(%q, %q) = %v, want %q", tc.address, tc.driver, err, tc.want)
		}
	}
}

func TestLiveUnbindCycles(t *testing.T) {
	c, k := newTestCycler(t)
	k.delays = []map[string]time.Duration{
		{"0": 40 * time.Millisecond, "1": 90 * time.Millisecond},
		{"0": 60 * time.Millisecond, "1": 150 * time.Millisecond},
		{"0": 20 * time.Millisecond, "1": 70 * time.Millisecond},
	}

	tl, info, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Unbind then bind, once a cycle, and nothing else.
	var want []string
	for range 3 {
		want = append(want, "/bus/pci/drivers/megaraid_sas/unbind 0000:18:00.0", "/bus/pci/drivers/megaraid_sas/bind 0000:18:00.0")
	}

	if got := k.Writes(); !slices.Equal(got, want) {
		t.Errorf("writes\n got %q\nwant %q", got, want)
	}

	if tl.Source != SourceLive || tl.Cycles != 3 || len(tl.Controllers) != 1 || info.Method != MethodUnbind || info.Interrupted {
		t.Fatalf("timelines %+v, info %+v", tl, info)
	}

	ct := tl.Controllers[0]
	if !slices.Equal(ct.Expected, percExpected) {
		t.Errorf("expected %v", ct.Expected)
	}

	for i, cy := range ct.Cycles {
		// The host number grows with every bind (host1, host2, host3);
		// the ids do not.
		var ids []string
		for _, a := range cy.Arrivals {
			ids = append(ids, a.ID)
		}

		if !slices.Equal(ids, percExpected) {
			t.Errorf("cycle %d: arrivals %v", i+1, ids)
		}

		if cy.Reference != RefBindWrite || cy.TimedOut || cy.Index != i+1 || cy.Source != "live" {
			t.Errorf("cycle %d: reference %s, timed out %t, index %d, source %q", i+1, cy.Reference, cy.TimedOut, cy.Index, cy.Source)
		}

		for _, a := range cy.Arrivals {
			if a.Type != TypeDisk {
				continue
			}

			vd := strings.Split(a.ID, ":")[2]
			wantMS := k.delays[i][vd].Milliseconds()

			if a.AtMS < wantMS || a.AtMS > wantMS+50 {
				t.Errorf("cycle %d: %s at %dms, want %dms", i+1, a.ID, a.AtMS, wantMS)
			}
		}

		if cy.BindUeventMS < 5 || cy.BindUeventMS > 55 {
			t.Errorf("cycle %d: bind uevent at %dms", i+1, cy.BindUeventMS)
		}

		// Every uevent is kept: the unbind's removals before the reference.
		if len(cy.Events) == 0 || cy.Events[0].Action != "remove" || cy.Events[0].AtMS > 0 {
			t.Errorf("cycle %d: events start with %+v", i+1, cy.Events[:min(1, len(cy.Events))])
		}
	}

	res := Analyze(tl)
	if s := res.Controllers[0].Stats; s.Complete != 3 || s.Failed != 0 || s.DiskDelay.N != 6 {
		t.Errorf("stats %+v", s)
	}
}

func TestLiveMissingDiskTimesOut(t *testing.T) {
	c, k := newTestCycler(t)
	c.Cycles = 2
	k.delays = []map[string]time.Duration{
		{"0": 30 * time.Millisecond, "1": 60 * time.Millisecond},
		{"0": 30 * time.Millisecond}, // the second virtual drive never returns
	}

	start := time.Now()

	tl, _, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	cycles := tl.Controllers[0].Cycles
	if cycles[0].TimedOut || !cycles[1].TimedOut || cycles[1].ObservedMS < c.Timeout.Milliseconds() {
		t.Errorf("timed out: %t, %t (want false, true); cycle 2 watched %dms", cycles[0].TimedOut, cycles[1].TimedOut, cycles[1].ObservedMS)
	}

	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s", took)
	}

	res := Analyze(tl)
	if got := res.Controllers[0].Cycles[1].Missing; !slices.Equal(got, []string{"scsi-0:2:1:0", "scsi-0:2:1:0-part1"}) {
		t.Errorf("missing %v", got)
	}

	if !res.Failed() {
		t.Error("a lost disk is a failure")
	}
}

func TestLiveRescan(t *testing.T) {
	c, k := newTestCycler(t)
	c.Method = MethodRescan
	c.Cycles = 2

	tl, _, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	var want []string
	for range 2 {
		want = append(want,
			"/bus/scsi/devices/0:2:0:0/delete 1", "/bus/scsi/devices/0:2:1:0/delete 1",
			"/class/scsi_host/host0/scan - - -")
	}

	if got := k.Writes(); !slices.Equal(got, want) {
		t.Errorf("writes\n got %q\nwant %q", got, want)
	}

	for _, cy := range tl.Controllers[0].Cycles {
		if cy.Reference != RefScanWrite || len(cy.Arrivals) != 4 || cy.Arrivals[0].ID != "scsi-0:2:0:0" {
			t.Errorf("cycle %d: reference %s, arrivals %v", cy.Index, cy.Reference, arrivalsOf(cy))
		}
	}
}

// efivar encodes LoaderDevicePartUUID as efivarfs shows it.
func efivar(uuid string) []byte {
	var b bytes.Buffer

	b.Write([]byte{6, 0, 0, 0})

	for _, u := range utf16.Encode([]rune(strings.ToUpper(uuid) + "\x00")) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}

	return b.Bytes()
}

func TestRefusals(t *testing.T) {
	const header = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"

	for _, tc := range []struct {
		name  string
		extra []string
		efi   string // LoaderDevicePartUUID, if any
		want  []Hazard
		text  string
	}{
		{
			name:  "partition mounted",
			extra: []string{"-- proc/self/mountinfo --", strings.TrimSpace(header), "40 22 8:1 / /srv/data rw,relatime shared:30 - xfs /dev/sda1 rw"},
			want:  []Hazard{{Kind: HazardMounted, Device: "sda1", DevNum: "8:1", Where: "/srv/data"}},
			text:  "sda1 (8:1) is mounted at /srv/data",
		},
		{
			name:  "root on the controller",
			extra: []string{"-- proc/self/mountinfo --", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"},
			want:  []Hazard{{Kind: HazardRoot, Device: "sda1", DevNum: "8:1", Where: "/"}},
			text:  "sda1 (8:1) holds the root filesystem, mounted at /",
		},
		{
			name:  "LVM volume on the controller, mount point with a space",
			extra: []string{"-- proc/self/mountinfo --", strings.TrimSpace(header), `41 22 253:0 / /var/lib/my\040data rw - ext4 /dev/mapper/vg0-data rw`},
			want:  []Hazard{{Kind: HazardMounted, Device: "sdb1", Via: "dm-0 (vg0-data)", DevNum: "253:0", Where: "/var/lib/my data"}},
			text:  "sdb1, through dm-0 (vg0-data) (253:0) is mounted at /var/lib/my data",
		},
		{
			name:  "matched by source when the device number is anonymous (btrfs)",
			extra: []string{"-- proc/self/mountinfo --", strings.TrimSpace(header), "42 22 0:45 /@ /home rw - btrfs /dev/sda1 rw"},
			want:  []Hazard{{Kind: HazardMounted, Device: "sda1", DevNum: "8:1", Where: "/home"}},
		},
		{
			name:  "swap",
			extra: []string{"-- proc/swaps --", "Filename\tType\tSize\tUsed\tPriority", "/dev/dm-0                               partition\t8388604\t0\t-2"},
			want:  []Hazard{{Kind: HazardSwap, Device: "sdb1", Via: "dm-0 (vg0-data)", DevNum: "253:0", Where: "/dev/dm-0"}},
			text:  "is an active swap area (/dev/dm-0)",
		},
		{
			name: "boot partition",
			efi:  "0b6f1c9e-2a47-4e0f-8d3b-5f9a1c2e7d40",
			want: []Hazard{{Kind: HazardBoot, Device: "sda1", Where: "0b6f1c9e-2a47-4e0f-8d3b-5f9a1c2e7d40"}},
			text: "sda1 is the partition the firmware booted from",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withEFI := func(c *Cycler) {
				if tc.efi == "" {
					return
				}

				dir := filepath.Join(c.SysRoot, "firmware/efi/efivars")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}

				if err := os.WriteFile(filepath.Join(dir, agent.LoaderDevicePartUUIDVar), efivar(tc.efi), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			c, k := newTestCycler(t, tc.extra...)
			withEFI(c)

			_, _, err := c.Run(context.Background())

			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v, want a refusal", err)
			}

			if diff := cmp.Diff(tc.want, refused.Hazards); diff != "" {
				t.Errorf("hazards (-want +got):\n%s", diff)
			}

			if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "0000:18:00.0 (megaraid_sas)") {
				t.Errorf("message:\n%s", err)
			}

			if w := k.Writes(); len(w) > 0 {
				t.Errorf("a refused controller was touched: %q", w)
			}

			// --force cycles it, and the results say what was overridden.
			c, k = newTestCycler(t, tc.extra...)
			withEFI(c)
			c.Force, c.Cycles = true, 1

			_, info, err := c.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}

			if diff := cmp.Diff(tc.want, info.Forced); diff != "" {
				t.Errorf("forced (-want +got):\n%s", diff)
			}

			if w := k.Writes(); len(w) != 2 {
				t.Errorf("forced: writes %q, want an unbind and a bind", w)
			}
		})
	}
}

func TestInterruptLeavesControllerBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cancelOn is the write after which SIGINT arrives.
		cancelOn string
		cycles   int
	}{
		{"between unbind and bind", "/unbind", 1},
		{"while waiting for the disks", "/bind", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, k := newTestCycler(t)
			c.Cycles = 3
			c.Timeout = time.Hour                                               // an interrupt that is not honoured hangs the test
			k.delays = []map[string]time.Duration{{"0": 20 * time.Millisecond}} // the second drive is slow to come back

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			k.onWrite = func(rel string) {
				if strings.HasSuffix(rel, tc.cancelOn) {
					cancel()
				}
			}

			tl, info, err := c.Run(ctx)
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("err = %v, want ErrInterrupted", err)
			}

			if !info.Interrupted {
				t.Error("the run is not marked interrupted")
			}

			want := []string{"/bus/pci/drivers/megaraid_sas/unbind 0000:18:00.0", "/bus/pci/drivers/megaraid_sas/bind 0000:18:00.0"}
			if got := k.Writes(); !slices.Equal(got, want) {
				t.Errorf("writes %q, want %q", got, want)
			}

			if !bound(c.SysRoot, "0000:18:00.0") {
				t.Error("the controller was left unbound")
			}

			if cycles := tl.Controllers[0].Cycles; len(cycles) != tc.cycles || !cycles[0].Partial {
				t.Errorf("%d cycle(s), the first partial: %t; want %d, partial", len(cycles), len(cycles) > 0 && cycles[0].Partial, tc.cycles)
			}

			// What did not come back before the interrupt is unobserved,
			// not lost.
			if res := Analyze(tl); res.Failed() {
				t.Errorf("an interrupted cycle counts as failed: missing %v", res.Controllers[0].Cycles[0].Missing)
			}
		})
	}
}

func TestRestoreRebindsAfterAFailedBind(t *testing.T) {
	c, k := newTestCycler(t)
	k.failBinds = 1

	tl, _, err := c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "failed to re-enumerate 0000:18:00.0") {
		t.Fatalf("err = %v", err)
	}

	want := []string{
		"/bus/pci/drivers/megaraid_sas/unbind 0000:18:00.0",
		"/bus/pci/drivers/megaraid_sas/bind 0000:18:00.0", // EBUSY
		"/bus/pci/drivers/megaraid_sas/bind 0000:18:00.0", // restore
	}
	if got := k.Writes(); !slices.Equal(got, want) {
		t.Errorf("writes %q", got)
	}

	if !bound(c.SysRoot, "0000:18:00.0") || !strings.Contains(c.Log.(*strings.Builder).String(), "binding it to megaraid_sas again") {
		t.Errorf("not rebound; log: %s", c.Log)
	}

	if tl == nil || len(tl.Controllers[0].Cycles) != 1 || tl.Controllers[0].Cycles[0].Error == "" {
		t.Errorf("timelines %+v", tl)
	}

	// And when the rebind fails too, the error says how to do it by hand.
	c, k = newTestCycler(t)
	k.failBinds = 2

	_, _, err = c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is left unbound") || !strings.Contains(err.Error(), "echo 0000:18:00.0 > "+filepath.Join(c.SysRoot, "bus/pci/drivers/megaraid_sas/bind")) {
		t.Errorf("err = %v", err)
	}
}

func TestRunArgumentErrors(t *testing.T) {
	c, _ := newTestCycler(t)
	c.Method = MethodRescan
	c.Address, c.Driver = "0000:00:02.0", ""

	if _, _, err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no SCSI host to rescan") {
		t.Errorf("rescan of virtio: %v", err)
	}

	c, _ = newTestCycler(t)
	c.Cycles = 0

	if _, _, err := c.Run(context.Background()); err == nil {
		t.Error("zero cycles accepted")
	}

	c, _ = newTestCycler(t)
	c.OpenMonitor = func() (EventSource, error) { return nil, os.ErrPermission }

	if _, _, err := c.Run(context.Background()); !errors.Is(err, os.ErrPermission) {
		t.Errorf("monitor error: %v", err)
	}
}
