package agent

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Logger writes the gate's milestones. udevd discards a RUN program's
// output, so the gate writes to the kernel log, where the console and
// `talosctl dmesg` show it.
//
// The kernel rate-limits writers of /dev/kmsg unless booted with
// printk.devkmsg=on: each open file may write 10 records per 5 s, the rest
// are dropped (devkmsg_open and devkmsg_write in kernel/printk/printk.c,
// ratelimit_default_init). A machine with a few controllers and disks says
// more than that in its first seconds, and the line that matters most, the
// verdict, comes last. So routine lines share a budget that leaves room for
// warnings, lines over it are counted (the report keeps them all), and the
// verdict is written on a descriptor of its own.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	path string // reopened for the verdict; "" writes it on w

	limited bool        // the kernel rate-limits w
	recent  []time.Time // routine records written in the last window
	dropped int         // routine lines not written to stay under the limit
	now     func() time.Time
}

// Kernel log priorities used by the gate (see syslog(2)).
const (
	kmsgWarning = 4
	kmsgNotice  = 5
)

// The kernel's limit on one /dev/kmsg writer (DEFAULT_RATELIMIT_INTERVAL and
// DEFAULT_RATELIMIT_BURST), and the share of it routine lines may use.
const (
	kmsgWindow        = 5 * time.Second
	kmsgBurst         = 10
	kmsgRoutineBudget = kmsgBurst - 3
)

// devkmsgSetting is where the kernel says whether it rate-limits /dev/kmsg
// ("ratelimit", the default; "on" lifts the limit).
const devkmsgSetting = "/proc/sys/kernel/printk_devkmsg"

// OpenKmsg returns a Logger writing to path (normally /dev/kmsg), or to
// fallback when path cannot be opened for writing.
func OpenKmsg(path string, fallback io.Writer) *Logger {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return &Logger{w: fallback, now: time.Now}
	}

	setting, _ := os.ReadFile(devkmsgSetting)

	return &Logger{w: f, path: path, limited: strings.TrimSpace(string(setting)) != "on", now: time.Now}
}

// NewLogger returns a Logger writing records to w, one write per line,
// without a rate limit.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w, now: time.Now} }

// Notice logs a routine milestone: within the rate-limit budget, or counted
// as dropped.
func (l *Logger) Notice(format string, args ...any) { l.routine(kmsgNotice, format, args...) }

// Warning logs something the operator should act on.
func (l *Logger) Warning(format string, args ...any) { l.write(l.w, kmsgWarning, format, args...) }

// Dropped returns how many routine lines were not written to stay under the
// kernel's rate limit.
func (l *Logger) Dropped() int {
	if l == nil {
		return 0
	}

	l.mu.Lock()
	defer l.mu.Unlock()

	return l.dropped
}

// Verdict logs the gate's decision, at prio, on a descriptor of its own when
// the Logger has a path: whatever the milestones used of the rate limit, the
// verdict reaches the console.
func (l *Logger) Verdict(warn bool, format string, args ...any) {
	if l == nil {
		return
	}

	prio := kmsgNotice
	if warn {
		prio = kmsgWarning
	}

	if l.path != "" {
		if f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			defer f.Close()

			l.write(f, prio, format, args...)

			return
		}
	}

	l.write(l.w, prio, format, args...)
}

func (l *Logger) routine(prio int, format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}

	if l.limited {
		l.mu.Lock()
		now := l.now()

		kept := l.recent[:0]
		for _, t := range l.recent {
			if now.Sub(t) < kmsgWindow {
				kept = append(kept, t)
			}
		}

		l.recent = kept

		if len(l.recent) >= kmsgRoutineBudget {
			l.dropped++
			l.mu.Unlock()

			return
		}

		l.recent = append(l.recent, now)
		l.mu.Unlock()
	}

	l.write(l.w, prio, format, args...)
}

// write emits one record per line, each "<prio>raid-settle: text". The
// kernel takes one record per write(2) and caps records at about 1 KiB, so
// long messages are split on their own lines and folded.
func (l *Logger) write(w io.Writer, prio int, format string, args ...any) {
	if l == nil || w == nil {
		return
	}

	l.mu.Lock()
	defer l.mu.Unlock()

	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		for len(line) > 0 {
			chunk := line
			if len(chunk) > 900 {
				chunk = line[:900]
			}

			line = line[len(chunk):]

			_, _ = fmt.Fprintf(w, "<%d>raid-settle: %s\n", prio, chunk)
		}
	}
}
