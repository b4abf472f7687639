package certify

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func percReports() []string {
	var files []string
	for i := 1; i <= 5; i++ {
		files = append(files, filepath.Join("testdata", "perc-boot-"+strconv.Itoa(i)+".json"))
	}

	return files
}

// arrivalsOf lists a cycle's arrivals as "ID@MS".
func arrivalsOf(c Cycle) []string {
	var out []string
	for _, a := range c.Arrivals {
		out = append(out, a.ID+"@"+itoa(a.AtMS))
	}

	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// cycleHead is what a cycle says besides its arrivals and events.
type cycleHead struct {
	Source                  string
	Reference               Reference
	ReferenceMS, ObservedMS int64
	Partial                 bool
	Decision                string
}

func headOf(c Cycle) cycleHead {
	return cycleHead{Source: c.Source, Reference: c.Reference, ReferenceMS: c.ReferenceMS, ObservedMS: c.ObservedMS, Partial: c.Partial, Decision: c.Decision}
}

func TestDeviceID(t *testing.T) {
	const ctl = "/devices/pci0000:17/0000:17:00.0/0000:18:00.0"

	for _, tc := range []struct {
		devpath, ctl string
		hostBase     int
		partN        int
		want         string
	}{
		{ctl + "/host0/target0:2:1/0:2:1:0/block/sdb", ctl, 0, 0, "scsi-0:2:1:0"},
		{ctl + "/host7/target7:2:1/7:2:1:0/block/sda", ctl, 7, 0, "scsi-0:2:1:0"},
		{ctl + "/host7/target7:2:1/7:2:1:0/block/sda/sda3", ctl, 7, 3, "scsi-0:2:1:0-part3"},
		// ahci: one host per port, counted from the controller's first.
		{"/devices/pci0000:00/0000:00:17.0/ata4/host3/target3:0:0/3:0:0:0/block/sdd", "/devices/pci0000:00/0000:00:17.0", 0, 0, "scsi-3:0:0:0"},
		{"/devices/pci0000:00/0000:00:05.0/nvme/nvme3/nvme3n2", "/devices/pci0000:00/0000:00:05.0", 0, 0, "nvme-n2"},
		{"/devices/pci0000:00/0000:00:05.0/nvme/nvme3/nvme3n2/nvme3n2p1", "/devices/pci0000:00/0000:00:05.0", 0, 1, "nvme-n2-part1"},
		{"/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/vda2", "/devices/pci0000:00/0000:00:02.0", 0, 2, "vda-part2"},
	} {
		if got := DeviceID(tc.devpath, tc.ctl, tc.hostBase, tc.partN); got != tc.want {
			t.Errorf("DeviceID(%s) = %q, want %q", tc.devpath, got, tc.want)
		}
	}
}

func TestSplitPartitionName(t *testing.T) {
	for name, want := range map[string]struct {
		disk string
		n    int
	}{
		"sda5": {"sda", 5}, "sdab12": {"sdab", 12}, "nvme0n1p2": {"nvme0n1", 2}, "mmcblk0p1": {"mmcblk0", 1}, "sda": {"sda", 0},
	} {
		if disk, n := splitPartitionName(name); disk != want.disk || n != want.n {
			t.Errorf("%s: %s %d", name, disk, n)
		}
	}
}

func TestReadReports(t *testing.T) {
	tl, err := ReadFiles(percReports())
	if err != nil {
		t.Fatal(err)
	}

	if tl.Source != SourceReports || tl.Cycles != 5 || len(tl.Controllers) != 2 {
		t.Fatalf("source %s, %d cycles, %d controllers", tl.Source, tl.Cycles, len(tl.Controllers))
	}

	ahci, perc := tl.Controllers[0], tl.Controllers[1]
	if ahci.Identity.Driver != "ahci" || len(ahci.Cycles) != 5 || len(ahci.Cycles[0].Arrivals) != 0 {
		t.Errorf("ahci: %+v", ahci)
	}

	want := Identity{Address: "0000:18:00.0", DevPath: percDevPath, Kind: "raid", Class: "0x010400", Driver: "megaraid_sas", PCIID: "1000:005d", SubsystemID: "1028:1f47"}
	if diff := cmp.Diff(want, perc.Identity); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// Times are after the controller's bind uevent (boot 1: at +210ms).
	c := perc.Cycles[0]
	wantHead := cycleHead{Source: "perc-boot-1.json", Reference: RefBindUevent, ReferenceMS: 210, ObservedMS: 12134 - 210, Partial: true, Decision: "state-verified"}

	if diff := cmp.Diff(wantHead, headOf(c)); diff != "" {
		t.Errorf("cycle 1 (-want +got):\n%s", diff)
	}

	wantArrivals := []string{
		"scsi-0:2:0:0@4120", "scsi-0:2:0:0-part1@4122",
		"scsi-0:2:1:0@7480", "scsi-0:2:1:0-part1@7482",
		"scsi-0:2:2:0@11900", "scsi-0:2:2:0-part1@11902", "scsi-0:2:2:0-part2@11903", "scsi-0:2:2:0-part3@11904",
		"scsi-0:2:2:0-part4@11905", "scsi-0:2:2:0-part5@11906", "scsi-0:2:2:0-part6@11907",
	}
	if diff := cmp.Diff(wantArrivals, arrivalsOf(c)); diff != "" {
		t.Errorf("arrivals (-want +got):\n%s", diff)
	}

	wantState := Arrival{ID: "scsi-0:2:2:0-part5", Name: "sdc5", Type: TypePartition, PartName: "STATE", AtMS: 11906}
	if diff := cmp.Diff(wantState, c.Arrivals[9]); diff != "" {
		t.Errorf("STATE arrival (-want +got):\n%s", diff)
	}

	// Boot 4 lost the second virtual drive: the third is named sdb, and
	// still identified by its place.
	c4 := perc.Cycles[3]
	if got := arrivalsOf(c4); len(got) != 9 || got[2] != "scsi-0:2:2:0@12630" || c4.Arrivals[2].Name != "sdb" {
		t.Errorf("cycle 4 arrivals %v", got)
	}

	// Every uevent of the controller is kept, with its time.
	if len(c.Events) < 20 || c.Events[0].AtMS != -210 || c.Events[0].Subsystem != "pci" {
		t.Errorf("events %+v", c.Events[:1])
	}

	if err := tl.Select("", "megaraid_sas"); err != nil || len(tl.Controllers) != 1 {
		t.Errorf("select: %v, %d", err, len(tl.Controllers))
	}

	if err := tl.Select("0000:99:00.0", ""); err == nil || !strings.Contains(err.Error(), "0000:18:00.0 (megaraid_sas)") {
		t.Errorf("select of nothing: %v", err)
	}
}

func TestReadDmesg(t *testing.T) {
	tl, err := ReadFiles([]string{filepath.Join("testdata", "perc-talosctl-dmesg.txt")})
	if err != nil {
		t.Fatal(err)
	}

	if tl.Source != SourceDmesg || tl.Cycles != 2 || len(tl.Controllers) != 2 {
		t.Fatalf("source %s, %d cycles, %d controllers", tl.Source, tl.Cycles, len(tl.Controllers))
	}

	// A log line tells no more of a controller than this.
	perc := tl.Controllers[1]
	if diff := cmp.Diff(Identity{Address: "0000:18:00.0", Kind: "raid", Driver: "megaraid_sas", PCIID: "1000:005d"}, perc.Identity); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// The log has the gate's view, a tenth of a second at a time, from
	// the controller's first appearance (the gate's start).
	c1, c2 := perc.Cycles[0], perc.Cycles[1]
	if diff := cmp.Diff([]string{"sda@4300", "sdb@7700", "sdc@12100", "sdc-part5@12100"}, arrivalsOf(c1)); diff != "" {
		t.Errorf("boot 1 arrivals (-want +got):\n%s", diff)
	}

	wantHead := cycleHead{Source: "perc-talosctl-dmesg.txt#1", Reference: RefFirstSeen, ObservedMS: 12100, Partial: true, Decision: "state-verified"}
	if diff := cmp.Diff(wantHead, headOf(c1)); diff != "" {
		t.Errorf("boot 1 (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"sda@6300", "sdb@11500", "sdc@17700", "sdc-part5@17700"}, arrivalsOf(c2)); diff != "" {
		t.Errorf("boot 2 arrivals (-want +got):\n%s", diff)
	}

	if c2.Source != "perc-talosctl-dmesg.txt#2" {
		t.Errorf("boot 2 read from %q", c2.Source)
	}
}

func TestReadDmesgBindAfterStart(t *testing.T) {
	log := `[    3.100] raid-settle: v1 started: deadline 2m0s
[    3.100] raid-settle: controller 0000:00:04.0 raid 1000:0060 (no driver yet) at +0.0s, quiet window 3s..20s (default profile)
[    3.400] raid-settle: controller 0000:00:04.0 raid 1000:0060 (megaraid_sas) at +0.3s, quiet window 8s..40s (megaraid_sas profile)
[    4.000] raid-settle: disk sda on 0000:00:04.0 (megaraid_sas) at +0.9s
[    9.000] raid-settle: released (no-state) after 8.9s: no STATE
`

	bs, err := parseDmesg("kmsg", []byte(log))
	if err != nil || len(bs) != 1 || len(bs[0].controllers) != 1 {
		t.Fatalf("%v %+v", err, bs)
	}

	// Times count from the line that names the driver.
	c := bs[0].controllers[0].cycle
	want := cycleHead{Source: "kmsg", Reference: RefBindUevent, ReferenceMS: 300, ObservedMS: 8600, Decision: "no-state"}

	if diff := cmp.Diff(want, headOf(c)); diff != "" {
		t.Errorf("cycle (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{"sda@600"}, arrivalsOf(c)); diff != "" {
		t.Errorf("arrivals (-want +got):\n%s", diff)
	}
}

func TestReadFilesErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.txt")
	empty := filepath.Join(dir, "empty.json")

	if err := os.WriteFile(junk, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(empty, []byte(`{"version": "v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, files := range [][]string{{junk}, {empty}} {
		if _, err := ReadFiles(files); !errors.Is(err, ErrNoTimeline) {
			t.Errorf("%v: %v", files, err)
		}
	}

	if _, err := ReadFiles([]string{percReports()[0], filepath.Join("testdata", "perc-talosctl-dmesg.txt")}); err == nil || !strings.Contains(err.Error(), "certify them apart") {
		t.Errorf("mixed inputs: %v", err)
	}

	if _, err := ReadFiles([]string{filepath.Join(dir, "absent.json")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
}

// TestTodaysGateLines regenerates the PERC captures with the gate's engine
// and line formats of today (testdata/gen) and reads them as certify reads
// the committed ones, which v0.3.0 wrote: both must give the same
// timelines. Rewording a line the gate writes without its parser
// (agent/gatelog) fails here.
func TestTodaysGateLines(t *testing.T) {
	out := t.TempDir()

	cmd := exec.Command("go", "run", "./testdata/gen", "-out", out, "-version", "v9.9.9")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./testdata/gen: %v\n%s", err, msg)
	}

	for _, files := range [][2][]string{
		{{filepath.Join("testdata", "perc-talosctl-dmesg.txt")}, {filepath.Join(out, "perc-talosctl-dmesg.txt")}},
		{percReports(), {filepath.Join(out, "perc-boot-1.json"), filepath.Join(out, "perc-boot-2.json"), filepath.Join(out, "perc-boot-3.json"), filepath.Join(out, "perc-boot-4.json"), filepath.Join(out, "perc-boot-5.json")}},
	} {
		committed, err := ReadFiles(files[0])
		if err != nil {
			t.Fatal(err)
		}

		today, err := ReadFiles(files[1])
		if err != nil {
			t.Fatal(err)
		}

		today.Inputs = committed.Inputs // the paths differ, nothing else may

		if diff := cmp.Diff(committed, today); diff != "" {
			t.Errorf("%s and today's lines read differently (-v0.3.0 +today):\n%s", files[0][0], diff)
		}
	}
}
