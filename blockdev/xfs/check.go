package xfs

import (
	"errors"
	"fmt"
	"io"

	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// Check verifies the XFS filesystem at the start of r, a partition of size
// bytes, as strictly as the kernel's mount does. Problems are findings; err
// is only an I/O error from r (wrapped with %w).
//
// It reads the primary superblock sector and the secondary superblocks of
// AG 1 and of the last AG, never more than one sector (at most 32 KiB) at a
// time, and reports every problem it finds rather than the first. The info
// is nil when no XFS superblock was found (a short device or bad magic). A
// reader that ends early (io.EOF) yields CodeShortRead, not an error.
func Check(r io.ReaderAt, size int64) (*Info, []problem.Problem, error) {
	return check(r, size, true)
}

// CheckPrimary is Check without the secondary superblocks: only what
// a mount reads (the kernel reads the primary alone), in one read of the
// first sector, or two when the sector is larger than 512 bytes. It notes
// CodeSecondaryUnchecked.
func CheckPrimary(r io.ReaderAt, size int64) (*Info, []problem.Problem, error) {
	return check(r, size, false)
}

// check runs one verification, of the secondary superblocks too when
// secondaries is set.
func check(r io.ReaderAt, size int64, secondaries bool) (*Info, []problem.Problem, error) {
	c := checker{r: r, size: size, secondaries: secondaries}
	info, err := c.run()

	return info, c.ps, err
}

// checker holds one verification's state.
type checker struct {
	r    io.ReaderAt
	size int64
	ps   problem.List
	// secondaries asks for the secondary superblocks to be checked too.
	secondaries bool

	sb SuperBlock
	v5 bool
}

// run reads the primary superblock and runs every check on it, then on the
// secondaries when asked. The info is nil when there is no superblock to
// describe.
func (c *checker) run() (*Info, error) {
	if c.size < MinSectorSize {
		c.ps.Errorf(CodeShortRead, "partition of %d bytes cannot hold an XFS superblock (%d bytes at least)", c.size, MinSectorSize)

		return nil, nil
	}

	// Read the smallest sector first, as the kernel does, then the whole
	// sector once sb_sectsize is known.
	var first [MinSectorSize]byte

	ok, err := c.read(first[:], 0, "primary superblock")
	if err != nil || !ok {
		return nil, err
	}

	sb := Decode(first[:])
	if sb.MagicNum != magicNum {
		c.ps.Errorf(CodeBadMagic, "no XFS superblock: the partition starts with %q (0x%08x), not \"XFSB\"", first[:4], sb.MagicNum)

		return nil, nil
	}

	c.sb = sb
	c.v5 = sb.VersionNum&versionNumBits == 5
	info := infoOf(&sb)

	c.checkVersion()

	sector, err := c.primarySector(first[:])
	if err != nil {
		return info, err
	}

	c.checkCRC(sector)
	c.checkGeometry()
	c.checkLog()
	c.checkFeatures()
	c.checkState()
	c.checkLabel()

	if !c.secondaries {
		c.ps.Infof(CodeSecondaryUnchecked, "secondary superblocks not checked: the mount reads only the primary (raid-settle verify checks them)")

		return info, nil
	}

	if err := c.checkSecondaries(); err != nil {
		return info, err
	}

	return info, nil
}

// read fills p from off. It reports false, with a CodeShortRead problem,
// when the partition or the reader ends first; other read errors are
// returned.
func (c *checker) read(p []byte, off int64, what string) (bool, error) {
	if off < 0 || off > c.size || int64(len(p)) > c.size-off {
		c.ps.Errorf(CodeShortRead, "%s: %d bytes at offset %d lie beyond the partition's %d bytes", what, len(p), off, c.size)

		return false, nil
	}

	n, err := c.r.ReadAt(p, off)
	if n == len(p) {
		// io.ReaderAt may return io.EOF with a full read at the end.
		return true, nil
	}

	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		c.ps.Errorf(CodeShortRead, "%s: the device ended after %d of %d bytes at offset %d, inside the partition's %d bytes", what, n, len(p), off, c.size)

		return false, nil
	}

	return false, fmt.Errorf("failed to read XFS %s at offset %d: %w", what, off, err)
}

// primarySector returns the whole primary superblock sector (sb_sectsize
// bytes), reading more than first when the sector is larger, or nil when the
// sector size is invalid or the sector cannot be read.
func (c *checker) primarySector(first []byte) ([]byte, error) {
	n, ok := validSectorSize(&c.sb)
	if !ok {
		return nil, nil
	}

	if n == len(first) {
		return first, nil
	}

	sector := make([]byte, n)

	ok, err := c.read(sector, 0, "primary superblock sector")
	if err != nil || !ok {
		return nil, err
	}

	return sector, nil
}

// validSectorSize returns sb_sectsize when it is a valid sector size.
func validSectorSize(sb *SuperBlock) (int, bool) {
	n := int(sb.SectSize)
	if n < MinSectorSize || n > MaxSectorSize || n&(n-1) != 0 {
		return 0, false
	}

	return n, true
}

// checkVersion follows xfs_sb_good_version.
func (c *checker) checkVersion() {
	sb := &c.sb
	version := sb.VersionNum & versionNumBits

	switch version {
	case 5:
		if unknown := sb.VersionNum &^ versionOKBits; unknown != 0 {
			c.ps.Errorf(CodeVersionFeatures, "version bits 0x%04x hold unknown bits 0x%04x", sb.VersionNum, unknown)
		}

		if unknown := sb.Features2 &^ (feat2OKBits | feat2CRC); unknown != 0 {
			c.ps.Errorf(CodeVersionFeatures, "features2 0x%08x holds unknown bits 0x%08x", sb.Features2, unknown)
		}

		if missing := v5VersionBits &^ sb.VersionNum; missing != 0 {
			c.ps.Errorf(CodeVersionFeatures, "v5 version bits 0x%04x lack required bits 0x%04x", sb.VersionNum, missing)
		}

		if missing := v5Feat2Bits &^ sb.Features2; missing != 0 {
			c.ps.Errorf(CodeVersionFeatures, "v5 features2 0x%08x lacks required bits 0x%08x", sb.Features2, missing)
		}
	case 4:
		c.ps.Warnf(CodeVersion4, "v4 superblock, Talos formats v5; kernels built without CONFIG_XFS_SUPPORT_V4 refuse it")

		if unknown := sb.VersionNum &^ versionOKBits; unknown != 0 {
			c.ps.Errorf(CodeVersionFeatures, "version bits 0x%04x hold unknown bits 0x%04x", sb.VersionNum, unknown)
		}

		if sb.VersionNum&versionMore != 0 {
			if unknown := sb.Features2 &^ feat2OKBits; unknown != 0 {
				c.ps.Errorf(CodeVersionFeatures, "v4 features2 0x%08x holds bits v4 does not know 0x%08x", sb.Features2, unknown)
			}
		}

		if sb.VersionNum&versionDirV2 == 0 || sb.VersionNum&versionExtFlg == 0 {
			c.ps.Errorf(CodeVersionFeatures, "v4 version bits 0x%04x lack v2 directories or unwritten extents, which the kernel requires", sb.VersionNum)
		}
	default:
		c.ps.Errorf(CodeBadVersion, "superblock version %d; the kernel mounts only 4 and 5", version)
	}

	if sb.BadFeatures2 != sb.Features2 {
		c.ps.Warnf(CodeFeatures2Mismatch, "bad_features2 0x%08x differs from features2 0x%08x; the kernel merges them at mount", sb.BadFeatures2, sb.Features2)
	}
}

// checkCRC follows xfs_sb_read_verify: the primary's CRC is checked on v5
// and whenever sb_crc is not zero (a lost version bit must not hide it).
func (c *checker) checkCRC(sector []byte) {
	if !c.v5 && c.sb.CRC == 0 {
		return
	}

	if sector == nil {
		c.ps.Infof(CodeCRCUnchecked, "superblock CRC not checked: the sector it covers (sectsize %d) is invalid or unreadable", c.sb.SectSize)

		return
	}

	if got := checksum(sector); got != c.sb.CRC {
		c.ps.Errorf(CodeBadCRC, "superblock CRC32C is 0x%08x, the %d-byte sector sums to 0x%08x", c.sb.CRC, len(sector), got)
	}
}

// checkFeatures follows xfs_validate_sb_read and the v5 part of
// xfs_validate_sb_common; v4 filesystems have no feature masks.
func (c *checker) checkFeatures() {
	sb := &c.sb

	if !c.v5 {
		if q := sb.QFlags & (pQuotaEnfd | gQuotaEnfd | pQuotaChkd | gQuotaChkd); q != 0 {
			c.ps.Errorf(CodeQuotaFlags, "v4 superblock with v5 quota flags 0x%04x", q)
		}

		return
	}

	if unknown := sb.FeaturesCompat; unknown != 0 {
		c.ps.Infof(CodeUnknownCompat, "unknown compatible features 0x%08x; the kernel mounts and suggests a newer kernel", unknown)
	}

	if unknown := sb.FeaturesROCompat &^ roCompatKnown; unknown != 0 {
		c.ps.Errorf(CodeUnknownROCompat, "unknown read-only-compatible features 0x%08x; the kernel mounts only read-only and refuses Talos's read-write mount", unknown)
	}

	if unknown := sb.FeaturesIncompat &^ incompatKnown; unknown != 0 {
		c.ps.Errorf(CodeUnknownIncompat, "unknown incompatible features 0x%08x; the kernel refuses the mount", unknown)
	}

	if unknown := sb.FeaturesLogIncompat &^ logIncompatKnown; unknown != 0 {
		c.ps.Errorf(CodeUnknownLogIncompat, "unknown log-incompatible features 0x%08x; the kernel cannot recover or update such a filesystem", unknown)
	}

	if sb.FeaturesIncompat&incompatNeedsRepair != 0 {
		c.ps.Errorf(CodeNeedsRepair, "the needsrepair feature is set: an xfs_repair did not finish; the kernel refuses the mount")
	}

	if q := sb.QFlags & (oQuotaEnfd | oQuotaChkd); q != 0 {
		c.ps.Errorf(CodeQuotaFlags, "v5 superblock with v4 quota flags 0x%04x", q)
	}

	if sb.FeaturesIncompat&incompatSpinodes != 0 {
		// As the kernel computes it, even from a bad block log.
		align := uint64(inodesPerChunk) * uint64(sb.InodeSize) >> sb.BlockLog

		if uint64(sb.InoAlignmt) != align {
			c.ps.Errorf(CodeSparseInodes, "inode alignment of %d blocks, sparse inodes need the %d-block chunk size", sb.InoAlignmt, align)
		}

		if sb.SpinoAlign != 0 && (sb.SpinoAlign > sb.InoAlignmt || sb.InoAlignmt%sb.SpinoAlign != 0) {
			c.ps.Errorf(CodeSparseInodes, "sparse inode alignment %d does not divide the inode alignment %d", sb.SpinoAlign, sb.InoAlignmt)
		}
	} else if sb.SpinoAlign != 0 {
		c.ps.Errorf(CodeSparseInodes, "sparse inode alignment %d without the sparse inode feature", sb.SpinoAlign)
	}
}

// checkState covers xfs_fs_fill_super's refusal of a primary that an offline
// tool still owns.
func (c *checker) checkState() {
	if c.sb.InProgress != 0 {
		c.ps.Errorf(CodeInProgress, "inprogress is set: mkfs.xfs or another offline tool did not finish; the kernel refuses the mount")
	}
}

// checkLabel warns when the filesystem is not labelled as Talos labels it.
func (c *checker) checkLabel() {
	if label := labelOf(c.sb.FName); label != expectedLabel {
		c.ps.Warnf(CodeLabel, "filesystem label is %q, Talos labels STATE %q", label, expectedLabel)
	}
}

// expectedLabel is the label Talos gives STATE's filesystem.
const expectedLabel = "STATE"
