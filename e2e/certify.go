package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/certify"
)

// Checks on a boot that ran raid-settle certify in the guest (Certify).
var (
	// CertifyExit0: certify exited 0 (every device came back every cycle).
	CertifyExit0 = Check{"certify exited 0", func(r *Result) bool { return r.CertifyRC == 0 }}
	// CertifyCycles3: certify.json counts 3 cycles, none failed, on at
	// least one controller.
	CertifyCycles3 = Check{"certify: 3 cycles, 0 failed", func(r *Result) bool {
		if r.Certify == nil || r.Certify.Cycles != 3 || len(r.Certify.Controllers) == 0 {
			return false
		}

		for _, c := range r.Certify.Controllers {
			if c.Stats.Cycles != 3 || c.Stats.Failed != 0 {
				return false
			}
		}

		return true
	}}
	// CertifyProfile: certify wrote a profile file, and the harness kept it.
	CertifyProfile = Check{"certify wrote a profile", func(r *Result) bool {
		return r.Certify != nil && len(r.Certify.Profiles) > 0 && len(r.Profiles) == len(r.Certify.Profiles)
	}}
	// CertifiedProfileUsed: the gate took the certified profile for the
	// megasas controller, not the built-in one.
	CertifiedProfileUsed = Check{"gate used the certified profile (megaraid_sas profile for 1000:0060)", func(r *Result) bool {
		return r.GateLog("(megaraid_sas profile for 1000:0060)") && !r.GateLog("(megaraid_sas profile)")
	}}
)

// profileOverlay writes into dir an initramfs made of base followed by a
// second cpio archive holding the profiles the certify boot of scenario
// from left under out (the matrix's folder), in the extension's profile
// folder: the kernel unpacks both, the second over the first. It returns
// the new initramfs and the profiles' file names.
func profileOverlay(base, out, from, dir string) (string, []string, error) {
	src := filepath.Join(out, from+"-"+string(With), CertifyDirName, certify.ProfileDir)

	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return "", nil, err
	}

	if len(files) == 0 {
		return "", nil, fmt.Errorf("no profile under %s: run %s first", src, from)
	}

	sort.Strings(files)

	var overlay bytes.Buffer

	c := newCPIOWriter(&overlay)

	var names []string

	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", nil, err
		}

		names = append(names, filepath.Base(f))
		c.File("usr/local/lib/raid-settle/profiles/"+filepath.Base(f), 0o644, data)
	}

	if err := c.Close(); err != nil {
		return "", nil, err
	}

	in, err := os.Open(base)
	if err != nil {
		return "", nil, err
	}
	defer in.Close()

	path := filepath.Join(dir, "initrd.cpio")

	w, err := os.Create(path)
	if err != nil {
		return "", nil, err
	}

	n, err := io.Copy(w, in)
	if err == nil && n%512 != 0 {
		// The kernel skips zeros between archives; each must start 4-aligned.
		_, err = w.Write(make([]byte, 512-n%512))
	}

	if err == nil {
		_, err = w.Write(overlay.Bytes())
	}

	if cerr := w.Close(); err == nil {
		err = cerr
	}

	return path, names, err
}

// ReportsCertification is raid-settle certify --from-reports run by the
// harness over gate reports of the matrix.
type ReportsCertification struct {
	// Prefix selects the scenarios (one machine) whose reports were read.
	Prefix   string
	Reports  []string
	Dir      string
	Profiles []string
	Summary  string
	Err      error
}

// OK reports whether it produced a profile.
func (c *ReportsCertification) OK() bool { return c.Err == nil && len(c.Profiles) > 0 }

// CertifyReports runs what `raid-settle certify --driver megaraid_sas
// --from-reports` does over the report.json files kept from the boots with
// raid-settle of the scenarios whose ID starts with prefix, and writes the
// results under dir. It returns nil when there is no such report.
func CertifyReports(outs []Outcome, prefix, dir string) *ReportsCertification {
	c := &ReportsCertification{Prefix: prefix, Dir: dir}

	for _, o := range outs {
		if strings.HasPrefix(o.Scenario.ID, prefix) && o.Result.Variant == With && o.Result.ReportFile != "" {
			c.Reports = append(c.Reports, o.Result.ReportFile)
		}
	}

	if len(c.Reports) == 0 {
		return nil
	}

	tl, err := certify.ReadFiles(c.Reports)
	if err == nil {
		err = tl.Select("", "megaraid_sas")
	}

	if err != nil {
		c.Err = err

		return c
	}

	res := certify.Analyze(tl)
	res.Version = "e2e"
	res.Created = time.Now().UTC()
	res.DeriveProfiles(certify.DefaultRule)

	if _, err := res.WriteDir(dir); err != nil {
		c.Err = err

		return c
	}

	var b bytes.Buffer
	res.WriteSummary(&b)
	c.Summary = b.String()

	for _, p := range res.Profiles {
		c.Profiles = append(c.Profiles, filepath.Join(dir, filepath.FromSlash(p.File)))
	}

	if len(c.Profiles) == 0 {
		c.Err = fmt.Errorf("no profile derived from %d reports", len(c.Reports))
	}

	return c
}

// WriteCertify writes what raid-settle certify gave: the profiles the
// guest's live runs wrote, and the harness's own runs over the gate
// reports (nil ones are skipped).
func WriteCertify(w io.Writer, outs []Outcome, cs []*ReportsCertification) {
	for _, o := range outs {
		r := o.Result
		if !o.Scenario.Certify {
			continue
		}

		fmt.Fprintf(w, "%s: certify in the guest exited %d", o.Scenario.ID, r.CertifyRC)

		if r.Certify != nil {
			fmt.Fprintf(w, ", %d cycles", r.Certify.Cycles)

			for _, ctl := range r.Certify.Controllers {
				fmt.Fprintf(w, ", %d complete, %d failed", ctl.Stats.Complete, ctl.Stats.Failed)
			}
		}

		fmt.Fprintln(w)

		names := make([]string, 0, len(r.Profiles))
		for n := range r.Profiles {
			names = append(names, n)
		}

		sort.Strings(names)

		for _, n := range names {
			fmt.Fprintf(w, "  %s: %s\n", n, r.Profiles[n])
		}
	}

	for _, c := range cs {
		if c == nil {
			continue
		}

		fmt.Fprintf(w, "certify --driver megaraid_sas --from-reports over the %d gate reports of %s*: ", len(c.Reports), c.Prefix)

		if c.Err != nil {
			fmt.Fprintf(w, "FAILED: %v\n", c.Err)

			continue
		}

		fmt.Fprintf(w, "%d profile(s) in %s\n", len(c.Profiles), c.Dir)

		for _, line := range strings.Split(strings.TrimRight(c.Summary, "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}

		for _, p := range c.Profiles {
			data, _ := os.ReadFile(p)

			var compact bytes.Buffer
			if json.Compact(&compact, data) == nil {
				fmt.Fprintf(w, "  %s: %s\n", filepath.Base(p), compact.String())
			}
		}
	}
}

// CertifyMachines are the scenario-2 machines the matrix certifies from
// their gate reports, one ID prefix each: a certification reads boots of
// one machine (a controller's devices are known by their place on it).
var CertifyMachines = []string{"2-hotplug-", "2-late-volume-"}
