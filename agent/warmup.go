package agent

import (
	"context"
	_ "embed"
	"strconv"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/udev"
)

// warmUpSuperblock is the first sector of an XFS filesystem made the way
// Talos makes STATE (mkfs.xfs -L STATE on 100 MiB), the one sector the
// gate's check reads. `go test ./agent -run TestWarmUpSuperblock -args
// -update` makes it again with the real tool.
//
//go:embed warmup-xfs-sector.bin
var warmUpSuperblock []byte

// warmUpPartitionSize is the size of the partition warmUpSuperblock was made
// on.
const warmUpPartitionSize = 100 << 20

// WarmUp runs once, in memory, what the gate and its worker run on a boot:
// a miniature boot through the engine (warmUpBoot, Simulate), whose one
// probe is the verification of warmUpSuperblock. The worker then sends the
// result as a reply (ServeProbes), which warms the encoding of a probe result
// too. A process's first pass through that code pays for faulting in its
// pages (read from the extension's squashfs on a node) and for the caches
// encoding/json builds per type: about 1 ms natively, then tens of µs a pass
// (BenchmarkWarmUp); under an emulator, translating the code costs tens of
// milliseconds more. The gate runs the same executable, so the engine's pages
// and translations are warm for it too when it feeds the engine its sysfs
// scan. It reads no disk and writes nothing.
func WarmUp() ProbeResult {
	res, _ := warmUp()

	return res
}

// warmUp is WarmUp, with the miniature boot's outcome.
func warmUp() (ProbeResult, Simulation) {
	var res ProbeResult

	sim := Simulate(DefaultSettings(), warmUpBoot(), func(disk string, _ time.Duration) ProbeResult {
		c := blockdev.Candidate{Device: "warm-up", Partition: 5, Size: warmUpPartitionSize, SectorSize: 512}
		res = ProbeResult{Disk: disk, Candidates: []blockdev.Result{
			blockdev.VerifyPartition(context.Background(), zeroPadded{warmUpSuperblock}, c, blockdev.VerifyOptions{PrimaryOnly: true}, blockdev.DefaultRetryPolicy),
		}}

		return res
	}, time.Millisecond)

	res.Disk = "warm-up"

	return res, sim
}

// warmUpBoot is the boot WarmUp runs through the engine: the one the gate
// sees most, a MegaRAID controller with one disk holding Talos's partitions,
// all listed by the sysfs scan in one batch.
func warmUpBoot() []TimedInput {
	const ctl = "/devices/pci0000:00/0000:00:02.0"

	disk := ctl + "/host0/target0:2:0/0:2:0:0/block/sda"
	sysfs := func(ev udev.Event) TimedInput {
		ev.Action, ev.Source = udev.ActionAdd, udev.SourceSysfs

		return TimedInput{WithPrevious: true, Input: Input{Kind: InputEvent, Event: &ev}}
	}

	boot := []TimedInput{
		sysfs(udev.Event{DevPath: ctl, Subsystem: "pci", Driver: "megaraid_sas", Env: map[string]string{"PCI_CLASS": "10400", "PCI_ID": "1000:0060", "PCI_SLOT_NAME": "0000:00:02.0"}}),
		sysfs(udev.Event{DevPath: ctl + "/host0", Subsystem: "scsi", DevType: "scsi_host"}),
		sysfs(udev.Event{DevPath: disk, Subsystem: "block", DevType: "disk", DevName: "sda"}),
	}

	for i, label := range []string{"EFI", "BIOS", "BOOT", "META", blockdev.StatePartitionLabel, "EPHEMERAL"} {
		n := strconv.Itoa(i + 1)
		boot = append(boot, sysfs(udev.Event{DevPath: disk + "/sda" + n, Subsystem: "block", DevType: "partition", DevName: "sda" + n, Env: map[string]string{"PARTN": n, "PARTNAME": label}}))
	}

	boot[0].WithPrevious = false

	return boot
}

// zeroPadded reads as its bytes followed by zeroes, up to any offset.
type zeroPadded struct{ head []byte }

func (z zeroPadded) ReadAt(p []byte, off int64) (int, error) {
	clear(p)

	if off < int64(len(z.head)) {
		copy(p, z.head[off:])
	}

	return len(p), nil
}
