package blockdev

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/raid-settle/raid-settle/blockdev/luks2"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
)

// This file is Talos's side of a verification. The format packages say what
// the kernel and cryptsetup make of STATE; Talos first has to find it and,
// when it is encrypted, accept its header, and its own code is stricter than
// both. Here go-blockdevice's checks are restated (so that the agent does
// not link the whole prober), each reported with its own code, and Outlook
// turns a verified Result into what Talos will do at boot.

// Codes of findings about Talos's own view of STATE.
const (
	// CodeNotLocated: Talos's prober (go-blockdevice blkid) does not
	// recognise the content, so Talos will report STATE missing.
	CodeNotLocated problem.Code = "state-not-located"
	// CodeLUKS2NotLocated: go-blockdevice's blkid, which Talos uses to find
	// STATE, recognises LUKS only by the primary's magic and version 2 at
	// offset 0. Without them Talos does not locate STATE at all, whatever
	// the secondary copy holds.
	CodeLUKS2NotLocated problem.Code = "luks2-not-located"
	// CodeLUKS2TalosRejects: go-blockdevice's header validation, which
	// Talos runs before `cryptsetup luksOpen --header` (go-blockdevice PR
	// #149, Talos PR #13030), refuses these headers. It trusts the
	// primary's hdr_size, refuses copies with equal seqids but different
	// JSON, and needs segment 0's offset.
	CodeLUKS2TalosRejects problem.Code = "luks2-talos-rejects"
)

// Talos finds STATE with go-blockdevice's blkid (v2.0.32,
// blkid/internal/chain/chain.go and blkid/probe.go): it refuses to probe a
// range under MinProbeSize, reads the start, and takes the first prober
// whose magic matches and whose own check passes. For STATE only two of them
// matter: the xfs prober (magic "XFSB" at 0, then SuperBlock.Valid in
// blkid/internal/filesystems/xfs/extra.go) and the luks prober (magic
// "LUKS\xba\xbe" at 0, then version 2 in blkid/internal/filesystems/luks).
// TestProberNameMatchesBlkid compares the restatement with blkid on every
// fixture.
const (
	// blkidMinProbeSize is go-blockdevice's blkid.MinProbeSize.
	blkidMinProbeSize = 16 << 10
	// blkidLUKSProbeLen is how much of the start the luks prober reads
	// (its luks2 header struct is 512 bytes).
	blkidLUKSProbeLen = 512
)

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
	if size < blkidMinProbeSize {
		return "", nil
	}

	head := make([]byte, xfs.MinSectorSize)

	n, err := r.ReadAt(head, 0)
	if n < len(head) {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return "", err
		}

		return "", nil
	}

	switch {
	case bytes.HasPrefix(head, []byte(xfs.Magic)):
		if xfsProberAccepts(xfs.Decode(head)) {
			return ProbedXFS, nil
		}
	case bytes.HasPrefix(head, []byte(luks2.MagicPrimary)):
		if miss, err := blkidMissesLUKS(r, size); err != nil {
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
func xfsProberAccepts(sb xfs.SuperBlock) bool {
	rtExtent := sb.RExtSize * sb.BlockSize // wraps, as the prober's does

	switch {
	case sb.AGCount == 0,
		sb.SectSize < xfs.MinSectorSize || sb.SectSize > xfs.MaxSectorSize,
		sb.SectLog < xfs.MinSectorLog || sb.SectLog > xfs.MaxSectorLog,
		uint32(sb.SectSize) != 1<<sb.SectLog,
		sb.BlockSize < xfs.MinBlockSize || sb.BlockSize > xfs.MaxBlockSize,
		sb.BlockLog < xfs.MinBlockLog || sb.BlockLog > xfs.MaxBlockLog,
		sb.BlockSize != 1<<sb.BlockLog,
		sb.InodeSize < 1<<xfs.MinInodeLog || sb.InodeSize > 1<<xfs.MaxInodeLog,
		sb.InodeLog < xfs.MinInodeLog || sb.InodeLog > xfs.MaxInodeLog,
		uint32(sb.InodeSize) != 1<<sb.InodeLog,
		sb.BlockLog-sb.InodeLog != sb.InoPBLog,
		rtExtent > xfs.MaxRTExtentBytes || rtExtent < xfs.MinRTExtentBytes,
		sb.IMaxPct > 100,
		sb.DBlocks == 0:
		return false
	}

	return true
}

// blkidMissesLUKS returns why go-blockdevice's blkid would not call the
// partition LUKS, or "" when it would: it needs at least its minimum probe
// size, and magic "LUKS\xba\xbe" and version 2 in the first 512 bytes.
func blkidMissesLUKS(r io.ReaderAt, size int64) (string, error) {
	if size < blkidMinProbeSize {
		return fmt.Sprintf("it refuses to probe %d bytes, less than %d", size, blkidMinProbeSize), nil
	}

	buf, short, err := luks2.ReadAt(r, size, 0, blkidLUKSProbeLen)
	if err != nil {
		return "", err
	}

	if short {
		return "the first 512 bytes cannot be read", nil
	}

	magic := []byte(luks2.MagicPrimary)
	version := binary.BigEndian.Uint16(buf[6:8]) // the binary header's version field, at 0x006

	switch {
	case !bytes.HasPrefix(buf, magic):
		return fmt.Sprintf("magic %q at offset 0, not %q", buf[:len(magic)], magic), nil
	case version != 2:
		return fmt.Sprintf("version %d at offset 6, not 2", version), nil
	default:
		return "", nil
	}
}

// talosLUKS2 reports what Talos's own code makes of the LUKS2 headers at the
// start of r, a partition of size bytes: CodeLUKS2NotLocated when blkid does
// not see LUKS there, otherwise CodeLUKS2TalosRejects when go-blockdevice's
// header check would refuse to unlock it. err is only an I/O error.
func talosLUKS2(r io.ReaderAt, size int64) ([]problem.Problem, error) {
	var ps problem.List

	unseen, err := blkidMissesLUKS(r, size)
	if err != nil {
		return nil, err
	}

	if unseen != "" {
		ps.Errorf(CodeLUKS2NotLocated, "go-blockdevice's blkid, which Talos uses to find STATE, does not report "+
			"LUKS here (%s): Talos never locates STATE and boots into maintenance mode, even if cryptsetup "+
			"could recover the primary header from the secondary copy", unseen)

		return ps, nil
	}

	reason, err := luks2HeaderRejected(r, size)
	if err != nil {
		return nil, err
	}

	if reason != "" {
		ps.Errorf(CodeLUKS2TalosRejects, "Talos validates the LUKS2 header (go-blockdevice) before running "+
			"cryptsetup luksOpen and would refuse to unlock STATE: %s", reason)
	}

	return ps, nil
}

// luks2HeaderRejected replays the structural part of go-blockdevice's LUKS2
// header validation (encryption/luks/header.go, v2.0.32), which Talos runs
// before `cryptsetup luksOpen --header`, and returns why it would refuse, or
// "". It expects blkid to have accepted the primary's magic.
//
// Unlike cryptsetup it trusts the primary's hdr_size to find the secondary,
// and it compares copies by seqid without checking their checksums. Its
// policy on keyslot KDFs and ciphers is left out: it depends on the Talos
// release and on how the volume was made.
func luks2HeaderRejected(r io.ReaderAt, size int64) (string, error) {
	bin, short, err := luks2.ReadAt(r, size, 0, luks2.BinHeaderSize)
	if err != nil {
		return "", err
	}

	if short {
		return "the primary's binary header does not fit in the partition", nil
	}

	primary := luks2.DecodeBinaryHeader(bin)
	h := primary.HdrSize

	switch {
	case h < luks2.BinHeaderSize:
		return fmt.Sprintf("the primary's hdr_size %d is below the 4096-byte binary header", h), nil
	case h > luks2.MaxHeaderSize:
		return fmt.Sprintf("the primary's hdr_size %d is beyond 4 MiB; go-blockdevice would try to read that much", h), nil
	}

	both, short, err := luks2.ReadAt(r, size, 0, 2*h)
	if err != nil {
		return "", err
	}

	if short {
		return fmt.Sprintf("two copies of the primary's hdr_size %d do not fit in the partition's %d bytes", h, size), nil
	}

	secondary := luks2.DecodeBinaryHeader(both[h:])
	json1 := trimJSON(both[luks2.BinHeaderSize:h])
	json2 := trimJSON(both[h+luks2.BinHeaderSize:])

	if reason := segmentZeroRejected(json1, json2, h, size); reason != "" {
		return reason, nil
	}

	if primary.SeqID == secondary.SeqID && !bytes.Equal(json1, json2) {
		return fmt.Sprintf("both copies have seqid %d but their JSON areas differ", primary.SeqID), nil
	}

	selected, version, name := json1, primary.Version, "primary"
	if primary.SeqID < secondary.SeqID {
		selected, version, name = json2, secondary.Version, "secondary"
	}

	var doc struct {
		Keyslots map[string]json.RawMessage `json:"keyslots"`
		Segments map[string]json.RawMessage `json:"segments"`
	}

	if err = json.Unmarshal(selected, &doc); err != nil {
		return fmt.Sprintf("the JSON area of the %s copy, the one with the higher seqid, does not parse: %v", name, err), nil
	}

	if version != 2 {
		return fmt.Sprintf("the %s copy, the one with the higher seqid, has version %d", name, version), nil
	}

	return "", nil
}

// segmentZeroRejected returns why go-blockdevice would refuse the offset of
// segment 0, which it takes from the primary's JSON area, or the
// secondary's when that does not parse, or "".
func segmentZeroRejected(json1, json2 []byte, hdrSize uint64, size int64) string {
	var offsets struct {
		Segments map[string]struct {
			Offset string `json:"offset"`
		} `json:"segments"`
	}

	if err := json.Unmarshal(json1, &offsets); err != nil {
		if err = json.Unmarshal(json2, &offsets); err != nil {
			return fmt.Sprintf("neither JSON area, read at the primary's hdr_size %d, parses: %v", hdrSize, err)
		}
	}

	dataOffset, err := strconv.Atoi(offsets.Segments["0"].Offset)

	switch {
	case err != nil:
		return fmt.Sprintf("segment 0's offset %q is not a number", offsets.Segments["0"].Offset)
	case dataOffset <= 0:
		return fmt.Sprintf("segment 0's offset is %d", dataOffset)
	case int64(dataOffset) > size:
		return fmt.Sprintf("segment 0 starts at %d, beyond the partition's %d bytes", dataOffset, size)
	default:
		return ""
	}
}

// trimJSON trims a JSON area as go-blockdevice does before comparing
// copies: white space first, then NULs at both ends.
func trimJSON(b []byte) []byte {
	return bytes.Trim(bytes.TrimSpace(b), "\x00")
}

// probe names the content as Talos's prober would, reading the first sector
// again (a cached page by now), and reports CodeNotLocated when the prober
// recognises nothing where verification found XFS or LUKS2.
func (r *Result) probe(part io.ReaderAt) {
	name, err := proberName(part, int64(r.Size))
	if err != nil {
		return
	}

	r.ProbedAs, r.Probed = name, true

	if name == "" && r.Content != ContentUnknown && !slices.Contains(problem.Codes(r.Problems), CodeLUKS2NotLocated) {
		r.Problems = append(r.Problems, problem.Problem{
			Code:     CodeNotLocated,
			Severity: problem.SeverityError,
			Message:  "Talos's prober does not recognise this content: Talos will report STATE missing and boot into maintenance mode without repairing it",
		})
	}
}

// secondaryCodes are problems in the secondary superblocks, which the
// kernel does not read at mount: xfs_repair fixes them, the mount succeeds.
var secondaryCodes = map[problem.Code]bool{
	xfs.CodeSecondaryBadMagic: true,
	xfs.CodeSecondaryBadCRC:   true,
	xfs.CodeSecondaryUUID:     true,
	xfs.CodeSecondaryGeometry: true,
}

// onlyIn reports whether every error-severity problem of ps is in codes.
func onlyIn(ps []problem.Problem, codes map[problem.Code]bool) bool {
	for _, p := range ps {
		if p.Severity == problem.SeverityError && !codes[p.Code] {
			return false
		}
	}

	return true
}

// Outlook says, in a sentence, what Talos will do with this STATE at boot.
func (r Result) Outlook() string {
	located := !r.Probed || r.ProbedAs != ""

	switch {
	case r.Verdict == VerdictCorrupt && r.Content == ContentXFS && located && onlyIn(r.Problems, secondaryCodes):
		return "Talos will mount it (the kernel reads only the primary superblock), but the secondary superblocks are damaged: run xfs_repair at the next maintenance window"
	case slices.Contains(problem.Codes(r.Problems), CodeLUKS2TalosRejects):
		return "Talos will find it but refuse to unlock it: its own header check fails"
	case r.Verdict == VerdictOK && r.Content == ContentLUKS2:
		return "Talos will unlock it and mount the XFS inside"
	case r.Verdict == VerdictOK:
		return "Talos will mount it"
	case r.Verdict == VerdictUnreadable:
		return "Talos's own probe will most likely fail to read it too, report STATE missing and boot into maintenance mode"
	case !located:
		return "Talos will not recognise it, report STATE missing and boot into maintenance mode; nothing gets repaired"
	case r.Verdict == VerdictUnsupported:
		return "Talos will find it, but its kernel may refuse to mount it"
	case r.Content == ContentLUKS2:
		return "Talos will find it, but unlocking it may fail"
	default:
		return "Talos will find it; the mount will fail and Talos will run xfs_repair on it before it can read its configuration"
	}
}
