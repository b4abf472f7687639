// Package certify measures how a storage controller announces its disks,
// and turns the measurements into a gate profile: the `raid-settle certify`
// command.
//
// The package is cut by the data as it flows:
//
//  1. Timelines in (timeline.go, reports.go): one Cycle per enumeration of a
//     controller, holding when each disk and partition arrived after the
//     cycle's reference (the driver's bind, or the controller's first
//     appearance). Cycles come from the gate's report.json files and from
//     kernel logs holding the gate's "raid-settle: " lines (ReadFiles), or
//     from live cycling (Cycler).
//  2. Statistics (stats.go): Analyze finds the devices every cycle should
//     show, what each cycle missed, and min/median/p99/max of the delays and
//     of the gaps between arrivals.
//  3. Profile derivation (profile.go): DeriveProfile recommends a quiet
//     window and a bound for the controller, by a rule written into the
//     profile's Why.
//  4. Reports out (output.go, html.go, svg.go): the results as JSON, a
//     self-contained HTML report with inline SVG charts, and the profile file
//     in the format the gate loads.
//
// Live cycling (live.go, recorder.go, sysfs.go, safety.go, progress.go)
// re-enumerates a controller through sysfs, driver unbind/bind or a SCSI
// host rescan, while listening to kernel uevents, as the gate does. It
// refuses to touch a controller that holds a mounted filesystem, active
// swap, the root or the boot partition unless forced, and it leaves the
// controller bound however it ends. Its sysfs and proc roots, clock, uevent
// source and sysfs writer are fields, so tests run it against a fake tree.
//
// # Device identity
//
// A disk's kernel name (sda) depends on probe order and SCSI host numbers
// grow with every rebind, so devices are named by where they sit under the
// controller, as udev's by-path links do: "scsi-0:2:1:0" (host ordinal under
// the controller, channel, target, LUN), "nvme-n1" (namespace), and
// "-partN" for partitions. Kernel logs name disks only, so there the kernel
// name stands in.
package certify
