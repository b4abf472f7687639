package e2e

import (
	"fmt"
	"io"
	"strings"
)

// tableHeader names the columns of the results table. Times are seconds
// since the guest kernel booted, but for "held" and the two intervals.
var tableHeader = []string{
	"scenario", "raid-settle", "gate decision", "diagnose", "held", "STATE uevent", "settled", "decided",
	"uevent→release", "uevent→decided", "STATE at decision", "images", "checks",
}

// TableLegend explains the columns.
const TableLegend = `Times are seconds since the guest kernel booted, except "held" (how long
the gate held udev, from its report) and the two intervals. "STATE uevent": the kernel's
add uevent of the partition named STATE, as the guest init received it. "settled": when
Talos's health check passed (udevadm settle returned 0). "decided": when the guest looked
for STATE the way Talos does (settle, then talos.device.settle_time if set).
"uevent→release": the gate's own figure (report decision.at_ms - state_uevent_ms).
"uevent→decided": STATE uevent to Talos's lookup, on the guest clock; "too late" when STATE
appeared after Talos had decided. "images": SHA-256 of every disk image before and after
the boot. "diagnose": the verdict ids diagnose.DiagnoseReport gives the gate's report.json
(kept as report.json in the boot's folder), the main one first; every boot with raid-settle
must get healthy for state-verified, state-corrupt for state-invalid, no-state for no-state.`

func secs(ms int64) string {
	if ms < 0 {
		return "-"
	}

	return fmt.Sprintf("%.1f", float64(ms)/1000)
}

// Row returns the outcome's row of the results table.
func (o Outcome) Row() []string {
	r := o.Result

	decision, held, toRelease, diag := "-", "-", "-", "-"
	if len(r.Diagnose) > 0 {
		diag = strings.Join(r.Diagnose, ",")
	}

	if r.Gate != nil && r.Gate.Decision != nil {
		decision = r.Gate.Decision.Decision
		held = secs(r.Gate.HeldMS)

		if r.Gate.StateUeventMS >= 0 {
			toRelease = secs(r.Gate.Decision.AtMS - r.Gate.StateUeventMS)
		}
	} else if r.Variant == With {
		decision = "(no report)"
	}

	toDecided := "-"

	switch {
	case r.StateUeventMS < 0 || r.DecisionMS < 0:
	case r.StateUeventMS <= r.DecisionMS:
		toDecided = secs(r.DecisionMS - r.StateUeventMS)
	default:
		toDecided = fmt.Sprintf("too late (+%s)", secs(r.StateUeventMS-r.DecisionMS))
	}

	state := "-"

	if d := r.Decision(); d != nil {
		switch {
		case d.Present:
			state = fmt.Sprintf("yes (%s %s)", d.Dev, d.FS)
		case d.Named:
			state = fmt.Sprintf("no (%s unrecognised)", d.Dev)
		case d.Errors != "":
			// "sda: failed to probe: ...: read /dev/sda: input/output error"
			why := d.Errors[strings.LastIndex(d.Errors, ": ")+2:]
			state = "no (blkid: " + why + ")"
		default:
			state = "no"
		}
	}

	images := "unchanged"
	if !r.ImagesUnchanged {
		images = "CHANGED"
	}

	checks := "ok"
	if !o.Passed() {
		checks = "FAIL: " + strings.Join(o.Failed, "; ")
	}

	return []string{
		o.Scenario.ID, string(r.Variant), decision, diag, held, secs(r.StateUeventMS), secs(r.SettledMS), secs(r.DecisionMS),
		toRelease, toDecided, state, images, checks,
	}
}

// WriteText writes the outcomes as an aligned plain-text table.
func WriteText(w io.Writer, outs []Outcome) {
	rows := [][]string{tableHeader}
	for _, o := range outs {
		rows = append(rows, o.Row())
	}

	widths := make([]int, len(tableHeader))

	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}

	for _, row := range rows {
		var b strings.Builder

		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)

				break
			}

			b.WriteString(c + strings.Repeat(" ", widths[i]-len([]rune(c))+2))
		}

		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// WriteMarkdown writes the outcomes as a Markdown table.
func WriteMarkdown(w io.Writer, outs []Outcome) {
	fmt.Fprintln(w, "| "+strings.Join(tableHeader, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", len(tableHeader)))

	for _, o := range outs {
		row := o.Row()
		for i := range row {
			row[i] = strings.ReplaceAll(row[i], "|", "\\|")
		}

		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
}

// WriteAnchor compares when Talos decides with raid-settle, without it, and
// with the usual workaround (a fixed talos.device.settle_time of 60 s), for
// the machines the matrix has all three of. Missing boots are skipped.
func WriteAnchor(w io.Writer, outs []Outcome) {
	find := func(id string, v Variant) *Result {
		for _, o := range outs {
			if o.Scenario.ID == id && o.Result.Variant == v {
				return o.Result
			}
		}

		return nil
	}

	decided := func(r *Result) string {
		if r == nil || r.Decision() == nil {
			return "-"
		}

		d := r.Decision()

		what := "no STATE: maintenance mode"
		if d.Present {
			what = "STATE found"
		}

		if r.StateUeventMS >= 0 && r.StateUeventMS <= d.MS {
			return fmt.Sprintf("%ss (%ss after STATE appeared), %s", secs(d.MS), secs(d.MS-r.StateUeventMS), what)
		}

		return fmt.Sprintf("%ss, %s", secs(d.MS), what)
	}

	rows := []struct {
		machine               string
		without, with, anchor *Result
	}{
		{machine: "STATE disk present at boot", without: find("1-at-boot", Without), with: find("1-at-boot", With), anchor: find("9-anchor-at-boot", Without)},
		{machine: "STATE disk shown 20 s after its driver loaded", without: find("2-hotplug-20s", Without), with: find("2-hotplug-20s", With), anchor: find("9-anchor-hotplug-20s", Without)},
		{machine: "no STATE (fresh machine)", without: find("4-no-state", Without), with: find("4-no-state", With)},
	}

	fmt.Fprintln(w, "When Talos decides (seconds since the kernel booted):")

	for _, r := range rows {
		if r.without == nil && r.with == nil && r.anchor == nil {
			continue
		}

		fmt.Fprintf(w, "\n%s\n", r.machine)
		fmt.Fprintf(w, "  without raid-settle:             %s\n", decided(r.without))
		fmt.Fprintf(w, "  with raid-settle:                %s\n", decided(r.with))

		if r.anchor != nil {
			fmt.Fprintf(w, "  talos.device.settle_time=60s:    %s\n", decided(r.anchor))
		}
	}
}
