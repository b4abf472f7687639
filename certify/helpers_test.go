package certify

import (
	"encoding/json"
	"testing"
)

// equalJSON compares two values by their JSON forms, which is how the
// results are consumed.
func equalJSON(t *testing.T, got, want any) bool {
	t.Helper()

	a, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}

	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}

	return string(a) == string(b)
}
