package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

func TestVMDevicesLateDisk(t *testing.T) {
	vm := &VM{Controllers: []Controller{
		{Bus: BusMegasas, DisksAfter: time.Second, Disks: []Drive{{Image: "/i/state.img"}}},
	}}

	args, hotplug := vm.devices()

	want := "-drive if=none,id=c0-d0,format=raw,readonly=on,file=/i/state.img -device megasas,id=c0"
	if got := strings.Join(args, " "); got != want {
		t.Errorf("args = %q, want %q: the controller at boot, its disk later", got, want)
	}

	if len(hotplug) != 1 || len(hotplug[0].Devs) != 1 || hotplug[0].Devs[0]["bus"] != "c0.0" {
		t.Errorf("hot-plug = %v, want the scsi-hd alone on c0.0", hotplug)
	}

	if hotplug[0].After != time.Second {
		t.Errorf("plugged after %s, want 1s", hotplug[0].After)
	}
}

// certifyBoot is a boot that ran certify in the guest and printed its files.
func certifyBoot(rc int, failed int) *Result {
	r := newResult("10-certify", With)
	for _, l := range []string{
		proto.Format(proto.KindReport, "json", `{"decision":{"decision":"state-verified","at_ms":700,"reason":"ok"},"held_ms":700,"state_uevent_ms":200}`),
		proto.Format(proto.KindStep, "name", "certify", "ms", 30000, "took_ms", 9000, "rc", rc),
		proto.Format(proto.KindFile, "path", "/run/certify/certify.json", "data",
			`{"cycles":3,"controllers":[{"stats":{"cycles":3,"complete":`+string(rune('0'+3-failed))+`,"failed":`+string(rune('0'+failed))+`},"profile_file":"profiles/profile-megaraid_sas-1000-0060.json"}],"profiles":[{"file":"profiles/profile-megaraid_sas-1000-0060.json"}]}`),
		proto.Format(proto.KindFile, "path", "/run/certify/profiles/profile-megaraid_sas-1000-0060.json", "data", `{"driver":"megaraid_sas","pci_ids":["1000:0060"]}`),
		proto.Format(proto.KindDone, "ms", 31000),
	} {
		r.Add(time.Time{}, l)
	}

	return r
}

func TestKeepCertify(t *testing.T) {
	dir := t.TempDir()
	r := certifyBoot(0, 0)

	if err := r.keep(dir); err != nil {
		t.Fatal(err)
	}

	for _, f := range []string{"report.json", "certify/certify.json", "certify/profiles/profile-megaraid_sas-1000-0060.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not kept: %v", err)
		}
	}

	for _, c := range []Check{CertifyExit0, CertifyCycles3, CertifyProfile, DiagnoseAgrees, Diagnosed("healthy")} {
		if !c.OK(r) {
			t.Errorf("%s: fails (diagnose %v, certify %+v)", c.Name, r.Diagnose, r.Certify)
		}
	}

	bad := certifyBoot(1, 1)
	if err := bad.keep(t.TempDir()); err != nil {
		t.Fatal(err)
	}

	if CertifyExit0.OK(bad) || CertifyCycles3.OK(bad) {
		t.Error("a failed certify run passes")
	}

	stray := newResult("x", With)
	stray.Add(time.Time{}, proto.Format(proto.KindFile, "path", "/etc/passwd", "data", "{}"))

	if err := stray.keep(t.TempDir()); err == nil {
		t.Error("a file outside /run/certify was kept")
	}
}

func TestDiagnoseAgrees(t *testing.T) {
	r := newResult("x", With)
	r.Add(time.Time{}, proto.Format(proto.KindReport, "json", `{"decision":{"decision":"state-verified"},"state_uevent_ms":-1}`))
	r.ReportFile = "report.json"

	for _, tt := range []struct {
		ids  []string
		want bool
	}{
		{[]string{"healthy"}, true},
		{[]string{"healthy", "misspelled-settle-time"}, true},
		{[]string{"no-state"}, false},
		{[]string{"healthy", "late-disk"}, false},
		{nil, false},
	} {
		r.Diagnose = tt.ids
		if got := DiagnoseAgrees.OK(r); got != tt.want {
			t.Errorf("state-verified, diagnose %v: agrees = %t, want %t", tt.ids, got, tt.want)
		}
	}

	if DiagnoseAgrees.OK(newResult("y", With)) {
		t.Error("a boot without a report passes")
	}
}

func TestProfileOverlay(t *testing.T) {
	out := t.TempDir()
	base := filepath.Join(out, "base.cpio")

	var b bytes.Buffer

	c := newCPIOWriter(&b)
	c.File("init", 0o755, []byte("#!"))

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(base, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	if _, _, err := profileOverlay(base, out, "10-certify", t.TempDir()); err == nil {
		t.Error("no error without the certify boot's profiles")
	}

	profiles := filepath.Join(out, "10-certify-with", "certify", "profiles")
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(profiles, "profile-megaraid_sas-1000-0060.json"), []byte(`{"driver":"megaraid_sas"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	path, names, err := profileOverlay(base, out, "10-certify", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	if len(names) != 1 || names[0] != "profile-megaraid_sas-1000-0060.json" {
		t.Errorf("names = %q", names)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The first archive, zeros to a 512-byte boundary, then the second.
	second := bytes.TrimLeft(data[len(b.Bytes()):], "\x00")
	if off := len(data) - len(second); off%512 != 0 {
		t.Errorf("second archive at %d, not 512-aligned", off)
	}

	entries := readCPIO(t, second)
	last := entries[len(entries)-1]

	if last.name != "usr/local/lib/raid-settle/profiles/profile-megaraid_sas-1000-0060.json" || last.data != `{"driver":"megaraid_sas"}` {
		t.Errorf("overlay entries: %+v", entries)
	}
}

func TestCertifyReports(t *testing.T) {
	var outs []Outcome

	for i := 1; i <= 5; i++ {
		s := &Scenario{ID: "2-perc"}
		outs = append(outs, Outcome{Scenario: s, Result: &Result{Variant: With, ReportFile: filepath.Join("..", "certify", "testdata", "perc-boot-"+string(rune('0'+i))+".json")}})
	}

	outs = append(outs, Outcome{Scenario: &Scenario{ID: "2-perc"}, Result: &Result{Variant: Without}})

	if c := CertifyReports(outs, "3-", t.TempDir()); c != nil {
		t.Errorf("a certification without reports: %+v", c)
	}

	dir := t.TempDir()

	c := CertifyReports(outs, "2-", dir)
	if c == nil || len(c.Reports) != 5 {
		t.Fatalf("certification %+v, want one over 5 reports", c)
	}

	if !c.OK() {
		t.Fatalf("no profile: %v", c.Err)
	}

	for _, p := range c.Profiles {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}

	var b bytes.Buffer
	WriteCertify(&b, outs, []*ReportsCertification{c, nil})

	if !strings.Contains(b.String(), "over the 5 gate reports of 2-*: 1 profile(s)") {
		t.Errorf("WriteCertify:\n%s", b.String())
	}
}
