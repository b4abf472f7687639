package diagnose

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestKernelSinkMatchesDmesg turns a talosctl dmesg capture into the
// JSON-lines stream Talos's kernel-log sink sends for the same lines
// (talos.logging.kernel=) and checks that diagnose finds the same verdicts,
// with the same times, in both.
func TestKernelSinkMatchesDmesg(t *testing.T) {
	for _, name := range []string{"late-disk", "gate-late", "misspelled"} {
		t.Run(name, func(t *testing.T) {
			dmesg := filepath.Join("testdata", name, "dmesg.txt")

			f, err := os.Open(dmesg)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			var sink strings.Builder

			sc := bufio.NewScanner(f)
			for seq := 0; sc.Scan(); seq++ {
				line := sc.Text()
				if node, rest, ok := strings.Cut(line, ": "); ok && validNode(node) {
					line = rest // the sink does not name the node
				}

				pl, ok := parseTalosctlDmesg(line)
				if !ok {
					continue
				}

				// "FACILITY: PRIORITY: [TIME]: MESSAGE"
				fac, rest, _ := strings.Cut(line, ":")
				prio, rest, _ := strings.Cut(strings.TrimLeft(rest, " "), ": [")
				ts, _, _ := strings.Cut(rest, "]")

				out, err := json.Marshal(map[string]any{
					"clock": seq * 1000, "facility": fac, "msg": pl.msg + "\n", "priority": prio, "seq": seq,
					"talos-level": "info", "talos-time": ts,
				})
				if err != nil {
					t.Fatal(err)
				}

				sink.Write(append(out, '\n'))
			}

			sinkFile := filepath.Join(t.TempDir(), "kernel.jsonl")
			if err := os.WriteFile(sinkFile, []byte(sink.String()), 0o644); err != nil {
				t.Fatal(err)
			}

			strip := func(res *Result) []wantVerdict {
				vs := project(res)
				for i := range vs {
					vs[i].Node, vs[i].Evidence = "", nil
				}

				return vs
			}

			want := strip(diagnoseFiles(t, []string{filepath.Join(name, "dmesg.txt")}))

			sinkRes := diagnoseAbs(t, sinkFile)
			if diff := cmp.Diff(want, strip(sinkRes)); diff != "" {
				t.Errorf("verdicts from the kernel-log sink differ from talosctl dmesg's (-dmesg +sink):\n%s", diff)
			}

			if src := sinkRes.Sources[0]; len(src.Formats) == 0 || src.Formats[0] != FormatJSONLines || src.Note != "" {
				t.Errorf("source %+v: want %s first and no note", src, FormatJSONLines)
			}

			if len(want) == 0 {
				t.Error("the dmesg capture gave no verdict to compare")
			}
		})
	}
}

// diagnoseAbs diagnoses the one file at path.
func diagnoseAbs(t *testing.T, path string) *Result {
	t.Helper()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	res, err := Diagnose([]Input{{Name: filepath.Base(path), R: f}})
	if err != nil {
		t.Fatal(err)
	}

	return res
}
