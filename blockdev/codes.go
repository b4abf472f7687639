package blockdev

import (
	"slices"

	"github.com/raid-settle/raid-settle/blockdev/luks2"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
)

// codes lists the codes blockdev itself declares: about the partition as a
// whole (verify.go) and about Talos's own view of it (talos.go).
var codes = []problem.Code{
	CodeUnrecognised,
	CodeUnreadable,
	CodeLUKS2InnerUnverified,
	CodeNotLocated,
	CodeLUKS2NotLocated,
	CodeLUKS2TalosRejects,
}

// AllCodes lists every problem code a verification can report, blockdev's
// own and those of its format packages, for documentation and tests;
// TestAllCodesIsComplete holds it to the declarations.
var AllCodes = slices.Concat(codes, xfs.AllCodes, luks2.AllCodes)
