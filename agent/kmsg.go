package agent

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Logger writes the gate's milestones. udevd discards a RUN program's
// output, so the gate writes to the kernel log, where `talosctl dmesg`
// shows it.
type Logger struct {
	mu sync.Mutex
	w  io.Writer
}

// Kernel log priorities used by the gate (see syslog(2)).
const (
	kmsgWarning = 4
	kmsgNotice  = 5
)

// OpenKmsg returns a Logger writing to path (normally /dev/kmsg), or to
// fallback when path cannot be opened for writing.
func OpenKmsg(path string, fallback io.Writer) *Logger {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return &Logger{w: fallback}
	}

	return &Logger{w: f}
}

// NewLogger returns a Logger writing records to w, one write per line.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w} }

// Notice logs a milestone.
func (l *Logger) Notice(format string, args ...any) { l.write(kmsgNotice, format, args...) }

// Warning logs something the operator should act on.
func (l *Logger) Warning(format string, args ...any) { l.write(kmsgWarning, format, args...) }

// write emits one record per line, each "<prio>raid-settle: text". The
// kernel takes one record per write(2) and caps records at about 1 KiB, so
// long messages are split on their own lines and folded.
func (l *Logger) write(prio int, format string, args ...any) {
	if l == nil || l.w == nil {
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

			_, _ = fmt.Fprintf(l.w, "<%d>raid-settle: %s\n", prio, chunk)
		}
	}
}
