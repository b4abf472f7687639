package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/raid-settle/raid-settle/internal/diskimage"
)

// Image names a kind of disk image the scenarios use.
type Image string

// Disk images, all with 512-byte sectors. The Talos-like ones carry EFI,
// BIOS, BOOT, META, STATE and EPHEMERAL partitions made by
// internal/diskimage with the real mkfs.xfs and cryptsetup.
const (
	// ImageState is a healthy Talos system disk: STATE is XFS v5 labelled
	// STATE.
	ImageState Image = "state"
	// ImageLUKS2 has STATE encrypted with LUKS2.
	ImageLUKS2 Image = "state-luks2"
	// ImageBadCRC has STATE's superblock checksum broken, nothing else:
	// Talos locates it, the mount fails, xfs_repair runs.
	ImageBadCRC Image = "state-bad-crc"
	// ImageBadGeometry has a superblock that fails the sanity checks:
	// Talos's prober does not recognise it and the node goes into
	// maintenance mode.
	ImageBadGeometry Image = "state-bad-geometry"
	// ImageBlank is an empty disk: a machine Talos is not installed on.
	ImageBlank Image = "blank"
	// ImageLeftover is another healthy Talos system disk, built apart
	// (its own partition UUIDs): a disk from an earlier install left in
	// the machine beside the one it boots from.
	ImageLeftover Image = "state-leftover"
	// ImageNull is a blank disk with no image file: QEMU's null-co driver
	// with read-zeroes=on, of a blank image's size (Drive.Null). Hundreds
	// of them cost nothing, and nothing can change them.
	ImageNull Image = "null"
)

// blankSize is the size of blank disks: that of a Talos-like one.
const blankSize = 260 * diskimage.MiB

// BuildImage writes the image of kind k into dir and returns its path.
func BuildImage(dir string, k Image) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}

	path := filepath.Join(dir, string(k)+".img")

	var err error

	switch k {
	case ImageBlank:
		err = diskimage.Blank(path, blankSize)
	case ImageState, ImageLeftover, ImageBadCRC, ImageBadGeometry:
		err = diskimage.Build(path, dir, diskimage.TalosDisk(512, diskimage.XFS))
		if err == nil && k == ImageBadCRC {
			err = diskimage.DamageState(path, 512, diskimage.DamageCRC)
		}

		if err == nil && k == ImageBadGeometry {
			err = diskimage.DamageState(path, 512, diskimage.DamageGeometry)
		}
	case ImageLUKS2:
		err = diskimage.Build(path, dir, diskimage.TalosDisk(512, diskimage.LUKS2))
	case ImageNull:
		err = fmt.Errorf("a %s disk has no image file", k)
	default:
		err = fmt.Errorf("unknown image kind %q", k)
	}

	if err != nil {
		return "", fmt.Errorf("failed to build the %s image: %w", k, err)
	}

	return path, nil
}

// PartitionInfo is where a named GPT partition of an image is and what
// its unique GUID is.
type PartitionInfo struct {
	FirstSector uint64
	UUID        string
}

// FindPartition reads the GPT of a 512-byte-sector image and returns the
// partition called name.
func FindPartition(image, name string) (PartitionInfo, error) {
	f, err := os.Open(image)
	if err != nil {
		return PartitionInfo{}, err
	}
	defer f.Close()

	p, err := diskimage.FindPartition(f, 512, name)
	if err != nil {
		return PartitionInfo{}, err
	}

	return PartitionInfo{FirstSector: p.FirstLBA, UUID: strings.ToLower(p.PartGUID.String())}, nil
}

// WriteBlkdebug writes a QEMU blkdebug configuration that fails the first
// n reads touching sector with EIO, each rule firing once.
func WriteBlkdebug(path string, sector uint64, n int) error {
	var b strings.Builder

	for range n {
		fmt.Fprintf(&b, "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"%d\"\nonce = \"on\"\n\n", sector)
	}

	return os.WriteFile(path, []byte(b.String()), 0o644)
}
