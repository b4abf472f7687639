// Command raid-settle holds Talos's boot until its STATE partition is there
// and verified, and gives operators and vendors the tools around that gate.
//
// Subcommands:
//
//	gate     hold udevd's settle until STATE is there (udev RUN+= entry point)
//	verify   locate and verify STATE on disks or disk images
//	replay   run a recorded gate timeline through the engine
//	certify  measure a controller's disk arrivals and derive its gate profile
//	diagnose say why a node booted into maintenance mode, from its logs
//	version  print the version
//
// Run `raid-settle help COMMAND` for each command's flags and exit codes.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// version is stamped by the Makefile from `git describe`.
var version = "dev"

// command is one subcommand: a name, a line of help, and its entry point,
// which returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
	// hidden commands are internal: not listed in the usage.
	hidden bool
}

func commands() []command {
	return []command{
		{name: "gate", summary: "hold udevd's settle until STATE is there (the udev RUN+= entry point)", run: runGate},
		{name: "verify", summary: "locate and verify STATE on disks or disk images", run: runVerify},
		{name: "replay", summary: "run a recorded gate timeline through the engine: what would it decide?", run: runReplay},
		{name: "certify", summary: "measure how a controller announces its disks (boot reports or live cycles) and derive its profile", run: runCertify},
		{name: "diagnose", summary: "say why a node booted into maintenance mode, from its logs and gate report", run: runDiagnose},
		{name: "version", summary: "print the version", run: runVersion},
		{name: "probe-worker", summary: "the gate's disk probes, in a child process of the gate", run: runProbeWorker, hidden: true},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)

		return exitUsage
	case args[0] == "-h" || args[0] == "--help" || args[0] == "help" && len(args) == 1:
		usage(stdout)

		return 0
	case args[0] == "help":
		// raid-settle help CMD is raid-settle CMD --help.
		return dispatch([]string{args[1], "--help"}, stdout, stderr)
	}

	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}

	fmt.Fprintf(stderr, "raid-settle: unknown command %q\n\n", args[0])
	usage(stderr)

	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "raid-settle %s: holds Talos's boot until STATE is there and verified\n\nUsage: raid-settle COMMAND [flags] [args]\n\nCommands:\n", version)

	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
	}

	fmt.Fprintf(w, "\nRun 'raid-settle help COMMAND' (or 'raid-settle COMMAND --help') for a command's flags and exit codes.\n")
}

const versionHelp = `Usage: raid-settle version [--json]

Prints raid-settle's version.

Flags:
`

// versionSchemaVersion is the version of `version --json`'s form.
const versionSchemaVersion = 1

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", versionHelp)
	asJSON := fs.Bool("json", false, "print the version as JSON")

	if _, err := parseArgs(fs, args, stdout, stderr); err != nil {
		return parseExit(err)
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		_ = enc.Encode(struct {
			SchemaVersion int    `json:"schema_version"`
			Version       string `json:"version"`
		}{versionSchemaVersion, version})

		return 0
	}

	fmt.Fprintf(stdout, "raid-settle %s\n", version)

	return 0
}
