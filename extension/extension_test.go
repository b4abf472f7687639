package extension

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/agent"
)

func TestRenderManifest(t *testing.T) {
	src := []byte("metadata:\n  version: \"" + VersionPlaceholder + "\"\n")

	tests := []struct {
		name    string
		src     []byte
		version string
		want    string
		wantErr bool
	}{
		{name: "describe", src: src, version: "v0.3.0-2-gabc1234-dirty", want: "metadata:\n  version: \"v0.3.0-2-gabc1234-dirty\"\n"},
		{name: "hash only", src: src, version: "1234567", want: "metadata:\n  version: \"1234567\"\n"},
		{name: "empty version", src: src, version: "", wantErr: true},
		{name: "quote", src: src, version: `v1"`, wantErr: true},
		{name: "newline", src: src, version: "v1\nname: x", wantErr: true},
		{name: "no placeholder", src: []byte("metadata: {}\n"), version: "v1", wantErr: true},
		{name: "two placeholders", src: append(slices.Clone(src), src...), version: "v1", wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderManifest(tt.src, tt.version)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}

			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRepositoryManifestRenders(t *testing.T) {
	if _, err := RenderManifest(manifestSource(t), testVersion); err != nil {
		t.Fatal(err)
	}
}

func TestComparePaths(t *testing.T) {
	paths := []string{"a-b", "a/b/c", "rootfs/usr/local", "a", "manifest.yaml", "a/b", "rootfs", "rootfs/usr", "a.b"}
	slices.SortFunc(paths, ComparePaths)

	want := []string{"a", "a/b", "a/b/c", "a-b", "a.b", "manifest.yaml", "rootfs", "rootfs/usr", "rootfs/usr/local"}
	if !slices.Equal(paths, want) {
		t.Errorf("got %v, want %v", paths, want)
	}
}

func TestCheckEntriesRefuses(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"world-writable file", []Entry{{Path: "a", Mode: 0o666}}},
		{"world-writable dir", []Entry{{Path: "a", Mode: fs.ModeDir | 0o777}}},
		{"symlink", []Entry{{Path: "a", Mode: fs.ModeSymlink | 0o777}}},
		{"device", []Entry{{Path: "a", Mode: fs.ModeDevice | 0o600}}},
		{"setuid", []Entry{{Path: "a", Mode: fs.ModeSetuid | 0o755}}},
		{"absolute", []Entry{{Path: "/a", Mode: 0o644}}},
		{"dotdot", []Entry{{Path: "../a", Mode: 0o644}}},
		{"unsorted", []Entry{{Path: "b", Mode: 0o644}, {Path: "a", Mode: 0o644}}},
		{"duplicate", []Entry{{Path: "a", Mode: 0o644}, {Path: "a", Mode: 0o644}}},
		{"dir with data", []Entry{{Path: "a", Mode: fs.ModeDir | 0o755, Data: []byte("x")}}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkEntries(tt.entries); err == nil {
				t.Error("accepted")
			}

			if err := WriteTar(new(bytes.Buffer), tt.entries, testEpoch); err == nil {
				t.Error("WriteTar accepted")
			}
		})
	}
}

func TestCheckBinary(t *testing.T) {
	bins := programs(t)

	for _, b := range bins {
		program, err := os.ReadFile(b.Path)
		if err != nil {
			t.Fatal(err)
		}

		for _, arch := range testArches {
			err := CheckBinary(program, arch)
			if (err == nil) != (arch == b.Arch) {
				t.Errorf("program for %s checked as %s: %v", b.Arch, arch, err)
			}
		}

		if err := CheckBinary(program, "riscv64"); err == nil {
			t.Error("unknown architecture accepted")
		}
	}

	if err := CheckBinary([]byte("#!/bin/sh\n"), "amd64"); err == nil {
		t.Error("a script accepted")
	}

	// /bin/sh is a dynamically linked executable on the distributions the
	// tests run on; a static one proves nothing here.
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Skipf("no /bin/sh to check a dynamic executable against: %v", err)
	}

	f, err := elf.NewFile(bytes.NewReader(sh))
	if err != nil {
		t.Skipf("/bin/sh is not ELF: %v", err)
	}

	arch := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	dynamic := slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
	f.Close()

	if arch == "" || !dynamic {
		t.Skipf("/bin/sh is %s, dynamic %v: not the case this checks", f.Machine, dynamic)
	}

	if err := CheckBinary(sh, arch); err == nil {
		t.Error("dynamically linked /bin/sh accepted")
	}
}

// localDrivers are the built-in profiles for controllers that are not RAID,
// SAS or Fibre Channel HBAs: the gate watches them while it runs but is not
// started for them, so a node without such a controller never waits.
var localDrivers = []string{"ahci", "nvme", "virtio-pci"}

var ruleLineRE = regexp.MustCompile(`^ACTION=="add", SUBSYSTEM=="module", KERNEL=="([a-z0-9_|]+)", RUN\+="([^"]+)"$`)

// ruleDrivers returns the module names in the rule's KERNEL== match, in
// their order.
func ruleDrivers(t *testing.T) []string {
	t.Helper()

	var drivers []string

	for _, line := range strings.Split(strings.TrimRight(string(Rule), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}

		m := ruleLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected rule line %q", line)
		}

		if m[2] != BinaryPath+" gate" {
			t.Errorf("RUN+=%q, want %q", m[2], BinaryPath+" gate")
		}

		drivers = append(drivers, strings.Split(m[1], "|")...)
	}

	return drivers
}

// hbaProfiles returns the drivers of the built-in RAID/HBA/FC profiles, in
// BuiltinProfiles order.
func hbaProfiles() []string {
	var want []string

	for _, p := range agent.BuiltinProfiles {
		if p.Driver != "" && !slices.Contains(localDrivers, p.Driver) && !slices.Contains(want, p.Driver) {
			want = append(want, p.Driver)
		}
	}

	return want
}

// TestRule keeps the rule and the built-in profiles in step: every driver
// the rule starts the gate for has a profile, and every RAID/HBA/FC profile
// is in the rule, once and in the same order. The engine matches a module's
// add event to controllers by driver name, so a module whose PCI driver
// were named differently would need more than a profile.
func TestRule(t *testing.T) {
	drivers := ruleDrivers(t)
	want := hbaProfiles()

	for i, d := range drivers {
		if slices.Contains(drivers[:i], d) {
			t.Errorf("rule lists %s twice", d)
		}

		if slices.Contains(localDrivers, d) {
			t.Errorf("rule starts the gate for %s, a local controller's driver", d)
		}
	}

	if !slices.Equal(drivers, want) {
		t.Errorf("rule starts the gate for\n%v\nthe RAID/HBA/FC profiles, in order, are\n%v", drivers, want)
	}

	for _, local := range localDrivers {
		if !slices.ContainsFunc(agent.BuiltinProfiles, func(p agent.Profile) bool { return p.Driver == local }) {
			t.Errorf("local driver %s has no built-in profile", local)
		}
	}
}

// treeFiles describes every path under dir: mode, contents and, if
// withTimes, mtime (the tree's entries carry the epoch; the tarballs and the
// OCI layout's files are plain files written at build time).
func treeFiles(t *testing.T, dir string, withTimes bool) map[string]string {
	t.Helper()

	files := map[string]string{}

	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		info, err := d.Info()
		if err != nil {
			return err
		}

		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}

		desc := info.Mode().String()
		if withTimes {
			desc += " " + info.ModTime().UTC().Format(time.RFC3339)
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}

			desc += " " + string(data)
		}

		files[filepath.ToSlash(rel)] = desc

		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return files
}

func TestTreeOnDisk(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		var list []string

		for p, desc := range treeFiles(t, img.Tree, true) {
			if p == "." {
				continue
			}

			mode := strings.Fields(desc)[0]
			kind := map[byte]string{'d': "d", '-': "f"}[mode[0]]
			perm := map[string]string{"rwxr-xr-x": "0755", "rw-r--r--": "0644"}[mode[1:]]

			if kind == "d" {
				p += "/"
			}

			list = append(list, kind+" "+perm+" "+p)

			if got := strings.Fields(desc)[1]; got != testEpoch.UTC().Format(time.RFC3339) {
				t.Errorf("%s: mtime %s, want %s", p, got, testEpoch.UTC().Format(time.RFC3339))
			}
		}

		// "f 0644 path": sort by path, directories without their slash.
		slices.SortFunc(list, func(a, b string) int {
			return ComparePaths(strings.TrimSuffix(a[7:], "/"), strings.TrimSuffix(b[7:], "/"))
		})

		if !slices.Equal(list, wantFiles) {
			t.Errorf("%s:\n%s\nwant:\n%s", img.Tree, strings.Join(list, "\n"), strings.Join(wantFiles, "\n"))
		}
	}
}

// TestBuildIsReproducible builds twice from the same inputs into different
// directories: every file must be identical, digests included. A third build
// with another epoch must differ, or the epoch is not what sets the times.
func TestBuildIsReproducible(t *testing.T) {
	base := t.TempDir()
	a := buildInto(t, filepath.Join(base, "a"), testEpoch)
	b := buildInto(t, filepath.Join(base, "b"), testEpoch)

	if a.Index != b.Index {
		t.Errorf("index digests %s and %s", a.Index, b.Index)
	}

	for i := range a.Images {
		ia, ib := a.Images[i], b.Images[i]
		if ia.Manifest != ib.Manifest || ia.Layer != ib.Layer || ia.DiffID != ib.DiffID {
			t.Errorf("%s: digests differ: %+v and %+v", ia.Arch, ia, ib)
		}
	}

	fa, fb := treeFiles(t, a.Dir, false), treeFiles(t, b.Dir, false)
	for p, da := range fa {
		if p == "." {
			continue
		}

		if db, ok := fb[p]; !ok {
			t.Errorf("%s only in the first build", p)
		} else if da != db {
			t.Errorf("%s differs between builds", p)
		}
	}

	for p := range fb {
		if _, ok := fa[p]; !ok {
			t.Errorf("%s only in the second build", p)
		}
	}

	c := buildInto(t, filepath.Join(base, "c"), testEpoch.Add(time.Hour))
	if c.Index == a.Index {
		t.Error("another epoch gave the same index digest")
	}
}

// TestBuildReplacesOldOutput rebuilds into a directory holding a stale file in
// every output: nothing of it may survive.
func TestBuildReplacesOldOutput(t *testing.T) {
	dir := t.TempDir()
	first := buildInto(t, dir, testEpoch)
	stale := []string{
		filepath.Join(first.Images[0].Tree, "rootfs", "stale"),
		filepath.Join(first.OCIDir, "blobs", "sha256", "stale"),
	}

	for _, p := range stale {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	buildInto(t, dir, testEpoch)

	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived a rebuild", p)
		}
	}
}

// TestShippedProgramDeps keeps the packaging and validation code out of the
// program that ships: Talos's machinery is for tests only.
func TestShippedProgramDeps(t *testing.T) {
	out, err := goTool(nil, "list", "-tags", "node", "-deps", "./cmd/raid-settle")
	if err != nil {
		t.Fatal(err)
	}

	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/siderolabs/talos/") ||
			strings.HasPrefix(pkg, "github.com/google/go-containerregistry/") ||
			strings.HasPrefix(pkg, "github.com/raid-settle/raid-settle/extension") {
			t.Errorf("raid-settle links %s", pkg)
		}
	}
}

// TestBuildShipsProfiles builds with a directory of profiles, as `make
// extension PROFILES=DIR` does: each file lands in the profile directory of
// every architecture, byte for byte, and the gate loads it from there. A
// profile the gate would refuse stops the build.
func TestBuildShipsProfiles(t *testing.T) {
	src := t.TempDir()
	profile := []byte(`{"driver": "megaraid_sas", "pci_ids": ["1000:0060"], "quiet": "1s", "max_quiet": "35s", "gap_factor": 2, "why": "raid-settle certify, 5 cycles"}` + "\n")

	if err := os.WriteFile(filepath.Join(src, "profile-megaraid_sas-1000-0060.json"), profile, 0o644); err != nil {
		t.Fatal(err)
	}

	profiles, err := ReadProfiles(src)
	if err != nil {
		t.Fatal(err)
	}

	out, err := Build(t.TempDir(), Options{
		ManifestSource: manifestSource(t), Version: testVersion, Epoch: testEpoch,
		Binaries: programs(t), Profiles: profiles,
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, img := range out.Images {
		dir := filepath.Join(img.Tree, "rootfs", filepath.FromSlash(ProfileDir))

		got, err := os.ReadFile(filepath.Join(dir, "profile-megaraid_sas-1000-0060.json"))
		if err != nil || !bytes.Equal(got, profile) {
			t.Errorf("%s: profile %q, %v", img.Arch, got, err)
		}

		loaded, err := agent.LoadProfiles(dir, nil)
		if err != nil || len(loaded) != 1 || loaded[0].Driver != "megaraid_sas" {
			t.Errorf("%s: the gate loads %+v, %v", img.Arch, loaded, err)
		}
	}

	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "p.json"), []byte(`{"driver": "x", "quiet": "soon"}`), 0o644); err != nil {
		t.Fatal(err)
	}

	if _, err := ReadProfiles(bad); err == nil {
		t.Error("a profile the gate refuses was accepted")
	}

	if _, err := ReadProfiles(t.TempDir()); err == nil {
		t.Error("an empty profile directory was accepted")
	}
}
