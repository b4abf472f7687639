package certify

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
)

// ResultsSchemaVersion is the version of Results' JSON form.
const ResultsSchemaVersion = 1

// Results are what certify found: the JSON it writes (docs/certify.md),
// and what the HTML report and the profiles are made from.
type Results struct {
	// SchemaVersion is ResultsSchemaVersion.
	SchemaVersion int `json:"schema_version"`
	// Version is raid-settle's version.
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	Source  Source    `json:"source"`
	// Inputs are the reports and logs read.
	Inputs []string `json:"inputs,omitempty"`
	// Live holds the live cycling's settings and what it overrode.
	Live *LiveInfo `json:"live,omitempty"`
	// Cycles is how many cycles were read or run.
	Cycles      int                `json:"cycles"`
	Controllers []ControllerResult `json:"controllers"`
	// Profiles are the profiles written, one per driver and PCI id.
	Profiles []ProfileFile `json:"profiles"`
	// Verdict is the run's verdict (see Verdict); VerdictReason says why.
	Verdict       Verdict `json:"verdict"`
	VerdictReason string  `json:"verdict_reason"`
}

// Verdict is what a certify run concludes for its controllers.
type Verdict string

// Verdicts, from best to worst.
const (
	// VerdictCertified: every cycle of every controller brought back every
	// device, over at least MinCycles cycles.
	VerdictCertified Verdict = "certified"
	// VerdictTooFewCycles: no device was lost, but fewer than MinCycles
	// cycles are too few to certify.
	VerdictTooFewCycles Verdict = "too-few-cycles"
	// VerdictNotCertified: some cycle lost a device. A controller that
	// loses a disk across a re-enumeration is not one whose timing a
	// profile can vouch for, whatever the timing was.
	VerdictNotCertified Verdict = "not-certified"
)

// LiveInfo describes a live run.
type LiveInfo struct {
	Method Method `json:"method"`
	// Cycles is how many cycles were asked for.
	Cycles  int            `json:"cycles"`
	Timeout agent.Duration `json:"timeout"`
	Linger  agent.Duration `json:"linger"`
	Pause   agent.Duration `json:"pause"`
	// Forced lists the hazards --force overrode.
	Forced []Hazard `json:"forced,omitempty"`
	// Interrupted is set when SIGINT or SIGTERM ended the run early.
	Interrupted bool `json:"interrupted,omitempty"`
	// Overflows counts uevent receive-queue overflows: events may be lost.
	Overflows int `json:"overflows,omitempty"`
}

// ControllerResult is one controller's cycles and their statistics.
type ControllerResult struct {
	Identity Identity `json:"identity"`
	Cycles   []Cycle  `json:"cycles"`
	// Devices are every disk and partition seen in some cycle or expected.
	Devices []DeviceResult `json:"devices"`
	Stats   Stats          `json:"stats"`
	// Notes are what a reader should know about the numbers.
	Notes []string `json:"notes,omitempty"`
	// ProfileFile is the profile written for this controller, or NoProfile
	// why there is none.
	ProfileFile string `json:"profile_file,omitempty"`
	NoProfile   string `json:"no_profile,omitempty"`
}

// DeviceResult is one device across the cycles.
type DeviceResult struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	PartName string `json:"part_name,omitempty"`
	// Names are the kernel names it had, in order of first use.
	Names []string `json:"names"`
	// Serials are the wwids it showed (more than one is suspicious).
	Serials []string `json:"serials,omitempty"`
	// Seen counts the cycles it arrived in.
	Seen int `json:"seen"`
	// MissingIn and UnobservedIn list cycle indexes (see Cycle).
	MissingIn    []int   `json:"missing_in"`
	UnobservedIn []int   `json:"unobserved_in,omitempty"`
	Delay        Summary `json:"delay"`
}

// Stats summarise a controller's cycles. Times are milliseconds after each
// cycle's reference.
type Stats struct {
	// Cycles counts the cycles, Complete those with every device, Failed
	// those with a device missing.
	Cycles   int `json:"cycles"`
	Complete int `json:"complete"`
	Failed   int `json:"failed"`
	// FirstDisk is when the first disk arrived, per cycle with a disk.
	FirstDisk Summary `json:"first_disk"`
	// LastArrival is when the last disk or partition arrived, per cycle
	// with an arrival.
	LastArrival Summary `json:"last_arrival"`
	// DiskDelay and PartitionDelay are every disk's and partition's
	// arrival.
	DiskDelay      Summary `json:"disk_delay"`
	PartitionDelay Summary `json:"partition_delay"`
	// Gap is every interval between consecutive arrivals within a cycle,
	// from the first disk on: what the quiet window must cover.
	Gap Summary `json:"gap"`
	// DiskGap is the interval before each disk but the first of its cycle,
	// from the previous arrival: how far apart the disks come.
	DiskGap Summary `json:"disk_gap"`
}

// Summary describes a set of durations in milliseconds. P99 is the
// nearest-rank 99th percentile: the largest value below 100 samples.
type Summary struct {
	N      int   `json:"n"`
	Min    int64 `json:"min_ms"`
	Median int64 `json:"median_ms"`
	P99    int64 `json:"p99_ms"`
	Max    int64 `json:"max_ms"`
}

// Summarize computes a Summary; the zero Summary for no values.
func Summarize(values []int64) Summary {
	if len(values) == 0 {
		return Summary{}
	}

	v := slices.Clone(values)
	slices.Sort(v)
	n := len(v)

	median := v[n/2]
	if n%2 == 0 {
		median = (v[n/2-1] + v[n/2]) / 2
	}

	return Summary{N: n, Min: v[0], Median: median, P99: Percentile(v, 99), Max: v[n-1]}
}

// Percentile returns the nearest-rank p-th percentile of sorted values: the
// smallest value with at least p% of the values at or below it.
func Percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}

	rank := int(math.Ceil(p / 100 * float64(len(sorted))))

	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Analyze finds, for each controller, the devices its cycles should show
// (every device seen in any cycle, and those expected before live
// cycling), fills each cycle's Missing, Unobserved and Complete, and
// computes the statistics. A device missing from a partial cycle (the gate
// released on STATE) is unobserved rather than missing when the cycle
// ended before the device's latest arrival in the other cycles.
func Analyze(t *Timelines) *Results {
	res := &Results{SchemaVersion: ResultsSchemaVersion, Source: t.Source, Inputs: t.Inputs, Cycles: t.Cycles, Controllers: []ControllerResult{}, Profiles: []ProfileFile{}}

	for _, ct := range t.Controllers {
		res.Controllers = append(res.Controllers, analyzeController(ct))
	}

	res.Judge()

	return res
}

// analyzeController judges each of ct's cycles against the devices they
// should show, and computes the statistics.
func analyzeController(ct *ControllerTimeline) ControllerResult {
	devices := tallyDevices(ct)

	var samples statSamples

	cycles := make([]Cycle, 0, len(ct.Cycles))

	for _, c := range ct.Cycles {
		devices.judge(&c)
		samples.add(c)
		cycles = append(cycles, c)
	}

	r := ControllerResult{Identity: ct.Identity, Cycles: cycles, Devices: devices.results(), Stats: samples.stats()}
	r.Notes = notes(r)

	return r
}

// deviceTally follows a controller's devices across its cycles.
type deviceTally struct {
	byID map[string]*DeviceResult
	// order holds the ids in order of first mention.
	order []string
	// delays are each device's arrival times, and latest the latest.
	delays map[string][]int64
	latest map[string]int64
}

// tallyDevices gathers the devices that arrived in ct's cycles, then those
// ct expects.
func tallyDevices(ct *ControllerTimeline) *deviceTally {
	t := &deviceTally{byID: map[string]*DeviceResult{}, delays: map[string][]int64{}, latest: map[string]int64{}}

	for _, c := range ct.Cycles {
		for _, a := range c.Arrivals {
			t.arrived(a)
		}
	}

	for _, id := range ct.Expected {
		t.device(id)
	}

	return t
}

// device returns the device id, adding it when new.
func (t *deviceTally) device(id string) *DeviceResult {
	d, ok := t.byID[id]
	if !ok {
		typ := TypeDisk
		if strings.Contains(id, "-part") {
			typ = TypePartition
		}

		d = &DeviceResult{ID: id, Type: typ, Names: []string{}, MissingIn: []int{}}
		t.byID[id] = d
		t.order = append(t.order, id)
	}

	return d
}

// arrived counts an arrival of a device, and what it was called.
func (t *deviceTally) arrived(a Arrival) {
	d := t.device(a.ID)
	d.Type = a.Type
	d.Seen++

	if a.PartName != "" {
		d.PartName = a.PartName
	}

	if !slices.Contains(d.Names, a.Name) {
		d.Names = append(d.Names, a.Name)
	}

	if a.Serial != "" && !slices.Contains(d.Serials, a.Serial) {
		d.Serials = append(d.Serials, a.Serial)
	}

	t.delays[a.ID] = append(t.delays[a.ID], a.AtMS)
	t.latest[a.ID] = max(t.latest[a.ID], a.AtMS)
}

// judge fills c's Missing, Unobserved and Complete, and notes the devices'
// absences from c.
func (t *deviceTally) judge(c *Cycle) {
	arrived := map[string]bool{}
	for _, a := range c.Arrivals {
		arrived[a.ID] = true
	}

	c.Missing, c.Unobserved = []string{}, nil

	for _, id := range t.order {
		if arrived[id] {
			continue
		}

		d := t.byID[id]

		last, everArrived := t.latest[id]
		if c.Partial && (!everArrived || c.ObservedMS < last) {
			c.Unobserved = append(c.Unobserved, id)
			d.UnobservedIn = append(d.UnobservedIn, c.Index)
		} else {
			c.Missing = append(c.Missing, id)
			d.MissingIn = append(d.MissingIn, c.Index)
		}
	}

	c.Complete = len(c.Missing) == 0 && len(c.Unobserved) == 0 && c.Error == ""
}

// results returns the devices by id, each with its delays summarised.
func (t *deviceTally) results() []DeviceResult {
	out := make([]DeviceResult, 0, len(t.order))

	for _, id := range t.order {
		d := t.byID[id]
		d.Delay = Summarize(t.delays[id])
		out = append(out, *d)
	}

	slices.SortStableFunc(out, func(a, b DeviceResult) int { return strings.Compare(a.ID, b.ID) })

	return out
}

// statSamples gathers, cycle by cycle, what a controller's Stats count and
// summarise.
type statSamples struct {
	cycles, complete, failed                    int
	firsts, lasts, disks, parts, gaps, diskGaps []int64
}

// add takes in a judged cycle.
func (s *statSamples) add(c Cycle) {
	s.cycles++

	if c.Complete {
		s.complete++
	}

	if len(c.Missing) > 0 {
		s.failed++
	}

	times := make([]int64, 0, len(c.Arrivals))
	first := int64(-1)

	for _, a := range c.Arrivals {
		times = append(times, a.AtMS)

		if a.Type == TypeDisk {
			s.disks = append(s.disks, a.AtMS)

			if first < 0 || a.AtMS < first {
				first = a.AtMS
			}
		} else {
			s.parts = append(s.parts, a.AtMS)
		}
	}

	if first >= 0 {
		s.firsts = append(s.firsts, first)
	}

	slices.Sort(times)

	if len(times) > 0 {
		s.lasts = append(s.lasts, times[len(times)-1])
	}

	s.gaps = append(s.gaps, cycleGaps(times, first)...)
	s.diskGaps = append(s.diskGaps, diskGapsOf(c.Arrivals, first)...)
}

// stats counts and summarises the cycles added.
func (s *statSamples) stats() Stats {
	return Stats{
		Cycles: s.cycles, Complete: s.complete, Failed: s.failed,
		FirstDisk:      Summarize(s.firsts),
		LastArrival:    Summarize(s.lasts),
		DiskDelay:      Summarize(s.disks),
		PartitionDelay: Summarize(s.parts),
		Gap:            Summarize(s.gaps),
		DiskGap:        Summarize(s.diskGaps),
	}
}

// cycleGaps returns the intervals between consecutive sorted arrival times
// from the first disk's on (first < 0: none).
func cycleGaps(times []int64, first int64) []int64 {
	if first < 0 {
		return nil
	}

	var gaps []int64

	prev := int64(-1)

	for _, t := range times {
		if t < first {
			continue
		}

		if prev >= 0 {
			gaps = append(gaps, t-prev)
		}

		prev = t
	}

	return gaps
}

// diskGapsOf returns, for each disk arriving after the first disk (at
// first), the interval since the arrival before it.
func diskGapsOf(arrivals []Arrival, first int64) []int64 {
	if first < 0 {
		return nil
	}

	sorted := slices.Clone(arrivals)
	slices.SortStableFunc(sorted, func(a, b Arrival) int { return int(a.AtMS - b.AtMS) })

	var (
		gaps      []int64
		prev      = int64(-1)
		firstSeen bool
	)

	for _, a := range sorted {
		if a.AtMS < first {
			continue
		}

		if a.Type == TypeDisk {
			if firstSeen {
				gaps = append(gaps, a.AtMS-prev)
			}

			firstSeen = true
		}

		prev = a.AtMS
	}

	return gaps
}

// MinCycles is how many cycles a profile should rest on: fewer get a note.
const MinCycles = 5

// notes says what a reader should know about a controller's numbers.
func notes(r ControllerResult) []string {
	var out []string

	if r.Stats.Cycles < MinCycles {
		out = append(out, fmt.Sprintf("only %d cycle(s): run at least %d before trusting the numbers", r.Stats.Cycles, MinCycles))
	}

	missingDisk := map[string][]int{}

	for _, d := range r.Devices {
		if d.Type == TypeDisk {
			missingDisk[d.ID] = d.MissingIn
		}
	}

	for _, d := range r.Devices {
		// A partition missing with its disk goes without saying.
		if d.Type == TypePartition && slices.Equal(d.MissingIn, missingDisk[diskOf(d.ID)]) {
			continue
		}

		if len(d.MissingIn) > 0 {
			out = append(out, fmt.Sprintf("%s %s (%s) missing in %d of %d cycles (%s)", d.Type, d.ID, strings.Join(d.Names, ", "), len(d.MissingIn), r.Stats.Cycles, cycleList(d.MissingIn)))
		}

		if len(d.Serials) > 1 {
			out = append(out, fmt.Sprintf("%s showed %d different serials (%s): the identity by place on the controller may not be stable", d.ID, len(d.Serials), strings.Join(d.Serials, ", ")))
		}
	}

	for _, c := range r.Cycles {
		switch {
		case c.Error != "":
			out = append(out, fmt.Sprintf("cycle %d (%s): %s", c.Index, c.Source, c.Error))
		case len(c.Unobserved) > 0:
			out = append(out, fmt.Sprintf("cycle %d (%s): %d device(s) not observed: the gate released (%s) at +%s, before they arrive in other cycles; they do not count as failures",
				c.Index, c.Source, len(c.Unobserved), c.Decision, FormatMS(c.ObservedMS)))
		}
	}

	return out
}

// cycleList writes cycle indexes as "#1, #4".
func cycleList(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = fmt.Sprintf("#%d", n)
	}

	return strings.Join(s, ", ")
}

// FormatMS writes milliseconds for people: "640ms", "4.12s", "1m05s".
func FormatMS(v int64) string {
	switch {
	case v < 1000:
		return fmt.Sprintf("%dms", v)
	case v < 59_995: // below what rounds to 60.00s
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", float64(v)/1000), "0"), ".") + "s"
	default:
		secs := (v + 500) / 1000

		return fmt.Sprintf("%dm%02ds", secs/60, secs%60)
	}
}
