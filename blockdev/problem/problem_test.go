package problem

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindings(t *testing.T) {
	var l List
	l.Infof("xfs-secondary-unchecked", "a remark")
	l.Errorf("xfs-bad-crc", "an error")
	l.Warnf("luks2-seqid-mismatch", "a warning")

	if diff := cmp.Diff([]string{"xfs-bad-crc", "luks2-seqid-mismatch"}, Findings(l)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	if got := Findings([]Problem{{Code: "x", Severity: SeverityInfo}}); got != nil {
		t.Errorf("information alone: %q, want none", got)
	}
}
