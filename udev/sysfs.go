package udev

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultSysRoot is where sysfs is mounted.
const DefaultSysRoot = "/sys"

// walkSource is one sysfs listing Walk reads: a directory of symlinks into
// /sys/devices, the subsystem its entries belong to, and which to keep.
type walkSource struct {
	dir       string
	subsystem string
	keep      func(*Event) bool
}

// walkSources are listed in the order the kernel announces the devices: a
// controller, then its SCSI host, then its disks and their partitions.
var walkSources = []walkSource{
	{dir: "bus/pci/devices", subsystem: "pci", keep: func(e *Event) bool {
		_, ok := ControllerFromEvent(*e)

		return ok
	}},
	{dir: "bus/scsi/devices", subsystem: "scsi", keep: func(e *Event) bool { return e.DevType == "scsi_host" }},
	{dir: "class/block", subsystem: "block"},
}

// Walk lists, as "add" events with Source SourceSysfs received at now, what
// sysfs under sysRoot ("" means /sys) shows: the PCI storage controllers
// (those ControllerFromEvent accepts: mass storage or Fibre Channel), the
// SCSI hosts, then every block device and partition (each group sorted by
// devpath, so a disk comes before its partitions). Devices that vanish
// during the walk are skipped. Other per-device failures are
// joined into the error, and the devices that could be read are returned
// with it.
func Walk(sysRoot string, now time.Time) ([]Event, error) {
	root, err := resolveSysRoot(sysRoot)
	if err != nil {
		return nil, err
	}

	var (
		events []Event
		errs   []error
	)

	for _, src := range walkSources {
		evs, err := walkDir(root, src, now)
		events = append(events, evs...)

		if err != nil {
			errs = append(errs, err)
		}
	}

	return events, errors.Join(errs...)
}

func resolveSysRoot(sysRoot string) (string, error) {
	if sysRoot == "" {
		sysRoot = DefaultSysRoot
	}

	root, err := filepath.EvalSymlinks(sysRoot)
	if err != nil {
		return "", fmt.Errorf("failed to resolve the sysfs root: %w", err)
	}

	return root, nil
}

func walkDir(root string, src walkSource, now time.Time) ([]Event, error) {
	dir := filepath.Join(root, src.dir)

	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no such bus on this machine
	}

	if err != nil {
		return nil, fmt.Errorf("failed to list %s: %w", dir, err)
	}

	var (
		events []Event
		errs   []error
	)

	for _, entry := range entries {
		ev, err := readDevice(root, filepath.Join(dir, entry.Name()), src.subsystem, now)

		switch {
		case vanished(err):
			continue
		case err != nil:
			errs = append(errs, err)

			continue
		case src.keep != nil && !src.keep(&ev):
			continue
		}

		events = append(events, ev)
	}

	slices.SortFunc(events, func(a, b Event) int { return strings.Compare(a.DevPath, b.DevPath) })

	return events, errors.Join(errs...)
}

// vanished reports whether err means the device went away while it was
// read: its directory is gone, or its attributes answer ENODEV.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}

// readDevice reads the device a sysfs listing entry points to.
func readDevice(root, link, subsystem string, now time.Time) (Event, error) {
	dir, err := filepath.EvalSymlinks(link)
	if err != nil {
		return Event{}, err
	}

	devpath, ok := strings.CutPrefix(dir, root)
	if !ok || !strings.HasPrefix(devpath, "/devices/") {
		return Event{}, fmt.Errorf("%s resolves to %s, outside %s/devices", link, dir, root)
	}

	data, err := os.ReadFile(filepath.Join(dir, "uevent"))
	if err != nil {
		return Event{}, err
	}

	ev := Event{Action: ActionAdd, DevPath: filepath.ToSlash(devpath), Received: now, Source: SourceSysfs}

	if err := ev.setUeventFile(data); err != nil {
		return Event{}, fmt.Errorf("%s/uevent: %w", dir, err)
	}

	ev.Subsystem = subsystem

	if ev.Driver == "" {
		if target, err := os.Readlink(filepath.Join(dir, "driver")); err == nil {
			ev.Driver = filepath.Base(target)
		}
	}

	if subsystem == "pci" && ev.Env["PCI_CLASS"] == "" {
		// The uevent file always carries it; the attribute is a fallback.
		raw, err := os.ReadFile(filepath.Join(dir, "class"))
		if err != nil {
			return Event{}, err
		}

		if class, ok := parseClass(string(raw)); ok {
			ev.setEnv("PCI_CLASS", fmt.Sprintf("%04X", class))
		}
	}

	return ev, nil
}

// setUeventFile records the KEY=VALUE lines of a sysfs uevent file. Lines
// without "=" are ignored.
func (ev *Event) setUeventFile(data []byte) error {
	for line := range bytes.Lines(data) {
		line = bytes.TrimRight(line, "\n")

		key, value, ok := bytes.Cut(line, []byte("="))
		if !ok || len(key) == 0 {
			continue
		}

		if err := ev.set(key, value); err != nil {
			return err
		}
	}

	return nil
}

func (ev *Event) setEnv(key, value string) {
	if ev.Env == nil {
		ev.Env = make(map[string]string, 4)
	}

	ev.Env[key] = value
}

// BlockDevice is a disk or partition found in sysfs.
type BlockDevice struct {
	// Name is the kernel name, sda5 (DEVNAME).
	Name    string `json:"name"`
	DevPath string `json:"devpath"`
	// Partition is true for a partition, false for a whole disk.
	Partition bool `json:"partition"`
	// PartName is the GPT partition name (PARTNAME), STATE for Talos's.
	PartName string `json:"part_name,omitempty"`
	// PartNumber is PARTN, 0 for a disk.
	PartNumber int `json:"part_number,omitempty"`
	// Size is in bytes.
	Size uint64 `json:"size"`
	// Controller is the devpath of the storage controller the device hangs
	// off, "" if none (loop devices, or a bus Walk does not list).
	Controller string `json:"controller,omitempty"`
}

// Snapshot is the coldplug view: what Walk found, as controllers and
// block devices.
type Snapshot struct {
	Controllers []Controller  `json:"controllers"`
	Blocks      []BlockDevice `json:"blocks"`
}

// TakeSnapshot walks sysfs under sysRoot ("" means /sys) and returns its
// storage controllers and block devices, each block device tied to the
// controller it hangs off. Like Walk, it returns what it could read along
// with an error about the rest.
func TakeSnapshot(sysRoot string) (*Snapshot, error) {
	root, err := resolveSysRoot(sysRoot)
	if err != nil {
		return nil, err
	}

	events, walkErr := Walk(root, time.Time{})
	errs := []error{walkErr}
	snap := &Snapshot{Controllers: []Controller{}, Blocks: []BlockDevice{}}

	for _, ev := range events {
		if c, ok := ControllerFromEvent(ev); ok {
			snap.Controllers = append(snap.Controllers, c)
		}
	}

	for _, ev := range events {
		if ev.Subsystem != "block" {
			continue
		}

		size, err := readSize(filepath.Join(root, filepath.FromSlash(ev.DevPath), "size"))
		if vanished(err) {
			continue
		}

		if err != nil {
			errs = append(errs, err)
		}

		b := BlockDevice{
			Name:       ev.DevName,
			DevPath:    ev.DevPath,
			Partition:  ev.DevType == "partition",
			PartName:   ev.Env["PARTNAME"],
			Size:       size,
			Controller: ControllerFor(ev.DevPath, snap.Controllers),
		}
		if b.Name == "" {
			b.Name = filepath.Base(ev.DevPath)
		}

		if n, err := strconv.Atoi(ev.Env["PARTN"]); err == nil {
			b.PartNumber = n
		}

		snap.Blocks = append(snap.Blocks, b)
	}

	return snap, errors.Join(errs...)
}

// readSize reads a block device's size attribute, which counts 512-byte
// sectors whatever the device's logical block size.
func readSize(file string) (uint64, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}

	sectors, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}

	return sectors * 512, nil
}
