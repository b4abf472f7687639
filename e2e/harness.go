package e2e

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Variant says whether raid-settle is in the guest.
type Variant string

// Variants.
const (
	// With: the extension's rootfs as built, rule and binary.
	With Variant = "with"
	// Without: the same rootfs minus its udev rule, so the gate never
	// runs: today's Talos, everything else equal.
	Without Variant = "without"
	// Bare: no extension at all (the smoke test).
	Bare Variant = "bare"
)

// Harness builds the guest and boots it.
type Harness struct {
	// Repo is the repository root; Cache holds everything downloaded and
	// built (Repo/.cache/e2e).
	Repo, Cache string
	// Suite and Mirror say where the guest's Debian packages come from:
	// the mirror the host's apt uses (HostMirror) unless told otherwise.
	Suite, Mirror string
	// Extension is the raid-settle extension's rootfs directory.
	Extension string
	// Log receives progress.
	Log io.Writer
	// Klog makes the guest print its whole kernel log, not only the
	// gate's lines and the warnings (for debugging a scenario).
	Klog bool
	// Arch is the guest's architecture (ArchAMD64 unless UseArch says
	// otherwise).
	Arch *Arch

	Guest   *Guest
	Init    string
	Initrds map[Variant]string
}

// DefaultSuite is the Debian suite of the guest kernel and udev: trixie's
// systemd 257 is Talos 1.12's, and its 6.12 kernel is Talos 1.10/1.11's.
const DefaultSuite = "trixie"

// NewHarness returns a harness for the repository at repo.
func NewHarness(repo string, log io.Writer) *Harness {
	return &Harness{
		Repo:      repo,
		Cache:     filepath.Join(repo, ".cache", "e2e"),
		Suite:     DefaultSuite,
		Mirror:    cmp.Or(HostMirror("/etc/apt"), FallbackMirror),
		Extension: filepath.Join(repo, "_out", "extension", "amd64", "rootfs"),
		Log:       log,
		Arch:      ArchAMD64,
	}
}

// Prepare installs the host tools, fetches the guest packages, builds the
// guest init and writes one initramfs per variant.
func (h *Harness) Prepare(ctx context.Context) error {
	t0 := time.Now()

	if err := EnsureHost(ctx, h.Log, h.arch().hostTools()...); err != nil {
		return err
	}

	apt := &Apt{
		Dir:     filepath.Join(h.Cache, "apt-"+h.Suite+archSuffix(h.arch().Name)),
		Mirror:  h.Mirror,
		Suite:   h.Suite,
		Keyring: "/usr/share/keyrings/debian-archive-keyring.gpg",
		Log:     h.Log,
		Arch:    h.arch().Name,
	}

	g, err := FetchGuest(ctx, apt, h.Cache)
	if err != nil {
		return err
	}

	h.Guest = g

	build := filepath.Join(h.Cache, "build"+archSuffix(h.arch().Name))
	if err = os.MkdirAll(build, 0o755); err != nil {
		return err
	}

	h.Init = filepath.Join(build, "guestinit")

	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", h.Init, "./e2e/guestinit")
	cmd.Dir = h.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+h.arch().Name)

	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the guest init: %w: %s", err, out)
	}

	// The workstation build of raid-settle, for certify in the guest: the
	// extension carries the node build, which has no certify.
	tools := filepath.Join(build, "raid-settle")

	cmd = exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", tools, "./cmd/raid-settle")
	cmd.Dir = h.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+h.arch().Name)

	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build raid-settle for the guest: %w: %s", err, out)
	}

	if err = h.arch().checkExtension(h.Extension); err != nil {
		return err
	}

	h.Initrds = map[Variant]string{}

	for _, v := range []Variant{Bare, Without, With} {
		r := &Initramfs{
			Guest:       g,
			Init:        h.Init,
			Tools:       tools,
			ModulesDir:  filepath.Join(build, "modules-"+g.KernelVersion),
			WithoutRule: v == Without,
		}

		if v != Bare {
			r.Extension = h.Extension
		}

		out := filepath.Join(build, "initrd-"+string(v)+".cpio")
		if err = r.Write(ctx, out); err != nil {
			return fmt.Errorf("failed to write the %s initramfs: %w", v, err)
		}

		h.Initrds[v] = out
	}

	fmt.Fprintf(h.Log, "e2e: guest ready in %.1fs: kernel %s, %d userland packages from %s\n",
		time.Since(t0).Seconds(), g.KernelPackage, len(g.UserPackages), g.Suite)

	return nil
}
