package e2e

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// GuestModules are the kernel modules the guest gets, with what they depend
// on: the SCSI core and disk driver (built into Talos's kernel, loaded by the
// guest init before udevd), the emulated controllers' drivers (loaded by
// udev from the PCI modalias, as on Talos) and sg, which 80-drivers.rules
// loads for every SCSI device.
var GuestModules = []string{
	"scsi_mod", "sd_mod", "sg",
	"megaraid_sas",
	"ahci", "nvme", "virtio_blk", "virtio_scsi", "virtio_pci",
}

// guestPrograms are the userland files, by path in the guest, that go into
// the initramfs with their libraries. systemd-udevd is a link to udevadm.
var guestPrograms = []string{
	"/usr/bin/udevadm",
	"/usr/lib/systemd/systemd-udevd",
	"/usr/bin/kmod",
}

// guestLinks are symbolic links made in the initramfs: merged /usr, and
// kmod's multi-call names.
var guestLinks = map[string]string{
	"bin":                  "usr/bin",
	"sbin":                 "usr/sbin",
	"lib":                  "usr/lib",
	"lib64":                "usr/lib64",
	"usr/sbin/modprobe":    "../bin/kmod",
	"usr/sbin/insmod":      "../bin/kmod",
	"usr/sbin/depmod":      "../bin/kmod",
	"usr/bin/lsmod":        "kmod",
	"usr/sbin/rmmod":       "../bin/kmod",
	"usr/sbin/modinfo":     "../bin/kmod",
	"usr/sbin/udevadm":     "../bin/udevadm",
	"usr/bin/systemd-hwdb": "udevadm",
}

// Initramfs describes one guest initramfs.
type Initramfs struct {
	Guest *Guest
	// Init is the guest init binary (static).
	Init string
	// Tools is raid-settle's workstation build (static), put in as
	// usr/local/bin/raid-settle for certify; empty for none.
	Tools string
	// Extension is the raid-settle extension's rootfs, put in as it is;
	// empty for none.
	Extension string
	// WithoutRule leaves out the extension's udev rules, so the gate never
	// runs: the baseline, everything else equal.
	WithoutRule bool
	// ModulesDir is a scratch directory for the trimmed module tree.
	ModulesDir string
}

// Write assembles the initramfs and writes it to out as a newc cpio archive.
func (r *Initramfs) Write(ctx context.Context, out string) error {
	modules, err := r.stageModules(ctx)
	if err != nil {
		return err
	}

	files, err := r.userland()
	if err != nil {
		return err
	}

	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	defer f.Close()

	bw := bufio.NewWriterSize(f, 1<<20)
	c := newCPIOWriter(bw)

	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "etc", "root", "usr/bin", "usr/sbin", "usr/lib", "usr/lib64"} {
		c.Dir(d)
	}

	links := make([]string, 0, len(guestLinks))
	for l := range guestLinks {
		links = append(links, l)
	}

	sort.Strings(links)

	for _, l := range links {
		c.Symlink(l, guestLinks[l])
	}

	initData, err := os.ReadFile(r.Init)
	if err != nil {
		return err
	}

	c.File("init", 0o755, initData)

	if r.Tools != "" {
		tools, err := os.ReadFile(r.Tools)
		if err != nil {
			return err
		}

		c.File("usr/local/bin/raid-settle", 0o755, tools)
	}

	guestPaths := make([]string, 0, len(files))
	for p := range files {
		guestPaths = append(guestPaths, p)
	}

	sort.Strings(guestPaths)

	for _, p := range guestPaths {
		src := files[p]
		if src.link != "" {
			c.Symlink(p, src.link)

			continue
		}

		data, err := os.ReadFile(src.host)
		if err != nil {
			return err
		}

		c.File(p, src.mode, data)
	}

	if err = c.Tree(modules, ""); err != nil {
		return err
	}

	if r.Extension != "" {
		if err = r.writeExtension(c); err != nil {
			return err
		}
	}

	if err = c.Close(); err != nil {
		return err
	}

	if err = bw.Flush(); err != nil {
		return err
	}

	if err = f.Close(); err != nil {
		return err
	}

	return os.Rename(out+".tmp", out)
}

// writeExtension puts the extension's rootfs in as it is, but for the udev
// rules when WithoutRule is set.
func (r *Initramfs) writeExtension(c *cpioWriter) error {
	if _, err := os.Stat(r.Extension); err != nil {
		return fmt.Errorf("no extension rootfs: %w", err)
	}

	var names []string

	err := filepath.WalkDir(r.Extension, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(r.Extension, p)
		if rel == "." {
			return nil
		}

		if r.WithoutRule && strings.HasPrefix(rel, "usr/lib/udev/rules.d/") {
			return nil
		}

		if d.IsDir() {
			c.Dir(rel)

			return nil
		}

		if !d.Type().IsRegular() {
			return fmt.Errorf("extension file %s is not a regular file", rel)
		}

		info, err := d.Info()
		if err != nil {
			return err
		}

		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}

		c.File(rel, info.Mode(), data)
		names = append(names, rel)

		return nil
	})
	if err != nil {
		return err
	}

	if len(names) == 0 {
		return fmt.Errorf("extension rootfs %s is empty", r.Extension)
	}

	return nil
}

type guestFile struct {
	host string
	mode fs.FileMode
	link string
}

// userland lists the guest files from the unpacked udev and kmod packages:
// the programs, udev's helpers and stock rules, and every shared library
// they load (DT_NEEDED, followed like ldd does, in the unpacked tree).
func (r *Initramfs) userland() (map[string]guestFile, error) {
	root := r.Guest.UserRoot
	files := map[string]guestFile{}

	var elves []string

	add := func(guest string) error {
		host, err := resolveInRoot(root, guest)
		if err != nil {
			return err
		}

		info, err := os.Stat(host)
		if err != nil {
			return err
		}

		files[strings.TrimPrefix(guest, "/")] = guestFile{host: host, mode: info.Mode()}

		if info.Mode()&0o111 != 0 && isELF(host) {
			elves = append(elves, guest)
		}

		return nil
	}

	for _, p := range guestPrograms {
		link, err := os.Readlink(filepath.Join(root, p))
		if err == nil && !strings.HasPrefix(link, "/") {
			files[strings.TrimPrefix(p, "/")] = guestFile{link: link}

			continue
		}

		if err = add(p); err != nil {
			return nil, err
		}
	}

	for _, dir := range []string{"/usr/lib/udev", "/usr/lib/udev/rules.d"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}

		for _, e := range entries {
			if e.Type().IsRegular() {
				if err = add(path.Join(dir, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}

	if err := add("/etc/udev/udev.conf"); err != nil {
		return nil, err
	}

	libs, err := libraryClosure(root, elves)
	if err != nil {
		return nil, err
	}

	for guest, host := range libs {
		info, err := os.Stat(host)
		if err != nil {
			return nil, err
		}

		files[strings.TrimPrefix(guest, "/")] = guestFile{host: host, mode: info.Mode()}
	}

	return files, nil
}

// libDirs are where the guest's dynamic loader looks for libraries when a
// binary names no run path (Debian's multiarch directories).
// An amd64 tree has no aarch64 directories and an arm64 tree no x86_64 ones.
var libDirs = []string{"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib"}

// libraryClosure follows the interpreter and DT_NEEDED entries of the ELF
// files (guest paths) through the unpacked tree and returns every library
// needed, guest path to host path. A library that cannot be found is an
// error naming it and who needs it.
func libraryClosure(root string, bins []string) (map[string]string, error) {
	out := map[string]string{}
	queue := append([]string(nil), bins...)
	done := map[string]bool{}

	var missing []string

	for len(queue) > 0 {
		bin := queue[0]
		queue = queue[1:]

		if done[bin] {
			continue
		}

		done[bin] = true

		host, err := resolveInRoot(root, bin)
		if err != nil {
			return nil, err
		}

		f, err := elf.Open(host)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin, err)
		}

		needed, _ := f.ImportedLibraries()
		optional := dlopenNotes(f)
		runpath, _ := f.DynString(elf.DT_RUNPATH)
		rpath, _ := f.DynString(elf.DT_RPATH)
		interp := elfInterp(f)
		f.Close()

		if interp != "" {
			if _, err := resolveInRoot(root, interp); err != nil {
				missing = append(missing, interp+" (interpreter of "+bin+")")
			} else {
				out[interp] = mustResolve(root, interp)
			}
		}

		var dirs []string
		for _, rp := range append(runpath, rpath...) {
			for _, d := range strings.Split(rp, ":") {
				dirs = append(dirs, strings.ReplaceAll(d, "$ORIGIN", path.Dir(bin)))
			}
		}

		dirs = append(dirs, libDirs...)

		for i, lib := range append(needed, optional...) {
			found := ""

			for _, d := range dirs {
				if _, err := resolveInRoot(root, path.Join(d, lib)); err == nil {
					found = path.Join(d, lib)

					break
				}
			}

			switch {
			case found != "":
				out[usrMerge(found)] = mustResolve(root, found)
				queue = append(queue, found)
			case i < len(needed):
				missing = append(missing, lib+" (needed by "+bin+")")
			}
		}
	}

	if len(missing) > 0 {
		sort.Strings(missing)

		return nil, fmt.Errorf("libraries not found in the guest packages: %s", strings.Join(missing, ", "))
	}

	return out, nil
}

// dlopenNotes returns the libraries an ELF file declares it may dlopen(),
// from its .note.dlopen section (the freedesktop.org format systemd 256+
// uses: notes owned by "FDO" of type 0x407c0c0a whose descriptor is a JSON
// array of {"soname": [...]}). systemd-udevd loads libkmod this way, so
// without it udev cannot load modules. Those found in the packages go in;
// the others are optional features.
func dlopenNotes(f *elf.File) []string {
	sec := f.Section(".note.dlopen")
	if sec == nil {
		return nil
	}

	data, err := sec.Data()
	if err != nil {
		return nil
	}

	var out []string

	for len(data) >= 12 {
		namesz := f.ByteOrder.Uint32(data[0:])
		descsz := f.ByteOrder.Uint32(data[4:])
		typ := f.ByteOrder.Uint32(data[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)

		if uint64(descEnd) > uint64(len(data)) {
			break
		}

		name := strings.TrimRight(string(data[12:12+namesz]), "\x00")
		if name == "FDO" && typ == 0x407c0c0a {
			var entries []struct {
				Soname []string `json:"soname"`
			}

			if json.Unmarshal(bytes.TrimRight(data[nameEnd:nameEnd+descsz], "\x00"), &entries) == nil {
				for _, e := range entries {
					out = append(out, e.Soname...)
				}
			}
		}

		data = data[descEnd:]
	}

	return out
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }

func elfInterp(f *elf.File) string {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err == nil {
				return usrMerge(strings.TrimRight(string(b), "\x00"))
			}
		}
	}

	return ""
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()

	b := make([]byte, 4)
	_, err = f.Read(b)

	return err == nil && string(b) == "\x7fELF"
}

// usrMerge maps /lib, /lib64, /bin and /sbin paths to their /usr
// counterparts, as they are in the initramfs.
func usrMerge(p string) string {
	for _, d := range []string{"/lib/", "/lib64/", "/bin/", "/sbin/"} {
		if strings.HasPrefix(p, d) {
			return "/usr" + p
		}
	}

	return p
}

// resolveInRoot follows symbolic links of the guest path p inside root, as
// the guest would see them, and returns the host path of the file.
func resolveInRoot(root, p string) (string, error) {
	p = usrMerge(path.Clean("/" + p))

	for range 40 {
		host := filepath.Join(root, p)

		info, err := os.Lstat(host)
		if err != nil {
			// The packages may still ship the unmerged path.
			if alt := strings.TrimPrefix(p, "/usr"); alt != p {
				if _, err2 := os.Lstat(filepath.Join(root, alt)); err2 == nil {
					p = alt

					continue
				}
			}

			return "", err
		}

		if info.Mode()&fs.ModeSymlink == 0 {
			return host, nil
		}

		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}

		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}

		p = usrMerge(path.Clean(target))
	}

	return "", fmt.Errorf("%s: too many symbolic links", p)
}

func mustResolve(root, p string) string {
	h, _ := resolveInRoot(root, p)

	return h
}

// stageModules copies the guest modules and their dependencies out of the
// kernel package, decompressed (so neither the kernel nor kmod needs a
// decompressor), into ModulesDir, and runs depmod there. It returns the
// tree to put into the initramfs as it is.
func (r *Initramfs) stageModules(ctx context.Context) (string, error) {
	ver := r.Guest.KernelVersion
	src := filepath.Join(r.Guest.KernelRoot, "usr", "lib", "modules", ver)
	stage := r.ModulesDir
	dst := filepath.Join(stage, "usr", "lib", "modules", ver)

	if _, err := os.Stat(filepath.Join(dst, "modules.dep")); err == nil {
		return stage, nil
	}

	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}

	dep, err := os.ReadFile(filepath.Join(src, "modules.dep"))
	if err != nil {
		return "", err
	}

	builtin, err := os.ReadFile(filepath.Join(src, "modules.builtin"))
	if err != nil {
		return "", err
	}

	files, err := moduleClosure(dep, builtin, GuestModules)
	if err != nil {
		return "", err
	}

	for _, rel := range files {
		out := filepath.Join(dst, strings.TrimSuffix(strings.TrimSuffix(rel, ".xz"), ".zst"))
		if err = os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}

		if err = decompressModule(ctx, filepath.Join(src, rel), out); err != nil {
			return "", err
		}
	}

	for _, meta := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		data, err := os.ReadFile(filepath.Join(src, meta))
		if err != nil {
			return "", err
		}

		if err = os.WriteFile(filepath.Join(dst, meta), data, 0o644); err != nil {
			return "", err
		}
	}

	if err = os.Symlink("usr/lib", filepath.Join(stage, "lib")); err != nil {
		return "", err
	}

	if out, err := exec.CommandContext(ctx, "depmod", "-b", stage, ver).CombinedOutput(); err != nil {
		return "", fmt.Errorf("depmod failed: %w: %s", err, out)
	}

	// The initramfs has its own lib link; this one was for depmod.
	return stage, os.Remove(filepath.Join(stage, "lib"))
}

// moduleClosure returns the module files (relative to the modules
// directory) of the named modules and everything they depend on, by
// modules.dep. Built-in modules need no file; an unknown name is an error.
func moduleClosure(dep, builtin []byte, names []string) ([]string, error) {
	deps := map[string][]string{}
	byName := map[string]string{}

	for _, line := range strings.Split(string(dep), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}

		deps[mod] = strings.Fields(rest)
		byName[moduleName(mod)] = mod
	}

	isBuiltin := map[string]bool{}
	for _, line := range strings.Split(string(builtin), "\n") {
		if line != "" {
			isBuiltin[moduleName(line)] = true
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

// moduleName turns kernel/drivers/scsi/sd_mod.ko.xz into sd_mod.
func moduleName(file string) string {
	base := path.Base(file)
	base, _, _ = strings.Cut(base, ".ko")

	return strings.ReplaceAll(base, "-", "_")
}

func decompressModule(ctx context.Context, src, dst string) error {
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
