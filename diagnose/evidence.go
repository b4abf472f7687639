package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Quoting limits: lines per verdict, and lines of each kind of error (the
// same error repeats at every retry).
const (
	maxEvidence   = 12
	maxQuotesEach = 2
)

// addEvidence quotes e under role, once; it reports whether e was added.
// A nil e, or a verdict already quoting maxEvidence lines, adds nothing.
func (v *Verdict) addEvidence(f *facts, role string, e *event) bool {
	if e == nil || len(v.Evidence) >= maxEvidence {
		return false
	}

	for _, x := range v.Evidence {
		if x.File == e.file && x.Line == e.line && x.Text == e.text {
			return false
		}
	}

	v.Evidence = append(v.Evidence, f.evidence(role, e))

	return true
}

// locate names part as STATE's partition, unless the verdict names one
// already.
func (v *Verdict) locate(part string) {
	if v.Partition == "" {
		v.Partition, v.Disk = part, diskOf(part)
	}
}

// evidence quotes e under role, with its times on the node's axis.
func (f *facts) evidence(role string, e *event) Evidence {
	ev := Evidence{Role: role, File: e.file, Line: e.line, Text: e.text, Message: e.msg, Approx: e.st.approx}
	ev.AtS = f.atS(e)
	ev.Time = f.tl.wallTime(e)

	return ev
}

// argument is a verdict being built from findings: the lines it quotes
// and, in the same order, the reasons they give.
type argument struct {
	f       *facts
	v       *Verdict
	reasons []string
}

// cite quotes the first maxQuotesEach of es under role and adds reason. It
// does nothing when es is empty: there is nothing to cite.
func (a *argument) cite(role, reason string, es ...*event) {
	if len(es) == 0 {
		return
	}

	for _, e := range es[:min(len(es), maxQuotesEach)] {
		a.v.addEvidence(a.f, role, e)
	}

	a.reasons = append(a.reasons, reason)
}

// because adds a reason that no line shows.
func (a *argument) because(reason string) {
	a.reasons = append(a.reasons, reason)
}

// explanation joins the reasons into one sentence, a repeated one once.
func (a *argument) explanation() string {
	return strings.Join(slices.Compact(a.reasons), "; ") + "."
}

// atS is e's time in seconds since the node's origin, nil when unknown.
func (f *facts) atS(e *event) *float64 {
	return f.tl.atS(e)
}

// fmtAt is e's time for a sentence: "+12.345s", or "an unknown time".
func (f *facts) fmtAt(e *event) string {
	if s := f.atS(e); s != nil {
		return fmt.Sprintf("%+.3fs", *s)
	}

	return "an unknown time"
}

// seconds rounds ns to milliseconds, in seconds.
func seconds(ns int64) float64 {
	return math.Round(float64(ns)/1e6) / 1e3
}

// byTime orders evidence by time, lines without one last.
func byTime(a, b Evidence) int {
	switch {
	case a.AtS == nil && b.AtS == nil:
		return 0
	case a.AtS == nil:
		return 1
	case b.AtS == nil:
		return -1
	case *a.AtS < *b.AtS:
		return -1
	case *a.AtS > *b.AtS:
		return 1
	}

	return 0
}

// nameOr returns a, or b when a is empty.
func nameOr(a, b string) string {
	if a != "" {
		return a
	}

	return b
}
