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

// RaisePriority sets every thread of this process to GateNice; threads and
// processes started afterwards inherit it. Linux keeps a nice value per
// thread (setpriority(2), NOTES), hence the walk over procRoot/self/task.
// It returns the first error; a process without CAP_SYS_NICE keeps its
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
	}

	return first
}
