package blockdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/siderolabs/go-blockdevice/v2/block"
	"github.com/siderolabs/go-blockdevice/v2/partitioning/gpt"
	"golang.org/x/sys/unix"
)

// StatePartitionLabel is the GPT partition name Talos gives its STATE
// partition and looks for at boot.
const StatePartitionLabel = "STATE"

// Disk is what Locate found on one disk or disk image.
type Disk struct {
	// Path is the device node or image file that was read.
	Path string `json:"path"`
	// Size is the size in bytes.
	Size uint64 `json:"size"`
	// SectorSize is the logical sector size the partition table was read with.
	SectorSize uint `json:"sector_size"`
	// Table is "gpt" when a GUID partition table was found, "" otherwise.
	Table string `json:"table"`
	// Partitions counts the GPT entries in use.
	Partitions int `json:"partitions"`
	// PartitionUUIDs are the unique GUIDs of those entries, lower case; the
	// gate matches the firmware's boot partition against them.
	PartitionUUIDs []string `json:"partition_uuids"`
	// Candidates are the partitions named STATE, in table order.
	Candidates []Candidate `json:"candidates,omitempty"`
}

// Candidate is one GPT partition named STATE.
type Candidate struct {
	// Device is the whole disk or image holding the partition.
	Device string `json:"device"`
	// Partition is the 1-based GPT entry index.
	Partition uint `json:"partition"`
	// PartitionDevice is the kernel's node for the partition (/dev/sda5), for
	// block devices only. The partition is always read through Device, so that
	// a node udev has not created yet does not matter.
	PartitionDevice string `json:"partition_device,omitempty"`
	// PartitionUUID is the GPT unique partition GUID.
	PartitionUUID string `json:"partition_uuid"`
	// Offset and Size place the partition on Device, in bytes.
	Offset uint64 `json:"offset"`
	Size   uint64 `json:"size"`
	// SectorSize is the logical sector size of Device.
	SectorSize uint `json:"sector_size"`
	// ProbedAs is the name Talos's prober (go-blockdevice's blkid, whose
	// checks for XFS and LUKS verification restates) gives the partition's
	// content: "xfs", "luks", or "" when it recognises neither (and Talos
	// then treats STATE as missing). Verification fills it in.
	ProbedAs string `json:"probed_as"`
	// Probed is false when the content could not be read to name it, so
	// ProbedAs says nothing.
	Probed bool `json:"probed"`
}

// LocateOptions tunes Locate.
type LocateOptions struct {
	// SectorSize forces the logical sector size of an image file; 0 means
	// detect it (512, then 4096). Block devices report their own.
	SectorSize uint
	// Step, when set, is called as each step of the examination ends
	// ("partition table read", "contents probed"), for timings.
	Step func(step string)
}

// step reports the end of a step to o.Step, if set.
func (o LocateOptions) step(name string) {
	if o.Step != nil {
		o.Step(name)
	}
}

// ErrPartition is returned when Locate is given a partition instead of the
// whole disk holding it.
var ErrPartition = errors.New("is a partition, not a whole disk")

// Locate reads the GPT of the disk or image at path and returns every
// partition named STATE, the way Talos locates its STATE volume. It opens
// path read-only, takes no lock (Talos's own probe takes a shared flock and
// must never wait on this one), and never writes.
//
// Reads of the partition table are retried under policy; a disk that keeps
// failing returns an error wrapping a *ReadError.
func Locate(ctx context.Context, path string, opts LocateOptions, policy RetryPolicy) (*Disk, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer f.Close()

	return locate(ctx, f, path, opts, policy)
}

// locate reads the GPT of f, opened from path, and lists its partitions
// named STATE.
func locate(ctx context.Context, f *os.File, path string, opts LocateOptions, policy RetryPolicy) (*Disk, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("failed to stat %s: %w", path, err)
	}

	disk := &Disk{Path: path, Candidates: []Candidate{}}

	devices, err := gptDevices(f, st, path, opts.SectorSize)
	if err != nil {
		return nil, err
	}

	disk.Size = devices[0].GetSize()

	table, sectorSize, err := readTable(ctx, devices, path, policy)
	if err != nil {
		return nil, err
	}

	opts.step("partition table read")

	if table == nil {
		// No GPT (a blank disk, or another table type): no STATE here.
		return disk, nil
	}

	disk.Table = "gpt"
	disk.SectorSize = sectorSize
	disk.addPartitions(table, st)

	return disk, nil
}

// gptDevices returns the ways to read a partition table from f: one for a
// block device, which knows its sector size, and one per sector size to try
// for an image file (512, then 4096, unless sectorSize forces one).
func gptDevices(f *os.File, st os.FileInfo, path string, sectorSize uint) ([]gpt.Device, error) {
	switch {
	case st.Mode().IsRegular():
		sizes := []uint{512, 4096}
		if sectorSize != 0 {
			sizes = []uint{sectorSize}
		}

		devices := make([]gpt.Device, 0, len(sizes))

		for _, ss := range sizes {
			dev, err := gpt.DeviceFromFile(f, gpt.WithFileSectorSize(ss))
			if err != nil {
				return nil, fmt.Errorf("failed to read %s: %w", path, err)
			}

			devices = append(devices, dev)
		}

		return devices, nil
	case st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0:
		bd := block.NewFromFile(f)

		whole, err := bd.IsWholeDisk()
		if err != nil {
			return nil, fmt.Errorf("failed to inspect %s: %w", path, err)
		}

		if !whole {
			return nil, fmt.Errorf("%s %w: pass the disk holding it", path, ErrPartition)
		}

		dev, err := gpt.DeviceFromBlockDevice(bd)
		if err != nil {
			return nil, fmt.Errorf("failed to read the size of %s: %w", path, err)
		}

		return []gpt.Device{dev}, nil
	default:
		return nil, fmt.Errorf("%s is neither a block device nor a disk image file", path)
	}
}

// readTable reads the GPT through the first of devices that holds one,
// retrying reads under policy, and returns it with that device's sector
// size. A nil table means there is none; an error, that the disk could not
// be read.
func readTable(ctx context.Context, devices []gpt.Device, path string, policy RetryPolicy) (*gpt.Table, uint, error) {
	for _, dev := range devices {
		reader := NewRetryingReader(ctx, dev, int64(dev.GetSize()), policy)

		table, err := gpt.Read(retryingDevice{Device: dev, reader: reader})
		if err == nil {
			return table, dev.GetSectorSize(), nil
		}

		var rerr *ReadError
		if errors.As(err, &rerr) {
			// Not "no GPT": the disk could not be read.
			return nil, 0, fmt.Errorf("failed to read the partition table of %s: %w", path, err)
		}
	}

	return nil, 0, nil
}

// addPartitions counts the entries of table in use, keeps their GUIDs, and
// adds those named STATE as candidates.
func (d *Disk) addPartitions(table *gpt.Table, st os.FileInfo) {
	for idx, part := range table.Partitions() {
		if part == nil {
			continue
		}

		d.Partitions++
		d.PartitionUUIDs = append(d.PartitionUUIDs, part.PartGUID.String())

		if part.Name != StatePartitionLabel {
			continue
		}

		index := uint(idx + 1)
		d.Candidates = append(d.Candidates, Candidate{
			Device:          d.Path,
			Partition:       index,
			PartitionDevice: partitionNode(d.Path, st, index),
			PartitionUUID:   part.PartGUID.String(),
			Offset:          part.FirstLBA * uint64(d.SectorSize),
			Size:            (part.LastLBA - part.FirstLBA + 1) * uint64(d.SectorSize),
			SectorSize:      d.SectorSize,
		})
	}
}

// partitionNode names the kernel's node for partition index of the block
// device at path: sda → sda5, nvme0n1 → nvme0n1p5. Image files have none.
func partitionNode(path string, st os.FileInfo, index uint) string {
	if st.Mode().IsRegular() {
		return ""
	}

	return PartitionName(path, index)
}

// PartitionName is the kernel's name for partition n of disk (a name or a
// device path): sda → sda5, nvme0n1 → nvme0n1p5, mmcblk0 → mmcblk0p5. A
// disk whose name ends in a digit takes a "p" before the number
// (block/partitions/core.c, add_partition, in Linux 6.12).
func PartitionName(disk string, n uint) string {
	num := strconv.FormatUint(uint64(n), 10)
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return disk + "p" + num
	}

	return disk + num
}

// WholeDisks lists the device nodes of every whole disk the kernel lists in
// sysRoot/class/block (sysRoot is normally /sys), skipping partitions, empty
// devices (an unbound loop, a drive without media) and RAM disks.
func WholeDisks(sysRoot, devRoot string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(sysRoot, "class", "block"))
	if err != nil {
		return nil, fmt.Errorf("failed to list block devices: %w", err)
	}

	var disks []string

	for _, e := range entries {
		name := e.Name()
		dir := filepath.Join(sysRoot, "class", "block", name)

		if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
			continue
		}

		if strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}

		size, err := os.ReadFile(filepath.Join(dir, "size"))
		if err != nil || strings.TrimSpace(string(size)) == "0" {
			continue
		}

		disks = append(disks, filepath.Join(devRoot, name))
	}

	return disks, nil
}

// retryingDevice is a gpt.Device whose reads are retried.
type retryingDevice struct {
	gpt.Device

	reader io.ReaderAt
}

func (d retryingDevice) ReadAt(p []byte, off int64) (int, error) { return d.reader.ReadAt(p, off) }

// sectionOf returns the candidate's bytes on r as a reader of its own.
func sectionOf(r io.ReaderAt, c Candidate) *io.SectionReader {
	return io.NewSectionReader(r, int64(c.Offset), int64(c.Size))
}
