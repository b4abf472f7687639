package certify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/internal/fstree"
	"github.com/raid-settle/raid-settle/udev"
)

// buildTree builds the fake sysfs and procfs described by testdata/NAME,
// followed by the extra entries (see fstree.Build), and returns the roots
// of both.
func buildTree(t testing.TB, name string, extra ...string) (sysRoot, procRoot string) {
	t.Helper()

	root := fstree.Build(t, filepath.Join("testdata", name), extra...)

	return filepath.Join(root, "sys"), filepath.Join(root, "proc")
}

// fakeMonitor stands in for udev.Monitor: the fake kernel sends on ch.
type fakeMonitor struct {
	ch     chan udev.Event
	closed bool
}

func newFakeMonitor() *fakeMonitor { return &fakeMonitor{ch: make(chan udev.Event, 1024)} }

func (m *fakeMonitor) Run(ctx context.Context, out chan<- udev.Event) error {
	defer close(out)

	for {
		select {
		case ev := <-m.ch:
			out <- ev
		case <-ctx.Done():
			return nil
		}
	}
}

func (m *fakeMonitor) Overflows() int { return 0 }

func (m *fakeMonitor) Close() error {
	m.closed = true

	return nil
}

const percDevPath = "/devices/pci0000:17/0000:17:00.0/0000:18:00.0"

// fakeKernel answers the Cycler's sysfs writes on the PERC of
// testdata/sysfs-perc.txt as the kernel would: unbind removes the driver
// link and sends remove events; bind restores it and announces a new SCSI
// host with the virtual drives arriving after their delays; delete and
// scan do the same for a rescan, on the same host.
type fakeKernel struct {
	t       *testing.T
	sysRoot string
	mon     *fakeMonitor

	mu     sync.Mutex
	writes []string
	host   int
	cycle  int
	// delays[cycle-1] maps a virtual drive's target ("0", "1") to its
	// arrival after the bind; a drive absent from the map never returns.
	delays []map[string]time.Duration
	// failBinds fails that many bind writes with EBUSY.
	failBinds int
	// onWrite runs after each write is recorded (tests cancel from it).
	onWrite func(rel string)
}

func (k *fakeKernel) Write(file string, data []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()

	rel := strings.TrimPrefix(file, k.sysRoot)
	k.writes = append(k.writes, rel+" "+string(data))

	defer func() {
		if k.onWrite != nil {
			k.onWrite(rel)
		}
	}()

	now := time.Now()
	driverLink := filepath.Join(k.sysRoot, "devices/pci0000:17/0000:17:00.0/0000:18:00.0/driver")

	switch {
	case strings.HasSuffix(rel, "/unbind"):
		if err := os.Remove(driverLink); err != nil {
			return err
		}

		k.removeEvents(now)
		k.send(udev.Event{Action: udev.ActionUnbind, DevPath: percDevPath, Subsystem: "pci", Received: now})
	case strings.HasSuffix(rel, "/bind"):
		if k.failBinds > 0 {
			k.failBinds--

			return syscall.EBUSY
		}

		if err := os.Symlink("../../../../bus/pci/drivers/megaraid_sas", driverLink); err != nil {
			return err
		}

		k.host++
		k.arrive(now)
		k.send(udev.Event{Action: udev.ActionBind, DevPath: percDevPath, Subsystem: "pci", Driver: "megaraid_sas", Received: now.Add(5 * time.Millisecond)})
	case strings.HasSuffix(rel, "/delete"):
		dev := filepath.Base(filepath.Dir(rel))
		if err := os.Remove(filepath.Join(k.sysRoot, "bus/scsi/devices", dev)); err != nil {
			return err
		}
	case strings.HasSuffix(rel, "/scan"):
		for _, vd := range []string{"0", "1"} {
			link := filepath.Join(k.sysRoot, "bus/scsi/devices", fmt.Sprintf("0:2:%s:0", vd))
			target := fmt.Sprintf("../../../devices/pci0000:17/0000:17:00.0/0000:18:00.0/host0/target0:2:%s/0:2:%s:0", vd, vd)

			if _, err := os.Lstat(link); err != nil {
				if err := os.Symlink(target, link); err != nil {
					return err
				}
			}
		}

		k.arrive(now)
	}

	return nil
}

func (k *fakeKernel) send(ev udev.Event) {
	ev.Source = udev.SourceNetlink
	k.mon.ch <- ev
}

func (k *fakeKernel) removeEvents(now time.Time) {
	host := fmt.Sprintf("%s/host%d", percDevPath, k.host)

	for i, name := range []string{"sda", "sdb"} {
		disk := fmt.Sprintf("%s/target%d:2:%d/%d:2:%d:0/block/%s", host, k.host, i, k.host, i, name)
		k.send(udev.Event{Action: udev.ActionRemove, DevPath: disk + "/" + name + "1", Subsystem: "block", DevType: "partition", DevName: name + "1", Received: now})
		k.send(udev.Event{Action: udev.ActionRemove, DevPath: disk, Subsystem: "block", DevType: "disk", DevName: name, Received: now})
	}

	k.send(udev.Event{Action: udev.ActionRemove, DevPath: host, Subsystem: "scsi", DevType: "scsi_host", Received: now})
}

// arrive announces the current cycle's virtual drives, stamped with their
// delays after now, at once: the Cycler times them by their stamps.
func (k *fakeKernel) arrive(now time.Time) {
	k.cycle++

	delays := map[string]time.Duration{"0": 40 * time.Millisecond, "1": 90 * time.Millisecond}
	if k.cycle <= len(k.delays) {
		delays = k.delays[k.cycle-1]
	}

	host := fmt.Sprintf("%s/host%d", percDevPath, k.host)
	k.send(udev.Event{Action: udev.ActionAdd, DevPath: host, Subsystem: "scsi", DevType: "scsi_host", Received: now.Add(time.Millisecond)})

	letter := 'a'

	for _, vd := range []string{"0", "1"} {
		d, ok := delays[vd]
		if !ok {
			continue
		}

		name := "sd" + string(letter)
		letter++
		at := now.Add(d)
		sdev := fmt.Sprintf("%s/target%d:2:%s/%d:2:%s:0", host, k.host, vd, k.host, vd)

		k.send(udev.Event{Action: udev.ActionAdd, DevPath: sdev, Subsystem: "scsi", DevType: "scsi_device", Received: at.Add(-time.Millisecond)})
		k.send(udev.Event{Action: udev.ActionAdd, DevPath: sdev + "/block/" + name, Subsystem: "block", DevType: "disk", DevName: name, Received: at})
		k.send(udev.Event{Action: udev.ActionAdd, DevPath: sdev + "/block/" + name + "/" + name + "1", Subsystem: "block", DevType: "partition", DevName: name + "1",
			Env: map[string]string{"PARTN": "1"}, Received: at.Add(time.Millisecond)})
	}
}

func (k *fakeKernel) Writes() []string {
	k.mu.Lock()
	defer k.mu.Unlock()

	return append([]string(nil), k.writes...)
}

// newTestCycler returns a Cycler on a fake tree with a fake kernel, quick
// bounds, and no progress output.
func newTestCycler(t *testing.T, extra ...string) (*Cycler, *fakeKernel) {
	t.Helper()

	sysRoot, procRoot := buildTree(t, "sysfs-perc.txt", extra...)
	mon := newFakeMonitor()
	k := &fakeKernel{t: t, sysRoot: sysRoot, mon: mon}

	c := NewCycler()
	c.SysRoot, c.ProcRoot = sysRoot, procRoot
	c.Driver = "megaraid_sas"
	c.Cycles = 3
	c.Timeout, c.Linger, c.Pause = 400*time.Millisecond, 30*time.Millisecond, 0
	c.OpenMonitor = func() (EventSource, error) { return mon, nil }
	c.Write = k.Write
	c.Log = &strings.Builder{}

	return c, k
}
