package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// Bus is the kind of storage controller a disk sits behind.
type Bus string

// Buses the guest kernel has drivers for.
const (
	// BusMegasas is QEMU's MegaRAID SAS 1078 (megaraid_sas in the guest).
	BusMegasas Bus = "megasas"
	// BusVirtio is a virtio-blk PCI disk.
	BusVirtio Bus = "virtio-blk"
	// BusAHCI is an AHCI SATA controller (ahci in the guest).
	BusAHCI Bus = "ahci"
	// BusNVMeMultipath is an NVMe subsystem with two controllers sharing
	// each namespace (a dual-port drive): with native multipath the guest
	// shows one nvmeXnY under /devices/virtual/nvme-subsystem/.
	BusNVMeMultipath Bus = "nvme-multipath"
	// BusVirtioSCSI is a virtio-scsi HBA (virtio_scsi in the guest): a
	// plain SCSI host bus adapter, every disk a target of its own (scsi-id
	// 0 to 255, LUN 0; disks beyond the 256th are further LUNs of target
	// 255). A disk plugged onto it later (Drive.PlugAfter) is announced to
	// the guest by the HBA itself, as a SAS HBA reports a disk that spun
	// up: no rescan is needed.
	BusVirtioSCSI Bus = "virtio-scsi"
)

// virtioSCSIMaxTarget is QEMU's highest virtio-scsi target number
// (VIRTIO_SCSI_MAX_TARGET).
const virtioSCSIMaxTarget = 255

// virtioSCSIAddress is the target and LUN of disk di on a virtio-scsi HBA:
// a target each, then further LUNs of the last target.
func virtioSCSIAddress(di int) (target, lun int) {
	if di <= virtioSCSIMaxTarget {
		return di, 0
	}

	return virtioSCSIMaxTarget, di - virtioSCSIMaxTarget
}

// Controller is one emulated storage controller with its disks.
type Controller struct {
	Bus Bus
	// HotplugAfter, when set, plugs the controller and its disks in
	// through QMP that long after the record VM.HotplugAnchor picks: a
	// RAID controller that shows its logical drives late.
	HotplugAfter time.Duration
	// DisksAfter, when set on a controller present at boot, plugs its
	// disks alone in that long after the anchor: onto a megasas bus the
	// guest is not told of them until it rescans the SCSI host.
	DisksAfter time.Duration
	Disks      []Drive
}

// Drive is one disk image behind a controller.
type Drive struct {
	// Image is the raw disk image; it is attached read-only (AHCI: with a
	// temporary overlay, snapshot=on).
	Image string
	// Blkdebug, when set, is a blkdebug configuration file that injects
	// I/O errors under the image.
	Blkdebug string
	// Hang puts blkdebug under the image with no rule, for a breakpoint
	// the harness sets later (VM.Arms): the read it catches never
	// completes.
	Hang bool
	// Late, with Controller.DisksAfter, plugs this disk alone late; with
	// no Late disk on the controller, all are.
	Late bool
	// Null, instead of Image, backs the disk with QEMU's null-co driver
	// (read-zeroes=on: the kernel and udev read it, and read zeroes), Size
	// bytes: a blank disk that costs no file, hundreds of them at once.
	Null bool
	Size int64
	// PlugAfter, on a controller present at boot, plugs this disk alone in
	// through QMP that long after the anchor (VM.HotplugAnchor); disks
	// with the same PlugAfter go in together, one right after the other.
	// On virtio-scsi the guest is told at once; on a megasas not until it
	// rescans the SCSI host.
	PlugAfter time.Duration
}

// PlugGroup is a set of devices plugged in through QMP together, After the
// anchor.
type PlugGroup struct {
	After time.Duration
	Devs  []map[string]any
}

// VM is one guest boot.
type VM struct {
	QEMU string
	// Arch is the guest's architecture; nil means ArchAMD64.
	Arch   *Arch
	Kernel string
	Initrd string
	// Append is the kernel command line.
	Append      string
	Controllers []Controller
	// Dir receives console.log, the QMP socket and QEMU's stderr.
	Dir     string
	Timeout time.Duration
	// Records receives every line of the guest's protocol port, with the
	// host time it arrived.
	Records func(at time.Time, line string)
	// HotplugAnchor picks the record hot-plug delays count from; nil
	// means the guest init's first record.
	HotplugAnchor func(rec proto.Record) bool
	// Arms are monitor commands given once each as the guest's records
	// call for them (hang.go); Armed is what each did, after Run.
	Arms  []Arm
	Armed []HotplugEvent
}

// devices returns the QEMU arguments for the devices present at boot and
// the QMP device_add argument sets of the hot-plugged ones, in groups
// plugged in together, in the controllers' order.
func (vm *VM) devices() (args []string, hotplug []PlugGroup) {
	for ci, c := range vm.Controllers {
		cid := fmt.Sprintf("c%d", ci)

		var devs []map[string]any

		switch c.Bus {
		case BusMegasas:
			devs = append(devs, map[string]any{"driver": "megasas", "id": cid})
		case BusAHCI:
			devs = append(devs, map[string]any{"driver": "ahci", "id": cid})
		case BusVirtioSCSI:
			devs = append(devs, map[string]any{"driver": "virtio-scsi-pci", "id": cid})
		case BusNVMeMultipath:
			// Controllers of one subsystem share its serial number.
			devs = append(devs, map[string]any{"driver": "nvme-subsys", "id": cid, "nqn": "raid-settle-e2e-" + cid},
				map[string]any{"driver": "nvme", "id": cid + "-p0", "serial": "rs" + cid, "subsys": cid},
				map[string]any{"driver": "nvme", "id": cid + "-p1", "serial": "rs" + cid, "subsys": cid})
		}

		ctlDevs := len(devs)

		for di, d := range c.Disks {
			did := fmt.Sprintf("%s-d%d", cid, di)

			switch {
			case d.Null:
				args = append(args, "-blockdev", fmt.Sprintf("driver=null-co,node-name=%s,size=%d,read-zeroes=on,read-only=on", did, d.Size))
			default:
				file := d.Image

				if d.Blkdebug != "" || d.Hang {
					file = "blkdebug:" + d.Blkdebug + ":" + d.Image
				}

				// QEMU's IDE/AHCI disks refuse read-only drives: those get
				// a throw-away overlay instead. Either way nothing reaches
				// the image, and the harness checks its hash.
				mode := "readonly=on"
				if c.Bus == BusAHCI {
					mode = "snapshot=on"
				}

				args = append(args, "-drive", fmt.Sprintf("if=none,id=%s,format=raw,%s,file=%s", did, mode, file))
			}

			switch c.Bus {
			case BusMegasas:
				devs = append(devs, map[string]any{"driver": "scsi-hd", "id": did + "-hd", "drive": did, "bus": cid + ".0", "scsi-id": di})
			case BusVirtioSCSI:
				target, lun := virtioSCSIAddress(di)
				devs = append(devs, map[string]any{"driver": "scsi-hd", "id": did + "-hd", "drive": did, "bus": cid + ".0", "scsi-id": target, "lun": lun})
			case BusAHCI:
				devs = append(devs, map[string]any{"driver": "ide-hd", "id": did + "-hd", "drive": did, "bus": fmt.Sprintf("%s.%d", cid, di)})
			case BusVirtio:
				devs = append(devs, map[string]any{"driver": "virtio-blk-pci", "id": did + "-hd", "drive": did})
			case BusNVMeMultipath:
				// A shared namespace is attached to every controller of
				// the subsystem.
				devs = append(devs, map[string]any{"driver": "nvme-ns", "id": did + "-ns", "drive": did, "bus": cid + "-p0", "nsid": di + 1, "shared": "on"})
			}
		}

		if c.HotplugAfter > 0 {
			hotplug = append(hotplug, PlugGroup{After: c.HotplugAfter, Devs: devs})

			continue
		}

		for _, d := range devs[:ctlDevs] {
			args = append(args, "-device", deviceArg(d))
		}

		someLate := slices.ContainsFunc(c.Disks, func(d Drive) bool { return d.Late })

		for di, d := range devs[ctlDevs:] {
			switch {
			case c.DisksAfter > 0 && c.Bus == BusMegasas && (!someLate || c.Disks[di].Late):
				hotplug = addToGroup(hotplug, c.DisksAfter, d)
			case c.Disks[di].PlugAfter > 0:
				hotplug = addToGroup(hotplug, c.Disks[di].PlugAfter, d)
			default:
				args = append(args, "-device", deviceArg(d))
			}
		}
	}

	return args, hotplug
}

// addToGroup adds a device to the group plugged in after, or to a new one.
func addToGroup(groups []PlugGroup, after time.Duration, dev map[string]any) []PlugGroup {
	for i := range groups {
		if groups[i].After == after {
			groups[i].Devs = append(groups[i].Devs, dev)

			return groups
		}
	}

	return append(groups, PlugGroup{After: after, Devs: []map[string]any{dev}})
}

// deviceArg writes a device as a -device option.
func deviceArg(d map[string]any) string {
	parts := []string{fmt.Sprint(d["driver"])}

	for _, k := range []string{"id", "drive", "bus", "scsi-id", "lun", "nqn", "serial", "subsys", "nsid", "shared"} {
		if v, ok := d[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}

	return strings.Join(parts, ",")
}

// Args returns QEMU's command line.
func (vm *VM) Args() []string {
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1G", "-smp", "2",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-kernel", vm.Kernel, "-initrd", vm.Initrd, "-append", vm.Append,
		"-chardev", "file,id=console,path=" + filepath.Join(vm.Dir, "console.log"),
		"-serial", "chardev:console",
		// The records come through a pipe of their own (Run passes it as
		// fd 3): QEMU's stdout also gets blkdebug's messages, flushed
		// whenever its buffer fills, which would cut a record.
		"-chardev", "file,id=records,path=/dev/fd/3",
		"-serial", "chardev:records",
		"-qmp", "unix:" + vm.qmpPath() + ",server=on,wait=off",
	}
	devs, _ := vm.devices()

	return vm.Arch.qemuArgs(append(args, devs...))
}

func (vm *VM) qmpPath() string { return filepath.Join(vm.Dir, "qmp.sock") }

// HotplugEvent is a QMP device_add the harness made.
type HotplugEvent struct {
	At     time.Time
	Device string
	Err    string
}

// Run boots the guest and returns when it powers off, the timeout passes or
// ctx ends; QEMU is killed in the last two cases. Hot-plugs are timed from
// the host time the first record HotplugAnchor accepts arrived (by default
// the guest init's first record).
func (vm *VM) Run(ctx context.Context) (hotplugs []HotplugEvent, err error) {
	if err = os.MkdirAll(vm.Dir, 0o755); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, vm.Timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, vm.QEMU, vm.Args()...)
	cmd.WaitDelay = 5 * time.Second

	stderr, err := os.Create(filepath.Join(vm.Dir, "qemu.stderr"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd.Stdout, cmd.Stderr = stderr, stderr

	stdout, recordsW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer stdout.Close()

	cmd.ExtraFiles = []*os.File{recordsW}

	err = cmd.Start()
	recordsW.Close()

	if err != nil {
		return nil, fmt.Errorf("failed to start QEMU: %w", err)
	}

	anchor := vm.HotplugAnchor
	if anchor == nil {
		anchor = func(rec proto.Record) bool { return rec.Kind == proto.KindInit }
	}

	var anchorAt time.Time

	anchorSeen := make(chan struct{})
	readDone := make(chan struct{})
	arms := vm.newArming()

	go func() {
		defer close(readDone)

		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)

		first := true

		for sc.Scan() {
			now := time.Now()
			line := strings.TrimRight(sc.Text(), "\r")

			rec, ok := proto.Parse(line)
			if ok && first && anchor(rec) {
				first = false
				anchorAt = now
				close(anchorSeen)
			}

			if ok {
				arms.see(ctx, rec)
			}

			if vm.Records != nil {
				vm.Records(now, line)
			}
		}
	}()

	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)

	_, plugs := vm.devices()
	for _, g := range plugs {
		wg.Add(1)

		go func(g PlugGroup) {
			defer wg.Done()

			var evs []HotplugEvent

			select {
			case <-anchorSeen:
				evs = vm.hotplug(ctx, anchorAt.Add(g.After), g.Devs)
			case <-ctx.Done():
			}

			mu.Lock()
			hotplugs = append(hotplugs, evs...)
			mu.Unlock()
		}(g)
	}

	<-readDone

	waitErr := cmd.Wait()

	cancel()
	wg.Wait()

	sort.SliceStable(hotplugs, func(i, j int) bool { return hotplugs[i].At.Before(hotplugs[j].At) })

	vm.Armed = arms.wait()

	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return hotplugs, fmt.Errorf("the guest did not power off within %s", vm.Timeout)
	case waitErr != nil:
		return hotplugs, fmt.Errorf("QEMU failed: %w (see %s)", waitErr, filepath.Join(vm.Dir, "qemu.stderr"))
	}

	return hotplugs, nil
}

// hotplug waits until at, then adds the devices through QMP, one right
// after the other.
func (vm *VM) hotplug(ctx context.Context, at time.Time, devs []map[string]any) []HotplugEvent {
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
		return nil
	}

	q, err := dialQMP(ctx, vm.qmpPath())
	if err != nil {
		return []HotplugEvent{{At: time.Now(), Device: "qmp", Err: err.Error()}}
	}
	defer q.Close()

	var out []HotplugEvent

	for _, d := range devs {
		ev := HotplugEvent{Device: deviceArg(d)}
		err := q.Execute("device_add", d)
		ev.At = time.Now()

		if err != nil {
			ev.Err = err.Error()
		}

		out = append(out, ev)
	}

	return out
}

// qmp is a minimal QEMU Machine Protocol client.
type qmp struct {
	conn net.Conn
	dec  *json.Decoder
}

func dialQMP(ctx context.Context, path string) (*qmp, error) {
	var (
		conn net.Conn
		err  error
	)

	// The socket appears shortly after QEMU starts.
	for range 100 {
		var d net.Dialer

		if conn, err = d.DialContext(ctx, "unix", path); err == nil {
			break
		}

		time.Sleep(50 * time.Millisecond)
	}

	if err != nil {
		return nil, fmt.Errorf("failed to connect to QMP: %w", err)
	}

	q := &qmp{conn: conn, dec: json.NewDecoder(conn)}

	var greeting map[string]any
	if err = q.dec.Decode(&greeting); err != nil {
		conn.Close()

		return nil, fmt.Errorf("no QMP greeting: %w", err)
	}

	if err = q.Execute("qmp_capabilities", nil); err != nil {
		conn.Close()

		return nil, err
	}

	return q, nil
}

// Execute runs one command and waits for its answer, skipping events.
func (q *qmp) Execute(cmd string, args map[string]any) error {
	_, err := q.Call(cmd, args)

	return err
}

// Call runs one command and returns its answer, skipping events.
func (q *qmp) Call(cmd string, args map[string]any) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}

	if err := json.NewEncoder(q.conn).Encode(req); err != nil {
		return nil, err
	}

	for {
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Class string `json:"class"`
				Desc  string `json:"desc"`
			} `json:"error"`
			Event string `json:"event"`
		}

		if err := q.dec.Decode(&resp); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("QMP closed during %s", cmd)
			}

			return nil, err
		}

		switch {
		case resp.Error != nil:
			return nil, fmt.Errorf("%s: %s: %s", cmd, resp.Error.Class, resp.Error.Desc)
		case resp.Return != nil:
			return resp.Return, nil
		}
	}
}

func (q *qmp) Close() error { return q.conn.Close() }
