package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/diagnose"
)

// CertifyDirName is the folder under a boot's directory that receives the
// guest's certify results (certify.json, profiles/).
const CertifyDirName = "certify"

// keep writes what the guest printed of its files into the boot's
// directory: the gate's report.json, diagnosed with diagnose.DiagnoseReport,
// and certify's results.
func (r *Result) keep(dir string) error {
	var errs []string

	if r.reportJSON != "" {
		file := filepath.Join(dir, "report.json")
		if err := os.WriteFile(file, []byte(r.reportJSON+"\n"), 0o644); err != nil {
			errs = append(errs, err.Error())
		} else {
			r.ReportFile = file
		}

		var rep agent.Report
		if err := json.Unmarshal([]byte(r.reportJSON), &rep); err != nil {
			errs = append(errs, "gate report is not an agent.Report: "+err.Error())
		} else {
			r.Diagnose = diagnoseIDs(file, &rep)
		}
	}

	for p, data := range r.files {
		rel, ok := strings.CutPrefix(path.Clean(p), "/run/certify/")
		if !ok || rel == "" || strings.HasPrefix(rel, "..") {
			errs = append(errs, "unexpected guest file "+p)

			continue
		}

		r.CertifyDir = filepath.Join(dir, CertifyDirName)
		file := filepath.Join(r.CertifyDir, filepath.FromSlash(rel))

		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			errs = append(errs, err.Error())

			continue
		}

		if err := os.WriteFile(file, []byte(data+"\n"), 0o644); err != nil {
			errs = append(errs, err.Error())

			continue
		}

		switch {
		case rel == "certify.json":
			var c CertifyResults
			if err := json.Unmarshal([]byte(data), &c); err != nil {
				errs = append(errs, "certify.json: "+err.Error())
			} else {
				r.Certify = &c
			}
		case strings.HasPrefix(rel, "profiles/"):
			if r.Profiles == nil {
				r.Profiles = map[string]string{}
			}

			r.Profiles[path.Base(rel)] = data
		}
	}

	if len(errs) > 0 {
		return fmt.Errorf("keeping the guest's files: %s", strings.Join(errs, "; "))
	}

	return nil
}

// diagnoseIDs runs the gate's report through diagnose.DiagnoseReport and
// returns the verdict ids, the main one first.
func diagnoseIDs(name string, rep *agent.Report) []string {
	res := diagnose.DiagnoseReport(name, rep)

	ids := make([]string, 0, len(res.Verdicts))
	for _, v := range res.Verdicts {
		ids = append(ids, string(v.ID))
	}

	return ids
}

// diagnoseFor is the verdict diagnose must give a gate report with this
// decision.
var diagnoseFor = map[string]diagnose.VerdictID{
	"state-verified": diagnose.Healthy,
	"state-invalid":  diagnose.StateCorrupt,
	"no-state":       diagnose.NoState,
}

// Diagnosed: the gate's report was kept and diagnose's main verdict on it
// is id.
func Diagnosed(id diagnose.VerdictID) Check {
	return Check{"diagnose says " + string(id), func(r *Result) bool {
		return r.ReportFile != "" && len(r.Diagnose) > 0 && r.Diagnose[0] == string(id)
	}}
}

// DiagnoseAgrees: the gate's report was kept and diagnose's main verdict on
// it is the one the gate's decision calls for (and never late-disk, which a
// report alone cannot show). Every boot with raid-settle must pass it.
var DiagnoseAgrees = Check{"report kept and diagnose agrees with the gate", func(r *Result) bool {
	want, ok := diagnoseFor[r.GateDecision()]
	if !ok || r.ReportFile == "" || len(r.Diagnose) == 0 || r.Diagnose[0] != string(want) {
		return false
	}

	for _, id := range r.Diagnose {
		if id == string(diagnose.LateDisk) {
			return false
		}
	}

	return true
}}
