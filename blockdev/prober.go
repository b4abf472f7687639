package blockdev

import (
	"bytes"
	"errors"
	"io"
)

// Talos finds STATE with go-blockdevice's blkid (v2.0.32,
// blkid/internal/chain/chain.go and blkid/probe.go): it refuses to probe a
// range under MinProbeSize, reads the start, and takes the first prober
// whose magic matches and whose own check passes. For STATE only two of them
// matter, and this file restates their checks so that the agent does not
// link the whole prober: the xfs prober (magic "XFSB" at 0, then
// SuperBlock.Valid in blkid/internal/filesystems/xfs/extra.go) and the luks
// prober (magic "LUKS\xba\xbe" at 0, then version 2; see luksBlkidMisses).
// TestProberNameMatchesBlkid compares the two on every fixture.

// proberMinSize is go-blockdevice's blkid.MinProbeSize.
const proberMinSize = 16 << 10

// Names Talos's prober gives the two contents a STATE may hold.
const (
	ProbedXFS  = "xfs"
	ProbedLUKS = "luks"
)

// proberName returns the name Talos's prober gives the content of a
// partition of size bytes read through r: ProbedXFS, ProbedLUKS, or "" when
// it recognises neither (Talos then reports STATE missing). err is a read
// failure other than the partition ending.
func proberName(r io.ReaderAt, size int64) (string, error) {
	if size < proberMinSize {
		return "", nil
	}

	head := make([]byte, xfsMinSectorSize)

	n, err := r.ReadAt(head, 0)
	if n < len(head) {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return "", err
		}

		return "", nil
	}

	switch {
	case bytes.HasPrefix(head, xfsMagicBytes):
		if xfsProberAccepts(xfsDecode(head)) {
			return ProbedXFS, nil
		}
	case bytes.HasPrefix(head, luksMagicPrimary):
		if miss, err := luksBlkidMisses(r, size); err != nil {
			return "", err
		} else if miss == "" {
			return ProbedLUKS, nil
		}
	}

	return "", nil
}

// xfsProberAccepts restates the geometry checks of go-blockdevice's xfs
// prober, in its own integer widths: its products and differences wrap as
// its uint32 and uint8 fields do. It never looks at the CRC.
func xfsProberAccepts(sb xfsDSB) bool {
	const (
		minRTExtent = 4 << 10
		maxRTExtent = 1 << 30
	)

	rtExtent := sb.RExtSize * sb.BlockSize // wraps, as the prober's does

	switch {
	case sb.AGCount == 0,
		sb.SectSize < xfsMinSectorSize || sb.SectSize > xfsMaxSectorSize,
		sb.SectLog < xfsMinSectorLog || sb.SectLog > xfsMaxSectorLog,
		uint32(sb.SectSize) != 1<<sb.SectLog,
		sb.BlockSize < xfsMinBlockSize || sb.BlockSize > xfsMaxBlockSize,
		sb.BlockLog < xfsMinBlockLog || sb.BlockLog > xfsMaxBlockLog,
		sb.BlockSize != 1<<sb.BlockLog,
		sb.InodeSize < 1<<xfsMinInodeLog || sb.InodeSize > 1<<xfsMaxInodeLog,
		sb.InodeLog < xfsMinInodeLog || sb.InodeLog > xfsMaxInodeLog,
		uint32(sb.InodeSize) != 1<<sb.InodeLog,
		sb.BlockLog-sb.InodeLog != sb.InoPBLog,
		rtExtent > maxRTExtent || rtExtent < minRTExtent,
		sb.IMaxPct > 100,
		sb.DBlocks == 0:
		return false
	}

	return true
}
