// Package extension packages raid-settle as a Talos system extension.
//
// An extension image holds exactly two things at its root: manifest.yaml and
// rootfs/. raid-settle's rootfs carries the static program and the udev rule
// that starts it:
//
//	rootfs/usr/local/lib/raid-settle/raid-settle          0755  the program
//	rootfs/usr/local/lib/raid-settle/profiles/            0755  extra profiles (empty)
//	rootfs/usr/lib/udev/rules.d/90-raid-settle.rules      0644  the rule
//
// Build writes, for each architecture, the unpacked tree, a flat tarball (for
// the imager's tarballPath) and one OCI image layout whose index carries every
// platform (for the imager's ociPath and for pushing to a registry). Its output
// depends only on its inputs: entries are sorted, every time is the given
// epoch, every owner is root, so two builds from the same commit are
// byte-identical, OCI digests included.
package extension

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/raid-settle/raid-settle/agent"
)

// Paths inside the extension's rootfs, as Talos sees them once the extension
// is mounted over /.
const (
	// BinaryPath is where the program lives. /usr/local has been an allowed
	// extension path since extensions exist (Talos v1.0).
	BinaryPath = "/usr/local/lib/raid-settle/raid-settle"
	// ProfileDir is where the gate looks for extra controller profiles. The
	// image ships it empty; another extension layer can fill it.
	ProfileDir = "/usr/local/lib/raid-settle/profiles"
	// RulePath is the udev rule. Talos's udevd reads /usr/lib/udev/rules.d
	// since v1.9.0 (/usr/etc/udev/rules.d before).
	RulePath = "/usr/lib/udev/rules.d/90-raid-settle.rules"
)

// Rule is the udev rule shipped at RulePath (files/90-raid-settle.rules).
//
//go:embed files/90-raid-settle.rules
var Rule []byte

// Binary is the raid-settle program built for one architecture.
type Binary struct {
	// Arch is the Go and OCI name of the architecture: "amd64" or "arm64".
	Arch string
	// Path is a statically linked linux/Arch executable.
	Path string
}

// Options are the inputs of Build.
type Options struct {
	// ManifestSource is the manifest.yaml source, carrying VersionPlaceholder.
	ManifestSource []byte
	// Version replaces VersionPlaceholder (usually `git describe` output).
	Version string
	// Epoch is the modification time of every entry and the creation time of
	// every image (SOURCE_DATE_EPOCH or the commit time).
	Epoch time.Time
	// Binaries are the programs to package, one per architecture.
	Binaries []Binary
	// Profiles are controller profiles to ship in ProfileDir, for every
	// architecture (certify's output, for example).
	Profiles []ProfileFile
}

// ProfileFile is one profile file shipped in ProfileDir.
type ProfileFile struct {
	// Name is the file's base name, ending in .json.
	Name string
	Data []byte
}

// ReadProfiles reads every *.json file of dir as profiles to ship, after
// checking that the gate loads them (agent.LoadProfiles), so that a profile
// the gate would refuse never reaches a node.
func ReadProfiles(dir string) ([]ProfileFile, error) {
	if _, err := agent.LoadProfiles(dir, nil); err != nil {
		return nil, fmt.Errorf("profiles in %s: %w", dir, err)
	}

	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}

	if len(names) == 0 {
		return nil, fmt.Errorf("profiles in %s: no *.json file", dir)
	}

	var files []ProfileFile

	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}

		files = append(files, ProfileFile{Name: filepath.Base(name), Data: data})
	}

	return files, nil
}

// Output names what Build wrote.
type Output struct {
	// Dir is the output directory given to Build.
	Dir string
	// OCIDir is the OCI image layout holding every platform.
	OCIDir string
	// Index is the digest of the layout's image index.
	Index v1.Hash
	// Images has one entry per architecture, sorted by Arch.
	Images []ImageOutput
}

// ImageOutput describes the extension built for one architecture.
type ImageOutput struct {
	// Arch is the architecture ("amd64", "arm64").
	Arch string
	// Tree is the unpacked extension: Dir/<arch>, holding manifest.yaml and rootfs/.
	Tree string
	// Tarball is the flat tar of the tree: Dir/raid-settle-<arch>.tar.
	Tarball string
	// TarballSize is the tarball's size in bytes.
	TarballSize int64
	// Manifest is the digest of the image's OCI manifest.
	Manifest v1.Hash
	// Layer is the digest of the image's only (gzip-compressed) layer.
	Layer v1.Hash
	// DiffID is the digest of the uncompressed layer, which is the tarball.
	DiffID v1.Hash
}

// Build writes the extension for every binary in opts under dir:
//
//	dir/<arch>/                  manifest.yaml + rootfs/, unpacked
//	dir/raid-settle-<arch>.tar   the same as a flat tar
//	dir/oci/                     OCI image layout, one platform per binary
//
// It replaces whatever those paths held before and leaves the rest of dir
// alone.
func Build(dir string, opts Options) (*Output, error) {
	if len(opts.Binaries) == 0 {
		return nil, errors.New("no binaries to package")
	}

	manifest, err := RenderManifest(opts.ManifestSource, opts.Version)
	if err != nil {
		return nil, err
	}

	binaries := slices.Clone(opts.Binaries)
	slices.SortFunc(binaries, func(a, b Binary) int { return cmp.Compare(a.Arch, b.Arch) })

	for i := 1; i < len(binaries); i++ {
		if binaries[i].Arch == binaries[i-1].Arch {
			return nil, fmt.Errorf("two binaries for %s", binaries[i].Arch)
		}
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("failed to create %s: %w", dir, err)
	}

	out := &Output{Dir: dir, OCIDir: filepath.Join(dir, "oci")}

	var platforms []PlatformImage

	for _, b := range binaries {
		img, platform, err := buildArch(dir, b, manifest, opts.Profiles, opts.Epoch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Arch, err)
		}

		out.Images = append(out.Images, img)
		platforms = append(platforms, platform)
	}

	index, err := Index(platforms)
	if err != nil {
		return nil, err
	}

	if err = WriteLayout(out.OCIDir, index); err != nil {
		return nil, err
	}

	if out.Index, err = index.Digest(); err != nil {
		return nil, fmt.Errorf("failed to compute the index digest: %w", err)
	}

	return out, nil
}

func buildArch(dir string, b Binary, manifest []byte, profiles []ProfileFile, epoch time.Time) (ImageOutput, PlatformImage, error) {
	out := ImageOutput{
		Arch:    b.Arch,
		Tree:    filepath.Join(dir, b.Arch),
		Tarball: filepath.Join(dir, "raid-settle-"+b.Arch+".tar"),
	}

	program, err := os.ReadFile(b.Path)
	if err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to read the program: %w", err)
	}

	if err = CheckBinary(program, b.Arch); err != nil {
		return out, PlatformImage{}, fmt.Errorf("%s: %w", b.Path, err)
	}

	entries := Entries(manifest, program, profiles...)

	if err = WriteTree(out.Tree, entries, epoch); err != nil {
		return out, PlatformImage{}, err
	}

	var tarball bytes.Buffer

	if err = WriteTar(&tarball, entries, epoch); err != nil {
		return out, PlatformImage{}, err
	}

	if err = os.WriteFile(out.Tarball, tarball.Bytes(), 0o644); err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to write the tarball: %w", err)
	}

	out.TarballSize = int64(tarball.Len())

	img, err := Image(tarball.Bytes(), b.Arch, epoch)
	if err != nil {
		return out, PlatformImage{}, err
	}

	if out.Manifest, err = img.Digest(); err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to compute the manifest digest: %w", err)
	}

	layers, err := img.Layers()
	if err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to read the layers: %w", err)
	}

	if out.Layer, err = layers[0].Digest(); err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to compute the layer digest: %w", err)
	}

	if out.DiffID, err = layers[0].DiffID(); err != nil {
		return out, PlatformImage{}, fmt.Errorf("failed to compute the layer diff id: %w", err)
	}

	return out, PlatformImage{Arch: b.Arch, Image: img}, nil
}
