package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Profile is how long a storage driver's controllers may go quiet between
// announcing disks before raid-settle believes they are done.
//
// The quiet window of a controller is GapFactor times the longest gap seen
// so far between its events, never less than Quiet and never more than
// MaxQuiet. Profiles come built in (BuiltinProfiles), from files written by
// `raid-settle certify`, or from the kernel command line (one fixed window).
type Profile struct {
	// Driver is the kernel driver the profile is for ("" matches any).
	Driver string `json:"driver"`
	// PCIIDs narrows the profile to vendor:device pairs ("1000:005d");
	// empty means every device the driver binds.
	PCIIDs []string `json:"pci_ids,omitempty"`
	// Quiet is the shortest quiet window.
	Quiet Duration `json:"quiet"`
	// MaxQuiet caps the window however long the observed gaps are.
	MaxQuiet Duration `json:"max_quiet"`
	// GapFactor multiplies the longest observed gap.
	GapFactor float64 `json:"gap_factor"`
	// Why records how the numbers were chosen, for people reading a report.
	Why string `json:"why,omitempty"`
}

// Window is the quiet window for a controller whose longest gap between
// events so far is maxGap.
func (p Profile) Window(maxGap time.Duration) time.Duration {
	w := time.Duration(float64(maxGap) * p.GapFactor)

	return min(max(w, p.Quiet.D()), max(p.MaxQuiet.D(), p.Quiet.D()))
}

// Matches reports whether p is meant for driver and the PCI id "vvvv:dddd"
// (pciID may be "" when unknown).
func (p Profile) Matches(driver, pciID string) bool {
	if p.Driver != "" && p.Driver != driver {
		return false
	}

	return len(p.PCIIDs) == 0 || slices.ContainsFunc(p.PCIIDs, func(id string) bool { return strings.EqualFold(id, pciID) })
}

// DefaultProfile applies to a storage controller no other profile matches,
// and to one whose driver is not bound yet.
var DefaultProfile = Profile{
	Quiet: Seconds(3), MaxQuiet: Seconds(20), GapFactor: 2,
	Why: "unknown driver: a short window that still covers a slow SCSI bus scan, widened by what is observed",
}

// BuiltinProfiles are the defaults shipped for the RAID, SAS and Fibre
// Channel drivers in Talos's kernel, and for the fast local controllers
// beside them. The RAID/HBA/FC list is every such driver that
// siderolabs/pkgs v1.13.0 builds for amd64 or arm64 (kernel/build/config-*,
// all =m); docs/drivers.md gives the config symbols and what was left out.
// Driver is the PCI driver's name, which for each of them is also the
// module's name, so the udev rule's KERNEL== list names the same drivers.
// The values rest on published driver behaviour until `raid-settle certify`
// measures a real controller; a certified profile for the same driver and
// PCI id wins.
var BuiltinProfiles = []Profile{
	{
		Driver: "megaraid_sas", Quiet: Seconds(8), MaxQuiet: Seconds(40), GapFactor: 2,
		Why: "MegaRAID firmware reports logical drives after the driver's probe returns when async_probe is set or the firmware is still initialising; gaps of several seconds between volumes are normal",
	},
	{
		Driver: "mpt3sas", Quiet: Seconds(12), MaxQuiet: Seconds(60), GapFactor: 2.5,
		Why: "SAS HBAs discover their topology asynchronously after probe: expanders and large JBODs add devices over tens of seconds",
	},
	{
		Driver: "mpi3mr", Quiet: Seconds(12), MaxQuiet: Seconds(60), GapFactor: 2.5,
		Why: "Broadcom MPI 3.0 controllers (MegaRAID and HBA 9600, Dell PERC 12) report devices through firmware events handled after the IOC is up, like mpt3sas; behind expanders devices keep arriving over tens of seconds (CONFIG_SCSI_MPI3MR)",
	},
	{
		Driver: "mptsas", Quiet: Seconds(10), MaxQuiet: Seconds(45), GapFactor: 2.5,
		Why: "the older Fusion-MPT SAS HBAs discover ports asynchronously, like mpt3sas but slower",
	},
	{
		Driver: "smartpqi", Quiet: Seconds(10), MaxQuiet: Seconds(45), GapFactor: 2,
		Why: "Microchip/HPE SmartPQI controllers scan logical drives in a worker after probe and rescan on firmware events",
	},
	{
		Driver: "hpsa", Quiet: Seconds(10), MaxQuiet: Seconds(45), GapFactor: 2,
		Why: "HPE Smart Array (hpsa) scans its logical drives after controller init, which can take seconds after a cold start",
	},
	{
		Driver: "aacraid", Quiet: Seconds(10), MaxQuiet: Seconds(45), GapFactor: 2,
		Why: "Adaptec firmware brings containers online after the adapter's init, seconds after the driver loads",
	},
	{
		Driver: "isci", Quiet: Seconds(8), MaxQuiet: Seconds(40), GapFactor: 2.5,
		Why: "Intel C600 SAS (amd64 only, CONFIG_SCSI_ISCI): libsas discovers the domain in a workqueue once the phys link up, which the controller staggers; an expander adds devices over seconds",
	},
	{
		Driver: "hisi_sas_v3_hw", Quiet: Seconds(8), MaxQuiet: Seconds(40), GapFactor: 2.5,
		Why: "HiSilicon SAS v3 (arm64 Kunpeng, CONFIG_SCSI_HISI_SAS_PCI): libsas discovers the domain in a workqueue once the phys link up; an expander adds devices over seconds",
	},
	{
		Driver: "qla2xxx", Quiet: Seconds(15), MaxQuiet: Seconds(60), GapFactor: 3,
		Why: "QLogic FC HBAs: LUNs appear only after the firmware has loaded, the link is up, the fabric login and the name-server and port-database scans are done, then each target's LUNs are scanned; that takes seconds to tens of seconds, with long gaps between targets",
	},
	{
		Driver: "lpfc", Quiet: Seconds(15), MaxQuiet: Seconds(60), GapFactor: 3,
		Why: "Emulex FC HBAs: link up, fabric login and discovery of remote ports run in the driver's worker after probe; LUNs appear per target, seconds to tens of seconds after the driver loads",
	},
	{
		Driver: "qedf", Quiet: Seconds(15), MaxQuiet: Seconds(60), GapFactor: 3,
		Why: "QLogic FastLinQ FCoE: FIP VLAN and FCF discovery on the Ethernet link come before the fabric login and the target scan, so LUNs arrive later than on a native FC HBA",
	},
	{
		Driver: "fnic", Quiet: Seconds(15), MaxQuiet: Seconds(60), GapFactor: 3,
		Why: "Cisco VIC FCoE vHBAs (amd64 only): the vHBA logs into the fabric through the fabric interconnect after probe, then remote ports and their LUNs are discovered; seconds to tens of seconds",
	},
	{
		Driver: "ahci", Quiet: Seconds(2), MaxQuiet: Seconds(4), GapFactor: 2,
		Why: "AHCI ports link up within about a second of probe; empty ports are common, so the window for a controller without disks stays short",
	},
	{
		Driver: "nvme", Quiet: Seconds(2), MaxQuiet: Seconds(10), GapFactor: 2,
		Why: "NVMe namespaces appear right after the controller's asynchronous reset, well within a second or two",
	},
	{
		Driver: "virtio-pci", Quiet: Seconds(1), MaxQuiet: Seconds(5), GapFactor: 2,
		Why: "virtual disks are there as soon as the device is",
	},
}

// Profiles is an ordered set of profiles: the first match wins.
type Profiles []Profile

// For returns the profile for a controller bound to driver with PCI id
// "vvvv:dddd": a profile naming the PCI id first, then the driver's, then
// DefaultProfile.
func (ps Profiles) For(driver, pciID string) Profile {
	if driver == "" {
		return DefaultProfile
	}

	for _, p := range ps {
		if len(p.PCIIDs) > 0 && p.Matches(driver, pciID) {
			return p
		}
	}

	for _, p := range ps {
		if len(p.PCIIDs) == 0 && p.Matches(driver, pciID) {
			return p
		}
	}

	return DefaultProfile
}

// LoadProfiles reads every *.json file in dir (a profile or a list of
// profiles each) and returns them ahead of base, so loaded profiles win. A
// missing dir is not an error: there is nothing to load.
func LoadProfiles(dir string, base Profiles) (Profiles, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return base, err
	}

	var loaded Profiles

	for _, file := range files {
		ps, err := readProfiles(file)
		if err != nil {
			return base, err
		}

		loaded = append(loaded, ps...)
	}

	return append(loaded, base...), nil
}

func readProfiles(file string) (Profiles, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}

	var ps Profiles

	if trimmed := strings.TrimSpace(string(data)); strings.HasPrefix(trimmed, "[") {
		err = json.Unmarshal(data, &ps)
	} else {
		var p Profile

		err = json.Unmarshal(data, &p)
		ps = Profiles{p}
	}

	if err != nil {
		return nil, fmt.Errorf("failed to parse profile %s: %w", file, err)
	}

	for _, p := range ps {
		if p.Quiet.D() <= 0 || p.GapFactor < 0 || p.MaxQuiet.D() < 0 {
			return nil, fmt.Errorf("profile %s for %q: quiet must be positive, max_quiet and gap_factor not negative", file, p.Driver)
		}
	}

	return ps, nil
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("8s", "1m30s").
type Duration time.Duration

// Seconds returns n seconds as a Duration.
func Seconds(n float64) Duration { return Duration(n * float64(time.Second)) }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}

	*d = Duration(v)

	return nil
}
