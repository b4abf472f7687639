package certify

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(100 - i) // unsorted on purpose
	}

	for _, tc := range []struct {
		name   string
		values []int64
		want   Summary
	}{
		{"none", nil, Summary{}},
		{"one", []int64{42}, Summary{N: 1, Min: 42, Median: 42, P99: 42, Max: 42}},
		{"odd", []int64{9, 1, 5}, Summary{N: 3, Min: 1, Median: 5, P99: 9, Max: 9}},
		{"even: the median is the middle pair's mean", []int64{4, 1, 10, 6}, Summary{N: 4, Min: 1, Median: 5, P99: 10, Max: 10}},
		// Nearest rank: with 100 samples the p99 is the 99th, not the max.
		{"hundred", hundred, Summary{N: 100, Min: 1, Median: 50, P99: 99, Max: 100}},
	} {
		if diff := cmp.Diff(tc.want, Summarize(tc.values)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	if Percentile([]int64{1, 2, 3, 4, 5}, 99) != 5 || Percentile([]int64{1, 2, 3, 4, 5}, 20) != 1 || Percentile(nil, 50) != 0 {
		t.Error("Percentile")
	}
}

// analyzedPERC reads and analyses the five PERC boot reports.
func analyzedPERC(t *testing.T) *Results {
	t.Helper()

	tl, err := ReadFiles(percReports())
	if err != nil {
		t.Fatal(err)
	}

	return Analyze(tl)
}

func TestAnalyzeBootReports(t *testing.T) {
	res := analyzedPERC(t)

	ahci, perc := res.Controllers[0], res.Controllers[1]
	if len(ahci.Devices) != 0 || ahci.Stats.Failed != 0 {
		t.Errorf("ahci %+v", ahci)
	}

	// Delays after the bind uevent, per boot (testdata/gen):
	//   boot   VD0    VD1    VD2 (STATE)
	//   1     4120   7480  11900
	//   2     5310   9020  13750
	//   3     3870   6950  10480
	//   4     4690     —   12630
	//   5     6050  11240  17380
	// Partitions follow their disk by 2 ms (1 ms apart on VD2).
	want := Stats{
		Cycles: 5, Complete: 4, Failed: 1,
		FirstDisk:      Summary{N: 5, Min: 3870, Median: 4690, P99: 6050, Max: 6050},
		LastArrival:    Summary{N: 5, Min: 10487, Median: 12637, P99: 17387, Max: 17387},
		DiskDelay:      Summary{N: 14, Min: 3870, Median: 8250, P99: 17380, Max: 17380},
		PartitionDelay: Summary{N: 39, Min: 3872, Median: 11906, P99: 17387, Max: 17387},
		// Longest gap: boot 4, VD0's partition (4692) to VD2 (12630).
		Gap:     Summary{N: 48, Min: 1, Median: 1, P99: 7938, Max: 7938},
		DiskGap: Summary{N: 9, Min: 3078, Median: 4418, P99: 7938, Max: 7938},
	}

	if diff := cmp.Diff(want, perc.Stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// The second virtual drive and its partition went missing in boot 4.
	type absence struct {
		ID        string
		Seen      int
		MissingIn []int
	}

	var missing []absence

	for _, d := range perc.Devices {
		if len(d.MissingIn) > 0 {
			missing = append(missing, absence{d.ID, d.Seen, d.MissingIn})
		}
	}

	wantMissing := []absence{{"scsi-0:2:1:0", 4, []int{4}}, {"scsi-0:2:1:0-part1", 4, []int{4}}}
	if diff := cmp.Diff(wantMissing, missing); diff != "" {
		t.Errorf("devices missing (-want +got):\n%s", diff)
	}

	// The third was sdb in the boot that lost the second.
	vd2 := perc.Devices[slices.IndexFunc(perc.Devices, func(d DeviceResult) bool { return d.ID == "scsi-0:2:2:0" })]
	if diff := cmp.Diff([]string{"sdc", "sdb"}, vd2.Names); diff != "" {
		t.Errorf("VD2 names (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(Summary{N: 5, Min: 10480, Median: 12630, P99: 17380, Max: 17380}, vd2.Delay); diff != "" {
		t.Errorf("VD2 delay (-want +got):\n%s", diff)
	}

	for i, c := range perc.Cycles {
		if c.Complete != (i != 3) || len(c.Unobserved) != 0 {
			t.Errorf("cycle %d: complete %t, unobserved %v", c.Index, c.Complete, c.Unobserved)
		}
	}

	// One note for the lost drive (its partition goes without saying).
	if len(perc.Notes) != 1 || perc.Notes[0] != "disk scsi-0:2:1:0 (sdb) missing in 1 of 5 cycles (#4)" {
		t.Errorf("notes %q", perc.Notes)
	}

	if !res.Failed() {
		t.Error("Failed")
	}
}

func TestAnalyzeUnobservedVersusMissing(t *testing.T) {
	arr := func(id string, at int64) Arrival { return Arrival{ID: id, Name: id, Type: TypeDisk, AtMS: at} }

	tl := &Timelines{Source: SourceReports, Cycles: 4, Controllers: []*ControllerTimeline{{
		Identity: Identity{Address: "0000:00:04.0", Driver: "megaraid_sas", PCIID: "1000:0060"},
		Expected: []string{"c"},
		Cycles: []Cycle{
			{Index: 1, ObservedMS: 20000, Arrivals: []Arrival{arr("a", 1000), arr("b", 8000), arr("c", 9000)}},
			// The gate released on STATE at 5 s: b usually comes at 8 s,
			// so it went unobserved; a comes by 3 s at the latest, so it
			// is lost; c was never seen at all after the first cycle.
			{Index: 2, ObservedMS: 5000, Partial: true, Arrivals: []Arrival{arr("x", 4000)}},
			// Watched to the end (no-state, deadline, live): lost.
			{Index: 3, ObservedMS: 20000, Arrivals: []Arrival{arr("a", 3000)}},
			{Index: 4, ObservedMS: 20000, Arrivals: []Arrival{arr("a", 2000), arr("b", 7000), arr("c", 9500)}, Error: "something"},
		},
	}}}

	r := Analyze(tl).Controllers[0]

	type outcome struct {
		Missing, Unobserved []string
		Complete            bool
	}

	for i, want := range []outcome{
		{[]string{"x"}, nil, false},
		{[]string{"a"}, []string{"b", "c"}, false},
		{[]string{"b", "c", "x"}, nil, false},
		{[]string{"x"}, nil, false},
	} {
		c := r.Cycles[i]
		if diff := cmp.Diff(want, outcome{c.Missing, c.Unobserved, c.Complete}); diff != "" {
			t.Errorf("cycle %d (-want +got):\n%s", i+1, diff)
		}
	}

	if r.Stats.Failed != 4 || r.Stats.Complete != 0 {
		t.Errorf("stats %+v", r.Stats)
	}

	// Every cycle must see the expected device c, even one that never arrived.
	tl.Controllers[0].Expected = []string{"c", "never"}
	if r := Analyze(tl).Controllers[0]; !slices.Contains(r.Cycles[0].Missing, "never") || !slices.Contains(r.Cycles[1].Unobserved, "never") {
		t.Errorf("expected device: cycle 1 missing %v, cycle 2 unobserved %v", r.Cycles[0].Missing, r.Cycles[1].Unobserved)
	}
}

func TestFormatMS(t *testing.T) {
	for v, want := range map[int64]string{0: "0ms", 640: "640ms", 1000: "1s", 4120: "4.12s", 17387: "17.39s", 59999: "1m00s", 65400: "1m05s", 119600: "2m00s"} {
		if got := FormatMS(v); got != want {
			t.Errorf("FormatMS(%d) = %q, want %q", v, got, want)
		}
	}
}
