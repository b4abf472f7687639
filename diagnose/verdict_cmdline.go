package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// The kernel command line's settle time: the misspelled-settle-time rule,
// and the check of a value Talos cannot parse, which other verdicts report.

// misspelledVerdict finds talos.devices.settle_time (plural), which Talos
// ignores, on the kernel command line or in the gate's note of it.
func (f *facts) misspelledVerdict() *Verdict {
	if len(f.misspelled) == 0 {
		return nil
	}

	v := &Verdict{ID: MisspelledSettleTime}
	for _, e := range f.misspelled {
		v.addEvidence(f, "cmdline", e)
	}

	value := ""

	for _, e := range f.misspelled {
		for _, arg := range strings.Fields(e.detail) {
			if k, val, ok := strings.Cut(arg, "="); ok && strings.Trim(k, ":") == "talos.devices.settle_time" {
				value = val
			}
		}
	}

	v.Summary = "talos.devices.settle_time is on the kernel command line: Talos ignores it (the argument is talos.device.settle_time, singular)"
	v.Explanation = "Talos does not warn about unknown talos.* arguments, so the intended wait never happened."

	if value != "" {
		v.Recommendations = []string{fmt.Sprintf("replace it with talos.device.settle_time=%s (a Go duration, with its unit), or drop it in favour of raid-settle", withUnit(value))}
	} else {
		v.Recommendations = []string{"replace it with talos.device.settle_time=DURATION (with a unit, such as 30s), or drop it in favour of raid-settle"}
	}

	return v
}

// withUnit adds "s" to a bare number: Talos parses the value with
// time.ParseDuration, which refuses "30".
func withUnit(v string) string {
	if v != "" && allDigits(v) {
		return v + "s"
	}

	return v
}

// badSettleTime says what is wrong with a talos.device.settle_time value
// Talos cannot parse, "" when there is none.
func (f *facts) badSettleTime() string {
	if f.settleArg == "" && f.settleBad == nil {
		return ""
	}

	if _, err := time.ParseDuration(f.settleArg); err == nil && f.settleBad == nil {
		return ""
	}

	return fmt.Sprintf("talos.device.settle_time=%s is not a Go duration: Talos v1.9-v1.13 fail the boot on it, v1.14 ignores it; write it with a unit, such as talos.device.settle_time=%s", f.settleArg, withUnit(f.settleArg))
}
