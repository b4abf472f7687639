package agent

import (
	"os"
	"runtime"
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

// TestRaiseThreadPriority: the thread runs at probeNice, then at its own
// nice value again, and other threads keep theirs.
func TestRaiseThreadPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	nice := func() int {
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		if err != nil {
			t.Fatal(err)
		}

		return 20 - prio
	}

	before := nice()
	restore := raiseThreadPriority()

	if got := nice(); got != probeNice && os.Geteuid() == 0 {
		t.Errorf("nice %d while raised, want %d", got, probeNice)
	}

	other := make(chan int)

	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()

		other <- nice()
	}()

	if got := <-other; got != before {
		t.Errorf("another thread runs at nice %d, want its own %d", got, before)
	}

	restore()

	if got := nice(); got != before {
		t.Errorf("nice %d after restore, want %d", got, before)
	}
}
