package luks2

import (
	"bytes"
	"crypto/sha1" // LUKS2 allows sha1 as the header checksum; it is not used for security here.
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"hash"
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
	// BinHeaderSize is the size of the binary header of each copy.
	BinHeaderSize = 4096
	// MinHeaderSize and MaxHeaderSize bound hdr_size. The spec allows
	// exactly the powers of two between them, and a secondary copy is only
	// ever found at one of these offsets.
	MinHeaderSize = 16 << 10
	// MaxHeaderSize is the largest hdr_size; see MinHeaderSize.
	MaxHeaderSize = 4 << 20

	// csumOffset is where the 64-byte checksum field starts.
	csumOffset = 0x1C0
	// csumLen is the size of the checksum field; digests shorter than it
	// fill its start.
	csumLen = 64
)

// Magic values that open the two header copies.
const (
	// MagicPrimary opens the primary copy, at offset 0.
	MagicPrimary = "LUKS\xba\xbe"
	// MagicSecondary opens the secondary copy, at offset hdr_size.
	MagicSecondary = "SKUL\xba\xbe"
)

// BinaryHeader is the binary header of one LUKS2 header copy, in disk order,
// big-endian. layout_test.go checks each field's offset against the
// specification. Fields are exported so encoding/binary can fill them.
type BinaryHeader struct {
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
	Csum        [csumLen]byte // 0x1C0
	_           [BinHeaderSize - csumOffset - csumLen]byte
}

// DecodeBinaryHeader decodes the binary header at the start of b, which must
// hold at least BinHeaderSize bytes.
func DecodeBinaryHeader(b []byte) BinaryHeader {
	var h BinaryHeader

	// Cannot fail: b holds the whole struct, whose fields are all of fixed
	// size.
	_, _ = binary.Decode(b[:BinHeaderSize], binary.BigEndian, &h)

	return h
}

// jsonHeader holds the parts of the JSON area Check reads: the sections
// every header needs, and the sizes and data segment it checks.
type jsonHeader struct {
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

// jsonSections are the top-level objects every JSON area must hold.
var jsonSections = []string{"keyslots", "segments", "digests", "config", "tokens"}

// allowedSize reports whether n is a header size the spec allows.
func allowedSize(n uint64) bool {
	return n >= MinHeaderSize && n <= MaxHeaderSize && n&(n-1) == 0
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}

	return string(b)
}

// newHash returns the hash cryptsetup means by name, or nil when this
// package does not know it.
func newHash(name string) hash.Hash {
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

// checksumMatches hashes area, a whole header copy, with its checksum field
// taken as zero and compares the digest with the stored one.
func checksumMatches(h hash.Hash, area []byte) bool {
	var zero [csumLen]byte

	h.Write(area[:csumOffset])
	h.Write(zero[:])
	h.Write(area[csumOffset+csumLen:])

	sum := h.Sum(nil)

	return bytes.Equal(sum, area[csumOffset:csumOffset+len(sum)])
}
