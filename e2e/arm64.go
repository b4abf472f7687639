package e2e

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/diagnose"
)

// Arch is a guest architecture: which QEMU boots it, on which machine, and
// where its console and records go. The amd64 guest is the harness's
// original one (its settings are in qemu.go and run.go); the arm64 guest
// boots the arm64 extension on QEMU's virt machine.
type Arch struct {
	// Name is Go's GOARCH and Debian's architecture name.
	Name string
	// QEMU is the system emulator and QEMUPackage its Debian package.
	QEMU, QEMUPackage string
	// Machine replaces Args's "-machine pc".
	Machine []string
	// Console is the kernel console's serial port (console=).
	Console string
	// RecordsPort replaces Args's "-serial chardev:records": the QEMU
	// options that give the guest init its records port.
	RecordsPort []string
	// UnameMachine is what `uname -m` says in the guest.
	UnameMachine string
	// ELF is the machine of the guest's binaries.
	ELF elf.Machine
}

// Architectures.
var (
	// ArchAMD64 is the guest of make e2e: the pc machine, two 16550 UARTs.
	ArchAMD64 = &Arch{
		Name: "amd64", QEMU: "qemu-system-x86_64", QEMUPackage: "qemu-system-x86",
		Machine: []string{"-machine", "pc"}, Console: "ttyS0",
		RecordsPort:  []string{"-serial", "chardev:records"},
		UnameMachine: "x86_64", ELF: elf.EM_X86_64,
	}
	// ArchARM64 is QEMU's virt machine with a Cortex-A57 (no pointer
	// authentication, which is slow to emulate): the kernel console on its
	// one PL011 (ttyAMA0), the records on a virtio console (hvc0; Debian's
	// arm64 kernel has virtio-pci and virtio_console built in). Storage
	// controllers go on its PCIe root bus.
	ArchARM64 = &Arch{
		Name: "arm64", QEMU: "qemu-system-aarch64", QEMUPackage: "qemu-system-arm",
		Machine: []string{"-machine", "virt", "-cpu", "cortex-a57"}, Console: "ttyAMA0",
		RecordsPort: []string{
			"-device", "virtio-serial-pci,id=records-port",
			"-device", "virtconsole,chardev=records,bus=records-port.0",
		},
		UnameMachine: "aarch64", ELF: elf.EM_AARCH64,
	}
)

// FindArch returns the architecture named name (amd64 or arm64).
func FindArch(name string) (*Arch, error) {
	for _, a := range []*Arch{ArchAMD64, ArchARM64} {
		if a.Name == name {
			return a, nil
		}
	}

	return nil, fmt.Errorf("no guest architecture %q: amd64 or arm64", name)
}

// UseArch makes the harness boot a guest of architecture a, with the
// extension's rootfs for a (REPO/_out/extension/<arch>/rootfs).
func (h *Harness) UseArch(a *Arch) {
	h.Arch = a
	h.Extension = filepath.Join(h.Repo, "_out", "extension", a.Name, "rootfs")
}

func (h *Harness) arch() *Arch {
	if h.Arch == nil {
		return ArchAMD64
	}

	return h.Arch
}

// archSuffix tells the cache folders of another architecture's guest from
// the amd64 ones, which keep their names.
func archSuffix(name string) string {
	if name == "" || name == "amd64" {
		return ""
	}

	return "-" + name
}

func (a *Apt) arch() string {
	if a.Arch == "" {
		return "amd64"
	}

	return a.Arch
}

// hostTools is the architecture's QEMU, unless it is amd64's (always
// installed).
func (a *Arch) hostTools() []HostTool {
	if a.Name == "amd64" {
		return nil
	}

	return []HostTool{{a.QEMU, a.QEMUPackage}}
}

// kernelArgs returns the kernel arguments with the console on the
// architecture's serial port.
func (a *Arch) kernelArgs(args []string) []string {
	out := make([]string, len(args))

	for i, arg := range args {
		if strings.HasPrefix(arg, "console=") && a != nil {
			arg = "console=" + a.Console
		}

		out[i] = arg
	}

	return out
}

// qemuArgs rewrites the amd64 command line Args writes for the
// architecture: its machine, and its records port.
func (a *Arch) qemuArgs(args []string) []string {
	if a == nil || a.Name == "amd64" {
		return args
	}

	out := make([]string, 0, len(args)+len(a.Machine)+len(a.RecordsPort))

	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-machine" && i+1 < len(args):
			out = append(out, a.Machine...)
			i++
		case args[i] == "-serial" && i+1 < len(args) && args[i+1] == "chardev:records":
			out = append(out, a.RecordsPort...)
			i++
		default:
			out = append(out, args[i])
		}
	}

	return out
}

// bootImage checks that vmlinuz is an arm64 kernel QEMU's virt machine can
// boot directly (-kernel): a raw Image (Debian's trixie arm64 kernel is
// one, uncompressed, 37 MB) or a gzip-compressed one, which QEMU
// decompresses itself. It returns the path to boot.
func bootImage(vmlinuz string) (string, error) {
	f, err := os.Open(vmlinuz)
	if err != nil {
		return "", err
	}
	defer f.Close()

	head := make([]byte, 64)
	if _, err = f.ReadAt(head, 0); err != nil {
		return "", fmt.Errorf("%s: %w", vmlinuz, err)
	}

	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return vmlinuz, nil
	case string(head[0x38:0x3c]) == "ARM\x64":
		return vmlinuz, nil
	}

	return "", fmt.Errorf("%s is neither an arm64 Image nor a gzip-compressed one (an EFI zboot image needs firmware)", vmlinuz)
}

// extensionBinary is the gate's binary in the extension's rootfs.
const extensionBinary = "usr/local/lib/raid-settle/raid-settle"

// checkExtension makes sure the extension's binary, if the rootfs has it
// where make extension puts it, was built for the architecture: the guest
// could not run it otherwise, and a gate that never ran is not what a boot
// of this architecture is for.
func (a *Arch) checkExtension(rootfs string) error {
	f, err := elf.Open(filepath.Join(rootfs, extensionBinary))
	if os.IsNotExist(err) {
		return nil
	}

	if err != nil {
		return fmt.Errorf("extension binary: %w", err)
	}
	defer f.Close()

	if f.Machine != a.ELF {
		return fmt.Errorf("the extension in %s is built for %s, the guest is %s (%s)", rootfs, f.Machine, a.Name, a.ELF)
	}

	return nil
}

// GuestMachine: the guest init ran on the architecture (its init record's
// machine, uname -m).
func GuestMachine(machine string) Check {
	return Check{"guest is " + machine, func(r *Result) bool { return r.Machine == machine }}
}

// Arm64Scenarios are the boots of make e2e-arm64: the arm64 extension on
// QEMU's virt machine (TCG), kept out of make e2e for its time.
func Arm64Scenarios() []*Scenario {
	return []*Scenario{{
		ID:          "arm64-late-volume",
		Title:       "arm64 (virt, TCG): megasas bound at boot with no disk, its STATE volume announced 20s after megaraid_sas loaded (rescan); no boot hint",
		Controllers: []ControllerSpec{{Bus: BusMegasas, DisksAfter: time.Second, Disks: []DiskSpec{{Image: ImageState}}}},
		RescanAfter: 20 * time.Second,
		Variants:    both,
		Linger:      20 * time.Second,
		Expect: map[Variant][]Check{
			// Whether settle beats the late volume without the gate
			// depends on how busy the host is (coldplug takes 3 to 20 s
			// under TCG): the baseline is reported, not checked.
			Without: {GuestMachine(ArchARM64.UnameMachine), NoGate, Rescanned},
			With:    {GuestMachine("aarch64"), Rescanned, StatePresent, GateDecided("state-verified"), Diagnosed(diagnose.Healthy)},
		},
	}}
}

// ScenariosFor returns the scenarios of the architecture's matrix.
func ScenariosFor(a *Arch) []*Scenario {
	if a != nil && a.Name != "amd64" {
		return Arm64Scenarios()
	}

	return Scenarios()
}

// ImagesDir is where the harness builds its disk images. Every harness
// process rebuilds the images it uses there, so the arm64 boots have their
// own: make e2e-arm64 run beside make e2e would otherwise rewrite images
// the other's boots have open and hashed.
func (h *Harness) ImagesDir() string {
	return filepath.Join(h.Cache, "images"+archSuffix(h.arch().Name))
}
