package blockdev

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// xfsImageSize is the size of Talos's STATE partition.
const xfsImageSize = 100 * diskimage.MiB

// hashFile returns the hex SHA-256 of the file at path. Tests take it before
// and after running tools so that a tool that writes is caught.
func hashFile(t testing.TB, path string) string {
	t.Helper()

	sum, err := diskimage.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}

	return sum
}

// xfsHashFrom is hashFile of the bytes from off on.
func xfsHashFrom(t testing.TB, path string, off int64) string {
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

// xfsSparseImage is a disk image held in memory as its non-zero 64 KiB
// chunks: a 100 MiB filesystem fresh from mkfs.xfs takes a few hundred KiB.
type xfsSparseImage struct {
	size   int64
	chunks map[int64][]byte // by offset, each xfsChunk bytes
}

const xfsChunk = 64 << 10

func xfsLoadSparse(path string) (*xfsSparseImage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	img := &xfsSparseImage{size: int64(len(data)), chunks: map[int64][]byte{}}
	zero := make([]byte, xfsChunk)

	for off := 0; off < len(data); off += xfsChunk {
		chunk := data[off:min(off+xfsChunk, len(data))]
		if !bytes.Equal(chunk, zero[:len(chunk)]) {
			img.chunks[int64(off)] = bytes.Clone(chunk)
		}
	}

	return img, nil
}

// ReadAt serves the image like a file of img.size bytes.
func (img *xfsSparseImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}

	if off >= img.size {
		return 0, io.EOF
	}

	n := int(min(int64(len(p)), img.size-off))
	clear(p[:n])

	for done := 0; done < n; {
		pos := off + int64(done)
		base := pos - pos%xfsChunk
		end := min(n, done+int(base+xfsChunk-pos))

		if chunk, ok := img.chunks[base]; ok {
			copy(p[done:end], chunk[pos-base:])
		}

		done = end
	}

	if n < len(p) {
		return n, io.EOF
	}

	return n, nil
}

// writeTo writes the image as a sparse file at path.
func (img *xfsSparseImage) writeTo(t testing.TB, path string) {
	t.Helper()

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if err := f.Truncate(img.size); err != nil {
		t.Fatal(err)
	}

	for off, chunk := range img.chunks {
		if _, err := f.WriteAt(chunk, off); err != nil {
			t.Fatal(err)
		}
	}
}

// xfsPristine returns the 100 MiB STATE filesystem mkfs.xfs makes with the
// given sector size, formatted once per test run and kept in memory, so no
// directory outlives the run.
func xfsPristine(t testing.TB, sectorSize uint) *xfsSparseImage {
	t.Helper()

	testenv.Tools(t, testenv.DiskTools...)

	xfsPristineMu.Lock()
	entry, ok := xfsPristines[sectorSize]
	if !ok {
		entry = &xfsPristineEntry{}
		xfsPristines[sectorSize] = entry
	}
	xfsPristineMu.Unlock()

	entry.once.Do(func() {
		dir, err := os.MkdirTemp("", "raid-settle-xfs-")
		if err != nil {
			entry.err = err

			return
		}
		defer os.RemoveAll(dir)

		path := filepath.Join(dir, "state.img")
		if entry.err = diskimage.Format(path, "STATE", xfsImageSize, sectorSize, diskimage.XFS); entry.err != nil {
			return
		}

		entry.img, entry.err = xfsLoadSparse(path)
	})

	if entry.err != nil {
		t.Fatalf("failed to make the %d-byte-sector XFS fixture: %v", sectorSize, entry.err)
	}

	return entry.img
}

type xfsPristineEntry struct {
	once sync.Once
	img  *xfsSparseImage
	err  error
}

var (
	xfsPristineMu sync.Mutex
	xfsPristines  = map[uint]*xfsPristineEntry{}
)

// xfsCopy writes a fresh copy of the pristine image into the test's
// temporary directory and returns its path.
func xfsCopy(t testing.TB, sectorSize uint) string {
	t.Helper()

	path := filepath.Join(t.TempDir(), fmt.Sprintf("state-%d.img", sectorSize))
	xfsPristine(t, sectorSize).writeTo(t, path)

	return path
}

// xfsCheckFile runs CheckXFS on the file at path as a partition of size
// bytes, failing the test on an I/O error or if the file changed.
func xfsCheckFile(t *testing.T, path string, size int64) (*XFSInfo, []Problem) {
	t.Helper()

	before := hashFile(t, path)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	info, ps, err := CheckXFS(f, size)
	if err != nil {
		t.Fatalf("CheckXFS: unexpected I/O error: %v", err)
	}

	if after := hashFile(t, path); after != before {
		t.Fatalf("CheckXFS changed %s", path)
	}

	return info, ps
}

// xfsDBPrint runs xfs_db -r 'sb N' 'print' and returns its fields.
func xfsDBPrint(t *testing.T, path string, ag int) map[string]string {
	t.Helper()

	out, err := exec.Command("xfs_db", "-r", "-c", fmt.Sprintf("sb %d", ag), "-c", "print", path).CombinedOutput()
	if err != nil {
		t.Fatalf("xfs_db print: %v: %s", err, out)
	}

	fields := map[string]string{}

	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}

	if len(fields) < 40 {
		t.Fatalf("xfs_db print gave %d fields: %s", len(fields), out)
	}

	return fields
}

// xfsField is where a field of xfsDSB sits in the encoded superblock.
type xfsField struct {
	name   string // Go field name
	tag    string // xfs_db name
	off    int
	size   int
	goOff  int // unsafe offset in the Go struct
	fieldT reflect.Type
}

// xfsLayout walks xfsDSB as encoding/binary lays it out.
func xfsLayout() []xfsField {
	typ := reflect.TypeFor[xfsDSB]()
	fields := make([]xfsField, 0, typ.NumField())
	off := 0

	for i := range typ.NumField() {
		sf := typ.Field(i)
		size := binary.Size(reflect.New(sf.Type).Elem().Interface())
		fields = append(fields, xfsField{name: sf.Name, tag: sf.Tag.Get("xfs"), off: off, size: size, goOff: int(sf.Offset), fieldT: sf.Type})
		off += size
	}

	return fields
}

func xfsFieldByName(t testing.TB, name string) xfsField {
	t.Helper()

	for _, f := range xfsLayout() {
		if f.name == name || f.tag == name {
			return f
		}
	}

	t.Fatalf("no superblock field %q", name)

	return xfsField{}
}

// TestXFSSuperblockLayout checks xfsDSB against struct xfs_dsb: its size and
// every offset as the C header gives them, then against a real superblock
// as xfs_db reads it, and finally with every field xfs_db can write set to
// a distinct value.
func TestXFSSuperblockLayout(t *testing.T) {
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

	if got := binary.Size(xfsDSB{}); got != xfsSBSize {
		t.Errorf("binary.Size(xfsDSB) = %#x, want %#x", got, xfsSBSize)
	}

	if got := unsafe.Sizeof(xfsDSB{}); got != xfsSBSize {
		t.Errorf("unsafe.Sizeof(xfsDSB) = %#x, want %#x", got, xfsSBSize)
	}

	layout := xfsLayout()
	if len(layout) != len(want) {
		t.Errorf("xfsDSB has %d fields, struct xfs_dsb %d", len(layout), len(want))
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

	if crc := xfsFieldByName(t, "crc"); crc.off != xfsOffCRC {
		t.Errorf("xfsOffCRC = %#x, field at %#x", xfsOffCRC, crc.off)
	}

	for _, sectorSize := range []uint{512, 4096} {
		t.Run(fmt.Sprintf("xfs_db-print-%d", sectorSize), func(t *testing.T) {
			path := xfsCopy(t, sectorSize)
			before := hashFile(t, path)
			printed := xfsDBPrint(t, path, 0)

			sb := xfsReadSB(t, path, 0)
			compared := xfsCompareWithDB(t, &sb, printed)

			if compared < 50 {
				t.Errorf("compared only %d fields with xfs_db", compared)
			}

			if !strings.HasSuffix(printed["crc"], " (correct)") {
				t.Errorf("xfs_db says crc = %s", printed["crc"])
			}

			sector := make([]byte, sectorSize)
			if _, err := xfsPristine(t, sectorSize).ReadAt(sector, 0); err != nil {
				t.Fatal(err)
			}

			if got := xfsChecksum(sector); got != sb.CRC {
				t.Errorf("xfsChecksum = %#08x, sb_crc %#08x", got, sb.CRC)
			}

			if after := hashFile(t, path); after != before {
				t.Fatal("xfs_db -r changed the image")
			}
		})
	}

	t.Run("xfs_db-write", func(t *testing.T) {
		path := xfsCopy(t, 512)
		known := xfsDBPrint(t, path, 0)

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

		restBefore := xfsHashFrom(t, path, xfsMinSectorSize)

		if out, err := exec.Command("xfs_db", append(args, path)...).CombinedOutput(); err != nil {
			t.Fatalf("xfs_db write: %v: %s", err, out)
		}

		if xfsHashFrom(t, path, xfsMinSectorSize) != restBefore {
			t.Fatal("xfs_db wrote beyond the primary superblock sector")
		}

		sb := xfsReadSB(t, path, 0)
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
				got = fmt.Sprintf("%q", xfsLabel(sb.FName))
			case f.fieldT.Kind() == reflect.Array:
				got = xfsFormatUUID(fv.Interface().([16]byte))
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

// xfsReadSB decodes the superblock of AG ag from a pristine-geometry image.
func xfsReadSB(t *testing.T, path string, ag int) xfsDSB {
	t.Helper()

	e := xfsOpenEditor(t, path)
	defer e.close()

	buf := make([]byte, xfsMinSectorSize)
	if _, err := e.f.ReadAt(buf, e.sbOffset(ag)); err != nil {
		t.Fatal(err)
	}

	return xfsDecode(buf)
}

// xfsCompareWithDB compares every field of sb that xfs_db printed and
// returns how many it compared.
func xfsCompareWithDB(t *testing.T, sb *xfsDSB, printed map[string]string) int {
	t.Helper()

	v := reflect.ValueOf(*sb)
	compared := 0

	for _, f := range xfsLayout() {
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
			if got := xfsFormatUUID(fv.Interface().([16]byte)); got != s {
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

// TestCheckXFSHealthy checks fresh mkfs.xfs images: no problems, and the
// info agrees with xfs_db.
func TestCheckXFSHealthy(t *testing.T) {
	for _, sectorSize := range []uint{512, 4096} {
		t.Run(strconv.Itoa(int(sectorSize)), func(t *testing.T) {
			path := xfsCopy(t, sectorSize)
			info, ps := xfsCheckFile(t, path, xfsImageSize)

			if len(ps) != 0 {
				t.Fatalf("problems on a fresh image: %v", ps)
			}

			db := xfsDBPrint(t, path, 0)
			num := func(k string) uint64 {
				n, err := strconv.ParseUint(db[k], 0, 64)
				if err != nil {
					t.Fatalf("xfs_db %s = %q: %v", k, db[k], err)
				}

				return n
			}

			ro, in := num("features_ro_compat"), num("features_incompat")
			features := []string{"crc"}

			for _, f := range xfsFeatureNames {
				if (f.roCompat && ro&uint64(f.bit) != 0) || (!f.roCompat && in&uint64(f.bit) != 0) {
					features = append(features, f.name)
				}
			}

			want := &XFSInfo{
				Version:    int(num("versionnum") & 0xf),
				UUID:       db["uuid"],
				Label:      "STATE",
				BlockSize:  uint32(num("blocksize")),
				SectorSize: uint16(num("sectsize")),
				InodeSize:  uint16(num("inodesize")),
				AGCount:    uint32(num("agcount")),
				AGBlocks:   uint32(num("agblocks")),
				DataBlocks: num("dblocks"),
				LogStart:   num("logstart"),
				LogBlocks:  uint32(num("logblocks")),
				Features:   features,
			}

			if !reflect.DeepEqual(info, want) {
				t.Errorf("info:\n got %+v\nwant %+v", info, want)
			}

			if info.Version != 5 || info.SectorSize != uint16(sectorSize) || !strings.HasPrefix(db["fname"], `"STATE\000`) {
				t.Errorf("not the STATE v5 filesystem asked for: %+v", info)
			}

			// mkfs.xfs defaults since xfsprogs 5.15.
			for _, f := range []string{"crc", "finobt", "reflink", "bigtime"} {
				if !slices.Contains(info.Features, f) {
					t.Errorf("features %v lack %q", info.Features, f)
				}
			}

			rc, out := xfsRepair(t, path)
			if rc != 0 {
				t.Errorf("xfs_repair -n on a fresh image exited %d: %s", rc, out)
			}
		})
	}
}

// xfsRepair runs xfs_repair -n (no modify) on the image and returns its exit
// status, 0 for clean and 1 for corruption found, failing the test if the
// image changed or the tool failed otherwise.
func xfsRepair(t *testing.T, path string) (int, string) {
	t.Helper()

	before := hashFile(t, path)
	out, err := exec.Command("xfs_repair", "-n", "-f", path).CombinedOutput()
	rc := 0

	var exit *exec.ExitError

	switch {
	case errors.As(err, &exit):
		rc = exit.ExitCode()
	case err != nil:
		t.Fatalf("xfs_repair: %v", err)
	}

	if rc != 0 && rc != 1 {
		t.Fatalf("xfs_repair -n exited %d: %s", rc, out)
	}

	if after := hashFile(t, path); after != before {
		t.Fatal("xfs_repair -n changed the image")
	}

	return rc, string(out)
}

// xfsEditor patches superblocks of an image with the pristine geometry.
type xfsEditor struct {
	t       testing.TB
	f       *os.File
	sect    int   // sector size of the pristine image
	agBytes int64 // bytes per AG
	agCount int
}

func xfsOpenEditor(t testing.TB, path string) *xfsEditor {
	t.Helper()

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, xfsMinSectorSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}

	sb := xfsDecode(buf)

	return &xfsEditor{t: t, f: f, sect: int(sb.SectSize), agBytes: int64(sb.AGBlocks) * int64(sb.BlockSize), agCount: int(sb.AGCount)}
}

func (e *xfsEditor) close() { _ = e.f.Close() }

func (e *xfsEditor) sbOffset(ag int) int64 { return int64(ag) * e.agBytes }

func (e *xfsEditor) lastAG() int { return e.agCount - 1 }

func (e *xfsEditor) writeAt(b []byte, off int64) {
	e.t.Helper()

	if _, err := e.f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

func (e *xfsEditor) readAt(n int, off int64) []byte {
	e.t.Helper()

	b := make([]byte, n)
	if _, err := e.f.ReadAt(b, off); err != nil {
		e.t.Fatal(err)
	}

	return b
}

// set stores v big-endian in a numeric field of AG ag's superblock, leaving
// the CRC alone.
func (e *xfsEditor) set(ag int, field string, v uint64) {
	e.t.Helper()

	f := xfsFieldByName(e.t, field)
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	e.writeAt(b[8-f.size:], e.sbOffset(ag)+int64(f.off))
}

// get reads a numeric field of AG ag's superblock.
func (e *xfsEditor) get(ag int, field string) uint64 {
	e.t.Helper()

	f := xfsFieldByName(e.t, field)
	b := make([]byte, 8)
	copy(b[8-f.size:], e.readAt(f.size, e.sbOffset(ag)+int64(f.off)))

	return binary.BigEndian.Uint64(b)
}

// setBytes stores b at the start of a byte-array field.
func (e *xfsEditor) setBytes(ag int, field string, b []byte) {
	e.t.Helper()

	f := xfsFieldByName(e.t, field)
	if len(b) > f.size {
		e.t.Fatalf("%d bytes for %d-byte field %s", len(b), f.size, field)
	}

	e.writeAt(b, e.sbOffset(ag)+int64(f.off))
}

// flip inverts one byte of AG ag's superblock sector, leaving the CRC alone.
func (e *xfsEditor) flip(ag int, off int) {
	e.t.Helper()

	b := e.readAt(1, e.sbOffset(ag)+int64(off))
	b[0] ^= 0xff
	e.writeAt(b, e.sbOffset(ag)+int64(off))
}

// fixCRC recomputes AG ag's superblock CRC over the pristine sector size.
func (e *xfsEditor) fixCRC(ag int) {
	e.t.Helper()

	sector := e.readAt(e.sect, e.sbOffset(ag))
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, xfsChecksum(sector))
	e.writeAt(b, e.sbOffset(ag)+xfsOffCRC)
}

// xfsCase is one corruption of the matrix.
type xfsCase struct {
	name string
	// edit corrupts the copy; nil leaves it pristine.
	edit func(e *xfsEditor)
	// size is the partition size to pass, given the file's; nil passes the
	// file's size.
	size func(full int64) int64
	// truncate, when positive, cuts the file to that many bytes, while
	// CheckXFS is still told the partition is xfsImageSize bytes.
	truncate int64
	// want is the exact multiset of codes, sorted.
	want []Code
	// noInfo says CheckXFS found no superblock to describe.
	noInfo bool
	// repair compares the verdict with xfs_repair -n: it must exit 1 exactly
	// when CheckXFS reports an error. It is false where the corruption lives
	// outside the file (size), where xfs_repair judges other metadata (v4
	// on v5 metadata), or where xfs_repair 6.1 was seen to print a problem
	// yet exit 0; each such case says which.
	repair bool
}

// xfsMatrix lists the corruptions. Unless it says otherwise, a case patches
// the primary superblock (AG 0) and recomputes its CRC, so that exactly one
// check fails.
func xfsMatrix() []xfsCase {
	fix := func(e *xfsEditor, ag int, f func()) {
		f()
		e.fixCRC(ag)
	}

	primary := func(field string, v func(old uint64) uint64) func(e *xfsEditor) {
		return func(e *xfsEditor) {
			fix(e, 0, func() { e.set(0, field, v(e.get(0, field))) })
		}
	}

	const (
		agBlkLog  = 13   // log2 of 6400 blocks, rounded up
		agBlocks  = 6400 // mkfs.xfs's AG size for 100 MiB
		dataBlock = 25600
	)

	return []xfsCase{
		{name: "pristine", want: nil, repair: true},
		{
			name: "bad-crc-only",
			edit: func(e *xfsEditor) { e.flip(0, 0x1f0) }, // zero padding the CRC covers
			want: []Code{CodeXFSBadCRC}, repair: true,
		},
		{
			name: "crc-of-changed-field",
			edit: func(e *xfsEditor) { e.set(0, "fdblocks", 1) },
			want: []Code{CodeXFSBadCRC}, repair: true,
		},
		{
			name: "bad-magic",
			edit: func(e *xfsEditor) { e.set(0, "magicnum", 0x58465300) },
			want: []Code{CodeXFSBadMagic}, noInfo: true, repair: true,
		},
		{
			name: "zeroed-primary",
			edit: func(e *xfsEditor) { e.writeAt(make([]byte, e.sect), 0) },
			want: []Code{CodeXFSBadMagic}, noInfo: true, repair: true,
		},
		{
			name: "v4",
			edit: func(e *xfsEditor) {
				fix(e, 0, func() {
					e.set(0, "versionnum", e.get(0, "versionnum")&^0xf|4)
					e.set(0, "features2", e.get(0, "features2")&^xfsFeat2CRC)
					e.set(0, "bad_features2", e.get(0, "bad_features2")&^xfsFeat2CRC)
				})
			},
			// xfs_repair 6.1 rejects the v5-formatted metadata under a v4
			// superblock (inode alignment; exit 1).
			want: []Code{CodeXFSVersion4},
		},
		{
			name: "v4-keeping-crc-bit",
			edit: primary("versionnum", func(v uint64) uint64 { return v&^0xf | 4 }),
			want: []Code{CodeXFSVersion4, CodeXFSVersionFeatures},
		},
		{
			name: "version-3",
			edit: primary("versionnum", func(v uint64) uint64 { return v&^0xf | 3 }),
			want: []Code{CodeXFSBadVersion}, repair: true,
		},
		{
			name: "v5-without-nlink",
			edit: primary("versionnum", func(v uint64) uint64 { return v &^ xfsVersionNLink }),
			want: []Code{CodeXFSVersionFeatures}, repair: true,
		},
		{
			name: "v5-without-lazysbcount",
			edit: func(e *xfsEditor) {
				fix(e, 0, func() {
					e.set(0, "features2", e.get(0, "features2")&^xfsFeat2LazySBCount)
					e.set(0, "bad_features2", e.get(0, "bad_features2")&^xfsFeat2LazySBCount)
				})
			},
			want: []Code{CodeXFSVersionFeatures}, repair: true,
		},
		{
			name: "features2-mismatch",
			edit: primary("bad_features2", func(v uint64) uint64 { return v | xfsFeat2FType }),
			// The kernel merges the two at mount; xfs_repair 6.1 would
			// correct them (exit 1).
			want: []Code{CodeXFSFeatures2Mismatch},
		},
		{
			name: "sectlog-mismatch",
			edit: primary("sectlog", func(v uint64) uint64 { return v + 1 }),
			want: []Code{CodeXFSSectorSize}, repair: true,
		},
		{
			name: "blocklog-mismatch",
			edit: primary("blocklog", func(v uint64) uint64 { return v + 1 }),
			// The block log also feeds inopblog and the sparse inode chunk.
			want: []Code{CodeXFSBlockSize, CodeXFSInodesPerBlock, CodeXFSSparseInodes}, repair: true,
		},
		{
			name: "dirblklog-too-large",
			edit: primary("dirblklog", func(uint64) uint64 { return 5 }),
			want: []Code{CodeXFSDirBlockSize}, repair: true,
		},
		{
			name: "inodelog-mismatch",
			edit: primary("inodelog", func(v uint64) uint64 { return v + 1 }),
			want: []Code{CodeXFSInodeSize, CodeXFSInodesPerBlock}, repair: true,
		},
		{
			name: "inopblock-mismatch",
			edit: primary("inopblock", func(v uint64) uint64 { return v * 2 }),
			want: []Code{CodeXFSInodesPerBlock}, repair: true,
		},
		{
			name: "inopblog-mismatch",
			edit: primary("inopblog", func(v uint64) uint64 { return v + 1 }),
			want: []Code{CodeXFSInodesPerBlock}, repair: true,
		},
		{
			name: "agblklog-mismatch",
			edit: primary("agblklog", func(v uint64) uint64 { return v + 1 }),
			want: []Code{CodeXFSAGLog}, repair: true,
		},
		{
			name: "agblocks-under-16MiB",
			edit: func(e *xfsEditor) {
				// 12 AGs of 2048 blocks of 4 KiB: 8 MiB AGs, consistent
				// otherwise.
				fix(e, 0, func() {
					e.set(0, "agblocks", 2048)
					e.set(0, "agblklog", 11)
					e.set(0, "agcount", 12)
					e.set(0, "dblocks", 12*2048)
				})
			},
			// The secondaries are looked for where there are none.
			want: []Code{CodeXFSAGSize, CodeXFSSecondaryBadMagic, CodeXFSSecondaryBadMagic}, repair: true,
		},
		{
			name: "agcount-vs-dblocks",
			edit: primary("dblocks", func(v uint64) uint64 { return v - agBlocks }),
			// 3 AGs of data for 4 AGs, and a last AG under 64 blocks.
			want: []Code{CodeXFSAGCount, CodeXFSDataBlocks, CodeXFSSecondaryGeometry, CodeXFSSecondaryGeometry}, repair: true,
		},
		{
			name: "runt-last-ag",
			edit: primary("dblocks", func(v uint64) uint64 { return v - agBlocks + 10 }),
			want: []Code{CodeXFSDataBlocks, CodeXFSSecondaryGeometry, CodeXFSSecondaryGeometry}, repair: true,
		},
		{
			name: "agcount-zero",
			edit: primary("agcount", func(uint64) uint64 { return 0 }),
			want: []Code{CodeXFSAGCount, CodeXFSDataBlocks, CodeXFSSecondaryUnchecked}, repair: true,
		},
		{
			name: "fs-larger-than-partition",
			size: func(full int64) int64 { return full / 2 },
			// The last AG's superblock is past the given end.
			want: []Code{CodeXFSSecondaryUnchecked, CodeXFSTruncated},
		},
		{
			name: "partition-smaller-than-sector",
			size: func(int64) int64 { return 300 },
			want: []Code{CodeXFSShortRead}, noInfo: true,
		},
		{
			name:     "truncated-file",
			truncate: 1 << 20,
			// Both secondaries lie past the end of the file, inside the
			// partition CheckXFS was told of.
			want: []Code{CodeXFSShortRead, CodeXFSShortRead}, repair: true,
		},
		{
			name:     "truncated-to-half-a-sector",
			truncate: 256,
			want:     []Code{CodeXFSShortRead}, noInfo: true, repair: true,
		},
		{
			name: "log-outside-ag",
			edit: primary("logstart", func(uint64) uint64 { return 2<<agBlkLog | (agBlocks - 100) }),
			want: []Code{CodeXFSLogOutsideData}, repair: true,
		},
		{
			name: "log-beyond-last-ag",
			edit: primary("logstart", func(uint64) uint64 { return 7 << agBlkLog }),
			want: []Code{CodeXFSLogOutsideData}, repair: true,
		},
		{
			name: "external-log",
			edit: primary("logstart", func(uint64) uint64 { return 0 }),
			want: []Code{CodeXFSExternalLog}, repair: true,
		},
		{
			name: "log-too-large",
			edit: primary("logblocks", func(uint64) uint64 { return xfsMaxLogBlocks + 1 }),
			want: []Code{CodeXFSLogOutsideData, CodeXFSLogSize}, repair: true,
		},
		{
			name: "log-empty",
			edit: primary("logblocks", func(uint64) uint64 { return 0 }),
			want: []Code{CodeXFSLogSize}, repair: true,
		},
		{
			name: "log-small",
			edit: primary("logblocks", func(uint64) uint64 { return 100 }),
			want: []Code{CodeXFSLogSmall}, repair: true,
		},
		{
			name: "log-stripe-unit",
			edit: primary("logsunit", func(uint64) uint64 { return 1000 }),
			want: []Code{CodeXFSLogSector}, repair: true,
		},
		{
			name: "inprogress",
			edit: primary("inprogress", func(uint64) uint64 { return 1 }),
			want: []Code{CodeXFSInProgress}, repair: true,
		},
		{
			name: "unknown-incompat",
			edit: primary("features_incompat", func(v uint64) uint64 { return v | 1<<20 }),
			want: []Code{CodeXFSUnknownIncompat}, repair: true,
		},
		{
			name: "needsrepair",
			edit: primary("features_incompat", func(v uint64) uint64 { return v | xfsIncompatNeedsRepair }),
			want: []Code{CodeXFSNeedsRepair}, repair: true,
		},
		{
			name: "unknown-ro-compat",
			edit: primary("features_ro_compat", func(v uint64) uint64 { return v | 1<<20 }),
			want: []Code{CodeXFSUnknownROCompat}, repair: true,
		},
		{
			name: "unknown-compat",
			edit: primary("features_compat", func(v uint64) uint64 { return v | 1<<20 }),
			// The kernel only suggests a newer kernel; xfs_repair 6.1
			// refuses to work on it (exit 1).
			want: []Code{CodeXFSUnknownCompat},
		},
		{
			name: "unknown-log-incompat",
			edit: primary("features_log_incompat", func(v uint64) uint64 { return v | 1<<20 }),
			// xfs_repair 6.1 only offers to copy the bits to the
			// secondaries (exit 0); the kernel refuses to recover such a
			// log and to write such a superblock.
			want: []Code{CodeXFSUnknownLogIncompat},
		},
		{
			name: "sparse-inode-alignment",
			edit: primary("inoalignmt", func(v uint64) uint64 { return v / 2 }),
			// xfs_repair 6.1 prints the kernel's complaint, yet exits 0
			// on the 4096-byte-sector image (1 on the other, for the
			// root inode's alignment).
			want: []Code{CodeXFSSparseInodes},
		},
		{
			name: "stripe-unit-without-dalign",
			edit: primary("unit", func(uint64) uint64 { return 16 }),
			want: []Code{CodeXFSStripe, CodeXFSStripe}, repair: true,
		},
		{
			name: "imax-pct",
			edit: primary("imax_pct", func(uint64) uint64 { return 150 }),
			want: []Code{CodeXFSInodeLimits}, repair: true,
		},
		{
			name: "v4-quota-flags-on-v5",
			edit: primary("qflags", func(uint64) uint64 { return xfsOQuotaEnfd }),
			// xfs_repair 6.1 prints the kernel's complaint ("Version 5
			// of Super block has XFS_OQUOTA bits") but exits 0.
			want: []Code{CodeXFSQuotaFlags},
		},
		{
			name: "realtime-extent-size-zero",
			edit: primary("rextsize", func(uint64) uint64 { return 0 }),
			want: []Code{CodeXFSRealtime}, repair: true,
		},
		{
			name: "wrong-label",
			edit: func(e *xfsEditor) {
				fix(e, 0, func() { e.setBytes(0, "fname", []byte("EPHEMERAL\x00\x00\x00")) })
			},
			want: []Code{CodeXFSLabel}, repair: true,
		},
		{
			name: "secondary-ag1-bad-crc",
			edit: func(e *xfsEditor) { e.flip(1, 0x1f0) },
			want: []Code{CodeXFSSecondaryBadCRC}, repair: true,
		},
		{
			name: "secondary-ag1-bad-magic",
			edit: func(e *xfsEditor) { e.set(1, "magicnum", 0) },
			want: []Code{CodeXFSSecondaryBadMagic}, repair: true,
		},
		{
			name: "secondary-last-ag-uuid",
			edit: func(e *xfsEditor) {
				fix(e, e.lastAG(), func() { e.flip(e.lastAG(), xfsFieldByName(e.t, "uuid").off) })
			},
			// xfs_repair 6.1 does not compare a secondary's UUID (exit 0).
			want: []Code{CodeXFSSecondaryUUID},
		},
		{
			name: "secondary-last-ag-geometry",
			edit: func(e *xfsEditor) {
				fix(e, e.lastAG(), func() { e.set(e.lastAG(), "dblocks", dataBlock+1) })
			},
			want: []Code{CodeXFSSecondaryGeometry}, repair: true,
		},
		{
			name: "everything-at-once",
			edit: func(e *xfsEditor) {
				e.set(0, "inprogress", 1)
				e.set(0, "features_incompat", e.get(0, "features_incompat")|xfsIncompatNeedsRepair|1<<20)
				e.setBytes(0, "fname", []byte("X\x00"))
				e.flip(1, 0x1f0)
				e.flip(e.lastAG(), xfsFieldByName(e.t, "uuid").off)
			},
			// Secondary AG 3's CRC breaks with its UUID.
			want: []Code{
				CodeXFSBadCRC, CodeXFSInProgress, CodeXFSLabel, CodeXFSNeedsRepair,
				CodeXFSSecondaryBadCRC, CodeXFSSecondaryBadCRC, CodeXFSSecondaryUUID, CodeXFSUnknownIncompat,
			},
			repair: true,
		},
	}
}

// TestCheckXFSCorruptions runs the corruption matrix on copies of both
// fixtures, asserting the exact codes and, where it has an opinion on the
// same bytes, agreement with xfs_repair -n.
func TestCheckXFSCorruptions(t *testing.T) {
	for _, sectorSize := range []uint{512, 4096} {
		for _, tc := range xfsMatrix() {
			t.Run(fmt.Sprintf("%d/%s", sectorSize, tc.name), func(t *testing.T) {
				path := xfsCopy(t, sectorSize)

				if tc.edit != nil {
					e := xfsOpenEditor(t, path)
					tc.edit(e)
					e.close()
				}

				if tc.truncate > 0 {
					if err := os.Truncate(path, tc.truncate); err != nil {
						t.Fatal(err)
					}
				}

				size := int64(xfsImageSize)
				if tc.size != nil {
					size = tc.size(size)
				}

				info, ps := xfsCheckFile(t, path, size)

				got := slices.Sorted(slices.Values(Codes(ps)))
				want := slices.Sorted(slices.Values(tc.want))

				if !slices.Equal(got, want) {
					t.Errorf("codes:\n got %v\nwant %v\nproblems:\n%s", got, want, xfsProblemLines(ps))
				}

				for _, p := range ps {
					if p.Severity != SeverityError && p.Severity != SeverityWarning && p.Severity != SeverityInfo {
						t.Errorf("problem with severity %q: %v", p.Severity, p)
					}

					if p.Message == "" {
						t.Errorf("problem without a message: %v", p)
					}
				}

				if (info == nil) != tc.noInfo {
					t.Errorf("info = %+v, want nil: %v", info, tc.noInfo)
				}

				if !tc.repair {
					return
				}

				rc, out := xfsRepair(t, path)
				t.Logf("xfs_repair -n exit %d: %s", rc, xfsRepairSummary(out))

				if (rc != 0) != HasErrors(ps) {
					t.Errorf("xfs_repair -n exited %d but CheckXFS errors = %v:\n%s\nxfs_repair said:\n%s", rc, HasErrors(ps), xfsProblemLines(ps), out)
				}
			})
		}
	}
}

// xfsRepairSummary keeps xfs_repair's verdict lines, dropping progress.
func xfsRepairSummary(out string) string {
	var keep []string

	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", strings.HasPrefix(line, "Phase "), strings.HasPrefix(line, "- "),
			strings.Contains(line, "host filesystem geometry"), strings.Contains(line, "sector size mismatch"),
			strings.HasPrefix(line, "No modify flag set"):
			continue
		}

		keep = append(keep, line)
	}

	if len(keep) == 0 {
		return "(clean)"
	}

	return strings.Join(keep, " | ")
}

func xfsProblemLines(ps []Problem) string {
	var b strings.Builder

	for _, p := range ps {
		fmt.Fprintf(&b, "  %s\n", p)
	}

	return b.String()
}

// xfsFailingReader fails every read that touches [from, to).
type xfsFailingReader struct {
	r        io.ReaderAt
	from, to int64
	err      error
}

func (fr xfsFailingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < fr.to && off+int64(len(p)) > fr.from {
		return 0, fr.err
	}

	return fr.r.ReadAt(p, off)
}

// TestCheckXFSReadErrors checks that a failing device yields an error,
// wrapped, and no panic.
func TestCheckXFSReadErrors(t *testing.T) {
	img := xfsPristine(t, 512)
	agBytes := int64(6400 * 4096)

	cases := []struct {
		name     string
		from, to int64
		info     bool
	}{
		{"primary", 0, 512, false},
		{"ag1", agBytes, agBytes + 512, true},
		{"last-ag", 3 * agBytes, 3*agBytes + 512, true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := xfsFailingReader{r: img, from: tc.from, to: tc.to, err: syscall.EIO}

			info, ps, err := CheckXFS(r, img.size)
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("err = %v, want one wrapping EIO", err)
			}

			if (info != nil) != tc.info {
				t.Errorf("info = %+v", info)
			}

			if len(ps) != 0 {
				t.Errorf("problems before the failed read on a pristine image: %v", ps)
			}
		})
	}

	t.Run("eof-is-a-problem", func(t *testing.T) {
		r := xfsFailingReader{r: img, from: agBytes, to: agBytes + 512, err: io.ErrUnexpectedEOF}

		info, ps, err := CheckXFS(r, img.size)
		if err != nil || info == nil {
			t.Fatalf("CheckXFS = %v, %v", info, err)
		}

		if got := Codes(ps); !slices.Equal(got, []Code{CodeXFSShortRead}) {
			t.Errorf("codes %v", got)
		}
	})
}

// BenchmarkCheckXFS measures a full check of the 100 MiB image from a file.
func BenchmarkCheckXFS(b *testing.B) {
	path := xfsCopy(b, 512)

	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	before := hashFile(b, path)

	b.ReportAllocs()

	for b.Loop() {
		_, ps, err := CheckXFS(f, xfsImageSize)
		if err != nil || len(ps) != 0 {
			b.Fatalf("CheckXFS: %v %v", ps, err)
		}
	}

	b.StopTimer()

	if after := hashFile(b, path); after != before {
		b.Fatal("CheckXFS changed the image")
	}
}
