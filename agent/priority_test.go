package agent

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRaiseIOPriority puts every thread of the test process in the
// real-time I/O class, as the gate does, checks each, and puts them back.
func TestRaiseIOPriority(t *testing.T) {
	if err := RaiseIOPriority("/proc"); err != nil {
		t.Fatalf("RaiseIOPriority (the tests run as root): %v", err)
	}

	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}

	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())

		if prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0); errno == 0 && prio != gateIOPriority {
			t.Errorf("thread %d at I/O priority %#x, want %#x", tid, prio, gateIOPriority)
		}

		_, _, _ = unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), 0)
	}
}
