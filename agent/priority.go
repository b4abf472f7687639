package agent

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// GateNice is the nice value the gate and its probe worker run at. At
// coldplug udevd runs a worker per event, each forking blkid and friends,
// and the gate's few milliseconds of work between a STATE uevent and its
// exit would otherwise queue behind them for the CPU. The gate needs about
// 20 ms of CPU in all, so the others lose next to nothing.
const GateNice = -10

// gateIOPriority is the gate's I/O priority: the real-time class, level 4
// (include/uapi/linux/ioprio.h, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 4)).
// Its one or two superblock reads then go ahead of the reads udev's blkid
// queues on the same disk, where the disk's I/O scheduler orders by
// priority (mq-deadline, bfq).
const gateIOPriority = 1<<13 | 4

// ioprioWhoProcess is IOPRIO_WHO_PROCESS: the target is one thread.
const ioprioWhoProcess = 1

// RaisePriority sets every thread of this process to GateNice and to the
// real-time I/O class; threads and processes started afterwards inherit
// both. Linux keeps them per thread (setpriority(2) and ioprio_set(2),
// NOTES), hence the walk over procRoot/self/task. It returns the first
// error; a process without CAP_SYS_NICE and CAP_SYS_ADMIN keeps its
// priority, which costs time, not correctness.
func RaisePriority(procRoot string) error {
	tasks, err := os.ReadDir(filepath.Join(procRoot, "self", "task"))
	if err != nil {
		return err
	}

	var first error

	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}

		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, GateNice); err != nil && first == nil {
			first = err
		}

		if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), gateIOPriority); errno != 0 && first == nil {
			first = errno
		}
	}

	return first
}
