package proto

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		kind string
		kv   []any
		want map[string]string
	}{
		{"plain", KindSettle, []any{"attempt", 1, "rc", 0, "ms", 5123}, map[string]string{"attempt": "1", "rc": "0", "ms": "5123"}},
		{"quoted", KindKmsg, []any{"ts_ms", 812, "text", `raid-settle: released (state-verified) after 5.3s: "sdb5"`},
			map[string]string{"ts_ms": "812", "text": `raid-settle: released (state-verified) after 5.3s: "sdb5"`}},
		{"empty and equals", KindState, []any{"dev", "", "why", "a=b"}, map[string]string{"dev": "", "why": "a=b"}},
		{"json", KindReport, []any{"json", `{"decision":{"decision":"no-state"}}`}, map[string]string{"json": `{"decision":{"decision":"no-state"}}`}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := Format(tt.kind, tt.kv...)

			rec, ok := Parse("[   1.0] noise " + line + "\r\n")
			if !ok {
				t.Fatalf("Parse(%q) failed", line)
			}

			if rec.Kind != tt.kind {
				t.Errorf("Parse(%q): kind %s, want %s", line, rec.Kind, tt.kind)
			}

			if diff := cmp.Diff(tt.want, rec.Fields); diff != "" {
				t.Errorf("Parse(%q): fields (-want +got):\n%s", line, diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, line := range []string{
		"no record here",
		"E2E ",
		`E2E kmsg text="cut short`,
		"E2E settle rc",
	} {
		if rec, ok := Parse(line); ok {
			t.Errorf("Parse(%q) = %+v, want rejected", line, rec)
		}
	}
}

func TestInt(t *testing.T) {
	rec, _ := Parse("E2E settle ms=42 rc=x")
	if got := rec.Int("ms", -1); got != 42 {
		t.Errorf("Int(ms) = %d", got)
	}

	if got := rec.Int("rc", -1); got != -1 {
		t.Errorf("Int(rc) = %d, want the default", got)
	}

	if got := rec.Int("absent", -7); got != -7 {
		t.Errorf("Int(absent) = %d, want the default", got)
	}
}
