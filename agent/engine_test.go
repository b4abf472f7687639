package agent

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
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
		Content:   blockdev.ContentXFS, Verdict: verdict, Problems: []problem.Problem{},
	}
	if verdict != blockdev.VerdictOK {
		r.Problems = append(r.Problems, problem.Problem{Code: xfs.CodeBadCRC, Severity: problem.SeverityError, Message: "bad crc"})
	}

	return ProbeResult{PartitionUUIDs: uuids, Candidates: []blockdev.Result{r}}
}

func blankDisk(uuids ...string) ProbeResult { return ProbeResult{PartitionUUIDs: uuids} }

func withDisk(disk string, p ProbeResult) ProbeResult {
	p.Disk = disk

	return p
}

// unreadableState is a disk whose partition named STATE could not be read.
func unreadableState(disk string) ProbeResult {
	p := stateOn(disk, blockdev.VerdictOK)
	p.Disk = disk
	p.Candidates[0].Verdict = blockdev.VerdictUnreadable
	p.Candidates[0].Problems = []problem.Problem{{Code: blockdev.CodeUnreadable, Severity: problem.SeverityError, Message: "input/output error"}}

	return p
}

// hangs makes the probes of the named disks never complete.
func hangs(names ...string) ProbeTime {
	return func(disk string, _ time.Duration) time.Duration {
		if slices.Contains(names, disk) {
			return -1
		}

		return probeLatency
	}
}

// slow makes the probes of one disk take d.
func slow(name string, d time.Duration) ProbeTime {
	return func(disk string, _ time.Duration) time.Duration {
		if disk == name {
			return d
		}

		return probeLatency
	}
}

// multipathNVMe is a namespace shared by two controllers of one subsystem
// appearing at at: its hidden paths under the PCI controller, then the
// namespace under /devices/virtual/nvme-subsystem, with its partitions when
// talos is set.
func multipathNVMe(at time.Duration, talos bool) []TimedInput {
	ns := "/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1"
	ins := []TimedInput{
		at0(at, blockEvent(udev.ActionAdd, nvmeCtl+"/nvme/nvme0/nvme0c0n1", "disk", nil)),
		at0(at, blockEvent(udev.ActionAdd, "/devices/virtual/nvme-subsystem/nvme-subsys0/nvme1/nvme0c1n1", "disk", nil)),
		at0(at, blockEvent(udev.ActionAdd, ns, "disk", nil)),
	}

	if talos {
		for i, part := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
			n := fmt.Sprint(i + 1)
			ins = append(ins, at0(at+time.Duration(i+1)*time.Millisecond,
				blockEvent(udev.ActionAdd, ns+"/nvme0n1p"+n, "partition", map[string]string{"PARTN": n, "PARTNAME": part})))
		}
	}

	return ins
}

// rescans adds, every second until end, what a sysfs rescan lists: every
// device timeline added, again, as sysfs add events.
func rescans(timeline []TimedInput, end time.Duration) []TimedInput {
	out := append([]TimedInput(nil), timeline...)

	for at := time.Second; at < end; at += time.Second {
		for _, in := range timeline {
			if in.Event == nil || time.Duration(in.AtMS)*time.Millisecond > at {
				continue
			}

			ev := *in.Event
			ev.Action, ev.Source = udev.ActionAdd, udev.SourceSysfs
			out = append(out, at0(at, ev))
		}
	}

	return out
}

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
		oracle   Oracle    // instead of disks, when a disk's answer changes
		probe    ProbeTime // instead of probeLatency for every probe
		decision Decision
		at       time.Duration
		reason   string // a fragment the reason must carry
		// unexamined are the disks the release must name as unexamined.
		unexamined []string
	}

	var scenarios []scenario

	for _, at := range []time.Duration{0, sec(1), sec(5), sec(30)} {
		tl, d := lateState(at)
		scenarios = append(scenarios, scenario{
			name: fmt.Sprintf("STATE after %s", at), timeline: tl, disks: d,
			decision: DecisionStateVerified, at: at + probeLatency, reason: "STATE on sda partition 5 verified",
		})
	}

	// A blank logical drive at 0.5s, the STATE one 12s later on the same
	// controller.
	secondVolume := join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(12.5), megaraid, "sdb"))
	secondVolumeDisks := disks{"sda": {0, blankDisk()}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK)}}

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
			name:     "boot hint whose disk never appears: a STATE elsewhere is not taken before the deadline",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionDeadline, at: DefaultDeadline, reason: "is not on the boot disk and was not taken",
		},
		scenario{
			name: "boot hint on a megaraid disk shown late: a leftover Talos disk on AHCI does not win",
			timeline: join(boot(megaraidBind(megaraid), pci(ahciCtl, "ahci", "10601", "8086:2922")),
				diskArrives(sec(0.3), ahciCtl, "sda"), diskArrives(sec(15), megaraid, "sdb")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK, "0ld0ld00-0000-4000-8000-000000000001")}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK, bootUUID)}},
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(15) + probeLatency, reason: "STATE on sdb",
		},
		scenario{
			name: "boot hint: the boot disk's STATE is taken at once, a hung disk beside it does not matter",
			timeline: join(boot(megaraidBind(megaraid)),
				diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(0.5), megaraid, "sdb")),
			disks:    disks{"sda": {0, blankDisk()}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK, bootUUID)}},
			probe:    hangs("sda"),
			settings: func(s *Settings) { s.BootPartUUID = bootUUID },
			decision: DecisionStateVerified, at: sec(0.5) + probeLatency, reason: "STATE on sdb",
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
			oracle:   func(disk string, _ time.Duration) ProbeResult { return withDisk(disk, blankDisk()) },
			decision: DecisionDeadline, at: DefaultDeadline, reason: "deadline passed",
		},
		scenario{
			name:     "a disk that never opens does not hold the gate past its retries",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			disks:    disks{},
			decision: DecisionNoState, at: sec(1) + 6*time.Millisecond + sec(8), reason: "1 disk(s) could not be examined (sda)",
			unexamined: []string{"sda"},
		},
		scenario{
			name:     "a disk whose reads fail is tried again, then given up",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			disks:    disks{"sda": {0, ProbeResult{Error: "failed to read the partition table: input/output error"}}},
			decision: DecisionNoState, at: sec(1) + 6*time.Millisecond + sec(8), reason: "could not be examined (sda)",
			unexamined: []string{"sda"},
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
			name:     "GRUB evidence: a second logical drive 12s after the first on the same controller is waited for",
			timeline: secondVolume,
			disks:    secondVolumeDisks,
			settings: func(s *Settings) { s.BootImage = "/A/vmlinuz" },
			decision: DecisionStateVerified, at: sec(12.5) + probeLatency, reason: "STATE on sdb",
		},
		scenario{
			name:     "no evidence: the same second logical drive is missed after the controller's 8s window (documented limit)",
			timeline: secondVolume,
			disks:    secondVolumeDisks,
			decision: DecisionNoState, at: sec(0.506) + sec(8), reason: "no evidence that Talos is installed",
		},
		scenario{
			name:     "an ISO's BOOT_IMAGE is no evidence",
			timeline: secondVolume,
			disks:    secondVolumeDisks,
			settings: func(s *Settings) { s.BootImage = "/boot/vmlinuz" },
			decision: DecisionNoState, at: sec(0.506) + sec(8),
		},
		scenario{
			name:     "GRUB evidence and no STATE ever: never no-state, the deadline releases",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, blankDisk()}},
			settings: func(s *Settings) { s.BootImage = "(hd0,gpt3)/B/vmlinuz" },
			decision: DecisionDeadline, at: DefaultDeadline, reason: "Talos is installed here",
		},
		scenario{
			name:     "GRUB evidence: a controller shown 30s late with STATE",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), boot(), []TimedInput{at0(sec(30), megaraidBind(megaraid2))}, diskArrives(sec(31), megaraid2, "sdb")),
			disks:    disks{"sda": {0, blankDisk()}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK)}},
			settings: func(s *Settings) { s.BootImage = "/A/vmlinuz" },
			decision: DecisionStateVerified, at: sec(31) + probeLatency,
		},
		scenario{
			name:     "a hung disk beside a verified STATE holds the boot for the grace only, and is named",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(0.5), megaraid, "sdb")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}, "sdb": {0, blankDisk()}},
			probe:    hangs("sdb"),
			decision: DecisionStateVerified, at: sec(0.5) + probeLatency + PendingProbeGrace, reason: "still being examined",
			unexamined: []string{"sdb"},
		},
		scenario{
			name:     "a slow disk within the grace is waited for, and its second STATE reported",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda"), diskArrives(sec(0.5), megaraid, "sdb")),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}, "sdb": {0, stateOn("sdb", blockdev.VerdictOK)}},
			probe:    slow("sdb", sec(1.5)),
			decision: DecisionStateVerified, at: sec(0.5) + sec(1.5), reason: "2 partitions are named STATE",
		},
		scenario{
			name:     "a hung disk and no STATE, no evidence: given up after the hung-probe timeout, not the deadline",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(0.5), megaraid, "sda")),
			disks:    disks{"sda": {0, blankDisk()}},
			probe:    hangs("sda"),
			decision: DecisionNoState, at: sec(0.5) + HungProbeTimeout, reason: "could not be examined (sda)",
			unexamined: []string{"sda"},
		},
		scenario{
			name:     "a STATE whose reads fail at first is read again before any verdict",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			oracle: func(disk string, at time.Duration) ProbeResult {
				if at < sec(1.5) {
					return unreadableState(disk)
				}

				return withDisk(disk, stateOn(disk, blockdev.VerdictOK))
			},
			decision: DecisionStateVerified, at: sec(1) + probeLatency + failedRetry + probeLatency,
		},
		scenario{
			name:     "a STATE that stays unreadable is state-invalid after the retries",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda")),
			oracle:   func(disk string, _ time.Duration) ProbeResult { return unreadableState(disk) },
			decision: DecisionStateInvalid, at: sec(1) + 3*probeLatency + 2*failedRetry, reason: "unreadable",
		},
		scenario{
			name: "a change uevent during the probe does not throw its STATE away",
			timeline: join(boot(megaraidBind(megaraid)), diskArrives(sec(1), megaraid, "sda"),
				[]TimedInput{at0(sec(1.010), blockEvent(udev.ActionChange, diskPath(megaraid, "sda"), "disk", nil))}),
			disks:    disks{"sda": {0, stateOn("sda", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(1) + probeLatency,
		},
		scenario{
			name: "a change uevent during a probe that found nothing gets the disk probed again at once",
			timeline: join(boot(megaraidBind(megaraid)),
				[]TimedInput{at0(sec(1), blockEvent(udev.ActionAdd, diskPath(megaraid, "sda"), "disk", nil)),
					at0(sec(1.010), blockEvent(udev.ActionChange, diskPath(megaraid, "sda"), "disk", nil))}),
			oracle: func(disk string, at time.Duration) ProbeResult {
				if at < sec(1.005) {
					return withDisk(disk, blankDisk()) // read before the new partition table
				}

				return withDisk(disk, stateOn(disk, blockdev.VerdictOK))
			},
			decision: DecisionStateVerified, at: sec(1) + 2*probeLatency,
		},
		scenario{
			name:     "STATE on a multipath NVMe namespace (under /devices/virtual/nvme-subsystem)",
			timeline: join(boot(megaraidBind(megaraid), pci(nvmeCtl, "nvme", "10802", "144d:a808")), multipathNVMe(sec(0.3), true)),
			disks:    disks{"nvme0n1": {0, stateOn("nvme0n1", blockdev.VerdictOK)}},
			decision: DecisionStateVerified, at: sec(0.3) + probeLatency, reason: "STATE on nvme0n1",
		},
		scenario{
			name:     "a blank multipath NVMe namespace counts as its controller's disk: the short NVMe window",
			timeline: join(boot(pci(nvmeCtl, "nvme", "10802", "144d:a808")), multipathNVMe(sec(0.3), false)),
			disks:    disks{"nvme0n1": {0, blankDisk()}},
			decision: DecisionNoState, at: sec(0.3) + sec(2), reason: "1 disk(s)) quiet since +0.3s",
		},
		scenario{
			name:     "without a uevent socket, sysfs rescans that find nothing new do not reopen the windows",
			timeline: rescans(join(boot(megaraidBind(megaraid)), diskArrives(sec(0.2), megaraid, "sda")), sec(60)),
			disks:    disks{"sda": {0, blankDisk()}},
			decision: DecisionNoState, at: sec(0.206) + sec(8), reason: "Talos is not installed here",
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

			oracle := sc.oracle
			if oracle == nil {
				oracle = sc.disks.oracle
			}

			var opts []SimOption
			if sc.probe != nil {
				opts = append(opts, WithProbeTime(sc.probe))
			}

			sim := Simulate(settings, sc.timeline, oracle, probeLatency, opts...)
			r := sim.Release

			if r.Decision != sc.decision || r.AtMS != sc.at.Milliseconds() {
				t.Fatalf("got %s at %dms, want %s at %dms\nreason: %s\nlog:\n%s", r.Decision, r.AtMS, sc.decision, sc.at.Milliseconds(), r.Reason, logText(sim.Log))
			}

			if !strings.Contains(r.Reason, sc.reason) {
				t.Fatalf("reason %q lacks %q", r.Reason, sc.reason)
			}

			if !slices.Equal(r.Unexamined, sc.unexamined) {
				t.Fatalf("unexamined disks %q, want %q", r.Unexamined, sc.unexamined)
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

// TestStepAllSeesTheWholeBatch feeds a STATE disk's probe result together
// with another disk's arrival: the rules see the second disk, under way,
// and wait for it (PendingProbeGrace), where the probe result alone would
// have released at once.
func TestStepAllSeesTheWholeBatch(t *testing.T) {
	t0 := time.Unix(1000, 0)
	now := t0.Add(100 * time.Millisecond)

	arrive := func(e *Engine, name string) {
		for _, in := range diskArrives(0, megaraid, name) {
			e.Step(in.Input, now)
		}
	}

	state := withDisk("sdb", stateOn("sdb", blockdev.VerdictOK))
	sdc := blockEvent(udev.ActionAdd, diskPath(megaraid, "sdc"), "disk", nil)

	alone := NewEngine(DefaultSettings(), t0)
	alone.Step(Input{Kind: InputEvent, Event: ptr(megaraidBind(megaraid))}, now)
	arrive(alone, "sdb")
	alone.Step(Input{Kind: InputProbe, Probe: &state}, now)

	if r := alone.Released(); r == nil || r.Decision != DecisionStateVerified {
		t.Fatalf("the probe alone: release %+v, want state-verified at once", r)
	}

	batched := NewEngine(DefaultSettings(), t0)
	batched.Step(Input{Kind: InputEvent, Event: ptr(megaraidBind(megaraid))}, now)
	arrive(batched, "sdb")

	acts := batched.StepAll([]Input{{Kind: InputProbe, Probe: &state}, {Kind: InputEvent, Event: &sdc}}, now)
	if r := batched.Released(); r != nil {
		t.Fatalf("the batch released %+v before sdc was examined", r)
	}

	if !slices.ContainsFunc(acts, func(a Action) bool { return a.Kind == ActionProbe && a.Disk == "sdc" }) {
		t.Errorf("the batch did not ask for sdc's probe: %+v", acts)
	}
}

func ptr[T any](v T) *T { return &v }
