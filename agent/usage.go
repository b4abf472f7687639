package agent

import "golang.org/x/sys/unix"

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
