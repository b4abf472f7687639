package extension

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// imagerProfile is the part of Talos's imager profile the shipped profiles
// use, field for field as pkg/imager/profile/profile.go and input.go name
// them (siderolabs/talos v1.13): decoding with known fields only catches a
// misspelt key, which the imager itself would reject.
type imagerProfile struct {
	BaseProfileName string `yaml:"baseProfileName"`
	Arch            string `yaml:"arch"`
	Input           struct {
		SystemExtensions []struct {
			ImageRef    string `yaml:"imageRef"`
			TarballPath string `yaml:"tarballPath"`
			OCIPath     string `yaml:"ociPath"`
		} `yaml:"systemExtensions"`
	} `yaml:"input"`
	Customization struct {
		ExtraKernelArgs []string `yaml:"extraKernelArgs"`
	} `yaml:"customization"`
}

// TestImagerProfiles checks the imager profiles in extension/imager: one
// installer and one metal ISO per architecture the extension ships, each
// taking the extension from /extension as `make extension` lays it out
// (the layout holding that architecture's image).
func TestImagerProfiles(t *testing.T) {
	out := shared(t)

	files, err := filepath.Glob(filepath.Join(moduleRoot, "extension", "imager", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	var names []string

	for _, f := range files {
		names = append(names, filepath.Base(f))

		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}

		var p imagerProfile
		if err := yaml.Load(data, &p, yaml.WithKnownFields()); err != nil {
			t.Errorf("%s: %v", f, err)

			continue
		}

		kind, arch, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".yaml"), "-")
		if kind == "metal" {
			kind, arch = "iso", strings.TrimPrefix(arch, "iso-")
		}

		if p.BaseProfileName != kind || p.Arch != arch {
			t.Errorf("%s: baseProfileName %q, arch %q; want %q, %q", f, p.BaseProfileName, p.Arch, kind, arch)
		}

		exts := p.Input.SystemExtensions
		if len(exts) != 1 || exts[0].OCIPath != "/extension/oci" {
			t.Errorf("%s: system extensions %+v, want the OCI layout at /extension/oci", f, exts)
		}

		if !slices.ContainsFunc(out.Images, func(img ImageOutput) bool { return img.Arch == arch }) {
			t.Errorf("%s: the extension has no %s image", f, arch)
		}

		if !strings.Contains(string(data), "tarballPath: /extension/raid-settle-"+arch+".tar") {
			t.Errorf("%s: does not show the tarball for %s", f, arch)
		}
	}

	want := []string{"installer-amd64.yaml", "installer-arm64.yaml", "metal-iso-amd64.yaml", "metal-iso-arm64.yaml"}
	if !slices.Equal(names, want) {
		t.Errorf("profiles %q, want %q", names, want)
	}
}
