package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/agent/gatelog"
	"github.com/raid-settle/raid-settle/udev"
)

// ReportSchemaVersion is the version of the gate report's JSON form
// (docs/timeline.md): 2 since the verification objects it embeds use
// snake_case keys; reports without schema_version are version 1, and every
// reader still takes them.
const ReportSchemaVersion = 2

// Report is what the gate writes to /run/raid-settle/report.json: its
// settings, what it saw, and what it decided. Its Settings and Timeline are
// the input of `raid-settle replay`.
type Report struct {
	// SchemaVersion is ReportSchemaVersion.
	SchemaVersion int       `json:"schema_version"`
	Version       string    `json:"version"`
	Started       time.Time `json:"started"`
	Settings      Settings  `json:"settings"`
	// Notes are remarks on the kernel command line.
	Notes []string `json:"notes,omitempty"`
	// Controllers are the storage controllers found in sysfs at start.
	Controllers []udev.Controller `json:"controllers"`
	// Timeline is every input the engine received, in order.
	Timeline []TimedInput `json:"timeline"`
	// Log is every milestone the engine logged.
	Log      []TimedLine `json:"log"`
	Decision *Release    `json:"decision"`
	// HeldMS is how long the gate held the boot, in milliseconds.
	HeldMS int64 `json:"held_ms"`
	// StateUeventMS is when the first uevent of a partition named STATE
	// arrived, in milliseconds since start; -1 if none did.
	StateUeventMS int64 `json:"state_uevent_ms"`
	// Overflows counts netlink receive-buffer overflows (each resynced from
	// sysfs); Rejected counts uevents refused as forged or garbled.
	Overflows int `json:"overflows"`
	Rejected  int `json:"rejected"`
	// Errors lists what went wrong around the engine (monitor, sysfs).
	Errors []string `json:"errors,omitempty"`
	// Usage is the gate's and its probe worker's peak memory and CPU time,
	// as of the release.
	Usage *Usages `json:"usage,omitempty"`
	// Startup times the gate's start, in milliseconds since it started:
	// the probe worker started, the settings read, listening to uevents,
	// the sysfs scan fed to the engine.
	Startup []ProbeStep `json:"startup,omitempty"`
}

// eventSource is the part of udev.Monitor the gate uses; tests fake it.
type eventSource interface {
	Run(ctx context.Context, out chan<- udev.Event) error
	Overflows() int
	Rejected() int
	Close() error
}

// Gate is the run loop around the Engine: the `raid-settle gate` command.
// Every field has a production default; tests replace them.
type Gate struct {
	// Version is recorded in the report.
	Version string
	// SysRoot, DevRoot and ProcRoot locate sysfs, device nodes and procfs.
	SysRoot, DevRoot, ProcRoot string
	// RunDir holds the one-shot marker and the report (/run/raid-settle).
	RunDir string
	// ProfileDir holds extra profiles (*.json) loaded ahead of the built-in ones.
	ProfileDir string
	// Log receives the milestones (the kernel log in production).
	Log *Logger
	// Now is the clock.
	Now func() time.Time
	// OpenMonitor opens the uevent source; it must be listening when it
	// returns, before sysfs is scanned.
	OpenMonitor func() (eventSource, error)
	// Probe verifies one whole disk. When nil, the gate probes through a
	// child process running WorkerBinary (see ProbeWorker), or in its own
	// process if that cannot start.
	Probe func(ctx context.Context, disk string) ProbeResult
	// WorkerBinary is the raid-settle executable whose `probe-worker`
	// command runs the probes; "" probes in the gate's own process.
	WorkerBinary string
	// Prioritise, when set, is called once the run has the one-shot
	// marker, before any probe starts (RaiseIOPriority in production).
	Prioritise func() error
}

// markerName is created under RunDir by the first run; later runs see it
// and exit at once.
const markerName = "gate.started"

// reportName is the report's file name under RunDir.
const reportName = "report.json"

// NewGate returns a gate with production defaults. Its Log is nil until Run
// opens the kernel log, unless the caller sets one.
func NewGate(version string) *Gate {
	g := &Gate{
		Version:    version,
		SysRoot:    "/sys",
		DevRoot:    "/dev",
		ProcRoot:   "/proc",
		RunDir:     "/run/raid-settle",
		ProfileDir: "/usr/local/lib/raid-settle/profiles",
		Now:        time.Now,
	}
	g.Prioritise = func() error { return RaiseIOPriority(g.ProcRoot) }
	g.OpenMonitor = func() (eventSource, error) {
		return udev.OpenMonitor(udev.MonitorOptions{SysRoot: g.SysRoot, Now: g.Now, Log: g.Log.Warning})
	}

	if exe, err := os.Executable(); err == nil {
		g.WorkerBinary = exe
	}

	return g
}

// Run holds until the engine releases, then writes the report and returns
// it. It returns nil when an earlier run already did the job. It never
// panics: a panic is logged and ends the hold, since the gate must never be
// the reason a node fails to boot.
func (g *Gate) Run(ctx context.Context) (rep *Report) {
	start := g.Now()

	if g.Log == nil {
		g.Log = OpenKmsg(filepath.Join(g.DevRoot, "kmsg"), os.Stderr)
	}

	defer func() {
		if r := recover(); r != nil {
			g.Log.Warning("internal error, letting boot continue: %v\n%s", r, debug.Stack())

			if rep == nil {
				rep = &Report{Started: start}
			}

			rep.Errors = append(rep.Errors, fmt.Sprintf("panic: %v", r))
			rep.HeldMS = g.Now().Sub(start).Milliseconds()
			g.writeReport(rep)
		}
	}()

	if !g.claim() {
		return nil
	}

	rep = &Report{SchemaVersion: ReportSchemaVersion, Version: g.Version, Started: start, StateUeventMS: -1, Controllers: []udev.Controller{}, Timeline: []TimedInput{}}
	// What the process had used before the gate's own work: its exec, the Go
	// runtime's start and the packages' initialisation.
	rep.Startup = append(rep.Startup, startupStep(start, start, "gate running"))

	if g.Prioritise != nil {
		if err := g.Prioritise(); err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("raising the gate's I/O priority: %v", err))
		}
	}
	// The probe worker starts first: its start-up (a process of its own)
	// then overlaps reading the settings and scanning sysfs.
	bootUUID, bootErr := ReadBootPartUUID(g.SysRoot)
	ask, closeProbes := g.startProbing(rep, start, bootUUID != "")
	defer closeProbes()
	rep.Startup = append(rep.Startup, startupStep(start, g.Now(), "probe worker started"))

	rep.Settings = g.settings(rep, bootUUID, bootErr)
	rep.Startup = append(rep.Startup, startupStep(start, g.Now(), "settings read"))

	engine := NewEngine(rep.Settings, start)
	g.hold(ctx, engine, rep, start, ask)

	rep.Decision = engine.Released()
	rep.HeldMS = g.Now().Sub(start).Milliseconds()

	if rep.Usage != nil {
		closeProbes() // the worker's usage, from its last reply
		rep.Usage.Gate = SelfUsage()
	}

	if seen := engine.StateSeen(); !seen.IsZero() {
		rep.StateUeventMS = seen.Sub(start).Milliseconds()
	}

	g.logDecision(rep)
	g.writeReport(rep)

	return rep
}

// claim creates the one-shot marker; false means an earlier run has it.
func (g *Gate) claim() bool {
	if err := os.MkdirAll(g.RunDir, 0o755); err != nil {
		g.Log.Warning("cannot create %s (%v): running without the one-shot marker", g.RunDir, err)

		return true
	}

	f, err := os.OpenFile(filepath.Join(g.RunDir, markerName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false
	}

	if err == nil {
		fmt.Fprintf(f, "%d\n", os.Getpid())
		f.Close()
	}

	return true
}

// settings reads the kernel command line and the profiles and takes the
// boot hint read before (bootUUID, or bootErr), logging the start line and
// any warning.
func (g *Gate) settings(rep *Report, bootUUID string, bootErr error) Settings {
	s := DefaultSettings()

	cmdline, err := os.ReadFile(filepath.Join(g.ProcRoot, "cmdline"))
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("reading the kernel command line: %v", err))
	}

	notes := ApplyCmdline(&s, string(cmdline))

	if profiles, err := LoadProfiles(g.ProfileDir, BuiltinProfiles); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		g.Log.Warning("ignoring profiles in %s: %v", g.ProfileDir, err)
	} else {
		s.Profiles = profiles
	}

	if bootErr != nil {
		rep.Errors = append(rep.Errors, bootErr.Error())
	} else {
		s.BootPartUUID = bootUUID
	}

	if kexec, err := ReadKexecBoot(g.SysRoot); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
	} else {
		s.KexecBoot = kexec
	}

	quiet := "adaptive per driver"
	if s.Quiet > 0 {
		quiet = s.Quiet.String()
	}

	boot := "none"
	if s.BootPartUUID != "" {
		boot = s.BootPartUUID
	}

	installed := "none"
	if ev := s.InstalledEvidence(); ev != "" {
		installed = ev
	}

	g.Log.Notice("%s", gatelog.Started{Version: g.Version, Deadline: s.Deadline.String(), QuietWindow: quiet, BootPartition: boot, Disabled: s.Disabled, Evidence: installed})

	for _, n := range notes {
		rep.Notes = append(rep.Notes, n.Message)

		if n.Warning {
			g.Log.Warning("%s", n.Message)
		} else {
			g.Log.Notice("%s", n.Message)
		}
	}

	return s
}

// holding is one run of the gate's loop: the engine and what surrounds it
// until the release.
type holding struct {
	g      *Gate
	ctx    context.Context
	engine *Engine
	rep    *Report
	start  time.Time
	timer  *time.Timer
	probes chan ProbeResult
	ask    askProbe
	// events is nil without a monitor (sysfs rescans stand in for it).
	events chan udev.Event
	// closers release the monitor at the end.
	closers []func()
}

// hold runs the engine until it releases, with a bound of its own in case
// anything around the engine stalls.
func (g *Gate) hold(ctx context.Context, engine *Engine, rep *Report, start time.Time, ask askProbe) {
	ctx, cancel := context.WithDeadline(ctx, start.Add(rep.Settings.Deadline.D()+time.Second))
	defer cancel()

	h := &holding{g: g, ctx: ctx, engine: engine, rep: rep, start: start, ask: ask, timer: time.NewTimer(time.Hour), probes: make(chan ProbeResult, 64)}
	defer h.timer.Stop()

	defer func() {
		for _, c := range h.closers {
			c()
		}
	}()

	if rep.Settings.Disabled {
		h.feed(Input{Kind: InputTick})

		return
	}

	// Listen first, then scan sysfs: nothing falls between the two.
	monitorDown := h.startMonitor()
	rep.Startup = append(rep.Startup, startupStep(start, g.Now(), "uevents listened to"))

	g.coldplug(h.feedAll, rep)
	rep.Startup = append(rep.Startup, startupStep(start, g.Now(), "sysfs scanned"))

	// Without uevents, sysfs is scanned once a second instead. The ticker
	// runs only then: a gate that hears the kernel is not woken for nothing.
	rescan := time.NewTicker(time.Second)
	rescan.Stop()
	defer rescan.Stop()

	rescanning := false

	for engine.Released() == nil {
		if h.events == nil && !rescanning {
			rescan.Reset(time.Second)
			rescanning = true
		}

		select {
		case ev, ok := <-h.events:
			if !ok {
				h.events = nil // the monitor ended: the rescans carry on

				continue
			}

			// A burst (a JBOD's coldplug) goes to the engine as one batch.
			h.feedAll(h.pendingEvents([]Input{h.eventInput(ev)}))
		case <-monitorDown:
			h.events, monitorDown = nil, nil
		case p := <-h.probes:
			// Uevents already received come first, in the same batch: the
			// decision that rests on the probe sees the kernel's view.
			h.feedAll(append(h.pendingEvents(nil), Input{Kind: InputProbe, Probe: &p}))
		case <-h.timer.C:
			h.feed(Input{Kind: InputTick})
		case <-rescan.C:
			g.coldplug(h.feedAll, rep)
		case <-ctx.Done():
			// The engine's deadline is earlier than this one, so only a
			// stalled loop gets here; the tick releases on the deadline.
			h.feed(Input{Kind: InputTick})

			if engine.Released() == nil {
				g.Log.Warning("engine did not release at its deadline; letting boot continue")

				return
			}
		}
	}
}

// startMonitor opens the uevent source and runs it on its own goroutine. The
// channel it returns is closed if that goroutine panics; the rescans then
// stand in for the monitor.
func (h *holding) startMonitor() <-chan struct{} {
	down := make(chan struct{})

	monitor, err := h.g.OpenMonitor()
	if err != nil {
		h.rep.Errors = append(h.rep.Errors, fmt.Sprintf("uevent monitor: %v", err))
		h.g.Log.Warning("cannot listen to uevents (%v): relying on sysfs rescans", err)

		return down
	}

	// The socket's receive queue (udev.DefaultReceiveBufferSize, some
	// 10,000 uevents) holds a burst; this channel only hands events over.
	h.events = make(chan udev.Event, 256)

	go func() {
		defer func() {
			if r := recover(); r != nil {
				h.g.Log.Warning("uevent monitor failed (internal error: %v): relying on sysfs rescans", r)
				close(down)
			}
		}()

		if err := monitor.Run(h.ctx, h.events); err != nil && h.ctx.Err() == nil {
			h.g.Log.Warning("uevent monitor stopped: %v", err)
		}
	}()

	h.closers = append(h.closers, func() {
		h.rep.Overflows, h.rep.Rejected = monitor.Overflows(), monitor.Rejected()
		monitor.Close()
	})

	return down
}

// askProbe asks for disk to be examined and returns what waits for the
// result. The asking is done by the time it returns: through the probe
// worker, the request is written; otherwise the examination runs in what
// waits.
type askProbe func(ctx context.Context, disk string) (result func() ProbeResult)

// askingOnWait makes probe an askProbe that runs it in what waits.
func askingOnWait(probe func(ctx context.Context, disk string) ProbeResult) askProbe {
	return func(ctx context.Context, disk string) func() ProbeResult {
		return func() ProbeResult { return probe(ctx, disk) }
	}
}

// startProbing returns how the run asks for probes and what ends them:
// g.Probe when set, else the production probe, through a child process when
// one starts (see ProbeWorker), else in this process. partitionUUIDs asks
// for the disks' GPT partition GUIDs (the boot hint needs them).
func (g *Gate) startProbing(rep *Report, start time.Time, partitionUUIDs bool) (ask askProbe, closer func()) {
	if g.Probe != nil {
		return askingOnWait(g.Probe), func() {}
	}

	rep.Usage = &Usages{}

	epoch := MonotonicNS() - g.Now().Sub(start).Nanoseconds()
	prober := Prober{DevRoot: g.DevRoot, SysRoot: g.SysRoot, PartitionUUIDs: partitionUUIDs, Epoch: epoch}
	inProcess := prober.Probe

	if g.WorkerBinary == "" {
		return askingOnWait(inProcess), func() {}
	}

	worker, err := StartProbeWorker(append([]string{g.WorkerBinary, "probe-worker"}, prober.Args()...), prober.SinceEpoch)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		g.Log.Warning("%v: probing disks in the gate itself, a hung read may then delay its exit", err)

		return askingOnWait(inProcess), func() {}
	}

	var once sync.Once

	fallBack := func(ctx context.Context, disk string) ProbeResult {
		once.Do(func() { g.Log.Warning("%v: probing disks in the gate itself from now on", worker.Err()) })

		return inProcess(ctx, disk)
	}

	return func(ctx context.Context, disk string) func() ProbeResult {
			if worker.Err() != nil {
				return func() ProbeResult { return fallBack(ctx, disk) }
			}

			wait := worker.Send(disk)

			return func() ProbeResult {
				if res := wait(ctx); worker.Err() == nil || ctx.Err() != nil {
					return res
				}

				return fallBack(ctx, disk)
			}
		}, sync.OnceFunc(func() {
			rep.Usage.Worker = worker.Usage()
			rep.Startup = append(rep.Startup, worker.Startup()...)

			slices.SortStableFunc(rep.Startup, func(a, b ProbeStep) int { return cmp.Compare(a.MS, b.MS) })

			_ = worker.Close()
		})
}

// startupStep is one step of the gate's start, timed since start, with the
// CPU time the gate had used by then.
func startupStep(start, now time.Time, step string) ProbeStep {
	return ProbeStep{Step: step, MS: float64(now.Sub(start).Microseconds()) / 1000, CPUMS: SelfUsage().CPUMS}
}

// feed records one input in the timeline and carries out the engine's
// actions.
func (h *holding) feed(in Input) { h.feedAll([]Input{in}) }

// feedAll records inputs that arrived together in the timeline, as one
// batch, and carries out the engine's actions (Engine.StepAll).
func (h *holding) feedAll(ins []Input) {
	if len(ins) == 0 {
		return
	}

	now := h.g.Now()
	at := now.Sub(h.start).Milliseconds()

	for i, in := range ins {
		h.rep.Timeline = append(h.rep.Timeline, TimedInput{AtMS: at, WithPrevious: i > 0, Input: in})
	}

	// Probes are asked for first: a disk's examination does not wait for
	// the batch's log lines to reach the kernel log.
	acts := h.engine.StepAll(ins, now)
	for _, probes := range []bool{true, false} {
		for _, a := range acts {
			if (a.Kind == ActionProbe) == probes {
				h.act(a, now)
			}
		}
	}
}

// eventInput is a uevent as the engine's input, logged first in debug mode.
func (h *holding) eventInput(ev udev.Event) Input {
	if h.rep.Settings.Debug {
		h.g.Log.Notice("%s", gatelog.Uevent{Action: string(ev.Action), Subsystem: ev.Subsystem, DevType: ev.DevType, DevPath: ev.DevPath})
	}

	return Input{Kind: InputEvent, Event: &ev}
}

// maxBatch bounds how many queued uevents go to the engine at once.
const maxBatch = 1024

// pendingEvents takes the uevents already received, without waiting for
// more, as inputs.
func (h *holding) pendingEvents(ins []Input) []Input {
	for h.events != nil && len(ins) < maxBatch {
		select {
		case ev, ok := <-h.events:
			if !ok {
				h.events = nil

				return ins
			}

			ins = append(ins, h.eventInput(ev))
		default:
			return ins
		}
	}

	return ins
}

// act carries out one engine action.
func (h *holding) act(a Action, now time.Time) {
	switch a.Kind {
	case ActionLog:
		h.rep.Log = append(h.rep.Log, TimedLine{AtMS: now.Sub(h.start).Milliseconds(), Line: a.Line, Warn: a.Warn})

		if a.Warn {
			h.g.Log.Warning("%s", a.Line)
		} else {
			h.g.Log.Notice("%s", a.Line)
		}
	case ActionWake:
		h.timer.Reset(max(a.At.Sub(h.g.Now()), 0))
	case ActionProbe:
		// The request goes out here, from the loop that decided on it; only
		// the wait for its result is left to a goroutine.
		asked := h.g.Now().Sub(h.start).Milliseconds()
		result := h.ask(h.ctx, a.Disk)

		go func() {
			res := recoverProbe(a.Disk, result)
			res.AskedMS = asked
			h.probes <- res
		}()
	}
}

// coldplug feeds what sysfs lists now, as add events, in one batch.
func (g *Gate) coldplug(feedAll func([]Input), rep *Report) {
	events, err := udev.Walk(g.SysRoot, g.Now())
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("sysfs walk: %v", err))
		g.Log.Warning("cannot list devices in sysfs: %v", err)
	}

	ins := make([]Input, 0, len(events)+1)

	for i := range events {
		if ctl, ok := udev.ControllerFromEvent(events[i]); ok && !hasController(rep.Controllers, ctl.DevPath) {
			rep.Controllers = append(rep.Controllers, ctl)
		}

		ins = append(ins, Input{Kind: InputEvent, Event: &events[i]})
	}

	// An empty scan still moves the engine on: the tick sets its first
	// wake-up.
	feedAll(append(ins, Input{Kind: InputTick}))
}

func hasController(ctls []udev.Controller, devpath string) bool {
	for _, c := range ctls {
		if c.DevPath == devpath {
			return true
		}
	}

	return false
}

func (g *Gate) logDecision(rep *Report) {
	if rep.Decision == nil {
		g.Log.Warning("released without a decision after %dms", rep.HeldMS)

		return
	}

	line := gatelog.Released{
		Decision: string(rep.Decision.Decision), Held: time.Duration(rep.HeldMS) * time.Millisecond, Reason: rep.Decision.Reason,
		StateUevent: time.Duration(rep.StateUeventMS) * time.Millisecond, Dropped: g.Log.Dropped(), Report: filepath.Join(g.RunDir, reportName),
	}

	g.Log.Verdict(rep.Decision.Decision == DecisionStateInvalid || rep.Decision.Decision == DecisionDeadline, "%s", line)
}

// writeReport writes the report as compact JSON (`jq .` lays it out): udevd
// waits for the gate's exit, which waits for this, and indenting took three
// times as long (BenchmarkWriteReport, README Performance). The encoder
// writes its buffer to the file as it stands, without the copy Marshal
// returns.
func (g *Gate) writeReport(rep *Report) {
	tmp := filepath.Join(g.RunDir, reportName+".tmp")

	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		err = json.NewEncoder(f).Encode(rep)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}

	if err == nil {
		err = os.Rename(tmp, filepath.Join(g.RunDir, reportName))
	}

	if err != nil {
		g.Log.Warning("cannot write the report: %v", err)
	}
}

// ReadTimeline reads a gate report, or a hand-written timeline with the same
// "settings" and "timeline" keys, for replay.
func ReadTimeline(data []byte) (Settings, []TimedInput, error) {
	var rep struct {
		Settings *Settings    `json:"settings"`
		Timeline []TimedInput `json:"timeline"`
	}

	if err := json.Unmarshal(data, &rep); err != nil {
		return Settings{}, nil, fmt.Errorf("not a timeline: %w", err)
	}

	s := DefaultSettings()
	if rep.Settings != nil {
		profiles := s.Profiles
		s = *rep.Settings
		s.Profiles = profiles
	}

	for i, in := range rep.Timeline {
		switch in.Kind {
		case InputEvent, InputProbe, InputTick:
		default:
			return s, nil, fmt.Errorf("timeline entry %d: unknown kind %q", i, in.Kind)
		}

		if in.Kind == InputEvent && in.Event == nil || in.Kind == InputProbe && in.Probe == nil {
			return s, nil, fmt.Errorf("timeline entry %d: %s entry without its %s", i, in.Kind, in.Kind)
		}
	}

	return s, rep.Timeline, nil
}
