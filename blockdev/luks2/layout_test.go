package luks2

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// TestHeaderLayout checks BinaryHeader against struct luks2_hdr_disk: each
// field's offset and size, the total size, and the decoding.
func TestHeaderLayout(t *testing.T) {
	var h BinaryHeader

	// Offsets from the LUKS2 on-disk format specification (struct
	// luks2_hdr_disk). Every field is naturally aligned there, so Go's
	// layout and encoding/binary's packed layout agree with it.
	for _, f := range []struct {
		name           string
		got, want      uintptr
		size, wantSize uintptr
	}{
		{"magic", unsafe.Offsetof(h.Magic), 0x000, unsafe.Sizeof(h.Magic), 6},
		{"version", unsafe.Offsetof(h.Version), 0x006, unsafe.Sizeof(h.Version), 2},
		{"hdr_size", unsafe.Offsetof(h.HdrSize), 0x008, unsafe.Sizeof(h.HdrSize), 8},
		{"seqid", unsafe.Offsetof(h.SeqID), 0x010, unsafe.Sizeof(h.SeqID), 8},
		{"label", unsafe.Offsetof(h.Label), 0x018, unsafe.Sizeof(h.Label), 48},
		{"checksum_alg", unsafe.Offsetof(h.ChecksumAlg), 0x048, unsafe.Sizeof(h.ChecksumAlg), 32},
		{"salt", unsafe.Offsetof(h.Salt), 0x068, unsafe.Sizeof(h.Salt), 64},
		{"uuid", unsafe.Offsetof(h.UUID), 0x0A8, unsafe.Sizeof(h.UUID), 40},
		{"subsystem", unsafe.Offsetof(h.Subsystem), 0x0D0, unsafe.Sizeof(h.Subsystem), 48},
		{"hdr_offset", unsafe.Offsetof(h.HdrOffset), 0x100, unsafe.Sizeof(h.HdrOffset), 8},
		{"csum", unsafe.Offsetof(h.Csum), csumOffset, unsafe.Sizeof(h.Csum), csumLen},
	} {
		if f.got != f.want || f.size != f.wantSize {
			t.Errorf("%s at %#x (%d bytes), want %#x (%d bytes)", f.name, f.got, f.size, f.want, f.wantSize)
		}
	}

	if got := binary.Size(h); got != BinHeaderSize {
		t.Errorf("encoded binary header is %d bytes, want %d", got, BinHeaderSize)
	}

	if got := unsafe.Sizeof(h); got != BinHeaderSize {
		t.Errorf("binary header struct is %d bytes, want %d", got, BinHeaderSize)
	}

	// DecodeBinaryHeader must put each field where the struct says.
	buf := make([]byte, BinHeaderSize)
	buf[0x006], buf[0x007] = 0x12, 0x34
	buf[0x00F] = 0x56
	buf[0x017] = 0x78
	buf[0x0A8] = 'u'
	buf[0x107] = 0x9A
	buf[0x1C0] = 0xBC

	h = DecodeBinaryHeader(buf)

	if h.Version != 0x1234 || h.HdrSize != 0x56 || h.SeqID != 0x78 || h.UUID[0] != 'u' || h.HdrOffset != 0x9A || h.Csum[0] != 0xBC {
		t.Errorf("decoded %+v from known offsets", h)
	}
}
