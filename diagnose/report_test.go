package diagnose

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
	"github.com/raid-settle/raid-settle/udev"
)

// Sysfs paths of the simulated machine: a MegaRAID controller and its
// first logical drive.
const (
	simController = "/devices/pci0000:17/0000:17:00.0/0000:18:00.0"
	simDisk       = simController + "/host0/target0:2:0/0:2:0:0/block/sda"
)

func simEvent(atMS int64, ev udev.Event) agent.TimedInput {
	return agent.TimedInput{AtMS: atMS, Input: agent.Input{Kind: agent.InputEvent, Event: &ev}}
}

// simTimeline is a controller bound at start and, when diskAt >= 0, a Talos
// disk appearing at diskAt with its six partitions.
func simTimeline(diskAt int64) []agent.TimedInput {
	tl := []agent.TimedInput{simEvent(0, udev.Event{
		Action: udev.ActionBind, DevPath: simController, Subsystem: "pci", Driver: "megaraid_sas",
		Env: map[string]string{"PCI_CLASS": "10400", "PCI_ID": "1000:005D", "PCI_SLOT_NAME": "0000:18:00.0"}, Source: udev.SourceNetlink,
	})}

	if diskAt < 0 {
		return tl
	}

	tl = append(tl, simEvent(diskAt, udev.Event{Action: udev.ActionAdd, DevPath: simDisk, Subsystem: "block", DevType: "disk", DevName: "sda", Source: udev.SourceNetlink}))

	for i, name := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
		part := "sda" + string(rune('1'+i))
		tl = append(tl, simEvent(diskAt+int64(i)+1, udev.Event{
			Action: udev.ActionAdd, DevPath: simDisk + "/" + part, Subsystem: "block", DevType: "partition", DevName: part,
			Env: map[string]string{"PARTN": string(rune('1' + i)), "PARTNAME": name}, Source: udev.SourceNetlink,
		}))
	}

	return tl
}

func stateProbe(verdict blockdev.Verdict) agent.Oracle {
	return func(disk string, _ time.Duration) agent.ProbeResult {
		r := blockdev.Result{
			Candidate: blockdev.Candidate{Device: "/dev/" + disk, Partition: 5, PartitionDevice: "/dev/" + disk + "5", Probed: true, ProbedAs: "xfs"},
			Content:   blockdev.ContentXFS, Verdict: verdict, Problems: []problem.Problem{},
		}

		if verdict != blockdev.VerdictOK {
			r.Problems = append(r.Problems, problem.Problem{Code: xfs.CodeBadCRC, Severity: problem.SeverityError, Message: "superblock CRC mismatch"})
		}

		return agent.ProbeResult{Disk: disk, Candidates: []blockdev.Result{r}}
	}
}

// simulatedReport runs the gate's own engine over a timeline on a simulated
// clock and wraps its decision in a Report, as the gate would write it.
func simulatedReport(settings agent.Settings, timeline []agent.TimedInput, oracle agent.Oracle) *agent.Report {
	sim := agent.Simulate(settings, timeline, oracle, 20*time.Millisecond)
	rel := sim.Release

	rep := &agent.Report{
		Version: "test", Started: time.Date(2026, 8, 1, 6, 0, 0, 0, time.UTC), Settings: settings,
		Timeline: timeline, Log: sim.Log, Decision: &rel, HeldMS: rel.AtMS, StateUeventMS: -1,
	}

	for _, in := range timeline {
		if in.Event != nil && in.Event.Env["PARTNAME"] == "STATE" {
			rep.StateUeventMS = in.AtMS

			break
		}
	}

	return rep
}

// expectedFromGate is the verdict a gate report alone must lead to.
func expectedFromGate(d *agent.Release) VerdictID {
	if d == nil {
		return InsufficientEvidence
	}

	switch d.Decision {
	case agent.DecisionStateVerified:
		return Healthy
	case agent.DecisionStateInvalid:
		return StateCorrupt
	case agent.DecisionNoState:
		return NoState
	}

	return InsufficientEvidence
}

func TestSimulatedGateReports(t *testing.T) {
	settings := agent.DefaultSettings()

	quiet := agent.DefaultSettings()
	quiet.Quiet = agent.Seconds(3)

	hinted := agent.DefaultSettings()
	hinted.Deadline = agent.Seconds(20)
	hinted.BootPartUUID = "9c6f2a3e-0d8e-4b7a-9f4f-2a51c0ffee01"

	for _, tc := range []struct {
		name     string
		settings agent.Settings
		timeline []agent.TimedInput
		oracle   agent.Oracle
		decision agent.Decision
		part     string
	}{
		{"verified", settings, simTimeline(6000), stateProbe(blockdev.VerdictOK), agent.DecisionStateVerified, "sda5"},
		{"corrupt", settings, simTimeline(2100), stateProbe(blockdev.VerdictCorrupt), agent.DecisionStateInvalid, "sda5"},
		{"no disk", quiet, simTimeline(-1), stateProbe(blockdev.VerdictOK), agent.DecisionNoState, ""},
		{"boot disk never came", hinted, simTimeline(-1), stateProbe(blockdev.VerdictOK), agent.DecisionDeadline, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := simulatedReport(tc.settings, tc.timeline, tc.oracle)
			if rep.Decision.Decision != tc.decision {
				t.Fatalf("the engine decided %s (%s), the case wants %s", rep.Decision.Decision, rep.Decision.Reason, tc.decision)
			}

			res := DiagnoseReport("report.json", rep)
			checkGateVerdict(t, rep, res)

			if v := res.Verdicts[0]; v.Partition != tc.part {
				t.Errorf("partition %q, want %q", v.Partition, tc.part)
			}

			// The same report through a file: JSON detected, same verdicts.
			data, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}

			fromFile, err := Diagnose([]Input{{Name: "report.json", R: bytes.NewReader(data)}})
			if err != nil {
				t.Fatal(err)
			}

			if a, b := verdictIDs(res), verdictIDs(fromFile); a != b {
				t.Errorf("struct: %s; file: %s", a, b)
			}

			if fromFile.Sources[0].Formats[0] != FormatGateReport {
				t.Errorf("formats %v", fromFile.Sources[0].Formats)
			}

			for _, v := range fromFile.Verdicts {
				for _, e := range v.Evidence {
					if e.Line == 0 {
						t.Errorf("%s evidence without a line: %+v", v.ID, e)
					}
				}
			}
		})
	}
}

func verdictIDs(r *Result) string {
	var ids []string
	for _, v := range r.Verdicts {
		ids = append(ids, string(v.ID))
	}

	return strings.Join(ids, ",")
}

// checkGateVerdict checks what a gate report alone must say: the verdict its
// decision implies, with the decision quoted.
func checkGateVerdict(t *testing.T, rep *agent.Report, res *Result) {
	t.Helper()

	if len(res.Verdicts) == 0 {
		t.Fatal("no verdict")
	}

	want := expectedFromGate(rep.Decision)
	if got := res.Verdicts[0].ID; got != want {
		var b bytes.Buffer
		res.WriteText(&b)
		t.Fatalf("verdict %s, want %s for decision %+v\n%s", got, want, rep.Decision, b.String())
	}

	if want != InsufficientEvidence && len(res.Verdicts[0].Evidence) == 0 {
		t.Errorf("%s without evidence", want)
	}

	for _, v := range res.Verdicts {
		if v.ID == LateDisk {
			t.Errorf("a gate report alone cannot show a late disk: %+v", v)
		}
	}
}

// TestE2EReports is the hook for the end-to-end harness's reports: point
// RAID_SETTLE_E2E_REPORTS at a directory (such as _out/e2e) and every
// report.json under it is diagnosed with DiagnoseReport and checked against
// its own decision. The harness makes the same check on every boot with
// raid-settle (e2e.DiagnoseAgrees), so CI's `make e2e` does not depend on
// this test; it re-checks a run's reports after the fact.
func TestE2EReports(t *testing.T) {
	dir := os.Getenv("RAID_SETTLE_E2E_REPORTS")
	if dir == "" {
		t.Skip("RAID_SETTLE_E2E_REPORTS is not set, so no end-to-end report is diagnosed here: " +
			"`make e2e` (as CI runs it) diagnoses every boot's report.json itself and fails on a verdict that does not match (its \"diagnose\" column); " +
			"set RAID_SETTLE_E2E_REPORTS=$PWD/_out/e2e (an absolute path: go test runs in the package folder) to re-check a run's reports (_out/e2e/*/report.json) with this test")
	}

	found := 0

	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "report.json" {
			return err
		}

		found++

		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			var rep agent.Report
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("not a gate report: %v", err)
			}

			checkGateVerdict(t, &rep, DiagnoseReport(path, &rep))
		})

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if found == 0 {
		t.Fatalf("no report.json under %s", dir)
	}
}
