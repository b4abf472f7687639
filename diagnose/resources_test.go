package diagnose

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// resourceCaptures renders the resources of testdata/resources/late.yaml
// as talosctl get prints them with -o json too.
func resourceCaptures(t *testing.T) (yamlFile, jsonFile string) {
	t.Helper()

	yamlFile = filepath.Join("testdata", "resources", "late.yaml")

	data, err := os.ReadFile(yamlFile)
	if err != nil {
		t.Fatal(err)
	}

	var out strings.Builder

	for _, doc := range strings.Split(string(data), "\n---\n") {
		var v map[string]any
		if err := yaml.Load([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}

		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			t.Fatal(err)
		}

		out.Write(append(b, '\n'))
	}

	jsonFile = filepath.Join(t.TempDir(), "late.json")
	if err := os.WriteFile(jsonFile, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	return yamlFile, jsonFile
}

// TestResourcesShowALateDisk reads talosctl get captures of a node whose
// STATE disk came after Talos's first discovery refresh: the volume status
// says ready now, and only the times tell the race. yaml and json give the
// same verdict; the table, without times, cannot tell and says so.
func TestResourcesShowALateDisk(t *testing.T) {
	yamlFile, jsonFile := resourceCaptures(t)

	for _, file := range []string{yamlFile, jsonFile} {
		res := diagnoseAbs(t, file)
		if len(res.Verdicts) != 1 {
			t.Fatalf("%s: verdicts %+v", file, res.Verdicts)
		}

		v := res.Verdicts[0]
		if v.ID != LateDisk || v.Node != "10.20.0.11" || v.LatenessS == nil || *v.LatenessS != 7.421 || v.SettleTimeS != 15 || v.Partition != "sda5" {
			t.Errorf("%s: verdict %+v", file, v)
		}

		if len(v.Evidence) != 2 || v.Evidence[0].Role != "decision" || v.Evidence[1].Role != "appeared" || v.Evidence[1].Line == 0 {
			t.Errorf("%s: evidence %+v", file, v.Evidence)
		}

		if f := res.Sources[0].Formats; len(f) != 1 || f[0] != FormatResources {
			t.Errorf("%s: formats %v", file, f)
		}
	}

	table := filepath.Join(t.TempDir(), "table.txt")
	if err := os.WriteFile(table, []byte(`NODE         NAMESPACE   TYPE           ID          VERSION   TYPE        PHASE   LOCATION    SIZE
10.20.0.11   runtime     VolumeStatus   EPHEMERAL   5         partition   ready   /dev/sda6   371 GB
10.20.0.11   runtime     VolumeStatus   STATE       4         partition   ready   /dev/sda5   105 MB
`), 0o644); err != nil {
		t.Fatal(err)
	}

	res := diagnoseAbs(t, table)
	if v := res.Verdicts; len(v) != 1 || v[0].ID != InsufficientEvidence || !strings.Contains(v[0].Summary, "cannot tell") || len(v[0].Recommendations) == 0 {
		t.Errorf("table: %+v", v)
	}
}

// TestResourcesShowStateMissing: STATE still missing, and no discovered
// volume labelled STATE.
func TestResourcesShowStateMissing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing.yaml")
	if err := os.WriteFile(file, []byte(`node: 172.16.4.21
metadata:
    namespace: runtime
    type: VolumeStatuses.block.talos.dev
    id: STATE
    version: 2
    created: 2026-02-09T17:44:36.001Z
    updated: 2026-02-09T17:44:36.422Z
spec:
    phase: missing
    type: partition
`), 0o644); err != nil {
		t.Fatal(err)
	}

	res := diagnoseAbs(t, file)
	if v := res.Verdicts; len(v) != 1 || v[0].ID != NoState || v[0].Node != "172.16.4.21" {
		t.Errorf("verdicts %+v", v)
	}
}

// TestLogsOutrankResources: a capture whose logs reach a verdict keeps it;
// the resources replace only an insufficient-evidence verdict.
func TestLogsOutrankResources(t *testing.T) {
	withLogs := diagnoseFiles(t, []string{filepath.Join("late-disk", "dmesg.txt"), filepath.Join("resources", "late.yaml")})
	if v := withLogs.Verdicts; len(v) != 1 || v[0].ID != LateDisk || v[0].DecisionAtS == nil {
		t.Errorf("logs and resources: %+v", v)
	}

	tail := diagnoseFiles(t, []string{filepath.Join("insufficient", "dmesg-tail.txt"), filepath.Join("resources", "late.yaml")})
	if v := tail.Verdicts; len(v) != 1 || v[0].ID != LateDisk || v[0].LatenessS == nil {
		t.Errorf("a log tail and resources: %+v", v)
	}
}

// TestResourcesFromSeveralFiles: one talosctl get per resource type, one
// file each, as the README's loop writes them; the evidence names each file.
func TestResourcesFromSeveralFiles(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "resources", "late.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	byType := map[string][]string{}

	for _, doc := range strings.Split(string(data), "\n---\n") {
		typ := strings.Fields(doc[strings.Index(doc, "type:"):])[1]
		byType[typ] = append(byType[typ], doc)
	}

	dir := t.TempDir()

	var ins []Input

	for typ, docs := range byType {
		name := filepath.Join(dir, typ+".yaml")
		if err := os.WriteFile(name, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}

		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()

		ins = append(ins, Input{Name: typ + ".yaml", R: f})
	}

	res, err := Diagnose(ins)
	if err != nil {
		t.Fatal(err)
	}

	v := res.Verdicts
	if len(v) != 1 || v[0].ID != LateDisk || len(v[0].Evidence) != 2 ||
		v[0].Evidence[0].File != "DiscoveryRefreshStatuses.block.talos.dev.yaml" || v[0].Evidence[1].File != "DiscoveredVolumes.block.talos.dev.yaml" {
		t.Errorf("verdicts %+v", v)
	}
}
