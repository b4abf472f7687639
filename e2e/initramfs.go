package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/raid-settle/raid-settle/e2e/internal/elfdeps"
	"github.com/raid-settle/raid-settle/e2e/internal/kmod"
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
		host, err := elfdeps.Resolve(root, guest)
		if err != nil {
			return err
		}

		info, err := os.Stat(host)
		if err != nil {
			return err
		}

		files[strings.TrimPrefix(guest, "/")] = guestFile{host: host, mode: info.Mode()}

		if info.Mode()&0o111 != 0 && elfdeps.IsELF(host) {
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

	libs, err := elfdeps.Closure(root, elves)
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

	files, err := kmod.Closure(dep, builtin, GuestModules)
	if err != nil {
		return "", err
	}

	for _, rel := range files {
		out := filepath.Join(dst, strings.TrimSuffix(strings.TrimSuffix(rel, ".xz"), ".zst"))
		if err = os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return "", err
		}

		if err = kmod.Decompress(ctx, filepath.Join(src, rel), out); err != nil {
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
