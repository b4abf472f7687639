package blockdev

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

// problems collects findings; it keeps checks short to write.
type problems []Problem

func (ps *problems) add(sev Severity, code Code, format string, args ...any) {
	*ps = append(*ps, Problem{Code: code, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) errorf(code Code, format string, args ...any) {
	ps.add(SeverityError, code, format, args...)
}

func (ps *problems) warnf(code Code, format string, args ...any) {
	ps.add(SeverityWarning, code, format, args...)
}

func (ps *problems) infof(code Code, format string, args ...any) {
	ps.add(SeverityInfo, code, format, args...)
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

// Codes lists the codes of ps in order; tests and summaries use it.
func Codes(ps []Problem) []Code {
	out := make([]Code, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Code)
	}

	return out
}
