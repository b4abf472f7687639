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

			if got, ok := readRunWait(path); got != tc.want || ok != tc.ok {
				t.Errorf("readRunWait(%q) = %d, %t; want %d, %t", tc.content, got, ok, tc.want, tc.ok)
			}
		})
	}

	if _, ok := readRunWait(filepath.Join(dir, "absent")); ok {
		t.Error("a missing file read as statistics")
	}
}
