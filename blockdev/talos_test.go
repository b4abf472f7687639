package blockdev

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/siderolabs/go-blockdevice/v2/blkid"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// blkidName is what go-blockdevice's blkid, the prober Talos uses, calls the
// content of path.
func blkidName(tb testing.TB, path string) string {
	tb.Helper()

	info, err := blkid.ProbePath(path, blkid.WithSkipLocking(true))
	if err != nil {
		// Too small to probe: Talos does not see anything there either.
		tb.Logf("blkid.ProbePath(%s): %v", path, err)

		return ""
	}

	return info.Name
}

// TestBlkidMinProbeSize holds blkidMinProbeSize to go-blockdevice's.
func TestBlkidMinProbeSize(t *testing.T) {
	if blkidMinProbeSize != blkid.MinProbeSize {
		t.Errorf("blkidMinProbeSize is %d, go-blockdevice's blkid.MinProbeSize %d", blkidMinProbeSize, blkid.MinProbeSize)
	}
}

// TestProberNameMatchesBlkid compares proberName with go-blockdevice's
// blkid, the prober Talos runs, on real mkfs.xfs and cryptsetup output and
// on superblocks with every field the xfs prober checks pushed over its
// bounds, then on random damage to the bytes it reads.
func TestProberNameMatchesBlkid(t *testing.T) {
	testenv.Tools(t, testenv.DiskTools...)

	// A 64 KiB partition: above blkid's minimum probe size, and the xfs
	// prober reads only the first sector.
	dir := t.TempDir()
	path := filepath.Join(dir, "part.img")
	pristine := pristineXFSSector(t, dir)

	check := func(name string, sector []byte, size int64) {
		t.Helper()

		img := make([]byte, size)
		copy(img, sector)

		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}

		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()

		got, err := proberName(f, size)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}

		if want := blkidName(t, path); got != want {
			t.Errorf("%s: proberName says %q, blkid %q", name, got, want)
		}
	}

	check("pristine", pristine, 64<<10)
	check("pristine, below blkid's minimum probe size", pristine, blkidMinProbeSize-512)
	check("zeroes", nil, 64<<10)

	// Every field the xfs prober looks at, at and beyond its bounds.
	values := []uint64{0, 1, 7, 8, 9, 11, 12, 15, 16, 17, 100, 101, 255, 256, 511, 512, 513, 2048, 4096, 32768, 65536, 1 << 17, 1 << 20, 1 << 30, 1<<32 - 1}
	for _, field := range []string{"AGCount", "SectSize", "SectLog", "BlockSize", "BlockLog", "InodeSize", "InodeLog", "InoPBLog", "RExtSize", "IMaxPct", "DBlocks"} {
		for _, v := range values {
			sector := append([]byte(nil), pristine...)
			putField(t, sector, field, v)
			check(field+"="+strconv.FormatUint(v, 10), sector, 64<<10)
		}
	}

	// Random damage to the first 208 bytes, the xfs prober's superblock.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		sector := append([]byte(nil), pristine...)
		for range 1 + rng.IntN(3) {
			sector[4+rng.IntN(204)] = byte(rng.Uint32())
		}

		check("random damage "+strconv.Itoa(i), sector, 64<<10)
	}

	// LUKS2 as cryptsetup writes it, and with its version changed.
	luks, err := os.ReadFile(fixture.LUKS2(t, ""))
	if err != nil {
		t.Fatal(err)
	}

	check("luks2", luks, int64(len(luks)))

	binary.BigEndian.PutUint16(luks[6:8], 1)
	check("luks version 1", luks, int64(len(luks)))
}

// pristineXFSSector returns the first sector of a fresh 512-byte-sector
// STATE filesystem, formatted in dir.
func pristineXFSSector(t *testing.T, dir string) []byte {
	t.Helper()

	path := filepath.Join(dir, "state.img")
	if err := diskimage.Format(path, "STATE", 100*diskimage.MiB, 512, diskimage.XFS); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	sector := make([]byte, xfs.MinSectorSize)
	if _, err := f.ReadAt(sector, 0); err != nil {
		t.Fatal(err)
	}

	return sector
}

// putField stores v, truncated to the field's width, big-endian, in the
// field of xfs.SuperBlock called name; Go lays the struct out as the disk
// does.
func putField(t *testing.T, b []byte, name string, v uint64) {
	t.Helper()

	f, ok := reflect.TypeFor[xfs.SuperBlock]().FieldByName(name)
	if !ok {
		t.Fatalf("no superblock field %q", name)
	}

	switch off := f.Offset; f.Type.Size() {
	case 1:
		b[off] = byte(v)
	case 2:
		binary.BigEndian.PutUint16(b[off:], uint16(v))
	case 4:
		binary.BigEndian.PutUint32(b[off:], uint32(v))
	case 8:
		binary.BigEndian.PutUint64(b[off:], v)
	}
}

// TestTalosLUKS2Corruptions runs the LUKS2 corruption matrix through
// Talos's checks: each case must yield exactly its Talos codes, blkid must
// call the image luks exactly when they do not say luks2-not-located, and
// checkLUKS2 must add them to cryptsetup's view and the note on the
// filesystem inside.
func TestTalosLUKS2Corruptions(t *testing.T) {
	fixture.EachLUKS2Corruption(t, func(t *testing.T, tc fixture.LUKS2Corruption, path string) {
		var talos, all []problem.Problem

		fixture.ReadOnly(t, path, func(f *os.File, size int64) {
			var err error
			if talos, err = talosLUKS2(f, size); err != nil {
				t.Fatal(err)
			}

			if _, all, err = checkLUKS2(f, size); err != nil {
				t.Fatal(err)
			}
		})

		if got, want := fixture.Summary(talos), fixture.Sorted(tc.Talos); !slices.Equal(got, want) {
			t.Errorf("Talos's checks: %v\nwant %v\n%v", got, want, talos)
		}

		located := !slices.Contains(problem.Codes(talos), CodeLUKS2NotLocated)
		if name := blkidName(t, path); (name == "luks") != located {
			t.Errorf("blkid sees %q, but talosLUKS2 located=%v", name, located)
		}

		want := fixture.Sorted(tc.Cryptsetup, tc.Talos, []string{"info " + string(CodeLUKS2InnerUnverified)})
		if got := fixture.Summary(all); !slices.Equal(got, want) {
			t.Errorf("checkLUKS2: %v\nwant %v", got, want)
		}
	})
}

// TestTalosLUKS2ShortReader checks go-blockdevice's trust in the primary's
// hdr_size: a reader that ends inside the secondary copy leaves cryptsetup
// the primary, but Talos's header check refuses.
func TestTalosLUKS2ShortReader(t *testing.T) {
	data, err := os.ReadFile(fixture.LUKS2(t, ""))
	if err != nil {
		t.Fatal(err)
	}

	ps, err := talosLUKS2(bytes.NewReader(data[:20<<10]), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}

	if got := problem.Codes(ps); !slices.Equal(got, []problem.Code{CodeLUKS2TalosRejects}) {
		t.Errorf("codes %v, want %s: %v", got, CodeLUKS2TalosRejects, ps)
	}
}
