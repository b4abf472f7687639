package agent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/udev"
)

// Sysfs paths of the controllers the scenarios use.
const (
	megaraid  = "/devices/pci0000:00/0000:00:04.0"
	megaraid2 = "/devices/pci0000:00/0000:00:05.0"
	ahciCtl   = "/devices/pci0000:00/0000:00:1f.2"
	nvmeCtl   = "/devices/pci0000:00/0000:00:06.0"
)

// pci is a storage controller's uevent: add, or bind once driver is set.
func pci(devpath, driver, class, id string) udev.Event {
	action := udev.ActionAdd
	if driver != "" {
		action = udev.ActionBind
	}

	return udev.Event{
		Action: action, DevPath: devpath, Subsystem: "pci", Driver: driver,
		Env: map[string]string{"PCI_CLASS": class, "PCI_ID": id, "PCI_SLOT_NAME": devpath[strings.LastIndex(devpath, "/")+1:]},
	}
}

func megaraidBind(devpath string) udev.Event {
	return pci(devpath, "megaraid_sas", "10400", "1000:0060")
}

func blockEvent(action udev.Action, devpath, devtype string, env map[string]string) udev.Event {
	return udev.Event{Action: action, DevPath: devpath, Subsystem: "block", DevType: devtype, DevName: devpath[strings.LastIndex(devpath, "/")+1:], Env: env}
}

func diskPath(ctl, name string) string { return ctl + "/host0/target0:2:0/0:2:0:0/block/" + name }

// diskArrives is a disk and its Talos partitions appearing, the STATE one
// named as Talos names it.
func diskArrives(at time.Duration, ctl, name string) []TimedInput {
	dp := diskPath(ctl, name)
	ins := []TimedInput{at0(at, blockEvent(udev.ActionAdd, dp, "disk", nil))}

	for i, part := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
		n := fmt.Sprint(i + 1)
		ins = append(ins, at0(at+time.Duration(i+1)*time.Millisecond,
			blockEvent(udev.ActionAdd, dp+"/"+name+n, "partition", map[string]string{"PARTN": n, "PARTNAME": part})))
	}

	return ins
}

func at0(at time.Duration, e udev.Event) TimedInput {
	return TimedInput{AtMS: at.Milliseconds(), Input: Input{Kind: InputEvent, Event: &e}}
}

// disks is the oracle's view: for each disk, from when it can be opened and
// what verifying it finds.
type disks map[string]struct {
	from  time.Duration
	probe ProbeResult
}

func (d disks) oracle(disk string, at time.Duration) ProbeResult {
	x, ok := d[disk]
	if !ok || at < x.from {
		return ProbeResult{Disk: disk, NotReady: true}
	}

	p := x.probe
	p.Disk = disk

	return p
}

func stateOn(disk string, verdict blockdev.Verdict, uuids ...string) ProbeResult {
	r := blockdev.Result{
		Candidate: blockdev.Candidate{Device: "/dev/" + disk, Partition: 5, Probed: true, ProbedAs: "xfs"},
		Content:   blockdev.ContentXFS, Verdict: verdict, Problems: []blockdev.Problem{},
	}
	if verdict != blockdev.VerdictOK {
		r.Problems = append(r.Problems, blockdev.Problem{Code: blockdev.CodeXFSBadCRC, Severity: blockdev.SeverityError, Message: "bad crc"})
	}

	return ProbeResult{PartitionUUIDs: uuids, Candidates: []blockdev.Result{r}}
}

func blankDisk(uuids ...string) ProbeResult { return ProbeResult{PartitionUUIDs: uuids} }

const (
	probeLatency = 20 * time.Millisecond
	bootUUID     = "9c6f2a3e-0d8e-4b7a-9f4f-2a51c0ffee01"
)

func join(parts ...[]TimedInput) []TimedInput {
	var out []TimedInput
	for _, p := range parts {
		out = append(out, p...)
	}

	return out
}

func TestEngineScenarios(t *testing.T) {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	boot := func(evs ...udev.Event) []TimedInput {
		var ins []TimedInput
		for _, e := range evs {
			ins = append(ins, at0(0, e))
		}

		return ins
	}
	lateState := func(at time.Duration) ([]TimedInput, disks) {
		return join(boot(megaraidBind(megaraid)), diskArrives(at, megaraid, "sda")),
			disks{"sda": {at, stateOn("sda", blockdev.VerdictOK)}}
	}

	type scenario struct {
		name     string
		settings func(*Settings)
		timeline []TimedInput
		disks    disks
		decision Decision
		at       time.Duration
		reason   string // a fragment the reason must carry
	}

	var scenarios []scenario

	for _, at := range []time.Duration{0, sec(1), sec(5), sec(30)} {
		tl, d := lateState(at)
		scenarios = append(scenarios, scenario{
			name: fmt.Sprintf("STATE after %s", at), timeline: tl, disks: d,
			decision: DecisionStateVerified, at: at + probeLatency, reason: "STATE on sda partition 5 verified",
		})
	}

	tl90, d90 := lateState(sec(90))
	tl90Hint, d90Hint := lateState(sec(90))
	d90Hint["sda"] = struct {
		from  time.Duration
		probe ProbeResult
	}{sec(90), stateOn("sda", blockdev.VerdictOK, bootUUID)}

	scenarios = append(scenarios,
		scenario{
			name: "STATE after 90s: the megaraid controller without disks is given its longest window, 40s", timeline: tl90, disks: d90,
			decision: DecisionNoState, at: sec(40), reason: "every storage controller has gone quiet",
		},
		scenario{
			name: "STATE after 90s found thanks to the boot hint", timeline: tl90Hint, disks: d90Hint,
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(90) + probeLatency,
		},
		scenario{
			name:     "STATE never: a blank disk on megaraid, released after its 8s window",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.2), megaraid, "sda")),
			disks:    disks{"sda": {0, blankDisk()}},
			decision: DecisionNoState, at: sec(0.2) + 6*time.Millisecond + sec(8), reason: "Talos is not installed here",
		},
		scenario{
			// sda's last partition at 0.506s, sdb at 6.5s: a 5.994s gap, twice
			// that is the window after sdb's last partition at 6.506s.
			name:     "gaps widen the window: disks 6s apart keep the gate open twice the gap after the last",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(6.5), megaraid, "sdb")),
			disks:    disks{"sda": {0, blankDisk()}, "sdb": {0, blankDisk()}},
			decision: DecisionNoState, at: sec(6.506) + sec(11.988), reason: "window 11.988s",
		},
		scenario{
			name: "two controllers, STATE behind the slower one",
			timeline: join(boot(megaraidBind(megaraid), megaraidBind(megaraid2)),
				diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(12), megaraid2, "sdb")),
			disks:    disks{"sda": {0, blankDisk()}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(12) + probeLatency, reason: "sdb",
		},
		scenario{
			name: "a disk that cannot be opened, disappears and comes back",
			timeline: join(boot(megaraidBind(megaraid)),
				[]TimedInput{at0(sec(2), blockEvent(udev.ActionAdd, diskPath(megaraid, "sda"), "disk", nil)),
					at0(sec(2.1), blockEvent(udev.ActionRemove, diskPath(megaraid, "sda"), "disk", nil))},
				diskArrives(sec(3), megaraid, "sda")),
			disks:    disks{"sda": {sec(2.5), stateOn("sda", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(3) + probeLatency,
		},
		scenario{
			name:     "STATE on NVMe beside a RAID controller that shows nothing",
			timeline: join(boot(megaraidBind(megaraid), pci(nvmeCtl, "nvme", "10802", "144d:a808")), diskArrives(sec(0.3), nvmeCtl, "nvme0n1")),
			disks:    disks{"nvme0n1": {0, stateOn("nvme0n1", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(0.3) + probeLatency,
		},
		scenario{
			name:     "STATE on AHCI beside megaraid",
			timeline: join(boot(megaraidBind(megaraid), pci(ahciCtl, "ahci", "10601", "8086:2922")), diskArrives(sec(1), ahciCtl, "sda")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(1) + probeLatency,
		},
		scenario{
			name:     "two STATE candidates are both reported",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(0.5), megaraid, "sdb")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictCorrupt)}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(0.5) + probeLatency, reason: "2 partitions are named STATE",
		},
		scenario{
			name:     "STATE corrupt: released at once with what Talos will do",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(4), megaraid, "sda")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictCorrupt)}},
			decision: DecisionStateInvalid, at: sec(4) + probeLatency, reason: "xfs_repair",
		},
		scenario{
			name: "boot hint present: a stale STATE elsewhere does not release, the boot disk does",
			timeline: join(boot(megaraidBind(megaraid), megaraidBind(megaraid2)),
				diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(20), megaraid2, "sdb")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK, bootUUID)}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(20) + probeLatency, reason: "sdb",
		},
		scenario{
			name:     "boot hint wrong: the hinted partition never appears, STATE released once quiet",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(0.5) + 6*time.Millisecond + sec(8), reason: "never showed up",
		},
		scenario{
			name:     "boot hint on installer media without STATE: STATE elsewhere counts at once",
			timeline: join(boot(megaraidBind(megaraid), pci(ahciCtl, "ahci", "10601", "8086:2922")), diskArrives(sec(0.2), ahciCtl, "sdz"), diskArrives(sec(3), megaraid, "sda")),
			disks:    disks{"sdz": {0, blankDisk(bootUUID)}, "sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(3) + probeLatency,
		},
		scenario{
			name:     "boot hint present but its disk never appears: no STATE is not concluded before the deadline",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, blankDisk()}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionDeadline, at: DefaultDeadline, reason: "boot partition " + bootUUID + " never appeared",
		},
		scenario{
			name: "boot hint absent", timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(0.5) + probeLatency,
		},
		scenario{
			name: "no storage controller at all", decision: DecisionNoState, at: NoControllerGrace, reason: "no storage controller",
		},
		scenario{
			name: "a controller that never goes quiet hits the deadline",
			timeline: func() []TimedInput {
				ins := boot(megaraidBind(megaraid))
				for s := 1; s < 200; s += 5 {
					ins = append(ins, diskArrives(sec(float64(s)), megaraid, fmt.Sprintf("sd%c", 'a'+s%26))...)
				}

				return ins
			}(),
			disks:    disks{},
			decision: DecisionDeadline, at: DefaultDeadline, reason: "deadline passed",
		},
		scenario{
			name:     "a disk that never opens does not hold the gate past its retries",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			disks:    disks{},
			decision: DecisionNoState, at: sec(1) + 6*time.Millisecond + sec(8), reason: "1 disk(s) could not be examined (sda)",
		},
		scenario{
			name:     "a disk whose reads fail is tried again, then given up",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			disks:    disks{"sda": {0, ProbeResult{Error: "failed to read the partition table: input/output error"}}},
			decision: DecisionNoState, at: sec(1) + 6*time.Millisecond + sec(8), reason: "could not be examined (sda)",
		},
		scenario{
			name:     "a disk that cannot be opened at first (ENXIO), then verifies",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			disks:    disks{"sda": {sec(1.5), stateOn("sda", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(1) + 250*time.Millisecond*2 + probeLatency*3,
		},
		scenario{
			name:     "raid_settle.timeout shortens the deadline",
			timeline: tl90, disks: d90,
			settings: func(s *Settings) { s.Deadline = Seconds(25) },
			decision: DecisionDeadline, at: sec(25),
		},
		scenario{
			name:     "raid_settle.quiet fixes the window",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.2), megaraid, "sda")),
			disks:    disks{"sda": {0, blankDisk()}},
			settings: func(s *Settings) { s.Quiet = Seconds(3) },
			decision: DecisionNoState, at: sec(0.2) + 6*time.Millisecond + sec(3), reason: "window 3s",
		},
		scenario{
			name: "disabled", settings: func(s *Settings) { s.Disabled = true }, timeline: tl90, disks: d90,
			decision: DecisionDisabled, at: 0,
		},
	)

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			settings := DefaultSettings()
			if sc.settings != nil {
				sc.settings(&settings)
			}

			sim := Simulate(settings, sc.timeline, sc.disks.oracle, probeLatency)
			r := sim.Release

			if r.Decision != sc.decision || r.AtMS != sc.at.Milliseconds() {
				t.Fatalf("got %s at %dms, want %s at %dms\nreason: %s\nlog:\n%s", r.Decision, r.AtMS, sc.decision, sc.at.Milliseconds(), r.Reason, logText(sim.Log))
			}

			if !strings.Contains(r.Reason, sc.reason) {
				t.Fatalf("reason %q lacks %q", r.Reason, sc.reason)
			}
		})
	}
}

func logText(lines []TimedLine) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "  %6dms %s\n", l.AtMS, l.Line)
	}

	return b.String()
}

func TestEngineIsSilentAfterRelease(t *testing.T) {
	s := DefaultSettings()
	s.Disabled = true
	e := NewEngine(s, simEpoch)

	if acts := e.Step(Input{Kind: InputTick}, simEpoch); len(acts) != 1 || acts[0].Kind != ActionRelease {
		t.Fatalf("first step: %+v", acts)
	}

	ev := megaraidBind(megaraid)
	if acts := e.Step(Input{Kind: InputEvent, Event: &ev}, simEpoch.Add(time.Second)); acts != nil {
		t.Fatalf("after release: %+v", acts)
	}
}

func TestEngineIgnoresGarbage(t *testing.T) {
	e := NewEngine(DefaultSettings(), simEpoch)

	for _, in := range []Input{
		{Kind: InputEvent},
		{Kind: InputProbe},
		{Kind: "bogus"},
		{Kind: InputProbe, Probe: &ProbeResult{Disk: "sdq"}},
		{Kind: InputEvent, Event: &udev.Event{Action: udev.ActionAdd, Subsystem: "block", DevType: "partition", DevPath: "/"}},
		{Kind: InputEvent, Event: &udev.Event{Action: udev.ActionAdd, Subsystem: "pci", DevPath: "", Env: map[string]string{"PCI_CLASS": "zz"}}},
	} {
		for _, a := range e.Step(in, simEpoch) {
			if a.Kind == ActionRelease {
				t.Fatalf("released on %+v: %+v", in, a.Release)
			}
		}
	}
}

func BenchmarkEngineStep(b *testing.B) {
	e := NewEngine(DefaultSettings(), simEpoch)
	ev := megaraidBind(megaraid)
	e.Step(Input{Kind: InputEvent, Event: &ev}, simEpoch)

	events := make([]udev.Event, 64)
	for i := range events {
		events[i] = blockEvent(udev.ActionAdd, diskPath(megaraid, "sda")+fmt.Sprintf("/sda%d", i+1), "partition", map[string]string{"PARTNAME": "DATA"})
	}

	b.ReportAllocs()
	b.ResetTimer()

	for i := 0; i < b.N; i++ {
		e.Step(Input{Kind: InputEvent, Event: &events[i%len(events)]}, simEpoch.Add(time.Duration(i)*time.Microsecond))
	}
}
