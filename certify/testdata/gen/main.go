// Command gen writes certify's test timelines: gate reports and a
// `talosctl dmesg` capture of a Dell-like server whose PERC (MegaRAID SAS,
// megaraid_sas, 1000:005d) exposes three virtual drives seconds apart, the
// third holding Talos, over five boots; in the fourth the second virtual
// drive never shows up. The timelines are built by hand below and run
// through the gate's own engine (agent.Simulate), so that the decisions and
// log lines are the ones the gate would have written.
//
// Run from the repository root: go run ./certify/testdata/gen. The
// committed files were written by v0.3.0 and stay as they are: they are what
// vendors' captures of that version look like. certify's
// TestTodaysGateLines runs the generator again, with -out and -version, to
// read what the gate writes today.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/agent/gatelog"
	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/udev"
)

const (
	perc     = "/devices/pci0000:17/0000:17:00.0/0000:18:00.0"
	ahci     = "/devices/pci0000:00/0000:00:17.0"
	nodeAddr = "172.20.0.5"
)

var (
	version = flag.String("version", "v0.3.0", "the gate version the reports and lines show")
	outDir  = flag.String("out", "certify/testdata", "where to write the files")
)

// boot is one boot's delays after the gate's start, in milliseconds; a
// virtual drive at 0 never shows up.
type boot struct {
	bind int64
	vd   [3]int64
}

var boots = []boot{
	{bind: 210, vd: [3]int64{4330, 7690, 12110}},
	{bind: 180, vd: [3]int64{5490, 9200, 13930}},
	{bind: 260, vd: [3]int64{4130, 7210, 10740}},
	{bind: 230, vd: [3]int64{4920, 0, 12860}},
	{bind: 300, vd: [3]int64{6350, 11540, 17680}},
}

// partitions of each virtual drive: a data volume each on the first two,
// Talos's layout on the third.
var partitions = [3][]string{
	{"ceph-data"},
	{"backup"},
	{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"},
}

func main() {
	flag.Parse()

	started := time.Date(2026, 3, 2, 9, 14, 7, 0, time.UTC)

	var dmesg strings.Builder

	for i, b := range boots {
		start := started.Add(time.Duration(i) * 37 * time.Minute)
		rep := report(b, start)

		data, err := json.MarshalIndent(rep, "", "  ")
		check(err)
		check(os.WriteFile(filepath.Join(*outDir, fmt.Sprintf("perc-boot-%d.json", i+1)), append(data, '\n'), 0o644))

		if i == 0 || i == 4 {
			writeDmesg(&dmesg, rep, b, start)
		}
	}

	check(os.WriteFile(filepath.Join(*outDir, "perc-talosctl-dmesg.txt"), []byte(dmesg.String()), 0o644))
}

func report(b boot, start time.Time) *agent.Report {
	var tl []agent.TimedInput

	ev := func(at int64, e udev.Event) {
		e.Received = start.Add(time.Duration(at) * time.Millisecond)
		if e.Source == "" {
			e.Source = udev.SourceNetlink
		}

		tl = append(tl, agent.TimedInput{AtMS: at, Input: agent.Input{Kind: agent.InputEvent, Event: &e}})
	}

	// The gate starts on megaraid_sas's module event, while the driver
	// probes the PERC: its sysfs scan finds both controllers.
	ev(0, udev.Event{Action: udev.ActionAdd, DevPath: ahci, Subsystem: "pci", Driver: "ahci", Source: udev.SourceSysfs,
		Env: map[string]string{"PCI_CLASS": "10601", "PCI_ID": "8086:A182", "PCI_SUBSYS_ID": "1028:0A6B", "PCI_SLOT_NAME": "0000:00:17.0"}})
	ev(0, udev.Event{Action: udev.ActionAdd, DevPath: perc, Subsystem: "pci", Driver: "megaraid_sas", Source: udev.SourceSysfs,
		Env: map[string]string{"PCI_CLASS": "10400", "PCI_ID": "1000:005D", "PCI_SUBSYS_ID": "1028:1F47", "PCI_SLOT_NAME": "0000:18:00.0"}})
	ev(b.bind-25, udev.Event{Action: udev.ActionAdd, DevPath: perc + "/host0", Subsystem: "scsi", DevType: "scsi_host"})
	ev(b.bind-24, udev.Event{Action: udev.ActionAdd, DevPath: perc + "/host0/scsi_host/host0", Subsystem: "scsi_host"})
	ev(b.bind, udev.Event{Action: udev.ActionBind, DevPath: perc, Subsystem: "pci", Driver: "megaraid_sas",
		Env: map[string]string{"PCI_CLASS": "10400", "PCI_ID": "1000:005D", "PCI_SUBSYS_ID": "1028:1F47", "PCI_SLOT_NAME": "0000:18:00.0"}})

	letter := 'a'

	for vd, at := range b.vd {
		if at == 0 {
			continue
		}

		name := "sd" + string(letter)
		letter++
		target := fmt.Sprintf("%s/host0/target0:2:%d", perc, vd)
		sdev := fmt.Sprintf("%s/0:2:%d:0", target, vd)
		disk := sdev + "/block/" + name

		ev(at-42, udev.Event{Action: udev.ActionAdd, DevPath: target, Subsystem: "scsi", DevType: "scsi_target"})
		ev(at-41, udev.Event{Action: udev.ActionAdd, DevPath: sdev, Subsystem: "scsi", DevType: "scsi_device"})
		ev(at-3, udev.Event{Action: udev.ActionBind, DevPath: sdev, Subsystem: "scsi", DevType: "scsi_device", Driver: "sd"})
		ev(at, udev.Event{Action: udev.ActionAdd, DevPath: disk, Subsystem: "block", DevType: "disk", DevName: name,
			Env: map[string]string{"MAJOR": "8", "MINOR": fmt.Sprint(16 * (letter - 'b')), "DISKSEQ": fmt.Sprint(10 + vd)}})

		for p, label := range partitions[vd] {
			part := fmt.Sprintf("%s%d", name, p+1)
			ev(at+2+int64(p), udev.Event{Action: udev.ActionAdd, DevPath: disk + "/" + part, Subsystem: "block", DevType: "partition", DevName: part,
				Env: map[string]string{"PARTN": fmt.Sprint(p + 1), "PARTNAME": label}})
		}

		probe := agent.ProbeResult{Disk: name, PartitionUUIDs: []string{}}
		if vd == 2 {
			probe.Candidates = []blockdev.Result{{
				Candidate: blockdev.Candidate{
					Device: "/dev/" + name, Partition: 5, PartitionDevice: "/dev/" + name + "5", PartitionUUID: "5c7d1e0a-93f4-4d2b-9a51-0c2f3e8b6d17",
					Offset: 1196425216, Size: 104857600, SectorSize: 512, Probed: true, ProbedAs: "xfs",
				},
				Content: "xfs", Verdict: "ok", Problems: []problem.Problem{},
			}}
		}

		tl = append(tl, agent.TimedInput{AtMS: at + 24, Input: agent.Input{Kind: agent.InputProbe, Probe: &probe}})
	}

	settings := agent.DefaultSettings()
	sim := agent.Simulate(settings, tl, nil, 0)

	// The gate stops recording when it releases.
	var kept []agent.TimedInput

	for _, in := range tl {
		if in.AtMS <= sim.Release.AtMS {
			kept = append(kept, in)
		}
	}

	stateMS := int64(-1)

	for _, in := range kept {
		if in.Event != nil && in.Event.Env["PARTNAME"] == "STATE" {
			stateMS = in.AtMS

			break
		}
	}

	release := sim.Release

	return &agent.Report{
		Version: *version, Started: start, Settings: settings,
		Controllers: []udev.Controller{
			{DevPath: ahci, Address: "0000:00:17.0", Kind: udev.KindSATA, Class: 0x010601, Driver: "ahci", Vendor: 0x8086, Device: 0xa182, SubVendor: 0x1028, SubDevice: 0x0a6b},
			{DevPath: perc, Address: "0000:18:00.0", Kind: udev.KindRAID, Class: 0x010400, Driver: "megaraid_sas", Vendor: 0x1000, Device: 0x005d, SubVendor: 0x1028, SubDevice: 0x1f47},
		},
		Timeline: kept, Log: sim.Log, Decision: &release, HeldMS: release.AtMS, StateUeventMS: stateMS,
	}
}

// writeDmesg writes the boot as `talosctl dmesg` shows it: the gate's
// lines among a few of the kernel's.
func writeDmesg(w *strings.Builder, rep *agent.Report, b boot, start time.Time) {
	type entry struct {
		at   int64
		text string
	}

	var lines []entry

	line := func(at int64, facility, prio, text string) {
		ts := start.Add(time.Duration(at) * time.Millisecond).Format("2006-01-02T15:04:05.000000000Z")
		lines = append(lines, entry{at, fmt.Sprintf("%s: %s: %7s: [%s]: %s\n", nodeAddr, facility, prio, ts, text)})
	}

	defer func() {
		slices.SortStableFunc(lines, func(x, y entry) int { return int(x.at - y.at) })

		for _, l := range lines {
			w.WriteString(l.text)
		}
	}()

	line(-900, "kern", "info", "megaraid_sas: 07.727.03.00-rc1")
	line(-850, "kern", "info", "megaraid_sas 0000:18:00.0: FW now in Ready state")
	line(0, "user", "notice", gatelog.Prefix+gatelog.Started{Version: *version, Deadline: "2m0s", QuietWindow: "adaptive per driver", BootPartition: "none", Evidence: "none"}.String())

	for _, l := range rep.Log {
		prio := "notice"
		if l.Warn {
			prio = "warning"
		}

		line(l.AtMS, "user", prio, gatelog.Prefix+l.Line)
	}

	line(b.vd[0]+1, "kern", "notice", "sd 0:2:0:0: [sda] Attached SCSI disk")
	line(rep.HeldMS, "user", "notice", gatelog.Prefix+gatelog.Released{
		Decision: string(rep.Decision.Decision), Held: time.Duration(rep.HeldMS) * time.Millisecond, Reason: rep.Decision.Reason,
		StateUevent: time.Duration(rep.StateUeventMS) * time.Millisecond,
	}.String())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
