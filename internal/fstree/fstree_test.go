package fstree

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	root := t.TempDir()

	err := Write(root, `# a comment
-- empty/ --
-- bus/pci/devices/0000:00:04.0 -> ../../../devices/pci0000:00/0000:00:04.0 --
-- devices/pci0000:00/0000:00:04.0/uevent --
DRIVER=old

-- devices/pci0000:00/0000:00:04.0/uevent --
DRIVER=megaraid_sas
PCI_CLASS=10400
`)
	if err != nil {
		t.Fatal(err)
	}

	if fi, err := os.Stat(filepath.Join(root, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty/: %v", err)
	}

	// The later file replaced the earlier; the blank line belongs to neither.
	data, err := os.ReadFile(filepath.Join(root, "bus/pci/devices/0000:00:04.0/uevent"))
	if err != nil || string(data) != "DRIVER=megaraid_sas\nPCI_CLASS=10400\n" {
		t.Errorf("uevent through the link: %q, %v", data, err)
	}

	if err := Write(t.TempDir(), "stray\n"); err == nil {
		t.Error("content outside a file was accepted")
	}
}

func TestBuild(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "spec.txt")
	if err := os.WriteFile(spec, []byte("-- a --\nfrom the file\n-- b --\nkept"), 0o644); err != nil {
		t.Fatal(err)
	}

	root := Build(t, spec, "-- a --", "from extra")

	for name, want := range map[string]string{"a": "from extra\n", "b": "kept\n"} {
		if data, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(data) != want {
			t.Errorf("%s: %q, %v; want %q", name, data, err, want)
		}
	}
}
