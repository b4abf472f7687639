package diagnose

import (
	"slices"
	"strings"

	"github.com/raid-settle/raid-settle/agent"
)

// facts are what a node's timeline says, gathered in one pass. A single
// line is kept as the first of its kind, preferring one on the node's time
// axis (see preferFirst); repeated lines are kept in order.
type facts struct {
	tl *nodeTimeline

	// From the kernel command line (and the gate's note of the misspelling).
	misspelled    []*event // command lines with the plural, and the gate's note
	settleArg     string   // talos.device.settle_time= value on the command line
	settleArgLine *event
	quietArg      string // raid_settle.quiet= value on the command line

	// From Talos: the extra settle time it applied or refused, udevd's
	// health check, STATE's volume phases, mounts and errors, the config
	// it loaded and the maintenance mode it entered.
	settleBad                            *event
	udevReady, udevStarted               *event
	stateMissing, stateFound, stateReady *event
	stateFailed                          []*event
	maintenance                          *event
	configLoaded, configLookup           *event
	stateMounts                          []*event
	xfsErrors, repairs, stateErrors      []*event

	// From raid-settle: its release and its verifications of STATE.
	gateRelease *event
	gateChecks  []*event

	// From the kernel's storage lines.
	disks map[string]*event // first sign of each whole disk
	parts map[string]*event // first sign of each partition
	scans []*event          // partition scans, in order
	scsi  map[string]*event // first Direct-Access line of each H:C:T:L address

	// statePart is STATE's partition, as the first line to name it says.
	statePart string
}

// gather reads a node's timeline into facts. Each kind of line feeds one
// of the note methods.
func gather(tl *nodeTimeline) *facts {
	f := &facts{
		tl:    tl,
		disks: map[string]*event{},
		parts: map[string]*event{},
		scsi:  map[string]*event{},
	}

	for i := range tl.events {
		e := &tl.events[i]

		f.noteCmdline(e)
		f.noteTalos(e)
		f.noteState(e)
		f.noteGate(e)
		f.noteStorage(e)
	}

	return f
}

// preferFirst returns the line to keep for a fact once e is seen: the first
// one, unless only e could be put on the node's time axis.
func preferFirst(kept, e *event) *event {
	if kept == nil || !kept.aligned && e.aligned {
		return e
	}

	return kept
}

// noteCmdline records the kernel command line's settle-time and quiet
// arguments, and the misspelled settle-time argument wherever it is seen.
func (f *facts) noteCmdline(e *event) {
	switch e.kind {
	case kindCmdline:
		for _, arg := range strings.Fields(e.detail) {
			key, value, _ := strings.Cut(arg, "=")

			switch key {
			case "talos.devices.settle_time":
				f.misspelled = append(f.misspelled, e)
			case "talos.device.settle_time":
				f.settleArg, f.settleArgLine = value, e
			case "raid_settle.quiet":
				f.quietArg = value
			}
		}
	case kindGateMisspelled:
		f.misspelled = append(f.misspelled, e)
	}
}

// noteTalos records Talos's lines other than those about STATE's volume:
// the settle time, udevd, the machine config, maintenance mode.
func (f *facts) noteTalos(e *event) {
	switch e.kind {
	case kindSettleBad:
		f.settleBad = preferFirst(f.settleBad, e)
	case kindUdevReady:
		f.udevReady = preferFirst(f.udevReady, e)
	case kindUdevStarted:
		f.udevStarted = preferFirst(f.udevStarted, e)
	case kindMaintenance:
		f.maintenance = preferFirst(f.maintenance, e)
	case kindConfigLoaded:
		f.configLoaded = preferFirst(f.configLoaded, e)
	case kindConfigLookup:
		f.configLookup = preferFirst(f.configLookup, e)
	}
}

// noteState records what Talos and the kernel say about STATE itself: its
// volume phases, mounts, errors, and XFS's and xfs_repair's lines.
func (f *facts) noteState(e *event) {
	switch e.kind {
	case kindVolume:
		if e.subject == "STATE" {
			f.noteStatePhase(e)
		}
	case kindStateMount:
		f.stateMounts = append(f.stateMounts, e)
		f.setStatePart(e.location)
	case kindStateError:
		f.stateErrors = append(f.stateErrors, e)
	case kindXFSError:
		f.xfsErrors = append(f.xfsErrors, e)
	case kindRepair:
		f.repairs = append(f.repairs, e)
	}
}

// noteStatePhase records one of STATE's volume phase transitions
// ("waiting -> missing" and the like).
func (f *facts) noteStatePhase(e *event) {
	switch e.to {
	case "missing":
		f.stateMissing = preferFirst(f.stateMissing, e)
	case "located", "provisioned", "prepared", "ready":
		f.stateFound = preferFirst(f.stateFound, e)

		if e.to == "ready" {
			f.stateReady = preferFirst(f.stateReady, e)
		}

		f.setStatePart(e.location)
	case "failed":
		f.stateFailed = append(f.stateFailed, e)
		f.setStatePart(e.location)
	}
}

// noteGate records raid-settle's lines.
func (f *facts) noteGate(e *event) {
	switch e.kind {
	case kindGateRelease:
		f.gateRelease = preferFirst(f.gateRelease, e)
	case kindGateStatePart:
		f.setStatePart(e.subject)
	case kindGateStateCheck:
		f.gateChecks = append(f.gateChecks, e)
		f.setStatePart(e.subject)
	}
}

// noteStorage records the first sign of each disk and partition. A disk
// counts from its SCSI Direct-Access line when that line came first.
func (f *facts) noteStorage(e *event) {
	switch e.kind {
	case kindSCSIDevice:
		if _, ok := f.scsi[e.subject]; !ok {
			f.scsi[e.subject] = e
		}
	case kindDisk:
		if s, ok := f.scsi[e.detail]; ok && s.aligned && e.aligned && s.at < e.at {
			f.sawDisk(e.subject, s)
		} else {
			f.sawDisk(e.subject, e)
		}
	case kindPartitions:
		f.sawDisk(e.subject, e)

		if e.detail == "" {
			f.scans = append(f.scans, e)
		}

		for _, p := range e.parts {
			f.parts[p] = preferFirst(f.parts[p], e)
		}
	}
}

// sawDisk records e as a sign of disk name.
func (f *facts) sawDisk(name string, e *event) {
	if name != "" {
		f.disks[name] = preferFirst(f.disks[name], e)
	}
}

// setStatePart records where STATE is, trusting the first source that says.
func (f *facts) setStatePart(loc string) {
	loc = strings.TrimPrefix(loc, "/dev/")
	if loc == "" || f.statePart != "" {
		return
	}

	f.statePart = loc
}

// gateReleased reports whether raid-settle released the boot with one of
// the given decisions.
func (f *facts) gateReleased(decisions ...agent.Decision) bool {
	return f.gateRelease != nil && slices.Contains(decisions, agent.Decision(f.gateRelease.subject))
}

// decision reports whether Talos (or the gate) concluded there was no
// STATE, and returns the decision point and what it was: Talos's own
// "waiting -> missing", else udevd settling (Talos looks right after), else
// the entry into maintenance mode, else the gate's release without STATE.
// The point is nil when none of those lines is on the node's time axis.
func (f *facts) decision() (d *event, what string, ok bool) {
	noStateGate := f.gateReleased(agent.DecisionNoState, agent.DecisionDeadline)
	decided := f.stateMissing != nil || f.maintenance != nil || noStateGate

	switch {
	case f.stateMissing != nil && f.stateMissing.aligned:
		return f.stateMissing, "Talos reported STATE missing", decided
	case f.udevReady != nil && f.udevReady.aligned:
		return f.udevReady, "udevd settled (Talos looks for STATE right after)", decided
	case f.udevStarted != nil && f.udevStarted.aligned:
		return f.udevStarted, "udevd settled (Talos looks for STATE right after)", decided
	case f.maintenance != nil && f.maintenance.aligned:
		return f.maintenance, "Talos entered maintenance mode", decided
	case noStateGate && f.gateRelease.aligned:
		return f.gateRelease, "raid-settle released the boot without STATE", decided
	}

	return nil, "", decided
}

// configFromState reports whether Talos loaded the machine config from
// STATE.
func (f *facts) configFromState() bool {
	return f.configLoaded != nil && slices.Contains(strings.Split(f.configLoaded.detail, ","), "state")
}

// before reports whether a happened before b, by time when both have one,
// else by reading order.
func before(a, b *event) bool {
	if a.aligned && b.aligned {
		return a.at < b.at
	}

	return a.seq < b.seq
}
