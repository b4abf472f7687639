package extension

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// createdBy is the history line of every image's only layer.
const createdBy = "raid-settle extension/cmd/mkextension"

// PlatformImage is the image built for one architecture.
type PlatformImage struct {
	// Arch is the OCI architecture ("amd64", "arm64"); the OS is linux.
	Arch string
	// Image is the extension image.
	Image v1.Image
}

// Image returns the OCI image of one architecture: a single gzip-compressed
// layer holding layerTar (the flat tarball: manifest.yaml and rootfs/), OCI
// media types, and created as the creation time of the config and of its
// history entry, so that its digest depends on nothing else.
func Image(layerTar []byte, arch string, created time.Time) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil },
		tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(gzip.BestCompression),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to make the layer: %w", err)
	}

	when := v1.Time{Time: created.UTC().Truncate(time.Second)}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)

	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: when, CreatedBy: createdBy},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to add the layer: %w", err)
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read the image config: %w", err)
	}

	cfg = cfg.DeepCopy()
	cfg.Architecture = arch
	cfg.OS = "linux"
	cfg.Created = when

	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to set the image config: %w", err)
	}

	return img, nil
}

// Index returns an OCI image index listing images in the given order, each
// with its platform linux/<arch>, which is how Talos's imager picks the one
// for the architecture it builds (ociPath) and how a registry serves it.
func Index(images []PlatformImage) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)

	for _, pi := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: plainImage{pi.Image},
			Descriptor: v1.Descriptor{
				MediaType: types.OCIManifestSchema1,
				Platform:  &v1.Platform{OS: "linux", Architecture: pi.Arch},
			},
		})
	}

	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("failed to make the image index: %w", err)
	}

	return idx, nil
}

// WriteLayout writes index as an OCI image layout at dir (oci-layout,
// index.json, blobs/sha256/...), replacing whatever dir held: a layout only
// ever adds blobs, so stale ones from an earlier build would stay.
func WriteLayout(dir string, index v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("failed to clear %s: %w", dir, err)
	}

	if _, err := layout.Write(dir, index); err != nil {
		return fmt.Errorf("failed to write the OCI layout %s: %w", dir, err)
	}

	return nil
}

// plainImage keeps go-containerregistry from giving the image's index entry
// an artifactType (it copies the config media type there by default): these
// are ordinary images, listed as Talos's own extension images are.
type plainImage struct{ v1.Image }

// ArtifactType is empty: the image is no artifact.
func (plainImage) ArtifactType() (string, error) { return "", nil }
