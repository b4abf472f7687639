package blockdev

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/raid-settle/raid-settle/internal/testenv"
)

// TestProberNameMatchesBlkid compares proberName with go-blockdevice's
// blkid, the prober Talos runs, on real mkfs.xfs and cryptsetup output and
// on superblocks with every field the xfs prober checks pushed over its
// bounds, then on random damage to the bytes it reads.
func TestProberNameMatchesBlkid(t *testing.T) {
	testenv.Tools(t, testenv.DiskTools...)

	pristine := make([]byte, xfsMinSectorSize)
	if _, err := xfsPristine(t, 512).ReadAt(pristine, 0); err != nil {
		t.Fatal(err)
	}

	// A 64 KiB partition: above blkid's minimum probe size, and the xfs
	// prober reads only the first sector.
	dir := t.TempDir()
	path := filepath.Join(dir, "part.img")

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

		if want := luksBlkidName(t, path); got != want {
			t.Errorf("%s: proberName says %q, blkid %q", name, got, want)
		}
	}

	check("pristine", pristine, 64<<10)
	check("pristine, below blkid's minimum probe size", pristine, proberMinSize-512)
	check("zeroes", nil, 64<<10)

	// Every field the xfs prober looks at, at and beyond its bounds.
	values := []uint64{0, 1, 7, 8, 9, 11, 12, 15, 16, 17, 100, 101, 255, 256, 511, 512, 513, 2048, 4096, 32768, 65536, 1 << 17, 1 << 20, 1 << 30, 1<<32 - 1}
	for _, field := range []string{"AGCount", "SectSize", "SectLog", "BlockSize", "BlockLog", "InodeSize", "InodeLog", "InoPBLog", "RExtSize", "IMaxPct", "DBlocks"} {
		f := xfsFieldByName(t, field)

		for _, v := range values {
			sector := append([]byte(nil), pristine...)
			putField(sector, f, v)
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
	luks, err := os.ReadFile(luksPristine(t))
	if err != nil {
		t.Fatal(err)
	}

	check("luks2", luks, int64(len(luks)))

	binary.BigEndian.PutUint16(luks[6:8], 1)
	check("luks version 1", luks, int64(len(luks)))
}

// putField stores v, truncated to the field's width, big-endian.
func putField(b []byte, f xfsField, v uint64) {
	switch f.size {
	case 1:
		b[f.off] = byte(v)
	case 2:
		binary.BigEndian.PutUint16(b[f.off:], uint16(v))
	case 4:
		binary.BigEndian.PutUint32(b[f.off:], uint32(v))
	case 8:
		binary.BigEndian.PutUint64(b[f.off:], v)
	}
}
