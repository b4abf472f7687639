// Package testenv marks the tests that need more than Go: real tools
// (mkfs.xfs, cryptsetup, sgdisk, blkid), root (loop devices, namespaces), or
// a browser.
//
// The project has two test tiers. `make unit` runs `go test -short`: what a
// contributor runs on every save, without root, network or apt; there every
// marked test skips, each saying what it needs, whether or not the machine
// has it. `make test` runs everything, after `make deps` has installed the
// tools: there a marked test whose need is not met fails, and says how to
// meet it. No test installs anything.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// DiskTools are the tools that make the disk fixtures (internal/diskimage):
// Debian's xfsprogs, cryptsetup-bin and gdisk, which `make deps` installs.
var DiskTools = []string{"mkfs.xfs", "xfs_db", "xfs_repair", "cryptsetup", "sgdisk"}

// Tools marks t as needing the tools named, and returns their paths in
// order. Under -short it skips t; otherwise it fails t when one is missing.
func Tools(t testing.TB, tools ...string) []string {
	t.Helper()
	short(t, "the tools "+strings.Join(tools, ", "))

	paths := make([]string, len(tools))

	var missing []string

	for i, tool := range tools {
		p, ok := lookPath(tool)
		if !ok {
			missing = append(missing, tool)
		}

		paths[i] = p
	}

	if len(missing) > 0 {
		unmet(t, "the tools "+strings.Join(missing, ", "), "run `make deps` (as root) to install them")
	}

	return paths
}

// Root marks t as needing root: loop devices, mounts, namespaces beyond a
// user namespace. Under -short it skips t; otherwise it fails t without
// root.
func Root(t testing.TB) {
	t.Helper()
	short(t, "root")

	if os.Geteuid() != 0 {
		unmet(t, "root (loop devices)", "run `make test` as root")
	}
}

// Chromium marks t as needing a headless Chromium and returns its path.
// Under -short it skips t; otherwise it fails t when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	short(t, "a headless Chromium")

	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, ok := lookPath(name); ok {
			return p
		}
	}

	unmet(t, "a headless Chromium", "run `make deps` (as root) to install Debian's chromium")

	return ""
}

// short skips t under -short: it belongs to `make test`.
func short(t testing.TB, need string) {
	t.Helper()

	if testing.Short() {
		t.Skipf("needs %s: `make test` runs it", need)
	}
}

// unmet fails t, saying how to meet its need.
func unmet(t testing.TB, need, how string) {
	t.Helper()
	t.Fatalf("this test needs %s: %s (`make unit` leaves it out)", need, how)
}

// lookPath finds tool in PATH, where the tests run it from (`make test`
// adds /usr/sbin and /sbin, where Debian puts some of them).
func lookPath(tool string) (string, bool) {
	p, err := exec.LookPath(tool)

	return p, err == nil
}
