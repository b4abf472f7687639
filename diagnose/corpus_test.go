package diagnose

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// update rewrites the verdicts of every testdata/*/want.json from what the
// code says now; review the diff before committing it.
var update = flag.Bool("update", false, "rewrite testdata/*/want.json")

// want is a case's golden file: the inputs, in the order given, and the
// verdicts with their key times and the evidence lines they quote.
type want struct {
	// About says what the capture is.
	About string `json:"about"`
	// Inputs are paths relative to testdata/, in the order given.
	Inputs   []string      `json:"inputs"`
	Verdicts []wantVerdict `json:"verdicts"`
}

type wantVerdict struct {
	ID          VerdictID `json:"id"`
	Node        string    `json:"node,omitempty"`
	LatenessS   *float64  `json:"lateness_s,omitempty"`
	DecisionAtS *float64  `json:"decision_at_s,omitempty"`
	AppearedAtS *float64  `json:"appeared_at_s,omitempty"`
	SettleTimeS int       `json:"settle_time_s,omitempty"`
	Disk        string    `json:"disk,omitempty"`
	Partition   string    `json:"partition,omitempty"`
	// Evidence is "ROLE FILE:LINE" per quoted line.
	Evidence []string `json:"evidence"`
}

func project(res *Result) []wantVerdict {
	out := []wantVerdict{}

	for _, v := range res.Verdicts {
		w := wantVerdict{
			ID: v.ID, Node: v.Node, LatenessS: v.LatenessS, DecisionAtS: v.DecisionAtS, AppearedAtS: v.AppearedAtS,
			SettleTimeS: v.SettleTimeS, Disk: v.Disk, Partition: v.Partition, Evidence: []string{},
		}

		for _, e := range v.Evidence {
			w.Evidence = append(w.Evidence, fmt.Sprintf("%s %s:%d", e.Role, e.File, e.Line))
		}

		out = append(out, w)
	}

	return out
}

// keyTimings are computed by hand from the captures (the times of the
// decision line and of the partition scan line), independently of the
// golden files: case -> verdict ids, and for late-disk the lateness and the
// recommended settle time.
var keyTimings = map[string]struct {
	ids      []VerdictID
	lateness float64 // seconds, ±2 ms
	settle   int
}{
	// STATE missing at 4.236605, " sda: sda1 ... sda6" at 11.657719; udevd
	// healthy at 4.214231: 7.443 s + 5 s margin -> 15 s.
	"late-disk": {[]VerdictID{LateDisk}, 7.421, 15},
	// missing 4.634488, sda scan 13.072931; udevd 4.612775: 8.460 + 5 -> 15.
	"misspelled": {[]VerdictID{LateDisk, MisspelledSettleTime}, 8.438, 15},
	// missing 5.048233, scan 21.731559; udevd 5.021936: 16.710 + 8.355 -> 30.
	"truncated": {[]VerdictID{LateDisk}, 16.683, 30},
	// node 10.5.0.2: missing 3.431630, scan 6.057445; udevd 3.412201: 2.645 + 5 -> 10;
	// node fd00:10::3 loaded its config from STATE.
	"nodes": {[]VerdictID{LateDisk, Healthy}, 2.626, 10},
	// missing 6.327561 in machined's log (its own clock), scan 18.929061 in
	// the console capture (boot clock); machined's udevd line has no time
	// of its own, so the need counts from the miss: 12.602 + 6.301 -> 20.
	"mixed": {[]VerdictID{LateDisk}, 12.602, 20},
	// missing 8.539304, scan 13.909791; udevd 8.514071: 5.396 + 5 -> 15.
	"gate-late":        {[]VerdictID{LateDisk}, 5.370, 15},
	"no-state":         {[]VerdictID{NoState}, 0, 0},
	"no-config":        {[]VerdictID{NoConfig}, 0, 0},
	"state-corrupt":    {[]VerdictID{StateCorrupt}, 0, 0},
	"insufficient":     {[]VerdictID{InsufficientEvidence}, 0, 0},
	"report-hand":      {[]VerdictID{StateCorrupt}, 0, 0},
	"report-real":      {[]VerdictID{NoState, MisspelledSettleTime}, 0, 0},
	"report-real-only": {[]VerdictID{NoState, MisspelledSettleTime}, 0, 0},
}

func TestCorpus(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "*", "want.json"))
	if err != nil {
		t.Fatal(err)
	}

	if len(cases) < len(keyTimings) {
		t.Fatalf("%d cases in testdata, %d in keyTimings", len(cases), len(keyTimings))
	}

	for _, wantFile := range cases {
		name := filepath.Base(filepath.Dir(wantFile))

		t.Run(name, func(t *testing.T) {
			var w want

			data, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}

			if err := json.Unmarshal(data, &w); err != nil {
				t.Fatalf("%s: %v", wantFile, err)
			}

			res := diagnoseFiles(t, w.Inputs)
			got := project(res)

			if *update {
				w.Verdicts = got

				out, _ := json.MarshalIndent(w, "", "  ")
				if err := os.WriteFile(wantFile, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			gotJSON, _ := json.MarshalIndent(got, "", "  ")
			wantJSON, _ := json.MarshalIndent(w.Verdicts, "", "  ")

			if !bytes.Equal(gotJSON, wantJSON) {
				var text bytes.Buffer
				res.WriteText(&text)
				t.Errorf("verdicts differ from %s\ngot:\n%s\nwant:\n%s\n\n%s", wantFile, gotJSON, wantJSON, text.String())
			}

			checkKeyTimings(t, name, res)
			checkEvidenceQuotes(t, res)
		})
	}
}

func diagnoseFiles(t *testing.T, inputs []string) *Result {
	t.Helper()

	var ins []Input

	for _, p := range inputs {
		f, err := os.Open(filepath.Join("testdata", p))
		if err != nil {
			t.Fatal(err)
		}

		t.Cleanup(func() { f.Close() })

		ins = append(ins, Input{Name: p, R: f})
	}

	res, err := Diagnose(ins)
	if err != nil {
		t.Fatal(err)
	}

	return res
}

func checkKeyTimings(t *testing.T, name string, res *Result) {
	t.Helper()

	k, ok := keyTimings[name]
	if !ok {
		t.Fatalf("case %s has no key timings", name)
	}

	var ids []VerdictID
	for _, v := range res.Verdicts {
		ids = append(ids, v.ID)
	}

	if !slices.Equal(ids, k.ids) {
		t.Errorf("verdicts %v, want %v", ids, k.ids)
	}

	for _, v := range res.Verdicts {
		if v.ID != LateDisk {
			if v.LatenessS != nil {
				t.Errorf("%s carries a lateness", v.ID)
			}

			continue
		}

		if v.LatenessS == nil || math.Abs(*v.LatenessS-k.lateness) > 0.002 {
			t.Errorf("lateness %v, want %.3f", v.LatenessS, k.lateness)
		}

		if v.SettleTimeS != k.settle {
			t.Errorf("settle time %d s, want %d s", v.SettleTimeS, k.settle)
		}

		if v.DecisionAtS == nil || v.AppearedAtS == nil || math.Abs(*v.AppearedAtS-*v.DecisionAtS-*v.LatenessS) > 0.0015 {
			t.Errorf("decision %v and appearance %v do not make the lateness %v", v.DecisionAtS, v.AppearedAtS, v.LatenessS)
		}

		if v.Partition == "" || !strings.HasPrefix(v.Partition, v.Disk) {
			t.Errorf("partition %q on disk %q", v.Partition, v.Disk)
		}

		roles := map[string]bool{}
		for _, e := range v.Evidence {
			roles[e.Role] = true
		}

		if !roles["appeared"] || !(roles["decision"]) {
			t.Errorf("late-disk evidence lacks the decision or the appearance: %+v", v.Evidence)
		}
	}
}

// checkEvidenceQuotes checks that every quoted line is the line at
// file:line, word for word.
func checkEvidenceQuotes(t *testing.T, res *Result) {
	t.Helper()

	lines := map[string][]string{}

	for _, v := range res.Verdicts {
		if len(v.Evidence) == 0 && v.ID != InsufficientEvidence {
			t.Errorf("%s without evidence", v.ID)
		}

		for _, e := range v.Evidence {
			if _, ok := lines[e.File]; !ok {
				data, err := os.ReadFile(filepath.Join("testdata", e.File))
				if err != nil {
					t.Fatal(err)
				}

				lines[e.File] = strings.Split(string(data), "\n")
			}

			ls := lines[e.File]
			if e.Line < 1 || e.Line > len(ls) {
				t.Errorf("%s: line %d out of range", e.File, e.Line)

				continue
			}

			if strings.HasSuffix(e.File, ".json") {
				continue // a report's evidence describes the value at that line
			}

			if got := strings.ReplaceAll(ls[e.Line-1], "\r", ""); stripANSI(got) != e.Text {
				t.Errorf("%s:%d quoted as %q, is %q", e.File, e.Line, e.Text, got)
			}
		}
	}
}

// TestCorpusOrderDoesNotMatter feeds every multi-file case in both orders.
func TestCorpusOrderDoesNotMatter(t *testing.T) {
	for _, inputs := range [][]string{
		{"mixed/machined.log", "mixed/console.log"},
		{"gate-late/report.json", "gate-late/dmesg.txt"},
		{"report-real/report.json", "report-real/dmesg.txt"},
	} {
		a := project(diagnoseFiles(t, inputs))
		b := project(diagnoseFiles(t, []string{inputs[1], inputs[0]}))

		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)

		if !bytes.Equal(aj, bj) {
			t.Errorf("%v: order changes the verdicts:\n%s\n%s", inputs, aj, bj)
		}
	}
}

// TestTextOutputLeadsWithVerdicts checks the human output's shape: the
// verdict line first, then its evidence, then the timeline and sources.
func TestTextOutputLeadsWithVerdicts(t *testing.T) {
	res := diagnoseFiles(t, []string{"late-disk/dmesg.txt"})

	var b bytes.Buffer
	res.WriteText(&b)
	out := b.String()

	if !strings.HasPrefix(out, "late-disk [10.20.0.11]: ") {
		t.Fatalf("output does not start with the verdict:\n%s", out)
	}

	for _, want := range []string{
		"talos.device.settle_time=15s",
		"late-disk/dmesg.txt:112",
		"timeline of 10.20.0.11 (seconds since kernel boot at 2026-03-14T09:21:07.482913517Z)",
		"sources:\n  late-disk/dmesg.txt: talosctl-dmesg;",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if strings.Index(out, "evidence:") > strings.Index(out, "timeline of") {
		t.Errorf("timeline before the evidence:\n%s", out)
	}
}
