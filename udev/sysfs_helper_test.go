package udev

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/internal/fstree"
)

// buildSysfs builds the fake sysfs described by testdata/NAME (format in
// testdata/sysfs.txt) under a new temporary directory and returns its root.
// extra entries, in the same format, are added after the file's.
func buildSysfs(t testing.TB, name string, extra ...string) string {
	t.Helper()

	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	if err := fstree.Write(root, string(data)+"\n"+strings.Join(extra, "\n")+"\n"); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}

	return root
}
