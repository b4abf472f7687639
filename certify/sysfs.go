package certify

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/raid-settle/raid-settle/udev"
)

// target is the controller a live run cycles, as sysfs shows it before the
// first cycle.
type target struct {
	ctl      udev.Controller
	identity Identity
	// blocks are the controller's disks and partitions now.
	blocks []udev.BlockDevice
	// expected are their ids, and names maps each id to its kernel name.
	expected []string
	names    map[string]string
	// hosts are its SCSI hosts ("host0"), and scsiDevices its SCSI
	// devices ("0:2:0:0"), for a rescan.
	hosts       []string
	scsiDevices []string
}

// findTarget resolves the controller at address, or the one bound to
// driver, and lists what hangs off it.
func findTarget(sysRoot, procRoot, address, driver string) (*target, error) {
	snap, err := udev.TakeSnapshot(sysRoot)
	if snap == nil {
		return nil, fmt.Errorf("failed to list devices in sysfs: %w", err)
	}

	var matches []udev.Controller

	for _, c := range snap.Controllers {
		if (address == "" || strings.EqualFold(c.Address, address)) && (driver == "" || c.Driver == driver) {
			matches = append(matches, c)
		}
	}

	switch {
	case len(matches) == 0 && address != "":
		if _, err := os.Stat(filepath.Join(sysRoot, "bus/pci/devices", address)); err != nil {
			return nil, fmt.Errorf("no PCI device %s in %s/bus/pci/devices", address, sysRoot)
		}

		for _, c := range snap.Controllers {
			if strings.EqualFold(c.Address, address) {
				return nil, fmt.Errorf("%s is bound to %s, not %s", address, orNone(c.Driver), driver)
			}
		}

		return nil, fmt.Errorf("%s is not a storage controller (PCI class 01xxxx, or 0c04xx for Fibre Channel)", address)
	case len(matches) == 0:
		return nil, fmt.Errorf("no storage controller is bound to %s", driver)
	case len(matches) > 1:
		var addrs []string
		for _, c := range matches {
			addrs = append(addrs, c.Address)
		}

		return nil, fmt.Errorf("%d controllers are bound to %s (%s): pick one with --controller", len(matches), driver, strings.Join(addrs, ", "))
	}

	t := &target{ctl: matches[0], names: map[string]string{}}
	t.identity = readIdentity(sysRoot, procRoot, t.ctl)

	root, err := filepath.EvalSymlinks(sysRoot)
	if err != nil {
		return nil, err
	}

	t.hosts = underController(root, filepath.Join(root, "class/scsi_host"), t.ctl.DevPath, func(name string) bool {
		_, ok := hostNumber(name)

		return ok
	})
	slices.SortFunc(t.hosts, func(a, b string) int {
		x, _ := hostNumber(a)
		y, _ := hostNumber(b)

		return x - y
	})
	t.identity.Hosts = t.hosts
	t.scsiDevices = underController(root, filepath.Join(root, "bus/scsi/devices"), t.ctl.DevPath, func(name string) bool {
		_, _, ok := scsiAddress(name)

		return ok
	})

	hostBase := math.MaxInt

	for _, h := range t.hosts {
		n, _ := hostNumber(h)
		hostBase = min(hostBase, n)
	}

	for _, b := range snap.Blocks {
		if b.Controller != t.ctl.DevPath {
			continue
		}

		t.blocks = append(t.blocks, b)

		for _, h := range HostNumbers(b.DevPath, t.ctl.DevPath) {
			hostBase = min(hostBase, h)
		}
	}

	if hostBase == math.MaxInt {
		hostBase = 0
	}

	for _, b := range t.blocks {
		id := DeviceID(b.DevPath, t.ctl.DevPath, hostBase, b.PartNumber)
		t.expected = append(t.expected, id)
		t.names[id] = b.Name
	}

	return t, nil
}

// underController lists the entries of dir (symlinks into /sys/devices)
// whose name passes keep and whose target lies under the controller.
func underController(root, dir, ctlDevPath string, keep func(string) bool) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}

	prefix := filepath.Join(root, ctlDevPath) + string(filepath.Separator)

	var out []string

	for _, e := range entries {
		if !keep(e.Name()) {
			continue
		}

		real, err := filepath.EvalSymlinks(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(real, prefix) {
			out = append(out, e.Name())
		}
	}

	return out
}

// firmwareAttributes are the SCSI host attributes drivers publish their
// firmware version in: version_fw (mpt3sas, mptsas, mpi3mr),
// firmware_version (smartpqi), firmware_revision (hpsa), fw_version.
// megaraid_sas publishes none.
var firmwareAttributes = []string{"version_fw", "firmware_version", "firmware_revision", "fw_version"}

// readIdentity reads what sysfs and procfs say about the controller; every
// attribute is optional.
func readIdentity(sysRoot, procRoot string, c udev.Controller) Identity {
	id := identityOf(c)
	dev := filepath.Join(sysRoot, c.DevPath)

	id.Revision = readAttr(filepath.Join(dev, "revision"))

	if c.Driver != "" {
		id.Module = strings.ReplaceAll(c.Driver, "-", "_")
		if link, err := os.Readlink(filepath.Join(sysRoot, "bus/pci/drivers", c.Driver, "module")); err == nil {
			id.Module = filepath.Base(link)
		}

		id.DriverVersion = readAttr(filepath.Join(sysRoot, "module", id.Module, "version"))
	}

	root, err := filepath.EvalSymlinks(sysRoot)
	if err == nil {
		hosts := underController(root, filepath.Join(root, "class/scsi_host"), c.DevPath, func(n string) bool { _, ok := hostNumber(n); return ok })
		slices.Sort(hosts)

	found:
		for _, h := range hosts {
			for _, attr := range firmwareAttributes {
				if v := readAttr(filepath.Join(root, "class/scsi_host", h, attr)); v != "" {
					id.Firmware, id.FirmwareFrom = v, filepath.Join("/sys/class/scsi_host", h, attr)

					break found
				}
			}
		}

		if id.Firmware == "" {
			ctrls, _ := filepath.Glob(filepath.Join(dev, "nvme", "nvme*", "firmware_rev"))
			if len(ctrls) > 0 {
				id.Firmware = readAttr(ctrls[0])
				id.FirmwareFrom = "/sys" + strings.TrimPrefix(ctrls[0], sysRoot)
			}
		}
	}

	id.Kernel = readAttr(filepath.Join(procRoot, "sys/kernel/osrelease"))

	if cmdline, err := os.ReadFile(filepath.Join(procRoot, "cmdline")); err == nil {
		prefixes := []string{"raid_settle.", "scsi_mod.", "talos.device"}
		if id.Module != "" {
			prefixes = append(prefixes, id.Module+".", strings.ReplaceAll(id.Module, "_", "-")+".")
		}

		for _, arg := range strings.Fields(string(cmdline)) {
			if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(arg, p) }) {
				id.Cmdline = append(id.Cmdline, arg)
			}
		}
	}

	return id
}

// readAttr reads a sysfs attribute, trimmed; "" when it cannot be read.
func readAttr(file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}

	return strings.TrimSpace(string(data))
}

// bound reports whether the PCI device at address has a driver.
func bound(sysRoot, address string) bool {
	_, err := os.Lstat(filepath.Join(sysRoot, "bus/pci/devices", address, "driver"))

	return err == nil
}

// writeSysfs writes data to a sysfs attribute, as `echo data > file` does.
func writeSysfs(file string, data []byte) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}

	if _, err := f.Write(data); err != nil {
		f.Close()

		return fmt.Errorf("failed to write %q to %s: %w", strings.TrimSpace(string(data)), file, err)
	}

	return f.Close()
}

// isMissing reports whether err says a file is not there.
func isMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }
