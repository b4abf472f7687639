package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"
)

// A node in maintenance mode answers `talosctl get … --insecure` for
// resources that are not sensitive. Of those, four say where STATE stands:
// discoveredvolumes, volumestatus, disks and discoveryrefreshstatus. Their
// fields are Talos's (pkg/machinery/resources/block in v1.13:
// discovered_volume.go, volume_status.go, discovery_refresh_status.go);
// `-o yaml` prints each as "node:", "metadata:" (with created and updated)
// and "spec:", documents separated by "---"; `-o json` prints the same
// objects one after another; the table has no times.

// FormatResources is `talosctl get` output: yaml, json or a table.
const FormatResources Format = "talosctl-get"

// resource is one Talos resource from a `talosctl get` capture.
type resource struct {
	file, node, typ, id string
	// created and updated are Unix ns; 0 when the capture has no times.
	created, updated int64
	spec             map[string]any
	// phase is VolumeStatus's spec.phase, or the table's PHASE column.
	phase string
	// partitionLabel is DiscoveredVolume's spec.partition_label, or the
	// table's PARTITIONLABEL column.
	partitionLabel, devPath string
	line                    int
}

// resourceDoc is one document of `talosctl get -o yaml|json`.
type resourceDoc struct {
	Node     string `yaml:"node" json:"node"`
	Metadata struct {
		Type    string `yaml:"type" json:"type"`
		ID      string `yaml:"id" json:"id"`
		Created string `yaml:"created" json:"created"`
		Updated string `yaml:"updated" json:"updated"`
	} `yaml:"metadata" json:"metadata"`
	Spec map[string]any `yaml:"spec" json:"spec"`
}

// looksLikeResources reports whether data starts as `talosctl get` output.
func looksLikeResources(data []byte) bool {
	first := strings.TrimSpace(string(data[:min(len(data), 4096)]))
	line, _, _ := strings.Cut(first, "\n")

	switch {
	case strings.HasPrefix(line, "node:") || strings.HasPrefix(line, "metadata:"):
		return true
	case strings.HasPrefix(line, "{"):
		return strings.Contains(first, `"metadata"`) && strings.Contains(first, `"spec"`)
	default:
		f := strings.Fields(line)

		return len(f) >= 5 && f[0] == "NODE" && f[1] == "NAMESPACE" && f[2] == "TYPE" && f[3] == "ID" && f[4] == "VERSION"
	}
}

// parseResources reads a `talosctl get` capture.
func parseResources(name string, data []byte) (parsed, []resource) {
	p := parsed{src: Source{File: name, Formats: []Format{FormatResources}, Lines: 1 + bytes.Count(data, []byte{'\n'})}}

	var docs []resourceDoc

	lines := []int{}

	switch trimmed := bytes.TrimSpace(data); {
	case bytes.HasPrefix(trimmed, []byte("{")):
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			off := dec.InputOffset()

			var d resourceDoc
			if err := dec.Decode(&d); err != nil {
				break
			}

			docs = append(docs, d)
			start := int(off) + leadingSpace(data[off:])
			lines = append(lines, 1+bytes.Count(data[:start], []byte{'\n'}))
		}
	case bytes.HasPrefix(trimmed, []byte("NODE")):
		return p, parseResourceTable(name, data)
	default:
		line := 1

		for _, chunk := range bytes.Split(data, []byte("\n---\n")) {
			var d resourceDoc
			if err := yaml.Load(chunk, &d); err == nil && d.Metadata.Type != "" {
				docs = append(docs, d)
				lines = append(lines, line+bytes.Count(chunk[:bytes.Index(chunk, []byte("metadata:"))+1], []byte{'\n'}))
			}

			line += bytes.Count(chunk, []byte{'\n'}) + 2
		}
	}

	var rs []resource

	for i, d := range docs {
		r := resource{file: name, node: d.Node, typ: d.Metadata.Type, id: d.Metadata.ID, spec: d.Spec, line: lines[i]}
		r.created, _ = parseWall(d.Metadata.Created)
		r.updated, _ = parseWall(d.Metadata.Updated)
		r.phase, _ = d.Spec["phase"].(string)
		r.partitionLabel, _ = d.Spec["partition_label"].(string)
		r.devPath, _ = d.Spec["dev_path"].(string)
		rs = append(rs, r)
	}

	if len(rs) == 0 {
		p.src.Note = "looks like talosctl get output, but no resource could be read"
	}

	return p, rs
}

func leadingSpace(b []byte) int { return len(b) - len(bytes.TrimLeft(b, " \t\r\n")) }

// parseResourceTable reads talosctl get's table: NODE NAMESPACE TYPE ID
// VERSION, then the type's own columns, of which PHASE and PARTITIONLABEL
// matter here. Cells are separated by two spaces or more.
func parseResourceTable(name string, data []byte) []resource {
	var (
		header []string
		rs     []resource
	)

	for i, raw := range strings.Split(string(data), "\n") {
		cells := splitCells(raw)
		if len(cells) == 0 {
			continue
		}

		if cells[0] == "NODE" {
			header = cells

			continue
		}

		if len(header) == 0 || len(cells) < 4 {
			continue
		}

		r := resource{file: name, node: cells[0], typ: cells[2], id: cells[3], line: i + 1}

		for j, h := range header {
			if j >= len(cells) {
				break
			}

			switch h {
			case "PHASE":
				r.phase = cells[j]
			case "PARTITIONLABEL":
				r.partitionLabel = cells[j]
			}
		}

		rs = append(rs, r)
	}

	return rs
}

func splitCells(line string) []string {
	var cells []string

	for _, c := range strings.Split(strings.TrimSpace(line), "  ") {
		if c = strings.TrimSpace(c); c != "" {
			cells = append(cells, c)
		}
	}

	return cells
}

// isType reports whether the resource is of Talos type name ("VolumeStatus"
// in a table, "VolumeStatuses.block.talos.dev" in yaml and json).
func (r resource) isType(singular, plural string) bool {
	return r.typ == singular || strings.HasPrefix(r.typ, plural+".")
}

// resourceFacts are what one node's resources say about STATE.
type resourceFacts struct {
	status       *resource   // VolumeStatus STATE
	stateVolumes []*resource // DiscoveredVolumes whose partition label is STATE
	refresh      *resource   // DiscoveryRefreshStatus
}

// gatherResources groups resources by node.
func gatherResources(rs []resource, into map[string]*resourceFacts) {
	for i := range rs {
		r := &rs[i]

		f := into[r.node]
		if f == nil {
			f = &resourceFacts{}
			into[r.node] = f
		}

		switch {
		case r.isType("VolumeStatus", "VolumeStatuses") && r.id == "STATE":
			f.status = r
		case r.isType("DiscoveredVolume", "DiscoveredVolumes") && r.partitionLabel == "STATE":
			f.stateVolumes = append(f.stateVolumes, r)
		case r.isType("DiscoveryRefreshStatus", "DiscoveryRefreshStatuses"):
			f.refresh = r
		}
	}
}

func (f *resourceFacts) evidence(role string, r *resource, text string) Evidence {
	return Evidence{Role: role, File: r.file, Line: r.line, Text: text}
}

// verdict says what the resources show, or nil when they say nothing about
// STATE. The first discovery refresh (its created time) is when Talos
// probed every disk once udevd had settled, and looked for STATE.
func (f *resourceFacts) verdict() *Verdict {
	ready := f.status != nil && f.status.phase == "ready"

	switch {
	case f.status == nil && len(f.stateVolumes) == 0:
		return nil
	case !ready && len(f.stateVolumes) == 0:
		v := &Verdict{ID: NoState, Summary: "STATE is still missing: no partition named STATE that Talos recognises"}
		v.Explanation = fmt.Sprintf("volume status of STATE is %q and no discovered volume carries the partition label STATE", f.status.phase)
		v.Evidence = append(v.Evidence, f.evidence("volume-status", f.status, "STATE: "+f.status.phase))

		return v
	}

	var dv *resource
	for _, r := range f.stateVolumes {
		if dv == nil || r.created != 0 && (dv.created == 0 || r.created < dv.created) {
			dv = r
		}
	}

	if dv == nil || dv.created == 0 || f.refresh == nil || f.refresh.created == 0 {
		v := &Verdict{ID: InsufficientEvidence, Summary: "STATE is there now, but these captures cannot tell whether it appeared after Talos decided"}
		v.Explanation = "a late disk is the likely cause, but it needs the discovered STATE volume's and the discovery refresh's times"
		v.Recommendations = []string{"capture them with times: talosctl -n NODE get discoveredvolumes --insecure -o yaml and talosctl -n NODE get discoveryrefreshstatus --insecure -o yaml"}

		if f.status != nil {
			v.Evidence = append(v.Evidence, f.evidence("volume-status", f.status, "STATE: "+f.status.phase))
		}

		return v
	}

	refresh := time.Unix(0, f.refresh.created).UTC().Format(time.RFC3339Nano)
	appeared := time.Unix(0, dv.created).UTC().Format(time.RFC3339Nano)
	evidence := []Evidence{
		f.evidence("decision", f.refresh, "discovery refresh first completed "+refresh),
		f.evidence("appeared", dv, fmt.Sprintf("%s (partition label STATE) discovered %s", nameOr(dv.devPath, dv.id), appeared)),
	}

	if dv.created <= f.refresh.created {
		v := &Verdict{ID: InsufficientEvidence, Summary: "STATE was discovered before Talos's first discovery refresh: a late disk does not explain this boot", Evidence: evidence}
		v.Recommendations = []string{"capture the console or the kernel-log stream of the boot (README, troubleshooting)"}

		return v
	}

	late := seconds(dv.created - f.refresh.created)
	settle := int(math.Ceil(math.Max(5, late*1.5)/5)) * 5
	v := &Verdict{
		ID:          LateDisk,
		Summary:     fmt.Sprintf("STATE (%s) was discovered %.1fs after the discovery refresh Talos decided on", nameOr(dv.devPath, dv.id), late),
		Explanation: "from talosctl get: the discovered volume's created time against the discovery refresh's; the volume status has since moved to ready, which config acquisition never looks at again",
		LatenessS:   &late,
		SettleTimeS: settle,
		Partition:   strings.TrimPrefix(dv.devPath, "/dev/"),
		Evidence:    evidence,
	}
	v.Recommendations = []string{"install raid-settle, or set talos.device.settle_time=" + fmt.Sprint(settle) + "s"}

	return v
}
