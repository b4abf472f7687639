// Package fstree writes a directory tree described in text, for tests that
// need a fake sysfs or procfs with real symlinks. Module archives refuse
// names such as "0000:00:04.0", so such trees cannot be committed as they
// are; the text form can.
//
// The format, a line at a time:
//
//	# comment (and blank lines) outside a file
//	-- path/to/dir/ --          a directory
//	-- path/to/link -> target --  a symbolic link
//	-- path/to/file --          a file; the lines that follow are its content
//
// A later file of the same path replaces an earlier one.
//
// Write creates such a tree anywhere; Build, for a test, creates one from a
// spec file in a temporary directory.
package fstree

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Build creates, under a new temporary directory of t, the tree described
// by specFile followed by the entries of extra (in the same format, one or
// more lines each), and returns that directory. A file in extra replaces
// one of the same path in specFile. Build fails t when the spec cannot be
// read or the tree written.
func Build(t testing.TB, specFile string, extra ...string) string {
	t.Helper()

	spec, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	if err := Write(root, string(spec)+"\n"+strings.Join(extra, "\n")+"\n"); err != nil {
		t.Fatalf("%s: %v", specFile, err)
	}

	return root
}

// Write creates the tree described by spec under root.
func Write(root, spec string) error {
	var (
		file    string // file being written, "" when none
		content strings.Builder
	)

	flush := func() error {
		if file == "" {
			return nil
		}

		full := filepath.Join(root, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}

		file = ""
		defer content.Reset()

		return os.WriteFile(full, []byte(content.String()), 0o644)
	}

	sc := bufio.NewScanner(strings.NewReader(spec))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()

		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			// Blank and comment lines never belong to a file.
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			if err := flush(); err != nil {
				return err
			}

			entry := strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")

			switch link, target, isLink := strings.Cut(entry, " -> "); {
			case isLink:
				full := filepath.Join(root, filepath.FromSlash(link))
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					return err
				}

				if err := os.Symlink(target, full); err != nil {
					return err
				}
			case strings.HasSuffix(entry, "/"):
				if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(entry)), 0o755); err != nil {
					return err
				}
			default:
				file = entry
			}
		case file == "":
			return fmt.Errorf("line %d: content outside a file: %q", n, line)
		default:
			content.WriteString(line + "\n")
		}
	}

	if err := sc.Err(); err != nil {
		return err
	}

	return flush()
}
