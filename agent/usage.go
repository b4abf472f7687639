package agent

import (
	"errors"
	"io"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Usage is what a process used: its peak resident memory and its CPU time.
type Usage struct {
	// MaxRSSKB is the peak resident set size, in KiB (getrusage's ru_maxrss).
	MaxRSSKB int64 `json:"max_rss_kb"`
	// CPUMS is user plus system CPU time, in milliseconds.
	CPUMS float64 `json:"cpu_ms"`
}

// SelfUsage returns this process's usage so far; zero if it cannot be read.
func SelfUsage() Usage {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return Usage{}
	}

	cpu := ru.Utime.Nano() + ru.Stime.Nano()

	return Usage{MaxRSSKB: ru.Maxrss, CPUMS: float64(cpu/1000) / 1000}
}

// Usages are the gate's and its probe worker's, in the report.
type Usages struct {
	Gate Usage `json:"gate"`
	// Worker is the worker's as of its last reply; zero without a worker.
	Worker Usage `json:"worker"`
}

// threadSchedstat is where the kernel keeps the calling thread's scheduler
// statistics: time on a CPU, then time runnable but waiting for one, in
// nanoseconds (Documentation/scheduler/sched-stats.rst, "/proc/<pid>/
// schedstat"). Kernels built without CONFIG_SCHED_INFO lack the file.
const threadSchedstat = "/proc/thread-self/schedstat"

// schedTimes is how a thread has spent its life so far, in nanoseconds.
type schedTimes struct{ onCPU, runWait int64 }

// threadTimes reads the calling thread's schedTimes; false when it cannot.
// The time on a CPU comes from CLOCK_THREAD_CPUTIME_ID, which counts the
// running slice too: schedstat's first field moves only at a tick or a
// switch, so a short examination may read 0 there. The wait comes from
// schedstat (threadSchedstat, opened by the same thread), whose second
// field is up to date whenever the thread runs. Reading an open file again
// costs a third of opening it anew (21 µs natively).
func threadTimes(schedstat io.ReaderAt) (schedTimes, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return schedTimes{}, false
	}

	wait, ok := readRunWait(schedstat)

	return schedTimes{onCPU: ts.Nano(), runWait: wait}, ok
}

// readRunWait reads the time waiting for a CPU, schedstat's second field.
func readRunWait(schedstat io.ReaderAt) (int64, bool) {
	var buf [128]byte

	n, err := schedstat.ReadAt(buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}

	fields := strings.Fields(string(buf[:n]))
	if len(fields) < 2 {
		return 0, false
	}

	wait, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || wait < 0 {
		return 0, false
	}

	return wait, true
}
