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

type svgBuilder struct{ strings.Builder }

func (b *svgBuilder) f(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// esc escapes text for SVG inside HTML.
func esc(s string) string { return html.EscapeString(s) }

// timelineSVG draws one row per cycle (a <g class="cycle">), with a mark
// where each device arrived, crosses for missing devices, and the part of
// the scale a cycle did not watch shaded.
func timelineSVG(c ControllerResult, colors map[string]string) template.HTML {
	const (
		width  = 1080.0
		left   = 170.0
		right  = 110.0
		top    = 34.0
		rowH   = 30.0
		bottom = 16.0
	)

	var maxAt int64

	for _, cy := range c.Cycles {
		for _, a := range cy.Arrivals {
			maxAt = max(maxAt, a.AtMS)
		}
	}

	step := niceStep(float64(max(maxAt, 100)) * 1.05 / 8)
	span := math.Ceil(float64(max(maxAt, 1))*1.05/step) * step
	plotW := width - left - right
	x := func(v int64) float64 { return left + math.Min(float64(v), span)/span*plotW }
	height := top + rowH*float64(len(c.Cycles)) + bottom

	var b svgBuilder

	b.f(`<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="arrival timeline, one row per cycle">`, width, height, width, height)
	b.f(`<text class="axis-title" x="%.0f" y="12">time after the reference</text>`, left)

	for v := 0.0; v <= span+step/2; v += step {
		px := left + v/span*plotW
		b.f(`<line class="grid" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/>`, px, px, top-6, height-bottom)
		b.f(`<text class="tick" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, px, top-10, esc(axisLabel(v, step)))
	}

	for i, cy := range c.Cycles {
		y := top + rowH*float64(i) + rowH/2

		b.f(`<g class="cycle" data-cycle="%d">`, cy.Index)

		if i%2 == 1 {
			b.f(`<rect class="stripe" x="0" y="%.1f" width="%.0f" height="%.0f"/>`, y-rowH/2, width, rowH)
		}

		label := fmt.Sprintf("#%d %s", cy.Index, cy.Source)
		if len(label) > 24 {
			label = label[:23] + "…"
		}

		b.f(`<text class="row-label" x="8" y="%.1f">%s</text>`, y+4, esc(label))

		watched := float64(cy.ObservedMS)
		end := left + math.Min(watched, span)/span*plotW
		b.f(`<line class="lane" x1="%.0f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, left, end, y, y)

		if watched < span && (cy.Partial || cy.Error != "") {
			b.f(`<rect class="unwatched" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>%s</title></rect>`,
				end, y-rowH/2+3, left+plotW-end, rowH-6, esc(fmt.Sprintf("not watched after %s (%s)", FormatMS(cy.ObservedMS), unwatchedWhy(cy))))
		}

		if cy.BindUeventMS > 0 {
			bx := x(cy.BindUeventMS)
			b.f(`<path class="bind" d="M%.1f %.1f l-4 -7 h8 z"><title>bind uevent at %s</title></path>`, bx, y-1, FormatMS(cy.BindUeventMS))
		}

		// Partitions first, so that disks draw over them.
		for _, a := range cy.Arrivals {
			if a.Type != TypePartition {
				continue
			}

			ax := x(a.AtMS)
			title := fmt.Sprintf("%s (%s) at %s", a.Name, a.ID, FormatMS(a.AtMS))

			if a.PartName == "STATE" {
				b.f(`<path class="arrival partition state" d="M%.1f %.1f l4.5 4.5 l-4.5 4.5 l-4.5 -4.5 z" stroke="%s"><title>%s, STATE</title></path>`, ax, y-17, colors[diskOf(a.ID)], esc(title))
			} else {
				b.f(`<line class="arrival partition" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"><title>%s</title></line>`, ax, ax, y+4, y+11, colors[diskOf(a.ID)], esc(title))
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

			b.f(`<circle class="arrival disk" cx="%.1f" cy="%.1f" r="6" fill="%s"><title>%s</title></circle>`, x(a.AtMS), y, colors[a.ID], esc(title))
		}

		var missing []string

		for _, id := range cy.Missing {
			if !strings.Contains(id, "-part") || !slices.Contains(cy.Missing, diskOf(id)) {
				missing = append(missing, id)
			}
		}

		if len(missing) > 0 {
			mx := left + plotW + 14
			b.f(`<g class="missing"><path d="M%.1f %.1f l10 10 m0 -10 l-10 10" stroke="%s"/><text x="%.1f" y="%.1f">%s</text><title>missing: %s</title></g>`,
				mx-5, y-5, missingColor, mx+10, y+4, esc(shortList(missing)), esc(strings.Join(missing, ", ")))
		} else if len(cy.Unobserved) > 0 {
			b.f(`<text class="unobserved" x="%.1f" y="%.1f">%d unobserved<title>%s</title></text>`, left+plotW+8, y+4, len(cy.Unobserved), esc(strings.Join(cy.Unobserved, ", ")))
		}

		b.f(`</g>`)
	}

	b.f(`</svg>`)

	return template.HTML(b.String()) // every text is escaped above
}

func unwatchedWhy(c Cycle) string {
	switch {
	case c.Decision != "":
		return "the gate released: " + c.Decision
	case c.Error != "":
		return c.Error
	}

	return "the cycle ended"
}

func shortList(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}

	return fmt.Sprintf("%s +%d", ids[0], len(ids)-1)
}

// histogramSVG draws how many disks arrived in each delay bin, stacked by
// disk (<rect class="bar"> each).
func histogramSVG(c ControllerResult, colors map[string]string) template.HTML {
	const (
		width  = 560.0
		height = 240.0
		left   = 44.0
		right  = 28.0
		top    = 12.0
		bottom = 40.0
	)

	var maxAt int64

	var disks []Arrival

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
	yMax := math.Max(yStep, math.Ceil(float64(peak)/yStep)*yStep)
	plotW, plotH := width-left-right, height-top-bottom
	barW := plotW / float64(nBins)

	var b svgBuilder

	b.f(`<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="histogram of disk arrival delays">`, width, height, width, height)

	for v := 0.0; v <= yMax; v += yStep {
		py := top + plotH - v/yMax*plotH
		b.f(`<line class="grid" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f"/>`, left, left+plotW, py, py)
		b.f(`<text class="tick" x="%.0f" y="%.1f" text-anchor="end">%g</text>`, left-8, py+4, v)
	}

	b.f(`<text class="axis-title" transform="translate(12 %.0f) rotate(-90)" text-anchor="middle">disks</text>`, top+plotH/2)

	order := c.Devices

	for i := range nBins {
		base := 0

		for _, d := range order {
			n := counts[i][d.ID]
			if n == 0 {
				continue
			}

			x := left + float64(i)*barW + 1
			y := top + plotH - float64(base+n)/yMax*plotH
			h := float64(n) / yMax * plotH

			b.f(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-count="%d"><title>%s: %d arrival(s) at %s–%s</title></rect>`,
				x, y, math.Max(barW-2, 1), h, colors[d.ID], n, esc(d.ID), n, axisLabel(float64(i)*binW, binW), axisLabel(float64(i+1)*binW, binW))

			base += n
		}
	}

	labelEvery := max(1, int(math.Ceil(float64(nBins)/8)))

	for i := 0; i <= nBins; i += labelEvery {
		px := left + float64(i)*barW
		b.f(`<line class="axis" x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f"/>`, px, px, top+plotH, top+plotH+5)
		b.f(`<text class="tick" x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, px, top+plotH+18, esc(axisLabel(float64(i)*binW, binW)))
	}

	b.f(`<line class="axis" x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f"/>`, left, left+plotW, top+plotH, top+plotH)
	b.f(`<text class="axis-title" x="%.0f" y="%.0f" text-anchor="middle">arrival after the reference, bins of %s</text>`, left+plotW/2, height-4, esc(axisLabel(binW, binW)))
	b.f(`</svg>`)

	return template.HTML(b.String()) // every text is escaped above
}
