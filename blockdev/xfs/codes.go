package xfs

import "github.com/raid-settle/raid-settle/blockdev/problem"

// XFS problem codes. Each names one check of Check; the checks follow the
// kernel's mount-time superblock verification (xfs_validate_sb_common and
// xfs_validate_sb_read in fs/xfs/libxfs/xfs_sb.c, plus the refusals in
// xfs_fs_fill_super), so an error here is a superblock the kernel would not
// mount. Codes without "secondary" concern the primary superblock, at byte 0.
const (
	// CodeShortRead (error): the device ended, io.EOF from the reader,
	// before a superblock Check had to read, or the partition is smaller
	// than one sector. The message names the superblock.
	CodeShortRead problem.Code = "xfs-short-read"
	// CodeBadMagic (error): the first sector does not start with "XFSB";
	// there is no XFS filesystem here (go-blockdevice will not name it xfs,
	// so Talos does not find STATE).
	CodeBadMagic problem.Code = "xfs-bad-magic"
	// CodeVersion4 (warning): a v4 superblock. The kernel still mounts v4
	// unless built without CONFIG_XFS_SUPPORT_V4, but Talos formats v5.
	CodeVersion4 problem.Code = "xfs-v4"
	// CodeBadVersion (error): a superblock version other than 4 or 5.
	CodeBadVersion problem.Code = "xfs-bad-version"
	// CodeVersionFeatures (error): the version bits (sb_versionnum) or
	// sb_features2 hold unknown bits, or lack bits the version requires
	// (v5: NLINK, ALIGN, LOGV2, EXTFLG, DIRV2, MOREBITS and LAZYSBCOUNT,
	// ATTR2, PROJID32, CRC; v4: DIRV2 and EXTFLG).
	CodeVersionFeatures problem.Code = "xfs-version-features"
	// CodeFeatures2Mismatch (warning): sb_bad_features2 differs from
	// sb_features2; the kernel merges them at mount and rewrites both.
	CodeFeatures2Mismatch problem.Code = "xfs-features2-mismatch"
	// CodeBadCRC (error): the CRC32C of the superblock sector does not
	// match sb_crc. The kernel fails the mount with EFSBADCRC; Talos then
	// runs xfs_repair.
	CodeBadCRC problem.Code = "xfs-bad-crc"
	// CodeCRCUnchecked (info): the CRC could not be checked because the
	// sector size it covers is invalid or the sector could not be read.
	CodeCRCUnchecked problem.Code = "xfs-crc-unchecked"
	// CodeSectorSize (error): sb_sectsize/sb_sectlog out of 512..32768
	// or not agreeing.
	CodeSectorSize problem.Code = "xfs-sector-size"
	// CodeBlockSize (error): sb_blocksize/sb_blocklog out of 512..65536,
	// not agreeing, or under 1024 on v5.
	CodeBlockSize problem.Code = "xfs-block-size"
	// CodeDirBlockSize (error): directory blocks (sb_dirblklog) over
	// 64 KiB.
	CodeDirBlockSize problem.Code = "xfs-dir-block-size"
	// CodeInodeSize (error): sb_inodesize/sb_inodelog out of 256..2048
	// or not agreeing.
	CodeInodeSize problem.Code = "xfs-inode-size"
	// CodeInodesPerBlock (error): sb_inopblock or sb_inopblog disagree
	// with the block and inode sizes.
	CodeInodesPerBlock problem.Code = "xfs-inodes-per-block"
	// CodeAGSize (error): an allocation group (sb_agblocks) under 16 MiB
	// or over 1 TiB.
	CodeAGSize problem.Code = "xfs-ag-size"
	// CodeAGLog (error): sb_agblklog is not log2 of sb_agblocks rounded
	// up.
	CodeAGLog problem.Code = "xfs-ag-log"
	// CodeAGCount (error): sb_agcount is zero or is not the number of
	// AGs that sb_dblocks fills.
	CodeAGCount problem.Code = "xfs-ag-count"
	// CodeDataBlocks (error): sb_dblocks is zero, more than
	// agcount*agblocks, or leaves a last AG under 64 blocks.
	CodeDataBlocks problem.Code = "xfs-data-blocks"
	// CodeTruncated (error): the filesystem (sb_dblocks blocks) is larger
	// than its partition; the kernel's read of the last sector fails.
	CodeTruncated problem.Code = "xfs-truncated"
	// CodeInodeLimits (error): sb_imax_pct over 100 or sb_shared_vn set.
	CodeInodeLimits problem.Code = "xfs-inode-limits"
	// CodeQuotaFlags (error): quota flags that do not belong to the
	// superblock version.
	CodeQuotaFlags problem.Code = "xfs-quota-flags"
	// CodeSparseInodes (error): sparse-inode alignment (sb_inoalignmt,
	// sb_spino_align) inconsistent with the inode chunk size.
	CodeSparseInodes problem.Code = "xfs-sparse-inodes"
	// CodeStripe (error): stripe unit/width (sb_unit, sb_width) and the
	// DALIGN version bit inconsistent.
	CodeStripe problem.Code = "xfs-stripe"
	// CodeRealtime (error): realtime geometry (sb_rextsize, sb_rblocks,
	// sb_rextents, ...) inconsistent, including realtime groups and zoned
	// fields on metadir filesystems.
	CodeRealtime problem.Code = "xfs-realtime"
	// CodeMetadir (error): metadir padding (sb_pad) not zero.
	CodeMetadir problem.Code = "xfs-metadir"
	// CodeExternalLog (error): sb_logstart is 0, so the log is on another
	// device; the kernel refuses the mount without a logdev= option, which
	// Talos does not pass.
	CodeExternalLog problem.Code = "xfs-external-log"
	// CodeLogSize (error): the log is empty or larger than the kernel
	// accepts (1 Mi blocks, just under 2 GiB).
	CodeLogSize problem.Code = "xfs-log-size"
	// CodeLogSmall (error): the internal log is under the 512 blocks
	// mkfs.xfs makes at least. The kernel computes its minimum from its
	// transaction reservations at mount and refuses a v5 log below it;
	// xfs_repair flags such a log too.
	CodeLogSmall problem.Code = "xfs-log-small"
	// CodeLogOutsideData (error): the internal log does not lie inside
	// one allocation group of the data device.
	CodeLogOutsideData problem.Code = "xfs-log-outside-data"
	// CodeLogSector (error): log sector size/log (sb_logsectsize,
	// sb_logsectlog) or log stripe unit (sb_logsunit) invalid.
	CodeLogSector problem.Code = "xfs-log-sector"
	// CodeInProgress (error): sb_inprogress set on the primary: mkfs or
	// another offline tool did not finish; the kernel refuses the mount.
	CodeInProgress problem.Code = "xfs-inprogress"
	// CodeNeedsRepair (error): the NEEDSREPAIR incompat feature is set:
	// xfs_repair was interrupted; the kernel refuses the mount.
	CodeNeedsRepair problem.Code = "xfs-needs-repair"
	// CodeUnknownIncompat (error): incompat feature bits this code (and
	// the kernel it follows) does not know; the kernel refuses the mount.
	CodeUnknownIncompat problem.Code = "xfs-unknown-incompat"
	// CodeUnknownROCompat (error): unknown read-only-compatible feature
	// bits. The kernel mounts such a filesystem only read-only and refuses
	// a read-write mount with EINVAL; Talos mounts STATE read-write.
	CodeUnknownROCompat problem.Code = "xfs-unknown-ro-compat"
	// CodeUnknownCompat (info): unknown compatible feature bits; the
	// kernel only suggests a newer kernel.
	CodeUnknownCompat problem.Code = "xfs-unknown-compat"
	// CodeUnknownLogIncompat (error): unknown log-incompatible feature
	// bits; the kernel will not recover such a log and its superblock write
	// verifier rejects the bits.
	CodeUnknownLogIncompat problem.Code = "xfs-unknown-log-incompat"
	// CodeLabel (warning): the filesystem label (sb_fname) is not
	// "STATE". Talos finds STATE by partition name, but labels it STATE.
	CodeLabel problem.Code = "xfs-label"
	// CodeSecondaryUnchecked (info): secondary superblocks were not
	// checked: the filesystem has a single AG, the primary geometry is too
	// broken to locate them, or one lies beyond the partition.
	CodeSecondaryUnchecked problem.Code = "xfs-secondary-unchecked"
	// CodeSecondaryBadMagic (error): a secondary superblock (at the
	// start of an AG) lacks the "XFSB" magic. The message names the AG.
	CodeSecondaryBadMagic problem.Code = "xfs-secondary-bad-magic"
	// CodeSecondaryBadCRC (error): a secondary superblock's CRC32C does
	// not match. The message names the AG.
	CodeSecondaryBadCRC problem.Code = "xfs-secondary-bad-crc"
	// CodeSecondaryUUID (error): a secondary superblock carries another
	// filesystem UUID than the primary. The message names the AG.
	CodeSecondaryUUID problem.Code = "xfs-secondary-uuid"
	// CodeSecondaryGeometry (error): a secondary superblock disagrees
	// with the primary on block, sector or inode size, AG size or count, or
	// data blocks. The message names the AG and the fields.
	CodeSecondaryGeometry problem.Code = "xfs-secondary-geometry"
)

// AllCodes lists every code Check reports; blockdev.AllCodes includes it.
var AllCodes = []problem.Code{
	CodeShortRead,
	CodeBadMagic,
	CodeVersion4,
	CodeBadVersion,
	CodeVersionFeatures,
	CodeFeatures2Mismatch,
	CodeBadCRC,
	CodeCRCUnchecked,
	CodeSectorSize,
	CodeBlockSize,
	CodeDirBlockSize,
	CodeInodeSize,
	CodeInodesPerBlock,
	CodeAGSize,
	CodeAGLog,
	CodeAGCount,
	CodeDataBlocks,
	CodeTruncated,
	CodeInodeLimits,
	CodeQuotaFlags,
	CodeSparseInodes,
	CodeStripe,
	CodeRealtime,
	CodeMetadir,
	CodeExternalLog,
	CodeLogSize,
	CodeLogSmall,
	CodeLogOutsideData,
	CodeLogSector,
	CodeInProgress,
	CodeNeedsRepair,
	CodeUnknownIncompat,
	CodeUnknownROCompat,
	CodeUnknownCompat,
	CodeUnknownLogIncompat,
	CodeLabel,
	CodeSecondaryUnchecked,
	CodeSecondaryBadMagic,
	CodeSecondaryBadCRC,
	CodeSecondaryUUID,
	CodeSecondaryGeometry,
}
