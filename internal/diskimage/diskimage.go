// Package diskimage builds Talos-like disk images with the real tools
// (mkfs.xfs, cryptsetup) and go-blockdevice's GPT writer. Tests, the demo and
// the end-to-end harness share it; nothing in the shipped agent imports it.
package diskimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	"github.com/google/uuid"
	"github.com/siderolabs/go-blockdevice/v2/partitioning/gpt"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// GPT partition type GUIDs used by Talos.
var (
	TypeEFI   = uuid.MustParse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	TypeBIOS  = uuid.MustParse("21686148-6449-6E6F-744E-656564454649")
	TypeLinux = uuid.MustParse("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
)

// Content says what goes inside a partition.
type Content int

// Partition contents.
const (
	// Empty leaves the partition as zeroes.
	Empty Content = iota
	// XFS formats the partition with mkfs.xfs, labelled with the partition name.
	XFS
	// LUKS2 formats the partition with cryptsetup luksFormat --type luks2.
	LUKS2
)

// Partition describes one GPT entry of an image.
type Partition struct {
	Name    string
	Type    uuid.UUID
	Size    uint64
	Content Content
}

// Disk describes a whole image.
type Disk struct {
	// SectorSize is the logical sector size: 512 or 4096.
	SectorSize uint
	// Size is the image size in bytes; it must leave room for the GPT.
	Size       uint64
	Partitions []Partition
}

// TalosLayout returns the partitions of a Talos system disk (EFI, BIOS, BOOT,
// META, STATE, EPHEMERAL) with STATE formatted as state says. The sizes are
// Talos's, but for BOOT and EPHEMERAL, which are kept small: they stay empty.
func TalosLayout(state Content) []Partition {
	return []Partition{
		{Name: "EFI", Type: TypeEFI, Size: 100 * MiB},
		{Name: "BIOS", Type: TypeBIOS, Size: 1 * MiB},
		{Name: "BOOT", Type: TypeLinux, Size: 16 * MiB},
		{Name: "META", Type: TypeLinux, Size: 1 * MiB},
		{Name: "STATE", Type: TypeLinux, Size: 100 * MiB, Content: state},
		{Name: "EPHEMERAL", Type: TypeLinux, Size: 16 * MiB},
	}
}

// TalosDisk returns a Talos-like disk of the given sector size with STATE
// formatted as state says.
func TalosDisk(sectorSize uint, state Content) Disk {
	return Disk{SectorSize: sectorSize, Size: 260 * MiB, Partitions: TalosLayout(state)}
}

// Build writes the image to path (created or truncated), formatting each
// partition with the real tools. scratch is a directory for temporary files.
func Build(path, scratch string, d Disk) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()

	if err = f.Truncate(int64(d.Size)); err != nil {
		return err
	}

	dev, err := gpt.DeviceFromFile(f, gpt.WithFileSectorSize(d.SectorSize))
	if err != nil {
		return fmt.Errorf("failed to open image as a GPT device: %w", err)
	}

	table, err := gpt.New(dev)
	if err != nil {
		return fmt.Errorf("failed to create GPT: %w", err)
	}

	offsets := make([]uint64, len(d.Partitions))

	for i, p := range d.Partitions {
		_, part, err := table.AllocatePartition(p.Size, p.Name, p.Type)
		if err != nil {
			return fmt.Errorf("failed to allocate %s: %w", p.Name, err)
		}

		offsets[i] = part.FirstLBA * uint64(d.SectorSize)
	}

	if err = table.Write(); err != nil {
		return fmt.Errorf("failed to write GPT: %w", err)
	}

	for i, p := range d.Partitions {
		if p.Content == Empty {
			continue
		}

		fs := fmt.Sprintf("%s/%s.fs", scratch, p.Name)
		if err = Format(fs, p.Name, int64(p.Size), d.SectorSize, p.Content); err != nil {
			return err
		}

		if err = copySparse(f, offsets[i], fs); err != nil {
			return fmt.Errorf("failed to copy %s into the image: %w", p.Name, err)
		}

		_ = os.Remove(fs)
	}

	return f.Sync()
}

// Format makes a standalone filesystem image of size bytes at path with the
// real tool for content, labelled label.
func Format(path, label string, size int64, sectorSize uint, content Content) error {
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return err
	}

	if err := os.Truncate(path, size); err != nil {
		return err
	}

	switch content {
	case XFS:
		return FormatXFS(path, label, sectorSize)
	case LUKS2:
		return FormatLUKS2(path, sectorSize)
	default:
		return nil
	}
}

// FormatXFS runs mkfs.xfs on an existing file. xfsprogs refuses filesystems
// under 300 MB unless it believes it runs in its own test suite; Talos's STATE
// is 100 MiB, so the environment says so.
func FormatXFS(path, label string, sectorSize uint) error {
	cmd := exec.Command("mkfs.xfs", "-f", "-q", "-L", label, "-s", "size="+strconv.FormatUint(uint64(sectorSize), 10), path)
	cmd.Env = append(os.Environ(), "QA_CHECK_FS=1", "TEST_DIR=x", "TEST_DEV=y")

	return run(cmd)
}

// Passphrase is the LUKS2 passphrase of every image this package makes.
const Passphrase = "raid-settle-test"

// FormatLUKS2 runs cryptsetup luksFormat --type luks2 on an existing file.
// The key derivation is argon2id, as Talos requires before it unlocks a
// volume, at its cheapest cost so tests stay fast.
func FormatLUKS2(path string, sectorSize uint) error {
	cmd := exec.Command("cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
		"--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32", "--pbkdf-parallel", "1",
		"--sector-size", strconv.FormatUint(uint64(sectorSize), 10),
		"--label", "STATE", "--key-file", "-", path)
	cmd.Stdin = bytes.NewBufferString(Passphrase)

	return run(cmd)
}

func run(cmd *exec.Cmd) error {
	var out bytes.Buffer

	cmd.Stdout = &out
	cmd.Stderr = &out

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed: %w: %s", cmd.Args[0], err, out.String())
	}

	return nil
}

// copySparse copies the file at src into dst at offset, skipping all-zero
// blocks so the image stays sparse.
func copySparse(dst *os.File, offset uint64, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()

	buf := make([]byte, 64*1024)
	zero := make([]byte, len(buf))
	pos := int64(offset)

	for {
		n, err := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := dst.WriteAt(buf[:n], pos); werr != nil {
				return werr
			}
		}

		pos += int64(n)

		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}

		if err != nil {
			return err
		}
	}
}

// HashFile returns the hex SHA-256 of the file at path. Tests and the
// end-to-end harness take it before and after every run to prove that
// nothing wrote to an image.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()

	h := sha256.New()
	if _, err = io.Copy(h, f); err != nil {
		return "", err
	}

	return hex.EncodeToString(h.Sum(nil)), nil
}
