package certify

import "testing"

func TestJudge(t *testing.T) {
	ctl := func(cycles, complete, failed int) ControllerResult {
		return ControllerResult{Identity: Identity{Address: "0000:18:00.0", Driver: "megaraid_sas"}, Stats: Stats{Cycles: cycles, Complete: complete, Failed: failed}}
	}

	for _, tc := range []struct {
		name        string
		controllers []ControllerResult
		want        Verdict
	}{
		{"five complete cycles", []ControllerResult{ctl(5, 5, 0)}, VerdictCertified},
		{"a lost disk in one of five", []ControllerResult{ctl(5, 4, 1)}, VerdictNotCertified},
		{"a lost disk beats too few cycles", []ControllerResult{ctl(3, 3, 0), ctl(5, 4, 1)}, VerdictNotCertified},
		{"three complete cycles", []ControllerResult{ctl(3, 3, 0)}, VerdictTooFewCycles},
		{"no controller", nil, VerdictNotCertified},
	} {
		res := &Results{Controllers: tc.controllers}
		res.Judge()

		if res.Verdict != tc.want || res.VerdictReason == "" {
			t.Errorf("%s: verdict %q (%s), want %q", tc.name, res.Verdict, res.VerdictReason, tc.want)
		}
	}
}
