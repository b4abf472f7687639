package blockdev

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/raid-settle/raid-settle/blockdev/internal/fixture"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// talosImage builds a Talos-like disk image with the real tools and returns
// its path and its SHA-256, so the test can check it was never written.
func talosImage(t *testing.T, sectorSize uint, state diskimage.Content, damage diskimage.Damage) string {
	t.Helper()

	testenv.Tools(t, testenv.DiskTools...)

	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")

	if err := diskimage.Build(img, dir, diskimage.TalosDisk(sectorSize, state)); err != nil {
		t.Fatal(err)
	}

	if damage != "" {
		if err := diskimage.DamageState(img, sectorSize, damage); err != nil {
			t.Fatal(err)
		}
	}

	sum := fixture.HashFile(t, img)
	t.Cleanup(func() {
		if fixture.HashFile(t, img) != sum {
			t.Errorf("%s was modified", img)
		}
	})

	return img
}

// sgdiskFirstSector asks sgdisk, independently of go-blockdevice, where
// partition n of a 512-byte-sector image starts.
func sgdiskFirstSector(t *testing.T, img string, n int) uint64 {
	t.Helper()

	out, err := exec.Command("sgdisk", "-i", strconv.Itoa(n), img).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk: %v: %s", err, out)
	}

	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "First sector: "); ok {
			v, err := strconv.ParseUint(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatalf("sgdisk: %v", err)
			}

			return v
		}
	}

	t.Fatalf("sgdisk printed no first sector: %s", out)

	return 0
}

func TestLocateTalosDisk(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sectorSize uint
		state      diskimage.Content
		probedAs   string
	}{
		{"xfs-512", 512, diskimage.XFS, "xfs"},
		{"xfs-4096", 4096, diskimage.XFS, "xfs"},
		{"luks2-512", 512, diskimage.LUKS2, "luks"},
		{"luks2-4096", 4096, diskimage.LUKS2, "luks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := talosImage(t, tc.sectorSize, tc.state, "")

			disk, err := Locate(context.Background(), img, LocateOptions{}, fastPolicy)
			if err != nil {
				t.Fatal(err)
			}

			if disk.Table != "gpt" || disk.Partitions != 6 || disk.SectorSize != tc.sectorSize {
				t.Fatalf("disk = %+v", disk)
			}

			if len(disk.Candidates) != 1 {
				t.Fatalf("%d candidates, want 1", len(disk.Candidates))
			}

			c := disk.Candidates[0]
			if c.Partition != 5 || c.Size != 100*diskimage.MiB || c.PartitionDevice != "" {
				t.Fatalf("candidate = %+v", c)
			}

			_, results, err := VerifyDevice(context.Background(), img, LocateOptions{}, fastPolicy)
			if err != nil || len(results) != 1 {
				t.Fatalf("VerifyDevice: %d results, %v", len(results), err)
			}

			if r := results[0]; r.ProbedAs != tc.probedAs || !r.Probed {
				t.Fatalf("verified as probed_as %q (probed %t), want %q", r.ProbedAs, r.Probed, tc.probedAs)
			}

			if tc.sectorSize == 512 {
				if want := sgdiskFirstSector(t, img, 5) * 512; c.Offset != want {
					t.Fatalf("offset %d, sgdisk says %d", c.Offset, want)
				}
			}
		})
	}
}

func TestLocateWithoutGPT(t *testing.T) {
	img := filepath.Join(t.TempDir(), "blank.img")
	if err := diskimage.Blank(img, 64*diskimage.MiB); err != nil {
		t.Fatal(err)
	}

	disk, err := Locate(context.Background(), img, LocateOptions{}, fastPolicy)
	if err != nil {
		t.Fatal(err)
	}

	if disk.Table != "" || len(disk.Candidates) != 0 {
		t.Fatalf("blank disk: %+v", disk)
	}
}

func TestVerifyAllOutcomes(t *testing.T) {
	healthy := talosImage(t, 512, diskimage.XFS, "")
	healthy4k := talosImage(t, 4096, diskimage.XFS, "")
	badCRC := talosImage(t, 512, diskimage.XFS, diskimage.DamageCRC)
	badGeometry := talosImage(t, 512, diskimage.XFS, diskimage.DamageGeometry)
	luks := talosImage(t, 512, diskimage.LUKS2, "")
	blank := filepath.Join(t.TempDir(), "blank.img")

	if err := diskimage.Blank(blank, 64*diskimage.MiB); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		paths    []string
		outcome  Outcome
		verdicts []Verdict
		codes    []problem.Code // must all appear on the first candidate
	}{
		{"healthy", []string{healthy}, OutcomeOK, []Verdict{VerdictOK}, nil},
		{"healthy 4Kn", []string{healthy4k}, OutcomeOK, []Verdict{VerdictOK}, nil},
		{"luks2", []string{luks}, OutcomeOK, []Verdict{VerdictOK}, []problem.Code{CodeLUKS2InnerUnverified}},
		{"bad crc only", []string{badCRC}, OutcomeFailed, []Verdict{VerdictCorrupt}, []problem.Code{xfs.CodeBadCRC}},
		{"bad geometry", []string{badGeometry}, OutcomeFailed, []Verdict{VerdictCorrupt}, []problem.Code{CodeNotLocated}},
		{"blank", []string{blank}, OutcomeNoState, nil, nil},
		{"blank and healthy", []string{blank, healthy}, OutcomeOK, []Verdict{VerdictOK}, nil},
		{"two STATEs", []string{healthy, badCRC}, OutcomeMultiple, []Verdict{VerdictOK, VerdictCorrupt}, nil},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope")}, OutcomeError, nil, nil},
		{"healthy and a missing file", []string{healthy, "/nonexistent"}, OutcomeError, []Verdict{VerdictOK}, nil},
		{"a directory", []string{t.TempDir()}, OutcomeError, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := VerifyAll(context.Background(), tc.paths, LocateOptions{}, fastPolicy)

			if rep.Outcome != tc.outcome {
				t.Fatalf("outcome %v, want %v: %s", rep.Outcome, tc.outcome, rep.Summary)
			}

			var verdicts []Verdict
			for _, c := range rep.Candidates {
				verdicts = append(verdicts, c.Verdict)
			}

			if !slices.Equal(verdicts, tc.verdicts) {
				t.Fatalf("verdicts %v, want %v", verdicts, tc.verdicts)
			}

			for _, code := range tc.codes {
				if !slices.Contains(problem.Codes(rep.Candidates[0].Problems), code) {
					t.Fatalf("codes %v lack %s", problem.Codes(rep.Candidates[0].Problems), code)
				}
			}
		})
	}
}

// eioFile fails its first failures reads with EIO, like a RAID volume that is
// still coming up.
type eioFile struct {
	f        *os.File
	failures int
}

func (e *eioFile) ReadAt(p []byte, off int64) (int, error) {
	if e.failures > 0 {
		e.failures--

		return 0, syscall.EIO
	}

	return e.f.ReadAt(p, off)
}

func TestVerifyRetriesTransientErrors(t *testing.T) {
	img := talosImage(t, 512, diskimage.XFS, "")

	disk, err := Locate(context.Background(), img, LocateOptions{}, fastPolicy)
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if res := Verify(context.Background(), &eioFile{f: f, failures: 3}, disk.Candidates[0], fastPolicy); res.Verdict != VerdictOK {
		t.Fatalf("after 3 transient EIOs: %s %v", res.Verdict, res.Problems)
	}

	res := Verify(context.Background(), &eioFile{f: f, failures: 1 << 30}, disk.Candidates[0], fastPolicy)
	if res.Verdict != VerdictUnreadable || !slices.Equal(problem.Codes(res.Problems), []problem.Code{CodeUnreadable}) {
		t.Fatalf("persistent EIO: %s %v", res.Verdict, res.Problems)
	}
}

// attachLoop attaches img read-only to a loop device, with partition nodes,
// and detaches it when the test ends. It needs root.
func attachLoop(t *testing.T, img string) string {
	t.Helper()
	testenv.Root(t)
	testenv.Tools(t, "losetup")

	out, err := exec.Command("losetup", "--read-only", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup (the tests need root): %v", err)
	}

	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		_ = exec.Command("partx", "-d", dev).Run()
		_ = exec.Command("losetup", "-d", dev).Run()
	})

	if out, err := exec.Command("partx", "-a", dev).CombinedOutput(); err != nil {
		t.Fatalf("partx -a %s: %v: %s", dev, err, out)
	}

	return dev
}

func TestLocateBlockDevice(t *testing.T) {
	img := talosImage(t, 512, diskimage.XFS, "")
	dev := attachLoop(t, img)

	// Hold an exclusive lock on the disk, as a tool formatting it would:
	// raid-settle must neither wait for it nor take one of its own.
	lock, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	if err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	done := make(chan Report, 1)
	go func() { done <- VerifyAll(context.Background(), []string{dev}, LocateOptions{}, fastPolicy) }()

	var rep Report
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("verify is blocked by another process's lock")
	}

	if rep.Outcome != OutcomeOK || rep.Candidates[0].PartitionDevice != dev+"p5" || rep.Candidates[0].ProbedAs != "xfs" {
		t.Fatalf("report: %+v", rep)
	}

	if _, err := Locate(context.Background(), dev+"p5", LocateOptions{}, fastPolicy); err == nil || !strings.Contains(err.Error(), "partition") {
		t.Fatalf("Locate on a partition: %v, want ErrPartition", err)
	}
}

func TestWholeDisks(t *testing.T) {
	sys := t.TempDir()

	for name, attrs := range map[string]map[string]string{
		"sda":     {"size": "1000"},
		"sda1":    {"size": "100", "partition": "1"},
		"loop0":   {"size": "0"},
		"ram0":    {"size": "8192"},
		"nvme0n1": {"size": "2000"},
	} {
		dir := filepath.Join(sys, "class", "block", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}

		for k, v := range attrs {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	got, err := WholeDisks(sys, "/dev")
	if err != nil {
		t.Fatal(err)
	}

	if want := []string{"/dev/nvme0n1", "/dev/sda"}; !slices.Equal(got, want) {
		t.Fatalf("WholeDisks = %v, want %v", got, want)
	}
}

// BenchmarkVerifyTalosDisk measures what the gate does per disk: read the
// GPT, ask blkid what each partition holds, and verify STATE.
func BenchmarkVerifyTalosDisk(b *testing.B) {
	for _, tc := range []struct {
		name  string
		state diskimage.Content
	}{{"xfs", diskimage.XFS}, {"luks2", diskimage.LUKS2}} {
		b.Run(tc.name, func(b *testing.B) {
			testenv.Tools(b, testenv.DiskTools...)

			dir := b.TempDir()
			img := filepath.Join(dir, "disk.img")

			if err := diskimage.Build(img, dir, diskimage.TalosDisk(512, tc.state)); err != nil {
				b.Fatal(err)
			}

			b.ResetTimer()

			for i := 0; i < b.N; i++ {
				_, results, err := VerifyDevice(context.Background(), img, LocateOptions{}, DefaultRetryPolicy)
				if err != nil || len(results) != 1 || results[0].Verdict != VerdictOK {
					b.Fatalf("%v %+v", err, results)
				}
			}
		})
	}
}

// TestProbedAsOnBlockDevice: on a block device, Talos's prober is asked
// about the STATE partition's own node, as Talos's discovery asks it; a
// superblock that fails its sanity checks is not recognised there either.
func TestProbedAsOnBlockDevice(t *testing.T) {
	for _, tc := range []struct {
		damage   diskimage.Damage
		probedAs string
		code     problem.Code
	}{
		{damage: "", probedAs: "xfs"},
		{damage: diskimage.DamageGeometry, probedAs: "", code: CodeNotLocated},
	} {
		dev := attachLoop(t, talosImage(t, 512, diskimage.XFS, tc.damage))

		_, results, err := VerifyDevice(context.Background(), dev, LocateOptions{}, fastPolicy)
		if err != nil || len(results) != 1 {
			t.Fatalf("damage %q: %v, %+v", tc.damage, err, results)
		}

		r := results[0]
		if !r.Probed || r.ProbedAs != tc.probedAs || (tc.code != "" && !slices.Contains(problem.Codes(r.Problems), tc.code)) {
			t.Errorf("damage %q: probed %t as %q, problems %v; want %q and %q", tc.damage, r.Probed, r.ProbedAs, problem.Codes(r.Problems), tc.probedAs, tc.code)
		}
	}
}
