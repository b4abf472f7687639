package udev

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	text := string(data) + "\n" + strings.Join(extra, "\n") + "\n"

	var (
		file    string // file being written, "" when none
		content strings.Builder
	)

	flush := func() {
		if file == "" {
			return
		}

		full := filepath.Join(root, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile(full, []byte(content.String()), 0o644); err != nil {
			t.Fatal(err)
		}

		file = ""

		content.Reset()
	}

	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()

		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			// Blank and comment lines never belong to an attribute here.
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			flush()

			entry := strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")

			switch link, target, isLink := strings.Cut(entry, " -> "); {
			case isLink:
				full := filepath.Join(root, filepath.FromSlash(link))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}

				if err := os.Symlink(target, full); err != nil {
					t.Fatal(err)
				}
			case strings.HasSuffix(entry, "/"):
				if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(entry)), 0o755); err != nil {
					t.Fatal(err)
				}
			default:
				file = entry
			}
		default:
			if file == "" {
				t.Fatalf("testdata/%s: content outside a file: %q", name, line)
			}

			content.WriteString(line + "\n")
		}
	}

	flush()

	return root
}
