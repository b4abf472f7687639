package blockdev

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/siderolabs/go-blockdevice/v2/blkid"

	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// luksImageSize is the size of the LUKS2 test images.
const luksImageSize = 32 * diskimage.MiB

func TestLUKS2HeaderLayout(t *testing.T) {
	var h luksDiskHeader

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
		{"csum", unsafe.Offsetof(h.Csum), luksCsumOffset, unsafe.Sizeof(h.Csum), luksCsumLen},
	} {
		if f.got != f.want || f.size != f.wantSize {
			t.Errorf("%s at %#x (%d bytes), want %#x (%d bytes)", f.name, f.got, f.size, f.want, f.wantSize)
		}
	}

	if got := binary.Size(h); got != luksBinHeaderSize {
		t.Errorf("encoded binary header is %d bytes, want %d", got, luksBinHeaderSize)
	}

	if luksBlkidMinProbeSize != blkid.MinProbeSize {
		t.Errorf("luksBlkidMinProbeSize is %d, go-blockdevice's blkid.MinProbeSize %d", luksBlkidMinProbeSize, blkid.MinProbeSize)
	}

	if got := unsafe.Sizeof(h); got != luksBinHeaderSize {
		t.Errorf("binary header struct is %d bytes, want %d", got, luksBinHeaderSize)
	}

	// encoding/binary must put each field where the struct says.
	buf := make([]byte, luksBinHeaderSize)
	buf[0x006], buf[0x007] = 0x12, 0x34
	buf[0x00F] = 0x56
	buf[0x017] = 0x78
	buf[0x0A8] = 'u'
	buf[0x107] = 0x9A
	buf[0x1C0] = 0xBC

	if _, err := binary.Decode(buf, binary.BigEndian, &h); err != nil {
		t.Fatal(err)
	}

	if h.Version != 0x1234 || h.HdrSize != 0x56 || h.SeqID != 0x78 || h.UUID[0] != 'u' || h.HdrOffset != 0x9A || h.Csum[0] != 0xBC {
		t.Errorf("decoded %+v from known offsets", h)
	}
}

// luksPristine formats a fresh LUKS2 image the way diskimage does and
// returns its path.
func luksPristine(tb testing.TB) string {
	tb.Helper()
	testenv.Tools(tb, testenv.DiskTools...)

	path := filepath.Join(tb.TempDir(), "pristine.img")
	if err := diskimage.Format(path, "STATE", luksImageSize, 512, diskimage.LUKS2); err != nil {
		tb.Fatal(err)
	}

	return path
}

// luksPristineMetadataSize formats a LUKS2 image with --luks2-metadata-size,
// which diskimage does not offer, with diskimage's other flags.
func luksPristineMetadataSize(tb testing.TB, metadataSize string) string {
	tb.Helper()
	testenv.Tools(tb, testenv.DiskTools...)

	path := filepath.Join(tb.TempDir(), "pristine-"+metadataSize+".img")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		tb.Fatal(err)
	}

	if err := os.Truncate(path, luksImageSize); err != nil {
		tb.Fatal(err)
	}

	cmd := exec.Command("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--sector-size", "512",
		"--luks2-metadata-size", metadataSize, "--label", "STATE", "--key-file", "-", path)
	cmd.Stdin = strings.NewReader(diskimage.Passphrase)

	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("cryptsetup luksFormat --luks2-metadata-size %s: %v: %s", metadataSize, err, out)
	}

	return path
}

// luksCopyFile copies src to a new file in dir and returns its path.
func luksCopyFile(tb testing.TB, src, dir, name string) string {
	tb.Helper()

	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}

	dst := filepath.Join(dir, name)
	if err = os.WriteFile(dst, data, 0o644); err != nil {
		tb.Fatal(err)
	}

	return dst
}

// luksCheckFile runs CheckLUKS2 on the file at path and fails the test if
// the file changed meanwhile.
func luksCheckFile(tb testing.TB, path string) (*LUKS2Info, []Problem) {
	tb.Helper()

	before := hashFile(tb, path)

	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}

	info, ps, err := CheckLUKS2(f, st.Size())
	if err != nil {
		tb.Fatalf("CheckLUKS2: %v", err)
	}

	if after := hashFile(tb, path); after != before {
		tb.Fatalf("%s changed while checking it: sha256 %s, then %s", path, before, after)
	}

	return info, ps
}

// luksDump runs `cryptsetup luksDump` read-only on path and reports whether
// it succeeded. --disable-locks matters: with locking, cryptsetup repairs a
// bad header copy in place while dumping. The file's hash is checked.
func luksDump(tb testing.TB, path string, args ...string) (string, bool) {
	tb.Helper()

	before := hashFile(tb, path)

	cmd := exec.Command("cryptsetup", slices.Concat([]string{"luksDump", "--disable-locks"}, args, []string{path})...)
	out, err := cmd.CombinedOutput()

	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		tb.Fatalf("cryptsetup luksDump: %v", err)
	}

	if after := hashFile(tb, path); after != before {
		tb.Fatalf("cryptsetup luksDump --disable-locks changed %s", path)
	}

	return string(out), err == nil
}

// luksDumpField returns the value of a "Name: value" line of luksDump.
func luksDumpField(tb testing.TB, dump, name string) string {
	tb.Helper()

	for line := range strings.SplitSeq(dump, "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(rest)
		}
	}

	tb.Fatalf("no %q in luksDump output:\n%s", name, dump)

	return ""
}

// luksDumpMetadata is the part of `luksDump --dump-json-metadata` the tests
// compare.
type luksDumpMetadata struct {
	Keyslots map[string]json.RawMessage `json:"keyslots"`
	Segments map[string]struct {
		Offset     string `json:"offset"`
		Encryption string `json:"encryption"`
	} `json:"segments"`
}

// luksWantInfo builds the LUKS2Info cryptsetup describes for path.
func luksWantInfo(tb testing.TB, path string) LUKS2Info {
	tb.Helper()

	dump, ok := luksDump(tb, path)
	if !ok {
		tb.Fatalf("cryptsetup luksDump %s failed:\n%s", path, dump)
	}

	metaJSON, ok := luksDump(tb, path, "--dump-json-metadata")
	if !ok {
		tb.Fatalf("cryptsetup luksDump --dump-json-metadata %s failed:\n%s", path, metaJSON)
	}

	var meta luksDumpMetadata
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

	return LUKS2Info{
		UUID:              luksDumpField(tb, dump, "UUID"),
		Label:             luksDumpField(tb, dump, "Label"),
		HeaderSize:        num(luksDumpField(tb, dump, "Metadata area")),
		SeqID:             num(luksDumpField(tb, dump, "Epoch")),
		ChecksumAlgorithm: "sha256", // luksDump does not print it; cryptsetup always writes sha256
		Keyslots:          len(meta.Keyslots),
		Segments:          len(meta.Segments),
		Cipher:            meta.Segments["0"].Encryption,
		DataOffset:        num(meta.Segments["0"].Offset),
	}
}

// luksBlkidName is what go-blockdevice's blkid, the prober Talos uses,
// calls the content of path.
func luksBlkidName(tb testing.TB, path string) string {
	tb.Helper()

	info, err := blkid.ProbePath(path, blkid.WithSkipLocking(true))
	if err != nil {
		// Too small to probe: Talos does not see anything there either.
		tb.Logf("blkid.ProbePath(%s): %v", path, err)

		return ""
	}

	return info.Name
}

// luksSummary renders problems as sorted "severity code" strings, the form
// the tables compare.
func luksSummary(ps []Problem) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, string(p.Severity)+" "+string(p.Code))
	}

	slices.Sort(out)

	return out
}

func luksSorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)

	return s
}

func TestCheckLUKS2Healthy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		make       func(testing.TB) string
		headerSize uint64
	}{
		{"default metadata size", luksPristine, 16 << 10},
		{"luks2-metadata-size 64k", func(tb testing.TB) string { return luksPristineMetadataSize(tb, "64k") }, 64 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.make(t)

			info, ps := luksCheckFile(t, path)
			if got, want := luksSummary(ps), luksSorted("info "+string(CodeLUKS2InnerUnverified)); !slices.Equal(got, want) {
				t.Errorf("problems %v, want %v:\n%v", got, want, ps)
			}

			if info == nil {
				t.Fatal("no info")
			}

			want := luksWantInfo(t, path)
			if *info != want {
				t.Errorf("info %+v\nwant %+v (cryptsetup luksDump)", *info, want)
			}

			if info.HeaderSize != tc.headerSize || info.Label != "STATE" || info.Keyslots != 1 || info.Cipher != "aes-xts-plain64" {
				t.Errorf("info %+v: want header size %d, label STATE, 1 keyslot, aes-xts-plain64", *info, tc.headerSize)
			}

			if name := luksBlkidName(t, path); name != "luks" {
				t.Errorf("blkid sees %q, want luks", name)
			}
		})
	}
}

// luksPatchCopy helpers edit a header image in memory: hdr holds at least
// both copies, the primary at 0.

func luksCopyOffset(hdr []byte) int {
	return int(binary.BigEndian.Uint64(hdr[8:16]))
}

// luksReseal recomputes the checksum of the copy at off with its own
// checksum algorithm (cryptsetup's names) and hdr_size.
func luksReseal(tb testing.TB, hdr []byte, off int) {
	tb.Helper()

	size := int(binary.BigEndian.Uint64(hdr[off+8 : off+16]))
	alg := luksCString(hdr[off+0x48 : off+0x68])

	h := luksNewHash(alg)
	if h == nil {
		tb.Fatalf("cannot reseal with %q", alg)
	}

	area := hdr[off : off+size]
	clear(area[luksCsumOffset : luksCsumOffset+luksCsumLen])
	h.Write(area)
	copy(area[luksCsumOffset:], h.Sum(nil))
}

// luksSetAlg sets the checksum algorithm of the copy at off.
func luksSetAlg(hdr []byte, off int, alg string) {
	field := hdr[off+0x48 : off+0x68]
	clear(field)
	copy(field, alg)
}

// luksTweakJSON changes one character inside a JSON string of the copy at
// off, keeping the JSON valid.
func luksTweakJSON(tb testing.TB, hdr []byte, off int) {
	tb.Helper()

	size := luksCopyOffset(hdr)

	i := bytes.Index(hdr[off+luksBinHeaderSize:off+size], []byte(`"iv_tweak":"0"`))
	if i < 0 {
		tb.Fatal("no iv_tweak in the JSON area")
	}

	hdr[off+luksBinHeaderSize+i+12] = '1'
}

func luksBumpSeqID(hdr []byte, off int) {
	binary.BigEndian.PutUint64(hdr[off+16:off+24], binary.BigEndian.Uint64(hdr[off+16:off+24])+1)
}

const (
	luksW = "warning "
	luksE = "error "
	luksI = "info "
)

// luksCorruption is one case of the corruption matrix.
type luksCorruption struct {
	name string
	// metadataSize is "" for diskimage's default image, or a
	// --luks2-metadata-size value.
	metadataSize string
	// mutate edits the first two header copies in memory.
	mutate func(tb testing.TB, hdr []byte)
	// truncate, when not 0, cuts the image to that size.
	truncate int64
	// want is the exact multiset of "severity code".
	want []string
}

var luksCorruptions = []luksCorruption{
	{
		name:   "primary magic",
		mutate: func(_ testing.TB, hdr []byte) { hdr[0] = 'X' },
		want: []string{
			luksW + string(CodeLUKS2BadMagic), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2NotLocated),
		},
	},
	{
		name:         "primary magic, 64k metadata",
		metadataSize: "64k",
		mutate:       func(_ testing.TB, hdr []byte) { hdr[0] = 'X' },
		want: []string{
			luksW + string(CodeLUKS2BadMagic), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2NotLocated),
		},
	},
	{
		name:   "primary checksum field",
		mutate: func(_ testing.TB, hdr []byte) { hdr[luksCsumOffset] ^= 0xFF },
		want:   []string{luksW + string(CodeLUKS2ChecksumMismatch), luksW + string(CodeLUKS2PrimaryUnusable)},
	},
	{
		name:   "primary checksum, JSON byte",
		mutate: func(tb testing.TB, hdr []byte) { luksTweakJSON(tb, hdr, 0) },
		want: []string{
			luksW + string(CodeLUKS2ChecksumMismatch), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name:   "secondary checksum, JSON byte",
		mutate: func(tb testing.TB, hdr []byte) { luksTweakJSON(tb, hdr, luksCopyOffset(hdr)) },
		want: []string{
			luksW + string(CodeLUKS2ChecksumMismatch), luksW + string(CodeLUKS2SecondaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name: "both checksums, same JSON byte",
		mutate: func(tb testing.TB, hdr []byte) {
			luksTweakJSON(tb, hdr, 0)
			luksTweakJSON(tb, hdr, luksCopyOffset(hdr))
		},
		want: []string{
			luksE + string(CodeLUKS2ChecksumMismatch), luksE + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2ChecksumMismatch), luksE + string(CodeLUKS2SecondaryUnusable),
		},
	},
	{
		name: "seqid, primary newer",
		mutate: func(tb testing.TB, hdr []byte) {
			luksBumpSeqID(hdr, 0)
			luksReseal(tb, hdr, 0)
		},
		want: []string{luksW + string(CodeLUKS2SeqIDMismatch)},
	},
	{
		name: "seqid, secondary newer",
		mutate: func(tb testing.TB, hdr []byte) {
			off := luksCopyOffset(hdr)
			luksBumpSeqID(hdr, off)
			luksReseal(tb, hdr, off)
		},
		want: []string{luksW + string(CodeLUKS2SeqIDMismatch)},
	},
	{
		name:   "version 1",
		mutate: func(_ testing.TB, hdr []byte) { binary.BigEndian.PutUint16(hdr[6:8], 1) },
		want: []string{
			luksE + string(CodeLUKS2LUKS1), luksE + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2NotLocated),
		},
	},
	{
		name:   "unknown checksum algorithm",
		mutate: func(_ testing.TB, hdr []byte) { luksSetAlg(hdr, 0, "nosuchhash") },
		want:   []string{luksW + string(CodeLUKS2UnknownChecksumAlgorithm), luksW + string(CodeLUKS2PrimaryUnusable)},
	},
	luksSealedWith("sha1"),
	luksSealedWith("sha512"),
	luksSealedWith("sha3-256"),
	{
		name: "primary JSON garbage, resealed",
		mutate: func(tb testing.TB, hdr []byte) {
			copy(hdr[luksBinHeaderSize:], "garbage!")
			luksReseal(tb, hdr, 0)
		},
		want: []string{
			luksW + string(CodeLUKS2JSONInvalid), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name: "both JSON garbage, resealed",
		mutate: func(tb testing.TB, hdr []byte) {
			for _, off := range []int{0, luksCopyOffset(hdr)} {
				copy(hdr[off+luksBinHeaderSize:], "garbage!")
				luksReseal(tb, hdr, off)
			}
		},
		want: []string{
			luksE + string(CodeLUKS2JSONInvalid), luksE + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2JSONInvalid), luksE + string(CodeLUKS2SecondaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name: "primary json_size, resealed",
		mutate: func(tb testing.TB, hdr []byte) {
			i := bytes.Index(hdr[:luksCopyOffset(hdr)], []byte(`"json_size":"12288"`))
			if i < 0 {
				tb.Fatal("no json_size 12288")
			}

			copy(hdr[i:], `"json_size":"12287"`)
			luksReseal(tb, hdr, 0)
		},
		want: []string{
			luksW + string(CodeLUKS2JSONSizeMismatch), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name:   "primary hdr_size invalid",
		mutate: func(_ testing.TB, hdr []byte) { binary.BigEndian.PutUint64(hdr[8:16], 0x5000) },
		want: []string{
			luksW + string(CodeLUKS2BadHeaderSize), luksW + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2TalosRejects),
		},
	},
	{
		name:   "primary hdr_offset",
		mutate: func(_ testing.TB, hdr []byte) { binary.BigEndian.PutUint64(hdr[0x100:0x108], 512) },
		want:   []string{luksW + string(CodeLUKS2BadHeaderOffset), luksW + string(CodeLUKS2PrimaryUnusable)},
	},
	{
		name: "UUID differs, resealed",
		mutate: func(tb testing.TB, hdr []byte) {
			off := luksCopyOffset(hdr)
			hdr[off+0xA8] ^= 1
			luksReseal(tb, hdr, off)
		},
		want: []string{luksW + string(CodeLUKS2UUIDMismatch)},
	},
	{
		name: "label differs, resealed",
		mutate: func(tb testing.TB, hdr []byte) {
			off := luksCopyOffset(hdr)
			copy(hdr[off+0x18:], "STATF")
			luksReseal(tb, hdr, off)
		},
		want: []string{luksW + string(CodeLUKS2LabelMismatch)},
	},
	{
		name:   "headers zeroed",
		mutate: func(_ testing.TB, hdr []byte) { clear(hdr) },
		want: []string{
			luksE + string(CodeLUKS2BadMagic), luksE + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2SecondaryUnusable), luksE + string(CodeLUKS2NotLocated),
		},
	},
	{
		name:     "partition cut to 8 MiB, inside the keyslot area",
		truncate: 8 * diskimage.MiB,
		want:     []string{luksE + string(CodeLUKS2DeviceTooSmall), luksE + string(CodeLUKS2TalosRejects)},
	},
	{
		name:     "partition cut to 10000 bytes",
		truncate: 10000,
		want: []string{
			luksE + string(CodeLUKS2Truncated), luksE + string(CodeLUKS2PrimaryUnusable),
			luksE + string(CodeLUKS2Truncated), luksE + string(CodeLUKS2SecondaryUnusable),
			luksE + string(CodeLUKS2NotLocated), // blkid does not probe under 16 KiB
		},
	},
}

// luksSealedWith is a healthy case: both copies checksummed with alg, which
// cryptsetup must accept too.
func luksSealedWith(alg string) luksCorruption {
	return luksCorruption{
		name: "both copies sealed with " + alg,
		mutate: func(tb testing.TB, hdr []byte) {
			for _, off := range []int{0, luksCopyOffset(hdr)} {
				luksSetAlg(hdr, off, alg)
				luksReseal(tb, hdr, off)
			}
		},
	}
}

// luksCryptsetupError reports whether ps holds an error about cryptsetup's
// view; the other error codes describe Talos (blkid, go-blockdevice).
func luksCryptsetupError(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError && p.Code != CodeLUKS2NotLocated && p.Code != CodeLUKS2TalosRejects {
			return true
		}
	}

	return false
}

func TestCheckLUKS2Corruptions(t *testing.T) {
	pristine := map[string]string{
		"":    luksPristine(t),
		"64k": luksPristineMetadataSize(t, "64k"),
	}
	dir := t.TempDir()

	for i, tc := range luksCorruptions {
		t.Run(tc.name, func(t *testing.T) {
			path := luksCopyFile(t, pristine[tc.metadataSize], dir, fmt.Sprintf("case%d.img", i))

			if tc.mutate != nil {
				luksMutateFile(t, path, tc.mutate)
			}

			if tc.truncate != 0 {
				if err := os.Truncate(path, tc.truncate); err != nil {
					t.Fatal(err)
				}
			}

			info, ps := luksCheckFile(t, path)

			want := luksSorted(append(slices.Clone(tc.want), luksI+string(CodeLUKS2InnerUnverified))...)
			if got := luksSummary(ps); !slices.Equal(got, want) {
				t.Errorf("problems %v\nwant %v", got, want)

				for _, p := range ps {
					t.Log(p)
				}
			}

			// cryptsetup's opinion: luksDump --type luks2 loads the header
			// exactly when a usable copy exists and the device is big
			// enough. Error problems other than Talos's own gates must
			// agree with it.
			dump, dumpOK := luksDump(t, path, "--type", "luks2")
			if dumpOK == luksCryptsetupError(ps) {
				t.Errorf("cryptsetup luksDump --type luks2 succeeded=%v, but CheckLUKS2 cryptsetup-level errors=%v:\n%s\n%v",
					dumpOK, luksCryptsetupError(ps), dump, ps)
			}

			_, autoOK := luksDump(t, path)
			t.Logf("luksDump --type luks2: ok=%v; luksDump (type auto-detected): ok=%v", dumpOK, autoOK)

			// Talos's opinion on locating STATE: blkid must call it luks
			// exactly when CheckLUKS2 does not say luks2-not-located.
			located := !slices.Contains(Codes(ps), CodeLUKS2NotLocated)
			if name := luksBlkidName(t, path); (name == "luks") != located {
				t.Errorf("blkid sees %q, but CheckLUKS2 located=%v", name, located)
			}

			if dumpOK && (info == nil || info.UUID == "" || info.Keyslots != 1 || info.Cipher != "aes-xts-plain64") {
				t.Errorf("a usable copy exists, but info is %+v", info)
			}
		})
	}
}

// luksMutateFile applies mutate to the first two header copies of the image
// at path.
func luksMutateFile(tb testing.TB, path string, mutate func(testing.TB, []byte)) {
	tb.Helper()

	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()

	head := make([]byte, luksBinHeaderSize)
	if _, err = f.ReadAt(head, 0); err != nil {
		tb.Fatal(err)
	}

	hdr := make([]byte, 2*luksCopyOffset(head))
	if _, err = f.ReadAt(hdr, 0); err != nil {
		tb.Fatal(err)
	}

	mutate(tb, hdr)

	if _, err = f.WriteAt(hdr, 0); err != nil {
		tb.Fatal(err)
	}
}

// TestLUKS2CryptsetupRecovers checks the claim behind the warnings: with one
// usable copy, cryptsetup loads the header, and when it may lock the device
// it rewrites the bad copy from the good one.
func TestLUKS2CryptsetupRecovers(t *testing.T) {
	path := luksCopyFile(t, luksPristine(t), t.TempDir(), "recover.img")
	luksMutateFile(t, path, func(_ testing.TB, hdr []byte) { hdr[luksCsumOffset] ^= 0xFF })

	_, ps := luksCheckFile(t, path)
	if HasErrors(ps) {
		t.Fatalf("want only warnings: %v", ps)
	}

	before := hashFile(t, path)

	out, err := exec.Command("cryptsetup", "luksDump", path).CombinedOutput()
	if err != nil {
		t.Fatalf("cryptsetup luksDump with a usable secondary copy: %v\n%s", err, out)
	}

	if hashFile(t, path) == before {
		t.Logf("cryptsetup loaded the header but did not rewrite the primary copy (locking unavailable?)")

		return
	}

	t.Logf("cryptsetup luksDump rewrote the primary copy from the secondary")

	_, ps = luksCheckFile(t, path)
	if got, want := luksSummary(ps), luksSorted(luksI+string(CodeLUKS2InnerUnverified)); !slices.Equal(got, want) {
		t.Errorf("after cryptsetup's repair: %v, want %v", got, want)
	}
}

// luksFailingReader fails every read at or after failAt.
type luksFailingReader struct {
	data   []byte
	failAt int64
	err    error
}

func (r *luksFailingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.failAt {
		return 0, r.err
	}

	return copy(p, r.data[off:]), nil
}

func TestCheckLUKS2ReadErrors(t *testing.T) {
	data, err := os.ReadFile(luksPristine(t))
	if err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")

	for _, failAt := range []int64{0, 100, luksBinHeaderSize, 16 << 10, 20 << 10, 32<<10 - 1} {
		t.Run(fmt.Sprintf("fail at %d", failAt), func(t *testing.T) {
			info, ps, err := CheckLUKS2(&luksFailingReader{data: data, failAt: failAt, err: boom}, int64(len(data)))
			if !errors.Is(err, boom) {
				t.Errorf("err %v, want one wrapping %v", err, boom)
			}

			if info != nil || ps != nil {
				t.Errorf("with an error: info %v, problems %v", info, ps)
			}
		})
	}

	// A reader shorter than the size it claims: findings, not errors.
	t.Run("short reader", func(t *testing.T) {
		_, ps, err := CheckLUKS2(bytes.NewReader(data[:20<<10]), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}

		if !slices.Contains(Codes(ps), CodeLUKS2Truncated) || !HasErrors(ps) {
			t.Errorf("problems %v, want luks2-truncated errors", ps)
		}
	})

	for _, n := range []int{0, 1, 511, 512, 4095, 4096} {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			_, ps, err := CheckLUKS2(bytes.NewReader(data[:n]), int64(n))
			if err != nil {
				t.Fatal(err)
			}

			if !HasErrors(ps) {
				t.Errorf("problems %v, want errors", ps)
			}
		})
	}
}

// luksZeroTail serves head, then zeroes up to any offset.
type luksZeroTail struct{ head []byte }

func (r luksZeroTail) ReadAt(p []byte, off int64) (int, error) {
	clear(p)

	if off < int64(len(r.head)) {
		copy(p, r.head[off:])
	}

	return len(p), nil
}

// TestCheckLUKS2BoundedMemory feeds hdr_size values up to 2^62 on a
// partition claiming a terabyte: CheckLUKS2 must neither panic nor
// allocate beyond a few header copies of at most 4 MiB.
func TestCheckLUKS2BoundedMemory(t *testing.T) {
	for _, hdrSize := range []uint64{0, 4095, luksMinHeaderSize, luksMaxHeaderSize, luksMaxHeaderSize + 4096, 1 << 62, ^uint64(0)} {
		t.Run(strconv.FormatUint(hdrSize, 10), func(t *testing.T) {
			head := make([]byte, luksBinHeaderSize)
			copy(head, luksMagicPrimary)
			binary.BigEndian.PutUint16(head[6:], 2)
			binary.BigEndian.PutUint64(head[8:], hdrSize)
			copy(head[0x48:], "sha256")

			var before, after runtime.MemStats

			runtime.ReadMemStats(&before)

			_, ps, err := CheckLUKS2(luksZeroTail{head}, 1<<40)

			runtime.ReadMemStats(&after)

			if err != nil {
				t.Fatal(err)
			}

			if !HasErrors(ps) {
				t.Errorf("no error for a header with zero checksum and no secondary: %v", ps)
			}

			if got := after.TotalAlloc - before.TotalAlloc; got > 4*luksMaxHeaderSize {
				t.Errorf("allocated %d bytes", got)
			}
		})
	}
}

func BenchmarkCheckLUKS2(b *testing.B) {
	data, err := os.ReadFile(luksPristine(b))
	if err != nil {
		b.Fatal(err)
	}

	r := bytes.NewReader(data)

	b.ReportAllocs()

	for b.Loop() {
		if _, ps, err := CheckLUKS2(r, int64(len(data))); err != nil || HasErrors(ps) {
			b.Fatal(err, ps)
		}
	}
}
