package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// TestVerifyJSONDocumented checks every key of the example in
// docs/verify-json.md against what verify --json prints for real images:
// one with an XFS STATE and one with a LUKS2 STATE, made by the real tools.
func TestVerifyJSONDocumented(t *testing.T) {
	testenv.Tools(t, testenv.DiskTools...)

	example := docExample(t, "verify-json.md", "(?s)```json\n(.*?)```")
	dir := t.TempDir()
	printed := map[string]bool{}

	for name, content := range map[string]diskimage.Content{"xfs": diskimage.XFS, "luks2": diskimage.LUKS2} {
		img := filepath.Join(dir, name+".img")
		if err := diskimage.Build(img, dir, diskimage.TalosDisk(512, content)); err != nil {
			t.Fatal(err)
		}

		_, stdout, stderr := run("verify", "--json", img)
		addKeys(t, printed, stdout, stderr)
	}

	// The example shows one problem; others carry the same keys.
	checkDocumented(t, "docs/verify-json.md", "verify --json", example, printed, "candidates[].problems[]")
}

// docExample returns the JSON example that pattern's first group finds in
// docs/name.
func docExample(t *testing.T, name, pattern string) []string {
	t.Helper()

	doc, err := os.ReadFile(filepath.Join("../../docs", name))
	if err != nil {
		t.Fatal(err)
	}

	m := regexp.MustCompile(pattern).FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/%s has no JSON example", name)
	}

	var example any
	if err := json.Unmarshal(m[1], &example); err != nil {
		t.Fatalf("docs/%s: the example is not JSON: %v", name, err)
	}

	return keyPaths(example, "")
}

// addKeys adds the key paths of a command's JSON output to keys.
func addKeys(t *testing.T, keys map[string]bool, stdout, stderr string) {
	t.Helper()

	var out any
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stderr)
	}

	for _, k := range keyPaths(out, "") {
		keys[k] = true
	}
}

// checkDocumented fails t for every key the doc's example shows that the
// command did not print, and for every key it printed that the example
// lacks, but for those under one of the exempt prefixes. A key written "…"
// stands for any keys of its object ({"…": "…"}: the same as shown
// elsewhere).
func checkDocumented(t *testing.T, doc, command string, documented []string, printed map[string]bool, exempt ...string) {
	t.Helper()

	for _, k := range documented {
		if before, _, elided := strings.Cut(k, "…"); elided {
			exempt = append(exempt, before)
		} else if !printed[k] {
			t.Errorf("%s documents %s; %s does not print it", doc, k, command)
		}
	}

	for k := range printed {
		if !slices.Contains(documented, k) && !slices.ContainsFunc(exempt, func(p string) bool { return strings.HasPrefix(k, p) }) {
			t.Errorf("%s prints %s; %s's example lacks it", command, k, doc)
		}
	}
}

// keyPaths lists the paths of every object key in v: "a.b", "a[].c".
func keyPaths(v any, prefix string) []string {
	var out []string

	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}

			out = append(out, p)
			out = append(out, keyPaths(sub, p)...)
		}
	case []any:
		for _, sub := range x {
			out = append(out, keyPaths(sub, prefix+"[]")...)
		}
	}

	slices.Sort(out)

	return slices.Compact(out)
}
