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
// The processes' CPU priority is left alone: running the gate at nice -10
// made no difference the end-to-end boots could tell from noise (README,
// Performance), and would take CPU from the driver still bringing up the
// disks. Only the thread that examines a disk alone is raised, for that
// examination (raiseThreadPriority).
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

// probeNice is the nice value of the thread that examines a disk alone
// (Prober.Probe), for that examination: milliseconds of work on a node,
// which the boot waits for. Over six boots each of 2-hotplug-5s,
// 2-late-volume-5s and 1-at-boot under TCG, the probe thread's wait for a
// CPU fell from a mean of 12.7 ms at nice 0 to 8.0 ms.
const probeNice = -10

// raiseThreadPriority sets the calling thread's nice value to probeNice, if
// the process may, and returns what sets it back. Linux keeps the nice
// value per thread (sched(7), "The nice value"), so the caller must be
// locked to its thread until it has set it back.
func raiseThreadPriority() (restore func()) {
	// The system call returns 20 - nice (getpriority(2), "C library/kernel
	// differences").
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return func() {}
	}

	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, probeNice); err != nil {
		return func() {}
	}

	return func() { _ = unix.Setpriority(unix.PRIO_PROCESS, 0, 20-prio) }
}
