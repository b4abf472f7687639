package certify

import (
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/udev"
)

// Source says where the timelines came from.
type Source string

// Sources of timelines.
const (
	// SourceReports are the gate's report.json files, one per boot.
	SourceReports Source = "reports"
	// SourceDmesg are kernel logs holding the gate's "raid-settle: " lines.
	SourceDmesg Source = "dmesg"
	// SourceLive are cycles run by `certify --cycles` on this machine.
	SourceLive Source = "live"
)

// Reference says what a cycle's times are measured from.
type Reference string

// References.
const (
	// RefBindUevent is the kernel's "bind" uevent of the controller, seen
	// by the gate before any of the controller's disks.
	RefBindUevent Reference = "bind-uevent"
	// RefFirstSeen is the controller's first appearance in the timeline:
	// for a gate report, usually the gate's own start (its sysfs scan),
	// when the driver was already bound.
	RefFirstSeen Reference = "first-seen"
	// RefBindWrite is the write of the PCI address to the driver's bind
	// file (live cycling by unbind/bind).
	RefBindWrite Reference = "bind-write"
	// RefScanWrite is the write to the SCSI hosts' scan files (live
	// cycling by rescan).
	RefScanWrite Reference = "scan-write"
)

// Device types.
const (
	TypeDisk      = "disk"
	TypePartition = "partition"
)

// Timelines are what certify analyses: the cycles of each controller.
type Timelines struct {
	Source Source
	// Inputs are the files read (reports and kernel logs).
	Inputs []string
	// Cycles is how many cycles were run or read, whether or not every
	// controller took part in each.
	Cycles      int
	Controllers []*ControllerTimeline
}

// ControllerTimeline is one controller and its cycles.
type ControllerTimeline struct {
	Identity Identity
	// Expected are the device ids that every cycle should show besides
	// those seen in some cycle: the devices present before live cycling.
	Expected []string
	Cycles   []Cycle
}

// Identity is what is known of a controller: from sysfs when cycling live,
// from the report's controller list or the kernel log line otherwise.
type Identity struct {
	// Address is the PCI address, 0000:03:00.0.
	Address string `json:"address"`
	DevPath string `json:"devpath,omitempty"`
	Kind    string `json:"kind,omitempty"`
	// Class is the PCI class code, 0x010400.
	Class  string `json:"class,omitempty"`
	Driver string `json:"driver"`
	// PCIID is vendor:device, lower-case hex ("1000:005d").
	PCIID string `json:"pci_id"`
	// SubsystemID is subsystem vendor:device ("1000:9361").
	SubsystemID string `json:"subsystem_id,omitempty"`
	Revision    string `json:"revision,omitempty"`
	// Module is the kernel module providing the driver, and
	// DriverVersion its /sys/module/MODULE/version.
	Module        string `json:"module,omitempty"`
	DriverVersion string `json:"driver_version,omitempty"`
	// Firmware is the controller's firmware version, and FirmwareFrom the
	// sysfs attribute it was read from; empty when sysfs exposes none.
	Firmware     string `json:"firmware,omitempty"`
	FirmwareFrom string `json:"firmware_from,omitempty"`
	// Hosts are the controller's SCSI hosts at the start (host0).
	Hosts []string `json:"hosts,omitempty"`
	// Kernel is the running kernel's release, and Cmdline the kernel
	// arguments that concern the driver or raid-settle.
	Kernel  string   `json:"kernel,omitempty"`
	Cmdline []string `json:"cmdline,omitempty"`
}

// Cycle is one enumeration of a controller: a boot, or one live
// unbind/bind or rescan. Times are milliseconds after the reference.
type Cycle struct {
	// Index counts cycles from 1 across all inputs.
	Index int `json:"index"`
	// Source is the file a cycle was read from ("boot-3.json",
	// "dmesg.txt#2" for the second boot in a log), or "live".
	Source    string    `json:"source"`
	Reference Reference `json:"reference"`
	// ReferenceMS is when the reference happened in the source's own
	// timeline (since the gate's start, for a report).
	ReferenceMS int64 `json:"reference_ms"`
	// ObservedMS is how long after the reference the cycle was watched.
	ObservedMS int64 `json:"observed_ms"`
	// Partial is set when the source stopped watching on purpose before
	// the controller was done: the gate released as soon as STATE was
	// verified. A device missing from a partial cycle that arrived later
	// than ObservedMS in other cycles is unobserved, not a failure.
	Partial bool `json:"partial,omitempty"`
	// Decision is the gate's decision, for a boot report or log.
	Decision string `json:"decision,omitempty"`
	// TimedOut is set when a live cycle hit its bound.
	TimedOut bool `json:"timed_out,omitempty"`
	// Arrivals are the devices that appeared, first arrival each, in order.
	Arrivals []Arrival `json:"arrivals"`
	// Missing are the expected devices that did not arrive: failures.
	// Unobserved are those a partial cycle may have missed by stopping
	// early. Both are filled by Analyze.
	Missing    []string `json:"missing"`
	Unobserved []string `json:"unobserved,omitempty"`
	// Complete is set by Analyze when nothing is missing.
	Complete bool `json:"complete"`
	// UnbindMS and ActionMS are how long the unbind (or SCSI delete) and
	// the bind (or scan) writes took, when cycling live.
	UnbindMS int64 `json:"unbind_ms,omitempty"`
	ActionMS int64 `json:"action_ms,omitempty"`
	// BindUeventMS is when the kernel's bind uevent arrived, -1 if never.
	BindUeventMS int64 `json:"bind_uevent_ms"`
	// Events are the uevents of the controller and below it, or the
	// gate's log lines about it for a kernel log.
	Events []EventRecord `json:"events"`
	// Error says why the cycle is unusable or short, if it is.
	Error string `json:"error,omitempty"`
}

// Arrival is the first appearance of a disk or partition in a cycle.
type Arrival struct {
	// ID is the device's stable identity (see the package comment).
	ID string `json:"id"`
	// Name is its kernel name in this cycle.
	Name string `json:"name"`
	// Type is "disk" or "partition".
	Type string `json:"type"`
	// PartName is a partition's GPT name (STATE).
	PartName string `json:"part_name,omitempty"`
	AtMS     int64  `json:"at_ms"`
	// PresentAtStart marks a device the gate found in sysfs when it started:
	// it arrived at or before AtMS.
	PresentAtStart bool `json:"present_at_start,omitempty"`
	// Serial is the SCSI device's wwid when sysfs showed one (live).
	Serial string `json:"serial,omitempty"`
}

// EventRecord is one uevent (or kernel log line) of a cycle.
type EventRecord struct {
	AtMS      int64  `json:"at_ms"`
	Action    string `json:"action"`
	Subsystem string `json:"subsystem,omitempty"`
	DevType   string `json:"devtype,omitempty"`
	DevPath   string `json:"devpath,omitempty"`
	DevName   string `json:"devname,omitempty"`
	Seqnum    uint64 `json:"seqnum,omitempty"`
	Source    string `json:"source,omitempty"`
	// Line is the gate's log line, for kernel logs.
	Line string `json:"line,omitempty"`
}

// recordEvent makes the record of ev; at is its time since the cycle's
// reference.
func recordEvent(ev udev.Event, at time.Duration) EventRecord {
	return EventRecord{
		AtMS: at.Milliseconds(), Action: string(ev.Action), Subsystem: ev.Subsystem, DevType: ev.DevType,
		DevPath: ev.DevPath, DevName: ev.DevName, Seqnum: ev.Seqnum, Source: string(ev.Source),
	}
}

// DeviceID returns the stable identity of the block device at devpath under
// the controller at ctlDevPath, for a partition numbered partN (0 for a
// disk). hostBase is the lowest SCSI host number under the controller in
// the same cycle (see HostNumbers), so that "scsi-0:2:1:0" names the same
// logical drive whatever host number the kernel gave it this time.
func DeviceID(devpath, ctlDevPath string, hostBase int, partN int) string {
	diskName := path.Base(devpath)
	if partN > 0 {
		diskName = path.Base(path.Dir(devpath))
	}

	id := diskName

	if ns, ok := nvmeNamespace(diskName); ok {
		id = "nvme-n" + ns
	} else {
		rel := strings.TrimPrefix(strings.TrimPrefix(devpath, ctlDevPath), "/")
		elems := strings.Split(rel, "/")

		for i := len(elems) - 1; i >= 0; i-- {
			if h, ctl, ok := scsiAddress(elems[i]); ok {
				id = "scsi-" + strconv.Itoa(h-hostBase) + ":" + ctl

				break
			}
		}
	}

	if partN > 0 {
		id += "-part" + strconv.Itoa(partN)
	}

	return id
}

// scsiAddress splits a SCSI device's sysfs name "H:C:T:L" into the host
// number and "C:T:L".
func scsiAddress(name string) (host int, rest string, ok bool) {
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return 0, "", false
	}

	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return 0, "", false
		}
	}

	h, _ := strconv.Atoi(parts[0])

	return h, strings.Join(parts[1:], ":"), true
}

// nvmeNamespace returns the namespace id of an NVMe disk name, "1" for
// nvme0n1.
func nvmeNamespace(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "nvme")
	if !ok {
		return "", false
	}

	_, ns, ok := strings.Cut(rest, "n")
	if !ok || ns == "" {
		return "", false
	}

	if _, err := strconv.ParseUint(ns, 10, 32); err != nil {
		return "", false
	}

	return ns, true
}

// HostNumbers returns the SCSI host numbers ("host3" -> 3) found in
// devpath's elements below the controller.
func HostNumbers(devpath, ctlDevPath string) []int {
	rel := strings.TrimPrefix(strings.TrimPrefix(devpath, ctlDevPath), "/")

	var hosts []int

	for _, e := range strings.Split(rel, "/") {
		if n, ok := hostNumber(e); ok {
			hosts = append(hosts, n)
		}
	}

	return hosts
}

// hostNumber parses "host3".
func hostNumber(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "host")
	if !ok || rest == "" {
		return 0, false
	}

	n, err := strconv.ParseUint(rest, 10, 31)
	if err != nil {
		return 0, false
	}

	return int(n), true
}

// partitionNumber returns a block event's partition number: PARTN, or the
// trailing digits of its name for a partition without one; 0 for a disk.
func partitionNumber(ev udev.Event) int {
	if ev.DevType != TypePartition {
		return 0
	}

	if n, err := strconv.Atoi(ev.Env["PARTN"]); err == nil && n > 0 {
		return n
	}

	_, n := splitPartitionName(kernelName(ev))

	return n
}

// isArrival reports whether ev announces a disk or a partition.
func isArrival(ev udev.Event) bool {
	return ev.Subsystem == "block" && ev.Action == udev.ActionAdd && (ev.DevType == TypeDisk || ev.DevType == TypePartition)
}

// kernelName returns a block device's kernel name (sda5): DEVNAME, or the
// last element of its devpath.
func kernelName(ev udev.Event) string {
	if ev.DevName != "" {
		return ev.DevName
	}

	return path.Base(ev.DevPath)
}

// splitPartitionName splits a partition's kernel name into its disk's and
// its number: sda5 -> sda, 5; nvme0n1p2 -> nvme0n1, 2; mmcblk0p1 ->
// mmcblk0, 1. A name without a trailing number returns n = 0.
func splitPartitionName(name string) (disk string, n int) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}

	if i == len(name) || i == 0 {
		return name, 0
	}

	n, _ = strconv.Atoi(name[i:])
	disk = name[:i]

	// nvme0n1p2, mmcblk0p1, loop0p1: a "p" between two numbers.
	if strings.HasSuffix(disk, "p") && len(disk) > 1 && disk[len(disk)-2] >= '0' && disk[len(disk)-2] <= '9' {
		disk = disk[:len(disk)-1]
	}

	return disk, n
}

// ms converts a duration to whole milliseconds.
func ms(d time.Duration) int64 { return d.Milliseconds() }
