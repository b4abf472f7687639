package diagnose

import (
	"fmt"
	"strings"

	"github.com/raid-settle/raid-settle/agent"
)

// The state-corrupt rule: STATE is there, but raid-settle, the kernel's XFS
// driver or Talos found its filesystem unusable.

// maxXFSQuotes is the most distinct XFS error messages a verdict quotes.
const maxXFSQuotes = 4

// corrupt finds signs that STATE is there but unusable.
func (f *facts) corrupt() *Verdict {
	a := &argument{f: f, v: f.stateVerdict(StateCorrupt)}

	f.citeGateChecks(a)
	f.citeXFSErrors(a)
	a.cite("state-failed", "Talos marked STATE failed", f.stateFailed...)
	a.cite("state-error", fmt.Sprintf("Talos failed to mount STATE (%d time(s))", len(f.stateErrors)), f.stateErrors...)
	a.cite("xfs-repair", "xfs_repair ran or failed", f.repairs...)

	if f.repairFailed() {
		a.because("its repair failed")
	}

	v := a.v
	if len(v.Evidence) == 0 {
		return nil
	}

	v.addEvidence(f, "maintenance", f.maintenance)

	where := "STATE"
	if v.Partition != "" {
		where = "STATE (" + v.Partition + ")"
	}

	v.Summary = where + " is there but its filesystem is corrupt or not recognised"
	v.Explanation = a.explanation()
	v.Recommendations = []string{
		"from a rescue system, check it with `raid-settle verify /dev/" + nameOr(v.Disk, "sdX") + "` (read-only): it says whether Talos will repair it on mount or not recognise it at all",
		"a superblock Talos does not recognise is never repaired: it boots into maintenance mode; run xfs_repair on the partition, or reinstall the node",
	}

	return v
}

// citeGateChecks cites raid-settle's findings against STATE: each
// partition it verified as anything but ok (once), and a release with
// state-invalid.
func (f *facts) citeGateChecks(a *argument) {
	checked := map[string]bool{}

	for _, e := range f.gateChecks {
		if e.detail == "ok" || e.detail == "" || checked[e.subject] {
			continue
		}

		checked[e.subject] = true

		a.cite("raid-settle-verify", "raid-settle verified "+e.subject+" as "+e.detail, e)
		a.v.locate(e.subject)
	}

	if f.gateReleased(agent.DecisionStateInvalid) {
		a.cite("raid-settle", "the gate released with state-invalid", f.gateRelease)
	}
}

// citeXFSErrors cites the kernel's XFS errors on STATE. The kernel repeats
// them at every mount attempt: each distinct message is quoted once, and
// no more than maxXFSQuotes of them; the reason counts them all.
func (f *facts) citeXFSErrors(a *argument) {
	seen := map[string]int{}

	for _, e := range f.xfsErrors {
		if !f.xfsOnState(e) {
			continue
		}

		if seen[e.detail]++; seen[e.detail] > 1 || len(seen) > maxXFSQuotes {
			continue
		}

		a.v.addEvidence(f, "xfs-error", e)
		a.v.locate(e.subject)
	}

	if len(seen) > 0 {
		a.because(fmt.Sprintf("the kernel reported XFS errors on %s (%d distinct message(s))", a.v.Partition, len(seen)))
	}
}

// xfsOnState reports whether XFS error e is taken to be STATE's. With STATE
// located, only its partition counts; otherwise an XFS error before
// maintenance mode (EPHEMERAL is mounted only after a config is found) is
// taken to be STATE's.
func (f *facts) xfsOnState(e *event) bool {
	if f.statePart != "" {
		return e.subject == f.statePart
	}

	m := f.maintenance

	return m == nil || !e.aligned || !m.aligned || e.at <= m.at
}

// repairFailed reports whether one of Talos's errors about STATE says its
// repair failed.
func (f *facts) repairFailed() bool {
	for _, e := range f.stateErrors {
		if strings.Contains(e.detail, "repair") {
			return true
		}
	}

	return false
}
