package gatelog

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// lines holds one of each line, with the awkward values each can carry.
var lines = []Line{
	Started{Version: "v0.4.0", Deadline: "2m0s", QuietWindow: "adaptive per driver", BootPartition: "none", Evidence: "none"},
	Started{Version: "dev", Deadline: "1m30s", QuietWindow: "10s", BootPartition: "8b3cf0a2-1111-4c1e-9f00-000000000005", Disabled: true,
		Evidence: "BOOT_IMAGE=/A/vmlinuz: GRUB loaded the kernel of an installed Talos"},
	Controller{Address: "0000:18:00.0", Kind: "raid", Vendor: 0x1000, Device: 0x10e2, Driver: "megaraid_sas", At: 1200 * time.Millisecond,
		Quiet: 8 * time.Second, MaxQuiet: 40 * time.Second, WindowSource: "megaraid_sas profile for 1000:10e2,1000:10e6"},
	Controller{Address: "0000:00:17.0", Kind: "sata", Vendor: 0x8086, Device: 0xa182, Quiet: 2 * time.Second, MaxQuiet: 4 * time.Second, WindowSource: "default profile"},
	ControllerRemoved{Address: "0000:18:00.0", Kind: "raid", At: 61 * time.Second},
	Disk{Name: "sda", Address: "0000:18:00.0", Driver: "megaraid_sas", At: 4300 * time.Millisecond},
	Disk{Name: "nvme0n1", At: 100 * time.Millisecond},
	DiskRemoved{Name: "sdb", At: 2 * time.Second},
	DiskFailed{Name: "sdc", Attempt: 1, Attempts: 3, Why: "partition 5 named STATE could not be read (read-error)"},
	DiskFailed{Name: "sdc", GaveUp: true, Why: "failed to open /dev/sdc: no such device or address"},
	StatePartition{Partition: "nvme0n1p5", At: 12100 * time.Millisecond},
	StateCheck{Disk: "sdc", Partition: 5, Content: "xfs", Verdict: "ok"},
	StateCheck{Disk: "sdc", Partition: 5, Content: "xfs", Verdict: "corrupt", Codes: []string{"xfs-bad-crc", "xfs-bad-magic"}},
	StateCheck{Disk: "sdd", Partition: 5, Verdict: "unreadable", Codes: []string{"read-error"}},
	Released{Decision: "state-verified", Held: 12100 * time.Millisecond, Reason: "STATE on sdc partition 5 verified (xfs) at +12.1s: Talos will mount it",
		StateUevent: 12100 * time.Millisecond},
	Released{Decision: "no-state", Held: 8 * time.Second, StateUevent: -1,
		Reason: "no STATE on 0 disk(s) and every storage controller has gone quiet (0000:18:00.0 (megaraid_sas, 0 disk(s)) quiet since +0.0s, window 2s) at +2.0s: Talos is not installed here, it will boot into maintenance mode"},
	Released{Decision: "deadline", Held: 120 * time.Second, Reason: "the 2m0s deadline passed: waiting for sdb [in a bracket]", StateUevent: 300 * time.Millisecond,
		Dropped: 4, Report: "/run/raid-settle/report.json"},
	Uevent{Action: "add", Subsystem: "block", DevType: "partition", DevPath: "/devices/pci0000:00/0000:00:02.0/host0/target0:2:0/0:2:0:0/block/sda/sda5"},
	Uevent{Action: "bind", Subsystem: "pci", DevPath: "/devices/pci0000:00/0000:00:02.0"},
	Misspelled{Arg: "talos.devices.settle_time=30s"},
}

func TestRoundTrip(t *testing.T) {
	for _, want := range lines {
		s := want.String()

		got := Parse(s)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q parses back differently (-written +parsed):\n%s", s, diff)
		}
	}
}

// TestTimesRoundToATenth: the lines carry tenths of a second.
func TestTimesRoundToATenth(t *testing.T) {
	got := Parse(Disk{Name: "sda", At: 4349 * time.Millisecond}.String())
	if d, ok := got.(Disk); !ok || d.At != 4300*time.Millisecond {
		t.Fatalf("parsed %#v, want sda at 4.3s", got)
	}
}

// TestEarlierLines: lines as earlier versions of the gate wrote them, which
// operators and vendors have in their captures, still parse.
func TestEarlierLines(t *testing.T) {
	for s, want := range map[string]Line{
		// v0.3.0 had no installed-node evidence (diagnose/testdata/late-disk).
		"v0.3.0 started: deadline 2m0s, quiet window adaptive per driver, boot partition none, disabled false": Started{Version: "v0.3.0", Deadline: "2m0s", QuietWindow: "adaptive per driver", BootPartition: "none"},
		// The first controller lines ended at the time.
		"controller 0000:18:00.0 raid 1000:005d (megaraid_sas) at +0.0s":  Controller{Address: "0000:18:00.0", Kind: "raid", Vendor: 0x1000, Device: 0x005d, Driver: "megaraid_sas"},
		"controller 0000:18:00.0 raid 1000:005D (no driver yet) at +0.3s": Controller{Address: "0000:18:00.0", Kind: "raid", Vendor: 0x1000, Device: 0x005d, At: 300 * time.Millisecond},
		// Releases before the STATE uevent's time was added to the line.
		"released (state-verified) after 12.1s: STATE on sdc partition 5 verified (xfs) at +12.1s: Talos will mount it": Released{Decision: "state-verified", Held: 12100 * time.Millisecond, Reason: "STATE on sdc partition 5 verified (xfs) at +12.1s: Talos will mount it", StateUevent: -1},
	} {
		if diff := cmp.Diff(want, Parse(s)); diff != "" {
			t.Errorf("%q (-want +parsed):\n%s", s, diff)
		}
	}
}

// TestCommittedCaptures: every line of the gate's in the captures that
// certify's and diagnose's tests read parses, when it is of a kind this
// package knows.
func TestCommittedCaptures(t *testing.T) {
	families := []string{"controller ", "disk ", "partition ", "STATE on ", "released (", "uevent ", "talos.devices."}
	parsed := 0

	for _, dir := range []string{"../../certify/testdata", "../../diagnose/testdata", "../../cmd/raid-settle/testdata"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") || strings.Contains(path, "/fuzz/") {
				return err
			}

			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}

			for line := range strings.Lines(string(data)) {
				text, l, ok := Find(line)

				switch {
				case !ok:
				case l != nil:
					parsed++
				case slices.ContainsFunc(families, func(f string) bool { return strings.HasPrefix(text, f) }) || strings.Contains(text, " started: "):
					t.Errorf("%s: the gate's line %q does not parse", path, text)
				}
			}

			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Logf("%d of the gate's lines parsed", parsed)

	if parsed < 20 {
		t.Fatalf("only %d of the gate's lines in the captures parsed", parsed)
	}
}

func TestFind(t *testing.T) {
	for _, logLine := range []string{
		"172.20.0.5: user:  notice: [2026-03-02T10:15:04.311Z]: raid-settle: disk sda on 0000:18:00.0 (megaraid_sas) at +4.3s",
		"[    9.120000] raid-settle: disk sda on 0000:18:00.0 (megaraid_sas) at +4.3s",
		"13,812,9120000,-;raid-settle: disk sda on 0000:18:00.0 (megaraid_sas) at +4.3s\r",
	} {
		text, l, ok := Find(logLine)
		if !ok || text != "disk sda on 0000:18:00.0 (megaraid_sas) at +4.3s" {
			t.Errorf("Find(%q) = %q, %t", logLine, text, ok)
		}

		if diff := cmp.Diff(Line(Disk{Name: "sda", Address: "0000:18:00.0", Driver: "megaraid_sas", At: 4300 * time.Millisecond}), l); diff != "" {
			t.Errorf("Find(%q):\n%s", logLine, diff)
		}
	}

	if _, _, ok := Find("[    9.1] sd 0:2:0:0: [sda] Attached SCSI disk"); ok {
		t.Error("found a gate line in the kernel's own")
	}

	// The gate writes other lines, for people: found, not parsed.
	if text, l, ok := Find("raid-settle: cannot write the report: read-only file system"); !ok || l != nil || text == "" {
		t.Errorf("an unparsed line: %q, %#v, %t", text, l, ok)
	}
}

// TestLinesNotToConfuse holds lines of one family apart: a disk that could
// not be examined "giving up on it" is not a disk found "on" a controller.
func TestLinesNotToConfuse(t *testing.T) {
	for s, want := range map[string]Line{
		"disk sdc could not be examined, giving up on it: failed to open /dev/sdc on the bus": DiskFailed{Name: "sdc", GaveUp: true, Why: "failed to open /dev/sdc on the bus"},
		"controller 0000:18:00.0 (raid) removed at +61.0s":                                    ControllerRemoved{Address: "0000:18:00.0", Kind: "raid", At: 61 * time.Second},
		"released (no-state) after 8.0s":                                                      Released{Decision: "no-state", Held: 8 * time.Second, StateUevent: -1},
		"STATE on sda partition x: xfs ok":                                                    nil,
		"disk on nothing":                                                                     nil,
	} {
		if diff := cmp.Diff(want, Parse(s)); diff != "" {
			t.Errorf("%q:\n%s", s, diff)
		}
	}
}

// FuzzParse: any line that parses formats to a line that parses to the same
// value, and nothing panics.
func FuzzParse(f *testing.F) {
	for _, l := range lines {
		f.Add(l.String())
	}

	f.Fuzz(func(t *testing.T, s string) {
		l := Parse(s)
		if l == nil {
			return
		}

		if diff := cmp.Diff(l, Parse(l.String())); diff != "" {
			t.Errorf("%q parsed to %#v, which formats to %q, which parses differently:\n%s", s, l, l.String(), diff)
		}
	})
}
