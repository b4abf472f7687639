package blockdev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/raid-settle/raid-settle/blockdev/luks2"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
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

// Codes of blockdev's own findings: about the partition as a whole, and the
// limit of what a LUKS2 verification can see.
const (
	// CodeUnrecognised: the partition holds neither XFS nor LUKS2.
	CodeUnrecognised problem.Code = "state-unrecognised"
	// CodeUnreadable: reads kept failing after retries.
	CodeUnreadable problem.Code = "state-unreadable"
	// CodeLUKS2InnerUnverified: always reported on LUKS2. The XFS
	// filesystem inside cannot be read before Talos unlocks the volume, so
	// only the LUKS2 header was verified.
	CodeLUKS2InnerUnverified problem.Code = "luks2-inner-unverified"
)

// unsupportedCodes mark content that is well-formed but not what Talos
// formats; a candidate with one of them and no error is VerdictUnsupported.
var unsupportedCodes = map[problem.Code]bool{
	xfs.CodeVersion4: true,
	luks2.CodeLUKS1:  true,
}

// Result is the verification of one STATE candidate. Its JSON form is the
// stable shape documented in docs/verify-json.md.
type Result struct {
	Candidate

	Content  Content           `json:"content"`
	Verdict  Verdict           `json:"verdict"`
	Problems []problem.Problem `json:"problems"`
	XFS      *xfs.Info         `json:"xfs,omitempty"`
	LUKS2    *luks2.Info       `json:"luks2,omitempty"`
}

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
	res := Result{Candidate: c, Content: ContentUnknown, Problems: []problem.Problem{}}
	part = NewRetryingReader(ctx, part, int64(c.Size), policy)

	head := make([]byte, 6)

	if _, err := part.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return unreadable(res, err)
	}

	found, err := res.checkContent(part, head, opts)
	if err != nil {
		return unreadable(res, err)
	}

	res.Problems = append(res.Problems, found...)
	res.probe(part)
	res.Verdict = verdictOf(res.Problems)

	return res
}

// checkContent recognises the content of part by head, its first bytes,
// records it in r with what its format check says, and returns the
// problems found. err is only an I/O error.
func (r *Result) checkContent(part io.ReaderAt, head []byte, opts VerifyOptions) (found []problem.Problem, err error) {
	size := int64(r.Size)

	switch {
	case bytes.HasPrefix(head, []byte(xfs.Magic)):
		r.Content = ContentXFS
		check := xfs.Check
		if opts.PrimaryOnly {
			check = xfs.CheckPrimary
		}

		r.XFS, found, err = check(part, size)
	case bytes.HasPrefix(head, []byte(luks2.MagicPrimary)), bytes.HasPrefix(head, []byte(luks2.MagicSecondary)):
		r.Content = ContentLUKS2
		r.LUKS2, found, err = checkLUKS2(part, size)
	default:
		// A LUKS2 header whose primary copy is wiped still has its
		// secondary: luks2.Check looks for it.
		var info *luks2.Info
		if info, found, err = checkLUKS2(part, size); err == nil && info != nil && !problem.HasErrors(found) {
			r.Content, r.LUKS2 = ContentLUKS2, info
		} else {
			var ps problem.List
			ps.Errorf(CodeUnrecognised, "the partition named STATE holds neither XFS nor LUKS2 (first bytes % x)", head)
			found = ps
		}
	}

	return found, err
}

// checkLUKS2 checks LUKS2 headers as cryptsetup reads them (luks2.Check),
// then as Talos does (talosLUKS2), and notes that the filesystem inside went
// unchecked.
func checkLUKS2(part io.ReaderAt, size int64) (*luks2.Info, []problem.Problem, error) {
	info, ps, err := luks2.Check(part, size)
	if err != nil {
		return nil, nil, err
	}

	talos, err := talosLUKS2(part, size)
	if err != nil {
		return nil, nil, err
	}

	found := append(problem.List(ps), talos...)
	found.Infof(CodeLUKS2InnerUnverified, "the XFS filesystem inside cannot be read before Talos unlocks the volume, "+
		"so only the LUKS2 header was verified")

	return info, found, nil
}

// unreadable turns res into the verdict on a partition that could not be
// read, with err as the reason.
func unreadable(res Result, err error) Result {
	res.Verdict = VerdictUnreadable
	res.Problems = append(res.Problems, problem.Problem{
		Code:     CodeUnreadable,
		Severity: problem.SeverityError,
		Message:  fmt.Sprintf("reading the partition failed: %v", err),
	})

	return res
}

// verdictOf sums up problems in a Verdict.
func verdictOf(ps []problem.Problem) Verdict {
	if problem.HasErrors(ps) {
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
