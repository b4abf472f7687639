package xfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/blockdev/problem"
)

// checkFile runs Check on the file at path as a partition of size
// bytes, failing the test on an I/O error or if the file changed.
func checkFile(t *testing.T, path string, size int64) (*Info, []problem.Problem) {
	t.Helper()

	var (
		info *Info
		ps   []problem.Problem
		err  error
	)

	fixture.ReadOnly(t, path, func(f *os.File, _ int64) { info, ps, err = Check(f, size) })

	if err != nil {
		t.Fatalf("Check: unexpected I/O error: %v", err)
	}

	return info, ps
}

// TestCheckHealthy checks fresh mkfs.xfs images: no problems, and the
// info agrees with xfs_db.
func TestCheckHealthy(t *testing.T) {
	for _, sectorSize := range []uint{512, 4096} {
		t.Run(strconv.Itoa(int(sectorSize)), func(t *testing.T) {
			path := copyPristine(t, sectorSize)
			info, ps := checkFile(t, path, imageSize)

			if len(ps) != 0 {
				t.Fatalf("problems on a fresh image: %v", ps)
			}

			db := dbPrint(t, path, 0)
			num := func(k string) uint64 {
				n, err := strconv.ParseUint(db[k], 0, 64)
				if err != nil {
					t.Fatalf("xfs_db %s = %q: %v", k, db[k], err)
				}

				return n
			}

			ro, in := num("features_ro_compat"), num("features_incompat")
			features := []string{"crc"}

			for _, f := range featureNames {
				if (f.roCompat && ro&uint64(f.bit) != 0) || (!f.roCompat && in&uint64(f.bit) != 0) {
					features = append(features, f.name)
				}
			}

			want := &Info{
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

			rc, out := runRepair(t, path)
			if rc != 0 {
				t.Errorf("xfs_repair -n on a fresh image exited %d: %s", rc, out)
			}
		})
	}
}

// corruption is one corruption of the matrix.
type corruption struct {
	name string
	// edit corrupts the copy; nil leaves it pristine.
	edit func(e *editor)
	// size is the partition size to pass, given the file's; nil passes the
	// file's size.
	size func(full int64) int64
	// truncate, when positive, cuts the file to that many bytes, while
	// Check is still told the partition is imageSize bytes.
	truncate int64
	// want is the exact multiset of codes, sorted.
	want []problem.Code
	// noInfo says Check found no superblock to describe.
	noInfo bool
	// repair compares the verdict with xfs_repair -n: it must exit 1 exactly
	// when Check reports an error. It is false where the corruption lives
	// outside the file (size), where xfs_repair judges other metadata (v4
	// on v5 metadata), or where xfs_repair 6.1 was seen to print a problem
	// yet exit 0; each such case says which.
	repair bool
}

// corruptions lists the corruptions. Unless it says otherwise, a case patches
// the primary superblock (AG 0) and recomputes its CRC, so that exactly one
// check fails.
func corruptions() []corruption {
	fix := func(e *editor, ag int, f func()) {
		f()
		e.fixCRC(ag)
	}

	primary := func(field string, v func(old uint64) uint64) func(e *editor) {
		return func(e *editor) {
			fix(e, 0, func() { e.set(0, field, v(e.get(0, field))) })
		}
	}

	const (
		agBlkLog  = 13   // log2 of 6400 blocks, rounded up
		agBlocks  = 6400 // mkfs.xfs's AG size for 100 MiB
		dataBlock = 25600
	)

	return []corruption{
		{name: "pristine", want: nil, repair: true},
		{
			name: "bad-crc-only",
			edit: func(e *editor) { e.flip(0, 0x1f0) }, // zero padding the CRC covers
			want: []problem.Code{CodeBadCRC}, repair: true,
		},
		{
			name: "crc-of-changed-field",
			edit: func(e *editor) { e.set(0, "fdblocks", 1) },
			want: []problem.Code{CodeBadCRC}, repair: true,
		},
		{
			name: "bad-magic",
			edit: func(e *editor) { e.set(0, "magicnum", 0x58465300) },
			want: []problem.Code{CodeBadMagic}, noInfo: true, repair: true,
		},
		{
			name: "zeroed-primary",
			edit: func(e *editor) { e.writeAt(make([]byte, e.sect), 0) },
			want: []problem.Code{CodeBadMagic}, noInfo: true, repair: true,
		},
		{
			name: "v4",
			edit: func(e *editor) {
				fix(e, 0, func() {
					e.set(0, "versionnum", e.get(0, "versionnum")&^0xf|4)
					e.set(0, "features2", e.get(0, "features2")&^feat2CRC)
					e.set(0, "bad_features2", e.get(0, "bad_features2")&^feat2CRC)
				})
			},
			// xfs_repair 6.1 rejects the v5-formatted metadata under a v4
			// superblock (inode alignment; exit 1).
			want: []problem.Code{CodeVersion4},
		},
		{
			name: "v4-keeping-crc-bit",
			edit: primary("versionnum", func(v uint64) uint64 { return v&^0xf | 4 }),
			want: []problem.Code{CodeVersion4, CodeVersionFeatures},
		},
		{
			name: "version-3",
			edit: primary("versionnum", func(v uint64) uint64 { return v&^0xf | 3 }),
			want: []problem.Code{CodeBadVersion}, repair: true,
		},
		{
			name: "v5-without-nlink",
			edit: primary("versionnum", func(v uint64) uint64 { return v &^ versionNLink }),
			want: []problem.Code{CodeVersionFeatures}, repair: true,
		},
		{
			name: "v5-without-lazysbcount",
			edit: func(e *editor) {
				fix(e, 0, func() {
					e.set(0, "features2", e.get(0, "features2")&^feat2LazySBCount)
					e.set(0, "bad_features2", e.get(0, "bad_features2")&^feat2LazySBCount)
				})
			},
			want: []problem.Code{CodeVersionFeatures}, repair: true,
		},
		{
			name: "features2-mismatch",
			edit: primary("bad_features2", func(v uint64) uint64 { return v | feat2FType }),
			// The kernel merges the two at mount; xfs_repair 6.1 would
			// correct them (exit 1).
			want: []problem.Code{CodeFeatures2Mismatch},
		},
		{
			name: "sectlog-mismatch",
			edit: primary("sectlog", func(v uint64) uint64 { return v + 1 }),
			want: []problem.Code{CodeSectorSize}, repair: true,
		},
		{
			name: "blocklog-mismatch",
			edit: primary("blocklog", func(v uint64) uint64 { return v + 1 }),
			// The block log also feeds inopblog and the sparse inode chunk.
			want: []problem.Code{CodeBlockSize, CodeInodesPerBlock, CodeSparseInodes}, repair: true,
		},
		{
			name: "dirblklog-too-large",
			edit: primary("dirblklog", func(uint64) uint64 { return 5 }),
			want: []problem.Code{CodeDirBlockSize}, repair: true,
		},
		{
			name: "inodelog-mismatch",
			edit: primary("inodelog", func(v uint64) uint64 { return v + 1 }),
			want: []problem.Code{CodeInodeSize, CodeInodesPerBlock}, repair: true,
		},
		{
			name: "inopblock-mismatch",
			edit: primary("inopblock", func(v uint64) uint64 { return v * 2 }),
			want: []problem.Code{CodeInodesPerBlock}, repair: true,
		},
		{
			name: "inopblog-mismatch",
			edit: primary("inopblog", func(v uint64) uint64 { return v + 1 }),
			want: []problem.Code{CodeInodesPerBlock}, repair: true,
		},
		{
			name: "agblklog-mismatch",
			edit: primary("agblklog", func(v uint64) uint64 { return v + 1 }),
			want: []problem.Code{CodeAGLog}, repair: true,
		},
		{
			name: "agblocks-under-16MiB",
			edit: func(e *editor) {
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
			want: []problem.Code{CodeAGSize, CodeSecondaryBadMagic, CodeSecondaryBadMagic}, repair: true,
		},
		{
			name: "agcount-vs-dblocks",
			edit: primary("dblocks", func(v uint64) uint64 { return v - agBlocks }),
			// 3 AGs of data for 4 AGs, and a last AG under 64 blocks.
			want: []problem.Code{CodeAGCount, CodeDataBlocks, CodeSecondaryGeometry, CodeSecondaryGeometry}, repair: true,
		},
		{
			name: "runt-last-ag",
			edit: primary("dblocks", func(v uint64) uint64 { return v - agBlocks + 10 }),
			want: []problem.Code{CodeDataBlocks, CodeSecondaryGeometry, CodeSecondaryGeometry}, repair: true,
		},
		{
			name: "agcount-zero",
			edit: primary("agcount", func(uint64) uint64 { return 0 }),
			want: []problem.Code{CodeAGCount, CodeDataBlocks, CodeSecondaryUnchecked}, repair: true,
		},
		{
			name: "fs-larger-than-partition",
			size: func(full int64) int64 { return full / 2 },
			// The last AG's superblock is past the given end.
			want: []problem.Code{CodeSecondaryUnchecked, CodeTruncated},
		},
		{
			name: "partition-smaller-than-sector",
			size: func(int64) int64 { return 300 },
			want: []problem.Code{CodeShortRead}, noInfo: true,
		},
		{
			name:     "truncated-file",
			truncate: 1 << 20,
			// Both secondaries lie past the end of the file, inside the
			// partition Check was told of.
			want: []problem.Code{CodeShortRead, CodeShortRead}, repair: true,
		},
		{
			name:     "truncated-to-half-a-sector",
			truncate: 256,
			want:     []problem.Code{CodeShortRead}, noInfo: true, repair: true,
		},
		{
			name: "log-outside-ag",
			edit: primary("logstart", func(uint64) uint64 { return 2<<agBlkLog | (agBlocks - 100) }),
			want: []problem.Code{CodeLogOutsideData}, repair: true,
		},
		{
			name: "log-beyond-last-ag",
			edit: primary("logstart", func(uint64) uint64 { return 7 << agBlkLog }),
			want: []problem.Code{CodeLogOutsideData}, repair: true,
		},
		{
			name: "external-log",
			edit: primary("logstart", func(uint64) uint64 { return 0 }),
			want: []problem.Code{CodeExternalLog}, repair: true,
		},
		{
			name: "log-too-large",
			edit: primary("logblocks", func(uint64) uint64 { return maxLogBlocks + 1 }),
			want: []problem.Code{CodeLogOutsideData, CodeLogSize}, repair: true,
		},
		{
			name: "log-empty",
			edit: primary("logblocks", func(uint64) uint64 { return 0 }),
			want: []problem.Code{CodeLogSize}, repair: true,
		},
		{
			name: "log-small",
			edit: primary("logblocks", func(uint64) uint64 { return 100 }),
			want: []problem.Code{CodeLogSmall}, repair: true,
		},
		{
			name: "log-stripe-unit",
			edit: primary("logsunit", func(uint64) uint64 { return 1000 }),
			want: []problem.Code{CodeLogSector}, repair: true,
		},
		{
			name: "inprogress",
			edit: primary("inprogress", func(uint64) uint64 { return 1 }),
			want: []problem.Code{CodeInProgress}, repair: true,
		},
		{
			name: "unknown-incompat",
			edit: primary("features_incompat", func(v uint64) uint64 { return v | 1<<20 }),
			want: []problem.Code{CodeUnknownIncompat}, repair: true,
		},
		{
			name: "needsrepair",
			edit: primary("features_incompat", func(v uint64) uint64 { return v | incompatNeedsRepair }),
			want: []problem.Code{CodeNeedsRepair}, repair: true,
		},
		{
			name: "unknown-ro-compat",
			edit: primary("features_ro_compat", func(v uint64) uint64 { return v | 1<<20 }),
			want: []problem.Code{CodeUnknownROCompat}, repair: true,
		},
		{
			name: "unknown-compat",
			edit: primary("features_compat", func(v uint64) uint64 { return v | 1<<20 }),
			// The kernel only suggests a newer kernel; xfs_repair 6.1
			// refuses to work on it (exit 1).
			want: []problem.Code{CodeUnknownCompat},
		},
		{
			name: "unknown-log-incompat",
			edit: primary("features_log_incompat", func(v uint64) uint64 { return v | 1<<20 }),
			// xfs_repair 6.1 only offers to copy the bits to the
			// secondaries (exit 0); the kernel refuses to recover such a
			// log and to write such a superblock.
			want: []problem.Code{CodeUnknownLogIncompat},
		},
		{
			name: "sparse-inode-alignment",
			edit: primary("inoalignmt", func(v uint64) uint64 { return v / 2 }),
			// xfs_repair 6.1 prints the kernel's complaint, yet exits 0
			// on the 4096-byte-sector image (1 on the other, for the
			// root inode's alignment).
			want: []problem.Code{CodeSparseInodes},
		},
		{
			name: "stripe-unit-without-dalign",
			edit: primary("unit", func(uint64) uint64 { return 16 }),
			want: []problem.Code{CodeStripe, CodeStripe}, repair: true,
		},
		{
			name: "imax-pct",
			edit: primary("imax_pct", func(uint64) uint64 { return 150 }),
			want: []problem.Code{CodeInodeLimits}, repair: true,
		},
		{
			name: "v4-quota-flags-on-v5",
			edit: primary("qflags", func(uint64) uint64 { return oQuotaEnfd }),
			// xfs_repair 6.1 prints the kernel's complaint ("Version 5
			// of Super block has XFS_OQUOTA bits") but exits 0.
			want: []problem.Code{CodeQuotaFlags},
		},
		{
			name: "realtime-extent-size-zero",
			edit: primary("rextsize", func(uint64) uint64 { return 0 }),
			want: []problem.Code{CodeRealtime}, repair: true,
		},
		{
			name: "wrong-label",
			edit: func(e *editor) {
				fix(e, 0, func() { e.setBytes(0, "fname", []byte("EPHEMERAL\x00\x00\x00")) })
			},
			want: []problem.Code{CodeLabel}, repair: true,
		},
		{
			name: "secondary-ag1-bad-crc",
			edit: func(e *editor) { e.flip(1, 0x1f0) },
			want: []problem.Code{CodeSecondaryBadCRC}, repair: true,
		},
		{
			name: "secondary-ag1-bad-magic",
			edit: func(e *editor) { e.set(1, "magicnum", 0) },
			want: []problem.Code{CodeSecondaryBadMagic}, repair: true,
		},
		{
			name: "secondary-last-ag-uuid",
			edit: func(e *editor) {
				fix(e, e.lastAG(), func() { e.flip(e.lastAG(), fieldByName(e.t, "uuid").off) })
			},
			// xfs_repair 6.1 does not compare a secondary's UUID (exit 0).
			want: []problem.Code{CodeSecondaryUUID},
		},
		{
			name: "secondary-last-ag-geometry",
			edit: func(e *editor) {
				fix(e, e.lastAG(), func() { e.set(e.lastAG(), "dblocks", dataBlock+1) })
			},
			want: []problem.Code{CodeSecondaryGeometry}, repair: true,
		},
		{
			name: "everything-at-once",
			edit: func(e *editor) {
				e.set(0, "inprogress", 1)
				e.set(0, "features_incompat", e.get(0, "features_incompat")|incompatNeedsRepair|1<<20)
				e.setBytes(0, "fname", []byte("X\x00"))
				e.flip(1, 0x1f0)
				e.flip(e.lastAG(), fieldByName(e.t, "uuid").off)
			},
			// Secondary AG 3's CRC breaks with its UUID.
			want: []problem.Code{
				CodeBadCRC, CodeInProgress, CodeLabel, CodeNeedsRepair,
				CodeSecondaryBadCRC, CodeSecondaryBadCRC, CodeSecondaryUUID, CodeUnknownIncompat,
			},
			repair: true,
		},
	}
}

// TestCheckCorruptions runs the corruption matrix on copies of both
// fixtures, asserting the exact codes and, where it has an opinion on the
// same bytes, agreement with xfs_repair -n.
func TestCheckCorruptions(t *testing.T) {
	for _, sectorSize := range []uint{512, 4096} {
		for _, tc := range corruptions() {
			t.Run(fmt.Sprintf("%d/%s", sectorSize, tc.name), func(t *testing.T) {
				path := copyPristine(t, sectorSize)

				if tc.edit != nil {
					e := openEditor(t, path)
					tc.edit(e)
					e.close()
				}

				if tc.truncate > 0 {
					if err := os.Truncate(path, tc.truncate); err != nil {
						t.Fatal(err)
					}
				}

				size := int64(imageSize)
				if tc.size != nil {
					size = tc.size(size)
				}

				info, ps := checkFile(t, path, size)

				got := slices.Sorted(slices.Values(problem.Codes(ps)))
				want := slices.Sorted(slices.Values(tc.want))

				if !slices.Equal(got, want) {
					t.Errorf("codes:\n got %v\nwant %v\nproblems:\n%s", got, want, problemLines(ps))
				}

				for _, p := range ps {
					if p.Severity != problem.SeverityError && p.Severity != problem.SeverityWarning && p.Severity != problem.SeverityInfo {
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

				rc, out := runRepair(t, path)
				t.Logf("xfs_repair -n exit %d: %s", rc, repairSummary(out))

				if (rc != 0) != problem.HasErrors(ps) {
					t.Errorf("xfs_repair -n exited %d but Check errors = %v:\n%s\nxfs_repair said:\n%s", rc, problem.HasErrors(ps), problemLines(ps), out)
				}
			})
		}
	}
}

// repairSummary keeps xfs_repair's verdict lines, dropping progress.
func repairSummary(out string) string {
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

func problemLines(ps []problem.Problem) string {
	var b strings.Builder

	for _, p := range ps {
		fmt.Fprintf(&b, "  %s\n", p)
	}

	return b.String()
}

// failingReader fails every read that touches [from, to).
type failingReader struct {
	r        io.ReaderAt
	from, to int64
	err      error
}

func (fr failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < fr.to && off+int64(len(p)) > fr.from {
		return 0, fr.err
	}

	return fr.r.ReadAt(p, off)
}

// TestCheckReadErrors checks that a failing device yields an error,
// wrapped, and no panic.
func TestCheckReadErrors(t *testing.T) {
	img := pristine(t, 512)
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
			r := failingReader{r: img, from: tc.from, to: tc.to, err: syscall.EIO}

			info, ps, err := Check(r, img.size)
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
		r := failingReader{r: img, from: agBytes, to: agBytes + 512, err: io.ErrUnexpectedEOF}

		info, ps, err := Check(r, img.size)
		if err != nil || info == nil {
			t.Fatalf("Check = %v, %v", info, err)
		}

		if got := problem.Codes(ps); !slices.Equal(got, []problem.Code{CodeShortRead}) {
			t.Errorf("codes %v", got)
		}
	})
}

// BenchmarkCheck measures a full check of the 100 MiB image from a file.
func BenchmarkCheck(b *testing.B) {
	path := copyPristine(b, 512)

	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	before := fixture.HashFile(b, path)

	b.ReportAllocs()

	for b.Loop() {
		_, ps, err := Check(f, imageSize)
		if err != nil || len(ps) != 0 {
			b.Fatalf("Check: %v %v", ps, err)
		}
	}

	b.StopTimer()

	if after := fixture.HashFile(b, path); after != before {
		b.Fatal("Check changed the image")
	}
}
