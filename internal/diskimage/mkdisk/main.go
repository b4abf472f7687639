// Command mkdisk writes a Talos-like disk image (EFI, BIOS, BOOT, META,
// STATE, EPHEMERAL) with the real tools, for the demo and the end-to-end
// harness. It is a development tool; it is not shipped.
//
//	mkdisk [-sector-size 512|4096] [-state xfs|luks2|none] [-damage crc|geometry] IMAGE
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/raid-settle/raid-settle/internal/diskimage"
)

func main() {
	sectorSize := flag.Uint("sector-size", 512, "logical sector size: 512 or 4096")
	state := flag.String("state", "xfs", "STATE content: xfs, luks2 or none (a blank disk, no GPT)")
	damage := flag.String("damage", "", "damage STATE's XFS superblock: crc (checksum only) or geometry (fails the sanity checks)")
	flag.Parse()

	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}

	if err := build(flag.Arg(0), *sectorSize, *state, diskimage.Damage(*damage)); err != nil {
		fmt.Fprintf(os.Stderr, "mkdisk: %v\n", err)
		os.Exit(1)
	}
}

func build(path string, sectorSize uint, state string, damage diskimage.Damage) error {
	if state == "none" {
		return diskimage.Blank(path, 260*diskimage.MiB)
	}

	content := map[string]diskimage.Content{"xfs": diskimage.XFS, "luks2": diskimage.LUKS2}[state]
	if content == diskimage.Empty {
		return fmt.Errorf("unknown -state %q", state)
	}

	scratch, err := os.MkdirTemp(filepath.Dir(path), ".mkdisk-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	disk := diskimage.TalosDisk(sectorSize, content)
	if err = diskimage.Build(path, scratch, disk); err != nil {
		return err
	}

	if damage == "" {
		return nil
	}

	return diskimage.DamageState(path, sectorSize, damage)
}
