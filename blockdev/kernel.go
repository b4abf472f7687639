package blockdev

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KernelPartition is one partition of a disk as the kernel lists it in
// sysfs: the partitions the kernel read from the disk's partition table and
// made device nodes for, which are the ones Talos can use.
type KernelPartition struct {
	// Name is the kernel's name ("sda5", "nvme0n1p5").
	Name string
	// Number is the partition's index in its table (PARTN).
	Number uint
	// Label is the GPT partition name (PARTNAME), "" when there is none.
	Label string
	// Start and Size place the partition on the disk, in bytes.
	Start, Size uint64
}

// ErrNoKernelView is returned by KernelPartitions when sysfs has no entry
// for the disk (an image file, or a sysfs that is not there).
var ErrNoKernelView = errors.New("not a block device the kernel lists")

// KernelPartitions lists the partitions the kernel created for the whole
// disk name whose GPT name is label ("" for every partition), reading only
// sysfs under sysRoot (normally /sys), never the disk: one uevent file per
// partition, and the start and size of those that match.
//
// The list is complete once the disk can be opened: the kernel scans a new
// disk's partition table while holding the disk's open mutex, before it
// announces the disk, and announces each partition found after the disk
// (block/genhd.c, device_add_disk and disk_scan_partitions; block/bdev.c,
// blkdev_get_whole, in Linux 6.12). A partition added later, by a rescan,
// comes with its own add uevent.
func KernelPartitions(sysRoot, disk, label string) ([]KernelPartition, error) {
	dir := filepath.Join(sysRoot, "class", "block", disk)

	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", disk, ErrNoKernelView)
	} else if err != nil {
		return nil, fmt.Errorf("failed to list the partitions of %s: %w", disk, err)
	}

	var parts []KernelPartition

	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, disk) {
			continue
		}

		pdir := filepath.Join(dir, name)

		uevent, err := os.ReadFile(filepath.Join(pdir, "uevent"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", filepath.Join(pdir, "uevent"), err)
		}

		if ueventValue(string(uevent), "DEVTYPE") != "partition" {
			continue
		}

		p := KernelPartition{Name: name, Label: ueventValue(string(uevent), "PARTNAME")}
		if label != "" && p.Label != label {
			continue
		}

		number, err := strconv.ParseUint(ueventValue(string(uevent), "PARTN"), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: no partition number in its uevent", name)
		}

		start, err := readSysfsUint(filepath.Join(pdir, "start"))
		if err != nil {
			return nil, err
		}

		size, err := readSysfsUint(filepath.Join(pdir, "size"))
		if err != nil {
			return nil, err
		}

		// start and size count 512-byte sectors whatever the disk's own
		// sector size (include/linux/blk_types.h, SECTOR_SHIFT).
		p.Number, p.Start, p.Size = uint(number), start*512, size*512
		parts = append(parts, p)
	}

	return parts, nil
}

// KernelSectorSize returns the disk's logical sector size from sysfs, or
// 512 when sysfs does not say.
func KernelSectorSize(sysRoot, disk string) uint {
	n, err := readSysfsUint(filepath.Join(sysRoot, "class", "block", disk, "queue", "logical_block_size"))
	if err != nil || n == 0 {
		return 512
	}

	return uint(n)
}

func readSysfsUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("failed to read %s: %w", path, err)
	}

	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("failed to read %s: %w", path, err)
	}

	return n, nil
}

// ueventValue returns the value of key in a sysfs uevent file's KEY=value
// lines.
func ueventValue(uevent, key string) string {
	for line := range strings.SplitSeq(uevent, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}

	return ""
}
