package agent

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// TimedInput is an input at an offset from the gate's start: one entry of a
// timeline, as the gate's report records it and `replay` reads it.
type TimedInput struct {
	// AtMS is the offset from the gate's start in milliseconds.
	AtMS int64 `json:"at_ms"`
	// WithPrevious marks an input the gate fed to the engine together
	// with the one before it (Engine.StepAll); replay feeds them so too.
	WithPrevious bool `json:"with_previous,omitempty"`
	Input
}

// TimedLine is a log line the engine asked for, at an offset from start.
type TimedLine struct {
	AtMS int64  `json:"at_ms"`
	Line string `json:"line"`
	Warn bool   `json:"warn,omitempty"`
}

// Oracle answers a probe of disk at offset at from the gate's start. It
// stands in for the disks in scenario tests.
type Oracle func(disk string, at time.Duration) ProbeResult

// Simulation is the outcome of Simulate.
type Simulation struct {
	Release Release     `json:"release"`
	Log     []TimedLine `json:"log"`
	// Probes counts the probes the engine asked for.
	Probes int `json:"probes"`
}

// simEpoch is the simulated clock's start. Any fixed instant works.
var simEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// maxSimSteps guards Simulate against an engine that never settles.
const maxSimSteps = 1_000_000

// ProbeTime gives the time a probe of disk, asked for at offset at, takes in
// a simulation; a negative time means the probe never completes (a read
// stuck in the kernel).
type ProbeTime func(disk string, at time.Duration) time.Duration

// SimOption changes how Simulate answers probes.
type SimOption func(*simOptions)

type simOptions struct {
	probeTime ProbeTime
	// afterStep, when set, sees the engine after each of its steps (tests
	// check its invariants there).
	afterStep func(*Engine)
}

// WithProbeTime makes each probe take the time t gives instead of the fixed
// latency Simulate was given.
func WithProbeTime(t ProbeTime) SimOption { return func(o *simOptions) { o.probeTime = t } }

// Simulate runs an engine with settings over timeline on a simulated clock.
// Each probe the engine asks for is answered by oracle after probeLatency;
// with a nil oracle (replaying a recorded gate) probe requests are dropped
// and the timeline's own probe results stand in for them.
func Simulate(settings Settings, timeline []TimedInput, oracle Oracle, probeLatency time.Duration, opts ...SimOption) Simulation {
	o := simOptions{probeTime: func(string, time.Duration) time.Duration { return probeLatency }}
	for _, opt := range opts {
		opt(&o)
	}

	e := NewEngine(settings, simEpoch)
	queue := append([]TimedInput(nil), timeline...)
	sort.SliceStable(queue, func(i, j int) bool { return queue[i].AtMS < queue[j].AtMS })

	var (
		sim     Simulation
		pending []TimedInput // probe results in flight, in completion order
		wake    = simEpoch
		now     = simEpoch
	)

	step := func(ins ...Input) {
		acts := e.StepAll(ins, now)
		if o.afterStep != nil {
			o.afterStep(e)
		}

		for _, a := range acts {
			switch a.Kind {
			case ActionWake:
				wake = a.At
			case ActionLog:
				sim.Log = append(sim.Log, TimedLine{AtMS: now.Sub(simEpoch).Milliseconds(), Line: a.Line, Warn: a.Warn})
			case ActionProbe:
				sim.Probes++

				at := now.Sub(simEpoch)
				if took := o.probeTime(a.Disk, at); oracle != nil && took >= 0 {
					res := oracle(a.Disk, at)
					pending = append(pending, TimedInput{AtMS: now.Add(took).Sub(simEpoch).Milliseconds(), Input: Input{Kind: InputProbe, Probe: &res}})
					slices.SortStableFunc(pending, func(a, b TimedInput) int { return cmp.Compare(a.AtMS, b.AtMS) })
				}
			}
		}
	}

	step(Input{Kind: InputTick})

	for i := 0; e.Released() == nil && i < maxSimSteps; i++ {
		next, from := wake, 0 // 0: tick, 1: timeline, 2: probe result

		if len(queue) > 0 && !simEpoch.Add(ms(queue[0].AtMS)).After(next) {
			next, from = simEpoch.Add(ms(queue[0].AtMS)), 1
		}

		if len(pending) > 0 && !simEpoch.Add(ms(pending[0].AtMS)).After(next) {
			next, from = simEpoch.Add(ms(pending[0].AtMS)), 2
		}

		if next.After(now) {
			now = next
		}

		switch from {
		case 1:
			batch := []Input{queue[0].Input}
			for queue = queue[1:]; len(queue) > 0 && queue[0].WithPrevious; queue = queue[1:] {
				batch = append(batch, queue[0].Input)
			}

			step(batch...)
		case 2:
			in := pending[0].Input
			pending = pending[1:]
			step(in)
		default:
			step(Input{Kind: InputTick})
		}
	}

	if r := e.Released(); r != nil {
		sim.Release = *r
	}

	return sim
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
