package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/raid-settle/raid-settle/blockdev"
)

// exitUsage is the exit code of a malformed command line, shared by every
// subcommand; it equals verify's "usage or I/O error".
const exitUsage = int(blockdev.OutcomeError)

const verifyHelp = `Usage: raid-settle verify [--json] [--sector-size N] DEVICE-OR-IMAGE...
       raid-settle verify [--json] --all

Locates every GPT partition named STATE, as Talos does, and verifies its
content: the XFS v5 superblock (CRC, geometry, feature flags, secondary
superblocks) or both LUKS2 header copies. Reads only; never writes or locks.

Exit codes:
  0  exactly one STATE, and it verifies
  1  exactly one STATE, and it does not verify (corrupt, unsupported or unreadable)
  2  no partition named STATE
  3  more than one partition named STATE
  4  usage error, or a disk could not be examined

Flags:
`

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", verifyHelp)

	asJSON := fs.Bool("json", false, "print the report as JSON (shape: docs/verify-json.md)")
	all := fs.Bool("all", false, "verify every whole disk listed in /sys/class/block")
	sectorSize := fs.Uint("sector-size", 0, "logical sector size of image files (512 or 4096); 0 detects it")
	sysRoot := fs.String("sysfs", "/sys", "sysfs mount point, for --all")
	devRoot := fs.String("dev", "/dev", "device directory, for --all")

	paths, err := parseArgs(fs, args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}

	switch {
	case *all && len(paths) > 0:
		fmt.Fprintln(stderr, "raid-settle verify: --all takes no device arguments")

		return exitUsage
	case *all:
		disks, err := blockdev.WholeDisks(*sysRoot, *devRoot)
		if err != nil {
			fmt.Fprintf(stderr, "raid-settle verify: %v\n", err)

			return exitUsage
		}

		paths = disks
	case len(paths) == 0:
		fs.Usage()

		return exitUsage
	}

	if *sectorSize != 0 && *sectorSize != 512 && *sectorSize != 4096 {
		fmt.Fprintln(stderr, "raid-settle verify: --sector-size must be 512 or 4096")

		return exitUsage
	}

	rep := blockdev.VerifyAll(context.Background(), paths, blockdev.LocateOptions{SectorSize: *sectorSize}, blockdev.DefaultRetryPolicy)

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")

		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "raid-settle verify: %v\n", err)

			return exitUsage
		}
	} else {
		printReport(stdout, rep)
	}

	return int(rep.Outcome)
}

func printReport(w io.Writer, rep blockdev.Report) {
	for _, d := range rep.Disks {
		if d.Table == "" {
			fmt.Fprintf(w, "%s: %s, no GPT\n", d.Path, mib(d.Size))
		} else {
			fmt.Fprintf(w, "%s: %s, %s, %d-byte sectors, %d partition(s)\n", d.Path, mib(d.Size), d.Table, d.SectorSize, d.Partitions)
		}
	}

	for _, e := range rep.Errors {
		fmt.Fprintf(w, "%s: cannot examine: %s\n", e.Path, e.Message)
	}

	for _, c := range rep.Candidates {
		fmt.Fprintf(w, "\nSTATE %s partition %d", c.Device, c.Partition)

		if c.PartitionDevice != "" {
			fmt.Fprintf(w, " (%s)", c.PartitionDevice)
		}

		fmt.Fprintf(w, ": offset %d, size %s, %s: %s\n", c.Offset, mib(c.Size), describeContent(c), strings.ToUpper(string(c.Verdict)))

		for _, p := range c.Problems {
			fmt.Fprintf(w, "  %-7s %s: %s\n", p.Severity, p.Code, p.Message)
		}

		fmt.Fprintf(w, "  => %s\n", c.Outlook())
	}

	fmt.Fprintf(w, "\n%s\n", rep.Summary)
}

func describeContent(c blockdev.Result) string {
	switch {
	case c.XFS != nil:
		return fmt.Sprintf("XFS v%d label %q uuid %s, %d AGs x %d blocks of %d bytes", c.XFS.Version, c.XFS.Label, c.XFS.UUID, c.XFS.AGCount, c.XFS.AGBlocks, c.XFS.BlockSize)
	case c.LUKS2 != nil:
		return fmt.Sprintf("LUKS2 label %q uuid %s, %s, %d keyslot(s)", c.LUKS2.Label, c.LUKS2.UUID, c.LUKS2.Cipher, c.LUKS2.Keyslots)
	default:
		return string(c.Content)
	}
}

func mib(n uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
