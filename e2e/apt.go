package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Apt runs apt-get and apt-cache against a private state of its own (sources
// list, package lists, cache, an empty dpkg status) under Dir, so guest
// packages of any Debian suite can be fetched without touching the host's
// apt configuration. Nothing is installed: packages are downloaded and
// unpacked with dpkg-deb.
type Apt struct {
	// Dir holds the private state.
	Dir string
	// Mirror is the Debian archive URL.
	Mirror string
	// Suite is the Debian suite the guest packages come from.
	Suite string
	// Keyring verifies the suite's Release file.
	Keyring string
	// Arch is the Debian architecture of the packages; empty means amd64.
	Arch string
	// Log receives the tools' progress.
	Log io.Writer
}

func (a *Apt) options() []string {
	none := filepath.Join(a.Dir, "etc", "none")

	return []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(a.Dir, "etc", "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + none,
		"-o", "Dir::Etc::Preferences=" + none,
		"-o", "Dir::Etc::PreferencesParts=" + none,
		"-o", "Dir::State::Lists=" + filepath.Join(a.Dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(a.Dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(a.Dir, "cache"),
		"-o", "APT::Architecture=" + a.arch(),
		"-o", "APT::Sandbox::User=root",
		"-o", "APT::Architectures::=" + a.arch(),
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
		"-q",
	}
}

// Update writes the private sources list and fetches the package lists,
// unless force is false and lists are already there.
func (a *Apt) Update(ctx context.Context, force bool) error {
	for _, d := range []string{"etc", "lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}

	sources := fmt.Sprintf("deb [signed-by=%s] %s %s main\n", a.Keyring, a.Mirror, a.Suite)
	old, _ := os.ReadFile(filepath.Join(a.Dir, "etc", "sources.list"))

	if err := os.WriteFile(filepath.Join(a.Dir, "etc", "sources.list"), []byte(sources), 0o644); err != nil {
		return err
	}

	if err := os.WriteFile(filepath.Join(a.Dir, "status"), nil, 0o644); err != nil {
		return err
	}

	lists, _ := filepath.Glob(filepath.Join(a.Dir, "lists", "*_Packages*"))
	if !force && len(lists) > 0 && string(old) == sources {
		return nil
	}

	fmt.Fprintf(a.Log, "e2e: apt-get update (%s %s, private state in %s)\n", a.Mirror, a.Suite, a.Dir)

	if _, err := a.run(ctx, "", "apt-get", "update"); err != nil {
		return fmt.Errorf("failed to update the private package lists: %w", err)
	}

	return nil
}

// Package is one binary package as the private lists describe it.
type Package struct {
	Name, Version, Arch string
	// Depends holds the first alternative of every Depends and Pre-Depends
	// entry, without version constraints.
	Depends []string
}

// DebName is the file name apt-get download gives the package.
func (p Package) DebName() string {
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), p.Arch)
}

// Show returns the candidate versions of packages, in the order asked.
func (a *Apt) Show(ctx context.Context, names ...string) ([]Package, error) {
	out, err := a.run(ctx, "", "apt-cache", append([]string{"show", "--no-all-versions"}, names...)...)
	if err != nil {
		return nil, fmt.Errorf("failed to look up %s: %w", strings.Join(names, " "), err)
	}

	byName := map[string]Package{}

	for _, stanza := range strings.Split(string(out), "\n\n") {
		if strings.TrimSpace(stanza) == "" {
			continue
		}

		p, err := parseControl([]byte(stanza))
		if err != nil {
			return nil, err
		}

		byName[p.Name] = p
	}

	pkgs := make([]Package, len(names))

	for i, n := range names {
		p, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("apt-cache knows no package %s", n)
		}

		pkgs[i] = p
	}

	return pkgs, nil
}

// parseControl reads one stanza of apt-cache show output.
func parseControl(stanza []byte) (Package, error) {
	var p Package

	sc := bufio.NewScanner(bytes.NewReader(stanza))
	sc.Buffer(make([]byte, 1<<20), 1<<20)

	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}

		switch key {
		case "Package":
			p.Name = value
		case "Version":
			p.Version = value
		case "Architecture":
			p.Arch = value
		case "Depends", "Pre-Depends":
			for _, dep := range strings.Split(value, ",") {
				first, _, _ := strings.Cut(dep, "|")
				name, _, _ := strings.Cut(strings.TrimSpace(first), " ")
				name, _, _ = strings.Cut(name, ":")
				p.Depends = append(p.Depends, name)
			}
		}
	}

	if p.Name == "" || p.Version == "" {
		return p, fmt.Errorf("no package in apt-cache output")
	}

	return p, nil
}

// LibraryClosure returns the named packages plus every library package they
// depend on, directly or not. Only packages whose names start with "lib" or
// "zlib" are followed: the guest needs the shared libraries of a few
// binaries, not their daemons and scripts. The caller checks the closure
// with the binaries' ELF dependencies.
func (a *Apt) LibraryClosure(ctx context.Context, names []string) ([]Package, error) {
	seen := map[string]bool{}
	level := append([]string(nil), names...)

	var out []Package

	// One apt-cache call per level of the dependency tree: each call loads
	// the whole package cache.
	for len(level) > 0 {
		var ask []string

		for _, n := range level {
			if !seen[n] {
				seen[n] = true
				ask = append(ask, n)
			}
		}

		if len(ask) == 0 {
			break
		}

		pkgs, err := a.Show(ctx, ask...)
		if err != nil {
			return nil, err
		}

		level = nil

		for _, p := range pkgs {
			out = append(out, p)

			for _, d := range p.Depends {
				if strings.HasPrefix(d, "lib") || strings.HasPrefix(d, "zlib") {
					level = append(level, d)
				}
			}
		}
	}

	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })

	return out, nil
}

// Download fetches the packages' .deb files into dir, skipping those already
// there, and returns their paths in the order given.
func (a *Apt) Download(ctx context.Context, dir string, pkgs []Package) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	var missing []string

	paths := make([]string, len(pkgs))

	for i, p := range pkgs {
		paths[i] = filepath.Join(dir, p.DebName())
		if _, err := os.Stat(paths[i]); err != nil {
			missing = append(missing, p.Name+"="+p.Version)
		}
	}

	if len(missing) > 0 {
		fmt.Fprintf(a.Log, "e2e: apt-get download %s\n", strings.Join(missing, " "))

		args := append([]string{"download"}, missing...)
		if _, err := a.run(ctx, dir, "apt-get", args...); err != nil {
			return nil, &downloadError{err}
		}
	}

	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("apt-get download did not write %s", p)
		}
	}

	return paths, nil
}

func (a *Apt) run(ctx context.Context, dir, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, append(a.options(), args...)...)
	cmd.Dir = dir

	var stdout, stderr bytes.Buffer

	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}

	return stdout.Bytes(), nil
}

// downloadError is a failed apt-get download: the package lists may be
// older than the mirror.
type downloadError struct{ err error }

func (e *downloadError) Error() string { return "failed to download guest packages: " + e.err.Error() }

func (e *downloadError) Unwrap() error { return e.err }
