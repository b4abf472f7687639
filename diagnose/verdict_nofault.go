package diagnose

import (
	"fmt"

	"github.com/raid-settle/raid-settle/agent"
)

// The verdicts when no fault is found: healthy, when the captures show STATE
// in use, and insufficient-evidence, when they do not say enough to tell.

// healthy finds STATE in use: its config loaded, or raid-settle verified it,
// and no maintenance mode.
func (f *facts) healthy() *Verdict {
	if f.maintenance != nil {
		return nil
	}

	v := f.stateVerdict(Healthy)

	switch {
	case f.configFromState():
		v.addEvidence(f, "state-ready", f.stateReady)
		v.addEvidence(f, "config-loaded", f.configLoaded)
		v.Summary = "STATE was there in time and the machine config loaded from it: this boot did not go to maintenance mode"
	case f.gateReleased(agent.DecisionStateVerified):
		v.addEvidence(f, "raid-settle", f.gateRelease)

		for _, e := range f.gateChecks {
			v.addEvidence(f, "raid-settle-verify", e)
		}

		v.Summary = "raid-settle found STATE and verified it before letting the boot go on: Talos finds it"
	default:
		return nil
	}

	v.Explanation = "Nothing in these captures explains a maintenance mode; if the node did enter it, capture the boot that did."

	return v
}

// insufficient says what the captures lack and what to capture next.
func (f *facts) insufficient() Verdict {
	a := &argument{f: f, v: &Verdict{ID: InsufficientEvidence, Summary: "these captures do not say why the node booted into maintenance mode"}}

	var recs []string

	talosLines := f.stateMissing != nil || f.stateFound != nil || f.udevReady != nil || f.udevStarted != nil
	kernelDisks := len(f.disks) > 0

	if !talosLines {
		a.because("no Talos lines about udevd settling or the STATE volume")
		recs = append(recs, "capture the whole boot from Talos's side: the serial console (or IPMI SOL) from power-on, or the kernel-log stream if the node sends one (talos.logging.kernel=); "+
			"talosctl dmesg and logs machined answer only once a config is applied again (a node in maintenance mode has no PKI, and talosctl offers --insecure for neither)")
	}

	if !kernelDisks {
		a.because("no kernel lines about disks")
		recs = append(recs, "capture the kernel log of the failed boot, before rebooting: the serial console from power-on, the kernel-log stream (talos.logging.kernel=), "+
			"or, after applying the config again, talosctl -n NODE dmesg > dmesg.txt")
	}

	if f.tl.unaligned > 0 {
		a.because(fmt.Sprintf("%d line(s) could not be put on one clock with the rest", f.tl.unaligned))
		recs = append(recs, "capture the files from the same boot, with their times (talosctl output keeps them)")
	}

	if f.gateReleased(agent.DecisionDeadline) {
		a.cite("raid-settle", "raid-settle reached its deadline before STATE or quiet controllers", f.gateRelease)
	}

	a.v.addEvidence(f, "maintenance", f.maintenance)

	if bad := f.badSettleTime(); bad != "" {
		a.because(bad)
		a.v.addEvidence(f, "settle-time", f.settleBad)
	}

	if len(a.reasons) == 0 {
		a.because("Talos's decision and the disks are there, but no rule matched")
	}

	recs = append(recs, "boot with raid_settle.debug=1 if raid-settle is installed (every uevent goes to the kernel log) and run diagnose on all the files together: raid-settle diagnose dmesg.txt machined.txt")

	a.v.Explanation = a.explanation()
	a.v.Recommendations = recs

	return *a.v
}
