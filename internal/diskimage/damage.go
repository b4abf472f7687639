package diskimage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	"github.com/siderolabs/go-blockdevice/v2/partitioning/gpt"
)

// Damage names a way of breaking STATE's XFS superblock on purpose, for demos
// and end-to-end scenarios. Unit tests build their own, finer corruptions.
type Damage string

// Kinds of damage.
const (
	// DamageCRC changes a counter the kernel does not check, so only the v5
	// checksum fails: Talos locates STATE, the mount fails, xfs_repair runs.
	DamageCRC Damage = "crc"
	// DamageGeometry makes the inodes-per-block log disagree with the block
	// and inode sizes, with a valid checksum: the superblock fails only its
	// sanity checks, Talos's prober no longer recognises XFS, and the node
	// boots into maintenance mode.
	DamageGeometry Damage = "geometry"
)

// Offsets in the XFS superblock that the damage touches.
const (
	sbSectsizeOffset = 0x66 // sb_sectsize, big-endian u16
	sbInopblogOffset = 0x7b // sb_inopblog, u8
	sbIcountOffset   = 0x80 // sb_icount, big-endian u64
	sbCRCOffset      = 0xe0 // sb_crc, little-endian u32
)

// DamageState breaks the primary superblock of the STATE partition of the
// image at path, whose logical sector size is sectorSize.
func DamageState(path string, sectorSize uint, damage Damage) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()

	offset, err := stateOffset(f, sectorSize)
	if err != nil {
		return err
	}

	head := make([]byte, 0x68)
	if _, err = f.ReadAt(head, offset); err != nil {
		return err
	}

	sb := make([]byte, binary.BigEndian.Uint16(head[sbSectsizeOffset:]))
	if len(sb) < sbCRCOffset+4 {
		return fmt.Errorf("STATE's sector size %d is too small to damage", len(sb))
	}

	if _, err = f.ReadAt(sb, offset); err != nil {
		return err
	}

	switch damage {
	case DamageCRC:
		binary.BigEndian.PutUint64(sb[sbIcountOffset:], binary.BigEndian.Uint64(sb[sbIcountOffset:])+1)
	case DamageGeometry:
		sb[sbInopblogOffset]++

		binary.LittleEndian.PutUint32(sb[sbCRCOffset:], 0)
		binary.LittleEndian.PutUint32(sb[sbCRCOffset:], crc32.Checksum(sb, crc32.MakeTable(crc32.Castagnoli)))
	default:
		return fmt.Errorf("unknown damage %q", damage)
	}

	if _, err = f.WriteAt(sb, offset); err != nil {
		return err
	}

	return f.Sync()
}

// stateOffset reads the image's GPT and returns where STATE starts.
func stateOffset(f *os.File, sectorSize uint) (int64, error) {
	p, err := FindPartition(f, sectorSize, "STATE")
	if err != nil {
		return 0, err
	}

	return int64(p.FirstLBA) * int64(sectorSize), nil
}

// FindPartition reads the GPT of the image f, whose logical sector size is
// sectorSize, and returns the partition called name.
func FindPartition(f *os.File, sectorSize uint, name string) (*gpt.Partition, error) {
	dev, err := gpt.DeviceFromFile(f, gpt.WithFileSectorSize(sectorSize))
	if err != nil {
		return nil, err
	}

	table, err := gpt.Read(dev)
	if err != nil {
		return nil, fmt.Errorf("failed to read the GPT of %s: %w", f.Name(), err)
	}

	for _, p := range table.Partitions() {
		if p != nil && p.Name == name {
			return p, nil
		}
	}

	return nil, fmt.Errorf("%s has no partition named %s", f.Name(), name)
}

// Blank writes a zero-filled (sparse) image of size bytes: a fresh disk.
func Blank(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}

	if err = f.Truncate(size); err != nil {
		f.Close()

		return err
	}

	return f.Close()
}
