// Package proto is the line format the guest init speaks to the harness on
// its own serial port: one record per line,
//
//	E2E <kind> key=value key="value with spaces" ...
//
// Times are milliseconds since the guest kernel booted (CLOCK_MONOTONIC), so
// the guest's own events, the kernel log and the harness's view line up.
package proto

import (
	"fmt"
	"strconv"
	"strings"
)

// Prefix starts every record.
const Prefix = "E2E "

// Record kinds.
const (
	KindInit     = "init"    // the init started: ms
	KindHello    = "hello"   // layer-1 smoke test
	KindStep     = "step"    // a boot step finished: name, ms, took_ms
	KindUevent   = "uevent"  // a kernel uevent the harness cares about
	KindSettle   = "settle"  // one udevadm settle: attempt, rc, ms, took_ms
	KindReturned = "settled" // the Talos-like health check passed: ms, attempts
	KindState    = "state"   // the Talos-like STATE lookup: present, dev, fs, ms, when
	KindKmsg     = "kmsg"    // a kernel log record: ts_ms, prio, text
	KindReport   = "report"  // the gate's report.json: json
	KindError    = "error"   // something in the init failed: text
	KindFile     = "file"    // a guest file the harness keeps: path, data
	KindRescan   = "rescan"  // the init rescanned the SCSI hosts: ms, hosts
	KindProc     = "proc"    // a raid-settle process came or went: pid, ppid, argv, ms, event, state, wchan
	KindDone     = "done"    // about to power off: ms
)

// Format makes one record line (without the newline). Values are quoted
// when they hold a space, a quote or nothing.
func Format(kind string, kv ...any) string {
	var b strings.Builder

	b.WriteString(Prefix)
	b.WriteString(kind)

	for i := 0; i+1 < len(kv); i += 2 {
		v := fmt.Sprint(kv[i+1])
		if v == "" || strings.ContainsAny(v, " \"\\\t\n\r=") || !strconv.IsPrint(rune(firstRune(v))) {
			v = strconv.Quote(v)
		}

		fmt.Fprintf(&b, " %v=%s", kv[i], v)
	}

	return b.String()
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}

	return ' '
}

// Record is one parsed line.
type Record struct {
	Kind   string
	Fields map[string]string
}

// Int returns an integer field, or def when it is absent or malformed.
func (r Record) Int(key string, def int64) int64 {
	v, err := strconv.ParseInt(r.Fields[key], 10, 64)
	if err != nil {
		return def
	}

	return v
}

// Parse reads one line; ok is false when it is not a record (console noise,
// a line cut short).
func Parse(line string) (rec Record, ok bool) {
	line = strings.TrimRight(line, "\r\n")

	i := strings.Index(line, Prefix)
	if i < 0 {
		return rec, false
	}

	rest := line[i+len(Prefix):]
	kind, rest, _ := strings.Cut(rest, " ")

	if kind == "" {
		return rec, false
	}

	rec = Record{Kind: kind, Fields: map[string]string{}}

	for rest = strings.TrimLeft(rest, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		key, after, found := strings.Cut(rest, "=")
		if !found || key == "" || strings.Contains(key, " ") {
			return rec, false
		}

		if strings.HasPrefix(after, "\"") {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return rec, false
			}

			v, _ := strconv.Unquote(q)
			rec.Fields[key] = v
			rest = after[len(q):]

			continue
		}

		v, next, _ := strings.Cut(after, " ")
		rec.Fields[key] = v
		rest = next
	}

	return rec, true
}
