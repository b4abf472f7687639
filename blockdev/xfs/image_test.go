package xfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// imageSize is the size of Talos's STATE partition.
const imageSize = 100 * diskimage.MiB

// sparseImage is a disk image held in memory as its non-zero 64 KiB
// chunks: a 100 MiB filesystem fresh from mkfs.xfs takes a few hundred KiB.
type sparseImage struct {
	size   int64
	chunks map[int64][]byte // by offset, each chunkSize bytes
}

const chunkSize = 64 << 10

func loadSparse(path string) (*sparseImage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	img := &sparseImage{size: int64(len(data)), chunks: map[int64][]byte{}}
	zero := make([]byte, chunkSize)

	for off := 0; off < len(data); off += chunkSize {
		chunk := data[off:min(off+chunkSize, len(data))]
		if !bytes.Equal(chunk, zero[:len(chunk)]) {
			img.chunks[int64(off)] = bytes.Clone(chunk)
		}
	}

	return img, nil
}

// ReadAt serves the image like a file of img.size bytes.
func (img *sparseImage) ReadAt(p []byte, off int64) (int, error) {
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
		base := pos - pos%chunkSize
		end := min(n, done+int(base+chunkSize-pos))

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
func (img *sparseImage) writeTo(t testing.TB, path string) {
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

// pristine returns the 100 MiB STATE filesystem mkfs.xfs makes with the
// given sector size, formatted once per test run and kept in memory, so no
// directory outlives the run.
func pristine(t testing.TB, sectorSize uint) *sparseImage {
	t.Helper()

	testenv.Tools(t, testenv.DiskTools...)

	pristineMu.Lock()
	entry, ok := pristines[sectorSize]
	if !ok {
		entry = &pristineEntry{}
		pristines[sectorSize] = entry
	}
	pristineMu.Unlock()

	entry.once.Do(func() {
		dir, err := os.MkdirTemp("", "raid-settle-xfs-")
		if err != nil {
			entry.err = err

			return
		}
		defer os.RemoveAll(dir)

		path := filepath.Join(dir, "state.img")
		if entry.err = diskimage.Format(path, "STATE", imageSize, sectorSize, diskimage.XFS); entry.err != nil {
			return
		}

		entry.img, entry.err = loadSparse(path)
	})

	if entry.err != nil {
		t.Fatalf("failed to make the %d-byte-sector XFS fixture: %v", sectorSize, entry.err)
	}

	return entry.img
}

type pristineEntry struct {
	once sync.Once
	img  *sparseImage
	err  error
}

var (
	pristineMu sync.Mutex
	pristines  = map[uint]*pristineEntry{}
)

// copyPristine writes a fresh copy of the pristine image into the test's
// temporary directory and returns its path.
func copyPristine(t testing.TB, sectorSize uint) string {
	t.Helper()

	path := filepath.Join(t.TempDir(), fmt.Sprintf("state-%d.img", sectorSize))
	pristine(t, sectorSize).writeTo(t, path)

	return path
}

// dbPrint runs xfs_db -r 'sb N' 'print' and returns its fields.
func dbPrint(t *testing.T, path string, ag int) map[string]string {
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

// runRepair runs xfs_repair -n (no modify) on the image and returns its exit
// status, 0 for clean and 1 for corruption found, failing the test if the
// image changed or the tool failed otherwise.
func runRepair(t *testing.T, path string) (int, string) {
	t.Helper()

	before := fixture.HashFile(t, path)
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

	if after := fixture.HashFile(t, path); after != before {
		t.Fatal("xfs_repair -n changed the image")
	}

	return rc, string(out)
}

// editor patches superblocks of an image with the pristine geometry.
type editor struct {
	t       testing.TB
	f       *os.File
	sect    int   // sector size of the pristine image
	agBytes int64 // bytes per AG
	agCount int
}

func openEditor(t testing.TB, path string) *editor {
	t.Helper()

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, MinSectorSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}

	sb := Decode(buf)

	return &editor{t: t, f: f, sect: int(sb.SectSize), agBytes: int64(sb.AGBlocks) * int64(sb.BlockSize), agCount: int(sb.AGCount)}
}

func (e *editor) close() { _ = e.f.Close() }

func (e *editor) sbOffset(ag int) int64 { return int64(ag) * e.agBytes }

func (e *editor) lastAG() int { return e.agCount - 1 }

func (e *editor) writeAt(b []byte, off int64) {
	e.t.Helper()

	if _, err := e.f.WriteAt(b, off); err != nil {
		e.t.Fatal(err)
	}
}

func (e *editor) readAt(n int, off int64) []byte {
	e.t.Helper()

	b := make([]byte, n)
	if _, err := e.f.ReadAt(b, off); err != nil {
		e.t.Fatal(err)
	}

	return b
}

// set stores v big-endian in a numeric field of AG ag's superblock, leaving
// the CRC alone.
func (e *editor) set(ag int, field string, v uint64) {
	e.t.Helper()

	f := fieldByName(e.t, field)
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	e.writeAt(b[8-f.size:], e.sbOffset(ag)+int64(f.off))
}

// get reads a numeric field of AG ag's superblock.
func (e *editor) get(ag int, field string) uint64 {
	e.t.Helper()

	f := fieldByName(e.t, field)
	b := make([]byte, 8)
	copy(b[8-f.size:], e.readAt(f.size, e.sbOffset(ag)+int64(f.off)))

	return binary.BigEndian.Uint64(b)
}

// setBytes stores b at the start of a byte-array field.
func (e *editor) setBytes(ag int, field string, b []byte) {
	e.t.Helper()

	f := fieldByName(e.t, field)
	if len(b) > f.size {
		e.t.Fatalf("%d bytes for %d-byte field %s", len(b), f.size, field)
	}

	e.writeAt(b, e.sbOffset(ag)+int64(f.off))
}

// flip inverts one byte of AG ag's superblock sector, leaving the CRC alone.
func (e *editor) flip(ag int, off int) {
	e.t.Helper()

	b := e.readAt(1, e.sbOffset(ag)+int64(off))
	b[0] ^= 0xff
	e.writeAt(b, e.sbOffset(ag)+int64(off))
}

// fixCRC recomputes AG ag's superblock CRC over the pristine sector size.
func (e *editor) fixCRC(ag int) {
	e.t.Helper()

	sector := e.readAt(e.sect, e.sbOffset(ag))
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, checksum(sector))
	e.writeAt(b, e.sbOffset(ag)+offCRC)
}
