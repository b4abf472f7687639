package diagnose

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// MaxReportBytes caps a gate report read whole. The gate's reports are a
// few hundred KiB even with raid_settle.debug=1.
const MaxReportBytes = 64 << 20

// maxEventsPerSource bounds memory on an endless log: past it, recognised
// lines are counted but not kept. A boot's log has a few thousand (most of
// them a RAID driver's), tens of thousands with raid_settle.debug=1.
const maxEventsPerSource = 1 << 17

// Input is one capture to diagnose: a name, used in evidence references,
// and its content.
type Input struct {
	Name string
	R    io.Reader
}

// Source says how one input was read.
type Source struct {
	File string `json:"file"`
	// Formats are the line formats recognised in it, most frequent first.
	Formats []Format `json:"formats"`
	// Lines counts its lines, long ones included; Recognised those that went
	// on the timeline.
	Lines      int `json:"lines"`
	Recognised int `json:"recognised"`
	// LongLines counts lines skipped for exceeding MaxLineBytes.
	LongLines int `json:"long_lines,omitempty"`
	// EarlierBoots counts recognised lines dropped because they belong to
	// an earlier boot than the last one in the file.
	EarlierBoots int `json:"earlier_boot_lines,omitempty"`
	// Dropped counts recognised lines not kept past maxEventsPerSource.
	Dropped int `json:"dropped,omitempty"`
	// Nodes are the node prefixes seen, as talosctl prints them.
	Nodes []string `json:"nodes,omitempty"`
	// Note says what went wrong reading it, if anything.
	Note string `json:"note,omitempty"`
}

// parsed is one input read: its description and its recognised lines.
type parsed struct {
	src    Source
	events []event
	// resources are a `talosctl get` capture's.
	resources []resource
	// gateStart is a gate report's start time (Unix ns), to put its
	// timeline on the wall clock when no line matches; 0 when unknown.
	gateStart int64
}

// readInput reads one input, a gate report (JSON) or log lines. Only a read
// error is returned as an error; content it cannot make sense of is noted.
func readInput(in Input, seq *int) (parsed, error) {
	br := bufio.NewReaderSize(in.R, readBufferSize)

	if head, _ := br.Peek(4096); looksLikeResources(head) {
		data, err := io.ReadAll(io.LimitReader(br, MaxReportBytes))
		if err != nil {
			return parsed{}, fmt.Errorf("reading %s: %w", in.Name, err)
		}

		p, rs := parseResources(in.Name, data)
		p.resources = rs

		return p, nil
	}

	if looksLikeJSON(br) {
		data, err := io.ReadAll(io.LimitReader(br, MaxReportBytes+1))
		if err != nil {
			return parsed{}, fmt.Errorf("reading %s: %w", in.Name, err)
		}

		if len(data) <= MaxReportBytes {
			var rep agent.Report
			if err := json.Unmarshal(data, &rep); err == nil && isReport(data) {
				return reportEvents(in.Name, &rep, data, seq), nil
			}
		}

		p, err := parseLines(in.Name, bytes.NewReader(data), seq)
		if !slices.Contains(p.src.Formats, FormatJSONLines) {
			p.src.Note = "starts like JSON but is not a gate report: read as log lines"
		}

		return p, err
	}

	return parseLines(in.Name, br, seq)
}

// looksLikeJSON peeks at the first non-blank byte.
func looksLikeJSON(br *bufio.Reader) bool {
	for n := 1; n <= 4096; n++ {
		b, _ := br.Peek(n)
		if len(b) < n {
			return false
		}

		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}

	return false
}

// isReport tells a gate report (or a hand-written timeline) from any other
// JSON object.
func isReport(data []byte) bool {
	var keys map[string]json.RawMessage
	if json.Unmarshal(data, &keys) != nil {
		return false
	}

	for _, k := range []string{"timeline", "decision", "state_uevent_ms", "held_ms"} {
		if _, ok := keys[k]; ok {
			return true
		}
	}

	return false
}

// parseLines reads log lines in one pass. Each line is parsed on its own, so
// a file may mix formats (a kernel log pasted into a machined log).
func parseLines(name string, r io.Reader, seq *int) (parsed, error) {
	p := parsed{src: Source{File: name}}
	lr := newLineReader(r)

	counts := map[Format]int{}
	clocks := nodeClocks{last: map[string]stamp{}, lastBoot: map[string]int64{}}
	boots := lastBoots{byNode: map[string][]event{}}

	for {
		raw, ok := lr.next()
		if !ok {
			break
		}

		p.src.Lines = lr.n

		s := stripANSI(string(raw))

		pl, known := parseLine(s)
		if known {
			counts[pl.format]++
		}

		newBoot := clocks.stamp(&pl)
		ev := classify(pl.msg)

		if newBoot || ev.kind == kindBoot {
			p.src.EarlierBoots += boots.restart(pl.node)
		}

		if ev.kind == kindNone {
			continue
		}

		p.src.Recognised++

		if boots.kept >= maxEventsPerSource {
			p.src.Dropped++

			continue
		}

		ev = lineEvent(ev, pl, name, p.src.Lines, s)
		*seq++
		ev.seq = *seq
		boots.add(pl.node, ev)
	}

	p.src.LongLines = lr.long
	p.src.Lines = lr.n
	p.src.Formats = sortedFormats(counts)
	p.src.Nodes, p.events = boots.collect()

	if lr.err != nil {
		return p, fmt.Errorf("reading %s: %w", name, lr.err)
	}

	return p, nil
}

// nodeClocks carries each node's time from line to line of one file.
type nodeClocks struct {
	last     map[string]stamp // last timed stamp per node
	lastBoot map[string]int64 // last boot-clock time per node
}

// stamp gives pl, when it has no time of its own, the time of its node's
// line before, marked approximate. It reports whether pl's boot-relative
// clock went back: a reboot.
func (c nodeClocks) stamp(pl *parsedLine) (newBoot bool) {
	if pl.st.clock == clockNone {
		if l, ok := c.last[pl.node]; ok {
			pl.st = l
			pl.st.approx = true
		}

		return false
	}

	if pl.st.clock == clockBoot {
		if prev, ok := c.lastBoot[pl.node]; ok && pl.st.ns+int64(time.Second) < prev {
			newBoot = true
		}

		c.lastBoot[pl.node] = pl.st.ns
	}

	c.last[pl.node] = pl.st

	return newBoot
}

// lastBoots keeps the events of each node's last boot in one file.
type lastBoots struct {
	byNode map[string][]event
	kept   int // events kept, all nodes together
}

// restart drops the events kept for node: a new boot begins. It returns
// how many were dropped.
func (b *lastBoots) restart(node string) int {
	dropped := len(b.byNode[node])
	b.kept -= dropped
	b.byNode[node] = b.byNode[node][:0]

	return dropped
}

// add keeps ev as one of node's.
func (b *lastBoots) add(node string, ev event) {
	b.byNode[node] = append(b.byNode[node], ev)
	b.kept++
}

// collect returns the named nodes seen, sorted, and the events kept, in
// reading order.
func (b *lastBoots) collect() (nodes []string, events []event) {
	for n, evs := range b.byNode {
		if n != "" {
			nodes = append(nodes, n)
		}

		events = append(events, evs...)
	}

	slices.Sort(nodes)
	slices.SortFunc(events, func(a, b event) int { return a.seq - b.seq })

	return nodes, events
}

// lineEvent completes ev, classified from pl, with where it was read (line
// n of file, captured as text) and when.
func lineEvent(ev event, pl parsedLine, file string, n int, text string) event {
	ev.node = pl.node
	ev.file = file
	ev.line = n
	ev.st = pl.st
	ev.text = capText(text)
	ev.msg = capText(strings.TrimLeft(pl.msg, " "))

	if pl.st.clock != clockNone && !pl.st.approx {
		ev.key = anchorKey(pl.msg)
	}

	return ev
}

// anchorKey is how the same message is recognised in two captures: the
// message without Talos's console prefix and surrounding blanks.
func anchorKey(msg string) string {
	return strings.TrimSpace(strings.TrimPrefix(msg, "[talos] "))
}

// capText caps a line's text at maxEvidenceText bytes.
func capText(s string) string {
	return clip(s, maxEvidenceText)
}

func sortedFormats(counts map[Format]int) []Format {
	fs := make([]Format, 0, len(counts))
	for f := range counts {
		fs = append(fs, f)
	}

	slices.SortFunc(fs, func(a, b Format) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}

		return strings.Compare(string(a), string(b))
	})

	return fs
}

// lineFinder maps a value of a JSON document back to its line, searching
// forward from the last value found so that a whole report is scanned about
// once.
type lineFinder struct {
	data    []byte
	cursor  int // offset of the last value found
	lineNo  int // its line, 1-based
	rescans int
}

// maxRescans bounds searches from the start for values found out of order.
const maxRescans = 32

func (lf *lineFinder) line(v any) int {
	if lf == nil || len(lf.data) == 0 {
		return 0
	}

	needle, err := json.Marshal(v)
	if err != nil {
		return 0
	}

	if lf.lineNo == 0 {
		lf.lineNo = 1
	}

	if i := bytes.Index(lf.data[lf.cursor:], needle); i >= 0 {
		lf.lineNo += bytes.Count(lf.data[lf.cursor:lf.cursor+i], []byte{'\n'})
		lf.cursor += i

		return lf.lineNo
	}

	if lf.rescans >= maxRescans {
		return 0
	}

	lf.rescans++

	i := bytes.Index(lf.data, needle)
	if i < 0 {
		return 0
	}

	lf.cursor, lf.lineNo = i, 1+bytes.Count(lf.data[:i], []byte{'\n'})

	return lf.lineNo
}

// reportEvents turns a gate report into timeline events on the gate's
// clock. data is the report's JSON, for line numbers; nil when the report
// did not come from a file.
func reportEvents(name string, rep *agent.Report, data []byte, seq *int) parsed {
	rr := &reportReader{
		p:           parsed{src: Source{File: name, Formats: []Format{FormatGateReport}, Lines: 1 + bytes.Count(data, []byte{'\n'})}},
		lf:          &lineFinder{data: data},
		seq:         seq,
		controllers: map[string]bool{},
	}

	if !rep.Started.IsZero() {
		rr.p.gateStart = rep.Started.UnixNano()
		rr.add(event{kind: kindGate, subject: "start"}, 0, rr.lf.line(rep.Started), fmt.Sprintf("started: %s (raid-settle %s)", rep.Started.Format(time.RFC3339Nano), rep.Version))
	}

	for _, n := range rep.Notes {
		ev := classifyGate(n)
		ev.key = "raid-settle: " + n
		rr.add(ev, 0, rr.lf.line(n), "notes: "+n)
	}

	for i, in := range rep.Timeline {
		switch {
		case in.Kind == agent.InputEvent && in.Event != nil:
			rr.uevent(i, in)
		case in.Kind == agent.InputProbe && in.Probe != nil:
			rr.probe(i, in)
		}
	}

	for _, l := range rep.Log {
		ev := classifyGate(l.Line)
		ev.key = "raid-settle: " + l.Line
		rr.add(ev, l.AtMS, rr.lf.line(l.Line), fmt.Sprintf("log at %d ms: %s", l.AtMS, l.Line))
	}

	if d := rep.Decision; d != nil {
		rr.decision(d)
	}

	for _, e := range rep.Errors {
		rr.add(event{kind: kindGate}, rep.HeldMS, rr.lf.line(e), "errors: "+e)
	}

	rr.p.src.Recognised = len(rr.p.events)

	return rr.p
}

// reportReader collects the events of one gate report.
type reportReader struct {
	p   parsed
	lf  *lineFinder
	seq *int
	// controllers are the PCI devices already shown: a controller's first
	// uevent is the one that matters.
	controllers map[string]bool
}

// add appends ev, at atMS on the gate's clock, read from line of the
// report as text.
func (rr *reportReader) add(ev event, atMS int64, line int, text string) {
	*rr.seq++
	ev.file, ev.line, ev.seq, ev.text = rr.p.src.File, line, *rr.seq, capText(text)
	ev.msg = ev.text
	ev.st = stamp{clock: clockGate, ns: atMS * int64(time.Millisecond)}
	rr.p.events = append(rr.p.events, ev)
}

// uevent adds timeline input i, a uevent, when it is a storage
// controller's first, a disk added, or a partition added.
func (rr *reportReader) uevent(i int, in agent.TimedInput) {
	ev := in.Event

	switch {
	case ev.Subsystem == "pci" && ev.Driver != "" && !rr.controllers[ev.DevPath]:
		rr.controllers[ev.DevPath] = true
		rr.add(event{kind: kindController, subject: ev.Driver}, in.AtMS, rr.lf.line(ev.DevPath),
			fmt.Sprintf("timeline[%d] at %d ms: %s pci %s driver %s (%s)", i, in.AtMS, ev.Action, path.Base(ev.DevPath), ev.Driver, ev.Source))
	case ev.Subsystem == "block" && ev.Action == "add" && ev.DevType == "disk":
		name := orBase(ev.DevName, ev.DevPath)
		rr.add(event{kind: kindDisk, subject: name, detail: "raid-settle"}, in.AtMS, rr.lf.line(name),
			fmt.Sprintf("timeline[%d] at %d ms: add block disk %s (%s)", i, in.AtMS, name, ev.Source))
	case ev.Subsystem == "block" && ev.Action == "add" && ev.DevType == "partition":
		part := orBase(ev.DevName, ev.DevPath)
		label := ev.Env["PARTNAME"]
		line := rr.lf.line(part)
		text := fmt.Sprintf("timeline[%d] at %d ms: add block partition %s PARTNAME=%s (%s)", i, in.AtMS, part, label, ev.Source)
		rr.add(event{kind: kindPartitions, subject: path.Base(path.Dir(ev.DevPath)), parts: []string{part}, detail: "raid-settle"}, in.AtMS, line, text)

		if label == "STATE" {
			rr.add(event{kind: kindGateStatePart, subject: part}, in.AtMS, line, text)
		}
	}
}

// probe adds timeline input i, a probe of a disk, as one check of each
// STATE partition it verified.
func (rr *reportReader) probe(i int, in agent.TimedInput) {
	for _, c := range in.Probe.Candidates {
		part := blockdev.PartitionName(in.Probe.Disk, c.Partition)
		if c.PartitionDevice != "" {
			part = path.Base(c.PartitionDevice)
		}

		rr.add(event{kind: kindGateStateCheck, subject: part, detail: string(c.Verdict)}, in.AtMS, rr.lf.line(in.Probe.Disk),
			fmt.Sprintf("timeline[%d] at %d ms: probe %s: STATE partition %d %s %s%s", i, in.AtMS, in.Probe.Disk, c.Partition, c.Content, c.Verdict, problemCodes(c.Problems)))
	}
}

// decision adds the gate's release and, when it names STATE, its check of
// it.
func (rr *reportReader) decision(d *agent.Release) {
	line := rr.lf.line(d.Reason)
	rr.add(event{kind: kindGateRelease, subject: string(d.Decision), detail: d.Reason}, d.AtMS, line,
		fmt.Sprintf("decision: %s at %d ms: %s", d.Decision, d.AtMS, d.Reason))

	if d.State == nil {
		return
	}

	part := blockdev.PartitionName(path.Base(d.State.Device), d.State.Partition)
	if d.State.PartitionDevice != "" {
		part = path.Base(d.State.PartitionDevice)
	}

	rr.add(event{kind: kindGateStateCheck, subject: part, detail: string(d.State.Verdict)}, d.AtMS, line,
		fmt.Sprintf("decision state: %s partition %d %s %s%s", d.State.Device, d.State.Partition, d.State.Content, d.State.Verdict, problemCodes(d.State.Problems)))
}

func orBase(name, devpath string) string {
	if name != "" {
		return name
	}

	return path.Base(devpath)
}

// problemCodes is " (codes)" for the problems in ps beyond information, ""
// for none.
func problemCodes(ps []problem.Problem) string {
	codes := problem.Findings(ps)
	if len(codes) == 0 {
		return ""
	}

	return " (" + strings.Join(codes, ", ") + ")"
}
