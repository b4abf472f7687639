package xfs

import "math/bits"

// checkLog covers the log fields: xfs_validate_sb_common's size, sector and
// stripe checks, the internal/external test (Talos never names a log
// device), and the internal log's place, which xfs_repair and mkfs.xfs keep
// inside one AG.
func (c *checker) checkLog() {
	c.checkLogSizes()

	if c.sb.LogStart == 0 {
		c.ps.Errorf(CodeExternalLog, "the log is external (logstart 0); the kernel needs a logdev= mount option, which Talos does not pass")

		return
	}

	c.checkInternalLog()
}

// checkLogSizes checks the log's size, its sector size and its stripe unit.
func (c *checker) checkLogSizes() {
	sb := &c.sb

	if sb.LogBlocks > maxLogBlocks {
		c.ps.Errorf(CodeLogSize, "log of %d blocks, over the %d the kernel accepts", sb.LogBlocks, maxLogBlocks)
	} else if blockLogOK(sb) && uint64(sb.LogBlocks)<<sb.BlockLog > maxLogBytes {
		c.ps.Errorf(CodeLogSize, "log of %d bytes, over the %d the kernel accepts", uint64(sb.LogBlocks)<<sb.BlockLog, uint64(maxLogBytes))
	}

	if sb.VersionNum&versionSector != 0 {
		if sb.LogSectLog >= 32 || uint32(sb.LogSectSize) != 1<<sb.LogSectLog {
			c.ps.Errorf(CodeLogSector, "log sector size %d disagrees with its log %d", sb.LogSectSize, sb.LogSectLog)
		}
	} else if sb.LogSectSize != 0 || sb.LogSectLog != 0 {
		c.ps.Errorf(CodeLogSector, "log sector size %d (log %d) set without the sector version bit", sb.LogSectSize, sb.LogSectLog)
	}

	if sb.LogSUnit > 1 {
		if sb.BlockSize == 0 || sb.LogSUnit%sb.BlockSize != 0 {
			c.ps.Errorf(CodeLogSector, "log stripe unit of %d bytes is not a multiple of the %d-byte block", sb.LogSUnit, sb.BlockSize)
		}

		if sb.LogSUnit > maxLogRecord {
			c.ps.Errorf(CodeLogSector, "log stripe unit of %d bytes, over %d", sb.LogSUnit, maxLogRecord)
		}
	}
}

// checkInternalLog checks that the internal log is large enough and lies
// inside one allocation group.
func (c *checker) checkInternalLog() {
	sb := &c.sb

	if sb.LogBlocks == 0 {
		c.ps.Errorf(CodeLogSize, "internal log of 0 blocks")
	} else if sb.LogBlocks < minLogBlocks {
		c.ps.Errorf(CodeLogSmall, "internal log of %d blocks, under the %d mkfs.xfs makes at least; the kernel refuses a v5 log too small for its transactions", sb.LogBlocks, minLogBlocks)
	}

	// Log placement needs a sane AG geometry (reported above if not).
	if sb.AGBlocks == 0 || sb.AGCount == 0 || int(sb.AGBlkLog) != bits.Len32(sb.AGBlocks-1) {
		return
	}

	agno := sb.LogStart >> sb.AGBlkLog
	agbno := sb.LogStart & (1<<sb.AGBlkLog - 1)

	if agno >= uint64(sb.AGCount) || agbno >= uint64(sb.AGBlocks) {
		c.ps.Errorf(CodeLogOutsideData, "internal log starts at block %d (AG %d, block %d), outside the %d AGs of %d blocks", sb.LogStart, agno, agbno, sb.AGCount, sb.AGBlocks)

		return
	}

	agLen := uint64(sb.AGBlocks)
	if start := agno * uint64(sb.AGBlocks); sb.DBlocks > start && sb.DBlocks-start < agLen {
		agLen = sb.DBlocks - start // the last AG may be short
	} else if sb.DBlocks <= start {
		agLen = 0
	}

	if agbno+uint64(sb.LogBlocks) > agLen {
		c.ps.Errorf(CodeLogOutsideData, "internal log of %d blocks at block %d of AG %d runs past the AG's %d blocks", sb.LogBlocks, agbno, agno, agLen)
	}
}
