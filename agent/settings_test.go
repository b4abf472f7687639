package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

func TestApplyCmdline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cmdline  string
		want     Settings
		warnings []string // fragments, one per warning, in order
		remarks  int
	}{
		{name: "defaults", cmdline: "console=ttyS0 talos.platform=metal", want: Settings{Deadline: Duration(DefaultDeadline)}},
		{
			name:    "GRUB's BOOT_IMAGE is recorded",
			cmdline: "BOOT_IMAGE=(hd0,gpt3)/A/vmlinuz talos.platform=metal console=ttyS0",
			want:    Settings{Deadline: Duration(DefaultDeadline), BootImage: "(hd0,gpt3)/A/vmlinuz"},
		},
		{
			name:    "a stray BOOT_IMAGE in the extra arguments does not hide GRUB's",
			cmdline: "BOOT_IMAGE=/B/vmlinuz console=ttyS0 BOOT_IMAGE=foo",
			want:    Settings{Deadline: Duration(DefaultDeadline), BootImage: "/B/vmlinuz"},
		},
		{
			name:    "all raid_settle keys",
			cmdline: "raid_settle.timeout=90 raid_settle.quiet=4.5s raid_settle.disable=1 raid_settle.debug",
			want:    Settings{Deadline: Seconds(90), Quiet: Seconds(4.5), Disabled: true, Debug: true},
		},
		{name: "disable=0 keeps it on", cmdline: "raid_settle.disable=0", want: Settings{Deadline: Duration(DefaultDeadline)}},
		{
			name: "bad values keep defaults", cmdline: "raid_settle.timeout=soon raid_settle.quiet=-3",
			want: Settings{Deadline: Duration(DefaultDeadline)}, warnings: []string{"raid_settle.timeout=soon", "raid_settle.quiet=-3"},
		},
		{
			name: "unknown key is reported", cmdline: "raid_settle.timeuot=30",
			want: Settings{Deadline: Duration(DefaultDeadline)}, warnings: []string{"unknown kernel argument raid_settle.timeuot=30"},
		},
		{
			name: "misspelled Talos settle time", cmdline: "talos.devices.settle_time=30s",
			want: Settings{Deadline: Duration(DefaultDeadline)}, warnings: []string{"talos.device.settle_time (singular)"},
		},
		{name: "redundant Talos settle time", cmdline: "talos.device.settle_time=30s", want: Settings{Deadline: Duration(DefaultDeadline)}, remarks: 1},
		{
			name: "deadline kept below udev's event timeout", cmdline: "raid_settle.timeout=300",
			want: Settings{Deadline: Seconds(170)}, warnings: []string{"lowered to 2m50s"},
		},
		{
			name: "a shorter udev event timeout lowers the default deadline", cmdline: "udev.event_timeout=60",
			want: Settings{Deadline: Seconds(50)}, warnings: []string{"lowered to 50s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Settings{Deadline: Duration(DefaultDeadline)}
			notes := ApplyCmdline(&s, tc.cmdline)

			if diff := cmp.Diff(tc.want, s); diff != "" {
				t.Fatalf("settings (-want +got):\n%s", diff)
			}

			var warnings []string

			remarks := 0

			for _, n := range notes {
				if n.Warning {
					warnings = append(warnings, n.Message)
				} else {
					remarks++
				}
			}

			if len(warnings) != len(tc.warnings) || remarks != tc.remarks {
				t.Fatalf("notes %+v, want warnings %q and %d remark(s)", notes, tc.warnings, tc.remarks)
			}

			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Fatalf("warning %q lacks %q", warnings[i], w)
				}
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	ps := Profiles(BuiltinProfiles)

	if p := ps.For("megaraid_sas", "1000:0060"); p.Driver != "megaraid_sas" {
		t.Fatalf("megaraid_sas got %+v", p)
	}

	if p := ps.For("", ""); p.Driver != DefaultProfile.Driver || p.Quiet != DefaultProfile.Quiet {
		t.Fatalf("unbound got %+v", p)
	}

	if p := ps.For("some_new_raid", "abcd:0001"); p.Quiet != DefaultProfile.Quiet {
		t.Fatalf("unknown driver got %+v", p)
	}

	for _, p := range BuiltinProfiles {
		if p.Quiet <= 0 || p.MaxQuiet < p.Quiet || p.GapFactor < 1 || p.Why == "" {
			t.Errorf("built-in profile %s is inconsistent: %+v", p.Driver, p)
		}
	}

	mega := ps.For("megaraid_sas", "")
	for _, tc := range []struct{ gap, want time.Duration }{
		{0, 8 * time.Second},
		{3 * time.Second, 8 * time.Second},
		{6 * time.Second, 12 * time.Second},
		{time.Minute, 40 * time.Second},
	} {
		if got := mega.Window(tc.gap); got != tc.want {
			t.Errorf("megaraid window for gap %s = %s, want %s", tc.gap, got, tc.want)
		}
	}
}

func TestLoadProfiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("a.json", `{"driver":"megaraid_sas","pci_ids":["1000:005D"],"quiet":"3s","max_quiet":"9s","gap_factor":3}`)
	write("b.json", `[{"driver":"mpt3sas","quiet":"20s","max_quiet":"1m","gap_factor":2}]`)
	write("ignored.txt", `not a profile`)

	ps, err := LoadProfiles(dir, BuiltinProfiles)
	if err != nil {
		t.Fatal(err)
	}

	if p := ps.For("megaraid_sas", "1000:005d"); p.Quiet != Seconds(3) || p.MaxQuiet != Seconds(9) {
		t.Fatalf("certified megaraid profile not picked: %+v", p)
	}

	if p := ps.For("megaraid_sas", "1000:0060"); p.Quiet != Seconds(8) {
		t.Fatalf("another megaraid should keep the built-in profile: %+v", p)
	}

	if p := ps.For("mpt3sas", ""); p.Quiet != Seconds(20) {
		t.Fatalf("loaded mpt3sas profile should win over the built-in: %+v", p)
	}

	if ps, err := LoadProfiles(filepath.Join(dir, "missing"), BuiltinProfiles); err != nil || len(ps) != len(BuiltinProfiles) {
		t.Fatalf("missing dir: %v, %d profiles", err, len(ps))
	}

	write("c.json", `{"driver":"x","quiet":"0s"}`)

	if _, err := LoadProfiles(dir, BuiltinProfiles); err == nil {
		t.Fatal("a profile without a quiet window was accepted")
	}
}

func efivar(s string) []byte {
	data := []byte{7, 0, 0, 0}
	for _, u := range utf16.Encode([]rune(s + "\x00")) {
		data = append(data, byte(u), byte(u>>8))
	}

	return data
}

func TestReadBootPartUUID(t *testing.T) {
	sys := t.TempDir()

	if got, err := ReadBootPartUUID(sys); got != "" || err != nil {
		t.Fatalf("no efivarfs: %q, %v", got, err)
	}

	dir := filepath.Join(sys, "firmware", "efi", "efivars")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(dir, LoaderDevicePartUUIDVar)

	for _, tc := range []struct {
		data    []byte
		want    string
		wantErr bool
	}{
		{efivar("9C6F2A3E-0D8E-4B7A-9F4F-2A51C0FFEE01"), "9c6f2a3e-0d8e-4b7a-9f4f-2a51c0ffee01", false},
		{efivar("not-a-uuid"), "", true},
		{[]byte{7, 0}, "", true},
		{[]byte{7, 0, 0, 0, 'A'}, "", true},
	} {
		if err := os.WriteFile(file, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}

		got, err := ReadBootPartUUID(sys)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("% x: got %q, %v; want %q, error %t", tc.data, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestLoggerRecords(t *testing.T) {
	var b strings.Builder

	l := NewLogger(&b)
	l.Notice("hello %d", 1)
	l.Warning("two\nlines")
	l.Notice("%s", strings.Repeat("x", 1000))

	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 || lines[0] != "<5>raid-settle: hello 1" || lines[1] != "<4>raid-settle: two" || lines[2] != "<4>raid-settle: lines" {
		t.Fatalf("records:\n%s", b.String())
	}

	for _, l := range lines {
		if len(l) > 1024 {
			t.Fatalf("a record of %d bytes exceeds the kernel's limit", len(l))
		}
	}
}

func TestInstalledBootImage(t *testing.T) {
	for image, installed := range map[string]bool{
		"/A/vmlinuz":              true,
		"/B/vmlinuz":              true,
		"(hd0,gpt3)/A/vmlinuz":    true,
		"(hd1,gpt3)/B/vmlinuz":    true,
		"":                        false,
		"/boot/vmlinuz":           false, // installer media
		"/A/vmlinuz.old":          false,
		"/C/vmlinuz":              false,
		"(hd0,gpt3/A/vmlinuz":     false,
		"(tftp,10.0.0.1)/vmlinuz": false, // GRUB network boot
		"/a/vmlinuz":              false,
	} {
		if got := IsInstalledBootImage(image); got != installed {
			t.Errorf("IsInstalledBootImage(%q) = %t, want %t", image, got, installed)
		}

		s := Settings{BootImage: image}
		if ev := s.InstalledEvidence(); (ev != "") != installed {
			t.Errorf("InstalledEvidence with BOOT_IMAGE=%q = %q", image, ev)
		}
	}
}

func TestReadKexecBoot(t *testing.T) {
	sys := t.TempDir()

	if kexec, err := ReadKexecBoot(sys); kexec || err != nil {
		t.Fatalf("no boot_params (not x86): %t, %v", kexec, err)
	}

	dir := filepath.Join(sys, "kernel", "boot_params")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		loader  byte
		size    int
		want    bool
		wantErr bool
	}{
		{loader: 0xD0, size: 4096, want: true}, // kexec_file_load
		{loader: 0x72, size: 4096},             // GRUB's legacy Linux loader
		{loader: 0x46, size: 4096},             // iPXE
		{loader: 0x00, size: 4096},             // EFI stub
		{loader: 0xD0, size: 0x210, wantErr: true},
	} {
		data := make([]byte, tc.size)
		if tc.size > typeOfLoaderOffset {
			data[typeOfLoaderOffset] = tc.loader
		}

		if err := os.WriteFile(filepath.Join(dir, "data"), data, 0o644); err != nil {
			t.Fatal(err)
		}

		got, err := ReadKexecBoot(sys)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("loader %#x in %d bytes: got %t, %v", tc.loader, tc.size, got, err)
		}
	}

	// This machine's own boot parameters read without error where the
	// kernel exposes them (x86).
	if _, err := os.Stat("/sys/kernel/boot_params/data"); err == nil {
		if _, err := ReadKexecBoot("/sys"); err != nil {
			t.Errorf("this machine's boot_params: %v", err)
		}
	}

	s := Settings{KexecBoot: true}
	if s.InstalledEvidence() == "" {
		t.Error("a kexec boot is evidence of an installed node")
	}
}

func TestLoggerStaysUnderTheKernelRateLimit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kmsg")

	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}

	defer f.Close()

	now := time.Unix(0, 0)
	l := &Logger{w: f, path: file, limited: true, now: func() time.Time { return now }}

	for i := range 12 {
		l.Notice("milestone %d", i)
	}

	l.Warning("a warning is always written")

	now = now.Add(kmsgWindow)
	l.Notice("milestone after the window")
	l.Verdict(false, "released (state-verified)")

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	want := kmsgRoutineBudget + 3 // the budget, the warning, the next window's line, the verdict

	if len(lines) != want || l.Dropped() != 12-kmsgRoutineBudget {
		t.Fatalf("%d records, %d dropped; want %d and %d:\n%s", len(lines), l.Dropped(), want, 12-kmsgRoutineBudget, data)
	}

	if lines[len(lines)-1] != "<5>raid-settle: released (state-verified)" || lines[kmsgRoutineBudget] != "<4>raid-settle: a warning is always written" {
		t.Fatalf("records:\n%s", data)
	}

}
