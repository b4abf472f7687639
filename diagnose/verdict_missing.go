package diagnose

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/raid-settle/raid-settle/agent"
)

// The no-config and no-state rules: STATE was found but held no machine
// config, or there was no STATE to find.

// noConfig finds a STATE that Talos found and mounted in time but that held
// no machine config.
func (f *facts) noConfig() *Verdict {
	if f.maintenance == nil || f.configFromState() {
		return nil
	}

	// STATE must have been found before the decision, not after a miss.
	found := f.stateReady
	if found == nil && len(f.stateMounts) > 0 {
		found = f.stateMounts[0]
	}

	gateVerified := f.gateReleased(agent.DecisionStateVerified)

	if found == nil && !gateVerified {
		return nil
	}

	if f.stateMissing != nil && (found == nil || !found.aligned || !f.stateMissing.aligned || f.stateMissing.at < found.at) {
		return nil
	}

	if found != nil && found.aligned && f.maintenance.aligned && found.at > f.maintenance.at {
		return nil
	}

	v := f.stateVerdict(NoConfig)
	v.addEvidence(f, "state-ready", found)

	for _, e := range f.stateMounts {
		v.addEvidence(f, "state-mount", e)
	}

	if gateVerified {
		v.addEvidence(f, "raid-settle", f.gateRelease)
	}

	v.addEvidence(f, "config-lookup", f.configLookup)
	v.addEvidence(f, "maintenance", f.maintenance)

	v.Summary = "STATE was found and mounted, but holds no machine config: Talos booted into maintenance mode"
	v.Explanation = "Talos found STATE in time, read it for config.yaml and found none (or an incomplete one), then tried its other config sources and entered maintenance mode. The config is gone from STATE; a race does not explain that."
	v.Recommendations = []string{
		"apply the machine config again: talosctl apply-config --insecure -n NODE --file config.yaml",
		"if the node was installed with a config, find out what removed it (talosctl reset, a wipe of STATE, an install interrupted before the config was written)",
	}

	return v
}

// noState finds a node where Talos decided without STATE and no STATE
// appeared on any disk it saw.
func (f *facts) noState() *Verdict {
	d, _, decided := f.decision()
	if !decided || f.stateFound != nil || f.statePart != "" {
		return nil
	}

	// Maintenance mode alone is not enough: Talos's own "missing", the
	// gate's no-state, or a capture from udevd's settle on with its disks.
	gateNoState := f.gateReleased(agent.DecisionNoState)
	if f.stateMissing == nil && !gateNoState && (f.udevReady == nil && f.udevStarted == nil || len(f.disks) == 0) {
		return nil
	}

	if f.gateReleased(agent.DecisionDeadline) && f.stateMissing == nil && f.maintenance == nil {
		return nil // the gate ran out of time: that alone does not say there is no STATE
	}

	// Disks that cannot be ordered against the decision might be late ones.
	for _, e := range f.disks {
		if d == nil || !e.aligned {
			return nil
		}
	}

	v := &Verdict{ID: NoState}

	for _, e := range []*event{f.stateMissing, f.gateRelease, f.maintenance} {
		if e != nil {
			v.addEvidence(f, roleOf(e), e)
		}
	}

	for i, e := range f.scans {
		if i < maxEvidence-3 {
			v.addEvidence(f, "disk", e)
		}
	}

	names := slices.Sorted(maps.Keys(f.disks))

	seen := "no disk lines in these captures"
	if len(names) > 0 {
		seen = fmt.Sprintf("%d disk(s) seen: %s", len(names), strings.Join(names, ", "))
	}

	v.Summary = "no STATE partition was found on any disk: the node is not installed, or STATE is gone"
	v.Explanation = fmt.Sprintf("Talos decided without STATE and no partition named STATE appeared afterwards (%s).", seen)

	if d != nil && len(names) > 0 {
		v.Explanation += " Every disk appeared before the decision, so this is not a late disk."
	}

	v.Recommendations = []string{
		"if this node was never installed, maintenance mode is expected: apply a config",
		"if it was installed, STATE's superblock may be unrecognisable (Talos then reports it missing without repairing it): check with `raid-settle verify --all` from a rescue system",
		"if STATE's disk sits behind a RAID controller, check that its logical drive is still configured and online",
	}

	return v
}

// roleOf is the evidence role of a line that decided without STATE: Talos's
// miss, its maintenance mode, or the gate's release.
func roleOf(e *event) string {
	switch e.kind {
	case kindVolume:
		return "state-missing"
	case kindMaintenance:
		return "maintenance"
	}

	return "raid-settle"
}
