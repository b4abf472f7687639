package diskimage_test

import (
	"path/filepath"
	"testing"

	"github.com/siderolabs/go-blockdevice/v2/blkid"

	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

func TestBuildTalosDisk(t *testing.T) {
	testenv.Tools(t, testenv.DiskTools...)

	for _, tc := range []struct {
		name       string
		sectorSize uint
		state      diskimage.Content
		want       string
	}{
		{"xfs-512", 512, diskimage.XFS, "xfs"},
		{"xfs-4096", 4096, diskimage.XFS, "xfs"},
		{"luks2-512", 512, diskimage.LUKS2, "luks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "disk.img")

			if err := diskimage.Build(img, dir, diskimage.TalosDisk(tc.sectorSize, tc.state)); err != nil {
				t.Fatal(err)
			}

			info, err := blkid.ProbePath(img, blkid.WithSectorSize(tc.sectorSize))
			if err != nil {
				t.Fatal(err)
			}

			if info.Name != "gpt" || len(info.Parts) != 6 {
				t.Fatalf("probe: name %q, %d partitions", info.Name, len(info.Parts))
			}

			state := info.Parts[4]
			if state.PartitionLabel == nil || *state.PartitionLabel != "STATE" || state.Name != tc.want {
				t.Fatalf("STATE partition probed as %q (label %v)", state.Name, state.PartitionLabel)
			}
		})
	}
}
