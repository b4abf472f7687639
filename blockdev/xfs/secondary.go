package xfs

import (
	"fmt"
	"math/bits"
	"strings"
)

// checkSecondaries compares the secondary superblocks of AG 1 and of the last
// AG with the primary.
func (c *checker) checkSecondaries() error {
	sb := &c.sb

	sectSize, sectOK := validSectorSize(sb)
	if !sectOK || sb.BlockSize < MinBlockSize || sb.BlockSize > MaxBlockSize || sb.BlockSize&(sb.BlockSize-1) != 0 || sb.AGBlocks == 0 {
		c.ps.Infof(CodeSecondaryUnchecked, "secondary superblocks not checked: the primary's sector size %d, block size %d or AG size %d cannot locate them",
			sb.SectSize, sb.BlockSize, sb.AGBlocks)

		return nil
	}

	if sb.AGCount < 2 {
		c.ps.Infof(CodeSecondaryUnchecked, "secondary superblocks not checked: the filesystem has %d AG", sb.AGCount)

		return nil
	}

	ags := []uint32{1}
	if last := sb.AGCount - 1; last != 1 {
		ags = append(ags, last)
	}

	sector := make([]byte, sectSize)

	for _, agno := range ags {
		if err := c.checkSecondary(agno, sector); err != nil {
			return err
		}
	}

	return nil
}

// checkSecondary reads the superblock of AG agno into sector and compares
// it with the primary: magic, CRC on v5, UUID and geometry.
func (c *checker) checkSecondary(agno uint32, sector []byte) error {
	sb := &c.sb

	hi, off := bits.Mul64(uint64(agno)*uint64(sb.AGBlocks), uint64(sb.BlockSize))
	if hi != 0 || off > uint64(c.size) || uint64(len(sector)) > uint64(c.size)-off {
		c.ps.Infof(CodeSecondaryUnchecked, "AG %d superblock not checked: it would lie beyond the partition's %d bytes", agno, c.size)

		return nil
	}

	ok, err := c.read(sector, int64(off), fmt.Sprintf("AG %d superblock", agno))
	if err != nil || !ok {
		return err
	}

	sec := Decode(sector)
	if sec.MagicNum != magicNum {
		c.ps.Errorf(CodeSecondaryBadMagic, "AG %d superblock at byte %d starts with %q (0x%08x), not \"XFSB\"", agno, off, sector[:4], sec.MagicNum)

		return nil
	}

	// Like the kernel, hold a secondary to its CRC only on a v5 filesystem.
	if c.v5 {
		if got := checksum(sector); got != sec.CRC {
			c.ps.Errorf(CodeSecondaryBadCRC, "AG %d superblock CRC32C is 0x%08x, the sector sums to 0x%08x", agno, sec.CRC, got)
		}
	}

	if sec.UUID != sb.UUID {
		c.ps.Errorf(CodeSecondaryUUID, "AG %d superblock belongs to filesystem %s, the primary to %s", agno, formatUUID(sec.UUID), formatUUID(sb.UUID))
	}

	if diffs := geometryDiffs(&sec, sb); len(diffs) > 0 {
		c.ps.Errorf(CodeSecondaryGeometry, "AG %d superblock disagrees with the primary: %s", agno, strings.Join(diffs, ", "))
	}

	return nil
}

// geometryDiffs lists the geometry fields in which a secondary superblock
// differs from the primary, each as "name value (primary value)".
func geometryDiffs(sec, primary *SuperBlock) []string {
	var diffs []string

	diff := func(name string, got, want uint64) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %d (primary %d)", name, got, want))
		}
	}

	diff("blocksize", uint64(sec.BlockSize), uint64(primary.BlockSize))
	diff("sectsize", uint64(sec.SectSize), uint64(primary.SectSize))
	diff("inodesize", uint64(sec.InodeSize), uint64(primary.InodeSize))
	diff("agblocks", uint64(sec.AGBlocks), uint64(primary.AGBlocks))
	diff("agcount", uint64(sec.AGCount), uint64(primary.AGCount))
	diff("dblocks", sec.DBlocks, primary.DBlocks)

	return diffs
}
