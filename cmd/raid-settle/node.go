//go:build node

package main

import (
	"fmt"
	"io"
)

// The node build (go build -tags node), the one the extension ships, holds
// what runs on the node: gate, probe-worker, verify, replay and version.
// The operator's and vendor's commands, and the libraries they need (HTML
// templates, regular expressions), are in the workstation build only.

func runCertify(_ []string, _, stderr io.Writer) int { return workstationOnly("certify", stderr) }

func runDiagnose(_ []string, _, stderr io.Writer) int { return workstationOnly("diagnose", stderr) }

func workstationOnly(name string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "raid-settle %s: not in this build, the node build the extension ships; "+
		"run %s from the workstation build (make build, or go build ./cmd/raid-settle)\n", name, name)

	return exitUsage
}
