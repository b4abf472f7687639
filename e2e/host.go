package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// hostTools maps each tool the harness runs on the host to the Debian
// package that provides it.
var hostTools = []HostTool{
	{"qemu-system-x86_64", "qemu-system-x86"},
	{"mkfs.xfs", "xfsprogs"},
	{"sgdisk", "gdisk"},
	{"cryptsetup", "cryptsetup-bin"},
	{"depmod", "kmod"},
	{"xz", "xz-utils"},
	{"zstd", "zstd"},
	{"dpkg-deb", "dpkg"},
}

// HostTool is a tool the harness runs on the host and the Debian package
// that provides it.
type HostTool struct{ tool, pkg string }

// EnsureHost installs the Debian packages of the host tools that are
// missing (hostTools and extra), with apt-get and without recommended
// packages (which would drag a desktop stack in with QEMU). It also puts
// the sbin directories on PATH, where Debian keeps mkfs.xfs and depmod.
func EnsureHost(ctx context.Context, log io.Writer, extra ...HostTool) error {
	tools := append(append([]HostTool(nil), hostTools...), extra...)

	path := os.Getenv("PATH")
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if !strings.Contains(":"+path+":", ":"+d+":") {
			path += ":" + d
		}
	}

	if err := os.Setenv("PATH", path); err != nil {
		return err
	}

	var missing []string

	for _, t := range tools {
		if _, err := exec.LookPath(t.tool); err != nil {
			missing = append(missing, t.pkg)
		}
	}

	if len(missing) == 0 {
		return nil
	}

	fmt.Fprintf(log, "e2e: installing %s\n", strings.Join(missing, " "))

	for _, args := range [][]string{
		{"update", "-qq"},
		append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...),
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")

		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s failed: %w: %s", args[0], err, out)
		}
	}

	for _, t := range tools {
		if _, err := exec.LookPath(t.tool); err != nil {
			return fmt.Errorf("%s is still missing after installing %s", t.tool, t.pkg)
		}
	}

	return nil
}
