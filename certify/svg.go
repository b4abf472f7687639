package certify

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
)

// palette colours devices in the charts; red is kept for what is missing.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#76b7b2", "#b07aa1", "#edc948", "#9c755f", "#ff9da7", "#17becf", "#bab0ac"}

const missingColor = "#d62728"

// diskOf returns the disk id a device id belongs to.
func diskOf(id string) string {
	if i := strings.Index(id, "-part"); i >= 0 {
		return id[:i]
	}

	return id
}

// deviceColors gives each disk of a controller a colour, its partitions
// the same.
func deviceColors(c ControllerResult) map[string]string {
	colors := map[string]string{}
	n := 0

	for _, d := range c.Devices {
		disk := diskOf(d.ID)
		if _, ok := colors[disk]; !ok {
			colors[disk] = palette[n%len(palette)]
			n++
		}
	}

	return colors
}

// niceStep returns the 1-2-5 step nearest above raw.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}

	exp := math.Pow(10, math.Floor(math.Log10(raw)))

	for _, m := range []float64{1, 2, 5, 10} {
		if m*exp >= raw {
			return m * exp
		}
	}

	return 10 * exp
}

// axisLabel writes a tick value in milliseconds, in the unit step suits.
func axisLabel(v, step float64) string {
	switch {
	case v == 0:
		return "0"
	case step < 1000:
		return fmt.Sprintf("%g ms", v)
	default:
		return fmt.Sprintf("%g s", v/1000)
	}
}

// svgBuilder writes an SVG document.
type svgBuilder struct{ strings.Builder }

// f writes format with args, as fmt.Fprintf.
func (b *svgBuilder) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// esc escapes text for SVG inside HTML.
func esc(s string) string { return html.EscapeString(s) }

// The timeline's geometry, in SVG user units.
const (
	timelineWidth = 1080.0
	timelineLeft  = 170.0 // room for the row labels
	timelineRight = 110.0 // room for the missing marks
	timelineTop   = 34.0
	timelineRowH  = 30.0
	timelineFoot  = 16.0
	timelinePlotW = timelineWidth - timelineLeft - timelineRight
)

// timelineSVG draws one row per cycle (a <g class="cycle">), with a mark
// where each device arrived, crosses for missing devices, and the part of
// the scale a cycle did not watch shaded.
func timelineSVG(c ControllerResult, colors map[string]string) template.HTML {
	ch := newTimelineChart(c, colors)

	ch.f(`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="arrival timeline, one row per cycle">`, timelineWidth, ch.height, timelineWidth, ch.height)
	ch.axis()

	for i, cy := range c.Cycles {
		ch.row(i, cy)
	}

	ch.f(`</svg>`)

	return template.HTML(ch.String()) // every text is escaped
}

// timelineChart draws an arrival timeline: time runs from 0 to span
// milliseconds across the plot, with a tick every step.
type timelineChart struct {
	svgBuilder
	colors     map[string]string
	span, step float64
	height     float64
}

// newTimelineChart scales a timeline to the latest arrival of c's cycles.
func newTimelineChart(c ControllerResult, colors map[string]string) *timelineChart {
	var maxAt int64

	for _, cy := range c.Cycles {
		for _, a := range cy.Arrivals {
			maxAt = max(maxAt, a.AtMS)
		}
	}

	step := niceStep(float64(max(maxAt, 100)) * 1.05 / 8)

	return &timelineChart{
		colors: colors,
		step:   step,
		span:   math.Ceil(float64(max(maxAt, 1))*1.05/step) * step,
		height: timelineTop + timelineRowH*float64(len(c.Cycles)) + timelineFoot,
	}
}

// x places a time in milliseconds; times past the span go to its end.
func (ch *timelineChart) x(ms int64) float64 {
	return timelineLeft + math.Min(float64(ms), ch.span)/ch.span*timelinePlotW
}

// axis draws the axis title, and a tick and grid line every step.
func (ch *timelineChart) axis() {
	ch.f(`<text class="axis-title" x="%.0f" y="12">time after the reference</text>`, timelineLeft)

	for v := 0.0; v <= ch.span+ch.step/2; v += ch.step {
		px := timelineLeft + v/ch.span*timelinePlotW
		ch.f(`<line class="grid" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/>`, px, px, timelineTop-6, ch.height-timelineFoot)
		ch.f(`<text class="tick" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, px, timelineTop-10, esc(axisLabel(v, ch.step)))
	}
}

// row draws cycle cy in row i.
func (ch *timelineChart) row(i int, cy Cycle) {
	y := timelineTop + timelineRowH*float64(i) + timelineRowH/2

	ch.f(`<g class="cycle" data-cycle="%d">`, cy.Index)

	if i%2 == 1 {
		ch.f(`<rect class="stripe" x="0" y="%.1f" width="%.0f" height="%.0f"/>`, y-timelineRowH/2, timelineWidth, timelineRowH)
	}

	label := fmt.Sprintf("#%d %s", cy.Index, cy.Source)
	if len(label) > 24 {
		label = label[:23] + "…"
	}

	ch.f(`<text class="row-label" x="8" y="%.1f">%s</text>`, y+4, esc(label))

	ch.lane(cy, y)
	ch.arrivals(cy, y)
	ch.outcome(cy, y)

	ch.f(`</g>`)
}

// lane draws the line of the time cy was watched, the rest of the scale
// shaded when the cycle stopped early, and the bind uevent.
func (ch *timelineChart) lane(cy Cycle, y float64) {
	end := ch.x(cy.ObservedMS)
	ch.f(`<line class="lane" x1="%.0f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, timelineLeft, end, y, y)

	if float64(cy.ObservedMS) < ch.span && (cy.Partial || cy.Error != "") {
		ch.f(`<rect class="unwatched" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>%s</title></rect>`,
			end, y-timelineRowH/2+3, timelineLeft+timelinePlotW-end, timelineRowH-6, esc(fmt.Sprintf("not watched after %s (%s)", FormatMS(cy.ObservedMS), unwatchedWhy(cy))))
	}

	if cy.BindUeventMS > 0 {
		ch.f(`<path class="bind" d="M%.1f %.1f l-4 -7 h8 z"><title>bind uevent at %s</title></path>`, ch.x(cy.BindUeventMS), y-1, FormatMS(cy.BindUeventMS))
	}
}

// arrivals marks each arrival of cy in its disk's colour: a tick below
// the lane for a partition (a diamond above it for STATE), a dot for a
// disk. Partitions come first, so that disks draw over them.
func (ch *timelineChart) arrivals(cy Cycle, y float64) {
	for _, a := range cy.Arrivals {
		if a.Type != TypePartition {
			continue
		}

		ax := ch.x(a.AtMS)
		title := fmt.Sprintf("%s (%s) at %s", a.Name, a.ID, FormatMS(a.AtMS))

		if a.PartName == "STATE" {
			ch.f(`<path class="arrival partition state" d="M%.1f %.1f l4.5 4.5 l-4.5 4.5 l-4.5 -4.5 z" stroke="%s"><title>%s, STATE</title></path>`, ax, y-17, ch.colors[diskOf(a.ID)], esc(title))
		} else {
			ch.f(`<line class="arrival partition" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"><title>%s</title></line>`, ax, ax, y+4, y+11, ch.colors[diskOf(a.ID)], esc(title))
		}
	}

	for _, a := range cy.Arrivals {
		if a.Type != TypeDisk {
			continue
		}

		title := fmt.Sprintf("%s (%s) at %s", a.Name, a.ID, FormatMS(a.AtMS))
		if a.PresentAtStart {
			title += ", already there when the gate started"
		}

		ch.f(`<circle class="arrival disk" cx="%.1f" cy="%.1f" r="6" fill="%s"><title>%s</title></circle>`, ch.x(a.AtMS), y, ch.colors[a.ID], esc(title))
	}
}

// outcome marks, right of the plot, what cy lacked: a cross and the
// missing devices (a missing disk's partitions go without saying), or how
// many went unobserved.
func (ch *timelineChart) outcome(cy Cycle, y float64) {
	var missing []string

	for _, id := range cy.Missing {
		if !strings.Contains(id, "-part") || !slices.Contains(cy.Missing, diskOf(id)) {
			missing = append(missing, id)
		}
	}

	switch {
	case len(missing) > 0:
		mx := timelineLeft + timelinePlotW + 14
		ch.f(`<g class="missing"><path d="M%.1f %.1f l10 10 m0 -10 l-10 10" stroke="%s"/><text x="%.1f" y="%.1f">%s</text><title>missing: %s</title></g>`,
			mx-5, y-5, missingColor, mx+10, y+4, esc(shortList(missing)), esc(strings.Join(missing, ", ")))
	case len(cy.Unobserved) > 0:
		ch.f(`<text class="unobserved" x="%.1f" y="%.1f">%d unobserved<title>%s</title></text>`, timelineLeft+timelinePlotW+8, y+4, len(cy.Unobserved), esc(strings.Join(cy.Unobserved, ", ")))
	}
}

// unwatchedWhy says why cycle c was not watched to its end.
func unwatchedWhy(c Cycle) string {
	switch {
	case c.Decision != "":
		return "the gate released: " + c.Decision
	case c.Error != "":
		return c.Error
	}

	return "the cycle ended"
}

// shortList names the first of ids and counts the others: "sdb +2".
func shortList(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}

	return fmt.Sprintf("%s +%d", ids[0], len(ids)-1)
}

// The histogram's geometry, in SVG user units.
const (
	histogramWidth  = 560.0
	histogramHeight = 240.0
	histogramLeft   = 44.0
	histogramRight  = 28.0
	histogramTop    = 12.0
	histogramFoot   = 40.0
	histogramPlotW  = histogramWidth - histogramLeft - histogramRight
	histogramPlotH  = histogramHeight - histogramTop - histogramFoot
	histogramBase   = histogramTop + histogramPlotH // where the bars stand
)

// histogramSVG draws how many disks arrived in each delay bin, stacked by
// disk (<rect class="bar"> each).
func histogramSVG(c ControllerResult, colors map[string]string) template.HTML {
	h := newHistogram(c, colors)

	h.f(`<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="histogram of disk arrival delays">`, histogramWidth, histogramHeight, histogramWidth, histogramHeight)
	h.countAxis()
	h.bars(c.Devices)
	h.delayAxis()
	h.f(`</svg>`)

	return template.HTML(h.String()) // every text is escaped
}

// histogram draws the disks' arrival delays in bins of binW milliseconds.
type histogram struct {
	svgBuilder
	colors map[string]string
	binW   float64
	// counts holds, per bin, the arrivals of each disk id.
	counts []map[string]int
	// The count axis runs to yMax, with a tick every yStep.
	yStep, yMax float64
}

// newHistogram bins the disk arrivals of c's cycles, in about 16 bins.
func newHistogram(c ControllerResult, colors map[string]string) *histogram {
	var (
		maxAt int64
		disks []Arrival
	)

	for _, cy := range c.Cycles {
		for _, a := range cy.Arrivals {
			if a.Type == TypeDisk {
				disks = append(disks, a)
				maxAt = max(maxAt, a.AtMS)
			}
		}
	}

	binW := niceStep(float64(max(maxAt, 16)) / 16)
	nBins := int(math.Floor(float64(maxAt)/binW)) + 1

	counts := make([]map[string]int, nBins)
	for i := range counts {
		counts[i] = map[string]int{}
	}

	peak := 0
	totals := make([]int, nBins)

	for _, a := range disks {
		i := min(int(float64(a.AtMS)/binW), nBins-1)
		counts[i][a.ID]++
		totals[i]++
		peak = max(peak, totals[i])
	}

	yStep := math.Max(1, niceStep(float64(peak)/5))

	return &histogram{
		colors: colors, binW: binW, counts: counts,
		yStep: yStep, yMax: math.Max(yStep, math.Ceil(float64(peak)/yStep)*yStep),
	}
}

// barW is the width of a bin.
func (h *histogram) barW() float64 { return histogramPlotW / float64(len(h.counts)) }

// countAxis draws the grid lines and ticks of the arrival counts.
func (h *histogram) countAxis() {
	for v := 0.0; v <= h.yMax; v += h.yStep {
		py := histogramBase - v/h.yMax*histogramPlotH
		h.f(`<line class="grid" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/>`, histogramLeft, histogramLeft+histogramPlotW, py, py)
		h.f(`<text class="tick" x="%.0f" y="%.1f" text-anchor="end">%g</text>`, histogramLeft-8, py+4, v)
	}

	h.f(`<text class="axis-title" transform="translate(12 %.0f) rotate(-90)" text-anchor="middle">disks</text>`, histogramTop+histogramPlotH/2)
}

// bars stacks each bin's arrivals, one bar per disk in the order of
// devices.
func (h *histogram) bars(devices []DeviceResult) {
	barW := h.barW()

	for i, counts := range h.counts {
		base := 0

		for _, d := range devices {
			n := counts[d.ID]
			if n == 0 {
				continue
			}

			x := histogramLeft + float64(i)*barW + 1
			y := histogramBase - float64(base+n)/h.yMax*histogramPlotH
			height := float64(n) / h.yMax * histogramPlotH

			h.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-count="%d"><title>%s: %d arrival(s) at %s–%s</title></rect>`,
				x, y, math.Max(barW-2, 1), height, h.colors[d.ID], n, esc(d.ID), n, axisLabel(float64(i)*h.binW, h.binW), axisLabel(float64(i+1)*h.binW, h.binW))

			base += n
		}
	}
}

// delayAxis draws the delay axis, labelled at about eight bin edges.
func (h *histogram) delayAxis() {
	barW := h.barW()
	nBins := len(h.counts)
	labelEvery := max(1, int(math.Ceil(float64(nBins)/8)))

	for i := 0; i <= nBins; i += labelEvery {
		px := histogramLeft + float64(i)*barW
		h.f(`<line class="axis" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/>`, px, px, histogramBase, histogramBase+5)
		h.f(`<text class="tick" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, px, histogramBase+18, esc(axisLabel(float64(i)*h.binW, h.binW)))
	}

	h.f(`<line class="axis" x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f"/>`, histogramLeft, histogramLeft+histogramPlotW, histogramBase, histogramBase)
	h.f(`<text class="axis-title" x="%.0f" y="%.0f" text-anchor="middle">arrival after the reference, bins of %s</text>`, histogramLeft+histogramPlotW/2, histogramHeight-4, esc(axisLabel(h.binW, h.binW)))
}
