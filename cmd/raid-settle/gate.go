package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/raid-settle/raid-settle/agent"
)

const gateHelp = `Usage: raid-settle gate [flags]

The udev RUN+= entry point. Holds udevd's settle open until STATE is
present and verified, or every storage controller has gone quiet, never
past the deadline (raid_settle.timeout=, default 120s). One-shot: later
runs see /run/raid-settle/gate.started and exit at once.

Logs to /dev/kmsg; writes /run/raid-settle/report.json (input of replay).
Kernel arguments: raid_settle.timeout=SECONDS, raid_settle.quiet=SECONDS,
raid_settle.disable=1, raid_settle.debug=1.

Exit code: always 0. The gate must never be the reason a node fails to boot.

Flags (for tests and the end-to-end harness):
`

func runGate(args []string, stdout, stderr io.Writer) (code int) {
	// Whatever happens, boot goes on.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "raid-settle gate: internal error: %v\n", r)
		}

		code = 0
	}()

	g := agent.NewGate(version)

	fs := newFlagSet("gate", gateHelp)

	fs.StringVar(&g.SysRoot, "sysfs", g.SysRoot, "sysfs mount point")
	fs.StringVar(&g.ProcRoot, "proc", g.ProcRoot, "procfs mount point (for cmdline)")
	fs.StringVar(&g.RunDir, "run-dir", g.RunDir, "directory of the one-shot marker and the report")
	fs.StringVar(&g.ProfileDir, "profiles", g.ProfileDir, "directory of extra controller profiles (*.json)")
	kmsg := fs.String("kmsg", "/dev/kmsg", "where the milestones go (the kernel log); stderr when it cannot be opened")

	if _, err := parseArgs(fs, args, stdout, stderr); err != nil {
		return 0
	}

	g.Log = agent.OpenKmsg(*kmsg, stderr)

	g.Run(context.Background())

	return 0
}

const probeWorkerHelp = `Usage: raid-settle probe-worker [--dev DIR] [--sys DIR] [--partition-uuids] [--epoch NS]

Internal: the gate starts it as a child process and sends it, on stdin, one
JSON request per disk to verify; it answers each on stdout as it completes.
A read stuck in the kernel then holds up this process, never the gate's exit.
It ends when stdin does.

Flags:
`

// runProbeWorker serves the gate's probe requests on stdin and stdout (see
// agent.ProbeWorker): the gate runs it as a child, so that a read stuck in
// the kernel never delays the gate's own exit. It ends when stdin does.
func runProbeWorker(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("probe-worker", probeWorkerHelp)

	var prober agent.Prober

	fs.StringVar(&prober.DevRoot, "dev", "/dev", "where the disks' device nodes are")
	fs.StringVar(&prober.SysRoot, "sys", "/sys", "where sysfs is mounted")
	fs.Int64Var(&prober.Epoch, "epoch", 0, "the gate's start on CLOCK_MONOTONIC, in nanoseconds, to time the probes from")
	fs.BoolVar(&prober.PartitionUUIDs, "partition-uuids", false, "read each disk's GPT for its partition GUIDs (the boot-partition hint needs them)")

	if _, err := parseArgs(fs, args, stdout, stderr); err != nil {
		return parseExit(err)
	}

	if err := agent.ServeProbes(os.Stdin, os.Stdout, prober.SinceEpoch(), agent.WarmUp, prober.Probe); err != nil {
		fmt.Fprintf(stderr, "raid-settle probe-worker: %v\n", err)

		return 1
	}

	return 0
}
