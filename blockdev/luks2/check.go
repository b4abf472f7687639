package luks2

import (
	"io"

	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// Info is what the LUKS2 headers say.
type Info struct {
	UUID              string `json:"uuid"`
	Label             string `json:"label"`
	HeaderSize        uint64 `json:"header_size"`
	SeqID             uint64 `json:"seq_id"`
	ChecksumAlgorithm string `json:"checksum_algorithm"`
	Keyslots          int    `json:"keyslots"`
	Segments          int    `json:"segments"`
	// Cipher is the encryption of segment 0, e.g. aes-xts-plain64.
	Cipher string `json:"cipher"`
	// DataOffset is where segment 0, the encrypted data, starts.
	DataOffset uint64 `json:"data_offset"`
}

// Check verifies both LUKS2 header copies at the start of r, a partition of
// size bytes, as cryptsetup reads them. Problems are findings; err is only an
// I/O error from r (wrapped with %w).
//
// The returned info describes the copy cryptsetup would use (the usable one,
// or the newer when both are); when neither is usable it describes whichever
// copy has a LUKS2 magic and version 2, and it is nil when none has.
//
// It reads at most a few header copies of at most 4 MiB each, whatever the
// on-disk values say, and never writes.
func Check(r io.ReaderAt, size int64) (*Info, []problem.Problem, error) {
	var ps problem.List

	primary, err := readCopy(r, size, 0, false)
	if err != nil {
		return nil, nil, err
	}

	secondary, err := findSecondary(r, size, primary)
	if err != nil {
		return nil, nil, err
	}

	reportCopies(&ps, primary, secondary)

	inUse := copyInUse(primary, secondary)
	if inUse != nil {
		checkContent(&ps, inUse, size)
	}

	return infoOf(primary, secondary, inUse), ps, nil
}

// findSecondary finds the secondary copy the way cryptsetup does: after a
// sane primary, at the primary's hdr_size; otherwise at the first allowed
// offset holding a sane secondary. When none is sane it returns the copy at
// the primary's hdr_size, for its findings, or nil.
func findSecondary(r io.ReaderAt, size int64, primary *headerCopy) (*headerCopy, error) {
	if primary.binaryOK {
		return readCopy(r, size, primary.hdr.HdrSize, true)
	}

	var hint *headerCopy

	for off := uint64(MinHeaderSize); off <= MaxHeaderSize; off <<= 1 {
		c, err := readCopy(r, size, off, true)
		if err != nil {
			return nil, err
		}

		if c.binaryOK {
			return c, nil
		}

		if primary.magicOK && off == primary.hdr.HdrSize {
			hint = c
		}
	}

	return hint, nil
}

// primaryIsLUKS1 reports whether cryptsetup takes the device for LUKS1: it
// decides by the primary's magic and version alone.
func primaryIsLUKS1(primary *headerCopy) bool {
	return primary.magicOK && primary.hdr.Version == 1
}

// reportCopies adds each copy's findings and verdict, and compares the
// copies when both are usable.
func reportCopies(ps *problem.List, primary, secondary *headerCopy) {
	secondaryUsable := secondary != nil && secondary.usable && !primaryIsLUKS1(primary)

	primary.report(ps, secondaryUsable)

	if !primary.usable {
		switch {
		case primaryIsLUKS1(primary):
			ps.Errorf(CodePrimaryUnusable, "cryptsetup takes a version-1 primary for a LUKS1 header and never "+
				"reads the LUKS2 secondary copy: it cannot open the volume as LUKS2")
		case secondaryUsable:
			ps.Warnf(CodePrimaryUnusable, "the primary header copy is unusable; cryptsetup falls back to the "+
				"secondary copy at offset %d and rewrites the primary from it on the next open", secondary.offset)
		default:
			ps.Errorf(CodePrimaryUnusable, "the primary header copy is unusable and so is the secondary: "+
				"cryptsetup cannot open the volume and Talos cannot unlock STATE")
		}
	}

	if secondary == nil {
		sev := problem.SeverityError
		if primary.usable {
			sev = problem.SeverityWarning
		}

		ps.Add(sev, CodeSecondaryUnusable, "no secondary header copy found at any offset from 16 KiB to 4 MiB")

		return
	}

	secondary.report(ps, primary.usable)

	if !secondary.usable {
		if primary.usable {
			ps.Warnf(CodeSecondaryUnusable, "the secondary header copy at offset %d is unusable; cryptsetup "+
				"uses the primary and rewrites the secondary from it on the next open", secondary.offset)
		} else {
			ps.Errorf(CodeSecondaryUnusable, "the secondary header copy at offset %d is unusable and so is the "+
				"primary: cryptsetup cannot open the volume and Talos cannot unlock STATE", secondary.offset)
		}

		return
	}

	if primary.usable {
		compareCopies(ps, primary, secondary)
	}
}

// compareCopies warns where two usable copies disagree.
func compareCopies(ps *problem.List, primary, secondary *headerCopy) {
	s1, s2 := primary.hdr.SeqID, secondary.hdr.SeqID
	if s1 != s2 {
		newer, older := "primary", "secondary"
		if s2 > s1 {
			newer, older = older, newer
		}

		ps.Warnf(CodeSeqIDMismatch, "seqid is %d in the primary copy and %d in the secondary: the %s copy is newer; "+
			"cryptsetup uses it and rewrites the %s on the next open, as after an interrupted header update", s1, s2, newer, older)
	}

	if u1, u2 := cString(primary.hdr.UUID[:]), cString(secondary.hdr.UUID[:]); u1 != u2 {
		ps.Warnf(CodeUUIDMismatch, "UUID is %q in the primary copy and %q in the secondary", u1, u2)
	}

	if l1, l2 := cString(primary.hdr.Label[:]), cString(secondary.hdr.Label[:]); l1 != l2 {
		ps.Warnf(CodeLabelMismatch, "label is %q in the primary copy and %q in the secondary", l1, l2)
	}
}

// copyInUse returns the copy cryptsetup would use, or nil.
func copyInUse(primary, secondary *headerCopy) *headerCopy {
	switch {
	case primaryIsLUKS1(primary):
		return nil
	case primary.usable && secondary != nil && secondary.usable:
		if secondary.hdr.SeqID > primary.hdr.SeqID {
			return secondary
		}

		return primary
	case primary.usable:
		return primary
	case secondary != nil && secondary.usable:
		return secondary
	default:
		return nil
	}
}

// checkContent checks what the header in use describes.
func checkContent(ps *problem.List, c *headerCopy, size int64) {
	if c.meta.keyslots == 0 {
		ps.Errorf(CodeNoKeyslots, "the %s header copy in use has no keyslot: no key can unlock the volume", c.name)
	}

	if c.meta.segments == 0 {
		ps.Errorf(CodeNoSegments, "the %s header copy in use describes no data segment", c.name)
	}

	// hdr_size <= 4 MiB and keyslotsSize is a uint64: compare without
	// overflowing.
	metadata := 2 * c.hdr.HdrSize
	if size < 0 || c.meta.keyslotsSize > ^uint64(0)-metadata || metadata+c.meta.keyslotsSize > uint64(size) {
		ps.Errorf(CodeDeviceTooSmall, "both header copies and the %d-byte keyslot area need more than the "+
			"partition's %d bytes", c.meta.keyslotsSize, size)
	} else if c.meta.segments > 0 && c.meta.dataOffset > uint64(size) {
		ps.Errorf(CodeDeviceTooSmall, "the data segment starts at %d, beyond the partition's %d bytes", c.meta.dataOffset, size)
	}
}

// infoOf describes the copy in use, or failing that one with a LUKS2 magic
// and version.
func infoOf(primary, secondary, inUse *headerCopy) *Info {
	c := inUse

	switch {
	case c != nil:
	case primary.magicOK && primary.hdr.Version == 2:
		c = primary
	case secondary != nil && secondary.magicOK && secondary.hdr.Version == 2:
		c = secondary
	default:
		return nil
	}

	return &Info{
		UUID:              cString(c.hdr.UUID[:]),
		Label:             cString(c.hdr.Label[:]),
		HeaderSize:        c.hdr.HdrSize,
		SeqID:             c.hdr.SeqID,
		ChecksumAlgorithm: cString(c.hdr.ChecksumAlg[:]),
		Keyslots:          c.meta.keyslots,
		Segments:          c.meta.segments,
		Cipher:            c.meta.cipher,
		DataOffset:        c.meta.dataOffset,
	}
}
