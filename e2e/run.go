package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
	"github.com/raid-settle/raid-settle/internal/diskimage"
)

// baseArgs are the kernel arguments of every boot: the console on the first
// serial port, a quiet kernel, power off on panic, and no crypto self-tests
// (seconds under TCG, and nothing here depends on them).
var baseArgs = []string{"console=ttyS0", "quiet", "panic=-1", "cryptomgr.notests"}

// Images builds every image kind the scenarios use into dir, once.
type Images struct {
	Dir   string
	mu    sync.Mutex
	paths map[Image]string
}

// Path builds the image of kind k on first use and returns its path.
func (im *Images) Path(k Image) (string, error) {
	im.mu.Lock()
	defer im.mu.Unlock()

	if p, ok := im.paths[k]; ok {
		return p, nil
	}

	p, err := BuildImage(filepath.Join(im.Dir, string(k)), k)
	if err != nil {
		return "", err
	}

	if im.paths == nil {
		im.paths = map[Image]string{}
	}

	im.paths[k] = p

	return p, nil
}

// RunOne boots one variant of a scenario and returns what it showed. Its
// files (console.log, records.log, result.json) go under dir.
func (h *Harness) RunOne(ctx context.Context, s *Scenario, v Variant, images *Images, dir string) *Result {
	r := newResult(s.ID, v)
	r.Dir = dir

	if err := h.runOne(ctx, s, v, images, dir, r); err != nil {
		r.Errors = append(r.Errors, err.Error())
	}

	if err := r.keep(dir); err != nil {
		r.Errors = append(r.Errors, err.Error())
	}

	if data, err := json.MarshalIndent(r, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "result.json"), data, 0o644)
	}

	return r
}

// runOne boots scenario s in variant v once, in dir, and records what the
// boot showed in r. It returns the VM's error, or why the boot could not be
// set up.
func (h *Harness) runOne(ctx context.Context, s *Scenario, v Variant, images *Images, dir string, r *Result) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	ctls, used, arms, err := s.machine(images, dir)
	if err != nil {
		return err
	}

	args, err := h.kernelArgs(s, images, r)
	if err != nil {
		return err
	}

	initrd := h.Initrds[v]

	if s.ProfileFrom != "" {
		var names []string

		if initrd, names, err = profileOverlay(initrd, filepath.Dir(dir), s.ProfileFrom, dir); err != nil {
			return err
		}

		r.InitrdProfiles = names
	}

	before, err := hashAll(used)
	if err != nil {
		return err
	}

	records, err := os.Create(filepath.Join(dir, "records.log"))
	if err != nil {
		return err
	}
	defer records.Close()

	var mu sync.Mutex

	vm := &VM{
		QEMU:        h.arch().QEMU,
		Arch:        h.arch(),
		Kernel:      h.Guest.Vmlinux,
		Initrd:      initrd,
		Append:      strings.Join(args, " "),
		Controllers: ctls,
		Dir:         dir,
		Timeout:     s.Budget(),
		// A late controller shows its disk that long after the RAID
		// driver finished loading for the controllers present at boot:
		// timed from the init's start instead, a slow boot under TCG
		// would still be in coldplug when the disk arrives.
		HotplugAnchor: driverLoaded,
		Arms:          arms,
		Records: func(at time.Time, line string) {
			mu.Lock()
			defer mu.Unlock()

			fmt.Fprintln(records, line)
			r.Add(at, line)
		},
	}

	t0 := time.Now()
	hotplugs, runErr := vm.Run(ctx)
	r.Wall = time.Since(t0)
	r.recordVM(vm, hotplugs)

	after, err := hashAll(used)
	if err != nil {
		return err
	}

	r.ImagesUnchanged = strings.Join(before, ",") == strings.Join(after, ",")

	return runErr
}

// partition returns the partition called name on the image of kind k.
func (im *Images) partition(k Image, name string) (PartitionInfo, error) {
	img, err := im.Path(k)
	if err != nil {
		return PartitionInfo{}, err
	}

	return FindPartition(img, name)
}

// kernelArgs are the guest kernel's arguments for s: the base ones, the
// scenario's, the guest init's switches, and the boot evidence s asks for
// (GRUB's BOOT_IMAGE, the EFI boot-partition hint). It also records in r
// the GUID of the boot disk's STATE.
func (h *Harness) kernelArgs(s *Scenario, images *Images, r *Result) ([]string, error) {
	args := append(h.arch().kernelArgs(baseArgs), s.Args...)

	for _, sw := range []struct {
		on  bool
		arg string
	}{
		{s.Linger > 0, fmt.Sprintf("e2e.linger=%ds", int(s.Linger.Seconds()))},
		{s.RescanAfter > 0, fmt.Sprintf("e2e.rescan_after=%dms", s.RescanAfter.Milliseconds())},
		{s.Certify, "e2e.certify=1"},
		{h.Klog, "e2e.klog=1"},
		{s.WatchGate, "e2e.procs=1"},
		{s.SettleChecks > 0, fmt.Sprintf("e2e.settle_checks=%d", s.SettleChecks)},
	} {
		if sw.on {
			args = append(args, sw.arg)
		}
	}

	// GRUB's Linux loader puts BOOT_IMAGE= before the menu entry's
	// arguments.
	if s.BootImage != "" {
		args = append([]string{"BOOT_IMAGE=" + s.BootImage}, args...)
	}

	if k, ok := s.stateImage(); ok && s.BootHint {
		efi, err := images.partition(k, "EFI")
		if err != nil {
			return nil, err
		}

		args = append(args, "e2e.efi_boot_part="+efi.UUID)
	}

	if k, ok := s.bootImage(); ok {
		state, err := images.partition(k, "STATE")
		if err != nil {
			return nil, err
		}

		r.BootStateUUID = state.UUID
	}

	return args, nil
}

// machine lays out s's controllers and disks for the VM. It returns them,
// the images the boot uses (to check that it left them unchanged), and the
// breakpoints that hang a disk; dir receives the blkdebug files of the
// disks that fail reads.
func (s *Scenario) machine(images *Images, dir string) (ctls []Controller, used []string, arms []Arm, err error) {
	virtio := 0
	ctls = make([]Controller, len(s.Controllers))

	for ci, c := range s.Controllers {
		ctls[ci] = Controller{Bus: c.Bus, HotplugAfter: c.HotplugAfter, DisksAfter: c.DisksAfter}

		for di, d := range c.Disks {
			if d.PlugAfter > 0 && c.HotplugAfter > 0 {
				return nil, nil, nil, fmt.Errorf("controller %d: a disk plugged in late (PlugAfter) needs its controller there at boot", ci)
			}

			if c.Bus == BusVirtio {
				virtio++
			}

			if d.Image == ImageNull {
				if d.EIO > 0 || d.Hang || d.Boot {
					return nil, nil, nil, fmt.Errorf("controller %d disk %d: a %s disk cannot fail reads, hang or be the boot disk", ci, di, ImageNull)
				}

				ctls[ci].Disks = append(ctls[ci].Disks, Drive{Null: true, Size: blankSize, Late: d.Late, PlugAfter: d.PlugAfter})

				continue
			}

			img, err := images.Path(d.Image)
			if err != nil {
				return nil, nil, nil, err
			}

			used = append(used, img)
			drive := Drive{Image: img, Late: d.Late, PlugAfter: d.PlugAfter}

			if d.Hang {
				if c.Bus != BusVirtio || c.HotplugAfter > 0 {
					return nil, nil, nil, fmt.Errorf("a hung disk must be a virtio-blk disk present at boot")
				}

				// virtio-blk disks are named in PCI order.
				drive.Hang = true
				arms = append(arms, hangArms(fmt.Sprintf("c%d-d%d", ci, di), "vd"+string(rune('a'+virtio-1)))...)
			}

			if d.EIO > 0 {
				state, err := FindPartition(img, "STATE")
				if err != nil {
					return nil, nil, nil, err
				}

				drive.Blkdebug = filepath.Join(dir, fmt.Sprintf("blkdebug-c%d-d%d.conf", ci, di))
				if err = WriteBlkdebug(drive.Blkdebug, state.FirstSector, d.EIO); err != nil {
					return nil, nil, nil, err
				}
			}

			ctls[ci].Disks = append(ctls[ci].Disks, drive)
		}
	}

	return ctls, used, arms, nil
}

// recordVM records what the VM run did besides the guest's records: the
// breakpoints armed, the hot-plugs, and their errors.
func (r *Result) recordVM(vm *VM, hotplugs []HotplugEvent) {
	r.Hotplugs = hotplugs
	r.Armed = vm.Armed

	for _, a := range vm.Armed {
		if a.Err != "" {
			r.Errors = append(r.Errors, a.Device+": "+a.Err)
		}
	}

	for _, hp := range hotplugs {
		if hp.Err != "" {
			r.Errors = append(r.Errors, "hot-plug "+hp.Device+": "+hp.Err)
		}
	}

	if len(hotplugs) > 0 && r.InitMS >= 0 && !r.initAt.IsZero() {
		r.HotplugMS = r.InitMS + hotplugs[0].At.Sub(r.initAt).Milliseconds()
	}
}

// driverLoaded accepts the kernel's own add uevent of the megaraid_sas
// module: its init returned, the controllers present at boot are probed.
func driverLoaded(rec proto.Record) bool {
	f := rec.Fields

	return rec.Kind == proto.KindUevent && f["action"] == "add" && f["subsystem"] == "module" && f["name"] == "megaraid_sas" && f["synth"] == "0"
}

func hashAll(paths []string) ([]string, error) {
	out := make([]string, len(paths))

	for i, p := range paths {
		h, err := diskimage.HashFile(p)
		if err != nil {
			return nil, err
		}

		out[i] = h
	}

	return out, nil
}
