package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRaidSettleProcs(t *testing.T) {
	root := t.TempDir()

	for pid, p := range map[string]struct{ cmdline, stat string }{
		"152":  {"/usr/local/lib/raid-settle/raid-settle\x00gate\x00", "152 (raid-settle) S 141 152 0"},
		"160":  {"/usr/local/lib/raid-settle/raid-settle\x00probe-worker\x00--dev\x00/dev\x00", "160 (raid-settle) D 152 152 0"},
		"131":  {"/usr/lib/systemd/systemd-udevd\x00--resolve-names=never\x00", "131 (systemd-udevd) S 1 131 0"},
		"2":    {"", "2 (kthreadd) S 0 0 0"},
		"self": {"x\x00", ""},
	} {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}

		for name, data := range map[string]string{"cmdline": p.cmdline, "stat": p.stat} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	want := map[int]string{
		152: "/usr/local/lib/raid-settle/raid-settle gate",
		160: "/usr/local/lib/raid-settle/raid-settle probe-worker --dev /dev",
	}
	if got := raidSettleProcs(root); !reflect.DeepEqual(got, want) {
		t.Errorf("raidSettleProcs = %v, want %v", got, want)
	}

	if got := procState(filepath.Join(root, "160")); got != "D" {
		t.Errorf("procState = %q, want D", got)
	}

	if got := procPPID(root, 160); got != 152 {
		t.Errorf("procPPID = %d, want 152", got)
	}
}
