package certify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Output file names in the --out directory.
const (
	ResultsFile = "certify.json"
	ReportFile  = "report.html"
	// ProfileDir holds the profiles alone, so that it can be copied into
	// the gate's profile directory as it is: the gate loads every *.json
	// there, and would refuse certify.json.
	ProfileDir = "profiles"
)

// WriteDir writes the results (certify.json), the HTML report
// (report.html) and every profile (under profiles/) into dir, creating
// them, and returns the paths written.
func (res *Results) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	var written []string

	if len(res.Profiles) > 0 {
		if err := os.MkdirAll(filepath.Join(dir, ProfileDir), 0o755); err != nil {
			return nil, err
		}
	}

	write := func(name string, data []byte) error {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return err
		}

		written = append(written, file)

		return nil
	}

	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}

	if err := write(ResultsFile, append(data, '\n')); err != nil {
		return written, err
	}

	var html bytes.Buffer
	if err := res.WriteHTML(&html); err != nil {
		return written, fmt.Errorf("failed to render the report: %w", err)
	}

	if err := write(ReportFile, html.Bytes()); err != nil {
		return written, err
	}

	for _, pf := range res.Profiles {
		data, err := json.MarshalIndent(pf.Profile, "", "  ")
		if err != nil {
			return written, err
		}

		if err := write(pf.File, append(data, '\n')); err != nil {
			return written, err
		}
	}

	return written, nil
}

// WriteSummary writes the verdict, then a few lines per controller, for a
// terminal.
func (res *Results) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "verdict: %s: %s\n", strings.ToUpper(strings.ReplaceAll(string(res.Verdict), "-", " ")), res.VerdictReason)

	for _, c := range res.Controllers {
		id := c.Identity
		s := c.Stats

		fmt.Fprintf(w, "%s %s (%s): %d cycle(s), %d complete, %d with a device missing\n", id.Address, orNone(id.Driver), id.PCIID, s.Cycles, s.Complete, s.Failed)

		if s.DiskDelay.N > 0 {
			fmt.Fprintf(w, "  disks arrive %s..%s after the reference (median %s, p99 %s); last arrival up to %s; longest gap %s\n",
				FormatMS(s.DiskDelay.Min), FormatMS(s.DiskDelay.Max), FormatMS(s.DiskDelay.Median), FormatMS(s.DiskDelay.P99),
				FormatMS(s.LastArrival.Max), FormatMS(s.Gap.Max))
		}

		for _, n := range c.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}

		if c.ProfileFile != "" {
			for _, pf := range res.Profiles {
				if pf.File == c.ProfileFile {
					fmt.Fprintf(w, "  profile: quiet %s, max_quiet %s, gap_factor %g -> %s\n", pf.Profile.Quiet, pf.Profile.MaxQuiet, pf.Profile.GapFactor, pf.File)
				}
			}
		} else if c.NoProfile != "" {
			fmt.Fprintf(w, "  no profile: %s\n", c.NoProfile)
		}
	}
}

// Judge sets the verdict and its reason from the controllers' cycles.
func (res *Results) Judge() {
	var lost, short []string

	for _, c := range res.Controllers {
		name := fmt.Sprintf("%s %s", c.Identity.Address, orNone(c.Identity.Driver))

		switch {
		case c.Stats.Failed > 0:
			lost = append(lost, fmt.Sprintf("%s lost a device in %d of %d cycles", name, c.Stats.Failed, c.Stats.Cycles))
		case c.Stats.Cycles < MinCycles:
			short = append(short, fmt.Sprintf("%s ran %d cycle(s)", name, c.Stats.Cycles))
		}
	}

	switch {
	case len(res.Controllers) == 0:
		res.Verdict, res.VerdictReason = VerdictNotCertified, "no controller was observed"
	case len(lost) > 0:
		res.Verdict, res.VerdictReason = VerdictNotCertified, strings.Join(lost, "; ")
	case len(short) > 0:
		res.Verdict, res.VerdictReason = VerdictTooFewCycles, strings.Join(short, "; ")+fmt.Sprintf(", fewer than the %d a certification rests on; no device was lost", MinCycles)
	default:
		res.Verdict, res.VerdictReason = VerdictCertified, fmt.Sprintf("every device came back in every cycle, over at least %d cycles per controller", MinCycles)
	}
}

// Failed reports whether some cycle of some controller lost a device.
func (res *Results) Failed() bool {
	for _, c := range res.Controllers {
		if c.Stats.Failed > 0 {
			return true
		}
	}

	return false
}

// title names the results for the report's heading.
func (res *Results) title() string {
	var parts []string

	for _, c := range res.Controllers {
		if c.Stats.DiskDelay.N > 0 || len(res.Controllers) == 1 {
			parts = append(parts, fmt.Sprintf("%s %s", c.Identity.Address, orNone(c.Identity.Driver)))
		}
	}

	return strings.Join(parts, ", ")
}
