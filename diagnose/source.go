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
	byNode := map[string][]event{} // kept events of each node, last boot only
	last := map[string]stamp{}     // last timed stamp per node
	lastBoot := map[string]int64{} // last boot-clock time per node
	kept := 0

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

		newBoot := false

		if pl.st.clock != clockNone {
			if pl.st.clock == clockBoot {
				if prev, ok := lastBoot[pl.node]; ok && pl.st.ns+int64(time.Second) < prev {
					newBoot = true // the boot-relative clock went back: a reboot
				}

				lastBoot[pl.node] = pl.st.ns
			}

			last[pl.node] = pl.st
		} else if l, ok := last[pl.node]; ok {
			pl.st = l
			pl.st.approx = true
		}

		ev := classify(pl.msg)

		if newBoot || ev.kind == kindBoot {
			// Keep only the last boot of each node in this file.
			p.src.EarlierBoots += len(byNode[pl.node])
			kept -= len(byNode[pl.node])
			byNode[pl.node] = byNode[pl.node][:0]
		}

		if ev.kind == kindNone {
			continue
		}

		p.src.Recognised++

		if kept >= maxEventsPerSource {
			p.src.Dropped++

			continue
		}

		ev.node = pl.node
		ev.file = name
		ev.line = p.src.Lines
		ev.st = pl.st
		ev.text = capText(s)
		ev.msg = capText(strings.TrimLeft(pl.msg, " "))

		*seq++
		ev.seq = *seq

		if pl.st.clock != clockNone && !pl.st.approx {
			ev.key = anchorKey(pl.msg)
		}

		byNode[pl.node] = append(byNode[pl.node], ev)
		kept++
	}

	p.src.LongLines = lr.long
	p.src.Lines = lr.n
	p.src.Formats = sortedFormats(counts)

	for n, evs := range byNode {
		if n != "" {
			p.src.Nodes = append(p.src.Nodes, n)
		}

		p.events = append(p.events, evs...)
	}

	slices.Sort(p.src.Nodes)
	slices.SortFunc(p.events, func(a, b event) int { return a.seq - b.seq })

	if lr.err != nil {
		return p, fmt.Errorf("reading %s: %w", name, lr.err)
	}

	return p, nil
}

// anchorKey is how the same message is recognised in two captures: the
// message without Talos's console prefix and surrounding blanks.
func anchorKey(msg string) string {
	return strings.TrimSpace(strings.TrimPrefix(msg, "[talos] "))
}

func capText(s string) string {
	if len(s) <= maxEvidenceText {
		return s
	}

	cut := maxEvidenceText
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut-- // do not split a UTF-8 sequence
	}

	return s[:cut] + "…"
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
	p := parsed{src: Source{File: name, Formats: []Format{FormatGateReport}, Lines: 1 + bytes.Count(data, []byte{'\n'})}}
	lf := &lineFinder{data: data}

	if !rep.Started.IsZero() {
		p.gateStart = rep.Started.UnixNano()
	}

	add := func(ev event, atMS int64, line int, text string) {
		*seq++
		ev.file, ev.line, ev.seq, ev.text = name, line, *seq, capText(text)
		ev.msg = ev.text
		ev.st = stamp{clock: clockGate, ns: atMS * int64(time.Millisecond)}
		p.events = append(p.events, ev)
	}

	if !rep.Started.IsZero() {
		add(event{kind: kindGate, subject: "start"}, 0, lf.line(rep.Started), fmt.Sprintf("started: %s (raid-settle %s)", rep.Started.Format(time.RFC3339Nano), rep.Version))
	}

	for _, n := range rep.Notes {
		ev := classifyGate(n)
		ev.key = "raid-settle: " + n
		add(ev, 0, lf.line(n), "notes: "+n)
	}

	controllers := map[string]bool{}

	for i, in := range rep.Timeline {
		switch {
		case in.Kind == agent.InputEvent && in.Event != nil:
			ev := in.Event
			line := 0

			switch {
			case ev.Subsystem == "pci" && ev.Driver != "" && !controllers[ev.DevPath]:
				controllers[ev.DevPath] = true
				line = lf.line(ev.DevPath)
				add(event{kind: kindController, subject: ev.Driver}, in.AtMS, line,
					fmt.Sprintf("timeline[%d] at %d ms: %s pci %s driver %s (%s)", i, in.AtMS, ev.Action, path.Base(ev.DevPath), ev.Driver, ev.Source))
			case ev.Subsystem == "block" && ev.Action == "add" && ev.DevType == "disk":
				name := orBase(ev.DevName, ev.DevPath)
				line = lf.line(name)
				add(event{kind: kindDisk, subject: name, detail: "raid-settle"}, in.AtMS, line,
					fmt.Sprintf("timeline[%d] at %d ms: add block disk %s (%s)", i, in.AtMS, name, ev.Source))
			case ev.Subsystem == "block" && ev.Action == "add" && ev.DevType == "partition":
				part := orBase(ev.DevName, ev.DevPath)
				label := ev.Env["PARTNAME"]
				line = lf.line(part)
				text := fmt.Sprintf("timeline[%d] at %d ms: add block partition %s PARTNAME=%s (%s)", i, in.AtMS, part, label, ev.Source)
				add(event{kind: kindPartitions, subject: path.Base(path.Dir(ev.DevPath)), parts: []string{part}, detail: "raid-settle"}, in.AtMS, line, text)

				if label == "STATE" {
					add(event{kind: kindGateStatePart, subject: part}, in.AtMS, line, text)
				}
			}
		case in.Kind == agent.InputProbe && in.Probe != nil:
			for _, c := range in.Probe.Candidates {
				part := blockdev.PartitionName(in.Probe.Disk, c.Partition)
				if c.PartitionDevice != "" {
					part = path.Base(c.PartitionDevice)
				}

				add(event{kind: kindGateStateCheck, subject: part, detail: string(c.Verdict)}, in.AtMS, lf.line(in.Probe.Disk),
					fmt.Sprintf("timeline[%d] at %d ms: probe %s: STATE partition %d %s %s%s", i, in.AtMS, in.Probe.Disk, c.Partition, c.Content, c.Verdict, problemCodes(c.Problems)))
			}
		}
	}

	for _, l := range rep.Log {
		ev := classifyGate(l.Line)
		ev.key = "raid-settle: " + l.Line
		add(ev, l.AtMS, lf.line(l.Line), fmt.Sprintf("log at %d ms: %s", l.AtMS, l.Line))
	}

	if d := rep.Decision; d != nil {
		line := lf.line(d.Reason)
		add(event{kind: kindGateRelease, subject: string(d.Decision), detail: d.Reason}, d.AtMS, line,
			fmt.Sprintf("decision: %s at %d ms: %s", d.Decision, d.AtMS, d.Reason))

		if d.State != nil {
			part := blockdev.PartitionName(path.Base(d.State.Device), d.State.Partition)
			if d.State.PartitionDevice != "" {
				part = path.Base(d.State.PartitionDevice)
			}

			add(event{kind: kindGateStateCheck, subject: part, detail: string(d.State.Verdict)}, d.AtMS, line,
				fmt.Sprintf("decision state: %s partition %d %s %s%s", d.State.Device, d.State.Partition, d.State.Content, d.State.Verdict, problemCodes(d.State.Problems)))
		}
	}

	for _, e := range rep.Errors {
		add(event{kind: kindGate}, rep.HeldMS, lf.line(e), "errors: "+e)
	}

	p.src.Recognised = len(p.events)

	return p
}

func orBase(name, devpath string) string {
	if name != "" {
		return name
	}

	return path.Base(devpath)
}

func problemCodes(ps []problem.Problem) string {
	var codes []string

	for _, p := range ps {
		if p.Severity != problem.SeverityInfo {
			codes = append(codes, string(p.Code))
		}
	}

	if len(codes) == 0 {
		return ""
	}

	return " (" + strings.Join(codes, ", ") + ")"
}
