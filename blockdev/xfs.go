package blockdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"strings"
)

// XFS problem codes. Each names one check of CheckXFS; the checks follow the
// kernel's mount-time superblock verification (xfs_validate_sb_common and
// xfs_validate_sb_read in fs/xfs/libxfs/xfs_sb.c, plus the refusals in
// xfs_fs_fill_super), so an error here is a superblock the kernel would not
// mount. Codes without "secondary" concern the primary superblock, at byte 0.
const (
	// CodeXFSShortRead (error): the device ended, io.EOF from the reader,
	// before a superblock CheckXFS had to read, or the partition is smaller
	// than one sector. The message names the superblock.
	CodeXFSShortRead Code = "xfs-short-read"
	// CodeXFSBadMagic (error): the first sector does not start with "XFSB";
	// there is no XFS filesystem here (go-blockdevice will not name it xfs,
	// so Talos does not find STATE).
	CodeXFSBadMagic Code = "xfs-bad-magic"
	// CodeXFSVersion4 (warning): a v4 superblock. The kernel still mounts v4
	// unless built without CONFIG_XFS_SUPPORT_V4, but Talos formats v5.
	CodeXFSVersion4 Code = "xfs-v4"
	// CodeXFSBadVersion (error): a superblock version other than 4 or 5.
	CodeXFSBadVersion Code = "xfs-bad-version"
	// CodeXFSVersionFeatures (error): the version bits (sb_versionnum) or
	// sb_features2 hold unknown bits, or lack bits the version requires
	// (v5: NLINK, ALIGN, LOGV2, EXTFLG, DIRV2, MOREBITS and LAZYSBCOUNT,
	// ATTR2, PROJID32, CRC; v4: DIRV2 and EXTFLG).
	CodeXFSVersionFeatures Code = "xfs-version-features"
	// CodeXFSFeatures2Mismatch (warning): sb_bad_features2 differs from
	// sb_features2; the kernel merges them at mount and rewrites both.
	CodeXFSFeatures2Mismatch Code = "xfs-features2-mismatch"
	// CodeXFSBadCRC (error): the CRC32C of the superblock sector does not
	// match sb_crc. The kernel fails the mount with EFSBADCRC; Talos then
	// runs xfs_repair.
	CodeXFSBadCRC Code = "xfs-bad-crc"
	// CodeXFSCRCUnchecked (info): the CRC could not be checked because the
	// sector size it covers is invalid or the sector could not be read.
	CodeXFSCRCUnchecked Code = "xfs-crc-unchecked"
	// CodeXFSSectorSize (error): sb_sectsize/sb_sectlog out of 512..32768
	// or not agreeing.
	CodeXFSSectorSize Code = "xfs-sector-size"
	// CodeXFSBlockSize (error): sb_blocksize/sb_blocklog out of 512..65536,
	// not agreeing, or under 1024 on v5.
	CodeXFSBlockSize Code = "xfs-block-size"
	// CodeXFSDirBlockSize (error): directory blocks (sb_dirblklog) over
	// 64 KiB.
	CodeXFSDirBlockSize Code = "xfs-dir-block-size"
	// CodeXFSInodeSize (error): sb_inodesize/sb_inodelog out of 256..2048
	// or not agreeing.
	CodeXFSInodeSize Code = "xfs-inode-size"
	// CodeXFSInodesPerBlock (error): sb_inopblock or sb_inopblog disagree
	// with the block and inode sizes.
	CodeXFSInodesPerBlock Code = "xfs-inodes-per-block"
	// CodeXFSAGSize (error): an allocation group (sb_agblocks) under 16 MiB
	// or over 1 TiB.
	CodeXFSAGSize Code = "xfs-ag-size"
	// CodeXFSAGLog (error): sb_agblklog is not log2 of sb_agblocks rounded
	// up.
	CodeXFSAGLog Code = "xfs-ag-log"
	// CodeXFSAGCount (error): sb_agcount is zero or is not the number of
	// AGs that sb_dblocks fills.
	CodeXFSAGCount Code = "xfs-ag-count"
	// CodeXFSDataBlocks (error): sb_dblocks is zero, more than
	// agcount*agblocks, or leaves a last AG under 64 blocks.
	CodeXFSDataBlocks Code = "xfs-data-blocks"
	// CodeXFSTruncated (error): the filesystem (sb_dblocks blocks) is larger
	// than its partition; the kernel's read of the last sector fails.
	CodeXFSTruncated Code = "xfs-truncated"
	// CodeXFSInodeLimits (error): sb_imax_pct over 100 or sb_shared_vn set.
	CodeXFSInodeLimits Code = "xfs-inode-limits"
	// CodeXFSQuotaFlags (error): quota flags that do not belong to the
	// superblock version.
	CodeXFSQuotaFlags Code = "xfs-quota-flags"
	// CodeXFSSparseInodes (error): sparse-inode alignment (sb_inoalignmt,
	// sb_spino_align) inconsistent with the inode chunk size.
	CodeXFSSparseInodes Code = "xfs-sparse-inodes"
	// CodeXFSStripe (error): stripe unit/width (sb_unit, sb_width) and the
	// DALIGN version bit inconsistent.
	CodeXFSStripe Code = "xfs-stripe"
	// CodeXFSRealtime (error): realtime geometry (sb_rextsize, sb_rblocks,
	// sb_rextents, ...) inconsistent, including realtime groups and zoned
	// fields on metadir filesystems.
	CodeXFSRealtime Code = "xfs-realtime"
	// CodeXFSMetadir (error): metadir padding (sb_pad) not zero.
	CodeXFSMetadir Code = "xfs-metadir"
	// CodeXFSExternalLog (error): sb_logstart is 0, so the log is on another
	// device; the kernel refuses the mount without a logdev= option, which
	// Talos does not pass.
	CodeXFSExternalLog Code = "xfs-external-log"
	// CodeXFSLogSize (error): the log is empty or larger than the kernel
	// accepts (1 Mi blocks, just under 2 GiB).
	CodeXFSLogSize Code = "xfs-log-size"
	// CodeXFSLogSmall (error): the internal log is under the 512 blocks
	// mkfs.xfs makes at least. The kernel computes its minimum from its
	// transaction reservations at mount and refuses a v5 log below it;
	// xfs_repair flags such a log too.
	CodeXFSLogSmall Code = "xfs-log-small"
	// CodeXFSLogOutsideData (error): the internal log does not lie inside
	// one allocation group of the data device.
	CodeXFSLogOutsideData Code = "xfs-log-outside-data"
	// CodeXFSLogSector (error): log sector size/log (sb_logsectsize,
	// sb_logsectlog) or log stripe unit (sb_logsunit) invalid.
	CodeXFSLogSector Code = "xfs-log-sector"
	// CodeXFSInProgress (error): sb_inprogress set on the primary: mkfs or
	// another offline tool did not finish; the kernel refuses the mount.
	CodeXFSInProgress Code = "xfs-inprogress"
	// CodeXFSNeedsRepair (error): the NEEDSREPAIR incompat feature is set:
	// xfs_repair was interrupted; the kernel refuses the mount.
	CodeXFSNeedsRepair Code = "xfs-needs-repair"
	// CodeXFSUnknownIncompat (error): incompat feature bits this code (and
	// the kernel it follows) does not know; the kernel refuses the mount.
	CodeXFSUnknownIncompat Code = "xfs-unknown-incompat"
	// CodeXFSUnknownROCompat (error): unknown read-only-compatible feature
	// bits. The kernel mounts such a filesystem only read-only and refuses
	// a read-write mount with EINVAL; Talos mounts STATE read-write.
	CodeXFSUnknownROCompat Code = "xfs-unknown-ro-compat"
	// CodeXFSUnknownCompat (info): unknown compatible feature bits; the
	// kernel only suggests a newer kernel.
	CodeXFSUnknownCompat Code = "xfs-unknown-compat"
	// CodeXFSUnknownLogIncompat (error): unknown log-incompatible feature
	// bits; the kernel will not recover such a log and its superblock write
	// verifier rejects the bits.
	CodeXFSUnknownLogIncompat Code = "xfs-unknown-log-incompat"
	// CodeXFSLabel (warning): the filesystem label (sb_fname) is not
	// "STATE". Talos finds STATE by partition name, but labels it STATE.
	CodeXFSLabel Code = "xfs-label"
	// CodeXFSSecondaryUnchecked (info): secondary superblocks were not
	// checked: the filesystem has a single AG, the primary geometry is too
	// broken to locate them, or one lies beyond the partition.
	CodeXFSSecondaryUnchecked Code = "xfs-secondary-unchecked"
	// CodeXFSSecondaryBadMagic (error): a secondary superblock (at the
	// start of an AG) lacks the "XFSB" magic. The message names the AG.
	CodeXFSSecondaryBadMagic Code = "xfs-secondary-bad-magic"
	// CodeXFSSecondaryBadCRC (error): a secondary superblock's CRC32C does
	// not match. The message names the AG.
	CodeXFSSecondaryBadCRC Code = "xfs-secondary-bad-crc"
	// CodeXFSSecondaryUUID (error): a secondary superblock carries another
	// filesystem UUID than the primary. The message names the AG.
	CodeXFSSecondaryUUID Code = "xfs-secondary-uuid"
	// CodeXFSSecondaryGeometry (error): a secondary superblock disagrees
	// with the primary on block, sector or inode size, AG size or count, or
	// data blocks. The message names the AG and the fields.
	CodeXFSSecondaryGeometry Code = "xfs-secondary-geometry"
)

// XFSInfo is what the primary superblock says (filled as far as it could be parsed).
type XFSInfo struct {
	// Version is the superblock version, 4 or 5 on a sane filesystem.
	Version int `json:"version"`
	// UUID is sb_uuid, formatted as xfs_db and blkid print it.
	UUID string `json:"uuid"`
	// Label is sb_fname up to its first NUL.
	Label      string `json:"label"`
	BlockSize  uint32 `json:"block_size"`
	SectorSize uint16 `json:"sector_size"`
	InodeSize  uint16 `json:"inode_size"`
	AGCount    uint32 `json:"ag_count"`
	AGBlocks   uint32 `json:"ag_blocks"`
	// DataBlocks is sb_dblocks, the data device size in blocks.
	DataBlocks uint64 `json:"data_blocks"`
	// LogStart is sb_logstart as stored: an AG-encoded block number
	// (AG number above sb_agblklog bits), 0 for an external log.
	LogStart  uint64 `json:"log_start"`
	LogBlocks uint32 `json:"log_blocks"`
	// Features names the known feature bits that are set: "crc" for v5,
	// then read-only-compatible and incompatible features by the names
	// mkfs.xfs uses ("finobt", "reflink", "bigtime", ...).
	Features []string `json:"features"`
}

// xfsDSB is struct xfs_dsb, the on-disk XFS superblock of
// fs/xfs/libxfs/xfs_format.h, in disk order. Every field is big-endian but
// CRC, which is little-endian; xfsDecode fixes it up. The layout has no
// padding: each field sits at a multiple of its size, so the Go struct and
// the binary encoding agree on offsets (xfs_test.go checks both against the
// C header and against xfs_db). The tag is the field's name in xfs_db.
type xfsDSB struct {
	MagicNum            uint32   `xfs:"magicnum"`              // 0x00
	BlockSize           uint32   `xfs:"blocksize"`             // 0x04
	DBlocks             uint64   `xfs:"dblocks"`               // 0x08
	RBlocks             uint64   `xfs:"rblocks"`               // 0x10
	RExtents            uint64   `xfs:"rextents"`              // 0x18
	UUID                [16]byte `xfs:"uuid"`                  // 0x20
	LogStart            uint64   `xfs:"logstart"`              // 0x30
	RootIno             uint64   `xfs:"rootino"`               // 0x38
	RBMIno              uint64   `xfs:"rbmino"`                // 0x40
	RSumIno             uint64   `xfs:"rsumino"`               // 0x48
	RExtSize            uint32   `xfs:"rextsize"`              // 0x50
	AGBlocks            uint32   `xfs:"agblocks"`              // 0x54
	AGCount             uint32   `xfs:"agcount"`               // 0x58
	RBMBlocks           uint32   `xfs:"rbmblocks"`             // 0x5c
	LogBlocks           uint32   `xfs:"logblocks"`             // 0x60
	VersionNum          uint16   `xfs:"versionnum"`            // 0x64
	SectSize            uint16   `xfs:"sectsize"`              // 0x66
	InodeSize           uint16   `xfs:"inodesize"`             // 0x68
	InoPBlock           uint16   `xfs:"inopblock"`             // 0x6a
	FName               [12]byte `xfs:"fname"`                 // 0x6c
	BlockLog            uint8    `xfs:"blocklog"`              // 0x78
	SectLog             uint8    `xfs:"sectlog"`               // 0x79
	InodeLog            uint8    `xfs:"inodelog"`              // 0x7a
	InoPBLog            uint8    `xfs:"inopblog"`              // 0x7b
	AGBlkLog            uint8    `xfs:"agblklog"`              // 0x7c
	RExtSLog            uint8    `xfs:"rextslog"`              // 0x7d
	InProgress          uint8    `xfs:"inprogress"`            // 0x7e
	IMaxPct             uint8    `xfs:"imax_pct"`              // 0x7f
	ICount              uint64   `xfs:"icount"`                // 0x80
	IFree               uint64   `xfs:"ifree"`                 // 0x88
	FDBlocks            uint64   `xfs:"fdblocks"`              // 0x90
	FRExtents           uint64   `xfs:"frextents"`             // 0x98
	UQuotIno            uint64   `xfs:"uquotino"`              // 0xa0
	GQuotIno            uint64   `xfs:"gquotino"`              // 0xa8
	QFlags              uint16   `xfs:"qflags"`                // 0xb0
	Flags               uint8    `xfs:"flags"`                 // 0xb2
	SharedVN            uint8    `xfs:"shared_vn"`             // 0xb3
	InoAlignmt          uint32   `xfs:"inoalignmt"`            // 0xb4
	Unit                uint32   `xfs:"unit"`                  // 0xb8
	Width               uint32   `xfs:"width"`                 // 0xbc
	DirBlkLog           uint8    `xfs:"dirblklog"`             // 0xc0
	LogSectLog          uint8    `xfs:"logsectlog"`            // 0xc1
	LogSectSize         uint16   `xfs:"logsectsize"`           // 0xc2
	LogSUnit            uint32   `xfs:"logsunit"`              // 0xc4
	Features2           uint32   `xfs:"features2"`             // 0xc8
	BadFeatures2        uint32   `xfs:"bad_features2"`         // 0xcc
	FeaturesCompat      uint32   `xfs:"features_compat"`       // 0xd0
	FeaturesROCompat    uint32   `xfs:"features_ro_compat"`    // 0xd4
	FeaturesIncompat    uint32   `xfs:"features_incompat"`     // 0xd8
	FeaturesLogIncompat uint32   `xfs:"features_log_incompat"` // 0xdc
	CRC                 uint32   `xfs:"crc"`                   // 0xe0, little-endian
	SpinoAlign          uint32   `xfs:"spino_align"`           // 0xe4
	PQuotIno            uint64   `xfs:"pquotino"`              // 0xe8
	LSN                 uint64   `xfs:"lsn"`                   // 0xf0
	MetaUUID            [16]byte `xfs:"meta_uuid"`             // 0xf8
	MetadirIno          uint64   `xfs:"metadirino"`            // 0x108, metadir only
	RGCount             uint32   `xfs:"rgcount"`               // 0x110, metadir only
	RGExtents           uint32   `xfs:"rgextents"`             // 0x114, metadir only
	RGBlkLog            uint8    `xfs:"rgblklog"`              // 0x118, metadir only
	Pad                 [7]byte  `xfs:"pad"`                   // 0x119, metadir only
	RTStart             uint64   `xfs:"rtstart"`               // 0x120, zoned only
	RTReserved          uint64   `xfs:"rtreserved"`            // 0x128, zoned only
}

// On-disk layout facts from xfs_format.h.
const (
	xfsSBSize = 0x130 // binary size of struct xfs_dsb, through sb_rtreserved
	xfsOffCRC = 0xe0  // offsetof(struct xfs_dsb, sb_crc): XFS_SB_CRC_OFF

	xfsMagic = 0x58465342 // "XFSB"
)

// Geometry limits from xfs_format.h and xfs_fs.h.
const (
	xfsMinSectorLog   = 9  // XFS_MIN_SECTORSIZE_LOG
	xfsMaxSectorLog   = 15 // XFS_MAX_SECTORSIZE_LOG
	xfsMinSectorSize  = 1 << xfsMinSectorLog
	xfsMaxSectorSize  = 1 << xfsMaxSectorLog // also the most CheckXFS reads at once
	xfsMinBlockLog    = 9                    // XFS_MIN_BLOCKSIZE_LOG
	xfsMaxBlockLog    = 16                   // XFS_MAX_BLOCKSIZE_LOG
	xfsMinBlockSize   = 1 << xfsMinBlockLog
	xfsMaxBlockSize   = 1 << xfsMaxBlockLog
	xfsMinCRCBlock    = 1024 // XFS_MIN_CRC_BLOCKSIZE: v5 needs room for block headers
	xfsMinInodeLog    = 8    // XFS_DINODE_MIN_LOG
	xfsMaxInodeLog    = 11   // XFS_DINODE_MAX_LOG
	xfsMinAGBlocks    = 64   // XFS_MIN_AG_BLOCKS: the smallest last AG
	xfsMinAGBytes     = 1 << 24
	xfsMaxAGBytes     = 1 << 40
	xfsMinLogBlocks   = 512     // XFS_MIN_LOG_BLOCKS, mkfs's floor
	xfsMaxLogBlocks   = 1 << 20 // XFS_MAX_LOG_BLOCKS
	xfsMinLogBytes    = 10 << 20
	xfsMaxLogBytes    = 2<<30 - xfsMinLogBytes // XFS_MAX_LOG_BYTES
	xfsMaxLogRecord   = 256 << 10              // XLOG_MAX_RECORD_BSIZE, caps the log stripe unit
	xfsMinRTExtBytes  = 4 << 10                // XFS_MIN_RTEXTSIZE
	xfsMaxRTExtBytes  = 1 << 30                // XFS_MAX_RTEXTSIZE
	xfsInodesPerChunk = 64                     // XFS_INODES_PER_CHUNK
	xfsMaxRGBlocks    = 1<<31 - 1              // XFS_MAX_RGBLOCKS
	xfsMinRGExtents   = 2                      // XFS_MIN_RGEXTENTS
	xfsRTBufInfoSize  = 48                     // sizeof(struct xfs_rtbuf_blkinfo), metadir rt bitmap header
	xfsMaxInt         = 1<<31 - 1              // INT_MAX, bounds the stripe width in bytes
)

// sb_versionnum: the low nibble is the version, the rest v4 feature bits.
const (
	xfsVersionNumBits = 0x000f
	xfsVersionNLink   = 0x0020
	xfsVersionAlign   = 0x0080
	xfsVersionDAlign  = 0x0100
	xfsVersionShared  = 0x0200
	xfsVersionLogV2   = 0x0400
	xfsVersionSector  = 0x0800
	xfsVersionExtFlg  = 0x1000
	xfsVersionDirV2   = 0x2000
	xfsVersionMore    = 0x8000
	// Every bit but SHARED is known (XFS_SB_VERSION_OKBITS).
	xfsVersionOKBits = 0xffff &^ xfsVersionShared
	// The v4 bits a v5 superblock must carry, since the code tests them.
	xfsV5VersionBits = xfsVersionNLink | xfsVersionAlign | xfsVersionLogV2 |
		xfsVersionExtFlg | xfsVersionDirV2 | xfsVersionMore
)

// sb_features2.
const (
	xfsFeat2LazySBCount = 0x0002
	xfsFeat2Attr2       = 0x0008
	xfsFeat2ProjID32    = 0x0080
	xfsFeat2CRC         = 0x0100
	xfsFeat2FType       = 0x0200
	xfsFeat2OKBits      = xfsFeat2LazySBCount | xfsFeat2Attr2 | xfsFeat2ProjID32 | xfsFeat2FType
	xfsV5Feat2Bits      = xfsFeat2LazySBCount | xfsFeat2Attr2 | xfsFeat2ProjID32 | xfsFeat2CRC
)

// sb_qflags bits the kernel checks against the version.
const (
	xfsOQuotaEnfd = 0x0010
	xfsOQuotaChkd = 0x0020
	xfsGQuotaEnfd = 0x0080
	xfsGQuotaChkd = 0x0100
	xfsPQuotaEnfd = 0x0200
	xfsPQuotaChkd = 0x0400
)

// v5 feature bits known to the current kernel. Compat has none.
const (
	xfsROCompatFinobt   = 1 << 0
	xfsROCompatRmapbt   = 1 << 1
	xfsROCompatReflink  = 1 << 2
	xfsROCompatInobtCnt = 1 << 3
	xfsROCompatKnown    = 0xf

	xfsIncompatFType       = 1 << 0
	xfsIncompatSpinodes    = 1 << 1
	xfsIncompatMetaUUID    = 1 << 2
	xfsIncompatBigtime     = 1 << 3
	xfsIncompatNeedsRepair = 1 << 4
	xfsIncompatNRExt64     = 1 << 5
	xfsIncompatExchRange   = 1 << 6
	xfsIncompatParent      = 1 << 7
	xfsIncompatMetadir     = 1 << 8
	xfsIncompatZoned       = 1 << 9
	// ZONE_GAPS is the newest bit (2026): kernels that predate it refuse
	// such a filesystem, which only zoned realtime devices produce.
	xfsIncompatZoneGaps = 1 << 10
	xfsIncompatKnown    = 1<<11 - 1

	xfsLogIncompatXattrs = 1 << 0
	xfsLogIncompatKnown  = xfsLogIncompatXattrs
)

// xfsFeatureNames names feature bits, in the order XFSInfo.Features lists
// them, by the option names of mkfs.xfs where it has one.
var xfsFeatureNames = []struct {
	roCompat bool
	bit      uint32
	name     string
}{
	{true, xfsROCompatFinobt, "finobt"},
	{true, xfsROCompatRmapbt, "rmapbt"},
	{true, xfsROCompatReflink, "reflink"},
	{true, xfsROCompatInobtCnt, "inobtcount"},
	{false, xfsIncompatFType, "ftype"},
	{false, xfsIncompatSpinodes, "sparse"},
	{false, xfsIncompatMetaUUID, "metauuid"},
	{false, xfsIncompatBigtime, "bigtime"},
	{false, xfsIncompatNeedsRepair, "needsrepair"},
	{false, xfsIncompatNRExt64, "nrext64"},
	{false, xfsIncompatExchRange, "exchange"},
	{false, xfsIncompatParent, "parent"},
	{false, xfsIncompatMetadir, "metadir"},
	{false, xfsIncompatZoned, "zoned"},
	{false, xfsIncompatZoneGaps, "zonegaps"},
}

// xfsExpectedLabel is the label Talos gives STATE's filesystem.
const xfsExpectedLabel = "STATE"

var xfsCastagnoli = crc32.MakeTable(crc32.Castagnoli)

// CheckXFS verifies the XFS filesystem at the start of r, a partition of size bytes. Problems are findings; err is only an I/O error from r (wrapped with %w).
//
// It reads the primary superblock sector and the secondary superblocks of
// AG 1 and of the last AG, never more than one sector (at most 32 KiB) at a
// time, and reports every problem it finds rather than the first. The info
// is nil when no XFS superblock was found (a short device or bad magic). A
// reader that ends early (io.EOF) yields CodeXFSShortRead, not an error.
func CheckXFS(r io.ReaderAt, size int64) (*XFSInfo, []Problem, error) {
	return checkXFS(r, size, true)
}

// CheckXFSPrimary is CheckXFS without the secondary superblocks: only what
// a mount reads (the kernel reads the primary alone), in one read of the
// first sector, or two when the sector is larger than 512 bytes. It notes
// CodeXFSSecondaryUnchecked.
func CheckXFSPrimary(r io.ReaderAt, size int64) (*XFSInfo, []Problem, error) {
	return checkXFS(r, size, false)
}

func checkXFS(r io.ReaderAt, size int64, secondaries bool) (*XFSInfo, []Problem, error) {
	c := xfsCheck{r: r, size: size, secondaries: secondaries}
	info, err := c.run()

	return info, c.ps, err
}

// xfsCheck holds one verification's state.
type xfsCheck struct {
	r    io.ReaderAt
	size int64
	ps   problems
	// secondaries asks for the secondary superblocks to be checked too.
	secondaries bool

	sb xfsDSB
	v5 bool
}

func (c *xfsCheck) run() (*XFSInfo, error) {
	if c.size < xfsMinSectorSize {
		c.ps.errorf(CodeXFSShortRead, "partition of %d bytes cannot hold an XFS superblock (%d bytes at least)", c.size, xfsMinSectorSize)

		return nil, nil
	}

	// Read the smallest sector first, as the kernel does, then the whole
	// sector once sb_sectsize is known.
	var first [xfsMinSectorSize]byte

	ok, err := c.read(first[:], 0, "primary superblock")
	if err != nil || !ok {
		return nil, err
	}

	sb := xfsDecode(first[:])
	if sb.MagicNum != xfsMagic {
		c.ps.errorf(CodeXFSBadMagic, "no XFS superblock: the partition starts with %q (0x%08x), not \"XFSB\"", first[:4], sb.MagicNum)

		return nil, nil
	}

	c.sb = sb
	c.v5 = sb.VersionNum&xfsVersionNumBits == 5
	info := xfsInfoOf(&sb)

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
		c.ps.infof(CodeXFSSecondaryUnchecked, "secondary superblocks not checked: the mount reads only the primary (raid-settle verify checks them)")

		return info, nil
	}

	if err := c.checkSecondaries(); err != nil {
		return info, err
	}

	return info, nil
}

// read fills p from off. It reports false, with a CodeXFSShortRead problem,
// when the partition or the reader ends first; other read errors are
// returned.
func (c *xfsCheck) read(p []byte, off int64, what string) (bool, error) {
	if off < 0 || off > c.size || int64(len(p)) > c.size-off {
		c.ps.errorf(CodeXFSShortRead, "%s: %d bytes at offset %d lie beyond the partition's %d bytes", what, len(p), off, c.size)

		return false, nil
	}

	n, err := c.r.ReadAt(p, off)
	if n == len(p) {
		// io.ReaderAt may return io.EOF with a full read at the end.
		return true, nil
	}

	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		c.ps.errorf(CodeXFSShortRead, "%s: the device ended after %d of %d bytes at offset %d, inside the partition's %d bytes", what, n, len(p), off, c.size)

		return false, nil
	}

	return false, fmt.Errorf("failed to read XFS %s at offset %d: %w", what, off, err)
}

// primarySector returns the whole primary superblock sector (sb_sectsize
// bytes), reading more than first when the sector is larger, or nil when the
// sector size is invalid or the sector cannot be read.
func (c *xfsCheck) primarySector(first []byte) ([]byte, error) {
	n, ok := xfsSectorSize(&c.sb)
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

// xfsSectorSize returns sb_sectsize when it is a valid sector size.
func xfsSectorSize(sb *xfsDSB) (int, bool) {
	n := int(sb.SectSize)
	if n < xfsMinSectorSize || n > xfsMaxSectorSize || n&(n-1) != 0 {
		return 0, false
	}

	return n, true
}

// xfsDecode decodes a superblock from the first xfsSBSize bytes of p.
func xfsDecode(p []byte) xfsDSB {
	var sb xfsDSB

	// Cannot fail: p holds at least xfsSBSize bytes and xfsDSB has only
	// fixed-size fields.
	_, _ = binary.Decode(p[:xfsSBSize], binary.BigEndian, &sb)
	sb.CRC = binary.LittleEndian.Uint32(p[xfsOffCRC:])

	return sb
}

// xfsChecksum returns the superblock CRC of a sector: CRC32C over the whole
// sector with the sb_crc field taken as zero, as stored (little-endian).
func xfsChecksum(sector []byte) uint32 {
	var zero [4]byte

	crc := crc32.Update(0, xfsCastagnoli, sector[:xfsOffCRC])
	crc = crc32.Update(crc, xfsCastagnoli, zero[:])

	return crc32.Update(crc, xfsCastagnoli, sector[xfsOffCRC+4:])
}

func xfsInfoOf(sb *xfsDSB) *XFSInfo {
	info := &XFSInfo{
		Version:    int(sb.VersionNum & xfsVersionNumBits),
		UUID:       xfsFormatUUID(sb.UUID),
		Label:      xfsLabel(sb.FName),
		BlockSize:  sb.BlockSize,
		SectorSize: sb.SectSize,
		InodeSize:  sb.InodeSize,
		AGCount:    sb.AGCount,
		AGBlocks:   sb.AGBlocks,
		DataBlocks: sb.DBlocks,
		LogStart:   sb.LogStart,
		LogBlocks:  sb.LogBlocks,
	}

	if info.Version == 5 {
		info.Features = append(info.Features, "crc")

		for _, f := range xfsFeatureNames {
			bits := sb.FeaturesIncompat
			if f.roCompat {
				bits = sb.FeaturesROCompat
			}

			if bits&f.bit != 0 {
				info.Features = append(info.Features, f.name)
			}
		}
	} else if sb.VersionNum&xfsVersionMore != 0 && sb.Features2&xfsFeat2FType != 0 {
		info.Features = append(info.Features, "ftype")
	}

	return info
}

// xfsHowMany is n divided by d, rounded up, without overflowing.
func xfsHowMany(n, d uint64) uint64 {
	q := n / d
	if n%d != 0 {
		q++
	}

	return q
}

func xfsFormatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func xfsLabel(fname [12]byte) string {
	s := fname[:]
	if i := strings.IndexByte(string(s), 0); i >= 0 {
		s = s[:i]
	}

	return string(s)
}

// checkVersion follows xfs_sb_good_version.
func (c *xfsCheck) checkVersion() {
	sb := &c.sb
	version := sb.VersionNum & xfsVersionNumBits

	switch version {
	case 5:
		if unknown := sb.VersionNum &^ xfsVersionOKBits; unknown != 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "version bits 0x%04x hold unknown bits 0x%04x", sb.VersionNum, unknown)
		}

		if unknown := sb.Features2 &^ (xfsFeat2OKBits | xfsFeat2CRC); unknown != 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "features2 0x%08x holds unknown bits 0x%08x", sb.Features2, unknown)
		}

		if missing := xfsV5VersionBits &^ sb.VersionNum; missing != 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "v5 version bits 0x%04x lack required bits 0x%04x", sb.VersionNum, missing)
		}

		if missing := xfsV5Feat2Bits &^ sb.Features2; missing != 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "v5 features2 0x%08x lacks required bits 0x%08x", sb.Features2, missing)
		}
	case 4:
		c.ps.warnf(CodeXFSVersion4, "v4 superblock, Talos formats v5; kernels built without CONFIG_XFS_SUPPORT_V4 refuse it")

		if unknown := sb.VersionNum &^ xfsVersionOKBits; unknown != 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "version bits 0x%04x hold unknown bits 0x%04x", sb.VersionNum, unknown)
		}

		if sb.VersionNum&xfsVersionMore != 0 {
			if unknown := sb.Features2 &^ xfsFeat2OKBits; unknown != 0 {
				c.ps.errorf(CodeXFSVersionFeatures, "v4 features2 0x%08x holds bits v4 does not know 0x%08x", sb.Features2, unknown)
			}
		}

		if sb.VersionNum&xfsVersionDirV2 == 0 || sb.VersionNum&xfsVersionExtFlg == 0 {
			c.ps.errorf(CodeXFSVersionFeatures, "v4 version bits 0x%04x lack v2 directories or unwritten extents, which the kernel requires", sb.VersionNum)
		}
	default:
		c.ps.errorf(CodeXFSBadVersion, "superblock version %d; the kernel mounts only 4 and 5", version)
	}

	if sb.BadFeatures2 != sb.Features2 {
		c.ps.warnf(CodeXFSFeatures2Mismatch, "bad_features2 0x%08x differs from features2 0x%08x; the kernel merges them at mount", sb.BadFeatures2, sb.Features2)
	}
}

// checkCRC follows xfs_sb_read_verify: the primary's CRC is checked on v5
// and whenever sb_crc is not zero (a lost version bit must not hide it).
func (c *xfsCheck) checkCRC(sector []byte) {
	if !c.v5 && c.sb.CRC == 0 {
		return
	}

	if sector == nil {
		c.ps.infof(CodeXFSCRCUnchecked, "superblock CRC not checked: the sector it covers (sectsize %d) is invalid or unreadable", c.sb.SectSize)

		return
	}

	if got := xfsChecksum(sector); got != c.sb.CRC {
		c.ps.errorf(CodeXFSBadCRC, "superblock CRC32C is 0x%08x, the %d-byte sector sums to 0x%08x", c.sb.CRC, len(sector), got)
	}
}

// xfsBlockLogOK reports whether sb_blocksize and sb_blocklog are usable for
// arithmetic: in range and agreeing.
func xfsBlockLogOK(sb *xfsDSB) bool {
	return sb.BlockLog >= xfsMinBlockLog && sb.BlockLog <= xfsMaxBlockLog && sb.BlockSize == 1<<sb.BlockLog
}

// checkGeometry follows the sanity checks of xfs_validate_sb_common.
func (c *xfsCheck) checkGeometry() {
	sb := &c.sb

	if sb.SectSize < xfsMinSectorSize || sb.SectSize > xfsMaxSectorSize ||
		sb.SectLog < xfsMinSectorLog || sb.SectLog > xfsMaxSectorLog ||
		uint32(sb.SectSize) != 1<<sb.SectLog {
		c.ps.errorf(CodeXFSSectorSize, "sector size %d (log %d) is not a power of two in 512..32768 agreeing with its log", sb.SectSize, sb.SectLog)
	}

	blockOK := xfsBlockLogOK(sb)
	if !blockOK || sb.BlockSize < xfsMinBlockSize || sb.BlockSize > xfsMaxBlockSize {
		c.ps.errorf(CodeXFSBlockSize, "block size %d (log %d) is not a power of two in 512..65536 agreeing with its log", sb.BlockSize, sb.BlockLog)
	} else if c.v5 && sb.BlockSize < xfsMinCRCBlock {
		c.ps.errorf(CodeXFSBlockSize, "block size %d is below the %d bytes a v5 filesystem needs", sb.BlockSize, xfsMinCRCBlock)
	}

	if int(sb.DirBlkLog)+int(sb.BlockLog) > xfsMaxBlockLog {
		c.ps.errorf(CodeXFSDirBlockSize, "directory blocks of 2^%d filesystem blocks (log %d) exceed 64 KiB", sb.DirBlkLog, sb.BlockLog)
	}

	inodeOK := sb.InodeLog >= xfsMinInodeLog && sb.InodeLog <= xfsMaxInodeLog && uint32(sb.InodeSize) == 1<<sb.InodeLog
	if !inodeOK {
		c.ps.errorf(CodeXFSInodeSize, "inode size %d (log %d) is not 256, 512, 1024 or 2048 agreeing with its log", sb.InodeSize, sb.InodeLog)
	}

	var perBlock uint64
	if sb.InodeSize != 0 {
		perBlock = xfsHowMany(uint64(sb.BlockSize), uint64(sb.InodeSize))
	}

	if sb.InodeSize == 0 || uint64(sb.InoPBlock) != perBlock || int(sb.BlockLog)-int(sb.InodeLog) != int(sb.InoPBLog) {
		c.ps.errorf(CodeXFSInodesPerBlock, "%d inodes per block (log %d) for %d-byte blocks (log %d) and %d-byte inodes (log %d)",
			sb.InoPBlock, sb.InoPBLog, sb.BlockSize, sb.BlockLog, sb.InodeSize, sb.InodeLog)
	}

	if blockOK {
		if agBytes := uint64(sb.AGBlocks) << sb.BlockLog; agBytes < xfsMinAGBytes || agBytes > xfsMaxAGBytes {
			c.ps.errorf(CodeXFSAGSize, "allocation groups of %d blocks (%d bytes) are outside 16 MiB..1 TiB", sb.AGBlocks, agBytes)
		}
	}

	if want := bits.Len32(sb.AGBlocks - 1); int(sb.AGBlkLog) != want {
		c.ps.errorf(CodeXFSAGLog, "AG block log is %d, %d blocks per AG need %d", sb.AGBlkLog, sb.AGBlocks, want)
	}

	var wantAGs uint64
	if sb.AGBlocks != 0 {
		wantAGs = xfsHowMany(sb.DBlocks, uint64(sb.AGBlocks))
	}

	if sb.AGCount == 0 || wantAGs == 0 || wantAGs != uint64(sb.AGCount) {
		c.ps.errorf(CodeXFSAGCount, "%d AGs, but %d data blocks in AGs of %d blocks make %d", sb.AGCount, sb.DBlocks, sb.AGBlocks, wantAGs)
	}

	maxBlocks := uint64(sb.AGCount) * uint64(sb.AGBlocks)

	minBlocks := uint64(xfsMinAGBlocks)
	if sb.AGCount > 0 {
		minBlocks += uint64(sb.AGCount-1) * uint64(sb.AGBlocks)
	}

	if sb.DBlocks == 0 || sb.DBlocks > maxBlocks || sb.DBlocks < minBlocks {
		c.ps.errorf(CodeXFSDataBlocks, "%d data blocks outside %d..%d, the range %d AGs of %d blocks allow", sb.DBlocks, minBlocks, maxBlocks, sb.AGCount, sb.AGBlocks)
	}

	if blockOK {
		if hi, bytes := bits.Mul64(sb.DBlocks, uint64(sb.BlockSize)); hi != 0 || bytes > uint64(c.size) {
			c.ps.errorf(CodeXFSTruncated, "the filesystem's %d blocks of %d bytes exceed the partition's %d bytes", sb.DBlocks, sb.BlockSize, c.size)
		}
	}

	if sb.IMaxPct > 100 {
		c.ps.errorf(CodeXFSInodeLimits, "inodes may take %d%% of the filesystem, over 100%%", sb.IMaxPct)
	}

	if sb.SharedVN != 0 {
		c.ps.errorf(CodeXFSInodeLimits, "shared version number %d, the kernel supports only 0", sb.SharedVN)
	}

	c.checkStripe()
	c.checkRealtime()
}

// checkStripe follows the DALIGN test and xfs_validate_stripe_geometry.
func (c *xfsCheck) checkStripe() {
	sb := &c.sb

	if (sb.Unit != 0) != (sb.VersionNum&xfsVersionDAlign != 0) {
		c.ps.errorf(CodeXFSStripe, "stripe unit %d disagrees with the data-alignment version bit", sb.Unit)
	}

	if !xfsBlockLogOK(sb) {
		return
	}

	unit := uint64(sb.Unit) << sb.BlockLog
	width := uint64(sb.Width) << sb.BlockLog

	switch {
	case width > xfsMaxInt:
		c.ps.errorf(CodeXFSStripe, "stripe width of %d bytes is too large", width)
	case unit > width:
		c.ps.errorf(CodeXFSStripe, "stripe unit of %d bytes exceeds the stripe width of %d bytes", unit, width)
	case unit != 0 && width == 0, unit == 0 && width != 0:
		c.ps.errorf(CodeXFSStripe, "stripe unit %d and width %d bytes: one is zero, the other not", unit, width)
	case unit != 0 && width%unit != 0:
		c.ps.errorf(CodeXFSStripe, "stripe width %d is not a multiple of the stripe unit %d bytes", width, unit)
	}
}

// checkRealtime follows xfs_validate_rt_geometry, and for metadir
// filesystems xfs_validate_sb_rtgroups and xfs_validate_sb_zoned.
func (c *xfsCheck) checkRealtime() {
	sb := &c.sb
	zoned := c.v5 && sb.FeaturesIncompat&xfsIncompatZoned != 0
	metadir := c.v5 && sb.FeaturesIncompat&xfsIncompatMetadir != 0

	if metadir {
		c.checkRTGroups()
	}

	if zoned {
		if sb.FRExtents != 0 {
			c.ps.errorf(CodeXFSRealtime, "zoned filesystem with %d free realtime extents recorded, must be 0", sb.FRExtents)
		}

		if sb.RTStart != 0 && sb.RTStart < sb.DBlocks {
			c.ps.errorf(CodeXFSRealtime, "realtime section starts at block %d, inside the %d data blocks", sb.RTStart, sb.DBlocks)
		}

		if sb.RTReserved != 0 && sb.RTReserved >= sb.RBlocks {
			c.ps.errorf(CodeXFSRealtime, "%d reserved realtime blocks of %d", sb.RTReserved, sb.RBlocks)
		}

		if sb.RExtSize != 1 {
			c.ps.errorf(CodeXFSRealtime, "zoned realtime extent size %d blocks, must be 1", sb.RExtSize)
		}
	} else if ext := uint64(sb.RExtSize) * uint64(sb.BlockSize); ext < xfsMinRTExtBytes || ext > xfsMaxRTExtBytes {
		c.ps.errorf(CodeXFSRealtime, "realtime extent of %d blocks (%d bytes) outside 4 KiB..1 GiB", sb.RExtSize, ext)
	}

	if sb.RBlocks == 0 {
		if sb.RExtents != 0 || sb.RBMBlocks != 0 || sb.RExtSLog != 0 || sb.FRExtents != 0 {
			c.ps.errorf(CodeXFSRealtime, "no realtime blocks, yet realtime extents %d, bitmap blocks %d, extent log %d, free extents %d",
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

	// The bitmap has a bit per extent: per group on metadir filesystems,
	// whose bitmap blocks also carry a header; none on zoned ones.
	var wantBitmap uint64

	if !zoned {
		perRBM, blockBytes := sb.RExtents, uint64(sb.BlockSize)
		if metadir {
			perRBM, blockBytes = uint64(sb.RGExtents), blockBytes-min(blockBytes, xfsRTBufInfoSize)
		}

		if blockBytes > 0 {
			wantBitmap = xfsHowMany(perRBM, 8*blockBytes)
		}
	}

	if sb.RExtents == 0 || sb.RExtents != wantExtents || int(sb.RExtSLog) != wantLog || uint64(sb.RBMBlocks) != wantBitmap {
		c.ps.errorf(CodeXFSRealtime, "realtime geometry: %d extents (log %d, %d bitmap blocks) for %d blocks in extents of %d",
			sb.RExtents, sb.RExtSLog, sb.RBMBlocks, sb.RBlocks, sb.RExtSize)
	}

	if zoned && sb.RGExtents != 0 && sb.RExtents%uint64(sb.RGExtents) != 0 {
		c.ps.errorf(CodeXFSRealtime, "zoned realtime device of %d extents is not a multiple of its %d-extent groups", sb.RExtents, sb.RGExtents)
	}
}

func (c *xfsCheck) checkRTGroups() {
	sb := &c.sb

	if sb.Pad != [7]byte{} {
		c.ps.errorf(CodeXFSMetadir, "metadir superblock padding is not zero: % x", sb.Pad[:])
	}

	if sb.RExtSize == 0 {
		c.ps.errorf(CodeXFSRealtime, "realtime extent size is zero")

		return
	}

	if uint64(sb.RGExtents) > xfsMaxRGBlocks/uint64(sb.RExtSize) {
		c.ps.errorf(CodeXFSRealtime, "realtime groups of %d extents, over the %d allowed", sb.RGExtents, xfsMaxRGBlocks/uint64(sb.RExtSize))
	}

	if sb.RGExtents < xfsMinRGExtents {
		c.ps.errorf(CodeXFSRealtime, "realtime groups of %d extents, under %d", sb.RGExtents, xfsMinRGExtents)

		return
	}

	if groups := xfsHowMany(sb.RExtents, uint64(sb.RGExtents)); groups != uint64(sb.RGCount) {
		c.ps.errorf(CodeXFSRealtime, "%d realtime groups, %d extents need %d", sb.RGCount, sb.RExtents, groups)
	}

	if sb.FeaturesIncompat&xfsIncompatExchRange == 0 {
		c.ps.errorf(CodeXFSRealtime, "realtime groups without the exchange-range feature they require")
	}

	if want := bits.Len64(uint64(sb.RGExtents)*uint64(sb.RExtSize) - 1); int(sb.RGBlkLog) != want {
		c.ps.errorf(CodeXFSRealtime, "realtime group block log %d, want %d", sb.RGBlkLog, want)
	}
}

// checkLog covers the log fields: xfs_validate_sb_common's size, sector and
// stripe checks, the internal/external test (Talos never names a log
// device), and the internal log's place, which xfs_repair and mkfs.xfs keep
// inside one AG.
func (c *xfsCheck) checkLog() {
	sb := &c.sb

	if sb.LogBlocks > xfsMaxLogBlocks {
		c.ps.errorf(CodeXFSLogSize, "log of %d blocks, over the %d the kernel accepts", sb.LogBlocks, xfsMaxLogBlocks)
	} else if xfsBlockLogOK(sb) && uint64(sb.LogBlocks)<<sb.BlockLog > xfsMaxLogBytes {
		c.ps.errorf(CodeXFSLogSize, "log of %d bytes, over the %d the kernel accepts", uint64(sb.LogBlocks)<<sb.BlockLog, uint64(xfsMaxLogBytes))
	}

	if sb.VersionNum&xfsVersionSector != 0 {
		if sb.LogSectLog >= 32 || uint32(sb.LogSectSize) != 1<<sb.LogSectLog {
			c.ps.errorf(CodeXFSLogSector, "log sector size %d disagrees with its log %d", sb.LogSectSize, sb.LogSectLog)
		}
	} else if sb.LogSectSize != 0 || sb.LogSectLog != 0 {
		c.ps.errorf(CodeXFSLogSector, "log sector size %d (log %d) set without the sector version bit", sb.LogSectSize, sb.LogSectLog)
	}

	if sb.LogSUnit > 1 {
		if sb.BlockSize == 0 || sb.LogSUnit%sb.BlockSize != 0 {
			c.ps.errorf(CodeXFSLogSector, "log stripe unit of %d bytes is not a multiple of the %d-byte block", sb.LogSUnit, sb.BlockSize)
		}

		if sb.LogSUnit > xfsMaxLogRecord {
			c.ps.errorf(CodeXFSLogSector, "log stripe unit of %d bytes, over %d", sb.LogSUnit, xfsMaxLogRecord)
		}
	}

	if sb.LogStart == 0 {
		c.ps.errorf(CodeXFSExternalLog, "the log is external (logstart 0); the kernel needs a logdev= mount option, which Talos does not pass")

		return
	}

	if sb.LogBlocks == 0 {
		c.ps.errorf(CodeXFSLogSize, "internal log of 0 blocks")
	} else if sb.LogBlocks < xfsMinLogBlocks {
		c.ps.errorf(CodeXFSLogSmall, "internal log of %d blocks, under the %d mkfs.xfs makes at least; the kernel refuses a v5 log too small for its transactions", sb.LogBlocks, xfsMinLogBlocks)
	}

	// Log placement needs a sane AG geometry (reported above if not).
	if sb.AGBlocks == 0 || sb.AGCount == 0 || int(sb.AGBlkLog) != bits.Len32(sb.AGBlocks-1) {
		return
	}

	agno := sb.LogStart >> sb.AGBlkLog
	agbno := sb.LogStart & (1<<sb.AGBlkLog - 1)

	if agno >= uint64(sb.AGCount) || agbno >= uint64(sb.AGBlocks) {
		c.ps.errorf(CodeXFSLogOutsideData, "internal log starts at block %d (AG %d, block %d), outside the %d AGs of %d blocks", sb.LogStart, agno, agbno, sb.AGCount, sb.AGBlocks)

		return
	}

	agLen := uint64(sb.AGBlocks)
	if start := agno * uint64(sb.AGBlocks); sb.DBlocks > start && sb.DBlocks-start < agLen {
		agLen = sb.DBlocks - start // the last AG may be short
	} else if sb.DBlocks <= start {
		agLen = 0
	}

	if agbno+uint64(sb.LogBlocks) > agLen {
		c.ps.errorf(CodeXFSLogOutsideData, "internal log of %d blocks at block %d of AG %d runs past the AG's %d blocks", sb.LogBlocks, agbno, agno, agLen)
	}
}

// checkFeatures follows xfs_validate_sb_read and the v5 part of
// xfs_validate_sb_common; v4 filesystems have no feature masks.
func (c *xfsCheck) checkFeatures() {
	sb := &c.sb

	if !c.v5 {
		if q := sb.QFlags & (xfsPQuotaEnfd | xfsGQuotaEnfd | xfsPQuotaChkd | xfsGQuotaChkd); q != 0 {
			c.ps.errorf(CodeXFSQuotaFlags, "v4 superblock with v5 quota flags 0x%04x", q)
		}

		return
	}

	if unknown := sb.FeaturesCompat; unknown != 0 {
		c.ps.infof(CodeXFSUnknownCompat, "unknown compatible features 0x%08x; the kernel mounts and suggests a newer kernel", unknown)
	}

	if unknown := sb.FeaturesROCompat &^ xfsROCompatKnown; unknown != 0 {
		c.ps.errorf(CodeXFSUnknownROCompat, "unknown read-only-compatible features 0x%08x; the kernel mounts only read-only and refuses Talos's read-write mount", unknown)
	}

	if unknown := sb.FeaturesIncompat &^ xfsIncompatKnown; unknown != 0 {
		c.ps.errorf(CodeXFSUnknownIncompat, "unknown incompatible features 0x%08x; the kernel refuses the mount", unknown)
	}

	if unknown := sb.FeaturesLogIncompat &^ xfsLogIncompatKnown; unknown != 0 {
		c.ps.errorf(CodeXFSUnknownLogIncompat, "unknown log-incompatible features 0x%08x; the kernel cannot recover or update such a filesystem", unknown)
	}

	if sb.FeaturesIncompat&xfsIncompatNeedsRepair != 0 {
		c.ps.errorf(CodeXFSNeedsRepair, "the needsrepair feature is set: an xfs_repair did not finish; the kernel refuses the mount")
	}

	if q := sb.QFlags & (xfsOQuotaEnfd | xfsOQuotaChkd); q != 0 {
		c.ps.errorf(CodeXFSQuotaFlags, "v5 superblock with v4 quota flags 0x%04x", q)
	}

	if sb.FeaturesIncompat&xfsIncompatSpinodes != 0 {
		// As the kernel computes it, even from a bad block log.
		align := uint64(xfsInodesPerChunk) * uint64(sb.InodeSize) >> sb.BlockLog

		if uint64(sb.InoAlignmt) != align {
			c.ps.errorf(CodeXFSSparseInodes, "inode alignment of %d blocks, sparse inodes need the %d-block chunk size", sb.InoAlignmt, align)
		}

		if sb.SpinoAlign != 0 && (sb.SpinoAlign > sb.InoAlignmt || sb.InoAlignmt%sb.SpinoAlign != 0) {
			c.ps.errorf(CodeXFSSparseInodes, "sparse inode alignment %d does not divide the inode alignment %d", sb.SpinoAlign, sb.InoAlignmt)
		}
	} else if sb.SpinoAlign != 0 {
		c.ps.errorf(CodeXFSSparseInodes, "sparse inode alignment %d without the sparse inode feature", sb.SpinoAlign)
	}
}

// checkState covers xfs_fs_fill_super's refusal of a primary that an offline
// tool still owns.
func (c *xfsCheck) checkState() {
	if c.sb.InProgress != 0 {
		c.ps.errorf(CodeXFSInProgress, "inprogress is set: mkfs.xfs or another offline tool did not finish; the kernel refuses the mount")
	}
}

func (c *xfsCheck) checkLabel() {
	if label := xfsLabel(c.sb.FName); label != xfsExpectedLabel {
		c.ps.warnf(CodeXFSLabel, "filesystem label is %q, Talos labels STATE %q", label, xfsExpectedLabel)
	}
}

// checkSecondaries compares the secondary superblocks of AG 1 and of the last
// AG with the primary.
func (c *xfsCheck) checkSecondaries() error {
	sb := &c.sb

	sectSize, sectOK := xfsSectorSize(sb)
	if !sectOK || sb.BlockSize < xfsMinBlockSize || sb.BlockSize > xfsMaxBlockSize || sb.BlockSize&(sb.BlockSize-1) != 0 || sb.AGBlocks == 0 {
		c.ps.infof(CodeXFSSecondaryUnchecked, "secondary superblocks not checked: the primary's sector size %d, block size %d or AG size %d cannot locate them",
			sb.SectSize, sb.BlockSize, sb.AGBlocks)

		return nil
	}

	if sb.AGCount < 2 {
		c.ps.infof(CodeXFSSecondaryUnchecked, "secondary superblocks not checked: the filesystem has %d AG", sb.AGCount)

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

func (c *xfsCheck) checkSecondary(agno uint32, sector []byte) error {
	sb := &c.sb

	hi, off := bits.Mul64(uint64(agno)*uint64(sb.AGBlocks), uint64(sb.BlockSize))
	if hi != 0 || off > uint64(c.size) || uint64(len(sector)) > uint64(c.size)-off {
		c.ps.infof(CodeXFSSecondaryUnchecked, "AG %d superblock not checked: it would lie beyond the partition's %d bytes", agno, c.size)

		return nil
	}

	ok, err := c.read(sector, int64(off), fmt.Sprintf("AG %d superblock", agno))
	if err != nil || !ok {
		return err
	}

	sec := xfsDecode(sector)
	if sec.MagicNum != xfsMagic {
		c.ps.errorf(CodeXFSSecondaryBadMagic, "AG %d superblock at byte %d starts with %q (0x%08x), not \"XFSB\"", agno, off, sector[:4], sec.MagicNum)

		return nil
	}

	// Like the kernel, hold a secondary to its CRC only on a v5 filesystem.
	if c.v5 {
		if got := xfsChecksum(sector); got != sec.CRC {
			c.ps.errorf(CodeXFSSecondaryBadCRC, "AG %d superblock CRC32C is 0x%08x, the sector sums to 0x%08x", agno, sec.CRC, got)
		}
	}

	if sec.UUID != sb.UUID {
		c.ps.errorf(CodeXFSSecondaryUUID, "AG %d superblock belongs to filesystem %s, the primary to %s", agno, xfsFormatUUID(sec.UUID), xfsFormatUUID(sb.UUID))
	}

	var diffs []string

	diff := func(name string, got, want uint64) {
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s %d (primary %d)", name, got, want))
		}
	}

	diff("blocksize", uint64(sec.BlockSize), uint64(sb.BlockSize))
	diff("sectsize", uint64(sec.SectSize), uint64(sb.SectSize))
	diff("inodesize", uint64(sec.InodeSize), uint64(sb.InodeSize))
	diff("agblocks", uint64(sec.AGBlocks), uint64(sb.AGBlocks))
	diff("agcount", uint64(sec.AGCount), uint64(sb.AGCount))
	diff("dblocks", sec.DBlocks, sb.DBlocks)

	if len(diffs) > 0 {
		c.ps.errorf(CodeXFSSecondaryGeometry, "AG %d superblock disagrees with the primary: %s", agno, strings.Join(diffs, ", "))
	}

	return nil
}
