package agent

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/udev"
)

// Decision is how the gate let the boot continue.
type Decision string

// Decisions, as the report, the kernel log and `replay --json` name them.
const (
	// DecisionStateVerified: STATE was found and verifies.
	DecisionStateVerified Decision = "state-verified"
	// DecisionStateInvalid: STATE was found but does not verify; the reason
	// says what Talos will do with it.
	DecisionStateInvalid Decision = "state-invalid"
	// DecisionNoState: every storage controller went quiet and no disk holds
	// STATE: a machine Talos is not installed on.
	DecisionNoState Decision = "no-state"
	// DecisionDeadline: the hard bound was reached first.
	DecisionDeadline Decision = "deadline"
	// DecisionDisabled: raid_settle.disable was on the kernel command line.
	DecisionDisabled Decision = "disabled"
)

// Release is the gate's final decision.
type Release struct {
	Decision Decision `json:"decision"`
	// AtMS is the time of the decision in milliseconds since the gate started.
	AtMS int64 `json:"at_ms"`
	// Reason explains the decision in a sentence or two.
	Reason string `json:"reason"`
	// State is the STATE candidate the decision rests on, if any.
	State *blockdev.Result `json:"state,omitempty"`
}

// InputKind tells what an Input carries.
type InputKind string

// Input kinds.
const (
	InputEvent InputKind = "event"
	InputProbe InputKind = "probe"
	InputTick  InputKind = "tick"
)

// Input is one thing that happened: a uevent, a probe result, or a timer.
// Recorded with its time, a sequence of inputs is a timeline that `replay`
// feeds back through the engine.
type Input struct {
	Kind  InputKind    `json:"kind"`
	Event *udev.Event  `json:"event,omitempty"`
	Probe *ProbeResult `json:"probe,omitempty"`
}

// ProbeResult is what verifying one whole disk found.
type ProbeResult struct {
	// Disk is the kernel name of the disk ("sda").
	Disk string `json:"disk"`
	// NotReady is set when the disk could not be opened yet (ENXIO, ENOENT,
	// ENOMEDIUM): it is listed but not usable, and will be tried again.
	NotReady bool `json:"not_ready,omitempty"`
	// Error is any other failure to examine the disk.
	Error string `json:"error,omitempty"`
	// PartitionUUIDs are the GPT partition GUIDs on the disk, lower case.
	PartitionUUIDs []string `json:"partition_uuids,omitempty"`
	// Candidates are the verified partitions named STATE.
	Candidates []blockdev.Result `json:"candidates,omitempty"`
}

// ActionKind tells what an Action asks for.
type ActionKind string

// Action kinds.
const (
	// ActionProbe asks the run loop to verify disk Disk and send the result
	// back as an InputProbe.
	ActionProbe ActionKind = "probe"
	// ActionWake asks for an InputTick at At (the latest ActionWake wins).
	ActionWake ActionKind = "wake"
	// ActionLog asks for Line to be logged (as a warning when Warn is set).
	ActionLog ActionKind = "log"
	// ActionRelease ends the gate with Release.
	ActionRelease ActionKind = "release"
)

// Action is what the engine asks of its run loop.
type Action struct {
	Kind    ActionKind `json:"kind"`
	Disk    string     `json:"disk,omitempty"`
	At      time.Time  `json:"at,omitzero"`
	Line    string     `json:"line,omitempty"`
	Warn    bool       `json:"warn,omitempty"`
	Release *Release   `json:"release,omitempty"`
}

// Retry limits for a disk that is listed but cannot be opened yet, and for
// one whose examination failed (a RAID volume still coming up can fail reads
// for a while after it appears).
const (
	notReadyRetry    = 250 * time.Millisecond
	notReadyAttempts = 20
	failedRetry      = time.Second
	failedAttempts   = 3
)

// controllerState is what the engine knows of one storage controller.
type controllerState struct {
	ctl     udev.Controller
	profile Profile
	last    time.Time     // last event on or under the controller
	maxGap  time.Duration // longest gap between two of its events
	disks   int
}

// diskState is what the engine knows of one whole disk.
type diskState struct {
	name       string
	devpath    string
	controller string
	added      time.Time
	probing    bool // a probe is in flight
	stale      bool // needs a (new) probe
	notReady   int  // consecutive not-ready probe results
	failures   int  // consecutive failed probes
	retryAt    time.Time
	probe      *ProbeResult // last complete result
}

// Engine is the gate's pure decision logic: inputs and their times in,
// actions out. It does no I/O and reads no clock; see doc.go for its states.
type Engine struct {
	settings    Settings
	start       time.Time
	controllers map[string]*controllerState
	disks       map[string]*diskState
	stateSeen   time.Time // first PARTNAME=STATE uevent
	released    *Release
}

// NewEngine returns an engine for a gate that started at start.
func NewEngine(settings Settings, start time.Time) *Engine {
	if settings.Deadline <= 0 {
		settings.Deadline = Duration(DefaultDeadline)
	}

	if settings.Profiles == nil {
		settings.Profiles = BuiltinProfiles
	}

	return &Engine{
		settings:    settings,
		start:       start,
		controllers: map[string]*controllerState{},
		disks:       map[string]*diskState{},
	}
}

// Released returns the decision, or nil while the engine still waits.
func (e *Engine) Released() *Release { return e.released }

// StateSeen returns when the first uevent of a partition named STATE
// arrived, or the zero time.
func (e *Engine) StateSeen() time.Time { return e.stateSeen }

// Step feeds one input, which happened at now, and returns what to do next.
// After a release it returns nothing.
func (e *Engine) Step(in Input, now time.Time) []Action {
	if e.released != nil {
		return nil
	}

	var acts []Action

	switch in.Kind {
	case InputEvent:
		if in.Event != nil {
			acts = e.onEvent(*in.Event, now)
		}
	case InputProbe:
		if in.Probe != nil {
			acts = e.onProbe(*in.Probe, now)
		}
	}

	return append(acts, e.evaluate(now)...)
}

func (e *Engine) since(t time.Time) string {
	return fmt.Sprintf("+%.1fs", t.Sub(e.start).Seconds())
}

func logf(format string, args ...any) Action {
	return Action{Kind: ActionLog, Line: fmt.Sprintf(format, args...)}
}

func warnf(format string, args ...any) Action {
	return Action{Kind: ActionLog, Warn: true, Line: fmt.Sprintf(format, args...)}
}

func (e *Engine) onEvent(ev udev.Event, now time.Time) []Action {
	var acts []Action

	if ctl, ok := udev.ControllerFromEvent(ev); ok {
		acts = append(acts, e.onController(ctl, ev.Action, now)...)
	}

	if ev.Subsystem == "module" && ev.Action == udev.ActionAdd {
		driver := path.Base(ev.DevPath)
		for _, c := range e.controllers {
			if c.ctl.Driver == driver {
				e.touch(c, now)
			}
		}
	}

	if c := e.controllerOf(ev.DevPath); c != nil {
		e.touch(c, now)
	}

	if ev.Subsystem == "block" && !strings.HasPrefix(ev.DevPath, "/devices/virtual/") {
		acts = append(acts, e.onBlock(ev, now)...)
	}

	return acts
}

func (e *Engine) onController(ctl udev.Controller, action udev.Action, now time.Time) []Action {
	c, known := e.controllers[ctl.DevPath]

	switch action {
	case udev.ActionRemove:
		delete(e.controllers, ctl.DevPath)

		return []Action{logf("controller %s (%s) removed at %s", ctl.Address, ctl.Kind, e.since(now))}
	case udev.ActionUnbind:
		ctl.Driver = ""
	}

	if !known {
		c = &controllerState{last: now}
		e.controllers[ctl.DevPath] = c
	}

	if ctl.Driver == "" && known && action != udev.ActionUnbind {
		// Only bind and unbind events carry the driver; keep what is known.
		ctl.Driver = c.ctl.Driver
	}

	rebound := known && ctl.Driver != c.ctl.Driver
	c.ctl = ctl
	c.profile = e.profileFor(ctl)
	e.touch(c, now)

	if known && !rebound {
		return nil
	}

	driver := ctl.Driver
	if driver == "" {
		driver = "no driver yet"
	}

	return []Action{logf("controller %s %s %04x:%04x (%s) at %s, quiet window %s..%s (%s)",
		ctl.Address, ctl.Kind, ctl.Vendor, ctl.Device, driver, e.since(now), c.profile.Quiet, c.profile.MaxQuiet, e.windowSource(c))}
}

func (e *Engine) profileFor(ctl udev.Controller) Profile {
	p := e.settings.Profiles.For(ctl.Driver, fmt.Sprintf("%04x:%04x", ctl.Vendor, ctl.Device))
	if q := e.settings.Quiet; q > 0 {
		p.Quiet, p.MaxQuiet, p.GapFactor = q, q, 0
	}

	return p
}

func (e *Engine) windowSource(c *controllerState) string {
	switch {
	case e.settings.Quiet > 0:
		return "fixed by raid_settle.quiet"
	case c.profile.Driver == "":
		return "default profile"
	case len(c.profile.PCIIDs) > 0:
		return c.profile.Driver + " profile for " + strings.Join(c.profile.PCIIDs, ",")
	default:
		return c.profile.Driver + " profile"
	}
}

// touch records activity on a controller, keeping the longest gap.
func (e *Engine) touch(c *controllerState, now time.Time) {
	if gap := now.Sub(c.last); gap > c.maxGap {
		c.maxGap = gap
	}

	if now.After(c.last) {
		c.last = now
	}
}

// controllerOf returns the controller devpath hangs off, or nil.
func (e *Engine) controllerOf(devpath string) *controllerState {
	ctls := make([]udev.Controller, 0, len(e.controllers))
	for _, c := range e.controllers {
		ctls = append(ctls, c.ctl)
	}

	if dp := udev.ControllerFor(devpath, ctls); dp != "" {
		return e.controllers[dp]
	}

	return nil
}

func (e *Engine) onBlock(ev udev.Event, now time.Time) []Action {
	switch ev.DevType {
	case "disk":
		name := ev.DevName
		if name == "" {
			name = path.Base(ev.DevPath)
		}

		switch ev.Action {
		case udev.ActionAdd:
			return e.addDisk(name, ev.DevPath, now)
		case udev.ActionRemove:
			if _, ok := e.disks[name]; ok {
				delete(e.disks, name)

				return []Action{logf("disk %s removed at %s", name, e.since(now))}
			}
		case udev.ActionChange:
			if d, ok := e.disks[name]; ok {
				d.stale = true
			}
		}
	case "partition":
		disk := path.Base(path.Dir(ev.DevPath))
		if ev.Action != udev.ActionAdd || ev.Env["PARTNAME"] != blockdev.StatePartitionLabel {
			return nil
		}

		var acts []Action

		if e.stateSeen.IsZero() {
			e.stateSeen = now
			acts = append(acts, logf("partition %s named STATE appeared at %s", ev.DevName, e.since(now)))
		}

		d, ok := e.disks[disk]
		if !ok {
			return append(acts, e.addDisk(disk, path.Dir(ev.DevPath), now)...)
		}

		// The kernel read this partition from the disk's GPT. A probe in
		// flight reads it too; a finished one that found no STATE (the
		// disk could not be opened, or was being partitioned) is redone.
		if !d.probing && (d.probe == nil || len(d.probe.Candidates) == 0) {
			d.stale = true
		}

		return acts
	}

	return nil
}

func (e *Engine) addDisk(name, devpath string, now time.Time) []Action {
	if d, ok := e.disks[name]; ok {
		// Seen in sysfs, now announced (or announced again): a disk that
		// could not be opened yet may open now.
		d.stale = d.stale || d.probe == nil || d.probe.NotReady

		return nil
	}

	d := &diskState{name: name, devpath: devpath, added: now, stale: true}
	e.disks[name] = d

	where := "no storage controller"
	if c := e.controllerOf(devpath); c != nil {
		d.controller = c.ctl.DevPath
		c.disks++
		where = fmt.Sprintf("%s (%s)", c.ctl.Address, c.ctl.Driver)
	}

	return []Action{logf("disk %s on %s at %s", name, where, e.since(now))}
}

func (e *Engine) onProbe(p ProbeResult, now time.Time) []Action {
	d, ok := e.disks[p.Disk]
	if !ok {
		return nil // removed meanwhile
	}

	d.probing = false

	if p.NotReady {
		d.notReady++
		if d.notReady < notReadyAttempts {
			d.retryAt = now.Add(notReadyRetry)
			d.stale = true
		}

		d.probe = &p

		return nil
	}

	d.notReady = 0
	d.probe = &p

	if p.Error != "" {
		d.failures++
		if d.failures < failedAttempts {
			d.retryAt = now.Add(failedRetry)
			d.stale = true

			return []Action{warnf("disk %s could not be examined (attempt %d of %d): %s", p.Disk, d.failures, failedAttempts, p.Error)}
		}

		return []Action{warnf("disk %s could not be examined, giving up on it: %s", p.Disk, p.Error)}
	}

	d.failures = 0

	var acts []Action

	for _, c := range p.Candidates {
		line := fmt.Sprintf("STATE on %s partition %d: %s %s", p.Disk, c.Partition, c.Content, c.Verdict)
		if len(c.Problems) > 0 {
			line += " (" + problemSummary(c.Problems) + ")"
		}

		if c.Verdict == blockdev.VerdictOK {
			acts = append(acts, logf("%s", line))
		} else {
			acts = append(acts, warnf("%s", line))
		}
	}

	return acts
}

func problemSummary(ps []blockdev.Problem) string {
	var codes []string

	for _, p := range ps {
		if p.Severity != blockdev.SeverityInfo {
			codes = append(codes, string(p.Code))
		}
	}

	return strings.Join(codes, ", ")
}

// evaluate applies the release rules in order and otherwise asks for the
// probes and the wake-up the rules need.
func (e *Engine) evaluate(now time.Time) []Action {
	if e.settings.Disabled {
		return e.release(DecisionDisabled, now, nil, "raid_settle.disable is set: boot continues without waiting")
	}

	deadline := e.start.Add(e.settings.Deadline.D())
	if !now.Before(deadline) {
		return e.release(DecisionDeadline, now, nil, fmt.Sprintf("the %s deadline passed: %s; boot continues and Talos decides with what is there", e.settings.Deadline, e.waitingFor(now)))
	}

	var acts []Action

	wake := deadline
	probing, retrying := false, false

	for _, name := range e.diskNames() {
		d := e.disks[name]

		switch {
		case d.probing:
			probing = true
		case d.stale && now.Before(d.retryAt):
			retrying = true
			wake = earliest(wake, d.retryAt)
		case d.stale:
			d.stale, d.probing = false, true
			probing = true

			acts = append(acts, Action{Kind: ActionProbe, Disk: name})
		}
	}

	// Every probe in flight is awaited before acting on a STATE, so that a
	// second disk carrying STATE is reported rather than raced past.
	ready, candidates := e.candidates()
	if len(candidates) > 0 && ready && !probing {
		return append(acts, e.releaseState(candidates, now, "")...)
	}

	// With a boot-partition hint and no STATE yet, the firmware has read a
	// disk that the kernel has not shown: wait for it until the deadline.
	waitBootDisk := e.settings.BootPartUUID != "" && !ready

	quietAt := e.quietAt()
	if !probing && !retrying && !now.Before(quietAt) && (len(candidates) > 0 || !waitBootDisk) {
		if len(candidates) > 0 {
			return append(acts, e.releaseState(candidates, now, fmt.Sprintf("the boot partition %s never showed up; ", e.settings.BootPartUUID))...)
		}

		return append(acts, e.release(DecisionNoState, now, nil, e.noStateReason(now))...)
	}

	if !probing && now.Before(quietAt) {
		wake = earliest(wake, quietAt)
	}

	return append(acts, Action{Kind: ActionWake, At: wake})
}

// candidates returns every STATE candidate found so far, and whether they
// may be acted on at once. Without a boot-partition hint they may. With one,
// only once the disk holding the boot partition has been examined: if it
// holds STATE, only its candidates count (any other is stale); if it holds
// none (booted from installer media, say), the hint says nothing of STATE.
func (e *Engine) candidates() (bool, []blockdev.Result) {
	var all, onBoot []blockdev.Result

	hint := e.settings.BootPartUUID

	for _, name := range e.diskNames() {
		p := e.disks[name].probe
		if p == nil {
			continue
		}

		all = append(all, p.Candidates...)

		if hint != "" && slices.Contains(p.PartitionUUIDs, hint) {
			onBoot = append(onBoot, p.Candidates...)
		}
	}

	if len(onBoot) > 0 {
		return true, onBoot
	}

	return hint == "" || e.bootDiskProbed(), all
}

// bootDiskProbed reports whether a probed disk holds the boot partition.
func (e *Engine) bootDiskProbed() bool {
	for _, d := range e.disks {
		if d.probe != nil && slices.Contains(d.probe.PartitionUUIDs, e.settings.BootPartUUID) {
			return true
		}
	}

	return false
}

func (e *Engine) releaseState(candidates []blockdev.Result, now time.Time, prefix string) []Action {
	chosen := candidates[0]
	for _, c := range candidates {
		if c.Verdict == blockdev.VerdictOK {
			chosen = c

			break
		}
	}

	where := fmt.Sprintf("STATE on %s partition %d", path.Base(chosen.Device), chosen.Partition)

	others := ""
	if len(candidates) > 1 {
		others = fmt.Sprintf("; %d partitions are named STATE (a swapped disk?), Talos may pick any of them", len(candidates))
	}

	if chosen.Verdict == blockdev.VerdictOK {
		return e.release(DecisionStateVerified, now, &chosen, fmt.Sprintf("%s%s verified (%s) at %s: %s%s", prefix, where, chosen.Content, e.since(now), chosen.Outlook(), others))
	}

	return e.release(DecisionStateInvalid, now, &chosen, fmt.Sprintf("%s%s is %s (%s): %s%s", prefix, where, chosen.Verdict, problemSummary(chosen.Problems), chosen.Outlook(), others))
}

func (e *Engine) release(d Decision, now time.Time, state *blockdev.Result, reason string) []Action {
	e.released = &Release{Decision: d, AtMS: now.Sub(e.start).Milliseconds(), Reason: reason, State: state}

	return []Action{{Kind: ActionRelease, Release: e.released}}
}

// quietAt is when every controller will have been quiet for its window.
func (e *Engine) quietAt() time.Time {
	if len(e.controllers) == 0 {
		return e.start.Add(NoControllerGrace)
	}

	var at time.Time

	for _, c := range e.controllers {
		if t := c.last.Add(c.window()); t.After(at) {
			at = t
		}
	}

	return at
}

// window is how long the controller must stay quiet. A controller with a
// driver but no disk yet gets its profile's longest window: a RAID
// controller without a logical drive is rare, a slow one is not. One with no
// driver bound gets the shortest: it shows nothing until a driver binds, and
// binding is an event that reopens its window.
func (c *controllerState) window() time.Duration {
	switch {
	case c.ctl.Driver == "":
		return c.profile.Quiet.D()
	case c.disks == 0:
		return max(c.profile.Window(c.maxGap), c.profile.MaxQuiet.D())
	default:
		return c.profile.Window(c.maxGap)
	}
}

func (e *Engine) noStateReason(now time.Time) string {
	if len(e.controllers) == 0 {
		return fmt.Sprintf("no storage controller appeared within %s and no disk holds STATE: Talos is not installed here, it will boot into maintenance mode", NoControllerGrace)
	}

	var parts []string

	for _, dp := range e.controllerPaths() {
		c := e.controllers[dp]
		parts = append(parts, fmt.Sprintf("%s (%s, %d disk(s)) quiet since %s, window %s", c.ctl.Address, orNone(c.ctl.Driver), c.disks, e.since(c.last), c.window().Round(time.Millisecond)))
	}

	var unexamined []string

	for _, name := range e.diskNames() {
		if p := e.disks[name].probe; p == nil || p.NotReady || p.Error != "" {
			unexamined = append(unexamined, name)
		}
	}

	verdict := "Talos is not installed here, it will boot into maintenance mode"
	if len(unexamined) > 0 {
		verdict = fmt.Sprintf("%d disk(s) could not be examined (%s), so STATE may be there unseen; Talos will look for itself", len(unexamined), strings.Join(unexamined, ", "))
	}

	return fmt.Sprintf("no STATE on %d disk(s) and every storage controller has gone quiet (%s) at %s: %s",
		len(e.disks), strings.Join(parts, "; "), e.since(now), verdict)
}

// waitingFor describes what kept the gate waiting, for the deadline message.
func (e *Engine) waitingFor(now time.Time) string {
	var parts []string

	for _, name := range e.diskNames() {
		if d := e.disks[name]; d.probing || d.stale {
			parts = append(parts, "disk "+name+" could not be examined")
		}
	}

	if e.settings.BootPartUUID != "" && !e.bootDiskProbed() {
		parts = append(parts, "boot partition "+e.settings.BootPartUUID+" never appeared")
	}

	if q := e.quietAt(); now.Before(q) {
		parts = append(parts, "storage controllers were still active")
	}

	if len(parts) == 0 {
		return "no STATE found"
	}

	return strings.Join(parts, ", ")
}

func (e *Engine) diskNames() []string {
	names := make([]string, 0, len(e.disks))
	for n := range e.disks {
		names = append(names, n)
	}

	sort.Strings(names)

	return names
}

func (e *Engine) controllerPaths() []string {
	paths := make([]string, 0, len(e.controllers))
	for p := range e.controllers {
		paths = append(paths, p)
	}

	sort.Strings(paths)

	return paths
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}

	return a
}

func orNone(s string) string {
	if s == "" {
		return "no driver"
	}

	return s
}
