package e2e

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Moment is one thing a person watching the boot would care about.
type Moment struct {
	MS   int64
	Text string
}

// Timeline turns a boot into the few moments that tell its story, in order.
func (r *Result) Timeline() []Moment {
	var m []Moment

	add := func(ms int64, format string, args ...any) {
		if ms >= 0 {
			m = append(m, Moment{ms, fmt.Sprintf(format, args...)})
		}
	}

	add(r.InitMS, "boot: udevd starts")
	add(r.DriverMS, "megaraid_sas loaded")
	add(r.GateStartMS, "raid-settle holds udev")
	add(r.HotplugMS, "RAID controller shows its disk")

	decided := r.Decision()

	if r.StateUeventMS >= 0 {
		if r.DecisionMS >= 0 && r.StateUeventMS > r.DecisionMS {
			add(r.StateUeventMS, "STATE appears: too late")
		} else {
			add(r.StateUeventMS, "STATE appears")
		}
	}

	if r.GateReleaseMS >= 0 {
		add(r.GateReleaseMS, "raid-settle: %s, lets go", r.GateDecision())
	}

	if r.SettledMS >= 0 && r.SettledMS != r.DecisionMS {
		add(r.SettledMS, "udev settled")
	}

	if decided != nil {
		if decided.Present {
			add(decided.MS, "Talos finds STATE: boots")
		} else {
			add(decided.MS, "Talos: no STATE: MAINTENANCE")
		}
	}

	sort.SliceStable(m, func(i, j int) bool { return m[i].MS < m[j].MS })

	return m
}

// WriteSideBySide prints two boots' timelines in two columns on one time
// axis.
func WriteSideBySide(w io.Writer, leftTitle string, left *Result, rightTitle string, right *Result) {
	type row struct {
		ms          int64
		left, right string
	}

	var rows []row

	for _, m := range left.Timeline() {
		rows = append(rows, row{ms: m.MS, left: m.Text})
	}

	for _, m := range right.Timeline() {
		rows = append(rows, row{ms: m.MS, right: m.Text})
	}

	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ms < rows[j].ms })

	// Moments within 50 ms of each other on both sides share a line.
	var merged []row

	for _, r := range rows {
		if n := len(merged); n > 0 && r.ms-merged[n-1].ms < 50 &&
			(r.left == "" && merged[n-1].right == "" || r.right == "" && merged[n-1].left == "") {
			merged[n-1].left += r.left
			merged[n-1].right += r.right

			continue
		}

		merged = append(merged, r)
	}

	width := len(leftTitle)
	for _, r := range merged {
		width = max(width, len(r.left))
	}

	fmt.Fprintf(w, "  %6s   %-*s   %s\n", "t (s)", width, leftTitle, rightTitle)
	fmt.Fprintf(w, "  %6s   %-*s   %s\n", "------", width, strings.Repeat("-", len(leftTitle)), strings.Repeat("-", len(rightTitle)))

	for _, r := range merged {
		fmt.Fprintf(w, "  %6s   %-*s   %s\n", secs(r.ms), width, r.left, r.right)
	}
}

// DemoScenario is the boot `make e2e-demo` shows: the STATE disk behind a
// RAID controller that shows it 20 s after its driver loaded.
const DemoScenario = "2-hotplug-20s"

// WriteDemo prints the demo: the two boots side by side, and one line each
// on what Talos decided and when.
func WriteDemo(w io.Writer, without, with *Result) {
	fmt.Fprintln(w, "A Talos node whose STATE disk sits behind a slow RAID controller (shown 20 s after its driver loaded):")
	fmt.Fprintln(w)
	WriteSideBySide(w, "WITHOUT raid-settle", without, "WITH raid-settle", with)
	fmt.Fprintln(w)

	for _, r := range []*Result{without, with} {
		fmt.Fprintf(w, "%-8s %s\n", r.Variant+":", r.Verdict())
	}
}

// Verdict says in a sentence what Talos decided and when.
func (r *Result) Verdict() string {
	d := r.Decision()

	switch {
	case d == nil:
		return "the guest never decided (see " + r.Dir + ")"
	case d.Present && r.StateUeventMS >= 0:
		return fmt.Sprintf("Talos decided at %ss, %ss after STATE appeared: STATE found, the node boots installed.",
			secs(d.MS), secs(d.MS-r.StateUeventMS))
	case d.Present:
		return fmt.Sprintf("Talos decided at %ss: STATE found, the node boots installed.", secs(d.MS))
	case r.StateUeventMS > d.MS:
		return fmt.Sprintf("Talos decided at %ss: no STATE, maintenance mode; STATE appeared %ss later.",
			secs(d.MS), secs(r.StateUeventMS-d.MS))
	default:
		return fmt.Sprintf("Talos decided at %ss: no STATE, maintenance mode.", secs(d.MS))
	}
}
