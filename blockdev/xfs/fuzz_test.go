package xfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"reflect"
	"slices"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// fuzzReader serves a fuzzed primary superblock sector over a real
// mkfs.xfs image, so the secondaries Check looks for are real ones. It
// fails the test on any read larger than the largest XFS sector or on more
// reads than Check needs, which is how the fuzz target bounds memory.
type fuzzReader struct {
	t     *testing.T
	base  *sparseImage
	top   []byte
	reads int
}

// maxReads is what Check reads at most: the first 512 bytes, the
// whole primary sector, and the superblocks of AG 1 and of the last AG.
const maxReads = 4

func (r *fuzzReader) ReadAt(p []byte, off int64) (int, error) {
	r.reads++
	if r.reads > maxReads {
		r.t.Fatalf("read %d (%d bytes at %d): Check reads at most %d times", r.reads, len(p), off, maxReads)
	}

	if len(p) > MaxSectorSize {
		r.t.Fatalf("read of %d bytes at %d, over the %d-byte XFS sector limit", len(p), off, MaxSectorSize)
	}

	n, err := r.base.ReadAt(p, off)
	if off < int64(len(r.top)) {
		copy(p[:n], r.top[off:])
	}

	return n, err
}

// FuzzCheck feeds Check a fuzzed primary superblock sector, with the
// secondaries of a real image behind it and a fuzzed partition size. It must
// never panic, never return an I/O error (the reader has none but io.EOF),
// stay within maxReads bounded reads, and describe every finding with a
// known code and severity, the same way twice.
func FuzzCheck(f *testing.F) {
	bases := map[bool]*sparseImage{false: pristine(f, 512), true: pristine(f, 4096)}

	for big, img := range bases {
		sector := make([]byte, 512)
		if big {
			sector = make([]byte, 4096)
		}

		if _, err := img.ReadAt(sector, 0); err != nil {
			f.Fatal(err)
		}

		f.Add(sector, img.size, big)
		f.Add(sector, img.size/2, big)
		f.Add(sector[:300], img.size, big)

		// A few structured variants: bad CRC, a v4 superblock, garbage
		// geometry with a valid CRC, and a 32 KiB sector size.
		variants := []func(b []byte){
			func(b []byte) { b[0x1f0] ^= 0xff },
			func(b []byte) { binary.BigEndian.PutUint16(b[0x64:], binary.BigEndian.Uint16(b[0x64:])&^0xf|4) },
			func(b []byte) {
				binary.BigEndian.PutUint32(b[0x54:], 1)
				binary.BigEndian.PutUint32(b[0x58:], ^uint32(0))
			},
			func(b []byte) { binary.BigEndian.PutUint16(b[0x66:], MaxSectorSize); b[0x79] = MaxSectorLog },
			func(b []byte) { b[0x78], b[0x7c], b[0x7a] = 0xff, 0xff, 0xff },
		}

		for _, v := range variants {
			b := bytes.Clone(sector)
			v(b)
			binary.LittleEndian.PutUint32(b[offCRC:], checksum(b))
			f.Add(b, img.size, big)
		}
	}

	f.Add([]byte("XFSB"), int64(512), false)
	f.Add([]byte{}, int64(0), false)
	f.Add([]byte("XFSB"), int64(-1), true)

	f.Fuzz(func(t *testing.T, sector []byte, size int64, big bool) {
		if len(sector) > MaxSectorSize {
			sector = sector[:MaxSectorSize]
		}

		run := func() (*Info, []problem.Problem) {
			r := &fuzzReader{t: t, base: bases[big], top: sector}

			info, ps, err := Check(r, size)
			if err != nil {
				t.Fatalf("Check returned an error for a reader with none: %v", err)
			}

			return info, ps
		}

		info, ps := run()

		for _, p := range ps {
			if !slices.Contains(AllCodes, p.Code) || p.Message == "" {
				t.Errorf("malformed problem %#v", p)
			}

			switch p.Severity {
			case problem.SeverityError, problem.SeverityWarning, problem.SeverityInfo:
			default:
				t.Errorf("problem with severity %q: %v", p.Severity, p)
			}
		}

		codes := problem.Codes(ps)
		if info == nil && !slices.Contains(codes, CodeBadMagic) && !slices.Contains(codes, CodeShortRead) {
			t.Errorf("no info, yet neither bad magic nor a short read: %v", ps)
		}

		if info != nil && !problem.HasErrors(ps) && info.Version != 4 && info.Version != 5 {
			t.Errorf("version %d without an error: %v", info.Version, ps)
		}

		info2, ps2 := run()
		if !reflect.DeepEqual(info, info2) || !reflect.DeepEqual(ps, ps2) {
			t.Errorf("two runs differ:\n%+v %v\n%+v %v", info, ps, info2, ps2)
		}
	})
}

var _ io.ReaderAt = (*fuzzReader)(nil)
