package extension

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/blang/semver/v4"
	"github.com/siderolabs/talos/pkg/machinery/extensions"
)

// The manifest's compatibility range is ">= v1.9.0": these are inside it...
var claimedTalos = []string{"v1.9.0", "v1.9.6", "v1.10.0", "v1.11.0", "v1.12.0", "v1.13.0", "v1.14.0-beta.0"}

// ...and these are not.
var excludedTalos = []string{"v1.7.0", "v1.8.0", "v1.8.4"}

// Talos's extension allow-lists (AllowedPaths in
// pkg/machinery/extensions/extensions.go of siderolabs/talos) at the tags
// that decide the compatibility floor. The vendored validator only knows the
// list of its own release, so the older lists are swapped in by the test.
var (
	// allowedPathsV180 is v1.8.0's: udev rules went to /usr/etc/udev/rules.d.
	allowedPathsV180 = []string{
		"/etc/cri/conf.d", "/lib/firmware", "/lib/modules", "/lib64/ld-linux-x86-64.so.2",
		"/usr/etc/udev/rules.d", "/usr/local",
		"/usr/share/glvnd", "/usr/share/egl", "/etc/vulkan",
	}
	// allowedPathsV190 is v1.9.0's, the first with /usr/lib/udev/rules.d.
	allowedPathsV190 = []string{
		"/etc/cri/conf.d", "/lib/firmware", "/lib/modules", "/lib64/ld-linux-x86-64.so.2",
		"/sbin/ldconfig", "/usr/lib/udev/rules.d", "/usr/local",
		"/usr/share/glvnd", "/usr/share/egl", "/etc/vulkan",
	}
)

func talosVersion(t *testing.T, v string) *semver.Version {
	t.Helper()

	sv, err := semver.ParseTolerant(v)
	if err != nil {
		t.Fatal(err)
	}

	return &sv
}

// validate loads dir with Talos's own code and validates it against Talos
// version v, constraints and contents both (what extensions-validator and
// the installer run).
func validate(t *testing.T, dir, v string) error {
	t.Helper()

	ext, err := extensions.Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}

	return ext.Validate(
		extensions.WithValidateConstraints(),
		extensions.WithValidateContents(),
		extensions.WithTalosVersion(talosVersion(t, v)),
	)
}

func TestTalosAcceptsClaimedVersions(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		for _, v := range claimedTalos {
			if err := validate(t, img.Tree, v); err != nil {
				t.Errorf("%s, Talos %s: %v", img.Arch, v, err)
			}
		}
	}
}

func TestTalosRejectsExcludedVersions(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		for _, v := range excludedTalos {
			if err := validate(t, img.Tree, v); err == nil {
				t.Errorf("%s, Talos %s: validated, want a compatibility error", img.Arch, v)
			}
		}
	}
}

func TestTalosManifest(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		ext, err := extensions.Load(img.Tree)
		if err != nil {
			t.Fatal(err)
		}

		m := ext.Manifest.Metadata
		if m.Name != "raid-settle" || m.Version != testVersion || m.Author == "" || m.Description == "" {
			t.Errorf("%s: metadata %+v", img.Arch, m)
		}

		if got := m.Compatibility.Talos.Version; got != ">= v1.9.0" {
			t.Errorf("%s: compatibility %q, want >= v1.9.0", img.Arch, got)
		}
	}
}

// TestTalosAllowListFloor shows why the range starts at v1.9.0: the contents
// pass v1.9.0's allow-list and fail v1.8.0's (the rule's directory).
func TestTalosAllowListFloor(t *testing.T) {
	out := shared(t)
	tree := out.Images[0].Tree

	saved := slices.Clone(extensions.AllowedPaths)
	t.Cleanup(func() { extensions.AllowedPaths = saved })

	contents := func(allowed []string) error {
		extensions.AllowedPaths = allowed

		ext, err := extensions.Load(tree)
		if err != nil {
			t.Fatal(err)
		}

		return ext.Validate(extensions.WithValidateContents())
	}

	if err := contents(allowedPathsV190); err != nil {
		t.Errorf("v1.9.0 allow-list: %v", err)
	}

	if err := contents(allowedPathsV180); err == nil {
		t.Error("v1.8.0 allow-list: validated, want the rule refused")
	}
}

// TestTalosValidatesTarball unpacks the flat tarball the way the imager does
// for tarballPath and validates the result.
func TestTalosValidatesTarball(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		f, err := os.Open(img.Tarball)
		if err != nil {
			t.Fatal(err)
		}

		dir := filepath.Join(t.TempDir(), "ext")
		if err = os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}

		err = untarStrict(f, dir)
		f.Close()

		if err != nil {
			t.Fatalf("%s: unpacking %s: %v", img.Arch, img.Tarball, err)
		}

		if err = validate(t, dir, "v1.13.0"); err != nil {
			t.Errorf("%s: %v", img.Arch, err)
		}
	}
}
