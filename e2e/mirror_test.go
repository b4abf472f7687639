package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHostMirror(t *testing.T) {
	write := func(dir, name, text string) {
		t.Helper()

		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// This machine's layout: deb822, security second, third-party lists
	// disabled by renaming.
	deb822 := t.TempDir()
	write(deb822, "sources.list.d/debian.sources", `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`)
	write(deb822, "sources.list.d/nodesource.sources.disabled", "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n")

	// The classic one-line form, security first, with options.
	oneLine := t.TempDir()
	write(oneLine, "sources.list", `# comment
deb http://security.debian.org/debian-security bookworm-security main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one.example/debian bookworm main contrib
`)

	disabled := t.TempDir()
	write(disabled, "sources.list.d/debian.sources", "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n")

	for _, tc := range []struct {
		dir, want string
	}{
		{deb822, "http://mirror.example/debian"},
		{oneLine, "http://one.example/debian"},
		{disabled, ""},
		{t.TempDir(), ""},
	} {
		if got := HostMirror(tc.dir); got != tc.want {
			t.Errorf("HostMirror(%s) = %q, want %q", tc.dir, got, tc.want)
		}
	}
}
