package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLatencyFromAGateReport(t *testing.T) {
	var g GateReport

	err := json.Unmarshal([]byte(`{
		"decision": {"decision": "state-verified", "at_ms": 250, "state": {"device": "/dev/sdb", "partition_device": "/dev/sdb5"}},
		"state_uevent_ms": 200,
		"startup": [{"step": "probe worker started", "ms": 20}, {"step": "probe worker ready", "ms": 95.5}],
		"usage": {"gate": {"max_rss_kb": 8192, "cpu_ms": 21.4}, "worker": {"max_rss_kb": 6144, "cpu_ms": 9.6}},
		"timeline": [
			{"kind": "probe", "at_ms": 120, "probe": {"disk": "sdb", "asked_ms": 100}},
			{"kind": "event", "at_ms": 200, "event": {"action": "add", "devname": "sda5", "env": {"PARTNAME": "STATE"}}},
			{"kind": "event", "at_ms": 210, "event": {"action": "add", "devname": "sdb5", "env": {"PARTNAME": "STATE"}}},
			{"kind": "probe", "at_ms": 230, "probe": {"disk": "sda", "asked_ms": 201}},
			{"kind": "probe", "at_ms": 249, "probe": {"disk": "sdb", "asked_ms": 201, "started_ms": 203.5, "ended_ms": 240.25, "received_ms": 246.75,
				"on_cpu_ms": 12.5, "run_wait_ms": 20.25, "steps": [{"step": "opened", "ms": 1}, {"step": "partition 5 verified", "ms": 30}]}},
			{"kind": "probe", "at_ms": 300, "probe": {"disk": "sdb", "asked_ms": 260}}
		]}`), &g)
	if err != nil {
		t.Fatal(err)
	}

	out := Outcome{Scenario: &Scenario{ID: "x"}, Result: &Result{Gate: &g, GateReleaseMS: 4480, SettledMS: 4600}}

	l, ok := LatencyOf(out)
	if !ok || l.Total() != 40 || l.ReceivedMS != 249 || l.Probe == nil || l.Probe.AskedMS != 201 || l.Probe.EndedMS != 240.25 {
		t.Fatalf("latency %+v (probe %+v), ok %t", l, l.Probe, ok)
	}

	var b strings.Builder
	WriteLatency(&b, []Outcome{out, {Scenario: &Scenario{ID: "no gate"}}})

	for _, want := range []string{"| x | 95.5 | 210 | 201 | 203.5 | opened 1.0, partition 5 verified 30.0 | 12.5, 20.2 | 240.2 | 246.8 | 249 | 250 | **40** | 120 | 8.0 MiB, 21 ms; 6.0 MiB, 10 ms |", "over 1 boots: median 40 ms, worst 40 ms",
		"udevd settled after the gate's release in 1 of 1 boots (120 to 120 ms after it, median 120)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("latency table lacks %q:\n%s", want, b.String())
		}
	}

	// A report whose start-up steps carry their CPU time says what starting
	// each process cost.
	withCPU := g
	if err := json.Unmarshal([]byte(`[{"step": "gate running", "ms": 0, "cpu_ms": 12.3}, {"step": "probe worker ready", "ms": 95.5, "cpu_ms": 7.6}]`), &withCPU.Startup); err != nil {
		t.Fatal(err)
	}

	b.Reset()
	WriteLatency(&b, []Outcome{{Scenario: &Scenario{ID: "y"}, Result: &Result{Gate: &withCPU, GateReleaseMS: -1, SettledMS: -1}}})

	if want := "| **40** | - | 8.0 MiB, 21 ms (12 started); 6.0 MiB, 10 ms (8 ready) |"; !strings.Contains(b.String(), want) {
		t.Errorf("latency table lacks %q:\n%s", want, b.String())
	}

	if got := LatencySummary([]int64{40, 10, 30, 20}); got != "STATE uevent → release over 4 boots: median 25 ms, worst 40 ms." {
		t.Errorf("summary %q", got)
	}
}
