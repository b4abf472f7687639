package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// nowMS is CLOCK_MONOTONIC in milliseconds: time since the guest booted.
func nowMS() int64 {
	var ts syscall.Timespec

	// CLOCK_MONOTONIC is 1.
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return -1
	}

	return ts.Sec*1000 + ts.Nsec/1e6
}

// mountAll mounts what udevd and the gate need.
func mountAll() error {
	for _, m := range []struct {
		fstype, target string
		flags          uintptr
	}{
		{"proc", "/proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{"sysfs", "/sys", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{"devtmpfs", "/dev", syscall.MS_NOSUID},
		{"tmpfs", "/run", syscall.MS_NOSUID | syscall.MS_NODEV},
		{"tmpfs", "/tmp", syscall.MS_NOSUID | syscall.MS_NODEV},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}

		if err := syscall.Mount(m.fstype, m.target, m.fstype, m.flags, ""); err != nil && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("failed to mount %s: %w", m.target, err)
		}
	}

	return nil
}

// output writes records to the harness's serial port, one write per line.
type output struct {
	mu sync.Mutex
	f  *os.File
}

func openOutput() *output {
	ports := []string{"/dev/ttyS1", "/dev/console"}
	if runtime.GOARCH == "arm64" {
		// QEMU's virt machine has one PL011 (the kernel console): the
		// records go to a virtio console, whose port the driver adds
		// asynchronously, maybe after the init started.
		waitForFile("/dev/hvc0", 5*time.Second)

		ports = []string{"/dev/hvc0", "/dev/console"}
	}

	for _, p := range ports {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
			return &output{f: f}
		}
	}

	return &output{f: os.Stdout}
}

func (o *output) line(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()

	_, _ = o.f.WriteString(s + "\n")
}

// drain waits until the serial port has sent everything (tcdrain).
func (o *output) drain() {
	o.mu.Lock()
	defer o.mu.Unlock()

	const tcsbrk = 0x5409

	_, _, _ = syscall.Syscall(syscall.SYS_IOCTL, o.f.Fd(), tcsbrk, 1)
}

// uevent is one kernel uevent.
type uevent struct {
	ms     int64
	action string
	vars   map[string]string
}

// openUeventSocket listens to the kernel's uevents (netlink group 1).
func openUeventSocket() (int, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return -1, err
	}

	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20)

	if err = syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK, Groups: 1}); err != nil {
		syscall.Close(fd)

		return -1, err
	}

	return fd, nil
}

// receiveUevents reads uevents from fd until it fails, calling fn with each.
func receiveUevents(fd int, fn func(uevent)) error {
	buf := make([]byte, 64<<10)

	for {
		n, _, err := syscall.Recvfrom(fd, buf, 0)
		if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.ENOBUFS) {
			continue
		}

		if err != nil {
			return err
		}

		if ev, ok := parseUevent(buf[:n]); ok {
			ev.ms = nowMS()
			fn(ev)
		}
	}
}

// parseUevent reads "action@devpath\0KEY=VALUE\0...".
func parseUevent(b []byte) (uevent, bool) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) < 2 || !bytes.Contains(parts[0], []byte("@")) {
		return uevent{}, false
	}

	ev := uevent{vars: map[string]string{}}

	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(string(p), "=")
		if ok {
			ev.vars[k] = v
		}
	}

	ev.action = ev.vars["ACTION"]

	return ev, ev.action != ""
}

// kmsgRecord is one kernel log record.
type kmsgRecord struct {
	tsMS int64
	prio int
	text string
}

// readKmsg returns every record in the kernel log buffer.
func readKmsg() ([]kmsgRecord, error) {
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)

	var out []kmsgRecord

	buf := make([]byte, 16<<10)

	for {
		n, err := syscall.Read(fd, buf)
		if errors.Is(err, syscall.EPIPE) {
			continue // overwritten records
		}

		if err != nil || n <= 0 {
			return out, nil // EAGAIN: the end
		}

		if r, ok := parseKmsg(string(buf[:n])); ok {
			out = append(out, r)
		}
	}
}

// parseKmsg reads "prio,seq,ts_us,flags;text\n KEY=value...".
func parseKmsg(s string) (kmsgRecord, bool) {
	head, text, ok := strings.Cut(s, ";")
	if !ok {
		return kmsgRecord{}, false
	}

	text, _, _ = strings.Cut(text, "\n")
	f := strings.Split(head, ",")

	if len(f) < 3 {
		return kmsgRecord{}, false
	}

	prio, _ := strconv.Atoi(f[0])
	ts, _ := strconv.ParseInt(f[2], 10, 64)

	return kmsgRecord{tsMS: ts / 1000, prio: prio & 7, text: text}, true
}

func powerOff() {
	syscall.Sync()

	_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)

	select {}
}

// loaderDevicePartUUID is the efivarfs file in which systemd-boot records
// the partition it was loaded from.
const loaderDevicePartUUID = "LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// publishBootPart makes the guest look UEFI-booted from partition uuid: it
// mounts a tmpfs over firmware (normally /sys/firmware, which has no efi
// directory after a PVH boot) and writes the variable there as efivarfs
// shows it: 4 bytes of attributes, then the UUID in UTF-16LE, NUL-ended,
// upper case as systemd-boot writes it.
func publishBootPart(firmware, uuid string) error {
	if err := syscall.Mount("tmpfs", firmware, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=0755"); err != nil {
		return fmt.Errorf("failed to mount a tmpfs on %s: %w", firmware, err)
	}

	dir := firmware + "/efi/efivars"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	data := []byte{0x06, 0, 0, 0} // EFI_VARIABLE_BOOTSERVICE_ACCESS | RUNTIME_ACCESS
	for _, r := range strings.ToUpper(uuid) + "\x00" {
		data = append(data, byte(r), 0)
	}

	return os.WriteFile(dir+"/"+loaderDevicePartUUID, data, 0o644)
}
