package xfs

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
)

// sbField is where a field of SuperBlock sits in the encoded superblock.
type sbField struct {
	name   string // Go field name
	tag    string // xfs_db name
	off    int
	size   int
	goOff  int // unsafe offset in the Go struct
	fieldT reflect.Type
}

// superBlockFields walks SuperBlock as encoding/binary lays it out.
func superBlockFields() []sbField {
	typ := reflect.TypeFor[SuperBlock]()
	fields := make([]sbField, 0, typ.NumField())
	off := 0

	for i := range typ.NumField() {
		sf := typ.Field(i)
		size := binary.Size(reflect.New(sf.Type).Elem().Interface())
		fields = append(fields, sbField{name: sf.Name, tag: sf.Tag.Get("xfs"), off: off, size: size, goOff: int(sf.Offset), fieldT: sf.Type})
		off += size
	}

	return fields
}

func fieldByName(t testing.TB, name string) sbField {
	t.Helper()

	for _, f := range superBlockFields() {
		if f.name == name || f.tag == name {
			return f
		}
	}

	t.Fatalf("no superblock field %q", name)

	return sbField{}
}

// TestSuperBlockLayout checks SuperBlock against struct xfs_dsb: its size and
// every offset as the C header gives them, then against a real superblock
// as xfs_db reads it, and finally with every field xfs_db can write set to
// a distinct value.
func TestSuperBlockLayout(t *testing.T) {
	// Offsets of struct xfs_dsb in fs/xfs/libxfs/xfs_format.h.
	want := map[string]int{
		"magicnum": 0x00, "blocksize": 0x04, "dblocks": 0x08, "rblocks": 0x10, "rextents": 0x18,
		"uuid": 0x20, "logstart": 0x30, "rootino": 0x38, "rbmino": 0x40, "rsumino": 0x48,
		"rextsize": 0x50, "agblocks": 0x54, "agcount": 0x58, "rbmblocks": 0x5c, "logblocks": 0x60,
		"versionnum": 0x64, "sectsize": 0x66, "inodesize": 0x68, "inopblock": 0x6a, "fname": 0x6c,
		"blocklog": 0x78, "sectlog": 0x79, "inodelog": 0x7a, "inopblog": 0x7b, "agblklog": 0x7c,
		"rextslog": 0x7d, "inprogress": 0x7e, "imax_pct": 0x7f, "icount": 0x80, "ifree": 0x88,
		"fdblocks": 0x90, "frextents": 0x98, "uquotino": 0xa0, "gquotino": 0xa8, "qflags": 0xb0,
		"flags": 0xb2, "shared_vn": 0xb3, "inoalignmt": 0xb4, "unit": 0xb8, "width": 0xbc,
		"dirblklog": 0xc0, "logsectlog": 0xc1, "logsectsize": 0xc2, "logsunit": 0xc4,
		"features2": 0xc8, "bad_features2": 0xcc, "features_compat": 0xd0, "features_ro_compat": 0xd4,
		"features_incompat": 0xd8, "features_log_incompat": 0xdc, "crc": 0xe0, "spino_align": 0xe4,
		"pquotino": 0xe8, "lsn": 0xf0, "meta_uuid": 0xf8, "metadirino": 0x108, "rgcount": 0x110,
		"rgextents": 0x114, "rgblklog": 0x118, "pad": 0x119, "rtstart": 0x120, "rtreserved": 0x128,
	}

	if got := binary.Size(SuperBlock{}); got != superBlockSize {
		t.Errorf("binary.Size(SuperBlock) = %#x, want %#x", got, superBlockSize)
	}

	if got := unsafe.Sizeof(SuperBlock{}); got != superBlockSize {
		t.Errorf("unsafe.Sizeof(SuperBlock) = %#x, want %#x", got, superBlockSize)
	}

	layout := superBlockFields()
	if len(layout) != len(want) {
		t.Errorf("SuperBlock has %d fields, struct xfs_dsb %d", len(layout), len(want))
	}

	for _, f := range layout {
		off, ok := want[f.tag]
		if !ok {
			t.Errorf("field %s has xfs tag %q, not in struct xfs_dsb", f.name, f.tag)

			continue
		}

		if f.off != off || f.goOff != off {
			t.Errorf("%s (%s): encoded at %#x, Go offset %#x, want %#x", f.name, f.tag, f.off, f.goOff, off)
		}
	}

	if crc := fieldByName(t, "crc"); crc.off != offCRC {
		t.Errorf("offCRC = %#x, field at %#x", offCRC, crc.off)
	}

	for _, sectorSize := range []uint{512, 4096} {
		t.Run(fmt.Sprintf("xfs_db-print-%d", sectorSize), func(t *testing.T) {
			path := copyPristine(t, sectorSize)
			before := fixture.HashFile(t, path)
			printed := dbPrint(t, path, 0)

			sb := readSuperBlock(t, path, 0)
			compared := compareWithDB(t, &sb, printed)

			if compared < 50 {
				t.Errorf("compared only %d fields with xfs_db", compared)
			}

			if !strings.HasSuffix(printed["crc"], " (correct)") {
				t.Errorf("xfs_db says crc = %s", printed["crc"])
			}

			sector := make([]byte, sectorSize)
			if _, err := pristine(t, sectorSize).ReadAt(sector, 0); err != nil {
				t.Fatal(err)
			}

			if got := checksum(sector); got != sb.CRC {
				t.Errorf("checksum = %#08x, sb_crc %#08x", got, sb.CRC)
			}

			if after := fixture.HashFile(t, path); after != before {
				t.Fatal("xfs_db -r changed the image")
			}
		})
	}

	t.Run("xfs_db-write", func(t *testing.T) {
		path := copyPristine(t, 512)
		known := dbPrint(t, path, 0)

		// Give every field xfs_db knows a distinct value, in one run of
		// xfs_db in expert mode (-d: no verifier, no CRC update).
		args := []string{"-x", "-f", "-c", "sb 0"}
		wantVals := map[string]string{}

		for i, f := range layout {
			if _, ok := known[f.tag]; !ok || f.tag == "crc" {
				continue
			}

			var val string

			switch f.fieldT.Kind() {
			case reflect.Array:
				if f.tag == "fname" {
					val = fmt.Sprintf("%q", fmt.Sprintf("F%02dabcdefghi", i)[:12])
				} else {
					val = fmt.Sprintf("%02x%02x%02x%02x-0506-0708-090a-0b0c0d0e0f%02x", i, i+1, i+2, i+3, i)
				}
			default:
				// Distinct per field and filling all its bytes; xfs_db
				// parses signed, so 64-bit values stay under 2^63.
				top := 8*f.size - 1
				if f.size == 8 {
					top--
				}

				v := uint64(0x0102030405060708)*uint64(i+1)&(1<<top-1) | 1<<top
				val = strconv.FormatUint(v, 10)
			}

			wantVals[f.tag] = val
			args = append(args, "-c", fmt.Sprintf("write -d %s %s", f.tag, val))
		}

		restBefore := hashFrom(t, path, MinSectorSize)

		if out, err := exec.Command("xfs_db", append(args, path)...).CombinedOutput(); err != nil {
			t.Fatalf("xfs_db write: %v: %s", err, out)
		}

		if hashFrom(t, path, MinSectorSize) != restBefore {
			t.Fatal("xfs_db wrote beyond the primary superblock sector")
		}

		sb := readSuperBlock(t, path, 0)
		v := reflect.ValueOf(sb)

		for _, f := range layout {
			val, ok := wantVals[f.tag]
			if !ok {
				continue
			}

			fv := v.FieldByName(f.name)

			var got string

			switch {
			case f.tag == "fname":
				got = fmt.Sprintf("%q", labelOf(sb.FName))
			case f.fieldT.Kind() == reflect.Array:
				got = formatUUID(fv.Interface().([16]byte))
			default:
				got = strconv.FormatUint(fv.Uint(), 10)
			}

			if got != val {
				t.Errorf("%s: xfs_db wrote %s, decoded %s", f.tag, val, got)
			}
		}

		if len(wantVals) < 50 {
			t.Errorf("wrote only %d fields", len(wantVals))
		}
	})
}

// readSuperBlock decodes the superblock of AG ag from a pristine-geometry image.
func readSuperBlock(t *testing.T, path string, ag int) SuperBlock {
	t.Helper()

	e := openEditor(t, path)
	defer e.close()

	buf := make([]byte, MinSectorSize)
	if _, err := e.f.ReadAt(buf, e.sbOffset(ag)); err != nil {
		t.Fatal(err)
	}

	return Decode(buf)
}

// compareWithDB compares every field of sb that xfs_db printed and
// returns how many it compared.
func compareWithDB(t *testing.T, sb *SuperBlock, printed map[string]string) int {
	t.Helper()

	v := reflect.ValueOf(*sb)
	compared := 0

	for _, f := range superBlockFields() {
		s, ok := printed[f.tag]
		if !ok {
			continue
		}

		fv := v.FieldByName(f.name)

		switch {
		case f.tag == "fname":
			// xfs_db prints the 12 bytes C-escaped: "STATE\000\000...".
			want := strings.Trim(strings.ReplaceAll(s, `\000`, "\x00"), `"`)
			if got := string(sb.FName[:]); got != want {
				t.Errorf("fname: xfs_db %s, decoded %q", s, got)
			}
		case f.fieldT.Kind() == reflect.Array && f.size == 16:
			if got := formatUUID(fv.Interface().([16]byte)); got != s {
				t.Errorf("%s: xfs_db %s, decoded %s", f.tag, s, got)
			}
		case f.tag == "crc":
			// xfs_db prints the four bytes of this little-endian field
			// as a big-endian number, then whether they are right.
			hexCRC, _, _ := strings.Cut(s, " ")

			n, err := strconv.ParseUint(hexCRC, 0, 32)
			if err != nil || bits.ReverseBytes32(uint32(n)) != sb.CRC {
				t.Errorf("crc: xfs_db %s, decoded %#08x", s, sb.CRC)
			}
		default:
			var want uint64

			if s == "null" {
				want = 1<<(8*f.size) - 1
				if f.size == 8 {
					want = ^uint64(0)
				}
			} else {
				n, err := strconv.ParseUint(s, 0, 64)
				if err != nil {
					t.Errorf("%s: cannot parse xfs_db value %q", f.tag, s)

					continue
				}

				want = n
			}

			if got := fv.Uint(); got != want {
				t.Errorf("%s: xfs_db %s, decoded %d (%#x)", f.tag, s, got, got)
			}
		}

		compared++
	}

	return compared
}

// hashFrom is fixture.HashFile of the bytes from off on.
func hashFrom(t testing.TB, path string, off int64) string {
	t.Helper()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, 1<<62)); err != nil {
		t.Fatal(err)
	}

	return hex.EncodeToString(h.Sum(nil))
}
