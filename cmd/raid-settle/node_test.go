//go:build !node

package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNodeBuild checks the build the extension ships: none of the
// workstation commands' packages, nor the heavy libraries only they (or
// go-blockdevice's blkid, whose checks blockdev restates) would bring, and a
// clear answer when a workstation command is asked for.
func TestNodeBuild(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "node", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -tags node -deps: %v", err)
	}

	deps := strings.Fields(string(out))
	for _, pkg := range []string{
		"github.com/raid-settle/raid-settle/certify",
		"github.com/raid-settle/raid-settle/diagnose",
		"github.com/siderolabs/go-blockdevice/v2/blkid",
		"go.uber.org/zap",
		"net/http",
		"html/template",
		"text/template",
	} {
		if slices.Contains(deps, pkg) {
			t.Errorf("the node build links %s", pkg)
		}
	}

	bin := filepath.Join(t.TempDir(), "raid-settle")
	if out, err := exec.Command("go", "build", "-tags", "node", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags node: %v: %s", err, out)
	}

	// The gate writes its kernel-log lines and never parses them: a regexp
	// compiled at start-up cost it and its worker 2 to 3 ms each, natively.
	syms, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}

	if strings.Contains(string(syms), " regexp.compile") {
		t.Error("the node build compiles regular expressions")
	}

	out, err = exec.Command(bin, "diagnose").CombinedOutput()
	if code := exitCodeOf(err); code != exitUsage || !strings.Contains(string(out), "not in this build") {
		t.Errorf("node build's diagnose: exit %d: %s", code, out)
	}

	if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
		t.Errorf("node build's version: %v: %s", err, out)
	}
}

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}

	if err != nil {
		return -1
	}

	return 0
}
