//go:build !node

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/raid-settle/raid-settle/diagnose"
	"github.com/raid-settle/raid-settle/internal/tty"
)

const diagnoseHelp = `Usage: raid-settle diagnose [--json] [FILE...]

Says why a Talos node booted into maintenance mode, from what was captured
on it: a serial console (or IPMI SOL, or text copied from an iKVM screen),
the JSON lines of Talos's kernel-log stream (talos.logging.kernel=),
talosctl get volumestatus, discoveredvolumes and discoveryrefreshstatus
(-o yaml or -o json),
talosctl dmesg (with or without the node prefix), talosctl logs machined,
plain dmesg, a gate report.json. Give any number of files, in any order;
"-" or no file reads standard input.

  raid-settle diagnose console.log               # the serial console
  raid-settle diagnose kernel.jsonl              # the kernel-log stream
  for r in volumestatus discoveredvolumes discoveryrefreshstatus; do
    talosctl -n NODE get $r --insecure -o yaml > $r.yaml  # maintenance mode
  done                                                     # answers these
  raid-settle diagnose *.yaml console.log
  # once the config is applied again, talosctl reaches the node:
  talosctl -n NODE dmesg > dmesg.txt
  raid-settle diagnose dmesg.txt

Verdicts (--json "verdicts", by id):
  late-disk               STATE's disk appeared after Talos decided without it
                          (lateness_s; settle_time_s is a talos.device.settle_time
                          that would have covered it)
  state-corrupt           STATE is there, its filesystem corrupt or unrecognised
  no-config               STATE was mounted but held no machine config
  no-state                no STATE on any disk seen
  healthy                 STATE was there and its config loaded, or the gate
                          verified it
  insufficient-evidence   the captures do not say; it lists what to capture
  misspelled-settle-time  talos.devices.settle_time (ignored by Talos) is set

Each verdict quotes its evidence (file:line, time, text); a compact timeline
follows.

Exit codes:
  0  a verdict was reached for every node
  1  insufficient evidence for at least one node
  4  usage error, or an input could not be read

Flags:
`

// exitInsufficient is diagnose's exit code when a node has no verdict.
const exitInsufficient = 1

func runDiagnose(args []string, stdout, stderr io.Writer) int {
	return runDiagnoseWith(args, os.Stdin, stdout, stderr)
}

func runDiagnoseWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("diagnose", diagnoseHelp)

	asJSON := fs.Bool("json", false, "print the diagnosis as JSON")

	names, err := parseArgs(fs, args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}

	if len(names) == 0 {
		names = []string{"-"}

		if tty.IsTerminal(stdin) {
			fmt.Fprint(stderr, "raid-settle diagnose: reading what was captured on the node from standard input; "+
				"paste the serial console, dmesg or talosctl output, then Ctrl-D (or give files: raid-settle diagnose --help)\n")
		}
	}

	var inputs []diagnose.Input

	for _, name := range names {
		if name == "-" {
			inputs = append(inputs, diagnose.Input{Name: "stdin", R: stdin})

			continue
		}

		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "raid-settle diagnose: %v\n", err)

			return exitUsage
		}

		defer f.Close()

		inputs = append(inputs, diagnose.Input{Name: name, R: f})
	}

	res, err := diagnose.Diagnose(inputs)
	if err != nil {
		fmt.Fprintf(stderr, "raid-settle diagnose: %v\n", err)

		return exitUsage
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // "waiting -> missing" stays readable

		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "raid-settle diagnose: %v\n", err)

			return exitUsage
		}
	} else {
		res.WriteText(stdout)
	}

	if res.Insufficient() {
		return exitInsufficient
	}

	return 0
}
