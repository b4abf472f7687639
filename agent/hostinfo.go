package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// LoaderDevicePartUUIDVar is the EFI variable, under efivarfs, in which the
// boot loader (systemd-boot, and so Talos's) records the partition UUID of
// the ESP it was loaded from.
const LoaderDevicePartUUIDVar = "LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// ReadBootPartUUID returns the lower-case partition UUID the firmware booted
// from, read from efivarfs under sysRoot (normally /sys), or "" when the
// machine did not boot through such a loader. An unreadable or malformed
// variable is an error; a missing one is not.
func ReadBootPartUUID(sysRoot string) (string, error) {
	data, err := os.ReadFile(filepath.Join(sysRoot, "firmware", "efi", "efivars", LoaderDevicePartUUIDVar))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}

	if err != nil {
		return "", fmt.Errorf("failed to read %s: %w", LoaderDevicePartUUIDVar, err)
	}

	return parseLoaderDevicePartUUID(data)
}

// parseLoaderDevicePartUUID decodes an efivarfs file: 4 bytes of attributes,
// then a NUL-terminated UTF-16LE string.
func parseLoaderDevicePartUUID(data []byte) (string, error) {
	if len(data) < 4 || (len(data)-4)%2 != 0 {
		return "", fmt.Errorf("%s: malformed variable of %d bytes", LoaderDevicePartUUIDVar, len(data))
	}

	units := make([]uint16, 0, (len(data)-4)/2)

	for i := 4; i+1 < len(data); i += 2 {
		u := uint16(data[i]) | uint16(data[i+1])<<8
		if u == 0 {
			break
		}

		units = append(units, u)
	}

	s := strings.ToLower(strings.TrimSpace(string(utf16.Decode(units))))
	if len(s) != 36 || strings.Count(s, "-") != 4 {
		return "", fmt.Errorf("%s: %q is not a partition UUID", LoaderDevicePartUUIDVar, s)
	}

	return s, nil
}

// IsInstalledBootImage reports whether a BOOT_IMAGE= value names the kernel
// of an installed Talos: Talos's GRUB configuration boots /A/vmlinuz or
// /B/vmlinuz from its BOOT partition, and GRUB's Linux loader puts the
// path, with the GRUB device when one was named ("(hd0,gpt3)/A/vmlinuz"),
// first on the kernel command line. Installer media and network boots load
// other paths or none. Sources are in docs/installed-evidence.md.
func IsInstalledBootImage(image string) bool {
	if strings.HasPrefix(image, "(") {
		_, rest, ok := strings.Cut(image, ")")
		if !ok {
			return false
		}

		image = rest
	}

	return image == "/A/vmlinuz" || image == "/B/vmlinuz"
}

// x86 boot protocol: the boot loader's id is the byte at 0x210 of the setup
// header (type_of_loader, Documentation/arch/x86/boot.rst); its high nibble
// 0xD is kexec, which kexec_file_load writes (bzImage64_load in
// arch/x86/kernel/kexec-bzimage64.c, Linux v6.12). The kernel exposes the
// boot_params it started with as /sys/kernel/boot_params/data
// (boot_params_ksysfs_init in arch/x86/kernel/ksysfs.c, torvalds/linux
// commit 00ed905ab8e5).
const (
	typeOfLoaderOffset = 0x210
	kexecLoaderID      = 0xD
)

// ReadKexecBoot reports whether the running kernel was loaded by kexec, read
// from the x86 boot_params under sysRoot. Other architectures have no such
// file: false, without error.
func ReadKexecBoot(sysRoot string) (bool, error) {
	data, err := os.ReadFile(filepath.Join(sysRoot, "kernel", "boot_params", "data"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}

	if err != nil {
		return false, fmt.Errorf("failed to read the boot parameters: %w", err)
	}

	if len(data) <= typeOfLoaderOffset {
		return false, fmt.Errorf("boot parameters of %d bytes: too short", len(data))
	}

	return data[typeOfLoaderOffset]>>4 == kexecLoaderID, nil
}
