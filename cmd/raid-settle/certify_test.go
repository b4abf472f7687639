//go:build !node

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/agent"
)

func percReports(t *testing.T) []string {
	t.Helper()

	files, err := filepath.Glob(filepath.Join("..", "..", "certify", "testdata", "perc-boot-*.json"))
	if err != nil || len(files) != 5 {
		t.Fatalf("%v %v", files, err)
	}

	return files
}

func TestCertifyFromReports(t *testing.T) {
	out := t.TempDir()

	// Flags may follow the files.
	args := append(append([]string{"certify", "--from-reports"}, percReports(t)...), "--driver", "megaraid_sas", "--out", out)

	code, stdout, stderr := run(args...)
	if code != certifyFailed {
		t.Fatalf("exit %d (boot 4 lost a drive: want %d)\n%s\n%s", code, certifyFailed, stdout, stderr)
	}

	for _, want := range []string{
		"verdict: NOT CERTIFIED: 0000:18:00.0 megaraid_sas lost a device in 1 of 5 cycles",
		"0000:18:00.0 megaraid_sas (1000:005d): 5 cycle(s), 4 complete, 1 with a device missing",
		"profile: quiet 16s, max_quiet 32s, gap_factor 2 -> profiles/profile-megaraid_sas-1000-005d.json",
		"wrote " + filepath.Join(out, "report.html"),
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}

	if strings.Contains(stdout, "0000:00:17.0") {
		t.Errorf("--driver kept the AHCI controller:\n%s", stdout)
	}

	var results struct {
		SchemaVersion int    `json:"schema_version"`
		Verdict       string `json:"verdict"`
		Source        string `json:"source"`
		Cycles        int    `json:"cycles"`
		Controllers   []struct {
			Stats struct {
				Failed int `json:"failed"`
			} `json:"stats"`
		} `json:"controllers"`
	}

	data, err := os.ReadFile(filepath.Join(out, "certify.json"))
	if err != nil {
		t.Fatal(err)
	}

	if err := json.Unmarshal(data, &results); err != nil || results.Source != "reports" || results.Verdict != "not-certified" || results.SchemaVersion != 1 || results.Cycles != 5 || len(results.Controllers) != 1 || results.Controllers[0].Stats.Failed != 1 {
		t.Errorf("certify.json: %v %+v", err, results)
	}

	profiles, err := agent.LoadProfiles(filepath.Join(out, "profiles"), nil)
	if err != nil || len(profiles) != 1 || profiles[0].Quiet != agent.Seconds(16) {
		t.Errorf("profiles in %s: %+v %v", out, profiles, err)
	}

	// Without the lost boot, every cycle is complete: exit 0, but three
	// cycles are too few to certify. --json prints the results instead of
	// the summary.
	code, stdout, stderr = run(append([]string{"certify", "--json", "--out", t.TempDir(), "--from-reports"}, percReports(t)[:3]...)...)
	if code != 0 {
		t.Errorf("three good boots: exit %d\n%s\n%s", code, stdout, stderr)
	}

	results.Verdict = ""
	if err := json.Unmarshal([]byte(stdout), &results); err != nil || results.Verdict != "too-few-cycles" {
		t.Errorf("certify --json of three good boots: %v, verdict %q\n%s", err, results.Verdict, stdout)
	}
}

func TestCertifyUsage(t *testing.T) {
	report := percReports(t)[0]

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"certify"}, "Usage: raid-settle certify"},
		{[]string{"certify", "--from-reports"}, "--from-reports needs report or log files"},
		{[]string{"certify", "--from-reports", "--cycles", "3", report}, "exclude each other"},
		{[]string{"certify", report}, "files are read with --from-reports only"},
		{[]string{"certify", "--cycles", "3"}, "--cycles needs --controller or --driver"},
		{[]string{"certify", "--cycles", "3", "--driver", "megaraid_sas", "--method", "reboot"}, "--method is unbind or rescan"},
		{[]string{"certify", "--cycles", "3", "--driver", "megaraid_sas", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"certify", "--from-reports", "--controller", "0000:99:00.0", report}, "no controller matches"},
		{[]string{"certify", "--from-reports", filepath.Join(t.TempDir(), "absent.json")}, "no such file"},
		{[]string{"certify", "--cycles", "1", "--driver", "megaraid_sas", "--sysfs", t.TempDir()}, "no storage controller is bound to megaraid_sas"},
	} {
		code, _, stderr := run(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr:\n%s", tc.args, code, stderr)
		}
	}
}

// TestCertifyJSONDocumented checks every key of docs/certify.md's example
// against what certify --json prints for the PERC boot reports in
// certify/testdata, one of which lost a drive.
func TestCertifyJSONDocumented(t *testing.T) {
	example := docExample(t, "certify.md", "(?s)## `certify.json`.*?```json\n(.*?)```")

	code, stdout, stderr := run(append([]string{"certify", "--json", "--out", t.TempDir(), "--from-reports"}, percReports(t)...)...)
	if code != certifyFailed {
		t.Fatalf("exit %d\n%s", code, stderr)
	}

	printed := map[string]bool{}
	addKeys(t, printed, stdout, stderr)
	checkDocumented(t, "docs/certify.md", "certify --json", example, printed)
}
