package xfs

import (
	"encoding/binary"
	"hash/crc32"
)

// SuperBlock is struct xfs_dsb, the on-disk XFS superblock of
// fs/xfs/libxfs/xfs_format.h, in disk order. Every field is big-endian but
// CRC, which is little-endian; Decode fixes it up. The layout has no
// padding: each field sits at a multiple of its size, so the Go struct and
// the binary encoding agree on offsets (layout_test.go checks both against
// the C header and against xfs_db). The tag is the field's name in xfs_db.
type SuperBlock struct {
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

// Magic opens every XFS superblock: sb_magicnum, XFS_SB_MAGIC.
const Magic = "XFSB"

// On-disk layout facts from xfs_format.h.
const (
	superBlockSize = 0x130 // binary size of struct xfs_dsb, through sb_rtreserved
	offCRC         = 0xe0  // offsetof(struct xfs_dsb, sb_crc): XFS_SB_CRC_OFF

	magicNum = 0x58465342 // Magic as the big-endian sb_magicnum
)

// Geometry limits from xfs_format.h and xfs_fs.h that the kernel and
// go-blockdevice's prober share.
const (
	MinSectorLog     = 9                 // XFS_MIN_SECTORSIZE_LOG
	MaxSectorLog     = 15                // XFS_MAX_SECTORSIZE_LOG
	MinSectorSize    = 1 << MinSectorLog // XFS_MIN_SECTORSIZE
	MaxSectorSize    = 1 << MaxSectorLog // XFS_MAX_SECTORSIZE; also the most Check reads at once
	MinBlockLog      = 9                 // XFS_MIN_BLOCKSIZE_LOG
	MaxBlockLog      = 16                // XFS_MAX_BLOCKSIZE_LOG
	MinBlockSize     = 1 << MinBlockLog  // XFS_MIN_BLOCKSIZE
	MaxBlockSize     = 1 << MaxBlockLog  // XFS_MAX_BLOCKSIZE
	MinInodeLog      = 8                 // XFS_DINODE_MIN_LOG
	MaxInodeLog      = 11                // XFS_DINODE_MAX_LOG
	MinRTExtentBytes = 4 << 10           // XFS_MIN_RTEXTSIZE
	MaxRTExtentBytes = 1 << 30           // XFS_MAX_RTEXTSIZE
)

// Geometry limits only the kernel's checks use.
const (
	minCRCBlockSize = 1024 // XFS_MIN_CRC_BLOCKSIZE: v5 needs room for block headers
	minAGBlocks     = 64   // XFS_MIN_AG_BLOCKS: the smallest last AG
	minAGBytes      = 1 << 24
	maxAGBytes      = 1 << 40
	minLogBlocks    = 512     // XFS_MIN_LOG_BLOCKS, mkfs's floor
	maxLogBlocks    = 1 << 20 // XFS_MAX_LOG_BLOCKS
	minLogBytes     = 10 << 20
	maxLogBytes     = 2<<30 - minLogBytes // XFS_MAX_LOG_BYTES
	maxLogRecord    = 256 << 10           // XLOG_MAX_RECORD_BSIZE, caps the log stripe unit
	inodesPerChunk  = 64                  // XFS_INODES_PER_CHUNK
	maxRGBlocks     = 1<<31 - 1           // XFS_MAX_RGBLOCKS
	minRGExtents    = 2                   // XFS_MIN_RGEXTENTS
	rtBufInfoSize   = 48                  // sizeof(struct xfs_rtbuf_blkinfo), metadir rt bitmap header
	maxInt          = 1<<31 - 1           // INT_MAX, bounds the stripe width in bytes
)

// sb_versionnum: the low nibble is the version, the rest v4 feature bits.
const (
	versionNumBits = 0x000f
	versionNLink   = 0x0020
	versionAlign   = 0x0080
	versionDAlign  = 0x0100
	versionShared  = 0x0200
	versionLogV2   = 0x0400
	versionSector  = 0x0800
	versionExtFlg  = 0x1000
	versionDirV2   = 0x2000
	versionMore    = 0x8000
	// Every bit but SHARED is known (XFS_SB_VERSION_OKBITS).
	versionOKBits = 0xffff &^ versionShared
	// The v4 bits a v5 superblock must carry, since the code tests them.
	v5VersionBits = versionNLink | versionAlign | versionLogV2 |
		versionExtFlg | versionDirV2 | versionMore
)

// sb_features2.
const (
	feat2LazySBCount = 0x0002
	feat2Attr2       = 0x0008
	feat2ProjID32    = 0x0080
	feat2CRC         = 0x0100
	feat2FType       = 0x0200
	feat2OKBits      = feat2LazySBCount | feat2Attr2 | feat2ProjID32 | feat2FType
	v5Feat2Bits      = feat2LazySBCount | feat2Attr2 | feat2ProjID32 | feat2CRC
)

// sb_qflags bits the kernel checks against the version.
const (
	oQuotaEnfd = 0x0010
	oQuotaChkd = 0x0020
	gQuotaEnfd = 0x0080
	gQuotaChkd = 0x0100
	pQuotaEnfd = 0x0200
	pQuotaChkd = 0x0400
)

// v5 feature bits known to the current kernel. Compat has none.
const (
	roCompatFinobt   = 1 << 0
	roCompatRmapbt   = 1 << 1
	roCompatReflink  = 1 << 2
	roCompatInobtCnt = 1 << 3
	roCompatKnown    = 0xf

	incompatFType       = 1 << 0
	incompatSpinodes    = 1 << 1
	incompatMetaUUID    = 1 << 2
	incompatBigtime     = 1 << 3
	incompatNeedsRepair = 1 << 4
	incompatNRExt64     = 1 << 5
	incompatExchRange   = 1 << 6
	incompatParent      = 1 << 7
	incompatMetadir     = 1 << 8
	incompatZoned       = 1 << 9
	// ZONE_GAPS is the newest bit (2026): kernels that predate it refuse
	// such a filesystem, which only zoned realtime devices produce.
	incompatZoneGaps = 1 << 10
	incompatKnown    = 1<<11 - 1

	logIncompatXattrs = 1 << 0
	logIncompatKnown  = logIncompatXattrs
)

// featureNames names feature bits, in the order Info.Features lists
// them, by the option names of mkfs.xfs where it has one.
var featureNames = []struct {
	roCompat bool
	bit      uint32
	name     string
}{
	{true, roCompatFinobt, "finobt"},
	{true, roCompatRmapbt, "rmapbt"},
	{true, roCompatReflink, "reflink"},
	{true, roCompatInobtCnt, "inobtcount"},
	{false, incompatFType, "ftype"},
	{false, incompatSpinodes, "sparse"},
	{false, incompatMetaUUID, "metauuid"},
	{false, incompatBigtime, "bigtime"},
	{false, incompatNeedsRepair, "needsrepair"},
	{false, incompatNRExt64, "nrext64"},
	{false, incompatExchRange, "exchange"},
	{false, incompatParent, "parent"},
	{false, incompatMetadir, "metadir"},
	{false, incompatZoned, "zoned"},
	{false, incompatZoneGaps, "zonegaps"},
}

// castagnoli is the CRC32C table of the v5 metadata checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode decodes the superblock at the start of p, which must hold at least
// its 0x130 bytes (one 512-byte sector does).
func Decode(p []byte) SuperBlock {
	var sb SuperBlock

	// Cannot fail: p holds at least superBlockSize bytes and SuperBlock has
	// only fixed-size fields.
	_, _ = binary.Decode(p[:superBlockSize], binary.BigEndian, &sb)
	sb.CRC = binary.LittleEndian.Uint32(p[offCRC:])

	return sb
}

// checksum returns the superblock CRC of a sector: CRC32C over the whole
// sector with the sb_crc field taken as zero, as stored (little-endian).
func checksum(sector []byte) uint32 {
	var zero [4]byte

	crc := crc32.Update(0, castagnoli, sector[:offCRC])
	crc = crc32.Update(crc, castagnoli, zero[:])

	return crc32.Update(crc, castagnoli, sector[offCRC+4:])
}
