package xfs

import (
	"fmt"
	"strings"
)

// Info is what the primary superblock says, filled as far as it could be
// parsed.
type Info struct {
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

// infoOf describes sb.
func infoOf(sb *SuperBlock) *Info {
	info := &Info{
		Version:    int(sb.VersionNum & versionNumBits),
		UUID:       formatUUID(sb.UUID),
		Label:      labelOf(sb.FName),
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

		for _, f := range featureNames {
			bits := sb.FeaturesIncompat
			if f.roCompat {
				bits = sb.FeaturesROCompat
			}

			if bits&f.bit != 0 {
				info.Features = append(info.Features, f.name)
			}
		}
	} else if sb.VersionNum&versionMore != 0 && sb.Features2&feat2FType != 0 {
		info.Features = append(info.Features, "ftype")
	}

	return info
}

// formatUUID formats a UUID as xfs_db and blkid print it.
func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// labelOf returns sb_fname up to its first NUL.
func labelOf(fname [12]byte) string {
	s := fname[:]
	if i := strings.IndexByte(string(s), 0); i >= 0 {
		s = s[:i]
	}

	return string(s)
}
