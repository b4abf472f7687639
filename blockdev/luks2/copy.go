package luks2

import (
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// headerCopy is one header copy as read from the device.
type headerCopy struct {
	name      string // "primary" or "secondary"
	secondary bool
	offset    uint64
	hdr       BinaryHeader
	magicOK   bool
	// binaryOK: the binary header is sane and the checksum matches; this
	// is what cryptsetup requires of a copy before looking at its JSON.
	binaryOK bool
	// usable: binaryOK and the JSON area is well formed.
	usable   bool
	meta     metadata
	findings []finding
}

// finding is a problem of one header copy whose severity depends on the
// other copy.
type finding struct {
	code problem.Code
	msg  string
}

// metadata is what Check takes from a JSON area.
type metadata struct {
	keyslots     int
	segments     int
	cipher       string
	dataOffset   uint64
	keyslotsSize uint64
}

// add records a finding, prefixed with the copy's name.
func (c *headerCopy) add(code problem.Code, format string, args ...any) {
	c.findings = append(c.findings, finding{code: code, msg: c.name + " header copy: " + fmt.Sprintf(format, args...)})
}

// report adds the copy's findings to ps: warnings while the other copy is
// usable, errors otherwise.
func (c *headerCopy) report(ps *problem.List, otherUsable bool) {
	sev := problem.SeverityError
	if otherUsable {
		sev = problem.SeverityWarning
	}

	for _, f := range c.findings {
		ps.Add(sev, f.code, "%s", f.msg)
	}
}

// magic is the magic value this copy must start with.
func (c *headerCopy) magic() string {
	if c.secondary {
		return MagicSecondary
	}

	return MagicPrimary
}

// ReadAt reads n bytes of LUKS2 metadata at off, within a partition of size
// bytes. short is true when the range goes past the end or the reader runs
// out; err is any other read failure.
func ReadAt(r io.ReaderAt, size int64, off, n uint64) (buf []byte, short bool, err error) {
	if size < 0 || off > uint64(size) || n > uint64(size)-off {
		return nil, true, nil
	}

	buf = make([]byte, n)

	got, err := r.ReadAt(buf, int64(off))
	if got == len(buf) {
		return buf, false, nil
	}

	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, true, nil
	}

	return nil, false, fmt.Errorf("failed to read %d bytes of LUKS2 header at offset %d: %w", n, off, err)
}

// readCopy reads and checks the header copy at off: its binary header, then,
// like cryptsetup, its checksum and JSON area only when the binary header is
// sane.
func readCopy(r io.ReaderAt, size int64, off uint64, secondary bool) (*headerCopy, error) {
	c := &headerCopy{name: "primary", secondary: secondary, offset: off}
	if secondary {
		c.name = "secondary"
	}

	bin, short, err := ReadAt(r, size, off, BinHeaderSize)
	if err != nil {
		return nil, err
	}

	if short {
		c.add(CodeTruncated, "the partition (%d bytes) ends before the %d-byte binary header at offset %d", size, BinHeaderSize, off)

		return c, nil
	}

	c.hdr = DecodeBinaryHeader(bin)

	h := c.checkBinary(size)
	if h == nil {
		return c, nil
	}

	if err := c.checkArea(r, size, h); err != nil {
		return nil, err
	}

	return c, nil
}

// checkBinary checks the binary header as cryptsetup does before it reads
// the rest of the copy. It returns the hash to verify the copy's checksum
// with, or nil when the copy is not sane enough to read further.
func (c *headerCopy) checkBinary(size int64) hash.Hash {
	if !c.checkMagicAndVersion() {
		return nil
	}

	sizeOK := c.checkHeaderSize()

	if c.hdr.HdrOffset != c.offset {
		c.add(CodeBadHeaderOffset, "hdr_offset %d, but the copy is at offset %d", c.hdr.HdrOffset, c.offset)
	}

	alg := cString(c.hdr.ChecksumAlg[:])

	h := newHash(alg)
	if h == nil {
		c.add(CodeUnknownChecksumAlgorithm, "checksum algorithm %q is not one this check can compute", alg)
	}

	if sizeOK && (size < 0 || c.offset+c.hdr.HdrSize > uint64(size)) {
		c.add(CodeTruncated, "the copy's %d bytes at offset %d go past the end of the partition (%d bytes)", c.hdr.HdrSize, c.offset, size)

		sizeOK = false
	}

	if !sizeOK || len(c.findings) > 0 {
		return nil
	}

	return h
}

// checkMagicAndVersion checks the copy's magic and version and reports
// whether the rest of the binary header is worth checking.
func (c *headerCopy) checkMagicAndVersion() bool {
	if magic := c.magic(); string(c.hdr.Magic[:]) != magic {
		c.add(CodeBadMagic, "magic at offset %d is %q, want %q", c.offset, c.hdr.Magic[:], magic)

		return false
	}

	c.magicOK = true

	switch c.hdr.Version {
	case 2:
		return true
	case 1:
		if !c.secondary {
			c.add(CodeLUKS1, "version 1: this is a LUKS1 header, Talos uses LUKS2 only")

			return false
		}

		fallthrough
	default:
		c.add(CodeBadVersion, "version %d, want 2", c.hdr.Version)

		return false
	}
}

// checkHeaderSize checks hdr_size and reports whether the copy's extent can
// be trusted: an allowed size, and for the secondary its own offset.
func (c *headerCopy) checkHeaderSize() bool {
	hdrSize := c.hdr.HdrSize

	if !allowedSize(hdrSize) {
		c.add(CodeBadHeaderSize, "hdr_size %d is not a power of two between 16 KiB and 4 MiB", hdrSize)

		return false
	}

	if c.secondary && hdrSize != c.offset {
		c.add(CodeBadHeaderSize, "hdr_size %d differs from the secondary copy's offset %d, which is the primary's hdr_size", hdrSize, c.offset)

		return false
	}

	return true
}

// checkArea reads the whole copy, verifies its checksum with h and parses
// its JSON area.
func (c *headerCopy) checkArea(r io.ReaderAt, size int64, h hash.Hash) error {
	hdrSize := c.hdr.HdrSize

	area, short, err := ReadAt(r, size, c.offset, hdrSize)
	if err != nil {
		return err
	}

	if short {
		c.add(CodeTruncated, "the reader ended before the copy's %d bytes at offset %d", hdrSize, c.offset)

		return nil
	}

	if !checksumMatches(h, area) {
		c.add(CodeChecksumMismatch, "the %s checksum over its %d bytes does not match the stored one", cString(c.hdr.ChecksumAlg[:]), hdrSize)

		return nil
	}

	c.binaryOK = true

	if meta, ok := c.parseJSON(area[BinHeaderSize:]); ok {
		c.meta = meta
		c.usable = true
	}

	return nil
}
