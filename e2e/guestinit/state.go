package main

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/siderolabs/go-blockdevice/v2/blkid"
)

// stateResult is what a Talos-like lookup of STATE found.
type stateResult struct {
	// Present: a GPT partition named STATE whose content Talos's prober
	// recognises (Talos's `volume.partition_label == 'STATE' &&
	// volume.name != ''`).
	Present bool
	// Named: a partition named STATE exists, recognised or not.
	Named bool
	// Dev is the partition's device name (sdb5), FS what the prober named
	// its content (xfs, luks), UUID its GPT unique partition GUID.
	Dev, FS, UUID string
	// Disks is how many whole disks were probed.
	Disks int
	// Errors are probe failures, per disk.
	Errors []string
}

// probeTimeout bounds one disk's probe in a lookup: a disk whose reads
// never complete is reported as an error, and its probe left behind (it
// cannot be cancelled), instead of hanging the lookup.
const probeTimeout = 5 * time.Second

// lookupState probes every whole disk in sysfs with go-blockdevice's blkid,
// as Talos's block controllers do, and looks at the GPT partitions it finds.
// The disks are probed side by side, each for at most probeTimeout.
func lookupState(sysRoot, devRoot string) stateResult {
	var res stateResult

	disks, _ := filepath.Glob(filepath.Join(sysRoot, "class", "block", "*"))
	sort.Strings(disks)

	type probed struct {
		info *blkid.Info
		err  error
	}

	var (
		names   []string
		answers []chan probed
	)

	for _, d := range disks {
		if !strings.Contains(readFile(filepath.Join(d, "uevent")), "DEVTYPE=disk") {
			continue
		}

		name := filepath.Base(d)
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}

		res.Disks++

		ch := make(chan probed, 1)
		names, answers = append(names, d), append(answers, ch)

		go func() {
			info, err := blkid.ProbePath(filepath.Join(devRoot, name))
			ch <- probed{info, err}
		}()
	}

	deadline := time.NewTimer(probeTimeout)
	defer deadline.Stop()

	expired := false

	for i, d := range names {
		name := filepath.Base(d)

		var (
			p        probed
			answered bool
		)

		if !expired {
			select {
			case p = <-answers[i]:
				answered = true
			case <-deadline.C:
				expired = true
			}
		}

		if !answered {
			select {
			case p = <-answers[i]:
			default:
				res.Errors = append(res.Errors, name+": no answer within "+probeTimeout.String())

				continue
			}
		}

		if p.err != nil {
			res.Errors = append(res.Errors, name+": "+p.err.Error())

			continue
		}

		for _, part := range p.info.Parts {
			if part.PartitionLabel == nil || *part.PartitionLabel != "STATE" {
				continue
			}

			res.Named = true

			if res.Dev == "" || (!res.Present && part.Name != "") {
				res.Dev = partitionDevice(d, part.PartitionIndex)
				res.FS = part.Name
				res.Present = part.Name != ""
				res.UUID = ""

				if part.PartitionUUID != nil {
					res.UUID = strings.ToLower(part.PartitionUUID.String())
				}
			}
		}
	}

	return res
}

// partitionDevice finds the name of partition number index of the disk at
// sysfs path disk (sdb, 5 -> sdb5; nvme0n1, 5 -> nvme0n1p5).
func partitionDevice(disk string, index uint) string {
	entries, _ := os.ReadDir(disk)
	for _, e := range entries {
		if readFile(filepath.Join(disk, e.Name(), "partition")) == strconv.FormatUint(uint64(index), 10) {
			return e.Name()
		}
	}

	return filepath.Base(disk) + "?" + strconv.FormatUint(uint64(index), 10)
}

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}

	return strings.TrimSpace(string(b))
}
