package certify

import (
	"slices"
	"testing"
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
		if got := Summarize(tc.values); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
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

	if perc.Stats != want {
		t.Errorf("stats\n got %+v\nwant %+v", perc.Stats, want)
	}

	var missing []string

	for _, d := range perc.Devices {
		if len(d.MissingIn) > 0 {
			missing = append(missing, d.ID)

			if !slices.Equal(d.MissingIn, []int{4}) || d.Seen != 4 {
				t.Errorf("%s: %+v", d.ID, d)
			}
		}
	}

	if !slices.Equal(missing, []string{"scsi-0:2:1:0", "scsi-0:2:1:0-part1"}) {
		t.Errorf("missing %v", missing)
	}

	vd2 := perc.Devices[slices.IndexFunc(perc.Devices, func(d DeviceResult) bool { return d.ID == "scsi-0:2:2:0" })]
	if !slices.Equal(vd2.Names, []string{"sdc", "sdb"}) || vd2.Delay != (Summary{N: 5, Min: 10480, Median: 12630, P99: 17380, Max: 17380}) {
		t.Errorf("VD2 %+v", vd2)
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

	type got struct {
		missing, unobserved []string
		complete            bool
	}

	for i, want := range []got{
		{[]string{"x"}, nil, false},
		{[]string{"a"}, []string{"b", "c"}, false},
		{[]string{"b", "c", "x"}, nil, false},
		{[]string{"x"}, nil, false},
	} {
		c := r.Cycles[i]
		if !slices.Equal(c.Missing, want.missing) || !slices.Equal(c.Unobserved, want.unobserved) || c.Complete != want.complete {
			t.Errorf("cycle %d: missing %v unobserved %v complete %t", i+1, c.Missing, c.Unobserved, c.Complete)
		}
	}

	if r.Stats.Failed != 4 || r.Stats.Complete != 0 {
		t.Errorf("stats %+v", r.Stats)
	}

	// Every cycle must see the expected device c, even one that never arrived.
	tl.Controllers[0].Expected = []string{"c", "never"}
	if r := Analyze(tl).Controllers[0]; !slices.Contains(r.Cycles[0].Missing, "never") || !slices.Contains(r.Cycles[1].Unobserved, "never") {
		t.Errorf("expected device: %+v / %+v", r.Cycles[0], r.Cycles[1])
	}
}

func TestFormatMS(t *testing.T) {
	for v, want := range map[int64]string{0: "0ms", 640: "640ms", 1000: "1s", 4120: "4.12s", 17387: "17.39s", 59999: "1m00s", 65400: "1m05s", 119600: "2m00s"} {
		if got := FormatMS(v); got != want {
			t.Errorf("FormatMS(%d) = %q, want %q", v, got, want)
		}
	}
}
