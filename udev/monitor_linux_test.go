//go:build linux

package udev

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/internal/testenv"
	"golang.org/x/sys/unix"
)

// The netlink tests run against the real kernel, isolated from the host: in
// a fresh user+network namespace, a uevent sent to netlink port 0 is
// rebroadcast by the kernel (lib/kobject_uevent.c, uevent_net_rcv) to that
// namespace's group 1 listeners only, from port 0 with SEQNUM appended: a
// genuine kernel event as far as the receiver can tell. The host's own
// uevents do not reach such a namespace. Go cannot unshare a running
// multi-threaded process, so TestMonitorKernel re-executes this test binary
// under `unshare -Urn` to run one TestNetns* test, and checks its result.

// netnsEnv is set in the child that runs inside the namespace.
const netnsEnv = "RAID_SETTLE_UDEV_TEST_NETNS"

func TestMonitorKernel(t *testing.T) {
	// unshare (util-linux) gives the test a private user+network namespace.
	unshare := testenv.Tools(t, "unshare")[0]

	for _, inner := range []string{"TestNetnsKernelFormat", "TestNetnsSequence", "TestNetnsOverflow", "TestNetnsForged", "TestNetnsClose"} {
		t.Run(strings.TrimPrefix(inner, "TestNetns"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()

			cmd := exec.CommandContext(ctx, unshare, "-Urn", "--", os.Args[0],
				"-test.run=^"+inner+"$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), netnsEnv+"=1")

			out, err := cmd.CombinedOutput()
			for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				t.Log(line)
			}

			if err != nil {
				t.Fatalf("%s under `unshare -Urn`: %v", inner, err)
			}

			if !strings.Contains(string(out), "--- PASS: "+inner+" ") {
				t.Fatalf("%s did not run and pass under `unshare -Urn`", inner)
			}
		})
	}
}

// inNetns skips the test unless it runs in the namespace TestMonitorKernel
// made: run directly, it would listen to the host's uevents.
func inNetns(t *testing.T) {
	t.Helper()

	if os.Getenv(netnsEnv) == "" {
		t.Skip("runs inside the user+network namespace TestMonitorKernel creates")
	}
}

// injector sends uevents in the namespace.
type injector struct {
	fd  int
	seq uint32
}

func newInjector(t *testing.T) *injector {
	t.Helper()

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		t.Fatalf("uevent socket: %v", err)
	}

	t.Cleanup(func() { unix.Close(fd) })

	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		t.Fatalf("bind: %v", err)
	}

	return &injector{fd: fd}
}

// viaKernel has the kernel broadcast msg (without SEQNUM: the kernel appends
// it) as its own uevent. With ack, it waits for the kernel's answer.
func (in *injector) viaKernel(msg []byte, ack bool) error {
	in.seq++

	flags := uint16(unix.NLM_F_REQUEST)
	if ack {
		flags |= unix.NLM_F_ACK
	}

	buf := make([]byte, unix.NLMSG_HDRLEN+len(msg))
	binary.NativeEndian.PutUint32(buf[0:], uint32(len(buf)))
	binary.NativeEndian.PutUint16(buf[4:], unix.NLMSG_MIN_TYPE) // any type from NLMSG_MIN_TYPE is a request
	binary.NativeEndian.PutUint16(buf[6:], flags)
	binary.NativeEndian.PutUint32(buf[8:], in.seq)
	copy(buf[unix.NLMSG_HDRLEN:], msg)

	if err := unix.Sendto(in.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sendto kernel: %w", err)
	}

	if !ack {
		return nil
	}

	return in.readAck(0)
}

// readAck reads the kernel's answer to a request; flags may be
// MSG_DONTWAIT. It returns nil for a success, the error the kernel reported,
// or EAGAIN when there is nothing to read.
func (in *injector) readAck(flags int) error {
	buf := make([]byte, 4096)

	n, _, err := unix.Recvfrom(in.fd, buf, flags)
	if err != nil {
		return err
	}

	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}

	for _, m := range msgs {
		if m.Header.Type == syscall.NLMSG_ERROR && len(m.Data) >= 4 {
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return fmt.Errorf("kernel refused the uevent: %w", unix.Errno(-code))
			}
		}
	}

	return nil
}

// checkNoAcks fails when the kernel refused any request sent without ack
// (it answers errors anyway).
func (in *injector) checkNoAcks(t *testing.T) {
	t.Helper()

	for {
		err := in.readAck(unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return
		}

		if err != nil {
			t.Fatalf("injected uevent: %v", err)
		}
	}
}

// toGroup multicasts msg to group 1 itself, as a forger would.
func (in *injector) toGroup(msg []byte) error {
	return unix.Sendto(in.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1})
}

// toPort sends msg to one socket only, as a forger would.
func (in *injector) toPort(port uint32, msg []byte) error {
	return unix.Sendto(in.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Pid: port})
}

// running is a Monitor whose Run goroutine the test drives.
type running struct {
	m      *Monitor
	out    chan Event
	cancel context.CancelFunc
	errc   chan error
}

func startMonitor(t *testing.T, opts MonitorOptions, buffer int) *running {
	t.Helper()

	if opts.Log == nil {
		opts.Log = func(format string, args ...any) { t.Logf("monitor: "+format, args...) }
	}

	m, err := OpenMonitor(opts)
	if err != nil {
		t.Fatalf("OpenMonitor: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, out: make(chan Event, buffer), cancel: cancel, errc: make(chan error, 1)}

	go func() { r.errc <- m.Run(ctx, r.out) }()

	t.Cleanup(func() { r.stop(t) })

	return r
}

// stop cancels Run, checks it returned nil and closed out, and closes the
// monitor.
func (r *running) stop(t *testing.T) {
	t.Helper()

	if r.cancel == nil {
		return
	}

	r.cancel()
	r.cancel = nil

	select {
	case err := <-r.errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}

	for range r.out { // drain what was in flight
	}

	if err := r.m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func (r *running) next(t *testing.T, timeout time.Duration) Event {
	t.Helper()

	select {
	case ev, ok := <-r.out:
		if !ok {
			t.Fatal("Run closed its channel early")
		}

		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}

	panic("unreachable")
}

// coldplugMessages is what the kernel sends, in order, while megaraid_sas
// attaches a controller holding a Talos disk: the PCI device, the module,
// the driver binding, the SCSI host, target and drive, the disk and its
// six partitions (STATE fifth). SEQNUM is left for the kernel to append.
func coldplugMessages() [][]byte {
	msgs := [][]byte{
		uevent("add@"+megaraidPCI, "ACTION=add", "DEVPATH="+megaraidPCI, "SUBSYSTEM=pci",
			"PCI_CLASS=10400", "PCI_ID=1000:0060", "PCI_SUBSYS_ID=1000:1013", "PCI_SLOT_NAME=0000:00:04.0",
			"MODALIAS=pci:v00001000d00000060sv00001000sd00001013bc01sc04i00"),
		uevent("add@/module/megaraid_sas", "ACTION=add", "DEVPATH=/module/megaraid_sas", "SUBSYSTEM=module"),
		uevent("add@"+host0, "ACTION=add", "DEVPATH="+host0, "SUBSYSTEM=scsi", "DEVTYPE=scsi_host"),
		uevent("add@"+host0+"/scsi_host/host0", "ACTION=add", "DEVPATH="+host0+"/scsi_host/host0", "SUBSYSTEM=scsi_host"),
		uevent("add@"+host0+"/target0:2:0", "ACTION=add", "DEVPATH="+host0+"/target0:2:0", "SUBSYSTEM=scsi", "DEVTYPE=scsi_target"),
		uevent("add@"+host0+"/target0:2:0/0:2:0:0", "ACTION=add", "DEVPATH="+host0+"/target0:2:0/0:2:0:0", "SUBSYSTEM=scsi",
			"DEVTYPE=scsi_device", "MODALIAS=scsi:t-0x00"),
		uevent("add@"+sdaPath, "ACTION=add", "DEVPATH="+sdaPath, "SUBSYSTEM=block", "MAJOR=8", "MINOR=0",
			"DEVNAME=sda", "DEVTYPE=disk", "DISKSEQ=1"),
	}

	for i, name := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
		n := fmt.Sprint(i + 1)
		p := sdaPath + "/sda" + n
		msgs = append(msgs, uevent("add@"+p, "ACTION=add", "DEVPATH="+p, "SUBSYSTEM=block", "MAJOR=8", "MINOR="+n,
			"DEVNAME=sda"+n, "DEVTYPE=partition", "DISKSEQ=1", "PARTN="+n, "PARTNAME="+name))
	}

	msgs = append(msgs,
		uevent("add@"+host0+"/target0:2:0/0:2:0:0/scsi_disk/0:2:0:0", "ACTION=add",
			"DEVPATH="+host0+"/target0:2:0/0:2:0:0/scsi_disk/0:2:0:0", "SUBSYSTEM=scsi_disk"),
		uevent("bind@"+host0+"/target0:2:0/0:2:0:0", "ACTION=bind", "DEVPATH="+host0+"/target0:2:0/0:2:0:0",
			"SUBSYSTEM=scsi", "DEVTYPE=scsi_device", "DRIVER=sd", "MODALIAS=scsi:t-0x00"),
		uevent("bind@"+megaraidPCI, "ACTION=bind", "DEVPATH="+megaraidPCI, "SUBSYSTEM=pci", "DRIVER=megaraid_sas",
			"PCI_CLASS=10400", "PCI_ID=1000:0060", "PCI_SUBSYS_ID=1000:1013", "PCI_SLOT_NAME=0000:00:04.0",
			"MODALIAS=pci:v00001000d00000060sv00001000sd00001013bc01sc04i00"),
	)

	return msgs
}

// TestNetnsKernelFormat checks the facts the other tests rest on, on a
// plain socket: the kernel relays an injected message from port 0 to group
// 1, byte for byte, with "SEQNUM=N\0" appended.
func TestNetnsKernelFormat(t *testing.T) {
	inNetns(t)

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		t.Fatal(err)
	}

	defer unix.Close(fd)

	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		t.Fatal(err)
	}

	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}

	msg := coldplugMessages()[11]
	if err := newInjector(t).viaKernel(msg, true); err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, 8192)

	n, from, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		t.Fatal(err)
	}

	sender := from.(*unix.SockaddrNetlink)
	if sender.Pid != 0 || sender.Groups != 1 {
		t.Errorf("sender port %d groups %d, want the kernel's: port 0, group 1", sender.Pid, sender.Groups)
	}

	got := buf[:n]
	rest, injected := bytes.CutPrefix(got, msg)
	digits, seqnum := bytes.CutPrefix(rest, []byte("SEQNUM="))
	digits, terminated := bytes.CutSuffix(digits, []byte{0})

	if _, number := parseUint(digits); !injected || !seqnum || !terminated || !number {
		t.Fatalf("relayed message is not the injected one plus SEQNUM=N and a NUL:\n%q", got)
	}

	t.Logf("relayed from port 0 to group 1 with %q appended", rest)
}

// TestNetnsSequence: a realistic coldplug arrives whole, in order, parsed,
// with the SEQNUM the kernel appended.
func TestNetnsSequence(t *testing.T) {
	inNetns(t)

	r := startMonitor(t, MonitorOptions{}, 64)
	t.Logf("receive queue granted: %d bytes", r.m.ReceiveBuffer())

	in := newInjector(t)
	msgs := coldplugMessages()
	sent := time.Now()

	for i, msg := range msgs {
		// The first one is acknowledged: it proves the kernel accepts injection here.
		if err := in.viaKernel(msg, i == 0); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}

	in.checkNoAcks(t)

	var last uint64

	for i, msg := range msgs {
		got := r.next(t, 5*time.Second)

		want, err := ParseEvent(msg, got.Received)
		if err != nil {
			t.Fatalf("message %d does not parse: %v", i, err)
		}

		if got.Seqnum <= last {
			t.Errorf("event %d: SEQNUM %d after %d; the kernel appends increasing ones", i, got.Seqnum, last)
		}

		last = got.Seqnum
		want.Seqnum = got.Seqnum

		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}

	t.Logf("%d events delivered in order %v after the first send; last SEQNUM %d", len(msgs), time.Since(sent), last)

	select {
	case ev := <-r.out:
		t.Errorf("unexpected extra event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}

	if n := r.m.Rejected(); n != 0 {
		t.Errorf("Rejected() = %d, want 0", n)
	}

	if n := r.m.Overflows(); n != 0 {
		t.Errorf("Overflows() = %d, want 0", n)
	}
}

// TestNetnsOverflow: 100,000 events sent in a burst to a monitor with a
// small receive queue and a slow reader. The kernel drops most of them and
// reports ENOBUFS; the monitor must keep running, resync from sysfs (a fake
// tree holding the STATE partition, as the real /sys would after the
// burst), and the STATE partition, whose uevent is in the middle of the
// burst, must be seen one way or the other.
func TestNetnsOverflow(t *testing.T) {
	inNetns(t)

	const (
		burst   = 100_000
		stateAt = burst / 2
	)

	root := buildSysfs(t, "sysfs.txt")
	r := startMonitor(t, MonitorOptions{ReceiveBufferSize: 64 << 10, SysRoot: root}, 0)
	t.Logf("receive queue granted: %d bytes", r.m.ReceiveBuffer())

	// The slow reader: about 50 µs per event.
	var (
		mu                        sync.Mutex
		netlinkEvents, resyncEvts int
		stateFrom                 []Source
		markers                   = map[string]bool{}
	)

	readerDone := make(chan struct{})

	go func() {
		defer close(readerDone)

		for ev := range r.out {
			mu.Lock()

			switch ev.Source {
			case SourceNetlink:
				netlinkEvents++
			case SourceResync:
				resyncEvts++
			}

			if ev.DevPath == sda5Path && ev.Env["PARTNAME"] == "STATE" {
				stateFrom = append(stateFrom, ev.Source)
			}

			if strings.HasPrefix(ev.DevPath, "/devices/virtual/misc/marker") {
				markers[ev.DevPath] = true
			}

			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
		}
	}()

	in := newInjector(t)
	if err := in.viaKernel(uevent("add@/devices/virtual/misc/probe", "ACTION=add",
		"DEVPATH=/devices/virtual/misc/probe", "SUBSYSTEM=misc"), true); err != nil {
		t.Fatal(err)
	}

	stateMsg := coldplugMessages()[11] // sda5, PARTNAME=STATE
	if !bytes.Contains(stateMsg, []byte("PARTNAME=STATE")) {
		t.Fatal("coldplugMessages changed: message 11 is not the STATE partition")
	}

	start := time.Now()

	for i := range burst {
		msg := stateMsg
		if i != stateAt {
			p := fmt.Sprintf("/devices/platform/jbod/port%d/block/sd%06d", i%60, i)
			msg = uevent("add@"+p, "ACTION=add", "DEVPATH="+p, "SUBSYSTEM=block", "DEVTYPE=disk",
				"DEVNAME=sd"+fmt.Sprintf("%06d", i), "MAJOR=8", fmt.Sprintf("MINOR=%d", i%256), "DISKSEQ=1")
		}

		if err := in.viaKernel(msg, false); err != nil {
			t.Fatalf("burst message %d: %v", i, err)
		}
	}

	burstTime := time.Since(start)
	in.checkNoAcks(t)

	// The monitor must still be alive: send markers until one gets through
	// and the resync is done.
	deadline := time.Now().Add(30 * time.Second)
	alive := false

	for i := 0; time.Now().Before(deadline); i++ {
		p := fmt.Sprintf("/devices/virtual/misc/marker%d", i)
		if err := in.viaKernel(uevent("add@"+p, "ACTION=add", "DEVPATH="+p, "SUBSYSTEM=misc"), false); err != nil {
			t.Fatal(err)
		}

		time.Sleep(100 * time.Millisecond)

		mu.Lock()
		alive = len(markers) > 0
		mu.Unlock()

		if alive && r.m.Resyncs() > 0 {
			break
		}
	}

	total := time.Since(start)

	mu.Lock()
	t.Logf("burst of %d sent in %v; %d delivered from netlink (markers included), %d from %d resync(s); "+
		"overflows %d, rejected %d; STATE seen via %v; %v until the monitor was seen alive after the burst",
		burst, burstTime.Round(time.Millisecond), netlinkEvents, resyncEvts, r.m.Resyncs(),
		r.m.Overflows(), r.m.Rejected(), stateFrom, total.Round(time.Millisecond))
	mu.Unlock()

	if !alive {
		t.Fatal("the monitor delivered nothing after the burst")
	}

	if r.m.Overflows() < 1 {
		t.Error("no overflow reported: the burst did not overflow the receive queue")
	}

	if r.m.Resyncs() < 1 {
		t.Error("no resync after the overflow")
	}

	if r.m.Rejected() != 0 {
		t.Errorf("Rejected() = %d, want 0", r.m.Rejected())
	}

	mu.Lock()
	if len(stateFrom) == 0 {
		t.Error("the STATE partition was never seen, neither from netlink nor from the resync")
	}
	mu.Unlock()

	r.stop(t)
	<-readerDone
}

// TestNetnsForged: messages not sent by the kernel (multicast to group 1
// or unicast to the monitor from a user socket), and garbage or udevd-format
// payloads that the kernel relays, are counted and never delivered.
func TestNetnsForged(t *testing.T) {
	inNetns(t)

	r := startMonitor(t, MonitorOptions{}, 64)
	in := newInjector(t)

	sa, err := unix.Getsockname(r.m.conn.Fd)
	if err != nil {
		t.Fatal(err)
	}

	port := sa.(*unix.SockaddrNetlink).Pid

	forged := uevent("add@/devices/forged/block/sdz/sdz1", "ACTION=add", "DEVPATH=/devices/forged/block/sdz/sdz1",
		"SUBSYSTEM=block", "DEVTYPE=partition", "DEVNAME=sdz1", "PARTN=1", "PARTNAME=STATE", "SEQNUM=999999")

	for i := range 3 {
		if err := in.toGroup(forged); err != nil {
			t.Fatalf("forged multicast %d: %v", i, err)
		}
	}

	if err := in.toPort(port, forged); err != nil {
		t.Fatalf("forged unicast: %v", err)
	}

	// Longer than any uevent (the kernel relays none over 2 KiB): cut off
	// by the receive buffer (MSG_TRUNC).
	long := uevent("add@/devices/forged/block/sdw", "ACTION=add", "DEVPATH=/devices/forged/block/sdw", "SUBSYSTEM=block",
		"PAD="+strings.Repeat("x", MaxEventSize))
	if err := in.toGroup(long); err != nil {
		t.Fatalf("long multicast: %v", err)
	}

	// Relayed by the kernel, so from port 0, but not uevents.
	relayed := [][]byte{
		[]byte("this is not a uevent\x00"),
		append([]byte("libudev\x00\xfe\xed\xca\xfe\x28\x00\x00\x00\x28\x00\x00\x00"+strings.Repeat("\x00", 24)),
			uevent("ACTION=add", "DEVPATH=/devices/forged/block/sdy", "SUBSYSTEM=block")...),
		uevent("add@/devices/forged/block/sdx", "ACTION=remove", "DEVPATH=/devices/forged/block/sdx", "SUBSYSTEM=block"),
	}
	for _, msg := range relayed {
		if err := in.viaKernel(msg, true); err != nil {
			t.Fatal(err)
		}
	}

	const marker = "/devices/virtual/misc/after-forgery"
	if err := in.viaKernel(uevent("add@"+marker, "ACTION=add", "DEVPATH="+marker, "SUBSYSTEM=misc"), true); err != nil {
		t.Fatal(err)
	}

	// Messages are read in order: once the marker is out, the others were handled.
	if ev := r.next(t, 5*time.Second); ev.DevPath != marker {
		t.Fatalf("delivered %+v before the marker", ev)
	}

	if want := 3 + 1 + 1 + len(relayed); r.m.Rejected() != want {
		t.Errorf("Rejected() = %d, want %d", r.m.Rejected(), want)
	}

	t.Logf("rejected %d forged or garbled messages, delivered none", r.m.Rejected())
}

// TestNetnsClose: Close ends a Run blocked on a full channel and on an idle
// socket, at once, and Run cannot start again.
func TestNetnsClose(t *testing.T) {
	inNetns(t)

	for _, busy := range []bool{false, true} {
		m, err := OpenMonitor(MonitorOptions{})
		if err != nil {
			t.Fatal(err)
		}

		out := make(chan Event) // never read
		errc := make(chan error, 1)

		go func() { errc <- m.Run(context.Background(), out) }()

		if busy {
			in := newInjector(t)
			if err := in.viaKernel(uevent("add@/devices/virtual/misc/x", "ACTION=add", "DEVPATH=/devices/virtual/misc/x",
				"SUBSYSTEM=misc"), true); err != nil {
				t.Fatal(err)
			}
		}

		time.Sleep(100 * time.Millisecond)

		start := time.Now()
		if err := m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		if err := <-errc; err != nil {
			t.Fatalf("Run after Close: %v", err)
		}

		if d := time.Since(start); d > 150*time.Millisecond {
			t.Errorf("Close took %v (busy=%v)", d, busy)
		}

		if _, ok := <-out; ok {
			t.Fatal("out not closed")
		}

		if err := m.Run(context.Background(), make(chan Event)); !errors.Is(err, ErrMonitorClosed) {
			t.Fatalf("Run after Close = %v, want ErrMonitorClosed", err)
		}

		if err := m.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
}
