package certify

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress shows a live run on a terminal (usually stderr): a header, a
// status line rewritten in place while a cycle runs, and one line per
// finished cycle with a running count and the time left. On anything but a
// terminal it writes the header and the per-cycle lines only, plainly. A
// nil *Progress shows nothing.
type Progress struct {
	w   io.Writer
	tty bool
	now func() time.Time

	mu      sync.Mutex
	total   int
	started time.Time
	done    int
	failed  int
	status  bool // a status line is on screen
	drawn   time.Time
}

// NewProgress writes to w; tty says whether w is a terminal (internal/tty).
// now is the clock (nil: time.Now).
func NewProgress(w io.Writer, tty bool, now func() time.Time) *Progress {
	if now == nil {
		now = time.Now
	}

	return &Progress{w: w, tty: tty, now: now}
}

// Begin writes the header.
func (p *Progress) Begin(t *target, c *Cycler) {
	if p == nil {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.total = c.Cycles
	p.started = p.now()

	disks, parts := 0, 0

	for _, b := range t.blocks {
		if b.Partition {
			parts++
		} else {
			disks++
		}
	}

	fmt.Fprintf(p.w, "certifying %s (%s, %s): %d %s cycle(s), %d disk(s) and %d partition(s) expected back, each cycle bounded by %s\n",
		t.ctl.Address, orNone(t.ctl.Driver), t.identity.PCIID, c.Cycles, c.Method.Describe(), disks, parts, c.Timeout)
}

// Phase shows what cycle is doing (terminal only).
func (p *Progress) Phase(cycle int, what string) {
	if p == nil || !p.tty {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.statusLine(fmt.Sprintf("cycle %d/%d: %s...", cycle, p.total, what))
}

// Waiting shows how many devices are back (terminal only, at most ten
// times a second).
func (p *Progress) Waiting(cycle, disks, wantDisks, parts, wantParts int, elapsed time.Duration) {
	if p == nil || !p.tty {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	if now := p.now(); now.Sub(p.drawn) >= 100*time.Millisecond {
		p.drawn = now
		p.statusLine(fmt.Sprintf("cycle %d/%d: %d/%d disks, %d/%d partitions back after %s", cycle, p.total, disks, wantDisks, parts, wantParts, elapsed.Round(100*time.Millisecond)))
	}
}

// CycleDone writes a cycle's line: its outcome, the running count and the
// time left.
func (p *Progress) CycleDone(c Cycle, t *target) {
	if p == nil {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.clearStatus()

	p.done++

	back := map[string]bool{}
	for _, a := range c.Arrivals {
		back[a.ID] = true
	}

	var missing []string

	disks, parts, wantDisks, wantParts := 0, 0, 0, 0

	for _, id := range t.expected {
		isPart := strings.Contains(id, "-part")

		switch {
		case isPart:
			wantParts++
		default:
			wantDisks++
		}

		switch {
		case back[id] && isPart:
			parts++
		case back[id]:
			disks++
		default:
			missing = append(missing, fmt.Sprintf("%s (%s)", id, t.names[id]))
		}
	}

	var last int64
	for _, a := range c.Arrivals {
		last = max(last, a.AtMS)
	}

	line := fmt.Sprintf("cycle %d/%d: %d/%d disks, %d/%d partitions back", c.Index, p.total, disks, wantDisks, parts, wantParts)

	switch {
	case c.Error != "":
		line += ", " + c.Error
	case len(missing) > 0 && c.TimedOut:
		line += fmt.Sprintf(" within the %s bound; missing %s", FormatMS(c.ObservedMS), strings.Join(missing, ", "))
	case len(c.Arrivals) > 0:
		line += ", last at " + FormatMS(last)
	}

	if len(missing) > 0 {
		p.failed++
	}

	if c.BindUeventMS >= 0 {
		line += fmt.Sprintf(" (bind uevent at %s)", FormatMS(c.BindUeventMS))
	}

	line += fmt.Sprintf(" | %d done", p.done)
	if p.failed > 0 {
		line += fmt.Sprintf(", %d with a device missing", p.failed)
	}

	if left := p.total - p.done; left > 0 {
		perCycle := p.now().Sub(p.started) / time.Duration(p.done)
		line += fmt.Sprintf(", %d left, ETA %s", left, formatETA(perCycle*time.Duration(left)))
	}

	fmt.Fprintln(p.w, line)
}

// End clears the status line.
func (p *Progress) End() {
	if p == nil {
		return
	}

	p.mu.Lock()
	defer p.mu.Unlock()

	p.clearStatus()
}

func (p *Progress) statusLine(s string) {
	fmt.Fprintf(p.w, "\r\033[K%s", s)
	p.status = true
}

func (p *Progress) clearStatus() {
	if p.status {
		fmt.Fprint(p.w, "\r\033[K")
		p.status = false
	}
}

// formatETA rounds a remaining time for people: "8s", "1m05s", "1h02m".
func formatETA(d time.Duration) string {
	d = d.Round(time.Second)

	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
