// Package problem is the vocabulary every check of STATE reports in: a
// Problem names its kind with a stable Code and says how much it matters
// with a Severity. blockdev and its format packages (blockdev/xfs,
// blockdev/luks2) share it; each declares the codes of its own checks.
package problem

import "fmt"

// Severity says how much a Problem matters to Talos.
type Severity string

// Severities, from the one that stops a mount to the one that only informs.
const (
	// SeverityError marks a problem the kernel or Talos refuses: the
	// filesystem will not mount as it is, or Talos will not locate it.
	SeverityError Severity = "error"
	// SeverityWarning marks something unusual that Talos still accepts.
	SeverityWarning Severity = "warning"
	// SeverityInfo marks a fact worth stating, such as what could not be
	// checked.
	SeverityInfo Severity = "info"
)

// Code names a kind of problem. Codes are stable: scripts, the gate's kernel
// log lines and the JSON output key on them, never on message text.
type Code string

// Problem is one finding of a verification, with a stable code and a sentence
// for a person.
type Problem struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
}

// String renders the problem as "severity code: message".
func (p Problem) String() string {
	return fmt.Sprintf("%s %s: %s", p.Severity, p.Code, p.Message)
}

// List collects findings in the order a check makes them; its methods keep
// checks short to write.
type List []Problem

// Add appends a problem of severity sev whose message is format and args.
func (l *List) Add(sev Severity, code Code, format string, args ...any) {
	*l = append(*l, Problem{Code: code, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

// Errorf appends an error.
func (l *List) Errorf(code Code, format string, args ...any) {
	l.Add(SeverityError, code, format, args...)
}

// Warnf appends a warning.
func (l *List) Warnf(code Code, format string, args ...any) {
	l.Add(SeverityWarning, code, format, args...)
}

// Infof appends an informational finding.
func (l *List) Infof(code Code, format string, args ...any) {
	l.Add(SeverityInfo, code, format, args...)
}

// HasErrors reports whether any problem has SeverityError.
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}

	return false
}

// Findings lists, in order, the codes of the problems in ps that are more
// than information (warnings and errors): what a one-line summary names.
func Findings(ps []Problem) []string {
	var codes []string

	for _, p := range ps {
		if p.Severity != SeverityInfo {
			codes = append(codes, string(p.Code))
		}
	}

	return codes
}

// Codes lists the codes of ps in order; tests and summaries use it.
func Codes(ps []Problem) []Code {
	out := make([]Code, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Code)
	}

	return out
}
