package agent

import (
	"fmt"
	"math/rand"
	"os"
	"path"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/udev"
)

// The property test runs the engine over machines generated from a seed:
// controllers of several drivers, disks arriving at random times, disks that
// open late, fail, hang or hold STATE, and installed-node evidence or none.
// Every machine must keep the promises the gate makes (see checkProperties).
// `make test` runs propertySeeds seeds; `make fuzz` lets the fuzzer pick them.

// propertySeeds is how many seeds TestEngineProperties tries; the
// environment variable RAID_SETTLE_PROPERTY_SEEDS sets another number.
const propertySeeds = 400

// genDisk is one generated disk.
type genDisk struct {
	name       string
	controller string
	arrive     time.Duration // its add uevent
	openFrom   time.Duration // before this its probes find it not ready
	latency    time.Duration // how long each probe takes
	content    string        // "blank", "state", "corrupt", "unreadable"
	failing    bool          // every probe fails (EIO on the partition table)
	hung       bool          // no probe ever completes
	boot       bool          // holds the boot partition (the hint's UUID)
}

// machine is a generated timeline and the truth behind it.
type machine struct {
	seed        int64
	settings    Settings
	timeline    []TimedInput
	disks       map[string]*genDisk
	controllers map[string]string // devpath -> driver
	lastEvent   time.Duration
}

func (m *machine) String() string {
	s := fmt.Sprintf("seed %d, boot image %q, kexec %t, hint %q\n", m.seed, m.settings.BootImage, m.settings.KexecBoot, m.settings.BootPartUUID)
	for dp, drv := range m.controllers {
		s += fmt.Sprintf("  controller %s %s\n", dp, drv)
	}

	names := make([]string, 0, len(m.disks))
	for n := range m.disks {
		names = append(names, n)
	}

	slices.Sort(names)

	for _, n := range names {
		s += fmt.Sprintf("  %+v\n", *m.disks[n])
	}

	return s
}

var genDrivers = []struct{ driver, class, id string }{
	{"megaraid_sas", "10400", "1000:005d"},
	{"mpt3sas", "10700", "1000:0097"},
	{"mpi3mr", "10400", "1000:00a5"},
	{"ahci", "10601", "8086:2922"},
	{"nvme", "10802", "144d:a808"},
	{"qla2xxx", "c0400", "1077:2532"},
}

func genMachine(seed int64) *machine {
	r := rand.New(rand.NewSource(seed))
	m := &machine{seed: seed, settings: DefaultSettings(), disks: map[string]*genDisk{}, controllers: map[string]string{}}
	dur := func(max time.Duration) time.Duration {
		return time.Duration(r.Int63n(int64(max))).Round(time.Millisecond)
	}

	switch r.Intn(5) {
	case 0:
		m.settings.BootImage = "/A/vmlinuz"
	case 1:
		m.settings.KexecBoot = true
	case 2:
		m.settings.BootPartUUID = bootUUID
	case 3:
		m.settings.BootImage = "/boot/vmlinuz" // an ISO: no evidence
	}

	add := func(at time.Duration, ev udev.Event) {
		if r.Intn(8) == 0 {
			ev.Source = udev.SourceSysfs
		}

		m.timeline = append(m.timeline, at0(at, ev))
		m.lastEvent = max(m.lastEvent, at)
	}

	n := 0

	for c := range 1 + r.Intn(3) {
		drv := genDrivers[r.Intn(len(genDrivers))]
		dp := fmt.Sprintf("/devices/pci0000:00/0000:00:%02x.0", 4+c)
		m.controllers[dp] = drv.driver

		ctlAt := dur(40 * time.Second)
		add(ctlAt, pci(dp, drv.driver, drv.class, drv.id))

		at := ctlAt
		for range r.Intn(5) {
			at += dur(15 * time.Second)
			d := &genDisk{
				name: "sd" + string(rune('a'+n)), controller: dp, arrive: at,
				latency: time.Millisecond + dur(200*time.Millisecond),
				content: []string{"blank", "blank", "state", "corrupt", "unreadable"}[r.Intn(5)],
				failing: r.Intn(12) == 0, hung: r.Intn(12) == 0,
			}
			n++

			if r.Intn(3) == 0 {
				d.openFrom = at + dur(4*time.Second)
			}

			m.disks[d.name] = d

			for _, in := range genDiskEvents(d) {
				add(time.Duration(in.AtMS)*time.Millisecond, *in.Event)
			}

			if r.Intn(6) == 0 {
				add(at+dur(300*time.Millisecond), blockEvent(udev.ActionChange, diskPath(dp, d.name), "disk", nil))
			}
		}
	}

	if m.settings.BootPartUUID != "" && len(m.disks) > 0 && r.Intn(4) != 0 {
		names := make([]string, 0, len(m.disks))
		for name := range m.disks {
			names = append(names, name)
		}

		slices.Sort(names)
		m.disks[names[r.Intn(len(names))]].boot = true
	}

	return m
}

// genDiskEvents is a disk's add uevent and, for one with a GPT, its
// partitions'.
func genDiskEvents(d *genDisk) []TimedInput {
	if d.content == "blank" {
		return []TimedInput{at0(d.arrive, blockEvent(udev.ActionAdd, diskPath(d.controller, d.name), "disk", nil))}
	}

	return diskArrives(d.arrive, d.controller, d.name)
}

func (m *machine) oracle(disk string, at time.Duration) ProbeResult {
	d := m.disks[disk]

	switch {
	case d == nil || at < d.openFrom:
		return ProbeResult{Disk: disk, NotReady: true, Error: "no such device or address"}
	case d.failing:
		return ProbeResult{Disk: disk, Error: "failed to read the partition table: input/output error"}
	}

	var uuids []string
	if d.boot {
		uuids = []string{bootUUID}
	}

	switch d.content {
	case "state":
		return withDisk(disk, stateOn(disk, blockdev.VerdictOK, uuids...))
	case "corrupt":
		return withDisk(disk, stateOn(disk, blockdev.VerdictCorrupt, uuids...))
	case "unreadable":
		p := unreadableState(disk)
		p.PartitionUUIDs = uuids

		return p
	}

	return withDisk(disk, blankDisk(uuids...))
}

func (m *machine) probeTime(disk string, _ time.Duration) time.Duration {
	if d := m.disks[disk]; d != nil {
		if d.hung {
			return -1
		}

		return d.latency
	}

	return probeLatency
}

// bound is the latest a release may come on a machine without evidence:
// the longest quiet window of its controllers after the last uevent, plus
// what probes and their retries can add.
func (m *machine) bound() time.Duration {
	window := NoControllerGrace

	for _, drv := range m.controllers {
		window = max(window, Profiles(BuiltinProfiles).For(drv, "").MaxQuiet.D())
	}

	var latency time.Duration
	for _, d := range m.disks {
		latency = max(latency, d.latency)
	}

	attempts := time.Duration(notReadyAttempts + failedAttempts + 1)

	return m.lastEvent + window + ProbeRetryBudget + HungProbeTimeout + PendingProbeGrace + attempts*latency
}

// checkProperties runs the engine over the machine of seed and reports what
// breaks the gate's promises.
func checkProperties(t *testing.T, seed int64) {
	t.Helper()

	m := genMachine(seed)
	sim := Simulate(m.settings, m.timeline, m.oracle, probeLatency, WithProbeTime(m.probeTime), func(o *simOptions) { o.afterStep = checkBusy(t, m) })
	r := sim.Release
	at := time.Duration(r.AtMS) * time.Millisecond
	deadline := m.settings.Deadline.D()
	evidence := m.settings.InstalledEvidence() != ""

	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s at %s: %s\n%s\nlog:\n%s", fmt.Sprintf(format, args...), r.Decision, at, r.Reason, m, logText(sim.Log))
	}

	if r.Decision == "" {
		fail("no release")
	}

	if at > deadline {
		fail("released after the %s deadline", deadline)
	}

	if evidence && r.Decision == DecisionNoState {
		fail("no-state on a node with installed-node evidence")
	}

	var boot *genDisk

	for _, d := range m.disks {
		if d.boot {
			boot = d
		}
	}

	if m.settings.BootPartUUID != "" && r.State != nil && at < deadline {
		on := path.Base(r.State.Device)
		examinable := boot != nil && !boot.hung && !boot.failing && at >= boot.arrive

		if (boot == nil || on != boot.name) && !(examinable && boot.content == "blank") {
			fail("took a STATE on %s while the boot disk was not examined", on)
		}
	}

	if !evidence && m.settings.BootPartUUID == "" && at > m.bound() {
		fail("released later than the documented bound %s after the last uevent at %s", m.bound()-m.lastEvent, m.lastEvent)
	}

	// On an installed node, a readable STATE that shows up before the
	// deadline is found.
	if evidence && m.settings.BootPartUUID == "" {
		for _, d := range m.disks {
			if d.content == "state" && !d.hung && !d.failing && max(d.arrive, d.openFrom)+ProbeRetryBudget < deadline-time.Second && r.State == nil {
				fail("missed the STATE on %s", d.name)
			}
		}
	}
}

// checkBusy fails t when a disk that is due a probe or being probed is
// missing from the engine's busy set, which is all its rules look at: such a
// disk would never be probed, and the gate could conclude without it.
func checkBusy(t *testing.T, m *machine) func(*Engine) {
	return func(e *Engine) {
		for name, d := range e.disks {
			if (d.stale || d.probing) && e.busy[name] != d {
				t.Fatalf("disk %s is stale (%t) or probing (%t) but not in busy\n%s", name, d.stale, d.probing, m)
			}
		}
	}
}

func TestEngineProperties(t *testing.T) {
	n := propertySeeds
	if v, err := strconv.Atoi(os.Getenv("RAID_SETTLE_PROPERTY_SEEDS")); err == nil && v > 0 {
		n = v
	}

	for seed := range int64(n) {
		checkProperties(t, seed)
	}
}

func FuzzEngineProperties(f *testing.F) {
	for seed := range int64(8) {
		f.Add(seed)
	}

	f.Fuzz(checkProperties)
}
