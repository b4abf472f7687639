// Package agent decides when the boot may go on. Its Engine is pure: uevents,
// probe results and clock ticks go in with their times, and actions come out
// (probe this disk, wake me at, log this line, release with this reason). The
// gate's run loop (Gate) does the I/O around it; `replay` drives the same
// engine from a recorded timeline with a simulated clock.
//
// The engine waits in one state and leaves it by the first rule that holds,
// checked in this order after every batch of inputs (Step feeds one,
// StepAll several that arrived together):
//
//	                +-----------------------------------------------------+
//	start --------> |                      WAITING                        |
//	                |  controllers: last event, longest gap               |
//	                |  disks: stale -> probing -> examined | given up     |
//	                +-----------------------------------------------------+
//	                  |          |             |           |          |
//	   raid_settle.disable  boot disk's   any STATE,   all quiet,   deadline
//	                  |     STATE (with   probes done  no evidence,   passed
//	                  |     a boot hint)  or 2 s grace no probe due     |
//	                  v          |             |           |          v
//	             [disabled]      v             v           v     [deadline]
//	                    [state-verified] / [state-invalid]  [no-state]
//
// Evidence that Talos is installed (GRUB's BOOT_IMAGE=/A/vmlinuz or
// /B/vmlinuz, a kexec boot) removes the no-state exit: only STATE or the
// deadline end the wait. A boot-partition hint (LoaderDevicePartUUID) does
// the same until the disk holding that partition has been examined, and no
// STATE on another disk is taken before then.
//
// A controller is quiet once no event on it, or on anything below it in
// sysfs, has arrived for its window: GapFactor times the longest gap between
// its events so far, clamped to its Profile's [Quiet, MaxQuiet]. With no
// storage controller at all the window is NoControllerGrace from start. A
// probe in flight for longer than HungProbeTimeout no longer holds the quiet
// exit; the disk is named as unexamined.
//
// A probe (Prober) examines a disk without reading it where it can: its
// partitions come from sysfs, and only a partition named STATE is read,
// through its own node. It runs in a child process (ProbeWorker), so that a
// read stuck in the kernel never holds the gate's exit.
package agent
