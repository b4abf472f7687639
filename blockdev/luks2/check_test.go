package luks2

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// checkFile runs Check on the file at path; the test fails if the file
// changes (fixture.ReadOnly).
func checkFile(tb testing.TB, path string) (*Info, []problem.Problem) {
	tb.Helper()

	var (
		info *Info
		ps   []problem.Problem
		err  error
	)

	fixture.ReadOnly(tb, path, func(f *os.File, size int64) { info, ps, err = Check(f, size) })

	if err != nil {
		tb.Fatalf("Check: %v", err)
	}

	return info, ps
}

// luksDump runs `cryptsetup luksDump` read-only on path and reports whether
// it succeeded. --disable-locks matters: with locking, cryptsetup repairs a
// bad header copy in place while dumping. The file's hash is checked.
func luksDump(tb testing.TB, path string, args ...string) (string, bool) {
	tb.Helper()

	before := fixture.HashFile(tb, path)

	cmd := exec.Command("cryptsetup", slices.Concat([]string{"luksDump", "--disable-locks"}, args, []string{path})...)
	out, err := cmd.CombinedOutput()

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		tb.Fatalf("cryptsetup luksDump: %v", err)
	}

	if after := fixture.HashFile(tb, path); after != before {
		tb.Fatalf("cryptsetup luksDump --disable-locks changed %s", path)
	}

	return string(out), err == nil
}

// dumpField returns the value of a "Name: value" line of luksDump.
func dumpField(tb testing.TB, dump, name string) string {
	tb.Helper()

	for line := range strings.SplitSeq(dump, "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(rest)
		}
	}

	tb.Fatalf("no %q in luksDump output:\n%s", name, dump)

	return ""
}

// dumpMetadata is the part of `luksDump --dump-json-metadata` the tests
// compare.
type dumpMetadata struct {
	Keyslots map[string]json.RawMessage `json:"keyslots"`
	Segments map[string]struct {
		Offset     string `json:"offset"`
		Encryption string `json:"encryption"`
	} `json:"segments"`
}

// wantInfo builds the Info cryptsetup describes for path.
func wantInfo(tb testing.TB, path string) Info {
	tb.Helper()

	dump, ok := luksDump(tb, path)
	if !ok {
		tb.Fatalf("cryptsetup luksDump %s failed:\n%s", path, dump)
	}

	metaJSON, ok := luksDump(tb, path, "--dump-json-metadata")
	if !ok {
		tb.Fatalf("cryptsetup luksDump --dump-json-metadata %s failed:\n%s", path, metaJSON)
	}

	var meta dumpMetadata
	if err := json.Unmarshal([]byte(metaJSON), &meta); err != nil {
		tb.Fatalf("luksDump --dump-json-metadata: %v\n%s", err, metaJSON)
	}

	num := func(s string) uint64 {
		n, err := strconv.ParseUint(strings.Fields(s)[0], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}

		return n
	}

	return Info{
		UUID:              dumpField(tb, dump, "UUID"),
		Label:             dumpField(tb, dump, "Label"),
		HeaderSize:        num(dumpField(tb, dump, "Metadata area")),
		SeqID:             num(dumpField(tb, dump, "Epoch")),
		ChecksumAlgorithm: "sha256", // luksDump does not print it; cryptsetup always writes sha256
		Keyslots:          len(meta.Keyslots),
		Segments:          len(meta.Segments),
		Cipher:            meta.Segments["0"].Encryption,
		DataOffset:        num(meta.Segments["0"].Offset),
	}
}

// TestCheckHealthy checks fresh cryptsetup images: no problems, and the info
// cryptsetup luksDump gives.
func TestCheckHealthy(t *testing.T) {
	for _, tc := range []struct {
		name         string
		metadataSize string
		headerSize   uint64
	}{
		{"default metadata size", "", 16 << 10},
		{"luks2-metadata-size 64k", "64k", 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fixture.LUKS2(t, tc.metadataSize)

			info, ps := checkFile(t, path)
			if len(ps) != 0 {
				t.Errorf("problems on a fresh image: %v", ps)
			}

			if info == nil {
				t.Fatal("no info")
			}

			want := wantInfo(t, path)
			if *info != want {
				t.Errorf("info %+v\nwant %+v (cryptsetup luksDump)", *info, want)
			}

			if info.HeaderSize != tc.headerSize || info.Label != "STATE" || info.Keyslots != 1 || info.Cipher != "aes-xts-plain64" {
				t.Errorf("info %+v: want header size %d, label STATE, 1 keyslot, aes-xts-plain64", *info, tc.headerSize)
			}
		})
	}
}

// TestCheckCorruptions runs the corruption matrix and holds Check to what
// cryptsetup itself makes of each image.
func TestCheckCorruptions(t *testing.T) {
	fixture.EachLUKS2Corruption(t, func(t *testing.T, tc fixture.LUKS2Corruption, path string) {
		info, ps := checkFile(t, path)

		want := fixture.Sorted(tc.Cryptsetup)
		if got := fixture.Summary(ps); !slices.Equal(got, want) {
			t.Errorf("problems %v\nwant %v", got, want)

			for _, p := range ps {
				t.Log(p)
			}
		}

		// cryptsetup's opinion: luksDump --type luks2 loads the header
		// exactly when a usable copy exists and the device is big
		// enough. Check's errors must agree with it.
		dump, dumpOK := luksDump(t, path, "--type", "luks2")
		if dumpOK == problem.HasErrors(ps) {
			t.Errorf("cryptsetup luksDump --type luks2 succeeded=%v, but Check errors=%v:\n%s\n%v",
				dumpOK, problem.HasErrors(ps), dump, ps)
		}

		_, autoOK := luksDump(t, path)
		t.Logf("luksDump --type luks2: ok=%v; luksDump (type auto-detected): ok=%v", dumpOK, autoOK)

		if dumpOK && (info == nil || info.UUID == "" || info.Keyslots != 1 || info.Cipher != "aes-xts-plain64") {
			t.Errorf("a usable copy exists, but info is %+v", info)
		}
	})
}

// TestCryptsetupRecovers checks the claim behind the warnings: with one
// usable copy, cryptsetup loads the header, and when it may lock the device
// it rewrites the bad copy from the good one.
func TestCryptsetupRecovers(t *testing.T) {
	path := fixture.CopyFile(t, fixture.LUKS2(t, ""), t.TempDir(), "recover.img")
	fixture.MutateLUKS2Headers(t, path, func(_ testing.TB, hdr []byte) { hdr[csumOffset] ^= 0xFF })

	_, ps := checkFile(t, path)
	if problem.HasErrors(ps) {
		t.Fatalf("want only warnings: %v", ps)
	}

	before := fixture.HashFile(t, path)

	out, err := exec.Command("cryptsetup", "luksDump", path).CombinedOutput()
	if err != nil {
		t.Fatalf("cryptsetup luksDump with a usable secondary copy: %v\n%s", err, out)
	}

	if fixture.HashFile(t, path) == before {
		t.Logf("cryptsetup loaded the header but did not rewrite the primary copy (locking unavailable?)")

		return
	}

	t.Logf("cryptsetup luksDump rewrote the primary copy from the secondary")

	_, ps = checkFile(t, path)
	if len(ps) != 0 {
		t.Errorf("problems after cryptsetup's repair: %v", ps)
	}
}

// failingReader fails every read at or after failAt.
type failingReader struct {
	data   []byte
	failAt int64
	err    error
}

func (r *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.failAt {
		return 0, r.err
	}

	return copy(p, r.data[off:]), nil
}

// TestCheckReadErrors checks that a failing reader yields an error, wrapped,
// and that a reader or partition that ends early yields findings instead.
func TestCheckReadErrors(t *testing.T) {
	data, err := os.ReadFile(fixture.LUKS2(t, ""))
	if err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")

	for _, failAt := range []int64{0, 100, BinHeaderSize, 16 << 10, 20 << 10, 32<<10 - 1} {
		t.Run(fmt.Sprintf("fail at %d", failAt), func(t *testing.T) {
			info, ps, err := Check(&failingReader{data: data, failAt: failAt, err: boom}, int64(len(data)))
			if !errors.Is(err, boom) {
				t.Errorf("err %v, want one wrapping %v", err, boom)
			}

			if info != nil || ps != nil {
				t.Errorf("with an error: info %v, problems %v", info, ps)
			}
		})
	}

	// A reader shorter than the size it claims: findings, not errors. It
	// ends inside the secondary copy, so cryptsetup would use the primary.
	t.Run("short reader", func(t *testing.T) {
		_, ps, err := Check(bytes.NewReader(data[:20<<10]), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}

		if got, want := fixture.Summary(ps), fixture.Sorted([]string{"warning " + string(CodeTruncated), "warning " + string(CodeSecondaryUnusable)}); !slices.Equal(got, want) {
			t.Errorf("problems %v, want %v", got, want)
		}
	})

	for _, n := range []int{0, 1, 511, 512, 4095, 4096} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			_, ps, err := Check(bytes.NewReader(data[:n]), int64(n))
			if err != nil {
				t.Fatal(err)
			}

			if !problem.HasErrors(ps) {
				t.Errorf("problems %v, want errors", ps)
			}
		})
	}
}

// zeroTail serves head, then zeroes up to any offset.
type zeroTail struct{ head []byte }

func (r zeroTail) ReadAt(p []byte, off int64) (int, error) {
	clear(p)

	if off < int64(len(r.head)) {
		copy(p, r.head[off:])
	}

	return len(p), nil
}

// TestCheckBoundedMemory feeds hdr_size values up to 2^62 on a
// partition claiming a terabyte: Check must neither panic nor
// allocate beyond a few header copies of at most 4 MiB.
func TestCheckBoundedMemory(t *testing.T) {
	for _, hdrSize := range []uint64{0, 4095, MinHeaderSize, MaxHeaderSize, MaxHeaderSize + 4096, 1 << 62, ^uint64(0)} {
		t.Run(strconv.FormatUint(hdrSize, 10), func(t *testing.T) {
			head := make([]byte, BinHeaderSize)
			copy(head, MagicPrimary)
			binary.BigEndian.PutUint16(head[6:], 2)
			binary.BigEndian.PutUint64(head[8:], hdrSize)
			copy(head[0x48:], "sha256")

			var before, after runtime.MemStats

			runtime.ReadMemStats(&before)

			_, ps, err := Check(zeroTail{head}, 1<<40)

			runtime.ReadMemStats(&after)

			if err != nil {
				t.Fatal(err)
			}

			if !problem.HasErrors(ps) {
				t.Errorf("no error for a header with zero checksum and no secondary: %v", ps)
			}

			if got := after.TotalAlloc - before.TotalAlloc; got > 4*MaxHeaderSize {
				t.Errorf("allocated %d bytes", got)
			}
		})
	}
}

// BenchmarkCheck measures a check of a fresh image held in memory.
func BenchmarkCheck(b *testing.B) {
	data, err := os.ReadFile(fixture.LUKS2(b, ""))
	if err != nil {
		b.Fatal(err)
	}

	r := bytes.NewReader(data)

	b.ReportAllocs()

	for b.Loop() {
		if _, ps, err := Check(r, int64(len(data))); err != nil || problem.HasErrors(ps) {
			b.Fatal(err, ps)
		}
	}
}
