package certify

import (
	"errors"
	"fmt"
	"io/fs"
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

	ctl, err := pickController(snap.Controllers, sysRoot, address, driver)
	if err != nil {
		return nil, err
	}

	root, err := filepath.EvalSymlinks(sysRoot)
	if err != nil {
		return nil, err
	}

	t := &target{ctl: ctl, identity: readIdentity(sysRoot, procRoot, ctl), names: map[string]string{}}
	t.hosts = sortByHostNumber(scsiHostsUnder(root, ctl.DevPath))
	t.identity.Hosts = t.hosts
	t.scsiDevices = scsiDevicesUnder(root, ctl.DevPath)
	t.listBlocks(snap.Blocks)

	return t, nil
}

// listBlocks keeps those of blocks on t's controller and names each by its
// place under it (DeviceID), host numbers counted from the controller's
// lowest.
func (t *target) listBlocks(blocks []udev.BlockDevice) {
	hosts := hostNumbersOf(t.hosts)

	for _, b := range blocks {
		if b.Controller == t.ctl.DevPath {
			t.blocks = append(t.blocks, b)
			hosts = append(hosts, HostNumbers(b.DevPath, t.ctl.DevPath)...)
		}
	}

	hostBase := lowestHost(hosts)

	for _, b := range t.blocks {
		id := DeviceID(b.DevPath, t.ctl.DevPath, hostBase, b.PartNumber)
		t.expected = append(t.expected, id)
		t.names[id] = b.Name
	}
}

// pickController returns the one controller at address (any when "") and
// bound to driver (any when ""), or an error saying why there is none.
func pickController(ctls []udev.Controller, sysRoot, address, driver string) (udev.Controller, error) {
	var matches []udev.Controller

	for _, c := range ctls {
		if (address == "" || strings.EqualFold(c.Address, address)) && (driver == "" || c.Driver == driver) {
			matches = append(matches, c)
		}
	}

	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) == 0 && address != "":
		if _, err := os.Stat(filepath.Join(sysRoot, "bus/pci/devices", address)); err != nil {
			return udev.Controller{}, fmt.Errorf("no PCI device %s in %s/bus/pci/devices", address, sysRoot)
		}

		for _, c := range ctls {
			if strings.EqualFold(c.Address, address) {
				return udev.Controller{}, fmt.Errorf("%s is bound to %s, not %s", address, orNone(c.Driver), driver)
			}
		}

		return udev.Controller{}, fmt.Errorf("%s is not a storage controller (PCI class 01xxxx, or 0c04xx for Fibre Channel)", address)
	case len(matches) == 0:
		return udev.Controller{}, fmt.Errorf("no storage controller is bound to %s", driver)
	}

	var addrs []string
	for _, c := range matches {
		addrs = append(addrs, c.Address)
	}

	return udev.Controller{}, fmt.Errorf("%d controllers are bound to %s (%s): pick one with --controller", len(matches), driver, strings.Join(addrs, ", "))
}

// scsiHostsUnder lists the SCSI hosts ("host0") of the controller at
// ctlDevPath, in name order, in the sysfs at root (symlinks resolved).
func scsiHostsUnder(root, ctlDevPath string) []string {
	return underController(root, filepath.Join(root, "class/scsi_host"), ctlDevPath, func(name string) bool {
		_, ok := hostNumber(name)

		return ok
	})
}

// scsiDevicesUnder lists the SCSI devices ("0:2:0:0") of the controller at
// ctlDevPath, in name order, in the sysfs at root (symlinks resolved).
func scsiDevicesUnder(root, ctlDevPath string) []string {
	return underController(root, filepath.Join(root, "bus/scsi/devices"), ctlDevPath, func(name string) bool {
		_, _, ok := scsiAddress(name)

		return ok
	})
}

// sortByHostNumber sorts SCSI host names by number, host2 before host10,
// and returns them.
func sortByHostNumber(hosts []string) []string {
	slices.SortFunc(hosts, func(a, b string) int {
		x, _ := hostNumber(a)
		y, _ := hostNumber(b)

		return x - y
	})

	return hosts
}

// hostNumbersOf returns the numbers of SCSI host names ("host3" -> 3).
func hostNumbersOf(hosts []string) []int {
	numbers := make([]int, 0, len(hosts))

	for _, h := range hosts {
		if n, ok := hostNumber(h); ok {
			numbers = append(numbers, n)
		}
	}

	return numbers
}

// lowestHost returns the lowest of a controller's SCSI host numbers, which
// DeviceID counts hosts from; 0 when there is none.
func lowestHost(numbers []int) int {
	if len(numbers) == 0 {
		return 0
	}

	return slices.Min(numbers)
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
	found:
		for _, h := range scsiHostsUnder(root, c.DevPath) {
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
