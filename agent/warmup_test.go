package agent

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

var update = flag.Bool("update", false, "make warmup-xfs-sector.bin again with mkfs.xfs")

// TestWarmUpSuperblock: the embedded sector is an XFS superblock that the
// gate's check takes for a sound STATE, so that WarmUp runs the same code a
// real STATE partition does; with -update, mkfs.xfs makes it again.
func TestWarmUpSuperblock(t *testing.T) {
	if *update {
		testenv.Tools(t, "mkfs.xfs")

		img := filepath.Join(t.TempDir(), "state")
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}

		if err := os.Truncate(img, warmUpPartitionSize); err != nil {
			t.Fatal(err)
		}

		if err := diskimage.FormatXFS(img, "STATE", 512); err != nil {
			t.Fatal(err)
		}

		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}

		if err := os.WriteFile("warmup-xfs-sector.bin", data[:512], 0o644); err != nil {
			t.Fatal(err)
		}

		t.Skip("warmup-xfs-sector.bin made again: rebuild and rerun without -update")
	}

	warm := WarmUp()
	if len(warm.Candidates) != 1 {
		t.Fatalf("the warm-up examined %+v", warm)
	}

	res := warm.Candidates[0]
	if res.Verdict != blockdev.VerdictOK || res.ProbedAs != "xfs" || res.XFS == nil {
		t.Fatalf("the warm-up sector verifies as %+v", res)
	}

	if res.XFS.Label != "STATE" {
		t.Errorf("label %q", res.XFS.Label)
	}
}

// TestZeroPadded reads across the end of the embedded bytes.
func TestZeroPadded(t *testing.T) {
	z := zeroPadded{[]byte("abc")}
	p := []byte("xxxxx")

	if n, err := z.ReadAt(p, 1); n != 5 || err != nil || string(p) != "bc\x00\x00\x00" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, p)
	}

	if n, err := z.ReadAt(p, 1<<30); n != 5 || err != nil || string(p) != "\x00\x00\x00\x00\x00" {
		t.Fatalf("ReadAt far = %d, %v, %q", n, err, p)
	}
}

// BenchmarkWarmUp is one warm-up as the worker runs it: WarmUp, and its
// result encoded as a reply. The first pass in a process is the cold one
// (run with -benchtime 1x to see it).
func BenchmarkWarmUp(b *testing.B) {
	enc := json.NewEncoder(io.Discard)

	for b.Loop() {
		if err := enc.Encode(probeReply{Result: WarmUp()}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWarmUpWaitsForIdle: the worker warms up only while no probe is under
// way, and sends the result as a reply to no request, which the gate's
// side drops.
func TestWarmUpWaitsForIdle(t *testing.T) {
	defer func(d time.Duration) { warmUpIdle = d }(warmUpIdle)
	warmUpIdle = 20 * time.Millisecond

	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()

	var probing atomic.Bool

	release := make(chan struct{})
	warmed := make(chan bool, 1)

	go func() {
		_ = ServeProbes(reqR, repW, 1, func() ProbeResult {
			warmed <- probing.Load()

			return WarmUp()
		}, func(_ context.Context, disk string) ProbeResult {
			probing.Store(true)
			defer probing.Store(false)

			<-release

			return ProbeResult{Disk: disk}
		})
	}()

	clock := atomic.Int64{}
	w := NewProbeWorker(reqW, repR, func() float64 { return float64(clock.Add(1)) })
	defer w.Close()

	done := make(chan ProbeResult, 1)

	go func() { done <- w.Send("sda")(context.Background()) }()

	// Several idle periods pass while the probe hangs.
	time.Sleep(10 * warmUpIdle)
	close(release)

	if r := <-done; r.Disk != "sda" || r.Error != "" || len(r.Candidates) != 0 {
		t.Fatalf("the probe got %+v", r)
	}

	select {
	case duringProbe := <-warmed:
		if duringProbe {
			t.Fatal("warmed up while a probe was under way")
		}
	case <-time.After(time.Minute):
		t.Fatal("never warmed up")
	}

	// The gate's side notes when the warm-up's reply came; the hello's
	// step stays as it was.
	deadline := time.Now().Add(time.Minute)
	for len(w.Startup()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}

	steps := w.Startup()
	if len(steps) != 2 || steps[0].MS != 1 || steps[1].Step != "probe worker warmed up" || steps[1].MS <= 1 || steps[1].CPUMS <= 0 {
		t.Errorf("worker start-up %+v: want it ready at 1 and warmed up after that, with the CPU time it had used", steps)
	}
}
