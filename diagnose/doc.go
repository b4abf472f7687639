// Package diagnose answers an operator's question about a Talos node that
// came up in maintenance mode: was it a race with a late disk, a corrupt
// STATE, a STATE without config, or no STATE at all? It reads what the
// operator can capture and quotes the lines its answer rests on.
//
// # Inputs
//
// Any number of captures, in any order, each in any mix of these formats
// (one line is parsed at a time; lines over MaxLineBytes are skipped and
// counted; parsing is one pass, linear in the input):
//
//   - `talosctl dmesg`, with or without talosctl's "NODE: " prefix:
//     "kern:    info: [2026-01-01T10:00:01.123456789Z]: message", the
//     format of machined's Dmesg API (internal/app/machined/internal/server/
//     v1alpha1/v1alpha1_server.go, "%s: %7s: [%s]: %s");
//   - a kernel log with boot-relative times ("[    5.123456] message", dmesg or
//     a serial console, optionally "<6>"-prefixed), raw /dev/kmsg records,
//     or `dmesg -T` / `dmesg --time-format iso`;
//   - machined's log (`talosctl logs machined` or `logs controller-runtime`):
//     zap's console encoding, "2026-01-01T10:00:01.123Z INFO message {fields}"
//     (pkg/logging/zap.go), level colours stripped, with the "[talos] ..." lines
//     of Go's log package that carry no time of their own and take the time of
//     the line before;
//   - Talos's console format "[talos] 2026/01/01 10:00:01 message";
//   - a raid-settle gate report.json (docs/timeline.md), recognised by its
//     first byte being "{".
//
// # Messages
//
// From the kernel: "Linux version" (a boot starts: earlier lines of the same
// file and node are dropped), "Command line:", the storage drivers' lines,
// "scsi H:C:T:L: Direct-Access", the sd driver's size and "Attached SCSI
// disk" lines, the partition scan (" sda: sda1 sda2"), XFS mount and error
// lines. From Talos: udevd's health check (service[udevd](Running): Health
// check successful; system/service_runner.go, system/services/udevd.go),
// the extra settle time (task startUdevd in v1.9-v1.13, "extra udev settle
// time" from v1.14's UdevServiceController), the STATE and META "volume
// status" phase transitions (controllers/block/volume_manager.go: "volume",
// "phase": "waiting -> missing", "location"), "volume mount" of STATE
// (controllers/block/mount.go), "entering maintenance service", "loading
// config from STATE" and "machine config loaded successfully" with its
// "sources" (controllers/config/acquire.go), "controller failed" errors
// naming STATE, xfs_repair. From raid-settle: its kernel log lines
// (agent/gate.go, agent/engine.go).
//
// # Time
//
// Each node's lines are put on one axis, the clock most of them use. Lines on
// another clock (boot-relative kernel times, machined's wall clock, a gate
// report's milliseconds since its start) are tied to it by messages present on
// both (the same [talos] line in the kernel log and in machined's log, the
// same raid-settle line in the kernel log and in the report's log), using the
// median difference; otherwise a report's start time, or equal wall clocks,
// are assumed. Times are shown in seconds since the kernel's boot when known.
//
// # Verdicts
//
// Per node, by these rules (analyse in verdict.go applies them; each group
// is a verdict_*.go file, working from the facts of facts.go):
//
//   - late-disk: Talos decided without STATE (its "waiting -> missing", else
//     udevd settling, else maintenance entry, else the gate's release without
//     STATE) and STATE's partition or disk appeared later (when neither Talos
//     nor the gate names STATE's partition, the first disk to appear after the
//     decision with at least four partitions is taken); lateness_s is the
//     difference; the recommended talos.device.settle_time is the time from
//     udevd's settle to the appearance (plus any settle time already in
//     force), plus half of it (at least 5 s), rounded up to 5 s;
//   - state-corrupt: XFS errors on STATE's partition (or on any partition
//     before maintenance mode when STATE's is not named), STATE failed or not
//     mounted, xfs_repair, or the gate's state-invalid or non-ok verification;
//   - no-config: STATE reached ready (or was mounted, or the gate verified it)
//     before maintenance mode, without a miss first, and no config loaded
//     from it;
//   - no-state: Talos reported STATE missing (or the gate released without it,
//     or the capture covers udevd's settle and every disk) and STATE never
//     appeared;
//   - healthy: the config loaded from STATE, or the gate verified STATE, and
//     no maintenance mode;
//   - insufficient-evidence: none of the above; it says what to capture;
//   - misspelled-settle-time: talos.devices.settle_time on the command line
//     (the kernel prints it; so does the gate), alongside any other verdict.
//
// DiagnoseReport diagnoses an already decoded gate report: the hook for
// reports produced by the end-to-end harness.
package diagnose
