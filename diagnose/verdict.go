package diagnose

import "slices"

// VerdictID names a conclusion. The ids are stable: scripts match on them.
type VerdictID string

// Verdicts, in the order they are reported.
const (
	// LateDisk: STATE's disk or partition appeared after Talos had decided
	// it was missing (the race raid-settle exists for).
	LateDisk VerdictID = "late-disk"
	// StateCorrupt: STATE is there, but its filesystem is corrupt or its
	// superblock is not recognised.
	StateCorrupt VerdictID = "state-corrupt"
	// NoConfig: STATE was found and mounted, but held no machine config.
	NoConfig VerdictID = "no-config"
	// NoState: no STATE at all, on any disk the node saw.
	NoState VerdictID = "no-state"
	// Healthy: STATE was there in time and its config loaded (or the gate
	// verified it); nothing here explains a maintenance mode.
	Healthy VerdictID = "healthy"
	// InsufficientEvidence: the captures do not say; the verdict lists what
	// to capture next.
	InsufficientEvidence VerdictID = "insufficient-evidence"
	// MisspelledSettleTime: talos.devices.settle_time (plural) is on the
	// kernel command line; Talos ignores it.
	MisspelledSettleTime VerdictID = "misspelled-settle-time"
)

// verdictOrder is the order of verdicts in a result.
var verdictOrder = []VerdictID{LateDisk, StateCorrupt, NoConfig, NoState, Healthy, InsufficientEvidence, MisspelledSettleTime}

// Verdict is one conclusion about one node, with the lines it rests on.
type Verdict struct {
	ID   VerdictID `json:"id"`
	Node string    `json:"node,omitempty"`
	// Summary is one sentence; Explanation says how it was reached.
	Summary     string `json:"summary"`
	Explanation string `json:"explanation,omitempty"`
	// LatenessS (late-disk) is how long after the decision point STATE's
	// disk or partition appeared, in seconds.
	LatenessS *float64 `json:"lateness_s,omitempty"`
	// DecisionAtS and AppearedAtS (late-disk) are the two times, in seconds
	// since the node's origin (see NodeInfo).
	DecisionAtS *float64 `json:"decision_at_s,omitempty"`
	AppearedAtS *float64 `json:"appeared_at_s,omitempty"`
	// SettleTimeS (late-disk) is the talos.device.settle_time value that
	// would have covered this boot, with a margin, in whole seconds.
	SettleTimeS int `json:"settle_time_s,omitempty"`
	// Disk and Partition are STATE's, when the captures name them.
	Disk      string `json:"disk,omitempty"`
	Partition string `json:"partition,omitempty"`
	// Recommendations are what to do next, most useful first.
	Recommendations []string   `json:"recommendations,omitempty"`
	Evidence        []Evidence `json:"evidence"`
}

// Evidence is one quoted line.
type Evidence struct {
	// Role says what the line shows ("decision", "appeared", ...).
	Role string `json:"role"`
	File string `json:"file"`
	// Line is 1-based; 0 when the value has no line (a report given as a
	// struct, not a file).
	Line int `json:"line"`
	// AtS is the time in seconds since the node's origin; absent when the
	// line could not be put on the node's clock.
	AtS *float64 `json:"at_s,omitempty"`
	// Time is the wall-clock time (RFC 3339), when known.
	Time string `json:"time,omitempty"`
	// Approx is set when the line had no time and took its predecessor's.
	Approx bool `json:"approx,omitempty"`
	// Text is the line as captured; Message is its message alone.
	Text    string `json:"text"`
	Message string `json:"message"`
}

// analyse applies the verdict rules to one node. A late disk and a corrupt
// STATE may both be found; failing those, the first of no-config, no-state
// and healthy that applies; failing all, insufficient-evidence. A
// misspelled settle time is reported beside any of them.
func analyse(tl *nodeTimeline) []Verdict {
	f := gather(tl)

	var out []Verdict

	corrupt := f.corrupt()
	late := f.late()

	if late != nil {
		out = append(out, *late)
	}

	if corrupt != nil {
		out = append(out, *corrupt)
	}

	if late == nil && corrupt == nil {
		if v := f.noConfig(); v != nil {
			out = append(out, *v)
		} else if v := f.noState(); v != nil {
			out = append(out, *v)
		} else if v := f.healthy(); v != nil {
			out = append(out, *v)
		}
	}

	if len(out) == 0 {
		out = append(out, f.insufficient())
	}

	if v := f.misspelledVerdict(); v != nil {
		out = append(out, *v)
	}

	for i := range out {
		out[i].Node = tl.node
		slices.SortStableFunc(out[i].Evidence, byTime)
	}

	return out
}

// stateVerdict starts a verdict about STATE, naming its partition and disk
// when the captures say where it is.
func (f *facts) stateVerdict(id VerdictID) *Verdict {
	v := &Verdict{ID: id, Partition: f.statePart}
	if f.statePart != "" {
		v.Disk = diskOf(f.statePart)
	}

	return v
}
