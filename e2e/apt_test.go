package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseControl(t *testing.T) {
	stanza := []byte(`Package: libsystemd-shared
Architecture: amd64
Version: 257.13-1~deb13u1
Pre-Depends: libc6 (>= 2.39)
Depends: libacl1 (>= 2.2.23), systemd | systemd-standalone-sysusers, libssl3t64:amd64 (>= 3.4.0)
Description: systemd shared private library
 continued
`)

	p, err := parseControl(stanza)
	if err != nil {
		t.Fatal(err)
	}

	want := Package{Name: "libsystemd-shared", Version: "257.13-1~deb13u1", Arch: "amd64", Depends: []string{"libc6", "libacl1", "systemd", "libssl3t64"}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("control stanza (-want +got):\n%s", diff)
	}

	if got := (Package{Name: "libaudit1", Version: "1:4.0.2-2", Arch: "amd64"}).DebName(); got != "libaudit1_1%3a4.0.2-2_amd64.deb" {
		t.Errorf("DebName = %s", got)
	}
}
