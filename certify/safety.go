package certify

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/udev"
)

// HazardKind says why cycling a controller would pull something from under
// the running system.
type HazardKind string

// Hazards.
const (
	// HazardRoot: the root filesystem is on the controller.
	HazardRoot HazardKind = "root"
	// HazardMounted: a filesystem on the controller is mounted.
	HazardMounted HazardKind = "mounted"
	// HazardSwap: a swap area on the controller is in use.
	HazardSwap HazardKind = "swap"
	// HazardBoot: the partition the firmware booted from is on the
	// controller (LoaderDevicePartUUID).
	HazardBoot HazardKind = "boot"
)

// Hazard is one reason not to cycle a controller.
type Hazard struct {
	Kind HazardKind `json:"kind"`
	// Device is the controller's disk or partition concerned (sda2).
	Device string `json:"device"`
	// Via is the stacked device (dm-0 (vg-root), md127) the filesystem or
	// swap is on, when not on Device itself.
	Via string `json:"via,omitempty"`
	// DevNum is the major:minor of the device mounted or swapped on.
	DevNum string `json:"devnum,omitempty"`
	// Where is the mount point or swap file name.
	Where string `json:"where,omitempty"`
}

// String says the hazard in a sentence.
func (h Hazard) String() string {
	on := h.Device
	if h.Via != "" {
		on = fmt.Sprintf("%s, through %s", h.Device, h.Via)
	}

	if h.DevNum != "" {
		on += " (" + h.DevNum + ")"
	}

	switch h.Kind {
	case HazardRoot:
		return fmt.Sprintf("%s holds the root filesystem, mounted at %s", on, h.Where)
	case HazardMounted:
		return fmt.Sprintf("%s is mounted at %s", on, h.Where)
	case HazardSwap:
		return fmt.Sprintf("%s is an active swap area (%s)", on, h.Where)
	case HazardBoot:
		return fmt.Sprintf("%s is the partition the firmware booted from (LoaderDevicePartUUID %s)", on, h.Where)
	}

	return fmt.Sprintf("%s: %s %s", on, h.Kind, h.Where)
}

// RefusedError is returned when a controller is not cycled for safety.
type RefusedError struct {
	Address, Driver string
	Hazards         []Hazard
}

// Error lists every hazard, one a line, and what to do about them.
func (e *RefusedError) Error() string {
	var b strings.Builder

	fmt.Fprintf(&b, "refusing to cycle %s (%s):", e.Address, orNone(e.Driver))

	for _, h := range e.Hazards {
		fmt.Fprintf(&b, "\n  - %s", h)
	}

	b.WriteString("\nre-enumerating the controller would pull these from under the running system; unmount them (swapoff), or pass --force to cycle anyway")

	return b.String()
}

// stackedDev is a block device on the controller or stacked on one.
type stackedDev struct {
	name   string // sda2, dm-0
	label  string // "dm-0 (vg-root)"
	devnum string // 8:2
	// base is the controller's device it rests on, for a stacked one.
	base string
}

// CheckSafety lists the hazards of cycling a controller whose disks and
// partitions are blocks: filesystems mounted from them or from devices
// stacked on them (device mapper, md: followed through sysfs holders), swap
// in use, the root filesystem, and the partition the firmware booted from.
// It reads sysRoot (sysfs, efivarfs) and procRoot (self/mountinfo, swaps).
func CheckSafety(sysRoot, procRoot string, blocks []udev.BlockDevice) ([]Hazard, error) {
	devs := stack(sysRoot, blocks)

	byNum := map[string]stackedDev{}
	byPath := map[string]stackedDev{}

	for _, d := range devs {
		if d.devnum != "" {
			byNum[d.devnum] = d
		}

		byPath["/dev/"+d.name] = d

		if dm := readAttr(filepath.Join(sysRoot, "class/block", d.name, "dm/name")); dm != "" {
			byPath["/dev/mapper/"+dm] = d
		}
	}

	hazard := func(kind HazardKind, d stackedDev, where string) Hazard {
		h := Hazard{Kind: kind, Device: d.name, DevNum: d.devnum, Where: where}
		if d.base != "" {
			h.Device, h.Via = d.base, d.label
		}

		return h
	}

	var hazards []Hazard

	mounts, err := os.ReadFile(filepath.Join(procRoot, "self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("failed to read the mount table: %w", err)
	}

	for _, m := range parseMountinfo(mounts) {
		d, ok := byNum[m.devnum]
		if !ok {
			d, ok = byPath[m.source]
		}

		if !ok {
			continue
		}

		kind := HazardMounted
		if m.mountPoint == "/" {
			kind = HazardRoot
		}

		hazards = append(hazards, hazard(kind, d, m.mountPoint))
	}

	if swaps, err := os.ReadFile(filepath.Join(procRoot, "swaps")); err == nil {
		for i, line := range strings.Split(string(swaps), "\n") {
			f := strings.Fields(line)
			if i == 0 || len(f) == 0 {
				continue // the header
			}

			if d, ok := byPath[unescapeMount(f[0])]; ok {
				hazards = append(hazards, hazard(HazardSwap, d, f[0]))
			}
		}
	}

	bootUUID, err := agent.ReadBootPartUUID(sysRoot)
	if err == nil && bootUUID != "" {
		for _, b := range blocks {
			if !b.Partition {
				continue
			}

			if strings.EqualFold(ueventValue(filepath.Join(sysRoot, b.DevPath, "uevent"), "PARTUUID"), bootUUID) {
				hazards = append(hazards, Hazard{Kind: HazardBoot, Device: b.Name, Where: bootUUID})
			}
		}
	}

	return hazards, nil
}

// stack returns blocks and every device stacked on them (their holders,
// recursively), each with its major:minor.
func stack(sysRoot string, blocks []udev.BlockDevice) []stackedDev {
	var (
		out  []stackedDev
		seen = map[string]bool{}
	)

	var visit func(name, dir, base string)

	visit = func(name, dir, base string) {
		if seen[name] {
			return
		}

		seen[name] = true

		d := stackedDev{name: name, label: name, devnum: readAttr(filepath.Join(dir, "dev")), base: base}
		if dm := readAttr(filepath.Join(dir, "dm/name")); dm != "" {
			d.label = fmt.Sprintf("%s (%s)", name, dm)
		}

		out = append(out, d)

		if base == "" {
			base = name
		}

		holders, _ := os.ReadDir(filepath.Join(dir, "holders"))
		for _, h := range holders {
			visit(h.Name(), filepath.Join(sysRoot, "class/block", h.Name()), base)
		}
	}

	for _, b := range blocks {
		visit(b.Name, filepath.Join(sysRoot, b.DevPath), "")
	}

	return out
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	devnum, mountPoint, source string
}

// parseMountinfo reads /proc/PID/mountinfo (proc(5)): field 3 is
// major:minor, field 5 the mount point; after the "-" separator come the
// filesystem type and the mount source.
func parseMountinfo(data []byte) []mountEntry {
	var out []mountEntry

	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}

		m := mountEntry{devnum: f[2], mountPoint: unescapeMount(f[4])}

		for i := 5; i < len(f); i++ {
			if f[i] == "-" && i+2 < len(f) {
				m.source = unescapeMount(f[i+2])

				break
			}
		}

		out = append(out, m)
	}

	return out
}

// unescapeMount undoes the kernel's octal escapes in mount tables ("\040"
// for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}

	var b strings.Builder

	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))

				i += 3

				continue
			}
		}

		b.WriteByte(s[i])
	}

	return b.String()
}

// ueventValue returns KEY's value in a sysfs uevent file, "" if absent.
func ueventValue(file, key string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}

	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+"="); ok {
			return v
		}
	}

	return ""
}
