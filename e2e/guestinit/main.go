// Command guestinit is the end-to-end harness's init (PID 1) in the guest.
// It imitates what Talos does between starting udevd and deciding whether
// it is installed, and reports each step on the second serial port in the
// record format of e2e/internal/proto:
//
//  1. mount /proc, /sys, /dev, /run; listen to kernel uevents;
//  2. load scsi_mod and sd_mod (built into Talos's kernel);
//  3. start systemd-udevd --resolve-names=never, then, as Talos's udevd
//     health check does: udevadm control --reload, udevadm trigger
//     --type=devices --action=add, --type=subsystems --action=add, and
//     udevadm settle --timeout=50, retried every 60 s while it times out;
//  4. sleep talos.device.settle_time, if given;
//  5. look for STATE as Talos does: a GPT partition named STATE whose
//     content go-blockdevice's blkid recognises;
//  6. print the kernel log's raid-settle lines and the gate's report, and
//     power off.
//
// Kernel arguments: e2e.hello (smoke test), e2e.settle_timeout=,
// e2e.check_period=, e2e.max_checks=, e2e.settle_checks= (as max_checks, then
// look for STATE anyway), e2e.linger= (keep watching for STATE
// after the lookup), e2e.klog=1 (the whole kernel log),
// e2e.efi_boot_part=UUID (pretend to be UEFI-booted from that partition),
// e2e.rescan_after= (rescan the SCSI hosts that long after megaraid_sas
// loaded), e2e.certify=1 (run raid-settle certify after the lookup),
// e2e.procs=1 (report raid-settle processes as they start and end),
// and Talos's own talos.device.settle_time=.
//
// It is built static (CGO_ENABLED=0) and never shipped.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// reportPath is where the gate writes its report.
const reportPath = "/run/raid-settle/report.json"

type guest struct {
	out *output
	cfg config
	// stateSeen receives the time of every add uevent of a partition named
	// STATE.
	stateSeen chan int64
	// rescan starts the late-volume rescan once.
	rescan sync.Once
}

func main() {
	mountErr := mountAll()
	start := nowMS()
	g := &guest{out: openOutput(), stateSeen: make(chan int64, 16)}
	g.emit(proto.KindInit, "ms", start, "machine", machine())

	if mountErr != nil {
		g.fail("mount", mountErr)
	}

	cmdline, _ := os.ReadFile("/proc/cmdline")
	cfg, warnings := parseCmdline(string(cmdline))
	g.cfg = cfg

	for _, w := range warnings {
		g.emit(proto.KindError, "step", "cmdline", "text", w)
	}

	if cfg.Hello {
		g.emit(proto.KindHello, "ms", nowMS(), "kernel", kernelRelease())
		g.finish()
	}

	g.run()
	g.finish()
}

func (g *guest) emit(kind string, kv ...any) { g.out.line(proto.Format(kind, kv...)) }

func (g *guest) fail(step string, err error) {
	g.emit(proto.KindError, "step", step, "text", err.Error())
}

func (g *guest) run() {
	os.Setenv("PATH", "/usr/sbin:/usr/bin")

	// Listen before anything can make a uevent.
	if fd, err := openUeventSocket(); err != nil {
		g.fail("uevent-socket", err)
	} else {
		go func() {
			if err := receiveUevents(fd, g.onUevent); err != nil {
				g.fail("uevent-receive", err)
			}
		}()
	}

	if g.cfg.EFIBootPart != "" {
		if err := publishBootPart("/sys/firmware", g.cfg.EFIBootPart); err != nil {
			g.fail("efi-boot-part", err)
		}
	}

	var procs *procWatch
	if g.cfg.Procs {
		procs = g.watchProcs()
	}

	g.step("builtin-modules", "modprobe", "-a", "scsi_mod", "sd_mod")

	udevd := exec.Command("/usr/lib/systemd/systemd-udevd", "--resolve-names=never")
	udevd.Stdout, udevd.Stderr = os.Stderr, os.Stderr

	if err := udevd.Start(); err != nil {
		g.fail("udevd", err)

		return
	}

	g.emit(proto.KindStep, "name", "udevd-started", "ms", nowMS(), "pid", udevd.Process.Pid)

	// Talos's health check runs about 100 ms after udevd starts. Under
	// TCG on a busy host udevd may not have made its control socket by
	// then; Talos would fail that check and retry a minute later, a
	// host-speed artefact here, so the check waits for the socket.
	time.Sleep(100 * time.Millisecond)

	if waited := waitForFile("/run/udev/control", 10*time.Second); waited >= 10*time.Millisecond {
		g.emit(proto.KindStep, "name", "udevd-control-socket", "ms", nowMS(), "took_ms", waited.Milliseconds())
	}

	g.step("reload", "udevadm", "control", "--reload")
	g.step("trigger-devices", "udevadm", "trigger", "--type=devices", "--action=add")
	g.step("trigger-subsystems", "udevadm", "trigger", "--type=subsystems", "--action=add")

	g.settle()

	if g.cfg.SettleTime > 0 {
		time.Sleep(g.cfg.SettleTime)
		g.emit(proto.KindStep, "name", "settle-time", "ms", nowMS(), "took_ms", g.cfg.SettleTime.Milliseconds())
	}

	found := g.lookup("decision")

	if !found.Present && g.cfg.Linger > 0 {
		g.linger()
	}

	if g.cfg.Certify {
		g.certify()
	}

	if procs != nil {
		procs.finish()
	}

	g.dumpKmsg()
	g.dumpReport()
}

// certifyOut is where the guest's certify run writes its results.
const certifyOut = "/run/certify"

// certify runs raid-settle certify (the workstation build the harness puts
// in /usr/local/bin; the extension's node build has no certify) on the
// megaraid_sas controller and prints its results and profiles.
func (g *guest) certify() {
	t0 := nowMS()
	cmd := exec.Command("/usr/local/bin/raid-settle", "certify", "--driver", "megaraid_sas",
		"--cycles", "3", "--linger", "1s", "--pause", "0s", "--timeout", "60s", "--out", certifyOut)
	out, err := cmd.CombinedOutput()
	rc := exitCode(err)

	g.emit(proto.KindStep, "name", "certify", "ms", nowMS(), "took_ms", nowMS()-t0, "rc", rc)

	if rc != 0 {
		g.emit(proto.KindError, "step", "certify", "text", strings.TrimSpace(fmt.Sprintf("%v: %s", err, out)))
	}

	files, _ := filepath.Glob(filepath.Join(certifyOut, "profiles", "*.json"))
	for _, f := range append([]string{filepath.Join(certifyOut, "certify.json")}, files...) {
		g.emitFile(f)
	}
}

// emitFile prints a JSON file, compacted, as a file record.
func (g *guest) emitFile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		g.fail("file", err)

		return
	}

	var compact bytes.Buffer
	if err = json.Compact(&compact, data); err != nil {
		g.fail("file", fmt.Errorf("%s is not JSON: %w", path, err))

		return
	}

	g.emit(proto.KindFile, "path", path, "data", compact.String())
}

// rescanHosts writes "- - -" to every SCSI host's scan file: the kernel
// looks for new devices on them, as after a RAID controller's firmware
// announced a new volume.
func (g *guest) rescanHosts() {
	hosts, _ := filepath.Glob("/sys/class/scsi_host/host*/scan")

	var names []string
	for _, h := range hosts {
		names = append(names, filepath.Base(filepath.Dir(h)))
	}

	// Reported first: a write to scan returns only when the scan is done,
	// and the disk's uevents (which may end the boot) come before.
	g.emit(proto.KindRescan, "ms", nowMS(), "hosts", strings.Join(names, ","))

	for _, h := range hosts {
		if err := os.WriteFile(h, []byte("- - -"), 0o200); err != nil {
			g.fail("rescan", err)
		}
	}
}

// step runs one command and reports how long it took.
func (g *guest) step(name string, argv ...string) int {
	t0 := nowMS()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	rc := exitCode(err)

	g.emit(proto.KindStep, "name", name, "ms", nowMS(), "took_ms", nowMS()-t0, "rc", rc)

	if err != nil {
		g.emit(proto.KindError, "step", name, "text", strings.TrimSpace(fmt.Sprintf("%v: %s", err, out)))
	}

	return rc
}

// settle is Talos's udevd health check: settle --timeout=50, and while it
// times out, again a check period after the previous try began.
func (g *guest) settle() {
	timeout := fmt.Sprintf("--timeout=%d", int(g.cfg.SettleTimeout.Seconds()))

	for attempt := 1; attempt <= g.cfg.MaxChecks; attempt++ {
		t0 := nowMS()
		out, err := exec.Command("udevadm", "settle", timeout).CombinedOutput()
		rc := exitCode(err)

		g.emit(proto.KindSettle, "attempt", attempt, "rc", rc, "ms", nowMS(), "took_ms", nowMS()-t0, "output", strings.TrimSpace(string(out)))

		if rc == 0 {
			g.emit(proto.KindReturned, "ms", nowMS(), "attempts", attempt)

			return
		}

		if wait := time.Duration(t0+g.cfg.CheckPeriod.Milliseconds()-nowMS()) * time.Millisecond; wait > 0 && attempt < g.cfg.MaxChecks {
			time.Sleep(wait)
		}
	}

	if g.cfg.GiveUp {
		g.emit(proto.KindStep, "name", "settle-gave-up", "ms", nowMS(), "checks", g.cfg.MaxChecks)

		return
	}

	g.emit(proto.KindError, "step", "settle", "text", fmt.Sprintf("udevd never settled in %d checks", g.cfg.MaxChecks))
}

// lookup looks for STATE as Talos does and reports it.
func (g *guest) lookup(when string) stateResult {
	t0 := nowMS()
	r := lookupState("/sys", "/dev")

	g.emit(proto.KindState, "when", when, "present", b2i(r.Present), "named", b2i(r.Named), "dev", r.Dev, "fs", r.FS,
		"uuid", r.UUID, "disks", r.Disks, "ms", nowMS(), "took_ms", nowMS()-t0, "errors", strings.Join(r.Errors, "; "))

	return r
}

// linger waits for STATE to appear after all, to show when it would have.
func (g *guest) linger() {
	deadline := time.After(g.cfg.Linger)

	for {
		select {
		case <-g.stateSeen:
			// Let the partition's device node settle before probing.
			for range 20 {
				if r := lookupState("/sys", "/dev"); r.Present {
					break
				}

				time.Sleep(100 * time.Millisecond)
			}

			g.lookup("later")

			return
		case <-deadline:
			g.lookup("linger-end")

			return
		}
	}
}

// storageModules are the modules whose add events are reported: the gate
// starts on a RAID driver's.
var storageModules = map[string]bool{
	"scsi_mod": true, "sd_mod": true, "megaraid_sas": true, "ahci": true, "nvme": true, "virtio_blk": true, "virtio_scsi": true,
}

// onUevent reports the uevents the harness reads the timeline from.
func (g *guest) onUevent(ev uevent) {
	v := ev.vars
	sub := v["SUBSYSTEM"]

	switch {
	case sub == "block":
	case sub == "module" && ev.action == "add" && storageModules[filepath.Base(v["DEVPATH"])]:
	case sub == "pci" && (ev.action == "add" || ev.action == "bind") && strings.HasPrefix(v["PCI_CLASS"], "1"):
	case sub == "scsi_host" && ev.action == "add":
	default:
		return
	}

	synth := 0
	if v["SYNTH_UUID"] != "" {
		synth = 1
	}

	g.emit(proto.KindUevent, "ms", ev.ms, "action", ev.action, "subsystem", sub, "devtype", v["DEVTYPE"],
		"name", filepath.Base(v["DEVPATH"]), "partname", v["PARTNAME"], "driver", v["DRIVER"], "synth", synth,
		"devpath", v["DEVPATH"])

	if g.cfg.RescanAfter > 0 && sub == "module" && ev.action == "add" && filepath.Base(v["DEVPATH"]) == "megaraid_sas" && synth == 0 {
		g.rescan.Do(func() {
			time.AfterFunc(g.cfg.RescanAfter, g.rescanHosts)
		})
	}

	if sub == "block" && ev.action == "add" && v["PARTNAME"] == "STATE" && synth == 0 {
		select {
		case g.stateSeen <- ev.ms:
		default:
		}
	}
}

// dumpKmsg prints the gate's kernel log lines and every warning and error
// (all records with e2e.klog=1).
func (g *guest) dumpKmsg() {
	recs, err := readKmsg()
	if err != nil {
		g.fail("kmsg", err)

		return
	}

	for _, r := range recs {
		if g.cfg.Klog || r.prio <= 4 || strings.Contains(r.text, "raid-settle") {
			g.emit(proto.KindKmsg, "ts_ms", r.tsMS, "prio", r.prio, "text", r.text)
		}
	}
}

func (g *guest) dumpReport() {
	data, err := os.ReadFile(reportPath)
	if errors.Is(err, os.ErrNotExist) {
		return
	}

	if err != nil {
		g.fail("report", err)

		return
	}

	var compact bytes.Buffer
	if err = json.Compact(&compact, data); err != nil {
		g.fail("report", fmt.Errorf("report.json is not JSON: %w", err))

		return
	}

	g.emit(proto.KindReport, "json", compact.String())
}

func (g *guest) finish() {
	g.emit(proto.KindDone, "ms", nowMS())
	g.out.drain()
	powerOff()
}

// waitForFile waits until path exists or timeout passes and returns how
// long it waited.
func waitForFile(path string, timeout time.Duration) time.Duration {
	start := time.Now()

	for {
		if _, err := os.Stat(path); err == nil || time.Since(start) >= timeout {
			return time.Since(start)
		}

		time.Sleep(10 * time.Millisecond)
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}

	if err != nil {
		return -1
	}

	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}

	return 0
}

// machine is uname -m: the harness checks the guest's architecture by it.
func machine() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}

	var b []byte

	for _, c := range u.Machine {
		if c == 0 {
			break
		}

		b = append(b, byte(c))
	}

	return string(b)
}

func kernelRelease() string {
	return readFile("/proc/sys/kernel/osrelease")
}
