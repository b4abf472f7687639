package udev

import (
	"reflect"
	"testing"
)

func TestClassifyPCIClass(t *testing.T) {
	for _, tc := range []struct {
		class uint32
		want  Kind
	}{
		{0x010400, KindRAID},  // megaraid_sas, smartpqi, hpsa, aacraid
		{0x010700, KindSAS},   // mpt3sas
		{0x010701, KindSAS},   // SAS serial storage bus
		{0x010000, KindSCSI},  // sym53c8xx, virtio-scsi
		{0x010601, KindSATA},  // AHCI 1.0
		{0x010600, KindSATA},  // vendor-specific SATA interface
		{0x010802, KindNVMe},  // NVM Express
		{0x010803, KindNVMe},  // NVMe administrative controller
		{0x0c0400, KindFC},    // qla2xxx, lpfc, fnic: serial bus, Fibre Channel
		{0x018000, KindOther}, // virtio-blk
		{0x010185, KindOther}, // IDE
		{0x020000, KindOther}, // Ethernet
		{0x060000, KindOther}, // host bridge
		{0x0c0330, KindOther}, // USB xHCI
		{0x0c0600, KindOther}, // InfiniBand
		{0, KindOther},
		{0xff010400, KindRAID}, // only bits 8..23 count
	} {
		if got := ClassifyPCIClass(tc.class); got != tc.want {
			t.Errorf("ClassifyPCIClass(%#x) = %q, want %q", tc.class, got, tc.want)
		}
	}
}

func TestIsStorageClass(t *testing.T) {
	for class, want := range map[uint32]bool{
		0x010400: true, 0x018000: true, 0x010802: true, 0x010700: true, 0x0c0400: true, 0x0c0401: true,
		0x020000: false, 0x0c0330: false, 0x0c0300: false, 0x0c0600: false, 0x0c0500: false, 0x040400: false,
		0x01010400: false, 0x010c0400: false,
	} {
		if got := IsStorageClass(class); got != want {
			t.Errorf("IsStorageClass(%#x) = %v, want %v", class, got, want)
		}
	}
}

func pciUevent(action Action, devpath, driver string, env map[string]string) Event {
	return Event{Action: action, DevPath: devpath, Subsystem: "pci", Driver: driver, Env: env, Source: SourceNetlink}
}

func TestControllerFromEvent(t *testing.T) {
	megaraid := Controller{DevPath: megaraidPCI, Address: "0000:00:04.0", Kind: KindRAID, Class: 0x010400,
		Driver: "megaraid_sas", Vendor: 0x1000, Device: 0x0060, SubVendor: 0x1000, SubDevice: 0x1013}
	megaraidEnv := pciEnv("10400", "1000:0060", "1000:1013", "0000:00:04.0", "pci:v00001000d00000060sv00001000sd00001013bc01sc04i00")

	unbound := megaraid
	unbound.Driver = ""

	for _, tc := range []struct {
		name string
		ev   Event
		want Controller
		ok   bool
	}{
		{"megaraid bind", pciUevent(ActionBind, megaraidPCI, "megaraid_sas", megaraidEnv), megaraid, true},
		{"megaraid add before the driver binds", pciUevent(ActionAdd, megaraidPCI, "", megaraidEnv), unbound, true},
		{"megaraid unbind carries no driver", pciUevent(ActionUnbind, megaraidPCI, "", megaraidEnv), unbound, true},
		{"megaraid remove", pciUevent(ActionRemove, megaraidPCI, "megaraid_sas", megaraidEnv), megaraid, true},
		{
			"slot name missing: from the devpath",
			pciUevent(ActionAdd, "/devices/pci0000:00/0000:00:1f.2", "ahci", map[string]string{"PCI_CLASS": "10601", "PCI_ID": "8086:2922"}),
			Controller{DevPath: "/devices/pci0000:00/0000:00:1f.2", Address: "0000:00:1f.2", Kind: KindSATA, Class: 0x010601,
				Driver: "ahci", Vendor: 0x8086, Device: 0x2922},
			true,
		},
		{
			"malformed ids are zero",
			pciUevent(ActionAdd, nvmePCI, "nvme", map[string]string{"PCI_CLASS": "10802", "PCI_ID": "zz:0010", "PCI_SUBSYS_ID": "1AF4"}),
			Controller{DevPath: nvmePCI, Address: "0000:00:05.0", Kind: KindNVMe, Class: 0x010802, Driver: "nvme"},
			true,
		},
		{
			"qla2xxx: Fibre Channel is serial bus class 0x0c04",
			pciUevent(ActionBind, "/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0", "qla2xxx",
				pciEnv("C0400", "1077:2261", "1077:029B", "0000:3b:00.0", "pci:v00001077d00002261sv00001077sd0000029Bbc0Csc04i00")),
			Controller{DevPath: "/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0", Address: "0000:3b:00.0", Kind: KindFC, Class: 0x0c0400,
				Driver: "qla2xxx", Vendor: 0x1077, Device: 0x2261, SubVendor: 0x1077, SubDevice: 0x029b},
			true,
		},
		{
			"lpfc before the driver binds",
			pciUevent(ActionAdd, "/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0", "",
				pciEnv("C0400", "10DF:E300", "10DF:E310", "0000:5e:00.0", "pci:v000010DFd0000E300sv000010DFsd0000E310bc0Csc04i00")),
			Controller{DevPath: "/devices/pci0000:5d/0000:5d:00.0/0000:5e:00.0", Address: "0000:5e:00.0", Kind: KindFC, Class: 0x0c0400,
				Vendor: 0x10df, Device: 0xe300, SubVendor: 0x10df, SubDevice: 0xe310},
			true,
		},
		{
			// Cisco VIC FCoE vHBA; the subsystem id is illustrative.
			"fnic vHBA",
			pciUevent(ActionBind, "/devices/pci0000:00/0000:00:03.0/0000:08:00.0", "fnic",
				pciEnv("C0400", "1137:0045", "1137:012C", "0000:08:00.0", "pci:v00001137d00000045sv00001137sd0000012Cbc0Csc04i00")),
			Controller{DevPath: "/devices/pci0000:00/0000:00:03.0/0000:08:00.0", Address: "0000:08:00.0", Kind: KindFC, Class: 0x0c0400,
				Driver: "fnic", Vendor: 0x1137, Device: 0x0045, SubVendor: 0x1137, SubDevice: 0x012c},
			true,
		},
		{
			// MPI 3.0 (SAS4116, 1000:00a5); the subsystem id is illustrative.
			"mpi3mr",
			pciUevent(ActionBind, "/devices/pci0000:17/0000:17:02.0/0000:18:00.0", "mpi3mr",
				pciEnv("10400", "1000:00A5", "1000:4620", "0000:18:00.0", "pci:v00001000d000000A5sv00001000sd00004620bc01sc04i00")),
			Controller{DevPath: "/devices/pci0000:17/0000:17:02.0/0000:18:00.0", Address: "0000:18:00.0", Kind: KindRAID, Class: 0x010400,
				Driver: "mpi3mr", Vendor: 0x1000, Device: 0x00a5, SubVendor: 0x1000, SubDevice: 0x4620},
			true,
		},
		{
			// HiSilicon SAS v3 (Kunpeng 920), a PCI function on the SoC's root bus;
			// the subsystem id is illustrative.
			"hisi_sas_v3_hw",
			pciUevent(ActionBind, "/devices/pci0000:74/0000:74:02.0", "hisi_sas_v3_hw",
				pciEnv("10700", "19E5:A230", "19E5:0000", "0000:74:02.0", "pci:v000019E5d0000A230sv000019E5sd00000000bc01sc07i00")),
			Controller{DevPath: "/devices/pci0000:74/0000:74:02.0", Address: "0000:74:02.0", Kind: KindSAS, Class: 0x010700,
				Driver: "hisi_sas_v3_hw", Vendor: 0x19e5, Device: 0xa230, SubVendor: 0x19e5},
			true,
		},
		{"network card", pciUevent(ActionAdd, "/devices/pci0000:00/0000:00:03.0", "e1000e", map[string]string{"PCI_CLASS": "20000"}), Controller{}, false},
		{"usb controller", pciUevent(ActionBind, "/devices/pci0000:00/0000:00:1d.0", "xhci_hcd", map[string]string{"PCI_CLASS": "C0330"}), Controller{}, false},
		{"infiniband hca", pciUevent(ActionBind, "/devices/pci0000:00/0000:00:1e.0", "ib_qib", map[string]string{"PCI_CLASS": "C0600"}), Controller{}, false},
		{"no PCI_CLASS", pciUevent(ActionAdd, megaraidPCI, "", nil), Controller{}, false},
		{"garbled PCI_CLASS", pciUevent(ActionAdd, megaraidPCI, "", map[string]string{"PCI_CLASS": "RAID"}), Controller{}, false},
		{"class too wide", pciUevent(ActionAdd, megaraidPCI, "", map[string]string{"PCI_CLASS": "1010400"}), Controller{}, false},
		{
			"not pci",
			Event{Action: ActionAdd, DevPath: host0, Subsystem: "scsi", Env: map[string]string{"PCI_CLASS": "10400"}},
			Controller{}, false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ControllerFromEvent(tc.ev)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("ControllerFromEvent = %+v, %v\nwant %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestControllerFor(t *testing.T) {
	ctls := []Controller{
		{DevPath: megaraidPCI},
		{DevPath: nvmePCI},
		// A storage function behind a bridge that is itself listed: the nearest wins.
		{DevPath: "/devices/pci0000:00/0000:00:1c.0"},
		{DevPath: "/devices/pci0000:00/0000:00:1c.0/0000:01:00.0"},
		{DevPath: ""}, // never matches everything
	}

	for devpath, want := range map[string]string{
		sda5Path:    megaraidPCI,
		sdaPath:     megaraidPCI,
		host0:       megaraidPCI,
		megaraidPCI: megaraidPCI, // the controller's own events
		nvmeDisk:    nvmePCI,
		"/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/host3/target3:0:0/3:0:0:0/block/sdc": "/devices/pci0000:00/0000:00:1c.0/0000:01:00.0",
		"/devices/pci0000:00/0000:00:04.00/block/sdz":                                       "", // a sibling sharing a prefix
		"/devices/pci0000:00/0000:00:04":                                                    "", // an ancestor
		loop0Path:                                                                           "",
		vdaPath:                                                                             "", // virtio not in the list
		"":                                                                                  "",
		"/module/megaraid_sas":                                                              "",
	} {
		if got := ControllerFor(devpath, ctls); got != want {
			t.Errorf("ControllerFor(%q) = %q, want %q", devpath, got, want)
		}
	}

	if got := ControllerFor(sda5Path, nil); got != "" {
		t.Errorf("ControllerFor with no controllers = %q", got)
	}
}

func TestControllerForSnapshotMatchesWalk(t *testing.T) {
	// Every block event Walk returns gets the controller TakeSnapshot gives it.
	root := buildSysfs(t, "sysfs.txt")

	events, err := Walk(root, walkTime)
	if err != nil {
		t.Fatal(err)
	}

	var ctls []Controller

	for _, ev := range events {
		if c, ok := ControllerFromEvent(ev); ok {
			ctls = append(ctls, c)
		}
	}

	snap, err := TakeSnapshot(root)
	if err != nil {
		t.Fatal(err)
	}

	if !reflect.DeepEqual(ctls, snap.Controllers) {
		t.Fatalf("controllers differ:\n%+v\n%+v", ctls, snap.Controllers)
	}

	for _, b := range snap.Blocks {
		if got := ControllerFor(b.DevPath, ctls); got != b.Controller {
			t.Errorf("%s: ControllerFor = %q, snapshot says %q", b.Name, got, b.Controller)
		}
	}
}
