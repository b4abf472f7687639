package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestArchQEMUArgs(t *testing.T) {
	amd := &VM{Kernel: "vmlinux", Initrd: "initrd", Append: "console=ttyS0", Dir: "/r"}
	want := amd.Args()

	amd.Arch = ArchAMD64
	if got := amd.Args(); !reflect.DeepEqual(got, want) {
		t.Errorf("ArchAMD64 changed the command line:\n got %q\nwant %q", got, want)
	}

	arm := &VM{Arch: ArchARM64, Kernel: "Image", Initrd: "initrd", Append: "console=ttyAMA0", Dir: "/r",
		Controllers: []Controller{{Bus: BusMegasas, Disks: []Drive{{Image: "/i/state.img"}}}}}
	args := " " + strings.Join(arm.Args(), " ") + " "

	for _, w := range []string{
		" -machine virt -cpu cortex-a57 ", " -accel tcg ", " -kernel Image ",
		" -serial chardev:console ",
		" -device virtio-serial-pci,id=records-port -device virtconsole,chardev=records,bus=records-port.0 ",
		" -device megasas,id=c0 ",
	} {
		if !strings.Contains(args, w) {
			t.Errorf("arm64 arguments lack %q: %s", w, args)
		}
	}

	for _, bad := range []string{" pc ", " -serial chardev:records "} {
		if strings.Contains(args, bad) {
			t.Errorf("arm64 arguments have %q: %s", bad, args)
		}
	}
}

func TestArchKernelArgs(t *testing.T) {
	base := []string{"console=ttyS0", "quiet"}

	if got := ArchARM64.kernelArgs(base); !reflect.DeepEqual(got, []string{"console=ttyAMA0", "quiet"}) {
		t.Errorf("arm64: %q", got)
	}

	if got := ArchAMD64.kernelArgs(base); !reflect.DeepEqual(got, base) {
		t.Errorf("amd64: %q", got)
	}

	if base[0] != "console=ttyS0" {
		t.Errorf("kernelArgs changed its argument: %q", base)
	}
}

func TestBootImage(t *testing.T) {
	dir := t.TempDir()

	image := make([]byte, 128)
	copy(image, "MZ")
	copy(image[0x38:], "ARM\x64")

	gz := append([]byte{0x1f, 0x8b, 8}, make([]byte, 100)...)

	bz := make([]byte, 1024)
	copy(bz[0x202:], "HdrS")

	for _, tt := range []struct {
		name string
		data []byte
		ok   bool
	}{
		{"raw Image", image, true},
		{"gzip Image", gz, true},
		{"x86 bzImage", bz, false},
		{"short", []byte("MZ"), false},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(p, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}

		got, err := bootImage(p)
		if (err == nil) != tt.ok || (tt.ok && got != p) {
			t.Errorf("%s: bootImage = %q, %v", tt.name, got, err)
		}
	}
}

func TestCheckExtension(t *testing.T) {
	host, err := FindArch(runtime.GOARCH)
	if err != nil {
		t.Skip("host is neither amd64 nor arm64")
	}

	other := ArchARM64
	if host == ArchARM64 {
		other = ArchAMD64
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	rootfs := t.TempDir()
	bin := filepath.Join(rootfs, extensionBinary)

	if err = host.checkExtension(rootfs); err != nil {
		t.Errorf("a rootfs without the binary: %v", err)
	}

	if err = os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}

	if err = os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}

	if err = host.checkExtension(rootfs); err != nil {
		t.Errorf("%s binary, %s guest: %v", runtime.GOARCH, host.Name, err)
	}

	if err = other.checkExtension(rootfs); err == nil {
		t.Errorf("%s binary, %s guest: no error", runtime.GOARCH, other.Name)
	}
}

func TestArm64Scenarios(t *testing.T) {
	amd := map[string]bool{}
	for _, s := range ScenariosFor(ArchAMD64) {
		amd[s.ID] = true
	}

	arm := ScenariosFor(ArchARM64)
	if len(arm) == 0 {
		t.Fatal("no arm64 scenario")
	}

	for _, s := range arm {
		if amd[s.ID] {
			t.Errorf("%s is in both matrices", s.ID)
		}

		if !strings.HasPrefix(s.ID, "arm64-") {
			t.Errorf("%s: arm64 scenario IDs start with arm64-", s.ID)
		}

		if len(s.Expect[With]) == 0 {
			t.Errorf("%s: no checks for the boot with raid-settle", s.ID)
		}
	}

	if _, err := FindArch("riscv64"); err == nil {
		t.Error("FindArch accepted riscv64")
	}
}
