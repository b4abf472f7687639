package agent

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadRunWait(t *testing.T) {
	dir := t.TempDir()

	for _, tc := range []struct {
		name, content string
		want          int64
		ok            bool
	}{
		{"kernel's", "5358750 8238057 16\n", 8238057, true},
		{"empty", "", 0, false},
		{"one field", "5358750\n", 0, false},
		{"garbled", "12 abc 3\n", 0, false},
		{"negative", "5 -12 3\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			if got, ok := readRunWait(f); got != tc.want || ok != tc.ok {
				t.Errorf("readRunWait(%q) = %d, %t; want %d, %t", tc.content, got, ok, tc.want, tc.ok)
			}
		})
	}

	// The kernel's own, read twice through one open file: the wait never
	// goes back.
	f, err := os.Open(threadSchedstat)
	if err != nil {
		t.Skipf("no schedstat here: %v", err)
	}
	defer f.Close()

	first, ok1 := readRunWait(f)
	second, ok2 := readRunWait(f)

	if !ok1 || !ok2 || second < first {
		t.Errorf("schedstat read %d (%t) then %d (%t)", first, ok1, second, ok2)
	}
}
