//go:build !node

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/raid-settle/raid-settle/certify"
	"github.com/raid-settle/raid-settle/internal/tty"
)

const certifyHelp = `Usage: raid-settle certify --from-reports [--controller ADDR | --driver DRIVER] [--out DIR] FILE...
       raid-settle certify (--controller ADDR | --driver DRIVER) --cycles N [--method unbind|rescan] [--force] [--out DIR]

Measures how a storage controller announces its disks, and writes into DIR
the results (certify.json, shape in docs/certify.md), an HTML report
(report.html) and a gate profile for the controller's driver and PCI id
(profile-DRIVER-VVVV-DDDD.json, for /usr/local/lib/raid-settle/profiles/).

--from-reports reads the gate's report.json files from several boots
(talosctl read /run/raid-settle/report.json), or kernel logs holding the
gate's "raid-settle: " lines (talosctl dmesg), one boot per "started" line.

--cycles re-enumerates the controller N times on this machine: its driver is
unbound and bound again (--method unbind), or its SCSI devices are deleted
and its hosts rescanned (--method rescan), while every uevent is recorded.
It refuses a controller holding a mounted filesystem, active swap, the root
or the boot partition unless --force. Ctrl-C (SIGINT, SIGTERM) stops after
binding the controller again. Needs root.

Exit codes:
  0  every device came back in every cycle; results written
  1  some cycle lost a device; results written
  2  refused: the controller holds something the system is using (see --force)
  3  interrupted: the controller is bound; the cycles done are written
  4  usage error, or inputs, sysfs or the output could not be read or written

Flags:
`

// Exit codes of certify besides exitUsage.
const (
	certifyFailed      = 1
	certifyRefused     = 2
	certifyInterrupted = 3
)

func runCertify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("certify", certifyHelp)

	c := certify.NewCycler()

	fromReports := fs.Bool("from-reports", false, "aggregate gate reports or kernel logs given as arguments")
	out := fs.String("out", "certify-results", "directory for certify.json, report.html and the profile")
	asJSON := fs.Bool("json", false, "print the results (certify.json's content, verdict included) instead of the summary")
	fs.StringVar(&c.Address, "controller", "", "PCI address of the controller (0000:03:00.0)")
	fs.StringVar(&c.Driver, "driver", "", "the controller's driver (megaraid_sas), when exactly one controller is bound to it")
	fs.IntVar(&c.Cycles, "cycles", 0, "re-enumerate the controller this many times on this machine")
	method := fs.String("method", string(certify.MethodUnbind), "how to re-enumerate: unbind (driver unbind/bind) or rescan (SCSI delete and host rescan)")
	fs.BoolVar(&c.Force, "force", false, "cycle even a controller holding mounted filesystems, swap, the root or the boot partition")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "bound of one cycle: devices not back by then are failures")
	fs.DurationVar(&c.Linger, "linger", c.Linger, "how long a cycle goes on once every device is back")
	fs.DurationVar(&c.Pause, "pause", c.Pause, "pause between cycles")
	fs.StringVar(&c.SysRoot, "sysfs", c.SysRoot, "sysfs mount point")
	fs.StringVar(&c.ProcRoot, "proc", c.ProcRoot, "procfs mount point")

	files, err := parseArgs(fs, args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}

	c.Method = certify.Method(*method)

	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "raid-settle certify: "+format+"\n", args...)

		return exitUsage
	}

	switch {
	case *fromReports && c.Cycles > 0:
		return usageErr("--from-reports and --cycles exclude each other")
	case *fromReports && len(files) == 0:
		return usageErr("--from-reports needs report or log files")
	case *fromReports:
		return certifyReports(files, c.Address, c.Driver, *out, *asJSON, stdout, stderr)
	case len(files) > 0:
		return usageErr("files are read with --from-reports only")
	case c.Cycles <= 0:
		fs.Usage()

		return exitUsage
	case c.Address == "" && c.Driver == "":
		return usageErr("--cycles needs --controller or --driver")
	case c.Method != certify.MethodUnbind && c.Method != certify.MethodRescan:
		return usageErr("--method is unbind or rescan, not %q", *method)
	case c.Timeout <= 0 || c.Linger < 0 || c.Pause < 0:
		return usageErr("--timeout must be positive, --linger and --pause not negative")
	}

	return certifyLive(c, *out, *asJSON, stdout, stderr)
}

func certifyReports(files []string, address, driver, out string, asJSON bool, stdout, stderr io.Writer) int {
	tl, err := certify.ReadFiles(files)
	if err != nil {
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", err)

		return exitUsage
	}

	if err := tl.Select(address, driver); err != nil {
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", err)

		return exitUsage
	}

	return finishCertify(certify.Analyze(tl), nil, out, asJSON, stdout, stderr)
}

func certifyLive(c *certify.Cycler, out string, asJSON bool, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	c.Log = stderr
	c.Progress = certify.NewProgress(stderr, tty.IsTerminal(stderr), c.Now)

	tl, info, err := c.Run(ctx)

	var refused *certify.RefusedError

	switch {
	case errors.As(err, &refused):
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", err)

		return certifyRefused
	case tl == nil:
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", err)

		return exitUsage
	}

	res := certify.Analyze(tl)
	res.Live = info

	code := finishCertify(res, err, out, asJSON, stdout, stderr)

	switch {
	case errors.Is(err, certify.ErrInterrupted):
		return certifyInterrupted
	case err != nil:
		return exitUsage
	}

	return code
}

// finishCertify derives the profiles, writes everything and prints the
// summary; runErr (a live run's error) is reported after the results.
func finishCertify(res *certify.Results, runErr error, out string, asJSON bool, stdout, stderr io.Writer) int {
	res.Version = version
	res.Created = time.Now().UTC()
	res.DeriveProfiles(certify.DefaultRule)

	written, err := res.WriteDir(out)

	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		res.WriteSummary(stdout)

		for _, f := range written {
			fmt.Fprintf(stdout, "wrote %s\n", f)
		}
	}

	if runErr != nil {
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", runErr)
	}

	if err != nil {
		fmt.Fprintf(stderr, "raid-settle certify: %v\n", err)

		return exitUsage
	}

	if res.Failed() {
		return certifyFailed
	}

	return 0
}
