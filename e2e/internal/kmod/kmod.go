// Package kmod reads a kernel package's module metadata for the e2e guest:
// which module files a set of modules needs (modules.dep,
// modules.builtin), and their decompression.
package kmod

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
)

// Closure returns the module files (relative to the modules
// directory) of the named modules and everything they depend on, by
// modules.dep. Built-in modules need no file; an unknown name is an error.
func Closure(dep, builtin []byte, names []string) ([]string, error) {
	deps := map[string][]string{}
	byName := map[string]string{}

	for _, line := range strings.Split(string(dep), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}

		deps[mod] = strings.Fields(rest)
		byName[Name(mod)] = mod
	}

	isBuiltin := map[string]bool{}
	for _, line := range strings.Split(string(builtin), "\n") {
		if line != "" {
			isBuiltin[Name(line)] = true
		}
	}

	seen := map[string]bool{}

	var out []string

	var visit func(file string)
	visit = func(file string) {
		if seen[file] {
			return
		}

		seen[file] = true
		out = append(out, file)

		for _, d := range deps[file] {
			visit(d)
		}
	}

	for _, n := range names {
		n = strings.ReplaceAll(n, "-", "_")

		switch file, ok := byName[n]; {
		case ok:
			visit(file)
		case isBuiltin[n]:
		default:
			return nil, fmt.Errorf("kernel module %s is neither a module nor built in", n)
		}
	}

	sort.Strings(out)

	return out, nil
}

// Name turns kernel/drivers/scsi/sd_mod.ko.xz into sd_mod.
func Name(file string) string {
	base := path.Base(file)
	base, _, _ = strings.Cut(base, ".ko")

	return strings.ReplaceAll(base, "-", "_")
}

// Decompress writes the module file src to dst uncompressed (xz or zstd,
// by its suffix), so that neither the kernel nor kmod needs a decompressor.
func Decompress(ctx context.Context, src, dst string) error {
	var tool string

	switch {
	case strings.HasSuffix(src, ".xz"):
		tool = "xz"
	case strings.HasSuffix(src, ".zst"):
		tool = "zstd"
	default:
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}

		return os.WriteFile(dst, data, 0o644)
	}

	out, err := exec.CommandContext(ctx, tool, "-dc", src).Output()
	if err != nil {
		return fmt.Errorf("failed to decompress %s: %w", src, err)
	}

	if !bytes.HasPrefix(out, []byte("\x7fELF")) {
		return fmt.Errorf("%s does not decompress to an ELF module", src)
	}

	return os.WriteFile(dst, out, 0o644)
}
