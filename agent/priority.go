package agent

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// gateIOPriority is the gate's I/O priority: the real-time class, level 4
// (include/uapi/linux/ioprio.h, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_RT, 4)).
// Its one or two superblock reads go ahead of the reads udev's blkid queues
// on the same disk where the disk's I/O scheduler orders by priority
// (mq-deadline, bfq), and the kernel names the class of every failed
// request ("I/O error, dev sda, sector N ... prio class 1",
// block/blk-core.c, blk_print_req_error), so a kernel log tells the gate's
// failed reads from udev's.
const gateIOPriority = 1<<13 | 4

// ioprioWhoProcess is IOPRIO_WHO_PROCESS: the target is one thread.
const ioprioWhoProcess = 1

// RaiseIOPriority puts every thread of this process in the real-time I/O
// class; threads and processes started afterwards inherit it. Linux keeps
// the I/O priority per thread (ioprio_set(2), NOTES), hence the walk over
// procRoot/self/task. It returns the first error; a process without
// CAP_SYS_ADMIN keeps its priority, which costs time, not correctness.
//
// The CPU priority is left alone: running the gate at nice -10 made no
// difference the end-to-end boots could tell from noise (README,
// Performance), and would take CPU from the driver still bringing up the
// disks.
func RaiseIOPriority(procRoot string) error {
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

		if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), gateIOPriority); errno != 0 && first == nil {
			first = errno
		}
	}

	return first
}
