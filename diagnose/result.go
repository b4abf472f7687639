package diagnose

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
)

// ResultSchemaVersion is the version of Result's JSON form (`diagnose
// --json`).
const ResultSchemaVersion = 1

// Result is a diagnosis: the verdicts first, then what they rest on.
type Result struct {
	// SchemaVersion is ResultSchemaVersion.
	SchemaVersion int       `json:"schema_version"`
	Verdicts      []Verdict `json:"verdicts"`
	// Nodes say, per node, what the times in Verdicts and Timeline count from.
	Nodes []NodeInfo `json:"nodes"`
	// Timeline is the compact timeline: the lines that matter, in order.
	Timeline []Entry  `json:"timeline"`
	Sources  []Source `json:"sources"`
	Notes    []string `json:"notes,omitempty"`
}

// NodeInfo describes one node's time axis.
type NodeInfo struct {
	Node string `json:"node"`
	// Origin says what at_s 0 is: "kernel boot", "raid-settle gate start"
	// or "first line"; OriginTime is its wall-clock time when known.
	Origin     string `json:"origin"`
	OriginTime string `json:"origin_time,omitempty"`
	// Unaligned counts lines that could not be put on the node's clock.
	Unaligned int `json:"unaligned,omitempty"`
}

// Entry is one line of the compact timeline.
type Entry struct {
	Node string `json:"node,omitempty"`
	// AtS is seconds since the node's origin; absent when unknown.
	AtS    *float64 `json:"at_s,omitempty"`
	Time   string   `json:"time,omitempty"`
	Approx bool     `json:"approx,omitempty"`
	// Kind says what the line shows (disk, partitions, volume, maintenance...).
	Kind string `json:"kind"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Text is the line's message, without node, time or level.
	Text string `json:"text"`
}

// Diagnose reads every input (log files or gate reports, in any order) and
// diagnoses each node found in them. The error is an input that could not
// be read; content that is not understood is not an error, it only leaves
// less evidence.
func Diagnose(inputs []Input) (*Result, error) {
	var (
		ps   []parsed
		errs []error
		seq  int
	)

	for _, in := range inputs {
		p, err := readInput(in, &seq)
		if err != nil {
			errs = append(errs, err)
		}

		ps = append(ps, p)
	}

	res := diagnose(ps)

	if len(errs) > 0 {
		return res, errs[0]
	}

	return res, nil
}

// DiagnoseReport diagnoses a gate report on its own: the hook for reports
// produced elsewhere (the end-to-end harness, a node's
// /run/raid-settle/report.json already decoded). name is used in evidence.
func DiagnoseReport(name string, rep *agent.Report) *Result {
	seq := 0

	return diagnose([]parsed{reportEvents(name, rep, nil, &seq)})
}

func diagnose(ps []parsed) *Result {
	res := &Result{SchemaVersion: ResultSchemaVersion, Verdicts: []Verdict{}, Timeline: []Entry{}, Nodes: []NodeInfo{}, Sources: []Source{}}

	for _, p := range ps {
		res.Sources = append(res.Sources, p.src)
	}

	tls, notes := buildTimelines(ps)
	res.Notes = notes

	if len(tls) == 0 {
		tls = []*nodeTimeline{{originName: "first line"}}
	}

	resources := map[string]*resourceFacts{}

	for _, p := range ps {
		gatherResources(p.resources, resources)
	}

	// One node's console (no node names) beside one node's talosctl get
	// capture: the same node.
	if len(tls) == 1 && len(tls[0].events) > 0 && len(resources) == 1 {
		for node, f := range resources {
			if node != tls[0].node {
				resources = map[string]*resourceFacts{tls[0].node: f}
			}
		}
	}

	for _, tl := range tls {
		if len(resources) > 0 && tl.node == "" && len(tl.events) == 0 {
			continue // only talosctl get captures: their nodes follow
		}

		info := NodeInfo{Node: tl.node, Origin: tl.originName, Unaligned: tl.unaligned}
		if tl.hasWall {
			info.OriginTime = time.Unix(0, tl.origin-tl.wallOffset).UTC().Format(time.RFC3339Nano)
		}

		res.Nodes = append(res.Nodes, info)
		res.Verdicts = append(res.Verdicts, withResources(analyse(tl), resources[tl.node], tl.node)...)
		res.Timeline = append(res.Timeline, compact(tl)...)

		delete(resources, tl.node)
	}

	for _, node := range slices.Sorted(maps.Keys(resources)) {
		res.Nodes = append(res.Nodes, NodeInfo{Node: node, Origin: "talosctl get (no timeline)"})
		res.Verdicts = append(res.Verdicts, withResources([]Verdict{{ID: InsufficientEvidence, Node: node,
			Summary: "these captures do not say why the node booted into maintenance mode"}}, resources[node], node)...)
	}

	slices.SortStableFunc(res.Verdicts, func(a, b Verdict) int {
		if c := strings.Compare(a.Node, b.Node); c != 0 {
			return c
		}

		return slices.Index(verdictOrder, a.ID) - slices.Index(verdictOrder, b.ID)
	})

	return res
}

// Insufficient reports whether any node's verdict is insufficient-evidence.
func (r *Result) Insufficient() bool {
	for _, v := range r.Verdicts {
		if v.ID == InsufficientEvidence {
			return true
		}
	}

	return false
}

// Timeline limits: a storage driver's lines are many and alike, so only its
// first and last are shown; past maxEntries per node the rest is counted.
const maxEntries = 400

// compact picks the timeline lines worth showing.
func compact(tl *nodeTimeline) []Entry {
	lastOf := map[string]int{} // driver -> index of its last line
	firstOf := map[string]bool{}

	for i, e := range tl.events {
		if e.kind == kindController {
			lastOf[e.subject] = i
		}
	}

	var out []Entry

	omitted := 0

	for i, e := range tl.events {
		if e.kind == kindController {
			if firstOf[e.subject] && lastOf[e.subject] != i {
				continue
			}

			firstOf[e.subject] = true
		}

		if len(out) >= maxEntries {
			omitted++

			continue
		}

		out = append(out, Entry{
			Node: tl.node, AtS: tl.atS(&e), Time: tl.wallTime(&e), Approx: e.st.approx,
			Kind: e.kind.String(), File: e.file, Line: e.line, Text: e.msg,
		})
	}

	if omitted > 0 {
		out = append(out, Entry{Node: tl.node, Kind: "omitted", Text: fmt.Sprintf("%d more line(s) not shown", omitted)})
	}

	return out
}

// WriteText prints the result for a person: the verdicts with their
// evidence, then the compact timeline and the sources.
func (r *Result) WriteText(w io.Writer) {
	for i, v := range r.Verdicts {
		if i > 0 {
			fmt.Fprintln(w)
		}

		writeVerdict(w, v)
	}

	r.writeTimeline(w)

	fmt.Fprintln(w, "\nsources:")

	for _, s := range r.Sources {
		writeSource(w, s)
	}

	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// writeVerdict prints one verdict: its summary, explanation and advice,
// then the lines it quotes.
func writeVerdict(w io.Writer, v Verdict) {
	node := ""
	if v.Node != "" {
		node = " [" + v.Node + "]"
	}

	fmt.Fprintf(w, "%s%s: %s\n", v.ID, node, v.Summary)

	if v.Explanation != "" {
		writeWrapped(w, "  ", v.Explanation)
	}

	if v.LatenessS != nil {
		fmt.Fprintf(w, "  lateness: %.3f s; talos.device.settle_time that would have covered it: %ds\n", *v.LatenessS, v.SettleTimeS)
	}

	for _, rec := range v.Recommendations {
		writeWrapped(w, "  - ", rec)
	}

	if len(v.Evidence) > 0 {
		fmt.Fprintln(w, "  evidence:")
	}

	width := 0
	for _, e := range v.Evidence {
		width = max(width, len(fmt.Sprintf("%s:%d", e.File, e.Line)))
	}

	for _, e := range v.Evidence {
		fmt.Fprintf(w, "    %-*s %s  %s\n", width, fmt.Sprintf("%s:%d", e.File, e.Line), fmtAtS(e.AtS, e.Approx), clip(shorten(e.Message), 160))
	}
}

// writeTimeline prints the compact timeline, under a heading for each
// node that says what its times count from.
func (r *Result) writeTimeline(w io.Writer) {
	origin := map[string]NodeInfo{}
	for _, n := range r.Nodes {
		origin[n.Node] = n
	}

	node := "\x00"

	for _, e := range r.Timeline {
		if e.Node != node {
			node = e.Node
			info := origin[node]

			name := ""
			if node != "" {
				name = " of " + node
			}

			since := info.Origin
			if info.OriginTime != "" {
				since += " at " + info.OriginTime
			}

			fmt.Fprintf(w, "\ntimeline%s (seconds since %s):\n", name, since)
		}

		fmt.Fprintf(w, "  %s  %-20s %s\n", fmtAtS(e.AtS, e.Approx), e.Kind, clip(shorten(e.Text), 140))
	}
}

// writeSource prints one line about how an input was read.
func writeSource(w io.Writer, s Source) {
	formats := make([]string, len(s.Formats))
	for i, f := range s.Formats {
		formats[i] = string(f)
	}

	if len(formats) == 0 {
		formats = []string{"no known format"}
	}

	fmt.Fprintf(w, "  %s: %s; %d line(s), %d recognised", s.File, strings.Join(formats, ", "), s.Lines, s.Recognised)

	if s.LongLines > 0 {
		fmt.Fprintf(w, ", %d over-long line(s) skipped", s.LongLines)
	}

	if s.Dropped > 0 {
		fmt.Fprintf(w, ", %d recognised line(s) past the first %d not kept", s.Dropped, maxEventsPerSource)
	}

	if s.EarlierBoots > 0 {
		fmt.Fprintf(w, ", %d line(s) of earlier boots dropped", s.EarlierBoots)
	}

	if s.Note != "" {
		fmt.Fprintf(w, " (%s)", s.Note)
	}

	fmt.Fprintln(w)
}

// shorten drops the fields every controller-runtime line carries, for
// display: `volume status {"volume": "STATE", ...}`.
func shorten(msg string) string {
	const cr = `{"component": "controller-runtime", "controller": "`

	i := strings.Index(msg, cr)
	if i < 0 {
		return msg
	}

	rest := msg[i+len(cr):]

	end := strings.IndexByte(rest, '"')
	if end < 0 {
		return msg
	}

	ctrl, after := rest[:end], strings.TrimPrefix(rest[end+1:], ", ")
	if after == "}" {
		return msg[:i] + "[" + ctrl + "]"
	}

	return msg[:i] + "[" + ctrl + "] {" + after
}

// fmtAtS formats a time for the text output's column: "?" when unknown,
// "~" before an approximate one.
func fmtAtS(at *float64, approx bool) string {
	if at == nil {
		return fmt.Sprintf("%11s", "?")
	}

	s := fmt.Sprintf("%+.3fs", *at)
	if approx {
		s = "~" + s
	}

	return fmt.Sprintf("%11s", s)
}

// clip cuts s to n bytes, without splitting a UTF-8 sequence, and marks
// the cut with an ellipsis.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}

	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut-- // do not split a UTF-8 sequence
	}

	return s[:cut] + "…"
}

// writeWrapped writes text after prefix, wrapped near 100 columns.
func writeWrapped(w io.Writer, prefix, text string) {
	indent := strings.Repeat(" ", len(prefix))
	line, empty := prefix, true

	for _, word := range strings.Fields(text) {
		if !empty && len(line)+1+len(word) > 100 {
			fmt.Fprintln(w, line)
			line, empty = indent, true
		}

		if !empty {
			line += " "
		}

		line += word
		empty = false
	}

	fmt.Fprintln(w, line)
}

// withResources puts what a node's `talosctl get` capture shows in place of
// an insufficient-evidence verdict from its logs: the logs, when they have
// a verdict, say more.
func withResources(vs []Verdict, f *resourceFacts, node string) []Verdict {
	if f == nil {
		return vs
	}

	v := f.verdict()
	if v == nil {
		return vs
	}

	v.Node = node

	for i := range vs {
		if vs[i].ID == InsufficientEvidence {
			vs[i] = *v

			return vs
		}
	}

	return vs
}
