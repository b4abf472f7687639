package xfs

import "math/bits"

// blockLogOK reports whether sb_blocksize and sb_blocklog are usable for
// arithmetic: in range and agreeing.
func blockLogOK(sb *SuperBlock) bool {
	return sb.BlockLog >= MinBlockLog && sb.BlockLog <= MaxBlockLog && sb.BlockSize == 1<<sb.BlockLog
}

// checkGeometry follows the sanity checks of xfs_validate_sb_common.
func (c *checker) checkGeometry() {
	c.checkSizes()
	c.checkAGs()
	c.checkInodeLimits()
	c.checkStripe()
	c.checkRealtime()
}

// checkSizes checks the sector, block, directory block and inode sizes and
// the inodes per block, each against its log.
func (c *checker) checkSizes() {
	sb := &c.sb

	if sb.SectSize < MinSectorSize || sb.SectSize > MaxSectorSize ||
		sb.SectLog < MinSectorLog || sb.SectLog > MaxSectorLog ||
		uint32(sb.SectSize) != 1<<sb.SectLog {
		c.ps.Errorf(CodeSectorSize, "sector size %d (log %d) is not a power of two in 512..32768 agreeing with its log", sb.SectSize, sb.SectLog)
	}

	if !blockLogOK(sb) || sb.BlockSize < MinBlockSize || sb.BlockSize > MaxBlockSize {
		c.ps.Errorf(CodeBlockSize, "block size %d (log %d) is not a power of two in 512..65536 agreeing with its log", sb.BlockSize, sb.BlockLog)
	} else if c.v5 && sb.BlockSize < minCRCBlockSize {
		c.ps.Errorf(CodeBlockSize, "block size %d is below the %d bytes a v5 filesystem needs", sb.BlockSize, minCRCBlockSize)
	}

	if int(sb.DirBlkLog)+int(sb.BlockLog) > MaxBlockLog {
		c.ps.Errorf(CodeDirBlockSize, "directory blocks of 2^%d filesystem blocks (log %d) exceed 64 KiB", sb.DirBlkLog, sb.BlockLog)
	}

	inodeOK := sb.InodeLog >= MinInodeLog && sb.InodeLog <= MaxInodeLog && uint32(sb.InodeSize) == 1<<sb.InodeLog
	if !inodeOK {
		c.ps.Errorf(CodeInodeSize, "inode size %d (log %d) is not 256, 512, 1024 or 2048 agreeing with its log", sb.InodeSize, sb.InodeLog)
	}

	var perBlock uint64
	if sb.InodeSize != 0 {
		perBlock = howMany(uint64(sb.BlockSize), uint64(sb.InodeSize))
	}

	if sb.InodeSize == 0 || uint64(sb.InoPBlock) != perBlock || int(sb.BlockLog)-int(sb.InodeLog) != int(sb.InoPBLog) {
		c.ps.Errorf(CodeInodesPerBlock, "%d inodes per block (log %d) for %d-byte blocks (log %d) and %d-byte inodes (log %d)",
			sb.InoPBlock, sb.InoPBLog, sb.BlockSize, sb.BlockLog, sb.InodeSize, sb.InodeLog)
	}
}

// checkAGs checks the allocation groups against each other and against the
// data blocks, and the data blocks against the partition.
func (c *checker) checkAGs() {
	sb := &c.sb
	blockOK := blockLogOK(sb)

	if blockOK {
		if agBytes := uint64(sb.AGBlocks) << sb.BlockLog; agBytes < minAGBytes || agBytes > maxAGBytes {
			c.ps.Errorf(CodeAGSize, "allocation groups of %d blocks (%d bytes) are outside 16 MiB..1 TiB", sb.AGBlocks, agBytes)
		}
	}

	if want := bits.Len32(sb.AGBlocks - 1); int(sb.AGBlkLog) != want {
		c.ps.Errorf(CodeAGLog, "AG block log is %d, %d blocks per AG need %d", sb.AGBlkLog, sb.AGBlocks, want)
	}

	var wantAGs uint64
	if sb.AGBlocks != 0 {
		wantAGs = howMany(sb.DBlocks, uint64(sb.AGBlocks))
	}

	if sb.AGCount == 0 || wantAGs == 0 || wantAGs != uint64(sb.AGCount) {
		c.ps.Errorf(CodeAGCount, "%d AGs, but %d data blocks in AGs of %d blocks make %d", sb.AGCount, sb.DBlocks, sb.AGBlocks, wantAGs)
	}

	maxBlocks := uint64(sb.AGCount) * uint64(sb.AGBlocks)

	minBlocks := uint64(minAGBlocks)
	if sb.AGCount > 0 {
		minBlocks += uint64(sb.AGCount-1) * uint64(sb.AGBlocks)
	}

	if sb.DBlocks == 0 || sb.DBlocks > maxBlocks || sb.DBlocks < minBlocks {
		c.ps.Errorf(CodeDataBlocks, "%d data blocks outside %d..%d, the range %d AGs of %d blocks allow", sb.DBlocks, minBlocks, maxBlocks, sb.AGCount, sb.AGBlocks)
	}

	if blockOK {
		if hi, bytes := bits.Mul64(sb.DBlocks, uint64(sb.BlockSize)); hi != 0 || bytes > uint64(c.size) {
			c.ps.Errorf(CodeTruncated, "the filesystem's %d blocks of %d bytes exceed the partition's %d bytes", sb.DBlocks, sb.BlockSize, c.size)
		}
	}
}

// checkInodeLimits checks the share of space inodes may take and the shared
// version number.
func (c *checker) checkInodeLimits() {
	sb := &c.sb

	if sb.IMaxPct > 100 {
		c.ps.Errorf(CodeInodeLimits, "inodes may take %d%% of the filesystem, over 100%%", sb.IMaxPct)
	}

	if sb.SharedVN != 0 {
		c.ps.Errorf(CodeInodeLimits, "shared version number %d, the kernel supports only 0", sb.SharedVN)
	}
}

// checkStripe follows the DALIGN test and xfs_validate_stripe_geometry.
func (c *checker) checkStripe() {
	sb := &c.sb

	if (sb.Unit != 0) != (sb.VersionNum&versionDAlign != 0) {
		c.ps.Errorf(CodeStripe, "stripe unit %d disagrees with the data-alignment version bit", sb.Unit)
	}

	if !blockLogOK(sb) {
		return
	}

	unit := uint64(sb.Unit) << sb.BlockLog
	width := uint64(sb.Width) << sb.BlockLog

	switch {
	case width > maxInt:
		c.ps.Errorf(CodeStripe, "stripe width of %d bytes is too large", width)
	case unit > width:
		c.ps.Errorf(CodeStripe, "stripe unit of %d bytes exceeds the stripe width of %d bytes", unit, width)
	case unit != 0 && width == 0, unit == 0 && width != 0:
		c.ps.Errorf(CodeStripe, "stripe unit %d and width %d bytes: one is zero, the other not", unit, width)
	case unit != 0 && width%unit != 0:
		c.ps.Errorf(CodeStripe, "stripe width %d is not a multiple of the stripe unit %d bytes", width, unit)
	}
}

// checkRealtime follows xfs_validate_rt_geometry, and for metadir
// filesystems xfs_validate_sb_rtgroups and xfs_validate_sb_zoned.
func (c *checker) checkRealtime() {
	sb := &c.sb
	zoned := c.v5 && sb.FeaturesIncompat&incompatZoned != 0
	metadir := c.v5 && sb.FeaturesIncompat&incompatMetadir != 0

	if metadir {
		c.checkRTGroups()
	}

	if zoned {
		if sb.FRExtents != 0 {
			c.ps.Errorf(CodeRealtime, "zoned filesystem with %d free realtime extents recorded, must be 0", sb.FRExtents)
		}

		if sb.RTStart != 0 && sb.RTStart < sb.DBlocks {
			c.ps.Errorf(CodeRealtime, "realtime section starts at block %d, inside the %d data blocks", sb.RTStart, sb.DBlocks)
		}

		if sb.RTReserved != 0 && sb.RTReserved >= sb.RBlocks {
			c.ps.Errorf(CodeRealtime, "%d reserved realtime blocks of %d", sb.RTReserved, sb.RBlocks)
		}

		if sb.RExtSize != 1 {
			c.ps.Errorf(CodeRealtime, "zoned realtime extent size %d blocks, must be 1", sb.RExtSize)
		}
	} else if ext := uint64(sb.RExtSize) * uint64(sb.BlockSize); ext < MinRTExtentBytes || ext > MaxRTExtentBytes {
		c.ps.Errorf(CodeRealtime, "realtime extent of %d blocks (%d bytes) outside 4 KiB..1 GiB", sb.RExtSize, ext)
	}

	if sb.RBlocks == 0 {
		if sb.RExtents != 0 || sb.RBMBlocks != 0 || sb.RExtSLog != 0 || sb.FRExtents != 0 {
			c.ps.Errorf(CodeRealtime, "no realtime blocks, yet realtime extents %d, bitmap blocks %d, extent log %d, free extents %d",
				sb.RExtents, sb.RBMBlocks, sb.RExtSLog, sb.FRExtents)
		}

		return
	}

	if sb.RExtSize == 0 {
		return // reported above; nothing to divide by
	}

	wantExtents := sb.RBlocks / uint64(sb.RExtSize)

	var wantLog int
	if sb.RExtents != 0 {
		wantLog = bits.Len64(sb.RExtents) - 1
	}

	if sb.RExtents == 0 || sb.RExtents != wantExtents || int(sb.RExtSLog) != wantLog || uint64(sb.RBMBlocks) != rtBitmapBlocks(sb, zoned, metadir) {
		c.ps.Errorf(CodeRealtime, "realtime geometry: %d extents (log %d, %d bitmap blocks) for %d blocks in extents of %d",
			sb.RExtents, sb.RExtSLog, sb.RBMBlocks, sb.RBlocks, sb.RExtSize)
	}

	if zoned && sb.RGExtents != 0 && sb.RExtents%uint64(sb.RGExtents) != 0 {
		c.ps.Errorf(CodeRealtime, "zoned realtime device of %d extents is not a multiple of its %d-extent groups", sb.RExtents, sb.RGExtents)
	}
}

// rtBitmapBlocks is the size in blocks of the realtime bitmap sb needs: a
// bit per extent, per group on metadir filesystems, whose bitmap blocks also
// carry a header; none on zoned ones.
func rtBitmapBlocks(sb *SuperBlock, zoned, metadir bool) uint64 {
	if zoned {
		return 0
	}

	perRBM, blockBytes := sb.RExtents, uint64(sb.BlockSize)
	if metadir {
		perRBM, blockBytes = uint64(sb.RGExtents), blockBytes-min(blockBytes, rtBufInfoSize)
	}

	if blockBytes == 0 {
		return 0
	}

	return howMany(perRBM, 8*blockBytes)
}

// checkRTGroups follows xfs_validate_sb_rtgroups: the realtime groups of a
// metadir filesystem.
func (c *checker) checkRTGroups() {
	sb := &c.sb

	if sb.Pad != [7]byte{} {
		c.ps.Errorf(CodeMetadir, "metadir superblock padding is not zero: % x", sb.Pad[:])
	}

	if sb.RExtSize == 0 {
		c.ps.Errorf(CodeRealtime, "realtime extent size is zero")

		return
	}

	if uint64(sb.RGExtents) > maxRGBlocks/uint64(sb.RExtSize) {
		c.ps.Errorf(CodeRealtime, "realtime groups of %d extents, over the %d allowed", sb.RGExtents, maxRGBlocks/uint64(sb.RExtSize))
	}

	if sb.RGExtents < minRGExtents {
		c.ps.Errorf(CodeRealtime, "realtime groups of %d extents, under %d", sb.RGExtents, minRGExtents)

		return
	}

	if groups := howMany(sb.RExtents, uint64(sb.RGExtents)); groups != uint64(sb.RGCount) {
		c.ps.Errorf(CodeRealtime, "%d realtime groups, %d extents need %d", sb.RGCount, sb.RExtents, groups)
	}

	if sb.FeaturesIncompat&incompatExchRange == 0 {
		c.ps.Errorf(CodeRealtime, "realtime groups without the exchange-range feature they require")
	}

	if want := bits.Len64(uint64(sb.RGExtents)*uint64(sb.RExtSize) - 1); int(sb.RGBlkLog) != want {
		c.ps.Errorf(CodeRealtime, "realtime group block log %d, want %d", sb.RGBlkLog, want)
	}
}

// howMany is n divided by d, rounded up, without overflowing.
func howMany(n, d uint64) uint64 {
	q := n / d
	if n%d != 0 {
		q++
	}

	return q
}
