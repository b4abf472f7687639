package blockdev

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/raid-settle/raid-settle/internal/fstree"
)

func TestKernelPartitions(t *testing.T) {
	root := t.TempDir()

	err := fstree.Write(root, `
-- class/block/sda/size --
2097152
-- class/block/sda/queue/logical_block_size --
4096
-- class/block/sda/holders/ --
-- class/block/sda/sda1/start --
2048
-- class/block/sda/sda1/size --
204800
-- class/block/sda/sda1/uevent --
MAJOR=8
MINOR=1
DEVNAME=sda1
DEVTYPE=partition
PARTN=1
PARTNAME=EFI
-- class/block/sda/sda5/start --
243712
-- class/block/sda/sda5/size --
204800
-- class/block/sda/sda5/uevent --
DEVNAME=sda5
DEVTYPE=partition
PARTN=5
PARTNAME=STATE
-- class/block/sda/sda6/start --
448512
-- class/block/sda/sda6/size --
1024
-- class/block/sda/sda6/uevent --
DEVNAME=sda6
DEVTYPE=partition
PARTN=6
-- class/block/sdb/size --
0
`)
	if err != nil {
		t.Fatal(err)
	}

	got, err := KernelPartitions(root, "sda", "")
	if err != nil {
		t.Fatal(err)
	}

	want := []KernelPartition{
		{Name: "sda1", Number: 1, Label: "EFI", Start: 2048 * 512, Size: 204800 * 512},
		{Name: "sda5", Number: 5, Label: "STATE", Start: 243712 * 512, Size: 204800 * 512},
		{Name: "sda6", Number: 6, Start: 448512 * 512, Size: 1024 * 512},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("KernelPartitions(sda) (-want +got):\n%s", diff)
	}

	state, err := KernelPartitions(root, "sda", StatePartitionLabel)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(want[1:2], state); diff != "" {
		t.Errorf("KernelPartitions(sda, STATE) (-want +got):\n%s", diff)
	}

	if n := KernelSectorSize(root, "sda"); n != 4096 {
		t.Errorf("KernelSectorSize(sda) = %d, want 4096", n)
	}

	if got, err := KernelPartitions(root, "sdb", ""); err != nil || len(got) != 0 {
		t.Errorf("KernelPartitions(sdb) = %v, %v; want none", got, err)
	}

	if n := KernelSectorSize(root, "sdb"); n != 512 {
		t.Errorf("KernelSectorSize(sdb) = %d, want 512 when sysfs does not say", n)
	}

	if _, err := KernelPartitions(root, "sdz", ""); !errors.Is(err, ErrNoKernelView) {
		t.Errorf("KernelPartitions(sdz) error %v, want ErrNoKernelView", err)
	}
}

func TestPartitionName(t *testing.T) {
	for _, c := range []struct {
		disk string
		n    uint
		want string
	}{{"sda", 5, "sda5"}, {"sdaa", 12, "sdaa12"}, {"nvme0n1", 5, "nvme0n1p5"}, {"mmcblk1", 2, "mmcblk1p2"}, {"/dev/vdb", 1, "/dev/vdb1"}, {"/dev/loop0", 3, "/dev/loop0p3"}} {
		if got := PartitionName(c.disk, c.n); got != c.want {
			t.Errorf("PartitionName(%s, %d) = %s, want %s", c.disk, c.n, got, c.want)
		}
	}
}
