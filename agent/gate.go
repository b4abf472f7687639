package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/udev"
)

// Report is what the gate writes to /run/raid-settle/report.json: its
// settings, what it saw, and what it decided. Its Settings and Timeline are
// the input of `raid-settle replay`.
type Report struct {
	Version  string    `json:"version"`
	Started  time.Time `json:"started"`
	Settings Settings  `json:"settings"`
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
	// Probe verifies one whole disk.
	Probe func(ctx context.Context, disk string) ProbeResult
}

// markerName is created under RunDir by the first run; later runs see it
// and exit at once.
const markerName = "gate.started"

// reportName is the report's file name under RunDir.
const reportName = "report.json"

// NewGate returns a gate with production defaults.
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
	g.Log = OpenKmsg(filepath.Join(g.DevRoot, "kmsg"), os.Stderr)
	g.OpenMonitor = func() (eventSource, error) {
		return udev.OpenMonitor(udev.MonitorOptions{SysRoot: g.SysRoot, Now: g.Now, Log: g.Log.Warning})
	}
	g.Probe = g.probeDisk

	return g
}

// Run holds until the engine releases, then writes the report and returns
// it. It returns nil when an earlier run already did the job. It never
// panics: a panic is logged and ends the hold, since the gate must never be
// the reason a node fails to boot.
func (g *Gate) Run(ctx context.Context) (rep *Report) {
	start := g.Now()

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

	rep = &Report{Version: g.Version, Started: start, StateUeventMS: -1, Controllers: []udev.Controller{}, Timeline: []TimedInput{}}
	rep.Settings = g.settings(rep)

	engine := NewEngine(rep.Settings, start)
	g.hold(ctx, engine, rep, start)

	rep.Decision = engine.Released()
	rep.HeldMS = g.Now().Sub(start).Milliseconds()

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
		f.Close() //nolint:errcheck
	}

	return true
}

// settings reads the kernel command line, the boot hint and the profiles,
// logging the start line and any warning.
func (g *Gate) settings(rep *Report) Settings {
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

	if uuid, err := ReadBootPartUUID(g.SysRoot); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
	} else {
		s.BootPartUUID = uuid
	}

	quiet := "adaptive per driver"
	if s.Quiet > 0 {
		quiet = s.Quiet.String()
	}

	boot := "none"
	if s.BootPartUUID != "" {
		boot = s.BootPartUUID
	}

	g.Log.Notice("%s started: deadline %s, quiet window %s, boot partition %s, disabled %t", g.Version, s.Deadline, quiet, boot, s.Disabled)

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

// hold runs the engine until it releases, with a bound of its own in case
// anything around the engine stalls.
func (g *Gate) hold(ctx context.Context, engine *Engine, rep *Report, start time.Time) {
	ctx, cancel := context.WithDeadline(ctx, start.Add(rep.Settings.Deadline.D()+time.Second))
	defer cancel()

	var events chan udev.Event // nil without a monitor: sysfs rescans stand in

	probes := make(chan ProbeResult, 64)

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	feed := func(in Input) {
		now := g.Now()
		rep.Timeline = append(rep.Timeline, TimedInput{AtMS: now.Sub(start).Milliseconds(), Input: in})

		for _, a := range engine.Step(in, now) {
			g.act(ctx, a, now, start, rep, timer, probes)
		}
	}

	feedEvent := func(ev udev.Event) {
		if rep.Settings.Debug {
			g.Log.Notice("uevent %s %s %s %s", ev.Action, ev.Subsystem, ev.DevType, ev.DevPath)
		}

		feed(Input{Kind: InputEvent, Event: &ev})
	}

	if rep.Settings.Disabled {
		feed(Input{Kind: InputTick})

		return
	}

	// Listen first, then scan sysfs: nothing falls between the two.
	monitor, err := g.OpenMonitor()
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("uevent monitor: %v", err))
		g.Log.Warning("cannot listen to uevents (%v): relying on sysfs rescans", err)
	} else {
		defer func() {
			rep.Overflows, rep.Rejected = monitor.Overflows(), monitor.Rejected()
			monitor.Close() //nolint:errcheck
		}()

		events = make(chan udev.Event, 4096)

		go func() {
			if err := monitor.Run(ctx, events); err != nil && ctx.Err() == nil {
				g.Log.Warning("uevent monitor stopped: %v", err)
			}
		}()
	}

	g.coldplug(feed, rep)

	rescan := time.NewTicker(time.Second)
	defer rescan.Stop()

	for engine.Released() == nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // the monitor ended: the rescans carry on

				continue
			}

			feedEvent(ev)
		case p := <-probes:
			// Uevents already received come first: the timeline then shows
			// the kernel's view before a decision that rests on the probe.
			for pending := true; pending && events != nil; {
				select {
				case ev, ok := <-events:
					if !ok {
						events, pending = nil, false

						break
					}

					feedEvent(ev)
				default:
					pending = false
				}
			}

			feed(Input{Kind: InputProbe, Probe: &p})
		case <-timer.C:
			feed(Input{Kind: InputTick})
		case <-rescan.C:
			if events == nil {
				g.coldplug(feed, rep)
			}
		case <-ctx.Done():
			// The engine's deadline is earlier than this one, so only a
			// stalled loop gets here; the tick releases on the deadline.
			feed(Input{Kind: InputTick})

			if engine.Released() == nil {
				g.Log.Warning("engine did not release at its deadline; letting boot continue")

				return
			}
		}
	}
}

// coldplug feeds what sysfs lists now, as add events.
func (g *Gate) coldplug(feed func(Input), rep *Report) {
	events, err := udev.Walk(g.SysRoot, g.Now())
	if err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("sysfs walk: %v", err))
		g.Log.Warning("cannot list devices in sysfs: %v", err)
	}

	for i := range events {
		if ctl, ok := udev.ControllerFromEvent(events[i]); ok && !hasController(rep.Controllers, ctl.DevPath) {
			rep.Controllers = append(rep.Controllers, ctl)
		}

		feed(Input{Kind: InputEvent, Event: &events[i]})
	}

	// An empty scan still moves the engine on: it sets its first wake-up.
	feed(Input{Kind: InputTick})
}

func hasController(ctls []udev.Controller, devpath string) bool {
	for _, c := range ctls {
		if c.DevPath == devpath {
			return true
		}
	}

	return false
}

// act carries out one engine action.
func (g *Gate) act(ctx context.Context, a Action, now, start time.Time, rep *Report, timer *time.Timer, probes chan<- ProbeResult) {
	switch a.Kind {
	case ActionLog:
		rep.Log = append(rep.Log, TimedLine{AtMS: now.Sub(start).Milliseconds(), Line: a.Line, Warn: a.Warn})

		if a.Warn {
			g.Log.Warning("%s", a.Line)
		} else {
			g.Log.Notice("%s", a.Line)
		}
	case ActionWake:
		timer.Reset(max(a.At.Sub(g.Now()), 0))
	case ActionProbe:
		go func() {
			probes <- g.safeProbe(ctx, a.Disk)
		}()
	}
}

// safeProbe runs Probe, turning a panic into a failed probe: it runs on its
// own goroutine, where Run's recover cannot reach.
func (g *Gate) safeProbe(ctx context.Context, disk string) (res ProbeResult) {
	defer func() {
		if r := recover(); r != nil {
			res = ProbeResult{Disk: disk, Error: fmt.Sprintf("internal error: %v", r)}
		}
	}()

	return g.Probe(ctx, disk)
}

// probeDisk verifies the disk /dev/NAME.
func (g *Gate) probeDisk(ctx context.Context, name string) ProbeResult {
	res := ProbeResult{Disk: name}

	disk, results, err := blockdev.VerifyDevice(ctx, filepath.Join(g.DevRoot, name), blockdev.LocateOptions{}, blockdev.DefaultRetryPolicy)

	switch {
	case isNotReady(err):
		res.NotReady = true
		res.Error = err.Error()
	case err != nil:
		res.Error = err.Error()
	default:
		res.PartitionUUIDs = disk.PartitionUUIDs
		res.Candidates = results
	}

	return res
}

// isNotReady tells a disk that is listed but cannot be opened yet from one
// that cannot be examined.
func isNotReady(err error) bool {
	for _, e := range []error{syscall.ENXIO, syscall.ENOENT, syscall.ENOMEDIUM, syscall.ENODEV} {
		if errors.Is(err, e) {
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

	line := fmt.Sprintf("released (%s) after %.1fs: %s", rep.Decision.Decision, float64(rep.HeldMS)/1000, rep.Decision.Reason)
	if rep.StateUeventMS >= 0 {
		line += fmt.Sprintf(" [STATE uevent at +%.1fs]", float64(rep.StateUeventMS)/1000)
	}

	if rep.Decision.Decision == DecisionStateInvalid || rep.Decision.Decision == DecisionDeadline {
		g.Log.Warning("%s", line)
	} else {
		g.Log.Notice("%s", line)
	}
}

func (g *Gate) writeReport(rep *Report) {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err == nil {
		tmp := filepath.Join(g.RunDir, reportName+".tmp")
		if err = os.WriteFile(tmp, append(data, '\n'), 0o644); err == nil {
			err = os.Rename(tmp, filepath.Join(g.RunDir, reportName))
		}
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
