package diagnose

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
)

// The late-disk rule: Talos decided without STATE, and STATE's partition
// or disk appeared afterwards.

// Settle-time recommendation: the measured need plus half of it, at least
// settleMinMargin, rounded up to settleStep; Talos documents 10m as the
// argument's maximum.
const (
	settleMinMargin = 5 * time.Second
	settleStep      = 5 * time.Second
	settleMax       = 10 * time.Minute
)

// minTalosPartitions is the fewest partitions a Talos system disk has (UKI
// installs: EFI, META, STATE, EPHEMERAL; older ones add BIOS and BOOT).
const minTalosPartitions = 4

// late finds STATE's disk or partition appearing after Talos (or the gate)
// decided it was missing, and says how long a wait would have covered it.
func (f *facts) late() *Verdict {
	d, what := f.lateDecision()
	if d == nil {
		return nil
	}

	a, disk, foundNote := f.appearance(d)
	if a == nil || a.at <= d.at {
		return nil
	}

	lateness := seconds(a.at - d.at)

	v := &Verdict{
		ID:          LateDisk,
		LatenessS:   &lateness,
		DecisionAtS: f.atS(d),
		AppearedAtS: f.atS(a),
		Disk:        disk,
		Partition:   f.statePart,
	}

	f.quoteLate(v, d, a)
	f.describeLate(v, what, d, a, foundNote)
	v.SettleTimeS, v.Recommendations = f.settleAdvice(d, a)

	return v
}

// lateDecision returns the point at which Talos (or the gate) decided
// without STATE, and what it was (see decision). It returns nil when STATE
// was evidently found in time, or when no decision is on the time axis.
func (f *facts) lateDecision() (*event, string) {
	if f.configFromState() && f.maintenance == nil {
		return nil, "" // it was found in time after all
	}

	d, what, decided := f.decision()
	if d == nil || !decided {
		return nil, ""
	}

	// A gate that verified STATE before releasing cannot have raced it.
	if f.gateReleased(agent.DecisionStateVerified) && f.stateMissing == nil {
		return nil, ""
	}

	// Neither can a STATE Talos found without reporting it missing first.
	if f.stateFound != nil && (f.stateMissing == nil || before(f.stateFound, f.stateMissing)) {
		return nil, ""
	}

	return d, what
}

// appearance returns the line showing STATE there, the disk it is on, and
// a note for the explanation. With STATE's partition known, that is the
// first sign of the partition or its disk, or Talos's own finding when
// only that came after decision point d. Without it, it is the first disk
// after d that looks like a Talos system disk.
func (f *facts) appearance(d *event) (a *event, disk, note string) {
	if f.statePart == "" {
		if a = f.systemDiskAfter(d); a != nil {
			disk = a.subject
		}

		return a, disk, ""
	}

	disk = diskOf(f.statePart)

	for _, e := range []*event{f.parts[f.statePart], f.disks[disk]} {
		if e != nil && e.aligned {
			a = e

			break
		}
	}

	if (a == nil || a.at <= d.at) && f.stateFound != nil && f.stateFound.aligned && f.stateFound.at > d.at {
		if a != nil {
			note = fmt.Sprintf(" The kernel listed it at %s already; Talos's probe found it only at %s.", f.fmtAt(a), f.fmtAt(f.stateFound))
		}

		a = f.stateFound
	}

	return a, disk, note
}

// systemDiskAfter is the first partition scan after d whose table looks
// like Talos's (EFI, META, STATE, EPHEMERAL at least). It stands for
// STATE's disk when the captures do not say which disk holds STATE, so
// that a USB stick plugged in later is not taken for it.
func (f *facts) systemDiskAfter(d *event) *event {
	for _, e := range f.tl.events {
		if e.aligned && e.at > d.at && e.kind == kindPartitions && len(e.parts) >= minTalosPartitions {
			return &e
		}
	}

	return nil
}

// quoteLate quotes the decision d, the appearance a, and the lines around
// them: udevd's settle, Talos's miss and find, maintenance mode, the
// gate's release and the settle time on the command line.
func (f *facts) quoteLate(v *Verdict, d, a *event) {
	v.addEvidence(f, "decision", d)

	if f.udevReady != d {
		v.addEvidence(f, "udevd-settled", f.udevReady)
	}

	if f.stateMissing != d {
		v.addEvidence(f, "state-missing", f.stateMissing)
	}

	v.addEvidence(f, "appeared", a)

	if f.stateFound != a {
		v.addEvidence(f, "state-found", f.stateFound)
	}

	if f.maintenance != d {
		v.addEvidence(f, "maintenance", f.maintenance)
	}

	if f.gateRelease != d {
		v.addEvidence(f, "raid-settle", f.gateRelease)
	}

	v.addEvidence(f, "cmdline", f.settleArgLine)
}

// describeLate writes the verdict's summary and explanation: what decided
// at d, what appeared at a, and how much later.
func (f *facts) describeLate(v *Verdict, what string, d, a *event, foundNote string) {
	lateness := *v.LatenessS

	appeared := "STATE's partition " + f.statePart
	if f.statePart == "" {
		appeared = "disk " + v.Disk + " (these captures do not say which disk holds STATE; it is the first to appear after the decision)"
	} else if a.kind == kindDisk {
		appeared = "STATE's disk " + v.Disk
	}

	v.Summary = fmt.Sprintf("STATE's disk appeared %.1f s too late: %s decided at %s, %s appeared at %s", lateness, shortWhat(what), f.fmtAt(d), nameOr(v.Partition, v.Disk), f.fmtAt(a))
	v.Explanation = fmt.Sprintf("%s at %s; %s appeared at %s, %.3f s later.%s", what, f.fmtAt(d), appeared, f.fmtAt(a), lateness, foundNote)

	if f.maintenance != nil {
		v.Explanation += " By then Talos had taken the node for uninstalled and booted it into maintenance mode; it does not look at the disk again."
	}
}

// shortWhat names who decided, for the summary, from decision's account
// of the decision point.
func shortWhat(what string) string {
	switch {
	case strings.HasPrefix(what, "Talos reported"):
		return "Talos"
	case strings.HasPrefix(what, "udevd"):
		return "Talos (udevd settled)"
	case strings.HasPrefix(what, "raid-settle"):
		return "raid-settle"
	}

	return "Talos (maintenance mode)"
}

// settleAdvice computes the talos.device.settle_time that would have
// covered this boot and says what to do.
func (f *facts) settleAdvice(d, a *event) (int, []string) {
	// settle_time counts from udevd's first successful settle; the health
	// check reports success once it has passed, so the time it was already
	// worth is added back.
	base := d
	if u := f.udevReady; u != nil && u.aligned && !u.st.approx && u.at <= d.at {
		base = u
	}

	need := time.Duration(a.at - base.at)

	current := time.Duration(0)
	if dur, err := time.ParseDuration(f.settleArg); err == nil && f.settleBad == nil {
		current = dur
	}

	need += current

	rec := min(withMargin(need), settleMax)
	recS := int(rec / time.Second)

	recs := []string{f.gateAdvice(a)}

	if bad := f.badSettleTime(); bad != "" {
		recs = append(recs, bad)
	}

	switch {
	case len(f.misspelled) > 0:
		recs = append(recs, fmt.Sprintf("or fix the kernel argument: talos.device.settle_time=%ds (singular \"device\"; the plural spelling on this node is ignored by Talos), which costs %d s on every boot", recS, recS))
	case current > 0:
		recs = append(recs, fmt.Sprintf("or raise talos.device.settle_time from %s to %ds (it costs that much on every boot)", f.settleArg, recS))
	default:
		recs = append(recs, fmt.Sprintf("or add the kernel argument talos.device.settle_time=%ds (it costs that much on every boot)", recS))
	}

	if rec == settleMax {
		recs = append(recs, "the wait needed exceeds talos.device.settle_time's 10m maximum: the disk or controller itself needs attention")
	}

	recs = append(recs, "then reboot: the node's configuration is still on STATE, nothing needs re-applying")

	return recS, recs
}

// gateAdvice is the first recommendation: how to make raid-settle wait
// until a, or to install it when it did not run.
func (f *facts) gateAdvice(a *event) string {
	r := f.gateRelease

	switch {
	case f.gateReleased(agent.DecisionDeadline):
		return fmt.Sprintf("raid-settle reached its deadline at %s before STATE appeared: raise raid_settle.timeout= past %ds after its start (below udevd's 180 s event timeout), and send the report (talosctl read /run/raid-settle/report.json)", f.fmtAt(r), f.gateNeed(a))
	case f.gateReleased(agent.DecisionNoState):
		fix := fmt.Sprintf("set the kernel argument raid_settle.quiet=%d", f.gateNeed(a))
		if f.quietArg != "" {
			fix = fmt.Sprintf("raise the kernel argument raid_settle.quiet=%s to raid_settle.quiet=%d", f.quietArg, f.gateNeed(a))
		}

		return fmt.Sprintf("raid-settle released the boot (no-state) at %s, before STATE appeared: its controllers looked quiet too early; %s, and send the report (talosctl read /run/raid-settle/report.json) so the driver's profile can be fixed", f.fmtAt(r), fix)
	}

	return "install the raid-settle system extension: it holds the boot until STATE is there and verified, and no longer than needed"
}

// gateNeed is the quiet window, in whole seconds with the same margin as
// the settle time, that would have kept raid-settle waiting until a: from
// the gate's last controller activity (or its start) before its release.
func (f *facts) gateNeed(a *event) int {
	var base *event

	for i := range f.tl.events {
		e := &f.tl.events[i]
		if !e.aligned || f.gateRelease == nil || e.at > f.gateRelease.at {
			continue
		}

		if e.kind == kindGate && (e.subject == "controller" || e.subject == "start") || e.kind == kindController && e.file == f.gateRelease.file {
			base = e
		}
	}

	if base == nil {
		base = f.gateRelease
	}

	return int(withMargin(time.Duration(a.at-base.at)) / time.Second)
}

// withMargin is a measured wait plus half of it (at least settleMinMargin),
// rounded up to settleStep.
func withMargin(need time.Duration) time.Duration {
	margin := max(need/2, settleMinMargin)

	return time.Duration(math.Ceil(float64(need+margin)/float64(settleStep))) * settleStep
}
