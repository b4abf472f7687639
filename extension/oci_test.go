package extension

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// wantFiles is the image's file list: type, mode and path, in tar order.
var wantFiles = []string{
	"f 0644 manifest.yaml",
	"d 0755 rootfs/",
	"d 0755 rootfs/usr/",
	"d 0755 rootfs/usr/lib/",
	"d 0755 rootfs/usr/lib/udev/",
	"d 0755 rootfs/usr/lib/udev/rules.d/",
	"f 0644 rootfs/usr/lib/udev/rules.d/90-raid-settle.rules",
	"d 0755 rootfs/usr/local/",
	"d 0755 rootfs/usr/local/lib/",
	"d 0755 rootfs/usr/local/lib/raid-settle/",
	"d 0755 rootfs/usr/local/lib/raid-settle/profiles/",
	"f 0755 rootfs/usr/local/lib/raid-settle/raid-settle",
}

// tarContents lists a tar stream as wantFiles does, checking owner and time
// on the way, and returns the regular files' contents by path.
func tarContents(t *testing.T, r io.Reader) ([]string, map[string][]byte) {
	t.Helper()

	var list []string

	data := map[string][]byte{}
	tr := tar.NewReader(r)

	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}

		if err != nil {
			t.Fatal(err)
		}

		kind := "?"

		switch hdr.Typeflag {
		case tar.TypeDir:
			kind = "d"
		case tar.TypeReg:
			kind = "f"

			if data[hdr.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}

		list = append(list, fmt.Sprintf("%s %04o %s", kind, hdr.Mode, hdr.Name))

		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "root" || hdr.Gname != "root" {
			t.Errorf("%s: owner %d:%d (%s:%s), want 0:0 (root:root)", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
		}

		if !hdr.ModTime.Equal(testEpoch) {
			t.Errorf("%s: mtime %s, want %s", hdr.Name, hdr.ModTime, testEpoch)
		}
	}

	return list, data
}

func TestOCILayout(t *testing.T) {
	out := shared(t)

	idx, err := layout.ImageIndexFromPath(out.OCIDir)
	if err != nil {
		t.Fatal(err)
	}

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", im.MediaType, types.OCIImageIndex)
	}

	if d, _ := idx.Digest(); d != out.Index {
		t.Errorf("index digest %s, Build said %s", d, out.Index)
	}

	var platforms []string

	for _, desc := range im.Manifests {
		if desc.Platform == nil {
			t.Fatalf("manifest %s has no platform", desc.Digest)
		}

		platforms = append(platforms, desc.Platform.OS+"/"+desc.Platform.Architecture)
	}

	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Fatalf("platforms %v, want %v", platforms, want)
	}

	for i, desc := range im.Manifests {
		arch := desc.Platform.Architecture

		t.Run(arch, func(t *testing.T) {
			checkImage(t, idx, desc, out.Images[i])
		})
	}
}

func checkImage(t *testing.T, idx v1.ImageIndex, desc v1.Descriptor, built ImageOutput) {
	arch := desc.Platform.Architecture

	if desc.ArtifactType != "" {
		t.Errorf("index entry has artifactType %q, want none (an ordinary image)", desc.ArtifactType)
	}

	if desc.MediaType != types.OCIManifestSchema1 || desc.Digest != built.Manifest {
		t.Errorf("descriptor %s %s, want %s %s", desc.MediaType, desc.Digest, types.OCIManifestSchema1, built.Manifest)
	}

	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}

	if cfg.OS != "linux" || cfg.Architecture != arch || !cfg.Created.Equal(testEpoch) {
		t.Errorf("config %s/%s created %s, want linux/%s created %s", cfg.OS, cfg.Architecture, cfg.Created, arch, testEpoch)
	}

	for _, h := range cfg.History {
		if !h.Created.Equal(testEpoch) {
			t.Errorf("history created %s, want %s", h.Created, testEpoch)
		}
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}

	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1", len(layers))
	}

	if mt, _ := layers[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}

	// The uncompressed layer is the flat tarball, byte for byte.
	tarball, err := os.ReadFile(built.Tarball)
	if err != nil {
		t.Fatal(err)
	}

	sum := sha256.Sum256(tarball)
	if diffID, _ := layers[0].DiffID(); diffID.Hex != hex.EncodeToString(sum[:]) {
		t.Errorf("layer diff id %s, tarball sha256:%x", diffID, sum)
	}

	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()

	list, data := tarContents(t, rc)
	if !slices.Equal(list, wantFiles) {
		t.Errorf("layer files:\n%s\nwant:\n%s", strings.Join(list, "\n"), strings.Join(wantFiles, "\n"))
	}

	if got := data["rootfs"+RulePath]; !bytes.Equal(got, Rule) {
		t.Errorf("rule in the image:\n%s\nwant files/90-raid-settle.rules:\n%s", got, Rule)
	}

	if got := string(data["manifest.yaml"]); !strings.Contains(got, `version: "`+testVersion+`"`) || strings.Contains(got, VersionPlaceholder) {
		t.Errorf("manifest.yaml without its version:\n%s", got)
	}

	program := data["rootfs"+BinaryPath]

	f, err := elf.NewFile(bytes.NewReader(program))
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	defer f.Close()

	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		t.Errorf("program e_machine %s (%d), want %s (%d)", f.Machine, f.Machine, want, want)
	}

	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("program is dynamically linked")
		}
	}
}

// TestOCIPathLikeImager reads the layout as Talos's imager does for ociPath
// (pick the index entry for linux/<arch>, flatten it with mutate.Extract,
// unpack) and validates the result with Talos's code.
func TestOCIPathLikeImager(t *testing.T) {
	out := shared(t)

	lp, err := layout.FromPath(out.OCIDir)
	if err != nil {
		t.Fatal(err)
	}

	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}

	for _, arch := range testArches {
		var img v1.Image

		for _, desc := range im.Manifests {
			if desc.Platform != nil && desc.Platform.OS == "linux" && desc.Platform.Architecture == arch {
				if img, err = lp.Image(desc.Digest); err != nil {
					t.Fatal(err)
				}
			}
		}

		if img == nil {
			t.Fatalf("no image for linux/%s", arch)
		}

		dir := filepath.Join(t.TempDir(), "ext")
		if err = os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}

		rc := mutate.Extract(img)
		err = untarStrict(rc, dir)
		rc.Close()

		if err != nil {
			t.Fatalf("%s: unpacking: %v", arch, err)
		}

		if err = validate(t, dir, "v1.13.0"); err != nil {
			t.Errorf("%s: %v", arch, err)
		}
	}
}

func TestTarballs(t *testing.T) {
	out := shared(t)

	for _, img := range out.Images {
		f, err := os.Open(img.Tarball)
		if err != nil {
			t.Fatal(err)
		}

		list, _ := tarContents(t, f)
		f.Close()

		if !slices.Equal(list, wantFiles) {
			t.Errorf("%s: files:\n%s\nwant:\n%s", img.Tarball, strings.Join(list, "\n"), strings.Join(wantFiles, "\n"))
		}
	}
}
