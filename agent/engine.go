package agent

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent/gatelog"
	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
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
	// Unexamined names the disks that could not be examined by the time of
	// the decision (a hung or dying disk, one that never opened): any of
	// them may hold a STATE the gate did not see.
	Unexamined []string `json:"unexamined,omitempty"`
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
	// AskedMS is when the gate asked for the probe (wrote the request to
	// its probe worker), in milliseconds since its start; the timeline's
	// entry says when the result came. Earlier reports recorded the start
	// of the batch of inputs that led to the probe instead.
	AskedMS int64 `json:"asked_ms,omitempty"`
	// StartedMS and EndedMS are when the examination started and ended, in
	// milliseconds since the gate started, on the monotonic clock the gate
	// and its probe worker share; 0 in reports from before they existed.
	StartedMS float64 `json:"started_ms,omitempty"`
	EndedMS   float64 `json:"ended_ms,omitempty"`
	// ReceivedMS is when the gate read the probe worker's reply, on the
	// same clock; 0 for probes run in the gate's own process.
	ReceivedMS float64 `json:"received_ms,omitempty"`
	// OnCPUMS and RunWaitMS are how the thread that ran the examination
	// spent it: on a CPU, and runnable but waiting for one (Prober.Probe).
	// The rest of StartedMS..EndedMS it was blocked, on I/O most of all.
	// Both 0 where the kernel keeps no schedstat, and for an examination
	// that overlapped another.
	OnCPUMS   float64 `json:"on_cpu_ms,omitempty"`
	RunWaitMS float64 `json:"run_wait_ms,omitempty"`
	// Steps time the examination's steps, from its start.
	Steps []ProbeStep `json:"steps,omitempty"`
}

// ProbeStep is one step of a disk's examination, or of the gate's start,
// and when it ended. A start-up step also says how much CPU time the process
// that took it (the gate, or the worker for the worker's steps) had used by
// then, from its exec on: the cost of starting a Go process shows there.
type ProbeStep struct {
	Step  string  `json:"step"`
	MS    float64 `json:"ms"`
	CPUMS float64 `json:"cpu_ms,omitempty"`
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
// one whose examination failed or whose STATE could not be read (a RAID
// volume still coming up can fail reads for a while after it appears).
const (
	notReadyRetry    = 250 * time.Millisecond
	notReadyAttempts = 20
	failedRetry      = time.Second
	failedAttempts   = 3
)

// PendingProbeGrace is how long, once a STATE can be acted on, the gate still
// waits for the disks whose examination is under way, so that a second STATE
// (a swapped disk) is reported rather than raced past. A disk slower than
// that (a dying JBOD member, a read stuck in the kernel) does not hold the
// boot: the release names it as unexamined.
const PendingProbeGrace = 2 * time.Second

// HungProbeTimeout is how long a probe may be in flight before the disk
// counts as one that could not be examined. A read stuck in the kernel
// cannot be cancelled (the probe runs in a child process, so the gate's
// exit never waits on it), but it no longer keeps the controllers' quiet
// windows from concluding.
const HungProbeTimeout = 10 * time.Second

// ProbeRetryBudget bounds the time the retries of one disk's examination can
// add: a disk that cannot be opened is tried notReadyAttempts times, one
// whose examination fails failedAttempts times. Without evidence that Talos
// is installed, the gate releases at most the longest quiet window of its
// controllers' profiles, plus this budget, plus HungProbeTimeout (and the
// probes' own time) after the last uevent.
const ProbeRetryBudget = notReadyAttempts*notReadyRetry + failedAttempts*failedRetry

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
	probing    bool      // a probe is in flight
	probeSince time.Time // when the probe in flight was asked for
	stale      bool      // needs a (new) probe; set only by Engine.probeAgain, which puts the disk in busy
	changed    bool      // changed while a probe was in flight
	notReady   int       // consecutive not-ready probe results
	failures   int       // consecutive failed probes
	retryAt    time.Time
	probe      *ProbeResult // last complete result
}

// pending reports whether the disk's examination is under way at now: a
// probe in flight for less than HungProbeTimeout, or one due (a retry
// included).
func (d *diskState) pending(now time.Time) bool {
	return d.stale || d.probing && now.Sub(d.probeSince) < HungProbeTimeout
}

// examined reports whether the disk's last probe read its partition table.
func (d *diskState) examined() bool {
	return !d.probing && !d.stale && d.probe != nil && !d.probe.NotReady && d.probe.Error == ""
}

// Engine is the gate's pure decision logic: inputs and their times in,
// actions out. It does no I/O and reads no clock; see doc.go for its states.
type Engine struct {
	settings    Settings
	start       time.Time
	installed   string // installed-node evidence, "" when there is none
	controllers map[string]*controllerState
	disks       map[string]*diskState
	// nvmePaths maps a multipath NVMe namespace ("nvme0n1", a block device
	// under /devices/virtual/nvme-subsystem/) to the controller of its
	// first path ("nvme0c1n1", under the PCI device).
	nvmePaths map[string]string
	// listed holds the devpaths sysfs has shown, so that a rescan showing
	// nothing new does not count as activity.
	listed map[string]bool
	// busy holds every disk that is stale or probing, and possibly some
	// that no longer are (scheduleProbes drops those): the rules look at
	// these rather than at every disk, since most of a JBOD's disks are
	// done with after their first probe.
	busy map[string]*diskState
	// found holds the disks whose last probe found a partition named STATE
	// or the boot partition: the only ones the release rules can act on.
	found map[string]*diskState
	// controllerList caches the controllers for udev.ControllerFor; nil
	// once one comes, goes or changes.
	controllerList []udev.Controller
	stateSeen      time.Time // first PARTNAME=STATE uevent
	stateAt        time.Time // when a STATE could first be acted on
	released       *Release
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
		installed:   settings.InstalledEvidence(),
		controllers: map[string]*controllerState{},
		disks:       map[string]*diskState{},
		nvmePaths:   map[string]string{},
		listed:      map[string]bool{},
		busy:        map[string]*diskState{},
		found:       map[string]*diskState{},
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
	return e.StepAll([]Input{in}, now)
}

// StepAll feeds inputs that arrived together at now, in order, then applies
// the release rules once: the rules see every input of the batch, and a
// JBOD's thousands of coldplug uevents cost one pass over its disks rather
// than one per uevent. After a release it returns nothing.
func (e *Engine) StepAll(ins []Input, now time.Time) []Action {
	if e.released != nil {
		return nil
	}

	var acts []Action

	for _, in := range ins {
		switch in.Kind {
		case InputEvent:
			if in.Event != nil {
				acts = append(acts, e.onEvent(*in.Event, now)...)
			}
		case InputProbe:
			if in.Probe != nil {
				acts = append(acts, e.onProbe(*in.Probe, now)...)
			}
		}
	}

	return append(acts, e.evaluate(now)...)
}

func (e *Engine) since(t time.Time) string {
	return fmt.Sprintf("+%.1fs", t.Sub(e.start).Seconds())
}

// logLine and warnLine log one of the gate's lines (package gatelog owns
// their format).
func logLine(l gatelog.Line) Action { return Action{Kind: ActionLog, Line: l.String()} }

func warnLine(l gatelog.Line) Action { return Action{Kind: ActionLog, Warn: true, Line: l.String()} }

func (e *Engine) onEvent(ev udev.Event, now time.Time) []Action {
	if e.relisted(ev) {
		// A sysfs rescan showing a device it showed before is no news:
		// counting it as activity would keep the controllers from ever
		// going quiet while the gate has no uevent socket.
		return nil
	}

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

	if c := e.ownerOf(ev.DevPath); c != nil {
		e.touch(c, now)
	}

	if ev.Subsystem == "block" && watchedBlock(ev.DevPath) {
		acts = append(acts, e.onBlock(ev, now)...)
	}

	return acts
}

// relisted reports whether ev is a sysfs listing of a device that sysfs
// already listed (or the kernel announced) and that was not removed since:
// a controller with the same driver bound, any other device at all.
func (e *Engine) relisted(ev udev.Event) bool {
	switch ev.Action {
	case udev.ActionAdd:
		seen := e.listed[ev.DevPath]
		e.listed[ev.DevPath] = true

		if ev.Source != udev.SourceSysfs && ev.Source != udev.SourceResync {
			return false
		}

		if ctl, ok := udev.ControllerFromEvent(ev); ok {
			c, known := e.controllers[ctl.DevPath]

			return known && c.ctl.Driver == ctl.Driver
		}

		return seen
	case udev.ActionRemove:
		delete(e.listed, ev.DevPath)
	}

	return false
}

// virtualNVMe is where the kernel puts a namespace that several NVMe
// controllers share (native multipath, CONFIG_NVME_MULTIPATH): the block
// device has no controller among its ancestors, its paths do.
const virtualNVMe = "/devices/virtual/nvme-subsystem/"

// watchedBlock reports whether a block device can hold STATE: anything
// behind a controller, and multipath NVMe namespaces; not loop, dm, md,
// zram or ram devices, which Talos does not install to.
func watchedBlock(devpath string) bool {
	return !strings.HasPrefix(devpath, "/devices/virtual/") || strings.HasPrefix(devpath, virtualNVMe)
}

// nvmePathHead returns the namespace a hidden NVMe path device belongs to:
// "nvme0c1n1" (subsystem 0, controller 1, namespace 1) is a path of
// "nvme0n1".
func nvmePathHead(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "nvme")
	if !ok {
		return "", false
	}

	subsys, rest, ok := strings.Cut(rest, "c")
	if !ok || !isDigits(subsys) {
		return "", false
	}

	ctrl, ns, ok := strings.Cut(rest, "n")
	if !ok || !isDigits(ctrl) || !isDigits(ns) {
		return "", false
	}

	return "nvme" + subsys + "n" + ns, true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func (e *Engine) onController(ctl udev.Controller, action udev.Action, now time.Time) []Action {
	c, known := e.controllers[ctl.DevPath]
	e.controllerList = nil

	switch action {
	case udev.ActionRemove:
		delete(e.controllers, ctl.DevPath)

		return []Action{logLine(gatelog.ControllerRemoved{Address: ctl.Address, Kind: string(ctl.Kind), At: now.Sub(e.start)})}
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

	return []Action{logLine(gatelog.Controller{
		Address: ctl.Address, Kind: string(ctl.Kind), Vendor: ctl.Vendor, Device: ctl.Device, Driver: ctl.Driver, At: now.Sub(e.start),
		Quiet: time.Duration(c.profile.Quiet), MaxQuiet: time.Duration(c.profile.MaxQuiet), WindowSource: e.windowSource(c),
	})}
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
	if e.controllerList == nil {
		e.controllerList = make([]udev.Controller, 0, len(e.controllers))
		for _, c := range e.controllers {
			e.controllerList = append(e.controllerList, c.ctl)
		}
	}

	if dp := udev.ControllerFor(devpath, e.controllerList); dp != "" {
		return e.controllers[dp]
	}

	return nil
}

// ownerOf returns the controller a device belongs to: the one it hangs off
// in sysfs or, for a multipath NVMe namespace and its partitions, the
// controller of the namespace's first path.
func (e *Engine) ownerOf(devpath string) *controllerState {
	if rest, ok := strings.CutPrefix(devpath, virtualNVMe); ok {
		// nvme-subsys0/nvme0n1[/nvme0n1p1]
		parts := strings.Split(rest, "/")
		if len(parts) >= 2 {
			return e.controllers[e.nvmePaths[parts[1]]]
		}

		return nil
	}

	return e.controllerOf(devpath)
}

func (e *Engine) onBlock(ev udev.Event, now time.Time) []Action {
	switch ev.DevType {
	case "disk":
		name := ev.DevName
		if name == "" {
			name = path.Base(ev.DevPath)
		}

		if head, ok := nvmePathHead(name); ok {
			// A hidden path of a shared namespace: it has no device node
			// and is never probed; it ties the namespace to a controller.
			if ev.Action == udev.ActionAdd {
				e.addNVMePath(head, ev.DevPath)
			}

			return nil
		}

		switch ev.Action {
		case udev.ActionAdd:
			return e.addDisk(name, ev.DevPath, now)
		case udev.ActionRemove:
			if _, ok := e.disks[name]; ok {
				delete(e.disks, name)
				delete(e.busy, name)
				delete(e.found, name)

				return []Action{logLine(gatelog.DiskRemoved{Name: name, At: now.Sub(e.start)})}
			}
		case udev.ActionChange:
			if d, ok := e.disks[name]; ok {
				e.markChanged(d)
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
			acts = append(acts, logLine(gatelog.StatePartition{Partition: ev.DevName, At: now.Sub(e.start)}))
		}

		d, ok := e.disks[disk]
		if !ok {
			return append(acts, e.addDisk(disk, path.Dir(ev.DevPath), now)...)
		}

		// The kernel read this partition from the disk's GPT: a finished
		// probe that found no STATE (the disk could not be opened, or was
		// being partitioned) is redone, and so is one in flight if it
		// comes back without STATE.
		if d.probing || d.probe == nil || len(d.probe.Candidates) == 0 {
			e.markChanged(d)
		}

		return acts
	}

	return nil
}

// markChanged asks for a disk to be examined again. A probe in flight is
// not thrown away: if it comes back with a STATE, that result stands (the
// kernel reads the same partition table); otherwise the disk is probed
// again at once.
func (e *Engine) markChanged(d *diskState) {
	if d.probing {
		d.changed = true

		return
	}

	e.probeAgain(d, time.Time{})
}

// probeAgain marks the disk as needing a probe from at on (at once for the
// zero time).
func (e *Engine) probeAgain(d *diskState, at time.Time) {
	d.stale, d.retryAt = true, at
	e.busy[d.name] = d
}

// addNVMePath ties the shared namespace head to the controller of one of its
// paths (the first one seen).
func (e *Engine) addNVMePath(head, devpath string) {
	if _, ok := e.nvmePaths[head]; ok {
		return
	}

	c := e.controllerOf(devpath)
	if c == nil {
		return
	}

	e.nvmePaths[head] = c.ctl.DevPath

	if d, ok := e.disks[head]; ok && d.controller == "" {
		d.controller = c.ctl.DevPath
		c.disks++
	}
}

func (e *Engine) addDisk(name, devpath string, now time.Time) []Action {
	if d, ok := e.disks[name]; ok {
		// Seen in sysfs, now announced (or announced again): a disk that
		// could not be opened yet may open now.
		if d.probe == nil || d.probe.NotReady {
			e.markChanged(d)
		}

		return nil
	}

	d := &diskState{name: name, devpath: devpath, added: now}
	e.disks[name] = d
	e.probeAgain(d, time.Time{})

	line := gatelog.Disk{Name: name, At: now.Sub(e.start)}
	if c := e.ownerOf(devpath); c != nil {
		d.controller = c.ctl.DevPath
		c.disks++
		line.Address, line.Driver = c.ctl.Address, c.ctl.Driver
	}

	return []Action{logLine(line)}
}

func (e *Engine) onProbe(p ProbeResult, now time.Time) []Action {
	d, ok := e.disks[p.Disk]
	if !ok {
		return nil // removed meanwhile
	}

	d.probing = false
	changed := d.changed
	d.changed = false
	d.probe = &p

	if len(p.Candidates) > 0 || e.settings.BootPartUUID != "" && slices.Contains(p.PartitionUUIDs, e.settings.BootPartUUID) {
		e.found[d.name] = d
	} else {
		delete(e.found, d.name)
	}

	if p.NotReady {
		d.notReady++
		if d.notReady < notReadyAttempts {
			e.probeAgain(d, now.Add(notReadyRetry))
		}

		return nil
	}

	d.notReady = 0

	if failure := probeFailure(p); failure != "" {
		d.failures++
		if d.failures < failedAttempts {
			e.probeAgain(d, now.Add(failedRetry))

			return []Action{warnLine(gatelog.DiskFailed{Name: p.Disk, Attempt: d.failures, Attempts: failedAttempts, Why: failure})}
		}

		if p.Error != "" {
			return []Action{warnLine(gatelog.DiskFailed{Name: p.Disk, GaveUp: true, Why: failure})}
		}
	} else {
		d.failures = 0
	}

	if changed && len(p.Candidates) == 0 {
		e.probeAgain(d, time.Time{}) // the disk changed under the probe
	}

	var acts []Action

	for _, c := range p.Candidates {
		line := gatelog.StateCheck{Disk: p.Disk, Partition: c.Partition, Content: string(c.Content), Verdict: string(c.Verdict), Codes: problem.Findings(c.Problems)}

		if c.Verdict == blockdev.VerdictOK {
			acts = append(acts, logLine(line))
		} else {
			acts = append(acts, warnLine(line))
		}
	}

	return acts
}

// probeFailure says why a probe result cannot be relied on yet: the disk
// could not be examined, or a partition named STATE on it could not be read.
// Both are retried before the gate gives up on the disk.
func probeFailure(p ProbeResult) string {
	if p.Error != "" {
		return p.Error
	}

	for _, c := range p.Candidates {
		if c.Verdict == blockdev.VerdictUnreadable {
			return fmt.Sprintf("partition %d named STATE could not be read (%s)", c.Partition, problemSummary(c.Problems))
		}
	}

	return ""
}

// problemSummary lists the codes of the problems that are more than
// remarks.
func problemSummary(ps []problem.Problem) string { return strings.Join(problem.Findings(ps), ", ") }

// evaluate applies the release rules in order and otherwise asks for the
// probes and the wake-up the rules need.
func (e *Engine) evaluate(now time.Time) []Action {
	if e.settings.Disabled {
		return e.release(DecisionDisabled, now, nil, nil, "raid_settle.disable is set: boot continues without waiting")
	}

	deadline := e.start.Add(e.settings.Deadline.D())
	if !now.Before(deadline) {
		return e.release(DecisionDeadline, now, nil, e.unexamined(), fmt.Sprintf("the %s deadline passed: %s; boot continues and Talos decides with what is there", e.settings.Deadline, e.waitingFor(now)))
	}

	acts, wake := e.scheduleProbes(now)
	pending := e.anyPending(now)

	// With a boot-partition hint, the disk holding that partition decides:
	// its STATE is taken at once, whatever other disks still do, and no
	// other disk's STATE is taken before it has been examined.
	if e.settings.BootPartUUID != "" {
		boot := e.bootDisk()
		if boot == nil {
			return append(acts, Action{Kind: ActionWake, At: wake})
		}

		if len(boot.probe.Candidates) > 0 {
			return append(acts, e.releaseState(boot.probe.Candidates, now, nil)...)
		}
		// The boot disk holds no STATE (installer media): the hint says
		// nothing more, the rules below apply.
	}

	if candidates := e.candidates(); len(candidates) > 0 {
		if e.stateAt.IsZero() {
			e.stateAt = now
		}

		graceEnd := e.stateAt.Add(PendingProbeGrace)
		if !pending || !now.Before(graceEnd) {
			return append(acts, e.releaseState(candidates, now, e.pendingDisks(now))...)
		}

		return append(acts, Action{Kind: ActionWake, At: earliest(wake, graceEnd)})
	}

	if e.installed != "" {
		// Talos is installed here: its STATE is on a disk not shown yet.
		return append(acts, Action{Kind: ActionWake, At: wake})
	}

	quietAt := e.quietAt()
	if !pending && !now.Before(quietAt) {
		return append(acts, e.release(DecisionNoState, now, nil, e.unexamined(), e.noStateReason(now))...)
	}

	if now.Before(quietAt) {
		wake = earliest(wake, quietAt)
	}

	return append(acts, Action{Kind: ActionWake, At: wake})
}

// scheduleProbes asks for a probe of every disk that needs one and whose
// retry time has come, and returns the earliest retry time still ahead, or
// the deadline when there is none.
func (e *Engine) scheduleProbes(now time.Time) ([]Action, time.Time) {
	var acts []Action

	wake := e.start.Add(e.settings.Deadline.D())

	for _, name := range sortedNames(e.busy, nil) {
		d := e.busy[name]

		switch {
		case d.probing:
			if hung := d.probeSince.Add(HungProbeTimeout); now.Before(hung) {
				wake = earliest(wake, hung)
			}
		case !d.stale:
			delete(e.busy, name)
		case now.Before(d.retryAt):
			wake = earliest(wake, d.retryAt)
		default:
			d.stale, d.probing, d.probeSince = false, true, now

			acts = append(acts, Action{Kind: ActionProbe, Disk: name})
		}
	}

	return acts, wake
}

// pendingDisks names the disks whose examination is under way at now.
func (e *Engine) pendingDisks(now time.Time) []string {
	return sortedNames(e.busy, func(d *diskState) bool { return d.pending(now) })
}

// anyPending reports whether a disk's examination is under way at now.
func (e *Engine) anyPending(now time.Time) bool {
	for _, d := range e.busy {
		if d.pending(now) {
			return true
		}
	}

	return false
}

// unexamined names the disks that could not be examined: under way, never
// opened, or given up on.
func (e *Engine) unexamined() []string {
	return sortedNames(e.disks, func(d *diskState) bool { return !d.examined() })
}

// sortedNames names, sorted, the disks of set for which keep holds (all of
// them for a nil keep).
func sortedNames(set map[string]*diskState, keep func(*diskState) bool) []string {
	names := make([]string, 0, len(set))

	for name, d := range set {
		if keep == nil || keep(d) {
			names = append(names, name)
		}
	}

	slices.Sort(names)

	return names
}

// candidates returns every STATE candidate on the disks examined so far,
// in the order of their disks' names.
func (e *Engine) candidates() []blockdev.Result {
	var all []blockdev.Result

	for _, name := range sortedNames(e.found, (*diskState).examined) {
		all = append(all, e.found[name].probe.Candidates...)
	}

	return all
}

// bootDisk returns the examined disk that holds the boot partition, or nil.
func (e *Engine) bootDisk() *diskState {
	for _, name := range sortedNames(e.found, (*diskState).examined) {
		if d := e.found[name]; slices.Contains(d.probe.PartitionUUIDs, e.settings.BootPartUUID) {
			return d
		}
	}

	return nil
}

func (e *Engine) releaseState(candidates []blockdev.Result, now time.Time, unexamined []string) []Action {
	chosen := candidates[0]
	for _, c := range candidates {
		if c.Verdict == blockdev.VerdictOK {
			chosen = c

			break
		}
	}

	where := fmt.Sprintf("STATE on %s partition %d", path.Base(chosen.Device), chosen.Partition)

	var notes string
	if len(candidates) > 1 {
		notes += fmt.Sprintf("; %d partitions are named STATE (a swapped disk?), Talos may pick any of them", len(candidates))
	}

	if len(unexamined) > 0 {
		notes += fmt.Sprintf("; not waiting longer than %s for %s, still being examined: a second STATE there would go unseen", PendingProbeGrace, strings.Join(unexamined, ", "))
	}

	if chosen.Verdict == blockdev.VerdictOK {
		return e.release(DecisionStateVerified, now, &chosen, unexamined, fmt.Sprintf("%s verified (%s) at %s: %s%s", where, chosen.Content, e.since(now), chosen.Outlook(), notes))
	}

	return e.release(DecisionStateInvalid, now, &chosen, unexamined, fmt.Sprintf("%s is %s (%s): %s%s", where, chosen.Verdict, problemSummary(chosen.Problems), chosen.Outlook(), notes))
}

func (e *Engine) release(d Decision, now time.Time, state *blockdev.Result, unexamined []string, reason string) []Action {
	e.released = &Release{Decision: d, AtMS: now.Sub(e.start).Milliseconds(), Reason: reason, State: state, Unexamined: unexamined}

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
	unexamined := e.unexamined()

	if len(e.controllers) == 0 {
		return fmt.Sprintf("no storage controller appeared within %s and no disk holds STATE: Talos is not installed here, it will boot into maintenance mode", NoControllerGrace)
	}

	var parts []string

	for _, dp := range e.controllerPaths() {
		c := e.controllers[dp]
		parts = append(parts, fmt.Sprintf("%s (%s, %d disk(s)) quiet since %s, window %s", c.ctl.Address, orNone(c.ctl.Driver), c.disks, e.since(c.last), c.window().Round(time.Millisecond)))
	}

	verdict := "no evidence that Talos is installed (no boot partition hint, no BOOT_IMAGE of an installed Talos): Talos is not installed here, it will boot into maintenance mode"
	if len(unexamined) > 0 {
		verdict = fmt.Sprintf("%d disk(s) could not be examined (%s), so STATE may be there unseen; Talos will look for itself", len(unexamined), strings.Join(unexamined, ", "))
	}

	return fmt.Sprintf("no STATE on %d disk(s) and every storage controller has gone quiet (%s) at %s: %s",
		len(e.disks), strings.Join(parts, "; "), e.since(now), verdict)
}

// waitingFor describes what kept the gate waiting, for the deadline message.
func (e *Engine) waitingFor(now time.Time) string {
	var parts []string

	for _, name := range e.unexamined() {
		parts = append(parts, "disk "+name+" could not be examined")
	}

	if e.settings.BootPartUUID != "" && e.bootDisk() == nil {
		parts = append(parts, "boot partition "+e.settings.BootPartUUID+" never appeared")

		if c := e.candidates(); len(c) > 0 {
			parts = append(parts, fmt.Sprintf("a STATE on %s partition %d is not on the boot disk and was not taken (a leftover disk?)", path.Base(c[0].Device), c[0].Partition))
		}
	} else if e.installed != "" {
		parts = append(parts, "no STATE appeared although Talos is installed here ("+e.installed+")")
	}

	if q := e.quietAt(); now.Before(q) {
		parts = append(parts, "storage controllers were still active")
	}

	if len(parts) == 0 {
		return "no STATE found"
	}

	return strings.Join(parts, ", ")
}

func (e *Engine) controllerPaths() []string {
	paths := make([]string, 0, len(e.controllers))
	for p := range e.controllers {
		paths = append(paths, p)
	}

	slices.Sort(paths)

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
