package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer

	code := dispatch(args, &stdout, &stderr)

	return code, stdout.String(), stderr.String()
}

func TestHelpAndUsage(t *testing.T) {
	// Help goes to standard output, however it is asked for.
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			if code, stdout, stderr := run(args...); code != 0 || stderr != "" || !strings.Contains(stdout, "Usage: raid-settle "+c.name) {
				t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
			}
		}
	}

	for _, args := range [][]string{{"help"}, {"--help"}} {
		if code, stdout, _ := run(args...); code != 0 || !strings.Contains(stdout, "Commands:") {
			t.Errorf("%v: exit %d\n%s", args, code, stdout)
		}
	}

	if code, stdout, _ := run("version", "--json"); code != 0 || !strings.Contains(stdout, `"schema_version":1`) || !strings.Contains(stdout, `"version":"`) {
		t.Errorf("version --json: exit %d: %s", code, stdout)
	}

	// A usage error goes to standard error.
	if code, stdout, stderr := run("verify", "--frobnicate", "x.img"); code != exitUsage || stdout != "" || !strings.Contains(stderr, "Usage: raid-settle verify") {
		t.Errorf("verify with an unknown flag: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	if code, _, _ := run(); code != exitUsage {
		t.Errorf("no command: exit %d", code)
	}

	if code, _, stderr := run("frobnicate"); code != exitUsage || !strings.Contains(stderr, "unknown command") {
		t.Errorf("unknown command: exit %d, %s", code, stderr)
	}

	if code, _, _ := run("verify"); code != exitUsage {
		t.Errorf("verify without a device: exit %d", code)
	}

	if code, _, _ := run("verify", "--all", "x.img"); code != exitUsage {
		t.Errorf("verify --all with a device: exit %d", code)
	}

	if code, _, _ := run("verify", "--sector-size", "1000", "x.img"); code != exitUsage {
		t.Errorf("verify with a bad sector size: exit %d", code)
	}
}

func TestVerifyExitCodesAndJSON(t *testing.T) {
	testenv.Tools(t, testenv.DiskTools...)

	dir := t.TempDir()
	healthy := filepath.Join(dir, "healthy.img")
	broken := filepath.Join(dir, "broken.img")
	blank := filepath.Join(dir, "blank.img")

	for _, img := range []string{healthy, broken} {
		if err := diskimage.Build(img, dir, diskimage.TalosDisk(512, diskimage.XFS)); err != nil {
			t.Fatal(err)
		}
	}

	if err := diskimage.DamageState(broken, 512, diskimage.DamageCRC); err != nil {
		t.Fatal(err)
	}

	if err := diskimage.Blank(blank, 32*diskimage.MiB); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{healthy}, 0},
		{[]string{broken}, 1},
		{[]string{blank}, 2},
		{[]string{healthy, broken}, 3},
		{[]string{filepath.Join(dir, "missing.img")}, 4},
	} {
		if code, stdout, _ := run(append([]string{"verify"}, tc.args...)...); code != tc.code {
			t.Errorf("verify %v: exit %d, want %d\n%s", tc.args, code, tc.code, stdout)
		}
	}

	code, stdout, _ := run("verify", "--json", broken)
	if code != 1 {
		t.Fatalf("verify --json: exit %d", code)
	}

	// Flags may follow the arguments, and "--" ends them.
	if after, afterOut, stderr := run("verify", broken, "--json"); after != 1 || afterOut != stdout {
		t.Errorf("verify IMG --json: exit %d, output differs from verify --json IMG\n%s", after, stderr)
	}

	if code, stdout, _ := run("verify", "--", "--json"); code != 4 || !strings.Contains(stdout, "--json") {
		t.Errorf("verify -- --json (a file named --json, missing): exit %d\n%s", code, stdout)
	}

	var rep struct {
		Outcome    string `json:"outcome"`
		Candidates []struct {
			Device    *string `json:"device"`
			Partition *int    `json:"partition"`
			Offset    *int64  `json:"offset"`
			Size      *int64  `json:"size"`
			Content   string  `json:"content"`
			Verdict   string  `json:"verdict"`
			Problems  []struct {
				Code     string `json:"code"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
			} `json:"problems"`
		} `json:"candidates"`
	}

	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}

	c := rep.Candidates[0]
	if rep.Outcome != "state-failed" || c.Device == nil || c.Partition == nil || *c.Partition != 5 || c.Offset == nil || c.Size == nil ||
		c.Content != "xfs" || c.Verdict != "corrupt" || len(c.Problems) == 0 || c.Problems[0].Code != "xfs-bad-crc" || c.Problems[0].Severity != "error" {
		t.Fatalf("JSON report:\n%s", stdout)
	}
}

// TestDocumentedCodes keeps docs/verify-json.md listing every problem code.
func TestDocumentedCodes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/verify-json.md")
	if err != nil {
		t.Fatal(err)
	}

	for _, code := range blockdev.AllCodes {
		if !strings.Contains(string(doc), "`"+string(code)+"`") {
			t.Errorf("docs/verify-json.md does not document %s", code)
		}
	}
}

func TestReplayDocumentedExample(t *testing.T) {
	code, stdout, stderr := run("replay", "--json", "testdata/timeline-megaraid.json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	var out struct {
		Decision string `json:"decision"`
		AtMS     int64  `json:"at_ms"`
		Reason   string `json:"reason"`
	}

	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}

	if out.Decision != "state-verified" || out.AtMS != 6020 || out.Reason == "" {
		t.Fatalf("replay: %+v", out)
	}

	if code, stdout, _ = run("replay", "--json", "--quiet", "3", "testdata/timeline-megaraid.json"); code != 0 || !strings.Contains(stdout, `"decision": "no-state"`) || !strings.Contains(stdout, `"at_ms": 3000`) {
		t.Fatalf("replay --quiet 3: exit %d\n%s", code, stdout)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"timeline":[{"at_ms":1,"kind":"spoon"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	if code, _, stderr = run("replay", bad); code != exitUsage || !strings.Contains(stderr, "unknown kind") {
		t.Fatalf("replay of a bad timeline: exit %d, %s", code, stderr)
	}
}
