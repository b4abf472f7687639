package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/raid-settle/raid-settle/agent"
)

const replayHelp = `Usage: raid-settle replay [--json] [--profiles DIR] TIMELINE.json

Feeds a recorded timeline (a gate's /run/raid-settle/report.json, or a
hand-written file with "settings" and "timeline"; see docs/timeline.md)
through the gate's engine on a simulated clock, and prints the decision,
when and why: "what would the gate have done on my boot?"

--json prints {"decision", "at_ms", "reason", "log"}; decision is one of
state-verified, state-invalid, no-state, deadline, disabled.

Exit codes: 0 replayed; 4 usage error or unreadable timeline.

Flags:
`

// replaySchemaVersion is the version of `replay --json`'s form.
const replaySchemaVersion = 1

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", replayHelp)

	asJSON := fs.Bool("json", false, "print the result as JSON")
	profiles := fs.String("profiles", "", "directory of controller profiles (*.json) to use ahead of the built-in ones")
	timeout := fs.Float64("timeout", 0, "override the deadline, in seconds (as raid_settle.timeout=)")
	quiet := fs.Float64("quiet", 0, "override the quiet window, in seconds (as raid_settle.quiet=)")

	files, err := parseArgs(fs, args, stdout, stderr)
	if err != nil {
		return parseExit(err)
	}

	if len(files) != 1 {
		fs.Usage()

		return exitUsage
	}

	data, err := os.ReadFile(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "raid-settle replay: %v\n", err)

		return exitUsage
	}

	settings, timeline, err := agent.ReadTimeline(data)
	if err != nil {
		fmt.Fprintf(stderr, "raid-settle replay: %s: %v\n", fs.Arg(0), err)

		return exitUsage
	}

	if *profiles != "" {
		if settings.Profiles, err = agent.LoadProfiles(*profiles, agent.BuiltinProfiles); err != nil {
			fmt.Fprintf(stderr, "raid-settle replay: %v\n", err)

			return exitUsage
		}
	}

	if *timeout > 0 {
		settings.Deadline = agent.Seconds(*timeout)
	}

	if *quiet > 0 {
		settings.Quiet = agent.Seconds(*quiet)
	}

	sim := agent.Simulate(settings, timeline, nil, 0)

	if *asJSON {
		out := struct {
			SchemaVersion int `json:"schema_version"`
			agent.Release
			Log []agent.TimedLine `json:"log"`
		}{replaySchemaVersion, sim.Release, sim.Log}

		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)

		return 0
	}

	for _, l := range sim.Log {
		fmt.Fprintf(stdout, "%+8.3fs  %s\n", float64(l.AtMS)/1000, l.Line)
	}

	fmt.Fprintf(stdout, "\ndecision: %s at %.3fs\nreason:   %s\n", sim.Release.Decision, float64(sim.Release.AtMS)/1000, sim.Release.Reason)

	return 0
}
