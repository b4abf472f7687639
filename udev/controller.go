package udev

import (
	"path"
	"strconv"
	"strings"
)

// Kind classifies a storage controller by its PCI class.
type Kind string

// The kinds of storage controllers, by PCI subclass of the mass storage
// base class 0x01, plus the Fibre Channel subclass of the serial bus base
// class 0x0c (PCI Code and ID Assignment Specification). The drivers named
// are examples from Talos's kernel; docs/drivers.md lists them all.
const (
	KindRAID  Kind = "raid"  // 0x0104: megaraid_sas, mpi3mr, smartpqi, hpsa, aacraid
	KindSAS   Kind = "sas"   // 0x0107: mpt3sas, mptsas, isci, hisi_sas_v3_hw
	KindSCSI  Kind = "scsi"  // 0x0100: sym53c8xx, virtio-scsi, vmw_pvscsi
	KindSATA  Kind = "sata"  // 0x0106: ahci
	KindNVMe  Kind = "nvme"  // 0x0108: nvme
	KindFC    Kind = "fc"    // 0x0c04: qla2xxx, lpfc, fnic (Cisco VIC FCoE vHBA)
	KindOther Kind = "other" // any other mass storage class, virtio-blk (0x0180) included
)

// ClassifyPCIClass classifies a storage controller by its 24-bit PCI class
// code (base class, subclass, programming interface), for example 0x010400.
// Only the upper 16 bits count: RAID controllers and NVMe controllers come
// with several programming interfaces.
func ClassifyPCIClass(class uint32) Kind {
	switch (class >> 8) & 0xffff {
	case 0x0104:
		return KindRAID
	case 0x0107:
		return KindSAS
	case 0x0100:
		return KindSCSI
	case 0x0106:
		return KindSATA
	case 0x0108:
		return KindNVMe
	case pciClassFibreChannel:
		return KindFC
	}

	return KindOther
}

// pciClassFibreChannel is the serial bus controller base class (0x0c) with
// the Fibre Channel subclass (0x04). FC HBAs (QLogic, Emulex) announce it
// rather than a mass storage class, as does Cisco's VIC FCoE vHBA; the LUNs
// a node boots from over a SAN hang off them.
const pciClassFibreChannel = 0x0c04

// IsStorageClass reports whether a 24-bit PCI class code belongs to a
// storage controller: the mass storage base class (0x01), whatever its
// subclass, or Fibre Channel (0x0c04). The rest of the serial bus class
// (USB 0x0c03, FireWire, SMBus, InfiniBand) does not count.
func IsStorageClass(class uint32) bool {
	return class <= 0xffffff && (class>>16 == 0x01 || class>>8 == pciClassFibreChannel)
}

// Controller is a storage controller found in sysfs or in a PCI uevent.
type Controller struct {
	// DevPath is the PCI device's devpath, for example
	// /devices/pci0000:00/0000:00:04.0.
	DevPath string `json:"devpath"`
	// Address is the PCI slot, for example 0000:00:04.0.
	Address string `json:"address"`
	Kind    Kind   `json:"kind"`
	// Class is the 24-bit PCI class code, for example 0x010400.
	Class uint32 `json:"class"`
	// Driver is the bound driver, or "" while none is.
	Driver    string `json:"driver"`
	Vendor    uint16 `json:"vendor"`
	Device    uint16 `json:"device"`
	SubVendor uint16 `json:"sub_vendor"`
	SubDevice uint16 `json:"sub_device"`
}

// ControllerFromEvent builds a Controller from a PCI uevent whose PCI_CLASS
// is a storage class (IsStorageClass); ok is false for any other event. It accepts every action
// (the caller looks at e.Action): "add" and "bind" describe the controller,
// while "unbind" and "remove" still carry its identity, and an "unbind"
// carries no DRIVER.
func ControllerFromEvent(e Event) (Controller, bool) {
	if e.Subsystem != "pci" {
		return Controller{}, false
	}

	class, ok := parseClass(e.Env["PCI_CLASS"])
	if !ok || !IsStorageClass(class) {
		return Controller{}, false
	}

	c := Controller{
		DevPath: e.DevPath,
		Address: e.Env["PCI_SLOT_NAME"],
		Kind:    ClassifyPCIClass(class),
		Class:   class,
		Driver:  e.Driver,
	}
	if c.Address == "" {
		c.Address = path.Base(e.DevPath)
	}

	c.Vendor, c.Device = parseIDPair(e.Env["PCI_ID"])
	c.SubVendor, c.SubDevice = parseIDPair(e.Env["PCI_SUBSYS_ID"])

	return c, true
}

// ControllerFor returns the devpath of the controller, among controllers,
// that devpath hangs off: the one whose devpath is devpath itself or its
// nearest ancestor. It returns "" when there is none, for example for
// /devices/virtual/block/loop0.
func ControllerFor(devpath string, controllers []Controller) string {
	best := ""

	for _, c := range controllers {
		if len(c.DevPath) > len(best) && isAncestorOrSelf(c.DevPath, devpath) {
			best = c.DevPath
		}
	}

	return best
}

// isAncestorOrSelf reports whether devpath is dir or lies below it.
func isAncestorOrSelf(dir, devpath string) bool {
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return false
	}

	return devpath == dir || (strings.HasPrefix(devpath, dir) && devpath[len(dir)] == '/')
}

// parseClass parses a PCI class code as the kernel writes it: "10400" in a
// uevent (PCI_CLASS=%04X), "0x010400" in the sysfs class attribute.
func parseClass(s string) (uint32, bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	if s == "" {
		return 0, false
	}

	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil || n > 0xffffff {
		return 0, false
	}

	return uint32(n), true
}

// parseIDPair parses "VVVV:DDDD" (PCI_ID, PCI_SUBSYS_ID); zeros when absent
// or malformed.
func parseIDPair(s string) (first, second uint16) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0
	}

	x, err1 := strconv.ParseUint(a, 16, 16)
	y, err2 := strconv.ParseUint(b, 16, 16)

	if err1 != nil || err2 != nil {
		return 0, 0
	}

	return uint16(x), uint16(y)
}
