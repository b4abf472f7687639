// Package agent decides when the boot may go on. Its Engine is pure: uevents,
// probe results and clock ticks go in with their times, and actions come out
// (probe this disk, wake me at, log this line, release with this reason). The
// gate's run loop (Gate) does the I/O around it; `replay` drives the same
// engine from a recorded timeline with a simulated clock.
//
// The engine waits in one state and leaves it by the first rule that holds,
// checked in this order after every input:
//
//	                +---------------------------------------------+
//	start --------> |                  WAITING                    |
//	                |  controllers: last event, longest gap       |
//	                |  disks: stale -> probing -> probed          |
//	                +---------------------------------------------+
//	                  |           |              |             |
//	    raid_settle.disable   STATE probed   all quiet,    deadline
//	                  |      (boot disk's     no probe      passed
//	                  |      if hinted)       pending          |
//	                  v           |              |             v
//	             [disabled]       v              v        [deadline]
//	                    [state-verified]     [no-state], or STATE's
//	                    [state-invalid]      verdict when a hint was
//	                                         never satisfied
//
// A controller is quiet once no event on it, or on anything below it in
// sysfs, has arrived for its window: GapFactor times the longest gap between
// its events so far, clamped to its Profile's [Quiet, MaxQuiet]. With no
// storage controller at all the window is NoControllerGrace from start.
package agent
