package diagnose

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// corpusInputs returns the raw captures of testdata, for fuzz seeds and
// the benchmark.
func corpusInputs(tb testing.TB) map[string][]byte {
	tb.Helper()

	files, err := filepath.Glob(filepath.Join("testdata", "*", "*"))
	if err != nil {
		tb.Fatal(err)
	}

	out := map[string][]byte{}

	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() || filepath.Base(f) == "want.json" {
			continue
		}

		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}

		out[f] = data
	}

	return out
}

// FuzzDiagnose feeds arbitrary bytes through the whole diagnosis, as one
// input and split in two: it must never panic, always return a verdict, and
// only quote lines that exist.
func FuzzDiagnose(f *testing.F) {
	for _, data := range corpusInputs(f) {
		if len(data) > 4<<10 {
			data = data[:4<<10]
		}

		f.Add(data)
	}

	for _, s := range []string{
		"",
		"{",
		`{"timeline": [{"at_ms": 1, "kind": "event"}], "decision": {"decision": "no-state"}}`,
		`{"timeline": [{"at_ms": -5, "kind": "probe", "probe": {"disk": "", "candidates": [{"partition": 0}]}}], "log": [{"at_ms": 9223372036854775807, "line": "released (x)"}]}`,
		"[    5.1] Linux version\n[    1.0] Linux version\n[talos] task startUdevd (1/5): done\n",
		"x: kern: info: [2026-01-01T00:00:00Z]:  sda: sda1 sda5\n: : : :\n",
		"[talos] 2026/01/01 10:00:00.000 volume status {\"volume\": \"STATE\", \"phase\": \"missing -> ready\", \"location\": \"/dev/\"}\n",
		"5,1,99999999999999999999,-;XFS (: Metadata CRC error\n",
		"\x1b[\x1b[0;1;38:5:185m\x1b",
		"[   0.1] raid-settle: STATE on  partition : x\n[   0.2] raid-settle: released (\n",
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		half := len(data) / 2

		for _, inputs := range [][]Input{
			{{Name: "a", R: bytes.NewReader(data)}},
			{{Name: "a", R: bytes.NewReader(data[:half])}, {Name: "b", R: bytes.NewReader(data[half:])}},
		} {
			res, err := Diagnose(inputs)
			if err != nil {
				t.Fatalf("error on an in-memory input: %v", err)
			}

			if len(res.Verdicts) == 0 {
				t.Fatal("no verdict")
			}

			lines := map[string]int{}
			for _, s := range res.Sources {
				lines[s.File] = s.Lines
			}

			for _, v := range res.Verdicts {
				for _, e := range v.Evidence {
					if e.Line < 0 || e.Line > lines[e.File] {
						t.Fatalf("%s quotes %s:%d of %d lines", v.ID, e.File, e.Line, lines[e.File])
					}
				}
			}

			var b bytes.Buffer
			res.WriteText(&b)
		}
	})
}

// repeatedLog is n copies of a realistic boot log without its boot line (a
// boot line would make each copy a new boot and drop the ones before), with
// the times kept as they are.
func repeatedLog(tb testing.TB, n int) []byte {
	tb.Helper()

	var body []string

	for _, name := range []string{"late-disk/dmesg.txt", "mixed/machined.log", "state-corrupt/console.log"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}

		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if !strings.Contains(l, "Linux version") {
				body = append(body, l)
			}
		}
	}

	chunk := strings.Join(body, "\n") + "\n"

	return []byte(strings.Repeat(chunk, n))
}

// work measures one diagnosis of data: heap allocations and bytes
// allocated, both deterministic for a given input.
func work(data []byte) (allocs, bytes uint64) {
	var before, after runtime.MemStats

	runtime.GC()
	runtime.ReadMemStats(&before)

	_, _ = Diagnose([]Input{{Name: "log", R: bytesReader(data)}})

	runtime.ReadMemStats(&after)

	return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestWorkIsLinear compares the work done on n and on 8n copies of a log,
// and on lines built to trip a quadratic scan (long lines full of the
// separators the parser looks for), by counting allocations and allocated
// bytes: no clock is involved. Linear work grows about 8 times; a quadratic
// parser would grow 64 times.
func TestWorkIsLinear(t *testing.T) {
	adversarial := func(n int) []byte {
		line := "x: " + strings.Repeat(": [talos] {\"volume\": \"STATE\", ", 400) + "\n"
		kern := "[    1.000000] XFS (" + strings.Repeat("sda5): Corruption ", 300) + "\n"

		return []byte(strings.Repeat(line+kern+" sda: "+strings.Repeat("sda1 ", 2000)+"\n", n))
	}

	for _, tc := range []struct {
		name string
		gen  func(int) []byte
		n    int
	}{
		{"boot logs", func(n int) []byte { return repeatedLog(t, n) }, 20},
		{"adversarial lines", adversarial, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			small, large := tc.gen(tc.n), tc.gen(8*tc.n)

			a1, b1 := work(small)
			a8, b8 := work(large)

			ra, rb := float64(a8)/float64(a1), float64(b8)/float64(b1)
			t.Logf("%d -> %d bytes of input: %d -> %d allocations (x%.2f), %d -> %d bytes allocated (x%.2f)",
				len(small), len(large), a1, a8, ra, b1, b8, rb)

			if ra > 12 || rb > 12 {
				t.Errorf("8 times the input took x%.1f allocations and x%.1f allocated bytes: not linear", ra, rb)
			}
		})
	}
}

// BenchmarkParse measures the whole diagnosis of a mixed 2 MB log, in MB/s.
func BenchmarkParse(b *testing.B) {
	data := repeatedLog(b, 1)
	data = bytes.Repeat(data, (2<<20)/len(data)+1)

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()

	for range b.N {
		if _, err := Diagnose([]Input{{Name: "log", R: bytes.NewReader(data)}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallInput measures the fixed cost of one diagnosis (buffers,
// maps), which dominates fuzzing.
func BenchmarkSmallInput(b *testing.B) {
	data := []byte("[    5.123456] megaraid_sas 0000:18:00.0: FW now in Ready state\n[    6.000000]  sda: sda1 sda2\n")

	b.ReportAllocs()

	for range b.N {
		if _, err := Diagnose([]Input{{Name: "x", R: bytes.NewReader(data)}}); err != nil {
			b.Fatal(err)
		}
	}
}
