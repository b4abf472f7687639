package agent

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRaisePriority sets every thread of the test process to GateNice, as
// the gate does, checks each, and puts them back.
func TestRaisePriority(t *testing.T) {
	if err := RaisePriority("/proc"); err != nil {
		t.Fatalf("RaisePriority (the tests run as root): %v", err)
	}

	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}

	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())

		// getpriority(2) returns 20 - nice.
		if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && 20-prio != GateNice {
			t.Errorf("thread %d at nice %d, want %d", tid, 20-prio, GateNice)
		}

		if prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0); errno == 0 && prio != gateIOPriority {
			t.Errorf("thread %d at I/O priority %#x, want %#x", tid, prio, gateIOPriority)
		}

		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 0)
		_, _, _ = unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), 0)
	}
}
