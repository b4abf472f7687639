package main

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

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
	// its content (xfs, luks).
	Dev, FS string
	// Disks is how many whole disks were probed.
	Disks int
	// Errors are probe failures, per disk.
	Errors []string
}

// lookupState probes every whole disk in sysfs with go-blockdevice's blkid,
// as Talos's block controllers do, and looks at the GPT partitions it finds.
func lookupState(sysRoot, devRoot string) stateResult {
	var res stateResult

	disks, _ := filepath.Glob(filepath.Join(sysRoot, "class", "block", "*"))
	sort.Strings(disks)

	for _, d := range disks {
		if !strings.Contains(readFile(filepath.Join(d, "uevent")), "DEVTYPE=disk") {
			continue
		}

		name := filepath.Base(d)
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}

		res.Disks++

		info, err := blkid.ProbePath(filepath.Join(devRoot, name))
		if err != nil {
			res.Errors = append(res.Errors, name+": "+err.Error())

			continue
		}

		for _, p := range info.Parts {
			if p.PartitionLabel == nil || *p.PartitionLabel != "STATE" {
				continue
			}

			res.Named = true

			if res.Dev == "" || (!res.Present && p.Name != "") {
				res.Dev = partitionDevice(d, p.PartitionIndex)
				res.FS = p.Name
				res.Present = p.Name != ""
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
