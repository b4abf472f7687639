package diagnose

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxLineBytes caps one input line. A longer line is skipped (and counted in
// Source.LongLines): no line Talos or the kernel writes comes close (kmsg
// records stop at about 1 KiB), so such a line is not a log line.
const MaxLineBytes = 64 << 10

// maxEvidenceText caps the text kept for one evidence line.
const maxEvidenceText = 1000

// Format names a line format the parser recognises.
type Format string

// Line formats, as Source.Formats lists them.
const (
	// FormatTalosctlDmesg is `talosctl dmesg`: "[NODE: ]FACILITY: PRIORITY: [RFC3339]: MESSAGE".
	FormatTalosctlDmesg Format = "talosctl-dmesg"
	// FormatKernel is a kernel log with boot-relative times: "[    5.123456] MESSAGE"
	// (dmesg, a serial console), with an optional "<6>" priority.
	FormatKernel Format = "kernel-log"
	// FormatKernelRaw is /dev/kmsg as read raw: "6,1234,5123456,-;MESSAGE".
	FormatKernelRaw Format = "kmsg"
	// FormatKernelWall is a kernel log with wall-clock times: `dmesg -T`
	// ("[Thu Jan  1 10:00:01 2026] MESSAGE") or `dmesg --time-format iso`.
	FormatKernelWall Format = "kernel-log-wall"
	// FormatMachined is `talosctl logs machined` (or controller-runtime):
	// "[NODE: ]2026-01-01T10:00:01.123Z LEVEL MESSAGE {FIELDS}".
	FormatMachined Format = "machined-log"
	// FormatConsole is Talos's console format in a container or a copy of its
	// log package output: "[talos] 2026/01/01 10:00:01[.123] MESSAGE".
	FormatConsole Format = "talos-console"
	// FormatTalosUntimed is a "[talos] MESSAGE" line without a time of its
	// own (machined's log package output in `talosctl logs machined`); it
	// takes the time of the line before it.
	FormatTalosUntimed Format = "talos-untimed"
	// FormatGateReport is a raid-settle gate report.json.
	FormatGateReport Format = "gate-report"
	// FormatJSONLines is Talos's JSON-lines log stream: the kernel-log
	// sink (talos.logging.kernel=, `{"clock", "facility", "msg",
	// "priority", "seq", "talos-level", "talos-time"}`) or a
	// machine.logging destination (`{"msg", "talos-level",
	// "talos-service", "talos-time", ...}`).
	FormatJSONLines Format = "talos-json-lines"
)

// clock is the time axis a stamp is on.
type clock uint8

const (
	clockNone clock = iota // no time at all
	clockBoot              // nanoseconds since the kernel booted
	clockWall              // Unix nanoseconds
	clockGate              // nanoseconds since a raid-settle gate started
	clockLog               // Unix ns by machined's clock (its log lines)
	numClocks
)

// allClocks are the clocks with times, in the order a tie picks the axis.
var allClocks = []clock{clockWall, clockLog, clockBoot, clockGate}

// stamp is a time as a line gave it.
type stamp struct {
	clock clock
	ns    int64
	// approx is set on a line that had no time and took the one before it.
	approx bool
}

// parsedLine is one input line split into its parts.
type parsedLine struct {
	format Format
	node   string
	st     stamp
	msg    string
}

// lineReader yields lines of at most MaxLineBytes, without their line end,
// in one pass and bounded memory: a small read buffer, and a line buffer
// that grows to MaxLineBytes only for lines that long.
type lineReader struct {
	r    *bufio.Reader
	buf  []byte
	n    int // line number of the last line read, long ones included
	long int // lines dropped for their length
	err  error
}

// readBufferSize is the read buffer; longer lines are assembled in buf.
const readBufferSize = 4 << 10

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, readBufferSize)}
}

// next returns the next line, valid until the next call; ok is false at the
// end of the input or on a read error (in lr.err).
func (lr *lineReader) next() (line []byte, ok bool) {
	lr.buf = lr.buf[:0]
	tooLong := false

	for {
		b, err := lr.r.ReadSlice('\n')

		if errors.Is(err, bufio.ErrBufferFull) {
			// Part of a line longer than the read buffer: keep it while it
			// fits, drop the line once it does not.
			if !tooLong && len(lr.buf)+len(b) <= MaxLineBytes {
				lr.buf = append(lr.buf, b...)
			} else {
				tooLong, lr.buf = true, lr.buf[:0]
			}

			continue
		}

		if err != nil && !errors.Is(err, io.EOF) {
			lr.err = err

			return nil, false
		}

		if !tooLong && len(lr.buf) > 0 {
			lr.buf = append(lr.buf, b...)
			b = lr.buf
		}

		b = trimLineEnd(b)

		if len(b) > 0 || err == nil || tooLong {
			lr.n++
		}

		if tooLong || len(b) > MaxLineBytes {
			lr.long++

			if err != nil {
				return nil, false // the input ended inside the long line
			}

			tooLong, lr.buf = false, lr.buf[:0]

			continue
		}

		if len(b) == 0 && err != nil {
			return nil, false
		}

		return b, true
	}
}

func trimLineEnd(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}

	return b
}

// stripANSI removes terminal colour sequences (ESC [ ... letter), which
// `talosctl logs` keeps around log levels.
func stripANSI(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}

	var b strings.Builder

	b.Grow(len(s))

	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			// A CSI sequence: parameter bytes 0x30-0x3f (digits, ';', ':'),
			// intermediate bytes 0x20-0x2f, one final byte 0x40-0x7e.
			j := i + 2
			for j < len(s) && s[j] >= 0x20 && s[j] <= 0x3f {
				j++
			}

			if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
				i = j // skip the final byte too

				continue
			}
		}

		b.WriteByte(s[i])
	}

	return b.String()
}

// parseLine splits a line into node, time and message. A line in no known
// format is returned as an untimed message, with ok false.
func parseLine(s string) (parsedLine, bool) {
	if pl, ok := parseBare(s); ok {
		return pl, true
	}

	// `talosctl` prefixes every line with "NODE: " when it talks to nodes
	// (an empty NODE when it talks to an endpoint directly).
	if i := strings.Index(s, ": "); i >= 0 && validNode(s[:i]) {
		if pl, ok := parseBare(s[i+2:]); ok {
			pl.node = s[:i]

			return pl, true
		}
	}

	return parsedLine{msg: s}, false
}

// validNode accepts what talosctl prints as a node: an IP address or a host
// name, optionally bracketed.
func validNode(s string) bool {
	if len(s) > 255 {
		return false
	}

	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]%", c) >= 0) {
			return false
		}
	}

	return true
}

// parseBare parses a line without a node prefix.
func parseBare(s string) (parsedLine, bool) {
	if s == "" {
		return parsedLine{}, false
	}

	switch c := s[0]; {
	case c == '{':
		return parseJSONLine(s)
	case c == '[':
		return parseBracketed(s)
	case c == '<':
		// "<6>[    5.123456] message": a priority before the time.
		if j := strings.IndexByte(s, '>'); j > 1 && j < 6 && allDigits(s[1:j]) && j+1 < len(s) && s[j+1] == '[' {
			return parseBracketed(s[j+1:])
		}
	case c >= '0' && c <= '9':
		if pl, ok := parseISO(s); ok {
			return pl, true
		}

		return parseRawKmsg(s)
	case c >= 'a' && c <= 'z':
		return parseTalosctlDmesg(s)
	}

	return parsedLine{}, false
}

// parseBracketed handles "[talos] ...", "[    5.123456] ..." and
// "[Thu Jan  1 10:00:01 2026] ...".
func parseBracketed(s string) (parsedLine, bool) {
	if rest, ok := strings.CutPrefix(s, "[talos] "); ok {
		// Go's log package with its date flags: "2026/01/01 10:00:01[.123456] ".
		if len(rest) >= 20 && rest[4] == '/' && rest[7] == '/' && rest[10] == ' ' && rest[13] == ':' {
			end := 19
			for end < len(rest) && (rest[end] == '.' || rest[end] >= '0' && rest[end] <= '9') {
				end++
			}

			if t, err := time.Parse("2006/01/02 15:04:05", rest[:end]); err == nil && end < len(rest) && rest[end] == ' ' {
				return parsedLine{format: FormatConsole, st: stamp{clock: clockLog, ns: t.UnixNano()}, msg: "[talos] " + rest[end+1:]}, true
			}
		}

		return parsedLine{format: FormatTalosUntimed, msg: s}, true
	}

	end := strings.IndexByte(s, ']')
	if end < 0 || end > 40 {
		return parsedLine{}, false
	}

	inner := strings.TrimLeft(s[1:end], " ")
	msg := strings.TrimPrefix(s[end+1:], " ")

	if ns, ok := parseSeconds(inner); ok {
		return parsedLine{format: FormatKernel, st: stamp{clock: clockBoot, ns: ns}, msg: msg}, true
	}

	if t, err := time.Parse("Mon Jan _2 15:04:05 2006", inner); err == nil {
		return parsedLine{format: FormatKernelWall, st: stamp{clock: clockWall, ns: t.UnixNano()}, msg: msg}, true
	}

	return parsedLine{}, false
}

// parseSeconds reads "5.123456" as nanoseconds.
func parseSeconds(s string) (int64, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || !allDigits(whole) || !allDigits(frac) {
		return 0, false
	}

	sec, _ := strconv.ParseInt(whole, 10, 64)
	ns := sec * int64(time.Second)

	scale := int64(time.Second)
	for i := 0; i < len(frac) && i < 9; i++ {
		scale /= 10
		ns += int64(frac[i]-'0') * scale
	}

	return ns, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}

	return true
}

// facilities are the names `talosctl dmesg` prints (go-kmsg's Facility).
var facilities = map[string]bool{
	"kern": true, "user": true, "mail": true, "daemon": true, "auth": true, "syslog": true, "lpr": true,
	"news": true, "uucp": true, "cron": true, "authpriv": true, "local0": true, "local1": true,
	"local2": true, "local3": true, "local4": true, "local5": true, "local6": true, "local7": true,
}

// priorities are the names `talosctl dmesg` prints (go-kmsg's Priority).
var priorities = map[string]bool{
	"emerg": true, "alert": true, "crit": true, "err": true, "warning": true, "notice": true, "info": true, "debug": true,
}

// parseTalosctlDmesg handles "kern:    info: [2026-01-01T10:00:01.123456789Z]: message",
// machined's Dmesg API format "%s: %7s: [%s]: %s".
func parseTalosctlDmesg(s string) (parsedLine, bool) {
	fac, rest, ok := strings.Cut(s, ":")
	if !ok || !facilities[fac] {
		return parsedLine{}, false
	}

	rest = strings.TrimLeft(rest, " ")

	prio, rest, ok := strings.Cut(rest, ": [")
	if !ok || !priorities[prio] {
		return parsedLine{}, false
	}

	ts, msg, ok := strings.Cut(rest, "]: ")
	if !ok {
		ts, ok = strings.CutSuffix(rest, "]:")
		if !ok {
			return parsedLine{}, false
		}
	}

	ns, ok := parseWall(ts)
	if !ok {
		return parsedLine{}, false
	}

	return parsedLine{format: FormatTalosctlDmesg, st: stamp{clock: clockWall, ns: ns}, msg: msg}, true
}

// levels are zap's capital level names, as machined's log file has them.
var levels = map[string]bool{"DEBUG": true, "INFO": true, "WARN": true, "ERROR": true, "DPANIC": true, "PANIC": true, "FATAL": true}

// parseISO handles machined's zap lines, "2026-01-01T10:00:01.123Z INFO msg",
// and `dmesg --time-format iso` lines, "2026-01-01T10:00:01,123456+00:00 msg".
func parseISO(s string) (parsedLine, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' {
		return parsedLine{}, false
	}

	ts, rest, _ := strings.Cut(s, " ")

	ns, ok := parseWall(ts)
	if !ok {
		return parsedLine{}, false
	}

	rest = strings.TrimLeft(rest, " \t")

	if level, msg, ok := strings.Cut(rest, " "); ok && levels[level] {
		return parsedLine{format: FormatMachined, st: stamp{clock: clockLog, ns: ns}, msg: strings.TrimLeft(msg, " \t")}, true
	}

	if strings.Contains(ts, ",") {
		return parsedLine{format: FormatKernelWall, st: stamp{clock: clockWall, ns: ns}, msg: rest}, true
	}

	return parsedLine{format: FormatMachined, st: stamp{clock: clockLog, ns: ns}, msg: rest}, true
}

// wallLayouts are the timestamp layouts seen: RFC 3339 with or without a
// colon in the zone (zap's ISO 8601 encoder writes "+0100").
var wallLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"}

func parseWall(ts string) (int64, bool) {
	if len(ts) > 40 {
		return 0, false
	}

	ts = strings.Replace(ts, ",", ".", 1)

	for _, layout := range wallLayouts {
		if t, err := time.Parse(layout, ts); err == nil {
			return t.UnixNano(), true
		}
	}

	return 0, false
}

// parseRawKmsg handles /dev/kmsg records, "6,1234,5123456,-;message" (the
// third field is microseconds since boot).
func parseRawKmsg(s string) (parsedLine, bool) {
	head, msg, ok := strings.Cut(s, ";")
	if !ok || len(head) > 80 {
		return parsedLine{}, false
	}

	fields := strings.SplitN(head, ",", 4)
	if len(fields) < 3 || !allDigits(fields[0]) || !allDigits(fields[1]) || !allDigits(fields[2]) || fields[2] == "" {
		return parsedLine{}, false
	}

	usec, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return parsedLine{}, false
	}

	return parsedLine{format: FormatKernelRaw, st: stamp{clock: clockBoot, ns: usec * int64(time.Microsecond)}, msg: msg}, true
}

// jsonLine is one line of Talos's JSON-lines log stream. The kernel-log
// sink's clock is the kernel's timestamp in microseconds since boot; every
// line has talos-time, the time Talos read it, in RFC 3339.
type jsonLine struct {
	Msg       *string `json:"msg"`
	TalosTime string  `json:"talos-time"`
	Clock     *int64  `json:"clock"`
}

// parseJSONLine handles a line of Talos's JSON-lines stream. Its time is
// talos-time on the wall clock, as talosctl dmesg shows the same lines;
// a line without one falls back to the kernel's clock.
func parseJSONLine(s string) (parsedLine, bool) {
	var jl jsonLine
	if err := json.Unmarshal([]byte(s), &jl); err != nil || jl.Msg == nil {
		return parsedLine{}, false
	}

	pl := parsedLine{format: FormatJSONLines, msg: strings.TrimRight(*jl.Msg, "\n")}

	if ns, ok := parseWall(jl.TalosTime); ok {
		pl.st = stamp{clock: clockWall, ns: ns}
	} else if jl.Clock != nil {
		pl.st = stamp{clock: clockBoot, ns: *jl.Clock * int64(time.Microsecond)}
	}

	return pl, true
}
