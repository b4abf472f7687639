package udev

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/raid-settle/raid-settle/internal/fstree"
)

// Devpaths of the fake machine in testdata/sysfs.txt.
const (
	virtioPCI   = "/devices/pci0000:00/0000:00:02.0"
	megaraidPCI = "/devices/pci0000:00/0000:00:04.0"
	nvmePCI     = "/devices/pci0000:00/0000:00:05.0"
	host0       = megaraidPCI + "/host0"
	sdaPath     = host0 + "/target0:2:0/0:2:0:0/block/sda"
	sda5Path    = sdaPath + "/sda5"
	vdaPath     = virtioPCI + "/virtio1/block/vda"
	nvmeDisk    = nvmePCI + "/nvme/nvme0/nvme0n1"
	loop0Path   = "/devices/virtual/block/loop0"
)

// buildSysfs builds the fake sysfs described by testdata/NAME, followed by
// the extra entries (see fstree.Build), and returns its root.
func buildSysfs(t testing.TB, name string, extra ...string) string {
	t.Helper()

	return fstree.Build(t, filepath.Join("testdata", name), extra...)
}

var walkTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sysfsEvent(subsystem, devpath, devtype, driver, devname string, env map[string]string) Event {
	return Event{
		Action: ActionAdd, DevPath: devpath, Subsystem: subsystem, DevType: devtype, Driver: driver,
		DevName: devname, Env: env, Received: walkTime, Source: SourceSysfs,
	}
}

func pciEnv(class, id, subsys, slot, modalias string) map[string]string {
	return map[string]string{"PCI_CLASS": class, "PCI_ID": id, "PCI_SUBSYS_ID": subsys, "PCI_SLOT_NAME": slot, "MODALIAS": modalias}
}

func blockEnv(major, minor, diskseq string, part ...string) map[string]string {
	env := map[string]string{"MAJOR": major, "MINOR": minor, "DISKSEQ": diskseq}
	if len(part) == 2 {
		env["PARTN"], env["PARTNAME"] = part[0], part[1]
	}

	return env
}

// fakeMachineEvents is what Walk must return for testdata/sysfs.txt.
func fakeMachineEvents() []Event {
	events := []Event{
		sysfsEvent("pci", virtioPCI, "", "virtio-pci", "",
			pciEnv("18000", "1AF4:1042", "1AF4:1100", "0000:00:02.0", "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc80i00")),
		sysfsEvent("pci", megaraidPCI, "", "megaraid_sas", "",
			pciEnv("10400", "1000:0060", "1000:1013", "0000:00:04.0", "pci:v00001000d00000060sv00001000sd00001013bc01sc04i00")),
		sysfsEvent("pci", nvmePCI, "", "nvme", "",
			pciEnv("10802", "1B36:0010", "1AF4:1100", "0000:00:05.0", "pci:v00001B36d00000010sv00001AF4sd00001100bc01sc08i02")),
		sysfsEvent("scsi", host0, "scsi_host", "", "", nil),
		sysfsEvent("block", vdaPath, "disk", "", "vda", blockEnv("254", "0", "9")),
		sysfsEvent("block", sdaPath, "disk", "", "sda", blockEnv("8", "0", "1")),
	}

	for i, name := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
		n := string(rune('1' + i))
		events = append(events, sysfsEvent("block", sdaPath+"/sda"+n, "partition", "", "sda"+n, blockEnv("8", n, "1", n, name)))
	}

	return append(events,
		sysfsEvent("block", nvmeDisk, "disk", "", "nvme0n1", blockEnv("259", "0", "2")),
		sysfsEvent("block", loop0Path, "disk", "", "loop0", blockEnv("7", "0", "16")),
	)
}

func TestWalkFakeMachine(t *testing.T) {
	root := buildSysfs(t, "sysfs.txt")

	got, err := Walk(root, walkTime)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}

	if diff := cmp.Diff(fakeMachineEvents(), got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestWalkSkipsVanishedDevices(t *testing.T) {
	root := buildSysfs(t, "sysfs.txt",
		// A disk whose directory went away between the listing and the read.
		"-- class/block/sdb -> ../../devices/pci0000:00/0000:00:04.0/host0/target0:2:1/0:2:1:0/block/sdb --",
		// A partition whose uevent attribute is gone (the directory is being torn down).
		"-- class/block/sdc1 -> ../../devices/virtual/block/sdc/sdc1 --",
		"-- devices/virtual/block/sdc/sdc1/size --",
		"0",
		// A controller in the same state.
		"-- bus/pci/devices/0000:00:06.0 -> ../../../devices/pci0000:00/0000:00:06.0 --",
	)

	got, err := Walk(root, walkTime)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}

	if diff := cmp.Diff(fakeMachineEvents(), got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestWalkFallsBackToClassAttribute(t *testing.T) {
	// A SATA controller whose uevent file lacks PCI_CLASS and DRIVER (the
	// attribute and the driver link still tell).
	root := buildSysfs(t, "sysfs.txt",
		"-- bus/pci/devices/0000:00:1f.2 -> ../../../devices/pci0000:00/0000:00:1f.2 --",
		"-- bus/pci/drivers/ahci/ --",
		"-- devices/pci0000:00/0000:00:1f.2/uevent --",
		"PCI_SLOT_NAME=0000:00:1f.2",
		"-- devices/pci0000:00/0000:00:1f.2/class --",
		"0x010601",
		"-- devices/pci0000:00/0000:00:1f.2/driver -> ../../../bus/pci/drivers/ahci --",
	)

	got, err := Walk(root, walkTime)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}

	want := sysfsEvent("pci", "/devices/pci0000:00/0000:00:1f.2", "", "ahci", "",
		map[string]string{"PCI_CLASS": "10601", "PCI_SLOT_NAME": "0000:00:1f.2"})
	if diff := cmp.Diff(want, got[3]); diff != "" {
		t.Fatalf("event 3 (-want +got):\n%s", diff)
	}

	if c, ok := ControllerFromEvent(got[3]); !ok || c.Kind != KindSATA {
		t.Fatalf("ControllerFromEvent = %+v, %v; want a SATA controller", c, ok)
	}
}

func TestWalkReportsLinksOutsideDevices(t *testing.T) {
	root := buildSysfs(t, "sysfs.txt",
		"-- class/block/evil -> ../../bus/pci --",
		"-- class/block/abs -> /etc --",
	)

	got, err := Walk(root, walkTime)
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("Walk error = %v, want one about a link outside /devices", err)
	}

	// Everything else is still listed.
	if diff := cmp.Diff(fakeMachineEvents(), got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestWalkMissingRoot(t *testing.T) {
	_, err := Walk(filepath.Join(t.TempDir(), "nope"), walkTime)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Walk error = %v, want fs.ErrNotExist", err)
	}
}

func TestWalkEmptySysfs(t *testing.T) {
	// A machine without PCI or SCSI (some ARM boards): no error, no event.
	got, err := Walk(t.TempDir(), walkTime)
	if err != nil || len(got) != 0 {
		t.Fatalf("Walk = %v, %v; want nothing", got, err)
	}
}

func TestWalkThroughSymlinkedRoot(t *testing.T) {
	root := buildSysfs(t, "sysfs.txt")
	link := filepath.Join(t.TempDir(), "sys")

	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}

	got, err := Walk(link, walkTime)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(fakeMachineEvents(), got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestTakeSnapshot(t *testing.T) {
	root := buildSysfs(t, "sysfs.txt")

	got, err := TakeSnapshot(root)
	if err != nil {
		t.Fatalf("TakeSnapshot: %v", err)
	}

	const gib = 1 << 30

	want := &Snapshot{
		Controllers: []Controller{
			{DevPath: virtioPCI, Address: "0000:00:02.0", Kind: KindOther, Class: 0x018000, Driver: "virtio-pci",
				Vendor: 0x1af4, Device: 0x1042, SubVendor: 0x1af4, SubDevice: 0x1100},
			{DevPath: megaraidPCI, Address: "0000:00:04.0", Kind: KindRAID, Class: 0x010400, Driver: "megaraid_sas",
				Vendor: 0x1000, Device: 0x0060, SubVendor: 0x1000, SubDevice: 0x1013},
			{DevPath: nvmePCI, Address: "0000:00:05.0", Kind: KindNVMe, Class: 0x010802, Driver: "nvme",
				Vendor: 0x1b36, Device: 0x0010, SubVendor: 0x1af4, SubDevice: 0x1100},
		},
		Blocks: []BlockDevice{
			{Name: "vda", DevPath: vdaPath, Size: 256 * gib, Controller: virtioPCI},
			{Name: "sda", DevPath: sdaPath, Size: 10 * gib, Controller: megaraidPCI},
			{Name: "sda1", DevPath: sdaPath + "/sda1", Partition: true, PartName: "EFI", PartNumber: 1, Size: 100 << 20, Controller: megaraidPCI},
			{Name: "sda2", DevPath: sdaPath + "/sda2", Partition: true, PartName: "BIOS", PartNumber: 2, Size: 1 << 20, Controller: megaraidPCI},
			{Name: "sda3", DevPath: sdaPath + "/sda3", Partition: true, PartName: "BOOT", PartNumber: 3, Size: 1000 << 20, Controller: megaraidPCI},
			{Name: "sda4", DevPath: sdaPath + "/sda4", Partition: true, PartName: "META", PartNumber: 4, Size: 1 << 20, Controller: megaraidPCI},
			{Name: "sda5", DevPath: sda5Path, Partition: true, PartName: "STATE", PartNumber: 5, Size: 100 << 20, Controller: megaraidPCI},
			{Name: "sda6", DevPath: sdaPath + "/sda6", Partition: true, PartName: "EPHEMERAL", PartNumber: 6, Size: 18507776 * 512, Controller: megaraidPCI},
			{Name: "nvme0n1", DevPath: nvmeDisk, Size: 1 * gib, Controller: nvmePCI},
			{Name: "loop0", DevPath: loop0Path},
		},
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
}

func TestTakeSnapshotJSON(t *testing.T) {
	snap := &Snapshot{
		Controllers: []Controller{{DevPath: megaraidPCI, Address: "0000:00:04.0", Kind: KindRAID, Class: 0x010400,
			Driver: "megaraid_sas", Vendor: 0x1000, Device: 0x0060, SubVendor: 0x1000, SubDevice: 0x1013}},
		Blocks: []BlockDevice{{Name: "sda5", DevPath: sda5Path, Partition: true, PartName: "STATE", PartNumber: 5,
			Size: 100 << 20, Controller: megaraidPCI}},
	}

	got, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}

	want := `{"controllers":[{"devpath":"/devices/pci0000:00/0000:00:04.0","address":"0000:00:04.0","kind":"raid",` +
		`"class":66560,"driver":"megaraid_sas","vendor":4096,"device":96,"sub_vendor":4096,"sub_device":4115}],` +
		`"blocks":[{"name":"sda5","devpath":"` + sda5Path + `","partition":true,"part_name":"STATE",` +
		`"part_number":5,"size":104857600,"controller":"/devices/pci0000:00/0000:00:04.0"}]}`
	if string(got) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", got, want)
	}
}

// TestWalkRealSysfs runs TakeSnapshot on this machine's /sys: every block
// device listed in /sys/class/block both before and after it (other
// processes add and remove loop devices meanwhile) must be in the snapshot.
func TestWalkRealSysfs(t *testing.T) {
	list := func() map[string]bool {
		entries, err := os.ReadDir("/sys/class/block")
		if err != nil {
			t.Skipf("no sysfs here: %v", err)
		}

		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name()] = true
		}

		return names
	}

	before := list()

	snap, err := TakeSnapshot("")
	if err != nil {
		t.Fatalf("TakeSnapshot(/sys): %v", err)
	}

	after := list()
	listed := map[string]bool{}

	for _, b := range snap.Blocks {
		listed[b.Name] = true
		t.Logf("%-10s %14d bytes  controller %q", b.Name, b.Size, b.Controller)
	}

	for name := range before {
		if after[name] && !listed[name] {
			t.Errorf("%s is in /sys/class/block but not in the snapshot", name)
		}
	}

	for _, c := range snap.Controllers {
		t.Logf("controller %s %s class %06x driver %q %04x:%04x", c.Address, c.Kind, c.Class, c.Driver, c.Vendor, c.Device)
	}
}

// The devpaths of testdata/sysfs-fc.txt.
const (
	qlaPCI   = "/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0"
	qlaHost  = qlaPCI + "/host2"
	qlaLUN   = qlaHost + "/rport-2:0-0/target2:0:0/2:0:0:0/block/sdb"
	lpfcPCI  = "/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0"
	xhciPCI  = "/devices/pci0000:00/0000:00:14.0"
	usbHost  = xhciPCI + "/usb2/2-3/2-3:1.0/host4"
	usbStick = usbHost + "/target4:0:0/4:0:0:0/block/sdc"
)

func TestWalkFibreChannel(t *testing.T) {
	// FC HBAs announce the serial bus class 0x0c04, not mass storage: Walk
	// must list them as controllers, and still skip the USB controller of
	// the same base class and the PCIe root port.
	root := buildSysfs(t, "sysfs-fc.txt")

	got, err := Walk(root, walkTime)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}

	want := []Event{
		sysfsEvent("pci", qlaPCI, "", "qla2xxx", "",
			pciEnv("C0400", "1077:2261", "1077:029B", "0000:3b:00.0", "pci:v00001077d00002261sv00001077sd0000029Bbc0Csc04i00")),
		sysfsEvent("pci", lpfcPCI, "", "lpfc", "",
			pciEnv("C0400", "10DF:E300", "10DF:E310", "0000:5e:00.0", "pci:v000010DFd0000E300sv000010DFsd0000E310bc0Csc04i00")),
		sysfsEvent("scsi", usbHost, "scsi_host", "", "", nil),
		sysfsEvent("scsi", qlaHost, "scsi_host", "", "", nil),
		sysfsEvent("scsi", lpfcPCI+"/host3", "scsi_host", "", "", nil),
		sysfsEvent("block", usbStick, "disk", "", "sdc", blockEnv("8", "32", "4")),
		sysfsEvent("block", qlaLUN, "disk", "", "sdb", blockEnv("8", "16", "3")),
		sysfsEvent("block", qlaLUN+"/sdb5", "partition", "", "sdb5", blockEnv("8", "21", "3", "5", "STATE")),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func TestTakeSnapshotFibreChannel(t *testing.T) {
	root := buildSysfs(t, "sysfs-fc.txt")

	got, err := TakeSnapshot(root)
	if err != nil {
		t.Fatalf("TakeSnapshot: %v", err)
	}

	want := &Snapshot{
		Controllers: []Controller{
			{DevPath: qlaPCI, Address: "0000:3b:00.0", Kind: KindFC, Class: 0x0c0400, Driver: "qla2xxx",
				Vendor: 0x1077, Device: 0x2261, SubVendor: 0x1077, SubDevice: 0x029b},
			{DevPath: lpfcPCI, Address: "0000:5e:00.0", Kind: KindFC, Class: 0x0c0400, Driver: "lpfc",
				Vendor: 0x10df, Device: 0xe300, SubVendor: 0x10df, SubDevice: 0xe310},
		},
		Blocks: []BlockDevice{
			// The USB stick belongs to no storage controller.
			{Name: "sdc", DevPath: usbStick, Size: 60063744 * 512},
			// The SAN LUN hangs off the HBA, through its remote port.
			{Name: "sdb", DevPath: qlaLUN, Size: 20 << 30, Controller: qlaPCI},
			{Name: "sdb5", DevPath: qlaLUN + "/sdb5", Partition: true, PartName: "STATE", PartNumber: 5, Size: 100 << 20, Controller: qlaPCI},
		},
	}

	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
}
