package e2e

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Guest is what the guest is made of, fetched from Debian and unpacked.
type Guest struct {
	// Suite is the Debian suite the packages come from.
	Suite string
	// KernelVersion is the kernel's release, as uname -r says it.
	KernelVersion string
	// KernelPackage is the kernel's .deb name and version.
	KernelPackage string
	// KernelRoot is the unpacked kernel package, with modules.dep.
	KernelRoot string
	// Vmlinux is the uncompressed kernel, for a PVH boot.
	Vmlinux string
	// UserRoot is the unpacked userland: udev, kmod and their libraries.
	UserRoot string
	// UserPackages names the userland packages and versions.
	UserPackages []string
}

// guestUserland are the packages whose binaries go into the guest; their
// library dependencies come along.
var guestUserland = []string{"udev", "kmod"}

// FetchGuest downloads Debian's kernel, udev and kmod packages with the
// libraries they need into cache and unpacks them, reusing whatever an
// earlier run left there.
func FetchGuest(ctx context.Context, apt *Apt, cache string) (*Guest, error) {
	if err := apt.Update(ctx, false); err != nil {
		return nil, err
	}

	g, err := fetchGuest(ctx, apt, cache)

	var stale *downloadError
	if errors.As(err, &stale) {
		// The mirror may have moved on since the lists were fetched.
		fmt.Fprintf(apt.Log, "e2e: %v; refreshing the package lists and retrying\n", err)

		if err = apt.Update(ctx, true); err != nil {
			return nil, err
		}

		g, err = fetchGuest(ctx, apt, cache)
	}

	return g, err
}

func fetchGuest(ctx context.Context, apt *Apt, cache string) (*Guest, error) {
	metas, err := apt.Show(ctx, "linux-image-"+apt.arch())
	if err != nil {
		return nil, err
	}

	meta := metas[0]

	if len(meta.Depends) == 0 || !strings.HasPrefix(meta.Depends[0], "linux-image-") {
		return nil, fmt.Errorf("%s %s depends on no kernel image", meta.Name, meta.Version)
	}

	kpkgs, err := apt.Show(ctx, meta.Depends[0])
	if err != nil {
		return nil, err
	}

	kpkg := kpkgs[0]

	user, err := apt.LibraryClosure(ctx, guestUserland)
	if err != nil {
		return nil, err
	}

	debs := filepath.Join(cache, "debs")

	kdeb, err := apt.Download(ctx, debs, []Package{kpkg})
	if err != nil {
		return nil, err
	}

	udebs, err := apt.Download(ctx, debs, user)
	if err != nil {
		return nil, err
	}

	g := &Guest{
		Suite:         apt.Suite,
		KernelVersion: strings.TrimPrefix(kpkg.Name, "linux-image-"),
		KernelPackage: kpkg.Name + " " + kpkg.Version,
		KernelRoot:    filepath.Join(cache, "unpacked", kpkg.Name+"_"+kpkg.Version),
		UserRoot:      filepath.Join(cache, "unpacked", "userland-"+apt.Suite+archSuffix(apt.arch())),
	}

	for _, p := range user {
		g.UserPackages = append(g.UserPackages, p.Name+" "+p.Version)
	}

	if err = unpack(ctx, g.KernelRoot, kdeb); err != nil {
		return nil, err
	}

	if err = depmod(ctx, g.KernelRoot, g.KernelVersion); err != nil {
		return nil, err
	}

	if err = unpack(ctx, g.UserRoot, udebs); err != nil {
		return nil, err
	}

	if apt.arch() != "amd64" {
		g.Vmlinux, err = bootImage(filepath.Join(g.KernelRoot, "boot", "vmlinuz-"+g.KernelVersion))

		return g, err
	}

	g.Vmlinux = filepath.Join(cache, "unpacked", "vmlinux-"+g.KernelVersion)
	if _, err = os.Stat(g.Vmlinux); err != nil {
		if err = ExtractVmlinux(filepath.Join(g.KernelRoot, "boot", "vmlinuz-"+g.KernelVersion), g.Vmlinux); err != nil {
			return nil, err
		}
	}

	return g, nil
}

// unpack extracts the .deb files into dir with dpkg-deb, unless dir already
// holds exactly these packages (recorded in a stamp file).
func unpack(ctx context.Context, dir string, debs []string) error {
	stamp := filepath.Join(dir, ".e2e-unpacked")
	want := ""

	for _, d := range debs {
		want += filepath.Base(d) + "\n"
	}

	if have, err := os.ReadFile(stamp); err == nil && string(have) == want {
		return nil
	}

	if err := os.RemoveAll(dir); err != nil {
		return err
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	for _, d := range debs {
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", d, dir).CombinedOutput(); err != nil {
			return fmt.Errorf("failed to unpack %s: %w: %s", d, err, out)
		}
	}

	return os.WriteFile(stamp, []byte(want), 0o644)
}

// depmod writes modules.dep and its friends for the unpacked kernel. The
// packages ship modules under usr/lib/modules; depmod -b looks under
// lib/modules, so a merged-/usr symlink is made when missing.
func depmod(ctx context.Context, root, version string) error {
	if _, err := os.Stat(filepath.Join(root, "usr", "lib", "modules", version, "modules.dep")); err == nil {
		return nil
	}

	if _, err := os.Lstat(filepath.Join(root, "lib")); os.IsNotExist(err) {
		if err = os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
			return err
		}
	}

	if out, err := exec.CommandContext(ctx, "depmod", "-b", root, version).CombinedOutput(); err != nil {
		return fmt.Errorf("depmod failed: %w: %s", err, out)
	}

	return nil
}

// kernelCompressors are the formats a bzImage's payload may be in, by magic
// number: Debian's bookworm kernels use xz, trixie's zstd.
var kernelCompressors = []struct {
	magic []byte
	tool  []string
}{
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, []string{"xz", "-dc", "--single-stream"}},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, []string{"zstd", "-dcq"}},
}

// ExtractVmlinux cuts the compressed kernel out of a bzImage and
// decompresses it to out: the uncompressed ELF boots through PVH, seconds
// faster under TCG than letting the kernel decompress itself. The payload
// is followed by other data, which the decompressors complain about after
// writing the kernel; what counts is that an ELF file comes out whole.
func ExtractVmlinux(vmlinuz, out string) error {
	data, err := os.ReadFile(vmlinuz)
	if err != nil {
		return err
	}

	for _, c := range kernelCompressors {
		for off := 0; ; off += len(c.magic) {
			i := bytes.Index(data[off:], c.magic)
			if i < 0 {
				break
			}

			off += i

			cmd := exec.Command(c.tool[0], c.tool[1:]...)
			cmd.Stdin = bytes.NewReader(data[off:])

			kernel, _ := cmd.Output()
			if f, err := elf.NewFile(bytes.NewReader(kernel)); err == nil && len(f.Sections) > 0 {
				tmp := out + ".tmp"
				if err = os.WriteFile(tmp, kernel, 0o644); err != nil {
					return err
				}

				return os.Rename(tmp, out)
			}
		}
	}

	return fmt.Errorf("no compressed ELF kernel found in %s", vmlinuz)
}
