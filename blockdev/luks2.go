package blockdev

import (
	"bytes"
	"crypto/sha1" // LUKS2 allows sha1 as the header checksum; it is not used for security here.
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
)

// LUKS2 on-disk layout, from the LUKS2 on-disk format specification and
// cryptsetup's struct luks2_hdr_disk (lib/luks2/luks2.h).
//
// A LUKS2 device starts with two copies of the header. Each copy is hdr_size
// bytes: a 4096-byte binary header followed by a JSON area of hdr_size-4096
// bytes, NUL padded. The primary copy sits at offset 0 with magic
// "LUKS\xba\xbe"; the secondary copy follows it at offset hdr_size with magic
// "SKUL\xba\xbe". Both carry a checksum of their whole hdr_size area taken
// with the checksum field zeroed.
const (
	// luksBinHeaderSize is the size of the binary header of each copy.
	luksBinHeaderSize = 4096
	// luksCsumOffset is where the 64-byte checksum field starts.
	luksCsumOffset = 0x1C0
	// luksCsumLen is the size of the checksum field; digests shorter than
	// it fill its start.
	luksCsumLen = 64
	// luksMinHeaderSize and luksMaxHeaderSize bound hdr_size. The spec
	// allows exactly the powers of two between them, and a secondary
	// copy is only ever found at one of these offsets.
	luksMinHeaderSize = 16 << 10
	luksMaxHeaderSize = 4 << 20
	// luksBlkidProbeLen is how much of the start go-blockdevice's blkid
	// reads to recognise LUKS (its luks2 header struct is 512 bytes).
	luksBlkidProbeLen = 512
	// luksBlkidMinProbeSize is go-blockdevice's blkid.MinProbeSize: it
	// refuses to probe anything smaller.
	luksBlkidMinProbeSize = 16 << 10
)

var (
	luksMagicPrimary   = []byte("LUKS\xba\xbe")
	luksMagicSecondary = []byte("SKUL\xba\xbe")
)

// luksDiskHeader is the binary header of one LUKS2 header copy, in disk
// order, big-endian. luks2_test.go checks each field's offset against the
// specification. Fields are exported only so encoding/binary can fill them.
type luksDiskHeader struct {
	Magic       [6]byte  // 0x000
	Version     uint16   // 0x006
	HdrSize     uint64   // 0x008: size of this copy, binary header + JSON area
	SeqID       uint64   // 0x010: increased on every update
	Label       [48]byte // 0x018: NUL terminated
	ChecksumAlg [32]byte // 0x048: NUL terminated, such as "sha256"
	Salt        [64]byte // 0x068: differs between the copies
	UUID        [40]byte // 0x0A8: NUL terminated
	Subsystem   [48]byte // 0x0D0: NUL terminated
	HdrOffset   uint64   // 0x100: offset of this copy on the device
	_           [184]byte
	Csum        [luksCsumLen]byte // 0x1C0
	_           [luksBinHeaderSize - luksCsumOffset - luksCsumLen]byte
}

// LUKS2Info is what the LUKS2 headers say.
type LUKS2Info struct {
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

// LUKS2 problem codes. A header copy is "usable" when cryptsetup would load
// it: sane binary header, matching checksum, well-formed JSON (a subset of
// cryptsetup's JSON validation). The codes describing what is wrong with one
// copy carry the severity of that copy's verdict, CodeLUKS2PrimaryUnusable or
// CodeLUKS2SecondaryUnusable: a warning while the other copy is usable
// (cryptsetup falls back to it and rewrites the bad one on the next open), an
// error when neither is. The exception is a primary with version 1:
// cryptsetup then takes the device for LUKS1 and never reads the LUKS2
// secondary, so that is an error whatever the secondary holds.
//
// Talos is stricter than cryptsetup, and two codes say so, as errors:
// CodeLUKS2NotLocated (Talos does not find STATE) and CodeLUKS2TalosRejects
// (Talos finds it but refuses to unlock it). A damaged primary can thus be a
// warning for cryptsetup and still keep the node from booting.
const (
	// CodeLUKS2Truncated: a header copy extends beyond the end of the
	// partition, or the read came back short.
	CodeLUKS2Truncated Code = "luks2-truncated"
	// CodeLUKS2BadMagic: the copy lacks its magic, "LUKS\xba\xbe" for the
	// primary and "SKUL\xba\xbe" for the secondary.
	CodeLUKS2BadMagic Code = "luks2-bad-magic"
	// CodeLUKS2LUKS1: the primary header says version 1. That is a LUKS1
	// volume; Talos encrypts STATE with LUKS2 only, and cryptsetup then
	// ignores any LUKS2 secondary copy.
	CodeLUKS2LUKS1 Code = "luks2-luks1"
	// CodeLUKS2BadVersion: the version is neither 2 nor, for the primary, 1.
	CodeLUKS2BadVersion Code = "luks2-bad-version"
	// CodeLUKS2BadHeaderSize: hdr_size is not one of the sizes the spec
	// allows (16 KiB to 4 MiB, powers of two), or a secondary copy's
	// hdr_size differs from the offset it sits at.
	CodeLUKS2BadHeaderSize Code = "luks2-bad-header-size"
	// CodeLUKS2BadHeaderOffset: hdr_offset differs from where the copy is.
	CodeLUKS2BadHeaderOffset Code = "luks2-bad-header-offset"
	// CodeLUKS2UnknownChecksumAlgorithm: checksum_alg names an algorithm
	// this check cannot compute, so the copy's checksum is unverified.
	CodeLUKS2UnknownChecksumAlgorithm Code = "luks2-unknown-checksum-algorithm"
	// CodeLUKS2ChecksumMismatch: the stored checksum is not the digest of
	// the copy's binary header and JSON area.
	CodeLUKS2ChecksumMismatch Code = "luks2-checksum-mismatch"
	// CodeLUKS2JSONInvalid: the JSON area is not a single JSON object
	// followed by NUL padding, or lacks one of the sections keyslots,
	// segments, digests, config and tokens, or a field has the wrong type.
	CodeLUKS2JSONInvalid Code = "luks2-json-invalid"
	// CodeLUKS2JSONSizeMismatch: config.json_size is not hdr_size-4096.
	CodeLUKS2JSONSizeMismatch Code = "luks2-json-size-mismatch"
	// CodeLUKS2PrimaryUnusable: verdict on the primary copy, after the
	// codes saying why.
	CodeLUKS2PrimaryUnusable Code = "luks2-primary-unusable"
	// CodeLUKS2SecondaryUnusable: verdict on the secondary copy, after the
	// codes saying why, or because no secondary copy was found.
	CodeLUKS2SecondaryUnusable Code = "luks2-secondary-unusable"
	// CodeLUKS2SeqIDMismatch: both copies are usable but their sequence
	// ids differ, as after an interrupted update. cryptsetup uses the
	// newer and rewrites the older.
	CodeLUKS2SeqIDMismatch Code = "luks2-seqid-mismatch"
	// CodeLUKS2UUIDMismatch: both copies are usable but name different
	// UUIDs.
	CodeLUKS2UUIDMismatch Code = "luks2-uuid-mismatch"
	// CodeLUKS2LabelMismatch: both copies are usable but carry different
	// labels.
	CodeLUKS2LabelMismatch Code = "luks2-label-mismatch"
	// CodeLUKS2NoKeyslots: the header in use has no keyslot, so no key
	// can unlock the volume.
	CodeLUKS2NoKeyslots Code = "luks2-no-keyslots"
	// CodeLUKS2NoSegments: the header in use describes no data segment.
	CodeLUKS2NoSegments Code = "luks2-no-segments"
	// CodeLUKS2DeviceTooSmall: both header copies and the keyslot area, or
	// the data segment's start, do not fit in the partition; cryptsetup
	// refuses such a device.
	CodeLUKS2DeviceTooSmall Code = "luks2-device-too-small"
	// CodeLUKS2NotLocated: go-blockdevice's blkid, which Talos uses to find
	// STATE, recognises LUKS only by the primary's magic and version 2 at
	// offset 0. Without them Talos does not locate STATE at all, whatever
	// the secondary copy holds.
	CodeLUKS2NotLocated Code = "luks2-not-located"
	// CodeLUKS2TalosRejects: go-blockdevice's header validation, which
	// Talos runs before `cryptsetup luksOpen --header` (go-blockdevice PR
	// #149, Talos PR #13030), refuses these headers. It trusts the
	// primary's hdr_size, refuses copies with equal seqids but different
	// JSON, and needs segment 0's offset.
	CodeLUKS2TalosRejects Code = "luks2-talos-rejects"
	// CodeLUKS2InnerUnverified: always reported. The XFS filesystem inside
	// cannot be read before Talos unlocks the volume, so only the LUKS2
	// header was verified.
	CodeLUKS2InnerUnverified Code = "luks2-inner-unverified"
)

// luksFinding is a problem of one header copy whose severity depends on the
// other copy.
type luksFinding struct {
	code Code
	msg  string
}

// luksMeta is what CheckLUKS2 takes from a JSON area.
type luksMeta struct {
	keyslots     int
	segments     int
	cipher       string
	dataOffset   uint64
	keyslotsSize uint64
}

// luksCopy is one header copy as read from the device.
type luksCopy struct {
	name    string
	offset  uint64
	hdr     luksDiskHeader
	magicOK bool
	// binaryOK: the binary header is sane and the checksum matches; this
	// is what cryptsetup requires of a copy before looking at its JSON.
	binaryOK bool
	// usable: binaryOK and the JSON area is well formed.
	usable   bool
	meta     luksMeta
	findings []luksFinding
}

func (c *luksCopy) add(code Code, format string, args ...any) {
	c.findings = append(c.findings, luksFinding{code: code, msg: c.name + " header copy: " + fmt.Sprintf(format, args...)})
}

// CheckLUKS2 verifies both LUKS2 header copies at the start of r, a partition
// of size bytes. Problems are findings; err is only an I/O error from r
// (wrapped with %w).
//
// The returned info describes the copy cryptsetup would use (the usable one,
// or the newer when both are); when neither is usable it describes whichever
// copy has a LUKS2 magic and version 2, and it is nil when none has.
//
// It reads at most a few header copies of at most 4 MiB each, whatever the
// on-disk values say, and never writes.
func CheckLUKS2(r io.ReaderAt, size int64) (*LUKS2Info, []Problem, error) {
	var ps problems

	primary, err := luksReadCopy(r, size, 0, false)
	if err != nil {
		return nil, nil, err
	}

	secondary, err := luksFindSecondary(r, size, primary)
	if err != nil {
		return nil, nil, err
	}

	luksReportCopies(&ps, primary, secondary)

	inUse := luksCopyInUse(primary, secondary)
	if inUse != nil {
		luksCheckContent(&ps, inUse, size)
	}

	unseen, err := luksBlkidMisses(r, size)
	if err != nil {
		return nil, nil, err
	}

	if unseen != "" {
		ps.errorf(CodeLUKS2NotLocated, "go-blockdevice's blkid, which Talos uses to find STATE, does not report "+
			"LUKS here (%s): Talos never locates STATE and boots into maintenance mode, even if cryptsetup "+
			"could recover the primary header from the secondary copy", unseen)
	} else {
		reason, err := luksTalosRejects(r, size, &primary.hdr)
		if err != nil {
			return nil, nil, err
		}

		if reason != "" {
			ps.errorf(CodeLUKS2TalosRejects, "Talos validates the LUKS2 header (go-blockdevice) before running "+
				"cryptsetup luksOpen and would refuse to unlock STATE: %s", reason)
		}
	}

	ps.infof(CodeLUKS2InnerUnverified, "the XFS filesystem inside cannot be read before Talos unlocks the volume, "+
		"so only the LUKS2 header was verified")

	return luksInfo(primary, secondary, inUse), ps, nil
}

// luksReadAt reads n bytes at off, within a partition of size bytes. short is
// true when the range goes past the end or the reader runs out; err is any
// other read failure.
func luksReadAt(r io.ReaderAt, size int64, off, n uint64) (buf []byte, short bool, err error) {
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

// luksAllowedSize reports whether n is a header size the spec allows.
func luksAllowedSize(n uint64) bool {
	return n >= luksMinHeaderSize && n <= luksMaxHeaderSize && n&(n-1) == 0
}

// luksCString returns b up to its first NUL.
func luksCString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}

	return string(b)
}

// luksNewHash returns the hash cryptsetup means by name, or nil when this
// check does not know it.
func luksNewHash(name string) hash.Hash {
	switch name {
	case "sha1":
		return sha1.New()
	case "sha224":
		return sha256.New224()
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	case "sha3-224":
		return sha3.New224()
	case "sha3-256":
		return sha3.New256()
	case "sha3-384":
		return sha3.New384()
	case "sha3-512":
		return sha3.New512()
	default:
		return nil
	}
}

// luksReadCopy reads and checks the header copy at off.
func luksReadCopy(r io.ReaderAt, size int64, off uint64, secondary bool) (*luksCopy, error) {
	c := &luksCopy{name: "primary", offset: off}
	magic := luksMagicPrimary

	if secondary {
		c.name, magic = "secondary", luksMagicSecondary
	}

	bin, short, err := luksReadAt(r, size, off, luksBinHeaderSize)
	if err != nil {
		return nil, err
	}

	if short {
		c.add(CodeLUKS2Truncated, "the partition (%d bytes) ends before the %d-byte binary header at offset %d", size, luksBinHeaderSize, off)

		return c, nil
	}

	if _, err = binary.Decode(bin, binary.BigEndian, &c.hdr); err != nil {
		return nil, fmt.Errorf("failed to decode LUKS2 binary header: %w", err) // cannot happen: bin has the struct's size
	}

	if !bytes.Equal(c.hdr.Magic[:], magic) {
		c.add(CodeLUKS2BadMagic, "magic at offset %d is %q, want %q", off, c.hdr.Magic[:], magic)

		return c, nil
	}

	c.magicOK = true

	switch c.hdr.Version {
	case 2:
	case 1:
		if !secondary {
			c.add(CodeLUKS2LUKS1, "version 1: this is a LUKS1 header, Talos uses LUKS2 only")

			return c, nil
		}

		fallthrough
	default:
		c.add(CodeLUKS2BadVersion, "version %d, want 2", c.hdr.Version)

		return c, nil
	}

	hdrSize := c.hdr.HdrSize
	sizeOK := luksAllowedSize(hdrSize)

	if !sizeOK {
		c.add(CodeLUKS2BadHeaderSize, "hdr_size %d is not a power of two between 16 KiB and 4 MiB", hdrSize)
	} else if secondary && hdrSize != off {
		c.add(CodeLUKS2BadHeaderSize, "hdr_size %d differs from the secondary copy's offset %d, which is the primary's hdr_size", hdrSize, off)

		sizeOK = false
	}

	if c.hdr.HdrOffset != off {
		c.add(CodeLUKS2BadHeaderOffset, "hdr_offset %d, but the copy is at offset %d", c.hdr.HdrOffset, off)
	}

	alg := luksCString(c.hdr.ChecksumAlg[:])

	h := luksNewHash(alg)
	if h == nil {
		c.add(CodeLUKS2UnknownChecksumAlgorithm, "checksum algorithm %q is not one this check can compute", alg)
	}

	if sizeOK && (size < 0 || off+hdrSize > uint64(size)) {
		c.add(CodeLUKS2Truncated, "the copy's %d bytes at offset %d go past the end of the partition (%d bytes)", hdrSize, off, size)

		sizeOK = false
	}

	// Like cryptsetup, read the JSON area and compute the checksum only
	// for a sane binary header.
	if !sizeOK || h == nil || len(c.findings) > 0 {
		return c, nil
	}

	area, short, err := luksReadAt(r, size, off, hdrSize)
	if err != nil {
		return nil, err
	}

	if short {
		c.add(CodeLUKS2Truncated, "the reader ended before the copy's %d bytes at offset %d", hdrSize, off)

		return c, nil
	}

	if !luksChecksumMatches(h, area) {
		c.add(CodeLUKS2ChecksumMismatch, "the %s checksum over its %d bytes does not match the stored one", alg, hdrSize)

		return c, nil
	}

	c.binaryOK = true

	meta, ok := luksParseJSON(c, area[luksBinHeaderSize:], hdrSize)
	if ok {
		c.meta = meta
		c.usable = true
	}

	return c, nil
}

// luksChecksumMatches hashes area, a whole header copy, with its checksum
// field taken as zero and compares the digest with the stored one.
func luksChecksumMatches(h hash.Hash, area []byte) bool {
	var zero [luksCsumLen]byte

	h.Write(area[:luksCsumOffset])
	h.Write(zero[:])
	h.Write(area[luksCsumOffset+luksCsumLen:])

	sum := h.Sum(nil)

	return bytes.Equal(sum, area[luksCsumOffset:luksCsumOffset+len(sum)])
}

// luksJSONHeader holds the parts of the JSON area CheckLUKS2 reads.
type luksJSONHeader struct {
	Keyslots map[string]json.RawMessage `json:"keyslots"`
	Segments map[string]struct {
		Type       string `json:"type"`
		Offset     string `json:"offset"`
		Encryption string `json:"encryption"`
	} `json:"segments"`
	Digests map[string]json.RawMessage `json:"digests"`
	Tokens  map[string]json.RawMessage `json:"tokens"`
	Config  *struct {
		JSONSize     string `json:"json_size"`
		KeyslotsSize string `json:"keyslots_size"`
	} `json:"config"`
}

// luksParseJSON checks the JSON area of c, whose hdr_size is hdrSize, and
// reports whether it is well formed.
func luksParseJSON(c *luksCopy, area []byte, hdrSize uint64) (luksMeta, bool) {
	var meta luksMeta

	end := bytes.IndexByte(area, 0)
	if end < 0 {
		c.add(CodeLUKS2JSONInvalid, "the JSON area has no NUL after the JSON text")

		return meta, false
	}

	text := area[:end]
	if slices.ContainsFunc(area[end:], func(b byte) bool { return b != 0 }) {
		c.add(CodeLUKS2JSONInvalid, "the JSON area has non-NUL bytes after the JSON text ends at byte %d", end)

		return meta, false
	}

	if len(text) == 0 || text[0] != '{' || text[len(text)-1] != '}' {
		c.add(CodeLUKS2JSONInvalid, "the JSON area does not hold exactly one JSON object")

		return meta, false
	}

	var top map[string]json.RawMessage
	if err := json.Unmarshal(text, &top); err != nil {
		c.add(CodeLUKS2JSONInvalid, "the JSON area does not parse: %v", err)

		return meta, false
	}

	var missing []string

	for _, section := range []string{"keyslots", "segments", "digests", "config", "tokens"} {
		raw := bytes.TrimLeft(top[section], " \t\r\n")
		if len(raw) == 0 || raw[0] != '{' {
			missing = append(missing, section)
		}
	}

	if len(missing) > 0 {
		c.add(CodeLUKS2JSONInvalid, "the JSON object lacks the section(s) %v, or they are not objects", missing)

		return meta, false
	}

	var doc luksJSONHeader
	if err := json.Unmarshal(text, &doc); err != nil {
		c.add(CodeLUKS2JSONInvalid, "a JSON field has the wrong type: %v", err)

		return meta, false
	}

	jsonSize, err := strconv.ParseUint(doc.Config.JSONSize, 10, 64)
	if err != nil {
		c.add(CodeLUKS2JSONInvalid, "config.json_size %q is not a decimal string", doc.Config.JSONSize)

		return meta, false
	}

	ok := true

	if jsonSize != hdrSize-luksBinHeaderSize {
		c.add(CodeLUKS2JSONSizeMismatch, "config.json_size is %d, but hdr_size %d leaves a %d-byte JSON area", jsonSize, hdrSize, hdrSize-luksBinHeaderSize)

		ok = false
	}

	if doc.Config.KeyslotsSize != "" {
		if meta.keyslotsSize, err = strconv.ParseUint(doc.Config.KeyslotsSize, 10, 64); err != nil {
			c.add(CodeLUKS2JSONInvalid, "config.keyslots_size %q is not a decimal string", doc.Config.KeyslotsSize)

			ok = false
		}
	}

	meta.keyslots = len(doc.Keyslots)
	meta.segments = len(doc.Segments)

	// Segment 0, or the lowest-numbered one: the data segment.
	first := ""
	firstN := uint64(0)

	for id := range doc.Segments {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			c.add(CodeLUKS2JSONInvalid, "segment id %q is not a number", id)

			ok = false

			continue
		}

		if first == "" || n < firstN {
			first, firstN = id, n
		}
	}

	if first != "" {
		seg := doc.Segments[first]
		meta.cipher = seg.Encryption

		if meta.dataOffset, err = strconv.ParseUint(seg.Offset, 10, 64); err != nil {
			c.add(CodeLUKS2JSONInvalid, "segment %s offset %q is not a decimal string", first, seg.Offset)

			ok = false
		}
	}

	return meta, ok
}

// luksFindSecondary finds the secondary copy the way cryptsetup does: after
// a sane primary, at the primary's hdr_size; otherwise at the first allowed
// offset holding a sane secondary. When none is sane it returns the copy at
// the primary's hdr_size, for its findings, or nil.
func luksFindSecondary(r io.ReaderAt, size int64, primary *luksCopy) (*luksCopy, error) {
	if primary.binaryOK {
		return luksReadCopy(r, size, primary.hdr.HdrSize, true)
	}

	var hint *luksCopy

	for off := uint64(luksMinHeaderSize); off <= luksMaxHeaderSize; off <<= 1 {
		c, err := luksReadCopy(r, size, off, true)
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

// luksPrimaryIsLUKS1 reports whether cryptsetup takes the device for LUKS1:
// it decides by the primary's magic and version alone.
func luksPrimaryIsLUKS1(primary *luksCopy) bool {
	return primary.magicOK && primary.hdr.Version == 1
}

// luksReportCopies adds each copy's findings and verdict, and compares the
// copies when both are usable.
func luksReportCopies(ps *problems, primary, secondary *luksCopy) {
	secondaryUsable := secondary != nil && secondary.usable && !luksPrimaryIsLUKS1(primary)

	add := func(c *luksCopy, otherUsable bool) {
		sev := SeverityError
		if otherUsable {
			sev = SeverityWarning
		}

		for _, f := range c.findings {
			ps.add(sev, f.code, "%s", f.msg)
		}
	}

	add(primary, secondaryUsable)

	if !primary.usable {
		switch {
		case luksPrimaryIsLUKS1(primary):
			ps.errorf(CodeLUKS2PrimaryUnusable, "cryptsetup takes a version-1 primary for a LUKS1 header and never "+
				"reads the LUKS2 secondary copy: it cannot open the volume as LUKS2")
		case secondaryUsable:
			ps.warnf(CodeLUKS2PrimaryUnusable, "the primary header copy is unusable; cryptsetup falls back to the "+
				"secondary copy at offset %d and rewrites the primary from it on the next open", secondary.offset)
		default:
			ps.errorf(CodeLUKS2PrimaryUnusable, "the primary header copy is unusable and so is the secondary: "+
				"cryptsetup cannot open the volume and Talos cannot unlock STATE")
		}
	}

	if secondary == nil {
		sev := SeverityError
		if primary.usable {
			sev = SeverityWarning
		}

		ps.add(sev, CodeLUKS2SecondaryUnusable, "no secondary header copy found at any offset from 16 KiB to 4 MiB")

		return
	}

	add(secondary, primary.usable)

	if !secondary.usable {
		if primary.usable {
			ps.warnf(CodeLUKS2SecondaryUnusable, "the secondary header copy at offset %d is unusable; cryptsetup "+
				"uses the primary and rewrites the secondary from it on the next open", secondary.offset)
		} else {
			ps.errorf(CodeLUKS2SecondaryUnusable, "the secondary header copy at offset %d is unusable and so is the "+
				"primary: cryptsetup cannot open the volume and Talos cannot unlock STATE", secondary.offset)
		}

		return
	}

	if !primary.usable {
		return
	}

	s1, s2 := primary.hdr.SeqID, secondary.hdr.SeqID
	if s1 != s2 {
		newer, older := "primary", "secondary"
		if s2 > s1 {
			newer, older = older, newer
		}

		ps.warnf(CodeLUKS2SeqIDMismatch, "seqid is %d in the primary copy and %d in the secondary: the %s copy is newer; "+
			"cryptsetup uses it and rewrites the %s on the next open, as after an interrupted header update", s1, s2, newer, older)
	}

	if u1, u2 := luksCString(primary.hdr.UUID[:]), luksCString(secondary.hdr.UUID[:]); u1 != u2 {
		ps.warnf(CodeLUKS2UUIDMismatch, "UUID is %q in the primary copy and %q in the secondary", u1, u2)
	}

	if l1, l2 := luksCString(primary.hdr.Label[:]), luksCString(secondary.hdr.Label[:]); l1 != l2 {
		ps.warnf(CodeLUKS2LabelMismatch, "label is %q in the primary copy and %q in the secondary", l1, l2)
	}
}

// luksCopyInUse returns the copy cryptsetup would use, or nil.
func luksCopyInUse(primary, secondary *luksCopy) *luksCopy {
	switch {
	case luksPrimaryIsLUKS1(primary):
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

// luksCheckContent checks what the header in use describes.
func luksCheckContent(ps *problems, c *luksCopy, size int64) {
	if c.meta.keyslots == 0 {
		ps.errorf(CodeLUKS2NoKeyslots, "the %s header copy in use has no keyslot: no key can unlock the volume", c.name)
	}

	if c.meta.segments == 0 {
		ps.errorf(CodeLUKS2NoSegments, "the %s header copy in use describes no data segment", c.name)
	}

	// hdr_size <= 4 MiB and keyslotsSize is a uint64: compare without
	// overflowing.
	metadata := 2 * c.hdr.HdrSize
	if size < 0 || c.meta.keyslotsSize > ^uint64(0)-metadata || metadata+c.meta.keyslotsSize > uint64(size) {
		ps.errorf(CodeLUKS2DeviceTooSmall, "both header copies and the %d-byte keyslot area need more than the "+
			"partition's %d bytes", c.meta.keyslotsSize, size)
	} else if c.meta.segments > 0 && c.meta.dataOffset > uint64(size) {
		ps.errorf(CodeLUKS2DeviceTooSmall, "the data segment starts at %d, beyond the partition's %d bytes", c.meta.dataOffset, size)
	}
}

// luksBlkidMisses returns why go-blockdevice's blkid would not call the
// partition LUKS, or "" when it would: it needs at least its minimum probe
// size, and magic "LUKS\xba\xbe" and version 2 in the first 512 bytes.
func luksBlkidMisses(r io.ReaderAt, size int64) (string, error) {
	if size < luksBlkidMinProbeSize {
		return fmt.Sprintf("it refuses to probe %d bytes, less than %d", size, luksBlkidMinProbeSize), nil
	}

	buf, short, err := luksReadAt(r, size, 0, luksBlkidProbeLen)
	if err != nil {
		return "", err
	}

	switch {
	case short:
		return "the first 512 bytes cannot be read", nil
	case !bytes.HasPrefix(buf, luksMagicPrimary):
		return fmt.Sprintf("magic %q at offset 0, not %q", buf[:len(luksMagicPrimary)], luksMagicPrimary), nil
	case binary.BigEndian.Uint16(buf[6:8]) != 2:
		return fmt.Sprintf("version %d at offset 6, not 2", binary.BigEndian.Uint16(buf[6:8])), nil
	default:
		return "", nil
	}
}

// luksTrimJSON trims a JSON area as go-blockdevice does before comparing
// copies: white space first, then NULs at both ends.
func luksTrimJSON(b []byte) []byte {
	return bytes.Trim(bytes.TrimSpace(b), "\x00")
}

// luksTalosRejects replays the structural part of go-blockdevice's LUKS2
// header validation (encryption/luks/header.go, v2.0.32), which Talos runs
// before `cryptsetup luksOpen --header`, and returns why it would refuse, or
// "". primary is the binary header at offset 0, whose magic blkid accepted.
//
// Unlike cryptsetup it trusts the primary's hdr_size to find the secondary,
// and it compares copies by seqid without checking their checksums. Its
// policy on keyslot KDFs and ciphers is left out: it depends on the Talos
// release and on how the volume was made.
func luksTalosRejects(r io.ReaderAt, size int64, primary *luksDiskHeader) (string, error) {
	h := primary.HdrSize

	switch {
	case h < luksBinHeaderSize:
		return fmt.Sprintf("the primary's hdr_size %d is below the 4096-byte binary header", h), nil
	case h > luksMaxHeaderSize:
		return fmt.Sprintf("the primary's hdr_size %d is beyond 4 MiB; go-blockdevice would try to read that much", h), nil
	}

	both, short, err := luksReadAt(r, size, 0, 2*h)
	if err != nil {
		return "", err
	}

	if short {
		return fmt.Sprintf("two copies of the primary's hdr_size %d do not fit in the partition's %d bytes", h, size), nil
	}

	json1 := luksTrimJSON(both[luksBinHeaderSize:h])
	json2 := luksTrimJSON(both[h+luksBinHeaderSize:])

	var offsets struct {
		Segments map[string]struct {
			Offset string `json:"offset"`
		} `json:"segments"`
	}

	if err = json.Unmarshal(json1, &offsets); err != nil {
		if err = json.Unmarshal(json2, &offsets); err != nil {
			return fmt.Sprintf("neither JSON area, read at the primary's hdr_size %d, parses: %v", h, err), nil
		}
	}

	dataOffset, err := strconv.Atoi(offsets.Segments["0"].Offset)

	switch {
	case err != nil:
		return fmt.Sprintf("segment 0's offset %q is not a number", offsets.Segments["0"].Offset), nil
	case dataOffset <= 0:
		return fmt.Sprintf("segment 0's offset is %d", dataOffset), nil
	case int64(dataOffset) > size:
		return fmt.Sprintf("segment 0 starts at %d, beyond the partition's %d bytes", dataOffset, size), nil
	}

	seq1 := primary.SeqID
	seq2 := binary.BigEndian.Uint64(both[h+16 : h+24])

	if seq1 == seq2 && !bytes.Equal(json1, json2) {
		return fmt.Sprintf("both copies have seqid %d but their JSON areas differ", seq1), nil
	}

	selected, version, name := json1, primary.Version, "primary"
	if seq1 < seq2 {
		selected, version, name = json2, binary.BigEndian.Uint16(both[h+6:h+8]), "secondary"
	}

	var doc struct {
		Keyslots map[string]json.RawMessage `json:"keyslots"`
		Segments map[string]json.RawMessage `json:"segments"`
	}

	if err = json.Unmarshal(selected, &doc); err != nil {
		return fmt.Sprintf("the JSON area of the %s copy, the one with the higher seqid, does not parse: %v", name, err), nil
	}

	if version != 2 {
		return fmt.Sprintf("the %s copy, the one with the higher seqid, has version %d", name, version), nil
	}

	return "", nil
}

// luksInfo describes the copy in use, or failing that one with a LUKS2 magic
// and version.
func luksInfo(primary, secondary, inUse *luksCopy) *LUKS2Info {
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

	return &LUKS2Info{
		UUID:              luksCString(c.hdr.UUID[:]),
		Label:             luksCString(c.hdr.Label[:]),
		HeaderSize:        c.hdr.HdrSize,
		SeqID:             c.hdr.SeqID,
		ChecksumAlgorithm: luksCString(c.hdr.ChecksumAlg[:]),
		Keyslots:          c.meta.keyslots,
		Segments:          c.meta.segments,
		Cipher:            c.meta.cipher,
		DataOffset:        c.meta.dataOffset,
	}
}
