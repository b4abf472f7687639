package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/fstree"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// The test binary doubles as a probe worker: the gate test below starts it
// with `probe-worker --dev DIR`, as the gate starts raid-settle.
const workerEnv = "RAID_SETTLE_TEST_PROBE_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" && len(os.Args) > 1 && os.Args[1] == "probe-worker" {
		if err := ServeProbes(os.Stdin, os.Stdout, 0, nil, fifoProbe(os.Args[slices.Index(os.Args, "--dev")+1])); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}

		os.Exit(0)
	}

	os.Exit(m.Run())
}

// fifoProbe answers "hung" by opening the FIFO dev/hung, which blocks in the
// kernel until someone opens it for writing (a read that does not come
// back), after writing its pid to dev/hung.pid; any other disk holds a
// verified STATE.
func fifoProbe(dev string) func(context.Context, string) ProbeResult {
	return func(_ context.Context, disk string) ProbeResult {
		if disk == "hung" {
			_ = os.WriteFile(filepath.Join(dev, "hung.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)

			f, err := os.Open(filepath.Join(dev, "hung"))
			if err == nil {
				f.Close()
			}

			return ProbeResult{Disk: disk, Error: "the hung disk came back"}
		}

		p := stateOn(disk, blockdev.VerdictOK)
		p.Disk = disk

		return p
	}
}

func TestProbeWorkerProtocol(t *testing.T) {
	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()

	release := make(chan struct{})
	served := make(chan error, 1)

	go func() {
		served <- ServeProbes(reqR, repW, 12.5, WarmUp, func(ctx context.Context, disk string) ProbeResult {
			switch disk {
			case "hung":
				<-release

				return ProbeResult{Disk: disk}
			case "boom":
				panic("disk on fire")
			default:
				return stateOn(disk, blockdev.VerdictOK)
			}
		})
	}()

	clock := 0.0
	w := NewProbeWorker(reqW, repR, func() float64 { clock++; return clock })

	ctx, cancel := context.WithCancel(context.Background())
	hung := make(chan ProbeResult, 1)

	go func() { hung <- w.Send("hung")(ctx) }()

	// A hung disk holds up no other.
	if r := w.Send("sdb")(context.Background()); r.Disk != "sdb" || len(r.Candidates) != 1 || r.Candidates[0].Verdict != blockdev.VerdictOK {
		t.Fatalf("sdb: %+v", r)
	} else if r.ReceivedMS <= 1 {
		t.Errorf("sdb's reply was read at %v on the gate's clock; want after the worker's hello (1)", r.ReceivedMS)
	}

	// The worker's hello came first.
	if steps := w.Startup(); len(steps) != 1 || steps[0].Step != "probe worker ready" || steps[0].MS != 12.5 || steps[0].CPUMS <= 0 {
		t.Errorf("worker start-up %+v, want it ready at the 12.5 it said, with the CPU time it had used", steps)
	}

	if r := w.Send("boom")(context.Background()); r.Disk != "boom" || !strings.Contains(r.Error, "internal error: disk on fire") {
		t.Fatalf("a panicking probe: %+v", r)
	}

	// The gate gives up waiting; the probe goes on in the worker.
	cancel()

	if r := <-hung; r.Disk != "hung" || !errors.Is(ctx.Err(), context.Canceled) || r.Error != context.Canceled.Error() {
		t.Fatalf("hung: %+v", r)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	if err := <-served; err != nil {
		t.Fatalf("ServeProbes after its input closed: %v", err)
	}

	close(release)

	// A worker that has gone answers at once, with why.
	repW.Close()

	for w.Err() == nil {
		time.Sleep(time.Millisecond)
	}

	if r := w.Send("sdc")(context.Background()); r.Disk != "sdc" || !strings.Contains(r.Error, "probe worker stopped") {
		t.Fatalf("after the worker stopped: %+v", r)
	}
}

// TestSendGivesUpOnAStalledWorker fills the stdin of a worker that reads
// nothing: the request that finds no room fails after requestWriteTimeout,
// the worker is taken for gone, and every request waiting on it is answered.
func TestSendGivesUpOnAStalledWorker(t *testing.T) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer reqR.Close()

	repR, repW := io.Pipe()
	defer repW.Close()

	w := NewProbeWorker(reqW, repR, nil)
	first := w.Send("sda")

	for i := 0; w.Err() == nil; i++ {
		if i > 1<<20 {
			t.Fatal("a million requests into a pipe nobody reads, and the worker is still taken for serving")
		}

		w.Send("sdb")
	}

	if !errors.Is(w.Err(), os.ErrDeadlineExceeded) {
		t.Fatalf("worker gone because %v, want the write deadline", w.Err())
	}

	if r := first(context.Background()); r.Disk != "sda" || !strings.Contains(r.Error, "probe worker gone") {
		t.Fatalf("the first request, after the worker was taken for gone: %+v", r)
	}
}

// TestGateReleasesWhileAProbeHangs runs the probes in a real child process,
// one of which blocks in the kernel: the gate releases on the verified STATE
// after PendingProbeGrace, names the hung disk, and returns while the child
// is still blocked.
func TestGateReleasesWhileAProbeHangs(t *testing.T) {
	t.Setenv(workerEnv, "1")

	var steps []scriptStep

	steps = append(steps, scriptStep{0, megaraidBind(megaraid)})
	for _, name := range []string{"hung", "sdb"} {
		for _, in := range diskArrives(0, megaraid, name) {
			steps = append(steps, scriptStep{0, *in.Event})
		}
	}

	g, log := testGate(t, "", steps, nil)
	g.Probe = nil
	g.WorkerBinary = os.Args[0]

	if err := os.MkdirAll(g.DevRoot, 0o755); err != nil {
		t.Fatal(err)
	}

	fifo := filepath.Join(g.DevRoot, "hung")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	rep := g.Run(context.Background())
	if rep == nil || rep.Decision == nil || rep.Decision.Decision != DecisionStateVerified || !slices.Equal(rep.Decision.Unexamined, []string{"hung"}) {
		t.Fatalf("report: %+v\nlog:\n%s", rep.Decision, log)
	}

	if !strings.Contains(rep.Decision.Reason, "not waiting longer than 2s for hung") {
		t.Fatalf("reason: %s", rep.Decision.Reason)
	}

	// The report carries both processes' peak memory and CPU time, the
	// worker's from its reply about sdb.
	if u := rep.Usage; u == nil || u.Gate.MaxRSSKB <= 0 || u.Worker.MaxRSSKB <= 0 || u.Gate.CPUMS <= 0 {
		t.Errorf("usage: %+v", u)
	}

	// The probe was under way in the worker when the gate returned.
	if _, err := os.Stat(filepath.Join(g.DevRoot, "hung.pid")); err != nil {
		t.Fatalf("the hung probe never started: %v", err)
	}

	// The worker exits once its stdin closes; should it still be in open(2),
	// this lets it go.
	if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// TestProberExaminesAnImageFromItsGPT examines a Talos-like image made by
// the real tools, which sysfs does not list, and checks the steps the
// report will time.
func TestProberExaminesAnImageFromItsGPT(t *testing.T) {
	dir := talosDiskImage(t, "sdb")

	res := Prober{DevRoot: dir, SysRoot: filepath.Join(dir, "sys")}.Probe(context.Background(), "sdb")
	if res.Error != "" || len(res.Candidates) != 1 || res.Candidates[0].Verdict != blockdev.VerdictOK || len(res.PartitionUUIDs) != 6 {
		t.Fatalf("probe: %+v", res)
	}

	checkSteps(t, res, "opened", "partition table read", "partition 5 verified")
}

// TestProberTakesTheKernelsPartitions examines the same image as a disk
// the kernel lists: the partitions come from sysfs, STATE is verified from
// its own offset (there is no partition node here, so through the disk),
// and the GPT is read only when the partition GUIDs are asked for.
func TestProberTakesTheKernelsPartitions(t *testing.T) {
	dir := talosDiskImage(t, "sdb")

	img, err := os.Open(filepath.Join(dir, "sdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()

	state, err := diskimage.FindPartition(img, 512, "STATE")
	if err != nil {
		t.Fatal(err)
	}

	sys := filepath.Join(dir, "sys")
	spec := fmt.Sprintf(`
-- class/block/sdb/sdb5/start --
%d
-- class/block/sdb/sdb5/size --
%d
-- class/block/sdb/sdb5/uevent --
DEVNAME=sdb5
DEVTYPE=partition
PARTN=5
PARTNAME=STATE
-- class/block/sdb/sdb6/start --
1
-- class/block/sdb/sdb6/size --
1
-- class/block/sdb/sdb6/uevent --
DEVTYPE=partition
PARTN=6
PARTNAME=EPHEMERAL
`, state.FirstLBA, state.LastLBA-state.FirstLBA+1)
	if err := fstree.Write(sys, spec); err != nil {
		t.Fatal(err)
	}

	res := Prober{DevRoot: dir, SysRoot: sys}.Probe(context.Background(), "sdb")
	if res.Error != "" || len(res.Candidates) != 1 || len(res.PartitionUUIDs) != 0 {
		t.Fatalf("probe: %+v", res)
	}

	c := res.Candidates[0]
	if c.Verdict != blockdev.VerdictOK || c.ProbedAs != "xfs" || c.Offset != state.FirstLBA*512 || c.PartitionDevice != filepath.Join(dir, "sdb5") || c.PartitionUUID != "" {
		t.Fatalf("candidate: %+v", c)
	}

	if !slices.Contains(problem.Codes(c.Problems), xfs.CodeSecondaryUnchecked) {
		t.Errorf("problems %v: the gate's check should leave the secondary superblocks to verify", problem.Codes(c.Problems))
	}

	checkSteps(t, res, "opened", "partitions listed", "partition 5 verified")

	res = Prober{DevRoot: dir, SysRoot: sys, PartitionUUIDs: true}.Probe(context.Background(), "sdb")
	if res.Error != "" || len(res.Candidates) != 1 || len(res.PartitionUUIDs) != 6 || res.Candidates[0].PartitionUUID != strings.ToLower(state.PartGUID.String()) {
		t.Fatalf("probe with partition GUIDs: %+v", res)
	}
}

// talosDiskImage builds a Talos-like disk image named name in a new
// directory, with the real tools, and returns the directory.
func talosDiskImage(t *testing.T, name string) string {
	t.Helper()

	testenv.Tools(t, testenv.DiskTools...)

	dir := t.TempDir()
	if err := diskimage.Build(filepath.Join(dir, name), dir, diskimage.TalosDisk(512, diskimage.XFS)); err != nil {
		t.Fatal(err)
	}

	return dir
}

// checkSteps checks the names of the probe's timed steps, that their times
// never go back, and the probe thread's scheduler figures.
func checkSteps(t *testing.T, res ProbeResult, want ...string) {
	t.Helper()

	var steps []string

	last := 0.0

	for _, s := range res.Steps {
		steps = append(steps, s.Step)

		if s.MS < last {
			t.Errorf("step %q at %.3fms, before the previous one at %.3fms", s.Step, s.MS, last)
		}

		last = s.MS
	}

	if !slices.Equal(steps, want) {
		t.Errorf("steps %q, want %q", steps, want)
	}

	// Where the kernel keeps schedstat, the probe's thread was on a CPU.
	if _, err := os.Stat(threadSchedstat); err == nil && (res.OnCPUMS <= 0 || res.RunWaitMS < 0) {
		t.Errorf("probe thread on a CPU for %.3fms, waiting for one %.3fms", res.OnCPUMS, res.RunWaitMS)
	}
}

// BenchmarkProbeWorkerRoundTrip is one probe through the worker protocol,
// both sides in this process over pipes: the request encoded, decoded,
// the reply (a blank disk's, as most of a JBOD's are) encoded with the
// worker's usage, decoded and handed back.
func BenchmarkProbeWorkerRoundTrip(b *testing.B) {
	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()

	go func() {
		_ = ServeProbes(reqR, repW, 1, nil, func(_ context.Context, disk string) ProbeResult {
			return ProbeResult{Disk: disk, StartedMS: 4010.25, EndedMS: 4023.5, Steps: []ProbeStep{{Step: "opened", MS: 1.0}, {Step: "partitions listed", MS: 59.4}}}
		})
	}()

	w := NewProbeWorker(reqW, repR, func() float64 { return 1 })
	defer w.Close()

	b.ReportAllocs()

	for b.Loop() {
		if r := w.Send("sdiw")(context.Background()); r.Disk != "sdiw" || r.Error != "" {
			b.Fatalf("%+v", r)
		}
	}
}
