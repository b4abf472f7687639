package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// bugBoot is the records of a baseline boot of scenario 2: settle returns,
// STATE is absent, the disk turns up 16 s later.
func bugBoot() *Result {
	r := newResult("2-hotplug-20s", Without)
	for _, l := range []string{
		proto.Format(proto.KindInit, "ms", 3400),
		proto.Format(proto.KindSettle, "attempt", 1, "rc", 0, "ms", 7700, "took_ms", 600),
		proto.Format(proto.KindReturned, "ms", 7700, "attempts", 1),
		proto.Format(proto.KindState, "when", "decision", "present", 0, "named", 0, "dev", "", "fs", "", "ms", 7800),
		proto.Format(proto.KindUevent, "ms", 23800, "action", "add", "subsystem", "block", "devtype", "partition", "name", "sdb5", "partname", "STATE", "synth", 0),
		proto.Format(proto.KindState, "when", "later", "present", 1, "named", 1, "dev", "sdb5", "fs", "xfs", "ms", 23900),
		"[   23.9] console noise that is not a record",
		proto.Format(proto.KindDone, "ms", 24000),
	} {
		r.Add(time.Time{}, l)
	}

	r.ImagesUnchanged = true

	return r
}

// fixedBoot is the records of the same boot with raid-settle.
func fixedBoot() *Result {
	r := newResult("2-hotplug-20s", With)
	for _, l := range []string{
		proto.Format(proto.KindInit, "ms", 3400),
		proto.Format(proto.KindUevent, "ms", 23800, "action", "add", "subsystem", "block", "devtype", "partition", "name", "sdb5", "partname", "STATE", "synth", 1),
		proto.Format(proto.KindUevent, "ms", 23900, "action", "add", "subsystem", "block", "devtype", "partition", "name", "sdb5", "partname", "STATE", "synth", 0),
		proto.Format(proto.KindKmsg, "ts_ms", 4900, "prio", 5, "text", "raid-settle: a0ae4a6 started: deadline 2m0s, quiet window adaptive per driver, boot partition none, disabled false, installed-node evidence none"),
		proto.Format(proto.KindKmsg, "ts_ms", 24300, "prio", 5, "text", "raid-settle: released (state-verified) after 19.4s: STATE on sdb partition 5 verified"),
		proto.Format(proto.KindKmsg, "ts_ms", 20000, "prio", 3, "text", "I/O error, dev sdb, sector 243712 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 1"),
		proto.Format(proto.KindReport, "json", `{"decision":{"decision":"state-verified","at_ms":19400,"reason":"ok"},"held_ms":19420,"state_uevent_ms":19000}`),
		proto.Format(proto.KindReturned, "ms", 24700, "attempts", 1),
		proto.Format(proto.KindState, "when", "decision", "present", 1, "named", 1, "dev", "sdb5", "fs", "xfs", "ms", 24800),
		proto.Format(proto.KindDone, "ms", 24900),
	} {
		r.Add(time.Time{}, l)
	}

	r.ImagesUnchanged = true

	return r
}

func TestResultAdd(t *testing.T) {
	r := fixedBoot()

	if r.StateUeventMS != 23900 {
		t.Errorf("StateUeventMS = %d: a synthetic uevent must not count", r.StateUeventMS)
	}

	if r.GateStartMS != 4900 || r.GateReleaseMS != 24300 || r.SettledMS != 24700 || r.DecisionMS != 24800 {
		t.Errorf("times: %+v", r)
	}

	if r.GateDecision() != "state-verified" || len(r.IOErrors) != 1 || !r.Done {
		t.Errorf("gate %q, I/O errors %v, done %t", r.GateDecision(), r.IOErrors, r.Done)
	}
}

func TestRows(t *testing.T) {
	s, err := FindScenario("2-hotplug-20s")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		r    *Result
		want []string
	}{
		{bugBoot(), []string{"2-hotplug-20s", "without", "-", "-", "-", "23.8", "7.7", "7.8", "-", "too late (+16.0)", "no", "unchanged", "ok"}},
		{fixedBoot(), []string{"2-hotplug-20s", "with", "state-verified", "healthy", "19.4", "23.9", "24.7", "24.8", "0.4", "0.9", "yes (sdb5 xfs)", "unchanged", "ok"}},
	}

	for _, tt := range tests {
		if err := tt.r.keep(t.TempDir()); err != nil {
			t.Fatal(err)
		}

		o := Outcome{Scenario: s, Result: tt.r, Failed: s.Failed(tt.r)}
		if diff := cmp.Diff(tt.want, o.Row()); diff != "" {
			t.Errorf("row (-want +got):\n%s", diff)
		}
	}
}

func TestFailedChecks(t *testing.T) {
	s, err := FindScenario("2-hotplug-20s")
	if err != nil {
		t.Fatal(err)
	}

	// The fix's boot judged as a baseline: the gate ran and STATE was there.
	r := fixedBoot()
	r.Variant = Without
	r.ImagesUnchanged = false

	want := []string{"an image changed", "gate did not run", "STATE absent at the decision", "STATE present later"}
	if got := s.Failed(r); !reflect.DeepEqual(got, want) {
		t.Errorf("Failed = %q, want %q", got, want)
	}

	if !GateGotEIO.OK(fixedBoot()) {
		t.Error("EIO on a real-time class read of sdb not seen")
	}

	udev := newResult("8-eio", With)
	udev.Add(time.Time{}, proto.Format(proto.KindKmsg, "ts_ms", 1, "prio", 3, "text", "I/O error, dev sda, sector 243712 op 0x0:(READ) flags 0x80700 phys_seg 2 prio class 0"))
	udev.Add(time.Time{}, proto.Format(proto.KindKmsg, "ts_ms", 1, "prio", 3, "text", "Buffer I/O error on dev sda5, logical block 0, async page read"))

	if GateGotEIO.OK(udev) {
		t.Error("EIO on a best-effort read (udev's blkid) taken for the gate's")
	}
}

func TestDemo(t *testing.T) {
	var b bytes.Buffer

	WriteDemo(&b, bugBoot(), fixedBoot())
	out := b.String()

	for _, want := range []string{
		"Talos: no STATE: MAINTENANCE",
		"STATE appears: too late",
		"raid-settle: state-verified, lets go",
		"Talos finds STATE: boots",
		"without: Talos decided at 7.8s: no STATE, maintenance mode; STATE appeared 16.0s later.",
		"with:    Talos decided at 24.8s, 0.9s after STATE appeared: STATE found, the node boots installed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo lacks %q:\n%s", want, out)
		}
	}

	// Both columns share one time axis, in order.
	var last float64

	for _, line := range strings.Split(out, "\n") {
		var t0 float64
		if n, _ := fmtSscan(line, &t0); n == 1 {
			if t0 < last {
				t.Errorf("time goes back at %q", line)
			}

			last = t0
		}
	}
}

func TestWriteBlkdebug(t *testing.T) {
	p := filepath.Join(t.TempDir(), "eio.conf")
	if err := WriteBlkdebug(p, 243712, 2); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}

	rule := "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"243712\"\nonce = \"on\"\n\n"
	if string(data) != rule+rule {
		t.Errorf("config:\n%s", data)
	}
}

// fmtSscan reads a leading number of seconds from a timeline line.
func fmtSscan(line string, v *float64) (int, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, nil
	}

	return fmt.Sscan(f[0], v)
}

func TestRowProbeError(t *testing.T) {
	s, err := FindScenario("8-eio")
	if err != nil {
		t.Fatal(err)
	}

	r := newResult("8-eio", Without)
	r.Add(time.Time{}, proto.Format(proto.KindState, "when", "decision", "present", 0, "named", 0, "ms", 13400,
		"errors", "sda: failed to probe: error reading magic buffer: read /dev/sda: input/output error"))

	if got := (Outcome{Scenario: s, Result: r}).Row()[10]; got != "no (blkid: input/output error)" {
		t.Errorf("STATE column = %q", got)
	}
}

func TestAnchor(t *testing.T) {
	s, err := FindScenario("2-hotplug-20s")
	if err != nil {
		t.Fatal(err)
	}

	var b bytes.Buffer

	WriteAnchor(&b, []Outcome{{Scenario: s, Result: bugBoot()}, {Scenario: s, Result: fixedBoot()}})

	want := `When Talos decides (seconds since the kernel booted):

STATE disk shown 20 s after its driver loaded
  without raid-settle:             7.8s, no STATE: maintenance mode
  with raid-settle:                24.8s (0.9s after STATE appeared), STATE found
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestHungDiskChecks reads the records of a boot beside a hung disk: the
// gate's release line lost to /dev/kmsg's rate limit, the gate and its
// probe worker gone 90 ms after the release, udev's worker still stuck.
func TestHungDiskChecks(t *testing.T) {
	r := newResult("14-hung-disk", With)
	for _, l := range []string{
		proto.Format(proto.KindInit, "ms", 2800),
		proto.Format(proto.KindProc, "event", "start", "ms", 5700, "pid", 169, "ppid", 143, "argv", "/usr/local/lib/raid-settle/raid-settle gate"),
		proto.Format(proto.KindProc, "event", "start", "ms", 5800, "pid", 174, "ppid", 169, "argv", "/usr/local/lib/raid-settle/raid-settle probe-worker --dev /dev"),
		proto.Format(proto.KindProc, "event", "exit", "ms", 8188, "pid", 174, "argv", "/usr/local/lib/raid-settle/raid-settle probe-worker --dev /dev"),
		proto.Format(proto.KindProc, "event", "exit", "ms", 8188, "pid", 169, "argv", "/usr/local/lib/raid-settle/raid-settle gate"),
		proto.Format(proto.KindKmsg, "ts_ms", 5709, "prio", 5, "text", "raid-settle: v1 started: deadline 2m0s, quiet window adaptive per driver, boot partition none, disabled false, installed-node evidence none"),
		proto.Format(proto.KindReport, "json", `{"decision":{"decision":"state-verified","at_ms":2388,"unexamined":["vda"],`+
			`"state":{"device":"/dev/sdb","partition_uuid":"6FD658BD-F9D3-4D41-A581-3211E765E648"}},"state_uevent_ms":166,`+
			`"log":[{"at_ms":166,"line":"partition sdb5 named STATE appeared at +0.2s"},{"at_ms":374,"line":"STATE on sdb partition 5: xfs ok"}]}`),
		proto.Format(proto.KindDone, "ms", 60563),
	} {
		r.Add(time.Time{}, l)
	}

	if got := r.GateReleasedMS(); got != 5709+2388 {
		t.Errorf("GateReleasedMS = %d, want %d", got, 5709+2388)
	}

	if ms, gone := r.GateExit(); ms != 8188 || !gone {
		t.Errorf("GateExit = %d, %v; want 8188, true", ms, gone)
	}

	r.BootStateUUID = "6fd658bd-f9d3-4d41-a581-3211e765e648"

	for _, c := range []Check{GateUnexamined("vda"), ReleasedWithin(3 * time.Second), GateExited(time.Second), GateStateOnBootDisk,
		GateStateOn("sdb", regexp.MustCompile(`/sdb$`))} {
		if !c.OK(r) {
			t.Errorf("%s: fails", c.Name)
		}
	}

	for _, c := range []Check{GateUnexamined("vdb"), ReleasedWithin(time.Second), GateDecided("state-verified")} {
		if c.OK(r) {
			t.Errorf("%s: passes", c.Name)
		}
	}

	// A gate still there when the guest finished has not exited.
	r.Add(time.Time{}, proto.Format(proto.KindProc, "event", "alive", "ms", 60500, "pid", 170, "argv", "/usr/local/lib/raid-settle/raid-settle gate", "state", "D"))

	if GateExited(time.Minute).OK(r) {
		t.Errorf("GateExited passes with a gate process alive at the end")
	}
}

func TestGuestEmulationFault(t *testing.T) {
	dir := t.TempDir()
	panicLine := "[    1.614548] Kernel panic - not syncing: Fatal exception in interrupt"

	console := func(lines ...string) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "console.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		return d
	}

	int3 := console("[    1.611407] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI", panicLine)
	other := console("[   11.902113] BUG: kernel NULL pointer dereference, address: 0000000000000008", panicLine)

	for _, tc := range []struct {
		name string
		r    *Result
		want string
	}{
		{"int3 panic before init", &Result{InitMS: -1, Dir: int3}, panicLine},
		{"any panic before init", &Result{InitMS: -1, Dir: other}, panicLine},
		// Once the init ran, only TCG's own trap is retried; whatever else
		// happened is the scenario's to judge.
		{"int3 panic after init", &Result{InitMS: 120, Dir: int3}, panicLine},
		{"other panic after init", &Result{InitMS: 120, Dir: other}, ""},
		{"boot that finished", &Result{InitMS: 120, Done: true, Dir: int3}, ""},
		{"no console log", &Result{InitMS: -1, Dir: dir}, ""},
		{"no result", nil, ""},
	} {
		if got := guestEmulationFault(tc.r); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
