package elfdeps

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	root := t.TempDir()

	mk := func(p string) {
		t.Helper()

		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(filepath.Join(root, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	link := func(p, target string) {
		t.Helper()

		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}

	mk("usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1")
	link("usr/lib/x86_64-linux-gnu/libkmod.so.2", "libkmod.so.2.5.1")
	mk("usr/lib64/ld-linux-x86-64.so.2")
	mk("lib/x86_64-linux-gnu/libold.so.1") // an unmerged package
	link("usr/lib/x86_64-linux-gnu/libabs.so.1", "/usr/lib/x86_64-linux-gnu/libkmod.so.2")

	tests := []struct{ guest, want string }{
		{"/usr/lib/x86_64-linux-gnu/libkmod.so.2", "usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1"},
		{"/lib64/ld-linux-x86-64.so.2", "usr/lib64/ld-linux-x86-64.so.2"},
		{"/usr/lib/x86_64-linux-gnu/libold.so.1", "lib/x86_64-linux-gnu/libold.so.1"},
		{"/usr/lib/x86_64-linux-gnu/libabs.so.1", "usr/lib/x86_64-linux-gnu/libkmod.so.2.5.1"},
	}

	for _, tt := range tests {
		got, err := Resolve(root, tt.guest)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tt.guest, err)

			continue
		}

		if want := filepath.Join(root, tt.want); got != want {
			t.Errorf("Resolve(%s) = %s, want %s", tt.guest, got, want)
		}
	}

	if _, err := Resolve(root, "/usr/lib/libmissing.so"); err == nil {
		t.Error("a missing library resolved")
	}
}
