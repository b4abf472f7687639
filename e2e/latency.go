package e2e

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Latency is where the time went between the STATE uevent and the gate's
// release on one boot, from the gate's report: milliseconds since the gate
// started.
type Latency struct {
	Scenario string
	// UeventMS is when the gate received the uevent of the STATE partition
	// it released on (the first STATE uevent in reports that lack it);
	// ReleaseMS when it released.
	UeventMS, ReleaseMS int64
	// Probe is the result the release rests on: the last one of the
	// decided disk before the release.
	Probe *GateProbe
	// ReceivedMS is when the gate took that result in.
	ReceivedMS int64
}

// Total is the STATE uevent to release interval.
func (l Latency) Total() int64 { return l.ReleaseMS - l.UeventMS }

// LatencyOf returns the boot's latency, or false when the gate did not
// release on a STATE it received a uevent for.
func LatencyOf(o Outcome) (Latency, bool) {
	if o.Result == nil {
		return Latency{}, false
	}

	l, ok := latencyOf(o.Result)
	if ok && o.Scenario != nil {
		l.Scenario = o.Scenario.ID
	}

	return l, ok
}

// latencyOf is LatencyOf for one boot's result (the checks have no Outcome).
func latencyOf(r *Result) (Latency, bool) {
	g := r.Gate
	if g == nil || g.Decision == nil || g.Decision.State == nil || g.StateUeventMS < 0 {
		return Latency{}, false
	}

	l := Latency{Scenario: r.Scenario, UeventMS: g.StateUeventMS, ReleaseMS: g.Decision.AtMS}
	disk, part := path.Base(g.Decision.State.Device), path.Base(g.Decision.State.PartitionDevice)
	partSeen := false

	for _, t := range g.Timeline {
		switch {
		case t.Kind == "probe" && t.Probe != nil && t.Probe.Disk == disk && t.AtMS <= l.ReleaseMS:
			l.Probe, l.ReceivedMS = t.Probe, t.AtMS
		case t.Kind == "event" && t.Event != nil && !partSeen && t.Event.Action == "add" && t.Event.DevName == part && t.Event.Env["PARTNAME"] == "STATE":
			// The uevent of the partition the release rests on, which is
			// not the first STATE's when another disk showed one before
			// (a leftover disk the boot hint sets aside).
			l.UeventMS, partSeen = t.AtMS, true
		}
	}

	return l, true
}

// LatencyLegend explains WriteLatency's columns (docs/timeline.md has the
// report fields behind them).
const LatencyLegend = `"worker ready": when the probe worker said it could take requests.
"probe asked": when the gate wrote the request to the worker, once its engine
had gone through the batch of inputs that called for the probe; it comes
before "STATE uevent" when the disk was found by the gate's sysfs scan or by
its own uevent, ahead of its partitions'. "worker started" and "worker ended":
the examination in the worker; "steps" are its stages. "probe: on CPU, waiting
for one": the examining thread's CPU time and its wait for a CPU (schedstat's
run_delay), the rest of the examination being spent blocked, mostly on I/O; "-"
when several probes ran at once. "reply read": when the gate read the result;
"result in the gate": when its run loop took it; "release": the decision.
"udev settled after the release": milliseconds from the gate's release line in
the kernel log to udevadm settle returning, both on the guest's clock.
Peak RSS and CPU are each process's own, from getrusage(2); in brackets, the
CPU time the gate had used once started (its exec, the Go runtime's start and
its packages' initialisation) and the worker once ready to take requests.`

// WriteLatency writes, for every boot that released on a STATE, where the
// time between the STATE uevent and the release went, then the median and
// the worst.
func WriteLatency(w io.Writer, outs []Outcome) {
	var totals, settledAfter []int64

	fmt.Fprintln(w, "| scenario | worker ready | STATE uevent | probe asked | worker started | steps (ms from the probe's start) | probe: on CPU, waiting for one | worker ended | reply read | result in the gate | release | uevent→release | udev settled after the release | gate, worker: peak RSS, CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

	for _, o := range outs {
		l, ok := LatencyOf(o)
		if !ok {
			continue
		}

		totals = append(totals, l.Total())

		ready, asked, started, steps, sched, ended, read, received := "-", "-", "-", "-", "-", "-", "-", "-"
		gateStartCPU, workerReadyCPU := "", ""

		for _, s := range o.Result.Gate.Startup {
			switch s.Step {
			case "probe worker ready":
				ready = fmt.Sprintf("%.1f", s.MS)
				workerReadyCPU = cpuAt(s.CPUMS, "ready")
			case "gate running":
				gateStartCPU = cpuAt(s.CPUMS, "started")
			}
		}

		if p := l.Probe; p != nil {
			asked, received = fmt.Sprint(p.AskedMS), fmt.Sprint(l.ReceivedMS)

			if p.StartedMS > 0 {
				started, ended = fmt.Sprintf("%.1f", p.StartedMS), fmt.Sprintf("%.1f", p.EndedMS)
			}

			if p.ReceivedMS > 0 {
				read = fmt.Sprintf("%.1f", p.ReceivedMS)
			}

			if p.OnCPUMS > 0 {
				sched = fmt.Sprintf("%.1f, %.1f", p.OnCPUMS, p.RunWaitMS)
			}

			var parts []string
			for _, s := range p.Steps {
				parts = append(parts, fmt.Sprintf("%s %.1f", s.Step, s.MS))
			}

			steps = strings.Join(parts, ", ")
		}

		after := "-"
		if r := o.Result; r.SettledMS >= 0 && r.GateReleaseMS >= 0 {
			ms := r.SettledMS - r.GateReleaseMS
			settledAfter = append(settledAfter, ms)
			after = fmt.Sprint(ms)
		}

		usage := "-"
		if u := o.Result.Gate.Usage; u != nil {
			usage = fmt.Sprintf("%.1f MiB, %.0f ms%s; %.1f MiB, %.0f ms%s", float64(u.Gate.MaxRSSKB)/1024, u.Gate.CPUMS, gateStartCPU, float64(u.Worker.MaxRSSKB)/1024, u.Worker.CPUMS, workerReadyCPU)
		}

		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | **%d** | %s | %s |\n", l.Scenario, ready, l.UeventMS, asked, started, steps, sched, ended, read, received, l.ReleaseMS, l.Total(), after, usage)
	}

	if len(totals) == 0 {
		return
	}

	fmt.Fprintf(w, "\n%s\n", LatencySummary(totals))

	if len(settledAfter) > 0 {
		fmt.Fprintf(w, "\n%s\n", SettledAfterSummary(settledAfter))
	}
}

// SettledAfterSummary says, over the boots that released on a STATE and
// settled, how long after the gate's release udevd settled: where it is
// later, Talos's decision waited for udevd's own work on the disks (blkid on
// the new partitions), which runs beside the gate, not for the gate.
func SettledAfterSummary(after []int64) string {
	later := 0

	for _, a := range after {
		if a > 0 {
			later++
		}
	}

	return fmt.Sprintf("udevd settled after the gate's release in %d of %d boots (%d to %d ms after it, median %d): there Talos waited for udevd's own handling of the disks, not for the gate.",
		later, len(after), slices.Min(after), slices.Max(after), median(after))
}

// cpuAt notes the CPU time a process had used at a start-up step, "" for a
// report from before start-up steps said so.
func cpuAt(ms float64, step string) string {
	if ms <= 0 {
		return ""
	}

	return fmt.Sprintf(" (%.0f %s)", ms, step)
}

// LatencySummary states the median and the worst of totals.
func LatencySummary(totals []int64) string {
	return fmt.Sprintf("STATE uevent → release over %d boots: median %d ms, worst %d ms.", len(totals), median(totals), slices.Max(totals))
}

// LatencyTotals returns the STATE uevent to release interval of every boot
// that released on a STATE.
func LatencyTotals(outs []Outcome) []int64 {
	var totals []int64

	for _, o := range outs {
		if l, ok := LatencyOf(o); ok {
			totals = append(totals, l.Total())
		}
	}

	return totals
}
