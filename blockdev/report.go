package blockdev

import (
	"context"
	"fmt"
)

// Outcome is the overall answer of a verification over one or more disks.
// Its numeric value is the exit code of `raid-settle verify`.
type Outcome int

// Outcomes, with their exit codes.
const (
	// OutcomeOK: exactly one STATE, and it verifies.
	OutcomeOK Outcome = 0
	// OutcomeFailed: exactly one STATE, and it does not verify.
	OutcomeFailed Outcome = 1
	// OutcomeNoState: no partition named STATE anywhere.
	OutcomeNoState Outcome = 2
	// OutcomeMultiple: more than one partition named STATE.
	OutcomeMultiple Outcome = 3
	// OutcomeError: a disk could not be examined at all, or the request was
	// wrong. It takes precedence: the unexamined disk may hold a STATE.
	OutcomeError Outcome = 4
)

// String names the outcome as the JSON report does.
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFailed:
		return "state-failed"
	case OutcomeNoState:
		return "no-state"
	case OutcomeMultiple:
		return "multiple-state"
	default:
		return "error"
	}
}

// MarshalText makes the outcome appear by name in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// DiskError is a disk that could not be examined at all.
type DiskError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ReportSchemaVersion is the version of Report's JSON form
// (docs/verify-json.md): 2 since every key is snake_case (the xfs and luks2
// objects had Go field names in 1, which carried no schema_version).
const ReportSchemaVersion = 2

// Report is the result of verifying several disks: the stable JSON document
// of `raid-settle verify --json`, which the gate's report embeds as well.
type Report struct {
	// SchemaVersion is ReportSchemaVersion.
	SchemaVersion int `json:"schema_version"`
	// Outcome summarises the candidates; see Outcome.
	Outcome Outcome `json:"outcome"`
	// Summary is one sentence for a person.
	Summary string `json:"summary"`
	// Disks are the disks and images examined, without their candidates.
	Disks []Disk `json:"disks"`
	// Candidates are every partition named STATE found, verified.
	Candidates []Result `json:"candidates"`
	// Errors are the disks that could not be examined.
	Errors []DiskError `json:"errors"`
}

// VerifyAll verifies every path and sums up the outcome.
func VerifyAll(ctx context.Context, paths []string, opts LocateOptions, policy RetryPolicy) Report {
	rep := Report{SchemaVersion: ReportSchemaVersion, Disks: []Disk{}, Candidates: []Result{}, Errors: []DiskError{}}

	for _, path := range paths {
		disk, results, err := VerifyDevice(ctx, path, opts, policy)
		if err != nil {
			rep.Errors = append(rep.Errors, DiskError{Path: path, Message: err.Error()})

			continue
		}

		disk.Candidates = nil
		rep.Disks = append(rep.Disks, *disk)
		rep.Candidates = append(rep.Candidates, results...)
	}

	rep.Outcome, rep.Summary = summarise(rep)

	return rep
}

// summarise applies the exit-code rules in order: a disk that could not be
// examined makes the whole answer uncertain (it may hold a STATE), so it
// comes first; then the number of candidates; then the one verdict.
func summarise(rep Report) (Outcome, string) {
	if len(rep.Errors) > 0 {
		return OutcomeError, fmt.Sprintf("%d disk(s) could not be examined, so the answer is incomplete: %s", len(rep.Errors), rep.Errors[0].Message)
	}

	switch n := len(rep.Candidates); {
	case n > 1:
		where := make([]string, 0, n)
		for _, c := range rep.Candidates {
			where = append(where, fmt.Sprintf("%s partition %d (%s)", c.Device, c.Partition, c.Verdict))
		}

		return OutcomeMultiple, fmt.Sprintf("%d partitions named STATE: %v; Talos would pick one of them, check which disk is meant to boot", n, where)
	case n == 1 && rep.Candidates[0].Verdict == VerdictOK:
		c := rep.Candidates[0]

		return OutcomeOK, fmt.Sprintf("STATE on %s partition %d verifies (%s)", c.Device, c.Partition, c.Content)
	case n == 1:
		c := rep.Candidates[0]

		return OutcomeFailed, fmt.Sprintf("STATE on %s partition %d is %s (%s)", c.Device, c.Partition, c.Verdict, c.Content)
	default:
		return OutcomeNoState, fmt.Sprintf("no partition named STATE on %d disk(s)", len(rep.Disks))
	}
}
