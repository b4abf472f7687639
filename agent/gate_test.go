package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/internal/fstree"
	"github.com/raid-settle/raid-settle/udev"
)

// scriptedMonitor plays events with pauses between them, then waits for the
// end, like a netlink monitor on a quiet machine.
type scriptedMonitor struct {
	steps []scriptStep
	sent  chan struct{} // closed once every step is sent, if not nil
}

type scriptStep struct {
	after time.Duration
	event udev.Event
}

func (m *scriptedMonitor) Run(ctx context.Context, out chan<- udev.Event) error {
	defer close(out)

	for _, s := range m.steps {
		select {
		case <-time.After(s.after):
		case <-ctx.Done():
			return nil
		}

		s.event.Received = time.Now()
		s.event.Source = udev.SourceNetlink
		out <- s.event
	}

	if m.sent != nil {
		close(m.sent)
	}

	<-ctx.Done()

	return nil
}

func (m *scriptedMonitor) Overflows() int { return 0 }
func (m *scriptedMonitor) Rejected() int  { return 0 }
func (m *scriptedMonitor) Close() error   { return nil }

// syncBuffer is a bytes.Buffer safe for the gate's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.b.String()
}

// testGate returns a gate over an empty sysfs, a kernel command line, a
// scripted monitor and a probe function, logging into log.
func testGate(t *testing.T, cmdline string, steps []scriptStep, probe func(string) ProbeResult) (*Gate, *syncBuffer) {
	t.Helper()

	root := t.TempDir()
	for _, dir := range []string{"sys/class/block", "sys/bus/pci/devices", "proc", "run"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	if err := os.WriteFile(filepath.Join(root, "proc", "cmdline"), []byte(cmdline+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	log := &syncBuffer{}
	g := &Gate{
		Version:     "test",
		SysRoot:     filepath.Join(root, "sys"),
		DevRoot:     filepath.Join(root, "dev"),
		ProcRoot:    filepath.Join(root, "proc"),
		RunDir:      filepath.Join(root, "run", "raid-settle"),
		ProfileDir:  filepath.Join(root, "profiles"),
		Log:         NewLogger(log),
		Now:         time.Now,
		OpenMonitor: func() (eventSource, error) { return &scriptedMonitor{steps: steps}, nil },
		Probe:       func(_ context.Context, disk string) ProbeResult { return probe(disk) },
	}

	return g, log
}

func slowStateScript(delay time.Duration) []scriptStep {
	var steps []scriptStep

	steps = append(steps, scriptStep{0, megaraidBind(megaraid)})
	for i, in := range diskArrives(0, megaraid, "sdb") {
		after := time.Duration(0)
		if i == 0 {
			after = delay
		}

		steps = append(steps, scriptStep{after, *in.Event})
	}

	return steps
}

func verifiedOn(disk string) func(string) ProbeResult {
	return func(d string) ProbeResult {
		if d != disk {
			return ProbeResult{Disk: d}
		}

		p := stateOn(d, blockdev.VerdictOK)
		p.Disk = d

		return p
	}
}

func TestGateReleasesOnVerifiedState(t *testing.T) {
	// The probe answers only once the kernel's events are all sent, as a
	// real disk's partition uevents follow its own at once; the gate reads
	// received uevents before a probe result, so the order is fixed.
	sent := make(chan struct{})
	verified := verifiedOn("sdb")
	g, log := testGate(t, "talos.devices.settle_time=30s", slowStateScript(300*time.Millisecond), func(d string) ProbeResult {
		<-sent

		return verified(d)
	})
	steps := slowStateScript(300 * time.Millisecond)
	g.OpenMonitor = func() (eventSource, error) { return &scriptedMonitor{steps: steps, sent: sent}, nil }

	rep := g.Run(context.Background())
	if rep == nil || rep.Decision == nil || rep.Decision.Decision != DecisionStateVerified {
		t.Fatalf("report: %+v\nlog:\n%s", rep, log)
	}

	if rep.StateUeventMS < 0 || rep.Decision.AtMS < rep.StateUeventMS {
		t.Fatalf("STATE uevent at %dms, decision at %dms", rep.StateUeventMS, rep.Decision.AtMS)
	}

	for _, want := range []string{
		"<5>raid-settle: test started: deadline 2m0s",
		"<4>raid-settle: talos.devices.settle_time=30s is misspelled",
		"raid-settle: controller 0000:00:04.0",
		"raid-settle: disk sdb on 0000:00:04.0 (megaraid_sas)",
		"raid-settle: partition sdb5 named STATE appeared",
		"<5>raid-settle: released (state-verified)",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("kernel log lacks %q:\n%s", want, log)
		}
	}

	// The report on disk replays to the same decision.
	data, err := os.ReadFile(filepath.Join(g.RunDir, reportName))
	if err != nil {
		t.Fatal(err)
	}

	settings, timeline, err := ReadTimeline(data)
	if err != nil {
		t.Fatal(err)
	}

	sim := Simulate(settings, timeline, nil, 0)
	if sim.Release.Decision != DecisionStateVerified || absDiff(sim.Release.AtMS, rep.Decision.AtMS) > 2 {
		t.Fatalf("replay: %s at %dms; gate: %s at %dms", sim.Release.Decision, sim.Release.AtMS, rep.Decision.Decision, rep.Decision.AtMS)
	}

	// The sysfs scan went to the engine as one batch, and the timeline
	// says so, for replay.
	batched := 0

	for _, in := range timeline {
		if in.WithPrevious {
			batched++
		}
	}

	if batched == 0 || timeline[0].WithPrevious {
		t.Errorf("%d of %d timeline entries marked as fed with the one before, first %t", batched, len(timeline), timeline[0].WithPrevious)
	}
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}

	return b - a
}

func TestGateIsOneShot(t *testing.T) {
	g, _ := testGate(t, "raid_settle.quiet=0.2", nil, verifiedOn("none"))

	if rep := g.Run(context.Background()); rep == nil || rep.Decision == nil {
		t.Fatalf("first run: %+v", rep)
	}

	opened := false
	g.OpenMonitor = func() (eventSource, error) {
		opened = true

		return nil, errors.New("must not be called")
	}

	if rep := g.Run(context.Background()); rep != nil || opened {
		t.Fatalf("second run did work: %+v (monitor opened: %t)", rep, opened)
	}
}

func TestGateDisabled(t *testing.T) {
	g, log := testGate(t, "raid_settle.disable=1", slowStateScript(time.Hour), verifiedOn("sdb"))

	opened := false
	g.OpenMonitor = func() (eventSource, error) {
		opened = true

		return &scriptedMonitor{}, nil
	}

	rep := g.Run(context.Background())
	if rep.Decision.Decision != DecisionDisabled || len(rep.Timeline) != 1 || opened {
		t.Fatalf("report: %+v, %d inputs, monitor opened %t\n%s", rep.Decision, len(rep.Timeline), opened, log)
	}
}

func TestGateSurvivesAPanickingProbe(t *testing.T) {
	g, log := testGate(t, "raid_settle.quiet=0.2", slowStateScript(0), func(string) ProbeResult { panic("disk on fire") })

	rep := g.Run(context.Background())
	if rep == nil || rep.Decision.Decision != DecisionNoState || !strings.Contains(log.String(), "disk sdb could not be examined, giving up on it: internal error: disk on fire") {
		t.Fatalf("report: %+v\nlog:\n%s", rep, log)
	}
}

func TestGateWithoutMonitorFallsBackToSysfs(t *testing.T) {
	g, log := testGate(t, "", nil, verifiedOn("none"))
	g.OpenMonitor = func() (eventSource, error) { return nil, errors.New("netlink refused") }

	rep := g.Run(context.Background())
	if rep.Decision.Decision != DecisionNoState || !strings.Contains(log.String(), "cannot listen to uevents") {
		t.Fatalf("report: %+v\nlog:\n%s", rep.Decision, log)
	}
}

func TestGateReportShape(t *testing.T) {
	g, _ := testGate(t, "raid_settle.quiet=0.2", slowStateScript(0), func(d string) ProbeResult { return ProbeResult{Disk: d} })

	rep := g.Run(context.Background())

	data, err := os.ReadFile(filepath.Join(g.RunDir, reportName))
	if err != nil {
		t.Fatal(err)
	}

	var generic map[string]any
	if err := json.Unmarshal(data, &generic); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"version", "started", "settings", "controllers", "timeline", "log", "decision", "held_ms", "state_uevent_ms", "overflows", "rejected"} {
		if _, ok := generic[key]; !ok {
			t.Errorf("report.json lacks %q", key)
		}
	}

	if rep.Decision.Decision != DecisionNoState {
		t.Fatalf("decision %+v", rep.Decision)
	}

	// Each start-up step says what the gate had used of a CPU by then,
	// from "gate running" (the process's start) on.
	if len(rep.Startup) == 0 || rep.Startup[0].Step != "gate running" {
		t.Fatalf("startup %+v: want it to begin with the gate running", rep.Startup)
	}

	for i, s := range rep.Startup {
		if s.CPUMS <= 0 || i > 0 && s.CPUMS < rep.Startup[i-1].CPUMS {
			t.Errorf("startup step %q: %v ms of CPU, after %+v", s.Step, s.CPUMS, rep.Startup[:i])
		}
	}
}

// panickingMonitor's Run panics, as a bug in the monitor would.
type panickingMonitor struct{ scriptedMonitor }

func (m *panickingMonitor) Run(context.Context, chan<- udev.Event) error { panic("monitor bug") }

func TestGateSurvivesAPanickingMonitor(t *testing.T) {
	g, log := testGate(t, "", nil, verifiedOn("none"))
	g.OpenMonitor = func() (eventSource, error) { return &panickingMonitor{}, nil }

	rep := g.Run(context.Background())
	if rep == nil || rep.Decision == nil || rep.Decision.Decision != DecisionNoState || !strings.Contains(log.String(), "uevent monitor failed (internal error: monitor bug): relying on sysfs rescans") {
		t.Fatalf("report: %+v\nlog:\n%s", rep, log)
	}
}

func TestNewGateLeavesTheKernelLogToRun(t *testing.T) {
	// The command sets its own Log (--kmsg); NewGate opening one too would
	// leak a descriptor.
	if g := NewGate("test"); g.Log != nil {
		t.Fatalf("NewGate opened a log: %+v", g.Log)
	}
}

func TestReplayHonoursTheEvidenceInTheReport(t *testing.T) {
	// A blank disk on a megaraid: the quiet window ends it without evidence,
	// the deadline with it.
	tl := join([]TimedInput{at0(0, megaraidBind(megaraid))}, diskArrives(500*time.Millisecond, megaraid, "sda"))
	probe := blankDisk()
	probe.Disk = "sda"
	tl = append(tl, TimedInput{AtMS: 520, Input: Input{Kind: InputProbe, Probe: &probe}})

	for _, tc := range []struct {
		settings string
		want     Decision
	}{
		{`{"deadline": "2m0s"}`, DecisionNoState},
		{`{"deadline": "2m0s", "boot_image": "/B/vmlinuz"}`, DecisionDeadline},
		{`{"deadline": "2m0s", "kexec_boot": true}`, DecisionDeadline},
		{`{"deadline": "2m0s", "boot_part_uuid": "` + bootUUID + `"}`, DecisionDeadline},
	} {
		timeline, err := json.Marshal(tl)
		if err != nil {
			t.Fatal(err)
		}

		settings, replayed, err := ReadTimeline([]byte(`{"settings": ` + tc.settings + `, "timeline": ` + string(timeline) + `}`))
		if err != nil {
			t.Fatal(err)
		}

		if got := Simulate(settings, replayed, nil, 0).Release.Decision; got != tc.want {
			t.Errorf("settings %s: replayed to %s, want %s", tc.settings, got, tc.want)
		}
	}
}

// endedMonitor's Run returns at once, as a monitor whose socket failed.
type endedMonitor struct{ scriptedMonitor }

func (m *endedMonitor) Run(_ context.Context, out chan<- udev.Event) error {
	close(out)

	return errors.New("socket gone")
}

// TestGateRescansSysfsWithoutUevents shows a disk to a gate that cannot hear
// the kernel only in sysfs, after the gate's first scan: the rescans, which
// start once the uevents are gone, must find it.
func TestGateRescansSysfsWithoutUevents(t *testing.T) {
	for name, open := range map[string]func() (eventSource, error){
		"no socket":      func() (eventSource, error) { return nil, errors.New("netlink refused") },
		"socket failing": func() (eventSource, error) { return &endedMonitor{}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			g, log := testGate(t, "raid_settle.quiet=5", nil, verifiedOn("sda"))
			g.OpenMonitor = open
			g.SysRoot = fstree.Build(t, "../udev/testdata/sysfs.txt")

			// The disks are listed in class/block only once the gate runs.
			blocks := filepath.Join(g.SysRoot, "class", "block")
			if err := os.Rename(blocks, blocks+".later"); err != nil {
				t.Fatal(err)
			}

			shown := time.AfterFunc(300*time.Millisecond, func() { os.Rename(blocks+".later", blocks) })
			defer shown.Stop()

			rep := g.Run(context.Background())
			if rep.Decision.Decision != DecisionStateVerified || rep.Decision.State == nil || rep.Decision.State.Device != "/dev/sda" {
				t.Fatalf("decision %+v\nlog:\n%s", rep.Decision, log)
			}
		})
	}
}
