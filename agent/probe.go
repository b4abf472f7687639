package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"golang.org/x/sys/unix"
)

// Prober examines one disk for the gate.
//
// It takes the disk's partitions from the kernel (sysfs), which read the
// partition table before it announced the disk, and reads only what the
// boot depends on: the superblock or LUKS2 header of each partition named
// STATE, through that partition's own device node, as Talos's prober does.
// It reads the GPT only for the partition GUIDs, when the boot-partition
// hint needs them, and side by side with the verification. A disk sysfs
// does not list (an image file) is examined from its GPT instead.
type Prober struct {
	// DevRoot and SysRoot locate device nodes and sysfs.
	DevRoot, SysRoot string
	// PartitionUUIDs asks for each disk's GPT partition GUIDs.
	PartitionUUIDs bool
	// Epoch is the gate's start on the monotonic clock (MonotonicNS), from
	// which results time their start and end; 0 leaves them out.
	Epoch int64
}

// MonotonicNS reads CLOCK_MONOTONIC, which the gate and its probe worker
// share, unlike the monotonic readings of Go's time.Time.
func MonotonicNS() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}

	return ts.Nano()
}

// SinceEpoch is the time since p.Epoch in milliseconds (the gate's clock),
// or 0 without an epoch.
func (p Prober) SinceEpoch() float64 {
	if p.Epoch == 0 {
		return 0
	}

	return float64((MonotonicNS()-p.Epoch)/1000) / 1000
}

// Args are the probe-worker flags that make the worker's prober p.
func (p Prober) Args() []string {
	args := []string{"--dev", p.DevRoot, "--sys", p.SysRoot, "--epoch", strconv.FormatInt(p.Epoch, 10)}
	if p.PartitionUUIDs {
		args = append(args, "--partition-uuids")
	}

	return args
}

// Probe examines disk name. It never returns an error: the result says
// what could not be done.
//
// An examination that starts while no other runs in this process is locked
// to one thread, which runs at probeNice meanwhile and whose scheduler
// statistics then say how much of its time was work and how much waiting
// for a CPU (OnCPUMS, RunWaitMS); its GPT read, when asked for, runs beside
// it and is neither raised nor counted. Examinations that overlap (a JBOD's
// disks) are neither: a thread of their own each would cost more than the
// figure is worth.
func (p Prober) Probe(ctx context.Context, name string) ProbeResult {
	alone := probesRunning.Add(1) == 1
	defer probesRunning.Add(-1)

	var (
		schedstat *os.File
		before    schedTimes
		measured  bool
	)

	if alone {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer raiseThreadPriority()()

		var err error
		if schedstat, err = os.Open(threadSchedstat); err == nil {
			defer schedstat.Close()

			before, measured = threadTimes(schedstat)
		}
	}

	res := p.probe(ctx, name)
	res.EndedMS = p.SinceEpoch()

	if measured {
		if after, ok := threadTimes(schedstat); ok {
			res.OnCPUMS = nsToMS(after.onCPU - before.onCPU)
			res.RunWaitMS = nsToMS(after.runWait - before.runWait)
		}
	}

	return res
}

// probesRunning counts the examinations under way in this process.
var probesRunning atomic.Int64

// nsToMS is ns in milliseconds, to the microsecond.
func nsToMS(ns int64) float64 { return float64(ns/1000) / 1000 }

func (p Prober) probe(ctx context.Context, name string) ProbeResult {
	res := ProbeResult{Disk: name, StartedMS: p.SinceEpoch()}
	step := res.stepTimer()
	path := filepath.Join(p.DevRoot, name)

	if _, err := os.Stat(filepath.Join(p.SysRoot, "class", "block", name)); err != nil {
		return p.probeImage(ctx, path, &res, step)
	}

	// Opening the disk waits for the kernel's scan of its partition table,
	// if one is still under way: the partition list read next is whole.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return res.failed(fmt.Errorf("failed to open %s: %w", path, err))
	}
	defer f.Close()

	step("opened")

	parts, err := blockdev.KernelPartitions(p.SysRoot, name, blockdev.StatePartitionLabel)
	if err != nil {
		return res.failed(err)
	}

	step("partitions listed")

	gptRead := p.readGPTAside(ctx, path, step)
	sectorSize := blockdev.KernelSectorSize(p.SysRoot, name)

	for _, kp := range parts {
		c := blockdev.Candidate{
			Device: path, Partition: kp.Number, PartitionDevice: filepath.Join(p.DevRoot, kp.Name),
			Offset: kp.Start, Size: kp.Size, SectorSize: sectorSize,
		}
		res.Candidates = append(res.Candidates, verifyKernelPartition(ctx, f, c))
		step(fmt.Sprintf("partition %d verified", kp.Number))
	}

	gpt, err := gptRead()
	if err != nil {
		return res.failed(err)
	}

	res.addPartitionUUIDs(gpt)

	return res
}

// stepTimer returns what records a step of r's examination, timed from
// now; the GPT read beside the verification records its step through it
// too.
func (r *ProbeResult) stepTimer() func(step string) {
	start := time.Now()

	var mu sync.Mutex

	return func(step string) {
		mu.Lock()
		defer mu.Unlock()

		r.Steps = append(r.Steps, ProbeStep{Step: step, MS: float64(time.Since(start).Microseconds()) / 1000})
	}
}

// readGPTAside starts reading the disk's GPT, when the partition GUIDs are
// asked for, beside the verification, and returns what waits for it: the
// table read, or nil when it was not asked for.
func (p Prober) readGPTAside(ctx context.Context, path string, step func(string)) (wait func() (*blockdev.Disk, error)) {
	if !p.PartitionUUIDs {
		return func() (*blockdev.Disk, error) { return nil, nil }
	}

	var (
		done = make(chan struct{})
		gpt  *blockdev.Disk
		err  error
	)

	go func() {
		defer close(done)

		gpt, err = blockdev.Locate(ctx, path, blockdev.LocateOptions{}, blockdev.DefaultRetryPolicy)
		step("partition table read")
	}()

	return func() (*blockdev.Disk, error) {
		<-done

		return gpt, err
	}
}

// addPartitionUUIDs takes the partition GUIDs from the disk's GPT, when it
// was read.
func (r *ProbeResult) addPartitionUUIDs(gpt *blockdev.Disk) {
	if gpt == nil {
		return
	}

	r.PartitionUUIDs = gpt.PartitionUUIDs

	for i := range r.Candidates {
		for _, gc := range gpt.Candidates {
			if gc.Partition == r.Candidates[i].Partition {
				r.Candidates[i].PartitionUUID = gc.PartitionUUID
			}
		}
	}
}

// verifyKernelPartition verifies candidate c through its partition's node,
// sharing the page cache with udev's and Talos's probes of that node, or
// through the disk when the node cannot be opened.
func verifyKernelPartition(ctx context.Context, disk *os.File, c blockdev.Candidate) blockdev.Result {
	opts := blockdev.VerifyOptions{PrimaryOnly: true}

	part, err := os.OpenFile(c.PartitionDevice, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return blockdev.VerifyPartition(ctx, io.NewSectionReader(disk, int64(c.Offset), int64(c.Size)), c, opts, blockdev.DefaultRetryPolicy)
	}
	defer part.Close()

	return blockdev.VerifyPartition(ctx, part, c, opts, blockdev.DefaultRetryPolicy)
}

// probeImage examines a disk sysfs does not list from its GPT, the way
// `raid-settle verify` examines an image.
func (p Prober) probeImage(ctx context.Context, path string, res *ProbeResult, step func(string)) ProbeResult {
	disk, results, err := blockdev.VerifyDevice(ctx, path, blockdev.LocateOptions{Step: step}, blockdev.DefaultRetryPolicy)
	if err != nil {
		return res.failed(err)
	}

	res.PartitionUUIDs = disk.PartitionUUIDs
	res.Candidates = results

	return *res
}

// failed records err as the reason the disk could not be examined, telling
// a disk that cannot be opened yet from one that cannot be examined.
func (r ProbeResult) failed(err error) ProbeResult {
	r.NotReady = isNotReady(err)
	r.Error = err.Error()

	return r
}

// isNotReady tells a disk that is listed but cannot be opened yet from one
// that cannot be examined.
func isNotReady(err error) bool {
	for _, e := range []error{syscall.ENXIO, syscall.ENOENT, syscall.ENOMEDIUM, syscall.ENODEV} {
		if errors.Is(err, e) {
			return true
		}
	}

	return false
}
