package e2e

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVMDevices(t *testing.T) {
	vm := &VM{Controllers: []Controller{
		{Bus: BusMegasas, Disks: []Drive{{Image: "/i/blank.img"}}},
		{Bus: BusMegasas, HotplugAfter: 20 * time.Second, Disks: []Drive{{Image: "/i/state.img", Blkdebug: "/r/eio.conf"}}},
		{Bus: BusAHCI, Disks: []Drive{{Image: "/i/state.img"}}},
		{Bus: BusVirtio, Disks: []Drive{{Image: "/i/state.img"}}},
	}}

	args, hotplug := vm.devices()

	wantArgs := []string{
		"-drive", "if=none,id=c0-d0,format=raw,readonly=on,file=/i/blank.img",
		"-device", "megasas,id=c0",
		"-device", "scsi-hd,id=c0-d0-hd,drive=c0-d0,bus=c0.0,scsi-id=0",
		// The late controller's drive exists from the start; its devices
		// come through QMP.
		"-drive", "if=none,id=c1-d0,format=raw,readonly=on,file=blkdebug:/r/eio.conf:/i/state.img",
		"-drive", "if=none,id=c2-d0,format=raw,snapshot=on,file=/i/state.img",
		"-device", "ahci,id=c2",
		"-device", "ide-hd,id=c2-d0-hd,drive=c2-d0,bus=c2.0",
		"-drive", "if=none,id=c3-d0,format=raw,readonly=on,file=/i/state.img",
		"-device", "virtio-blk-pci,id=c3-d0-hd,drive=c3-d0",
	}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", args, wantArgs)
	}

	wantPlug := []PlugGroup{{After: 20 * time.Second, Devs: []map[string]any{
		{"driver": "megasas", "id": "c1"},
		{"driver": "scsi-hd", "id": "c1-d0-hd", "drive": "c1-d0", "bus": "c1.0", "scsi-id": 0},
	}}}
	if !reflect.DeepEqual(hotplug, wantPlug) {
		t.Errorf("hot-plug:\n got %v\nwant %v", hotplug, wantPlug)
	}
}

func TestVMArgs(t *testing.T) {
	vm := &VM{Kernel: "vmlinux", Initrd: "initrd", Append: "console=ttyS0", Dir: "/r"}
	args := strings.Join(vm.Args(), " ")

	for _, want := range []string{
		"-accel tcg", "-kernel vmlinux", "-initrd initrd", "-append console=ttyS0", "-no-reboot",
		"-serial chardev:console", "-serial chardev:records", "-qmp unix:/r/qmp.sock,server=on,wait=off",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("QEMU arguments lack %q: %s", want, args)
		}
	}
}

func TestVMDevicesNVMeLateHang(t *testing.T) {
	vm := &VM{Controllers: []Controller{
		{Bus: BusMegasas, DisksAfter: time.Second, Disks: []Drive{{Image: "/i/blank.img"}, {Image: "/i/state.img", Late: true}}},
		{Bus: BusNVMeMultipath, Disks: []Drive{{Image: "/i/state.img"}}},
		{Bus: BusVirtio, Disks: []Drive{{Image: "/i/blank.img", Hang: true}}},
	}}

	args, hotplug := vm.devices()

	wantArgs := []string{
		"-drive", "if=none,id=c0-d0,format=raw,readonly=on,file=/i/blank.img",
		"-drive", "if=none,id=c0-d1,format=raw,readonly=on,file=/i/state.img",
		// The controller and its first disk are there at boot; the disk
		// marked late comes through QMP.
		"-device", "megasas,id=c0",
		"-device", "scsi-hd,id=c0-d0-hd,drive=c0-d0,bus=c0.0,scsi-id=0",
		"-drive", "if=none,id=c1-d0,format=raw,readonly=on,file=/i/state.img",
		"-device", "nvme-subsys,id=c1,nqn=raid-settle-e2e-c1",
		"-device", "nvme,id=c1-p0,serial=rsc1,subsys=c1",
		"-device", "nvme,id=c1-p1,serial=rsc1,subsys=c1",
		"-device", "nvme-ns,id=c1-d0-ns,drive=c1-d0,bus=c1-p0,nsid=1,shared=on",
		// A hung disk has blkdebug under it with no rule: the harness sets
		// a breakpoint later.
		"-drive", "if=none,id=c2-d0,format=raw,readonly=on,file=blkdebug::/i/blank.img",
		"-device", "virtio-blk-pci,id=c2-d0-hd,drive=c2-d0",
	}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("args:\n got %q\nwant %q", args, wantArgs)
	}

	wantPlug := []PlugGroup{{After: time.Second, Devs: []map[string]any{
		{"driver": "scsi-hd", "id": "c0-d1-hd", "drive": "c0-d1", "bus": "c0.0", "scsi-id": 1},
	}}}
	if !reflect.DeepEqual(hotplug, wantPlug) {
		t.Errorf("hot-plug:\n got %v\nwant %v", hotplug, wantPlug)
	}
}

func TestVMDevicesVirtioSCSIStaggered(t *testing.T) {
	const size = 1 << 20

	disks := []Drive{{Null: true, Size: size}, {Null: true, Size: size, PlugAfter: 5 * time.Second}}
	for range 255 {
		disks = append(disks, Drive{Null: true, Size: size})
	}

	disks = append(disks, Drive{Image: "/i/state.img", PlugAfter: 5 * time.Second}, Drive{Null: true, Size: size, PlugAfter: 10 * time.Second})

	vm := &VM{Controllers: []Controller{{Bus: BusVirtioSCSI, Disks: disks}}}
	args, hotplug := vm.devices()
	joined := strings.Join(args, " ")

	for _, want := range []string{
		"-blockdev driver=null-co,node-name=c0-d0,size=1048576,read-zeroes=on,read-only=on",
		"-device virtio-scsi-pci,id=c0",
		"-device scsi-hd,id=c0-d0-hd,drive=c0-d0,bus=c0.0,scsi-id=0,lun=0",
		// Targets 0 to 255, then further LUNs of target 255.
		"-device scsi-hd,id=c0-d255-hd,drive=c0-d255,bus=c0.0,scsi-id=255,lun=0",
		"-device scsi-hd,id=c0-d256-hd,drive=c0-d256,bus=c0.0,scsi-id=255,lun=1",
		"-drive if=none,id=c0-d257,format=raw,readonly=on,file=/i/state.img",
	} {
		if !strings.Contains(joined+" ", want+" ") {
			t.Errorf("QEMU arguments lack %q", want)
		}
	}

	if strings.Contains(joined, "id=c0-d1-hd") || strings.Contains(joined, "id=c0-d257-hd") {
		t.Errorf("a late disk is on the command line: %s", joined)
	}

	wantPlug := []PlugGroup{
		{After: 5 * time.Second, Devs: []map[string]any{
			{"driver": "scsi-hd", "id": "c0-d1-hd", "drive": "c0-d1", "bus": "c0.0", "scsi-id": 1, "lun": 0},
			{"driver": "scsi-hd", "id": "c0-d257-hd", "drive": "c0-d257", "bus": "c0.0", "scsi-id": 255, "lun": 2},
		}},
		{After: 10 * time.Second, Devs: []map[string]any{
			{"driver": "scsi-hd", "id": "c0-d258-hd", "drive": "c0-d258", "bus": "c0.0", "scsi-id": 255, "lun": 3},
		}},
	}
	if !reflect.DeepEqual(hotplug, wantPlug) {
		t.Errorf("hot-plug:\n got %v\nwant %v", hotplug, wantPlug)
	}
}
