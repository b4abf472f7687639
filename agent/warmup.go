package agent

import (
	"context"
	_ "embed"

	"github.com/raid-settle/raid-settle/blockdev"
)

// warmUpSuperblock is the first sector of an XFS filesystem made the way
// Talos makes STATE (mkfs.xfs -L STATE on 100 MiB), the one sector the
// gate's check reads. `go test ./agent -run TestWarmUpSuperblock -args
// -update` makes it again with the real tool.
//
//go:embed warmup-xfs-sector.bin
var warmUpSuperblock []byte

// warmUpPartitionSize is the size of the partition warmUpSuperblock was made
// on.
const warmUpPartitionSize = 100 << 20

// WarmUp runs once, in memory, what examining a STATE partition runs: the
// verification of warmUpSuperblock. The worker then sends its result as a
// reply (ServeProbes), which warms the encoding of a probe result too. A
// process's first pass through that code pays for faulting in its pages
// (read from the extension's squashfs on a node) and for the caches
// encoding/json builds per type: about 1 ms natively, then 8 to 14 µs
// a pass (BenchmarkWarmUp); under an emulator, translating the code costs tens of
// milliseconds more. The probe worker runs it once idle, so that a STATE
// disk shown later is examined on warm code. It reads no disk and writes
// nothing.
func WarmUp() ProbeResult {
	c := blockdev.Candidate{Device: "warm-up", Partition: 5, Size: warmUpPartitionSize, SectorSize: 512}

	return ProbeResult{Disk: "warm-up", Candidates: []blockdev.Result{
		blockdev.VerifyPartition(context.Background(), zeroPadded{warmUpSuperblock}, c, blockdev.VerifyOptions{PrimaryOnly: true}, blockdev.DefaultRetryPolicy),
	}}
}

// zeroPadded reads as its bytes followed by zeroes, up to any offset.
type zeroPadded struct{ head []byte }

func (z zeroPadded) ReadAt(p []byte, off int64) (int, error) {
	clear(p)

	if off < int64(len(z.head)) {
		copy(p, z.head[off:])
	}

	return len(p), nil
}
