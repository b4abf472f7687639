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

	doc, err := os.ReadFile("../../docs/verify-json.md")
	if err != nil {
		t.Fatal(err)
	}

	example := regexp.MustCompile("(?s)```json\n(.*?)```").FindSubmatch(doc)
	if example == nil {
		t.Fatal("docs/verify-json.md has no JSON example")
	}

	var want any
	if err := json.Unmarshal(example[1], &want); err != nil {
		t.Fatalf("the documented example is not JSON: %v", err)
	}

	dir := t.TempDir()
	got := map[string]bool{}

	for name, content := range map[string]diskimage.Content{"xfs": diskimage.XFS, "luks2": diskimage.LUKS2} {
		img := filepath.Join(dir, name+".img")
		if err := diskimage.Build(img, dir, diskimage.TalosDisk(512, content)); err != nil {
			t.Fatal(err)
		}

		_, stdout, stderr := run("verify", "--json", img)

		var out any
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("verify --json %s: %v\n%s", name, err, stderr)
		}

		for _, k := range keyPaths(out, "") {
			got[k] = true
		}
	}

	documented := keyPaths(want, "")
	for _, k := range documented {
		if !strings.Contains(k, "…") && !got[k] {
			t.Errorf("docs/verify-json.md documents %s; verify --json does not print it", k)
		}
	}

	for k := range got {
		if !slices.Contains(documented, k) && !strings.HasPrefix(k, "candidates[].problems[]") {
			t.Errorf("verify --json prints %s; docs/verify-json.md's example lacks it", k)
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
