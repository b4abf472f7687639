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

// kv is a labelled value with a note: a row of the identity table, or a
// legend entry (the note is then the colour).
type kv struct{ Key, Value, Note string }

// deviceRow is a disk in the device table.
type deviceRow struct {
	ID, Names, PartName, Color          string
	Seen, Min, Median, P99, Max, Missed string
	Bad                                 bool
}

// statRow is a Summary in the statistics table.
type statRow struct {
	Name, N, Min, Median, P99, Max, What string
}

// cycleRow is a cycle in the cycle table.
type cycleRow struct {
	Index                                 int
	Source, Reference, Decision, First    string
	Last, Watched, Arrived, Missing, Note string
	Bad                                   bool
}

// controllerView is what the template shows of one controller.
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

// reportView is what the template shows: the whole report.
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

// sourceLine says what the results were measured from.
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

// baseNames returns the last element of each path.
func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f[strings.LastIndex(f, "/")+1:]
	}

	return out
}

// controllerView lays out one controller's section of the report: its
// identity, and, when a disk arrived in some cycle, its charts and tables
// and the profile derived for it.
func (res *Results) controllerView(c ControllerResult) controllerView {
	id := c.Identity
	colors := deviceColors(c)

	v := controllerView{
		ID:          id,
		Anchor:      "ctl-" + strings.NewReplacer(":", "-", ".", "-").Replace(id.Address),
		Title:       fmt.Sprintf("%s · %s", id.Address, orNone(id.Driver)),
		Subtitle:    subtitle(id),
		Notes:       c.Notes,
		NoProfile:   c.NoProfile,
		HasArrivals: c.Stats.DiskDelay.N > 0,
		Identity:    res.identityRows(id),
		Timeline:    timelineSVG(c, colors),
	}
	v.Verdict, v.VerdictClass = controllerVerdict(c)

	if !v.HasArrivals {
		return v
	}

	v.Histogram = histogramSVG(c, colors)
	v.Legend = legend(c, colors)
	v.Devices = diskRows(c, colors)
	v.Stats = statRows(c.Stats)
	v.Cycles = cycleRows(c.Cycles)

	for i := range res.Profiles {
		if res.Profiles[i].File == c.ProfileFile {
			v.setProfile(&res.Profiles[i])
		}
	}

	return v
}

// controllerVerdict sums up how c's cycles went, and the badge's class:
// ok, warn or bad.
func controllerVerdict(c ControllerResult) (verdict, class string) {
	s := c.Stats

	switch {
	case s.Cycles == 0:
		return "no cycle", "warn"
	case len(c.Devices) == 0:
		return "no disk in any cycle", "warn"
	case s.Failed > 0:
		return fmt.Sprintf("%d of %d cycles lost a device", s.Failed, s.Cycles), "bad"
	case s.Complete < s.Cycles:
		return fmt.Sprintf("%d of %d cycles complete, none lost a device", s.Complete, s.Cycles), "warn"
	}

	return fmt.Sprintf("all %d cycles complete", s.Cycles), "ok"
}

// identityRows are the identity table: what is known of the controller,
// and where each value came from or why it is missing.
func (res *Results) identityRows(id Identity) []kv {
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

	rows := []kv{
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
		rows = append(rows, kv{"SCSI hosts", strings.Join(id.Hosts, ", "), "before the first cycle"})
	}

	if id.Kernel != "" {
		rows = append(rows, kv{"kernel", id.Kernel, ""})
	}

	if len(id.Cmdline) > 0 {
		rows = append(rows, kv{"kernel arguments", strings.Join(id.Cmdline, " "), "those concerning the driver, SCSI scanning or raid-settle"})
	}

	return append(rows, kv{"measured by", res.sourceLine(), ""})
}

// legend names each disk of c with its kernel names and its colour.
func legend(c ControllerResult, colors map[string]string) []kv {
	var rows []kv

	for _, d := range c.Devices {
		if d.Type == TypeDisk {
			rows = append(rows, kv{d.ID, strings.Join(d.Names, ", "), colors[d.ID]})
		}
	}

	return rows
}

// diskRows are the device table: one row per disk of c, its partitions
// counted in it.
func diskRows(c ControllerResult, colors map[string]string) []deviceRow {
	var rows []deviceRow

	for _, d := range c.Devices {
		if d.Type != TypeDisk {
			continue
		}

		missed := "—"
		if len(d.MissingIn) > 0 {
			missed = cycleList(d.MissingIn)
		}

		if len(d.UnobservedIn) > 0 {
			missed += " (unobserved " + cycleList(d.UnobservedIn) + ")"
		}

		rows = append(rows, deviceRow{
			ID: d.ID, Names: strings.Join(d.Names, ", "), PartName: partitionsOf(c.Devices, d.ID), Color: colors[d.ID],
			Seen: fmt.Sprintf("%d/%d", d.Seen, c.Stats.Cycles), Min: FormatMS(d.Delay.Min), Median: FormatMS(d.Delay.Median),
			P99: FormatMS(d.Delay.P99), Max: FormatMS(d.Delay.Max), Missed: missed, Bad: len(d.MissingIn) > 0,
		})
	}

	return rows
}

// partitionsOf says how many partitions of devices are on the disk, and
// whether STATE is one: "6 partition(s), STATE"; "" for none.
func partitionsOf(devices []DeviceResult, disk string) string {
	parts, state := 0, false

	for _, p := range devices {
		if p.Type == TypePartition && diskOf(p.ID) == disk {
			parts++
			state = state || p.PartName == "STATE"
		}
	}

	switch {
	case parts == 0:
		return ""
	case state:
		return fmt.Sprintf("%d partition(s), STATE", parts)
	}

	return fmt.Sprintf("%d partition(s)", parts)
}

// statRows are the statistics table, leaving out those with no sample.
func statRows(s Stats) []statRow {
	var rows []statRow

	for _, st := range []struct {
		name string
		sum  Summary
		what string
	}{
		{"first disk", s.FirstDisk, "per cycle"},
		{"last arrival", s.LastArrival, "per cycle, disks and partitions: the bound's input"},
		{"disk delay", s.DiskDelay, "every disk"},
		{"partition delay", s.PartitionDelay, "every partition"},
		{"gap", s.Gap, "between consecutive arrivals, partitions included, from the first disk on: the quiet window's input"},
		{"disk gap", s.DiskGap, "before each disk but a cycle's first, from the arrival before it"},
	} {
		if st.sum.N > 0 {
			rows = append(rows, statRow{st.name, fmt.Sprint(st.sum.N), FormatMS(st.sum.Min), FormatMS(st.sum.Median), FormatMS(st.sum.P99), FormatMS(st.sum.Max), st.what})
		}
	}

	return rows
}

// cycleRows are the cycle table, a row per cycle.
func cycleRows(cycles []Cycle) []cycleRow {
	var rows []cycleRow

	for _, cy := range cycles {
		rows = append(rows, cycleRowOf(cy))
	}

	return rows
}

// cycleRowOf sums up a cycle: when its first disk and last device came,
// what arrived and what is missing.
func cycleRowOf(cy Cycle) cycleRow {
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

	return cycleRow{
		Index: cy.Index, Source: cy.Source, Reference: string(cy.Reference), Decision: orDash(cy.Decision),
		First: msOrDash(first), Last: msOrDash(last), Watched: FormatMS(cy.ObservedMS),
		Arrived: fmt.Sprintf("%d disk(s), %d partition(s)", disks, len(cy.Arrivals)-disks),
		Missing: orDash(strings.Join(collapseMissing(cy.Missing), ", ")),
		Note:    strings.Join(notes, "; "),
		Bad:     len(cy.Missing) > 0,
	}
}

// setProfile shows the profile written for the controller.
func (v *controllerView) setProfile(pf *ProfileFile) {
	p := pf.Profile
	data, _ := json.MarshalIndent(p, "", "  ")

	v.Profile = pf
	v.ProfileJSON = string(data)
	v.Quiet, v.MaxQuiet, v.Factor = p.Quiet.String(), p.MaxQuiet.String(), fmt.Sprintf("%g", p.GapFactor)
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

// subtitle describes the controller under its section's title.
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

// moduleNote names the driver's module when its name differs.
func moduleNote(id Identity) string {
	if id.Module != "" && id.Module != id.Driver {
		return "module " + id.Module
	}

	return ""
}

// msOrDash writes milliseconds for people, or "—" for a negative value
// (none).
func msOrDash(v int64) string {
	if v < 0 {
		return "—"
	}

	return FormatMS(v)
}

// orDash returns s, or "—" for "".
func orDash(s string) string {
	if s == "" {
		return "—"
	}

	return s
}
