package certify

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportTmpl = template.Must(template.New("report").Parse(reportTemplate))

type kv struct{ Key, Value, Note string }

type deviceRow struct {
	ID, Names, PartName, Color          string
	Seen, Min, Median, P99, Max, Missed string
	Bad                                 bool
}

type statRow struct {
	Name, N, Min, Median, P99, Max, What string
}

type cycleRow struct {
	Index                                 int
	Source, Reference, Decision, First    string
	Last, Watched, Arrived, Missing, Note string
	Bad                                   bool
}

type controllerView struct {
	Anchor, Title, Subtitle string
	Verdict, VerdictClass   string
	ID                      Identity
	Identity                []kv
	Timeline, Histogram     template.HTML
	Legend                  []kv
	Devices                 []deviceRow
	Stats                   []statRow
	Cycles                  []cycleRow
	Notes                   []string
	Profile                 *ProfileFile
	ProfileJSON, NoProfile  string
	Quiet, MaxQuiet, Factor string
	HasArrivals             bool
}

type reportView struct {
	Title, Generated, Source string
	// Verdict is the run's verdict, for the badge; VerdictBad marks one
	// that is not "certified".
	Verdict, VerdictReason string
	VerdictBad             bool
	Controllers            []controllerView
	// Idle are the controllers no disk arrived on, listed briefly.
	Idle        []controllerView
	Forced      []string
	Interrupted bool
}

// WriteHTML renders the results as one self-contained HTML page: inline
// CSS and SVG, no script, no external resource.
func (res *Results) WriteHTML(w io.Writer) error {
	v := reportView{
		Title:     res.title(),
		Generated: fmt.Sprintf("raid-settle %s, %s", orNone(res.Version), res.Created.UTC().Format("2006-01-02 15:04 MST")),
		Source:    res.sourceLine(),

		Verdict: string(res.Verdict), VerdictReason: res.VerdictReason, VerdictBad: res.Verdict != VerdictCertified,
	}

	if res.Live != nil {
		v.Interrupted = res.Live.Interrupted
		for _, h := range res.Live.Forced {
			v.Forced = append(v.Forced, h.String())
		}
	}

	for _, c := range res.Controllers {
		cv := res.controllerView(c)

		if cv.HasArrivals || len(res.Controllers) == 1 {
			v.Controllers = append(v.Controllers, cv)
		} else {
			v.Idle = append(v.Idle, cv)
		}
	}

	return reportTmpl.Execute(w, v)
}

func (res *Results) sourceLine() string {
	switch res.Source {
	case SourceLive:
		if res.Live != nil {
			return fmt.Sprintf("%d live %s cycle(s) of %d asked, each bounded by %s, %s linger, %s pause", res.Cycles, res.Live.Method.Describe(), res.Live.Cycles, res.Live.Timeout, res.Live.Linger, res.Live.Pause)
		}
	case SourceReports:
		return fmt.Sprintf("%d gate boot report(s): %s", res.Cycles, strings.Join(baseNames(res.Inputs), ", "))
	case SourceDmesg:
		return fmt.Sprintf("%d boot(s) from gate kernel logs: %s", res.Cycles, strings.Join(baseNames(res.Inputs), ", "))
	}

	return fmt.Sprintf("%d cycle(s)", res.Cycles)
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f[strings.LastIndex(f, "/")+1:]
	}

	return out
}

func (res *Results) controllerView(c ControllerResult) controllerView {
	id := c.Identity
	colors := deviceColors(c)
	s := c.Stats

	v := controllerView{
		ID:          id,
		Anchor:      "ctl-" + strings.NewReplacer(":", "-", ".", "-").Replace(id.Address),
		Title:       fmt.Sprintf("%s · %s", id.Address, orNone(id.Driver)),
		Subtitle:    subtitle(id),
		Notes:       c.Notes,
		NoProfile:   c.NoProfile,
		HasArrivals: s.DiskDelay.N > 0,
	}

	switch {
	case s.Cycles == 0:
		v.Verdict, v.VerdictClass = "no cycle", "warn"
	case len(c.Devices) == 0:
		v.Verdict, v.VerdictClass = "no disk in any cycle", "warn"
	case s.Failed > 0:
		v.Verdict, v.VerdictClass = fmt.Sprintf("%d of %d cycles lost a device", s.Failed, s.Cycles), "bad"
	case s.Complete < s.Cycles:
		v.Verdict, v.VerdictClass = fmt.Sprintf("%d of %d cycles complete, none lost a device", s.Complete, s.Cycles), "warn"
	default:
		v.Verdict, v.VerdictClass = fmt.Sprintf("all %d cycles complete", s.Cycles), "ok"
	}

	firmware, firmwareNote := id.Firmware, id.FirmwareFrom
	if firmware == "" {
		firmware = "not exposed"
		firmwareNote = "no firmware attribute in sysfs for this driver"

		if res.Source != SourceLive {
			firmwareNote = "boot reports do not record it; run certify live on the node"
		}
	}

	driverVersion, driverNote := id.DriverVersion, ""
	if id.Module != "" {
		driverNote = "/sys/module/" + id.Module + "/version"
	}

	if driverVersion == "" {
		driverVersion = "unknown"
		if res.Source != SourceLive {
			driverNote = "boot reports do not record it"
		}
	}

	v.Identity = []kv{
		{"PCI address", id.Address, id.DevPath},
		{"vendor:device", id.PCIID, ""},
		{"subsystem", orDash(id.SubsystemID), "subsystem vendor:device"},
		{"class", strings.TrimSpace(orDash(id.Class) + " " + id.Kind), ""},
		{"revision", orDash(id.Revision), ""},
		{"driver", orDash(id.Driver), moduleNote(id)},
		{"driver version", driverVersion, driverNote},
		{"firmware", firmware, firmwareNote},
	}

	if len(id.Hosts) > 0 {
		v.Identity = append(v.Identity, kv{"SCSI hosts", strings.Join(id.Hosts, ", "), "before the first cycle"})
	}

	if id.Kernel != "" {
		v.Identity = append(v.Identity, kv{"kernel", id.Kernel, ""})
	}

	if len(id.Cmdline) > 0 {
		v.Identity = append(v.Identity, kv{"kernel arguments", strings.Join(id.Cmdline, " "), "those concerning the driver, SCSI scanning or raid-settle"})
	}

	v.Identity = append(v.Identity, kv{"measured by", res.sourceLine(), ""})

	if !v.HasArrivals {
		v.Timeline = timelineSVG(c, colors)

		return v
	}

	v.Timeline = timelineSVG(c, colors)
	v.Histogram = histogramSVG(c, colors)

	for _, d := range c.Devices {
		if d.Type != TypeDisk {
			continue
		}

		v.Legend = append(v.Legend, kv{d.ID, strings.Join(d.Names, ", "), colors[d.ID]})

		parts := 0
		state := ""

		for _, p := range c.Devices {
			if p.Type == TypePartition && diskOf(p.ID) == d.ID {
				parts++

				if p.PartName == "STATE" {
					state = "STATE"
				}
			}
		}

		partText := ""
		if parts > 0 {
			partText = fmt.Sprintf("%d partition(s)", parts)
			if state != "" {
				partText += ", STATE"
			}
		}

		missed := "—"
		if len(d.MissingIn) > 0 {
			missed = cycleList(d.MissingIn)
		}

		if len(d.UnobservedIn) > 0 {
			missed += " (unobserved " + cycleList(d.UnobservedIn) + ")"
		}

		v.Devices = append(v.Devices, deviceRow{
			ID: d.ID, Names: strings.Join(d.Names, ", "), PartName: partText, Color: colors[d.ID],
			Seen: fmt.Sprintf("%d/%d", d.Seen, s.Cycles), Min: FormatMS(d.Delay.Min), Median: FormatMS(d.Delay.Median),
			P99: FormatMS(d.Delay.P99), Max: FormatMS(d.Delay.Max), Missed: missed, Bad: len(d.MissingIn) > 0,
		})
	}

	stat := func(name string, sm Summary, what string) {
		if sm.N == 0 {
			return
		}

		v.Stats = append(v.Stats, statRow{name, fmt.Sprint(sm.N), FormatMS(sm.Min), FormatMS(sm.Median), FormatMS(sm.P99), FormatMS(sm.Max), what})
	}

	stat("first disk", s.FirstDisk, "per cycle")
	stat("last arrival", s.LastArrival, "per cycle, disks and partitions: the bound's input")
	stat("disk delay", s.DiskDelay, "every disk")
	stat("partition delay", s.PartitionDelay, "every partition")
	stat("gap", s.Gap, "between consecutive arrivals, partitions included, from the first disk on: the quiet window's input")
	stat("disk gap", s.DiskGap, "before each disk but a cycle's first, from the arrival before it")

	for _, cy := range c.Cycles {
		row := cycleRow{Index: cy.Index, Source: cy.Source, Reference: string(cy.Reference), Decision: orDash(cy.Decision), Watched: FormatMS(cy.ObservedMS)}

		first, last := int64(-1), int64(-1)
		disks := 0

		for _, a := range cy.Arrivals {
			if a.Type == TypeDisk {
				disks++

				if first < 0 || a.AtMS < first {
					first = a.AtMS
				}
			}

			last = max(last, a.AtMS)
		}

		row.First, row.Last = "—", "—"
		if first >= 0 {
			row.First = FormatMS(first)
		}

		if last >= 0 {
			row.Last = FormatMS(last)
		}

		row.Arrived = fmt.Sprintf("%d disk(s), %d partition(s)", disks, len(cy.Arrivals)-disks)
		row.Missing = orDash(strings.Join(collapseMissing(cy.Missing), ", "))
		row.Bad = len(cy.Missing) > 0

		var notes []string
		if cy.TimedOut {
			notes = append(notes, "timed out")
		}

		if len(cy.Unobserved) > 0 {
			notes = append(notes, fmt.Sprintf("%d unobserved", len(cy.Unobserved)))
		}

		if cy.Error != "" {
			notes = append(notes, cy.Error)
		}

		row.Note = strings.Join(notes, "; ")
		v.Cycles = append(v.Cycles, row)
	}

	for i := range res.Profiles {
		if res.Profiles[i].File == c.ProfileFile {
			v.Profile = &res.Profiles[i]

			p := res.Profiles[i].Profile
			data, _ := json.MarshalIndent(p, "", "  ")
			v.ProfileJSON = string(data)
			v.Quiet, v.MaxQuiet, v.Factor = p.Quiet.String(), p.MaxQuiet.String(), fmt.Sprintf("%g", p.GapFactor)
		}
	}

	return v
}

// collapseMissing folds the partitions of a missing disk into it:
// "scsi-0:2:1:0 (+1 partition)".
func collapseMissing(ids []string) []string {
	parts := map[string]int{}

	var out []string

	for _, id := range ids {
		if d := diskOf(id); d != id && slices.Contains(ids, d) {
			parts[d]++
		}
	}

	for _, id := range ids {
		switch d := diskOf(id); {
		case d != id && slices.Contains(ids, d):
		case parts[id] > 0:
			out = append(out, fmt.Sprintf("%s (+%d partition(s))", id, parts[id]))
		default:
			out = append(out, id)
		}
	}

	return out
}

func subtitle(id Identity) string {
	s := fmt.Sprintf("%s controller, PCI %s", orNone(id.Kind), id.PCIID)
	if id.SubsystemID != "" {
		s += ", subsystem " + id.SubsystemID
	}

	if id.DriverVersion != "" {
		s += ", driver " + id.DriverVersion
	}

	if id.Firmware != "" {
		s += ", firmware " + id.Firmware
	}

	return s
}

func moduleNote(id Identity) string {
	if id.Module != "" && id.Module != id.Driver {
		return "module " + id.Module
	}

	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}

	return s
}
