package blockdev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// Content is what a STATE partition holds.
type Content string

// Contents a STATE partition can hold.
const (
	ContentXFS     Content = "xfs"
	ContentLUKS2   Content = "luks2"
	ContentUnknown Content = "unknown"
)

// Verdict is the one-word outcome of verifying a STATE candidate.
type Verdict string

// Verdicts, from best to worst for the boot.
const (
	// VerdictOK: the content verifies; Talos will mount (or unlock) it.
	VerdictOK Verdict = "ok"
	// VerdictUnsupported: well-formed, but not what Talos makes (XFS v4, LUKS1).
	VerdictUnsupported Verdict = "unsupported"
	// VerdictCorrupt: at least one error-severity problem.
	VerdictCorrupt Verdict = "corrupt"
	// VerdictUnreadable: the device kept failing reads after retries.
	VerdictUnreadable Verdict = "unreadable"
)

// Codes of problems found before any format-specific check.
const (
	// CodeUnrecognised: the partition holds neither XFS nor LUKS2.
	CodeUnrecognised Code = "state-unrecognised"
	// CodeUnreadable: reads kept failing after retries.
	CodeUnreadable Code = "state-unreadable"
	// CodeNotLocated: Talos's prober (go-blockdevice blkid) does not
	// recognise the content, so Talos will report STATE missing.
	CodeNotLocated Code = "state-not-located"
)

// unsupportedCodes mark content that is well-formed but not what Talos
// formats; a candidate with one of them and no error is VerdictUnsupported.
var unsupportedCodes = map[Code]bool{
	CodeXFSVersion4: true,
	CodeLUKS2LUKS1:  true,
}

// Result is the verification of one STATE candidate. Its JSON form is the
// stable shape documented in docs/verify-json.md.
type Result struct {
	Candidate

	Content  Content    `json:"content"`
	Verdict  Verdict    `json:"verdict"`
	Problems []Problem  `json:"problems"`
	XFS      *XFSInfo   `json:"xfs,omitempty"`
	LUKS2    *LUKS2Info `json:"luks2,omitempty"`
}

// xfsMagicBytes opens every XFS superblock ("XFSB").
var xfsMagicBytes = []byte("XFSB")

// VerifyOptions tunes VerifyPartition.
type VerifyOptions struct {
	// PrimaryOnly limits an XFS check to the primary superblock, the one
	// the mount reads: the gate's check. Offline verification reads the
	// secondary superblocks too.
	PrimaryOnly bool
}

// Verify checks the content of candidate c, read through r (the whole disk
// or image c.Device), retrying transient read errors under policy. It never
// returns an error: an unreadable device is a verdict.
func Verify(ctx context.Context, r io.ReaderAt, c Candidate, policy RetryPolicy) Result {
	return VerifyPartition(ctx, sectionOf(r, c), c, VerifyOptions{}, policy)
}

// VerifyPartition checks the content of candidate c read through part, the
// partition itself (its first byte at offset 0, c.Size bytes long): the
// partition's own device node, or a section of the disk. Like Verify, it
// never returns an error.
func VerifyPartition(ctx context.Context, part io.ReaderAt, c Candidate, opts VerifyOptions, policy RetryPolicy) Result {
	res := Result{Candidate: c, Content: ContentUnknown, Problems: []Problem{}}
	part = NewRetryingReader(ctx, part, int64(c.Size), policy)

	var (
		found problems
		err   error
	)

	head := make([]byte, 6)

	if _, err = part.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return unreadable(res, err)
	}

	switch {
	case bytes.HasPrefix(head, xfsMagicBytes):
		res.Content = ContentXFS
		check := CheckXFS
		if opts.PrimaryOnly {
			check = CheckXFSPrimary
		}

		res.XFS, found, err = check(part, int64(c.Size))
	case bytes.HasPrefix(head, luksMagicPrimary), bytes.HasPrefix(head, luksMagicSecondary):
		res.Content = ContentLUKS2
		res.LUKS2, found, err = CheckLUKS2(part, int64(c.Size))
	default:
		// A LUKS2 header whose primary copy is wiped still has its
		// secondary: CheckLUKS2 looks for it.
		var info *LUKS2Info
		if info, found, err = CheckLUKS2(part, int64(c.Size)); err == nil && info != nil && !HasErrors(found) {
			res.Content, res.LUKS2 = ContentLUKS2, info
		} else {
			found = nil
			found.errorf(CodeUnrecognised, "the partition named STATE holds neither XFS nor LUKS2 (first bytes % x)", head)
		}
	}

	if err != nil {
		return unreadable(res, err)
	}

	res.Problems = append(res.Problems, found...)

	// How Talos's prober names the content: the same first sector, read
	// again from the retrying reader's view (a cached page by now).
	if name, err := proberName(part, int64(c.Size)); err == nil {
		res.ProbedAs, res.Probed = name, true
	}

	if res.Probed && res.ProbedAs == "" && res.Content != ContentUnknown && !slices.Contains(Codes(found), CodeLUKS2NotLocated) {
		res.Problems = append(res.Problems, Problem{
			Code:     CodeNotLocated,
			Severity: SeverityError,
			Message:  "Talos's prober does not recognise this content: Talos will report STATE missing and boot into maintenance mode without repairing it",
		})
	}

	res.Verdict = verdictOf(res.Problems)

	return res
}

func unreadable(res Result, err error) Result {
	res.Verdict = VerdictUnreadable
	res.Problems = append(res.Problems, Problem{
		Code:     CodeUnreadable,
		Severity: SeverityError,
		Message:  fmt.Sprintf("reading the partition failed: %v", err),
	})

	return res
}

func verdictOf(ps []Problem) Verdict {
	if HasErrors(ps) {
		return VerdictCorrupt
	}

	for _, p := range ps {
		if unsupportedCodes[p.Code] {
			return VerdictUnsupported
		}
	}

	return VerdictOK
}

// VerifyDevice locates every STATE candidate on the disk or image at path and
// verifies each. The error is for the disk as a whole (cannot open, not a
// disk); per-candidate failures are verdicts.
func VerifyDevice(ctx context.Context, path string, opts LocateOptions, policy RetryPolicy) (*Disk, []Result, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to open %s: %w", path, err)
	}
	defer f.Close()

	opts.step("opened")

	disk, err := locate(ctx, f, path, opts, policy)
	if err != nil {
		return nil, nil, err
	}

	results := make([]Result, 0, len(disk.Candidates))
	for _, c := range disk.Candidates {
		results = append(results, Verify(ctx, f, c, policy))
		opts.step(fmt.Sprintf("partition %d verified", c.Partition))
	}

	return disk, results, nil
}

// secondaryCodes are problems in the secondary superblocks, which the
// kernel does not read at mount: xfs_repair fixes them, the mount succeeds.
var secondaryCodes = map[Code]bool{
	CodeXFSSecondaryBadMagic: true,
	CodeXFSSecondaryBadCRC:   true,
	CodeXFSSecondaryUUID:     true,
	CodeXFSSecondaryGeometry: true,
}

// onlyIn reports whether every error-severity problem of ps is in codes.
func onlyIn(ps []Problem, codes map[Code]bool) bool {
	for _, p := range ps {
		if p.Severity == SeverityError && !codes[p.Code] {
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
	case slices.Contains(Codes(r.Problems), CodeLUKS2TalosRejects):
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
