package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestWritePaired(t *testing.T) {
	boot := func(uevent, decided int64) *Result {
		return &Result{StateUeventMS: uevent, DecisionMS: decided}
	}

	pairs := []Pair{
		{Without: boot(4000, 4400), With: boot(4100, 4600)},
		{Without: boot(5000, 5300), With: boot(7000, 7500)},
		{Without: boot(3000, 3500), With: boot(3000, 3600)},
		{Without: boot(3000, -1), With: boot(3000, 3600)},
	}

	var b strings.Builder
	WritePaired(&b, pairs)

	for _, want := range []string{
		"| 1 | 4000, 4400 | 4100, 4600 | 200 | 100 | 100 |",
		"| 2 | 5000, 5300 | 7000, 7500 | 2200 | 2000 | 200 |",
		"| 4 | (incomplete) |",
		"Over 3 pairs, medians: Talos decided 200 ms later with raid-settle; the STATE uevent came 100 ms later; from that uevent to the decision took 100 ms longer.",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

func TestTimeLeft(t *testing.T) {
	for _, tc := range []struct {
		elapsed     time.Duration
		done, total int
		want        string
	}{
		{2 * time.Minute, 10, 40, ", about 6m0s left"},
		{95 * time.Second, 1, 2, ", about 1m40s left"},
		{time.Minute, 0, 40, ""},
		{time.Minute, 40, 40, ""},
	} {
		if got := TimeLeft(tc.elapsed, tc.done, tc.total); got != tc.want {
			t.Errorf("TimeLeft(%s, %d, %d) = %q, want %q", tc.elapsed, tc.done, tc.total, got, tc.want)
		}
	}

	if n := Boots([]*Scenario{{Variants: []Variant{Without, With}}, {Variants: []Variant{With}}}); n != 3 {
		t.Errorf("Boots = %d, want 3", n)
	}
}
