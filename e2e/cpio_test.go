package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

type cpioEntry struct {
	name string
	mode uint32
	data string
}

// readCPIO parses a newc archive, checking the alignment the kernel needs.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()

	var out []cpioEntry

	for off := 0; ; {
		if off%4 != 0 {
			t.Fatalf("header at %d is not 4-byte aligned", off)
		}

		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("bad magic %q at %d", h[:6], off)
		}

		field := func(i int) int {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}

			return int(v)
		}

		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		off = (off + 110 + namesize + 3) &^ 3
		data := string(b[off : off+size])
		off = (off + size + 3) &^ 3

		if name == "TRAILER!!!" {
			return out
		}

		out = append(out, cpioEntry{name, uint32(mode), data})
	}
}

func TestCPIOWriter(t *testing.T) {
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, "usr", "lib"), 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(tree, "usr", "lib", "a.so"), []byte("abcde"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := os.Symlink("a.so", filepath.Join(tree, "usr", "lib", "b.so")); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer

	c := newCPIOWriter(&buf)
	c.Symlink("lib", "usr/lib")
	c.File("/init", 0o755, []byte("#!"))
	c.File("etc/udev/udev.conf", 0o644, []byte("x"))

	if err := c.Tree(tree, ""); err != nil {
		t.Fatal(err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	want := []cpioEntry{
		{"lib", 0o120777, "usr/lib"},
		{"init", 0o100755, "#!"},
		{"etc", 0o040755, ""},
		{"etc/udev", 0o040755, ""},
		{"etc/udev/udev.conf", 0o100644, "x"},
		{"usr", 0o040755, ""},
		{"usr/lib", 0o040755, ""},
		{"usr/lib/a.so", 0o100644, "abcde"},
		{"usr/lib/b.so", 0o120777, "a.so"},
	}

	if got := readCPIO(t, buf.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("archive:\n got %v\nwant %v", got, want)
	}
}
