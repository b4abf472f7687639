package certify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/udev"
)

// Method is how a live cycle re-enumerates the controller.
type Method string

// Methods.
const (
	// MethodUnbind unbinds the PCI device from its driver and binds it
	// again (/sys/bus/pci/drivers/DRIVER/{unbind,bind}): the whole probe
	// runs again, firmware handshake included, as at boot.
	MethodUnbind Method = "unbind"
	// MethodRescan deletes the controller's SCSI devices
	// (/sys/bus/scsi/devices/H:C:T:L/delete) and rescans its SCSI hosts
	// (echo "- - -" > /sys/class/scsi_host/hostN/scan): the driver stays
	// bound; only the bus scan is measured.
	MethodRescan Method = "rescan"
)

// Describe names the method in a sentence.
func (m Method) Describe() string {
	switch m {
	case MethodUnbind:
		return "unbind/bind"
	case MethodRescan:
		return "SCSI rescan"
	}

	return string(m)
}

// Defaults of a live run.
const (
	// DefaultTimeout bounds a cycle: the gate's default deadline. A disk
	// that is not back by then would miss a boot too.
	DefaultTimeout = agent.DefaultDeadline
	// DefaultLinger is how long a cycle goes on after every expected device
	// is back, to catch late partitions and unexpected devices.
	DefaultLinger = 2 * time.Second
	// DefaultPause separates cycles, letting udev finish the last one's
	// events.
	DefaultPause = time.Second
)

// EventSource is the part of udev.Monitor a live run uses; tests fake it.
type EventSource interface {
	Run(ctx context.Context, out chan<- udev.Event) error
	Overflows() int
	Close() error
}

// Cycler re-enumerates one storage controller Cycles times and records
// every uevent on and below it. Every field has a production default
// (NewCycler); tests point SysRoot and ProcRoot at a fake tree and replace
// OpenMonitor and Write.
type Cycler struct {
	// Address (PCI, 0000:03:00.0) or Driver selects the controller; with
	// Driver alone exactly one controller must be bound to it.
	Address, Driver string
	Method          Method
	Cycles          int
	// Timeout bounds each cycle, Linger extends it past the last expected
	// arrival, Pause separates cycles.
	Timeout, Linger, Pause time.Duration
	// Force cycles a controller even when CheckSafety finds hazards.
	Force bool
	// SysRoot and ProcRoot locate sysfs and procfs.
	SysRoot, ProcRoot string
	// Now is the clock; it must be the one the event source stamps
	// events with.
	Now func() time.Time
	// OpenMonitor opens the uevent source; it must be listening when it
	// returns.
	OpenMonitor func() (EventSource, error)
	// Write writes a sysfs attribute.
	Write func(file string, data []byte) error
	// Progress shows the cycles as they go (nil: nothing).
	Progress *Progress
	// Log receives warnings and what restoring the controller did.
	Log io.Writer
}

// NewCycler returns a Cycler with production defaults.
func NewCycler() *Cycler {
	c := &Cycler{
		Method: MethodUnbind, Cycles: 5, Timeout: DefaultTimeout, Linger: DefaultLinger, Pause: DefaultPause,
		SysRoot: udev.DefaultSysRoot, ProcRoot: "/proc", Now: time.Now, Write: writeSysfs, Log: io.Discard,
	}
	c.OpenMonitor = func() (EventSource, error) {
		return udev.OpenMonitor(udev.MonitorOptions{SysRoot: c.SysRoot, Now: c.Now})
	}

	return c
}

// ErrInterrupted is wrapped by Run's error when ctx ended the run; the
// cycles done so far are returned with it.
var ErrInterrupted = errors.New("interrupted")

// Run checks the controller is safe to cycle, then cycles it. It returns
// the timelines of the cycles run and what the run overrode; with ctx
// cancelled (SIGINT, SIGTERM) it stops after rebinding, returning the
// cycles done and an error wrapping ErrInterrupted. Whatever happens, the
// controller is left bound (unbind) or rescanned (rescan); if that fails
// the error says how to do it by hand. A refusal is a *RefusedError, before
// anything is touched.
func (c *Cycler) Run(ctx context.Context) (tl *Timelines, info *LiveInfo, err error) {
	if c.Cycles < 1 {
		return nil, nil, errors.New("at least one cycle is needed")
	}

	t, err := findTarget(c.SysRoot, c.ProcRoot, c.Address, c.Driver)
	if err != nil {
		return nil, nil, err
	}

	if err := c.checkMethod(t); err != nil {
		return nil, nil, err
	}

	info = &LiveInfo{
		Method: c.Method, Cycles: c.Cycles,
		Timeout: agent.Duration(c.Timeout), Linger: agent.Duration(c.Linger), Pause: agent.Duration(c.Pause),
	}

	if info.Forced, err = c.checkSafety(t); err != nil {
		return nil, nil, err
	}

	mon, err := c.OpenMonitor()
	if err != nil {
		return nil, nil, fmt.Errorf("live cycling listens to uevents: %w", err)
	}

	events, stopMonitor := c.listen(mon)

	defer func() {
		if rerr := c.restore(t); rerr != nil {
			err = errors.Join(err, rerr)
		}

		stopMonitor()

		info.Overflows = mon.Overflows()
		mon.Close()
	}()

	tl, err = c.cycles(ctx, t, events)
	info.Interrupted = errors.Is(err, ErrInterrupted)

	return tl, info, err
}

// checkMethod tells why the method cannot re-enumerate t, if it cannot.
func (c *Cycler) checkMethod(t *target) error {
	switch c.Method {
	case MethodUnbind:
		if t.ctl.Driver == "" {
			return fmt.Errorf("%s is bound to no driver: nothing to unbind", t.ctl.Address)
		}
	case MethodRescan:
		if len(t.hosts) == 0 {
			return fmt.Errorf("%s (%s) has no SCSI host to rescan: use --method unbind", t.ctl.Address, orNone(t.ctl.Driver))
		}
	default:
		return fmt.Errorf("unknown method %q: unbind or rescan", c.Method)
	}

	return nil
}

// checkSafety refuses t when cycling it would pull something from under
// the running system, unless Force is set; it returns the hazards Force
// overrode.
func (c *Cycler) checkSafety(t *target) (forced []Hazard, err error) {
	hazards, err := CheckSafety(c.SysRoot, c.ProcRoot, t.blocks)
	if err != nil {
		return nil, fmt.Errorf("cannot tell whether %s is safe to cycle: %w", t.ctl.Address, err)
	}

	if len(hazards) == 0 {
		return nil, nil
	}

	if !c.Force {
		return nil, &RefusedError{Address: t.ctl.Address, Driver: t.ctl.Driver, Hazards: hazards}
	}

	for _, h := range hazards {
		fmt.Fprintf(c.Log, "raid-settle certify: --force: cycling although %s\n", h)
	}

	return hazards, nil
}

// listen runs mon until stop is called, and returns the channel it sends
// the uevents on. The monitor outlives the run's context: restoring the
// controller is recorded too.
func (c *Cycler) listen(mon EventSource) (events <-chan udev.Event, stop func()) {
	ctx, stop := context.WithCancel(context.Background())
	ch := make(chan udev.Event, 4096)

	go func() {
		if err := mon.Run(ctx, ch); err != nil && ctx.Err() == nil {
			fmt.Fprintf(c.Log, "raid-settle certify: uevent monitor stopped: %v\n", err)
		}
	}()

	return ch, stop
}

// cycles runs the cycles one after another, Pause apart, until every one
// is done, one fails to re-enumerate the controller, or ctx ends (the
// error then wraps ErrInterrupted).
func (c *Cycler) cycles(ctx context.Context, t *target, events <-chan udev.Event) (*Timelines, error) {
	ct := &ControllerTimeline{Identity: t.identity, Expected: t.expected}
	tl := &Timelines{Source: SourceLive, Controllers: []*ControllerTimeline{ct}}

	c.Progress.Begin(t, c)

	for i := 1; i <= c.Cycles; i++ {
		if i > 1 && !sleep(ctx, c.Pause) {
			break
		}

		if ctx.Err() != nil {
			break
		}

		cycle, err := c.cycle(ctx, t, i, events)
		ct.Cycles = append(ct.Cycles, cycle)
		tl.Cycles = i

		c.Progress.CycleDone(cycle, t)

		if err != nil {
			return tl, err
		}
	}

	c.Progress.End()

	if ctx.Err() != nil {
		return tl, fmt.Errorf("%w after %d of %d cycles; %s is bound", ErrInterrupted, tl.Cycles, c.Cycles, t.ctl.Address)
	}

	return tl, nil
}

// cycle runs one re-enumeration and records it until every expected device
// is back (plus Linger), the Timeout, or ctx ends. An error means the
// controller could not be re-enumerated: the run stops.
func (c *Cycler) cycle(ctx context.Context, t *target, index int, events <-chan udev.Event) (Cycle, error) {
	// Events still queued belong to the previous cycle's tail.
	drain(events, nil)

	rec := c.startRecorder(t, index)

	// Take the controller's devices away.
	c.Progress.Phase(index, "removing")

	start := c.Now()
	err := c.remove(t)

	drain(events, rec)

	if err != nil {
		return c.failed(rec, err), fmt.Errorf("failed to remove %s's devices: %w", t.ctl.Address, err)
	}

	// Bring them back. This runs even when ctx has ended meanwhile: it is
	// what leaves the controller bound.
	c.Progress.Phase(index, "re-enumerating")

	ref := c.Now()
	rec.SetReference(ref, c.Method.reference())
	err = c.reenumerate(t)

	rec.cycle.UnbindMS = ms(ref.Sub(start))
	rec.cycle.ActionMS = ms(c.Now().Sub(ref))

	if err != nil {
		return c.failed(rec, err), fmt.Errorf("failed to re-enumerate %s: %w", t.ctl.Address, err)
	}

	return c.await(ctx, rec, index, ref, events), nil
}

// startRecorder starts recording cycle index of t. A rescan keeps the SCSI
// hosts, so device ids count from the lowest of them; a rebind makes new
// hosts, which the recorder finds as they come.
func (c *Cycler) startRecorder(t *target, index int) *recorder {
	hostBase := -1
	if c.Method == MethodRescan {
		hostBase = lowestHost(hostNumbersOf(t.hosts))
	}

	rec := newRecorder(t.ctl, t.expected, index, hostBase)
	rec.serial = func(devpath string) string { return readAttr(filepath.Join(c.SysRoot, devpath, "device/wwid")) }

	return rec
}

// remove takes t's devices away: it unbinds the driver, or deletes the SCSI
// devices (one already gone is no error).
func (c *Cycler) remove(t *target) error {
	switch c.Method {
	case MethodUnbind:
		return c.Write(c.driverFile(t, "unbind"), []byte(t.ctl.Address))
	case MethodRescan:
		var err error

		for _, dev := range t.scsiDevices {
			if e := c.Write(filepath.Join(c.SysRoot, "bus/scsi/devices", dev, "delete"), []byte("1")); e != nil && !isMissing(e) {
				err = errors.Join(err, e)
			}
		}

		return err
	}

	return nil
}

// reenumerate brings t's devices back: it binds the driver, or scans every
// SCSI host.
func (c *Cycler) reenumerate(t *target) error {
	switch c.Method {
	case MethodUnbind:
		return c.Write(c.driverFile(t, "bind"), []byte(t.ctl.Address))
	case MethodRescan:
		var err error

		for _, h := range t.hosts {
			if e := c.Write(c.scanFile(h), []byte(scanEverything)); e != nil {
				err = errors.Join(err, e)
			}
		}

		return err
	}

	return nil
}

// reference is what the cycles of method m are timed from.
func (m Method) reference() Reference {
	if m == MethodRescan {
		return RefScanWrite
	}

	return RefBindWrite
}

// failed closes a cycle that err cut short.
func (c *Cycler) failed(rec *recorder, err error) Cycle {
	cycle := rec.Finish(c.Now(), false)
	cycle.Error = err.Error()

	return cycle
}

// await records the devices coming back, from ref on, until every expected
// one is back and Linger has passed, the Timeout, or ctx ends.
func (c *Cycler) await(ctx context.Context, rec *recorder, index int, ref time.Time, events <-chan udev.Event) Cycle {
	deadline := ref.Add(c.Timeout)

	for {
		now := c.Now()

		wake := deadline
		if rec.Complete() {
			until := rec.LastArrival().Add(c.Linger)
			if !now.Before(until) {
				return rec.Finish(now, false)
			}

			if until.Before(wake) {
				wake = until
			}
		}

		if !now.Before(deadline) {
			return rec.Finish(now, true)
		}

		// Refresh the progress line now and then.
		timer := time.NewTimer(min(wake.Sub(now), 250*time.Millisecond))

		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // the monitor stopped: wait out the bound

				break
			}

			rec.Add(ev)
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			drain(events, rec)

			return c.interrupted(rec)
		}

		timer.Stop()

		disks, wantDisks, parts, wantParts := rec.Counts()
		c.Progress.Waiting(index, disks, wantDisks, parts, wantParts, c.Now().Sub(ref))
	}
}

// interrupted closes a cycle whose watch ctx ended early: what has not come
// back yet is unobserved, not lost (see Analyze).
func (c *Cycler) interrupted(rec *recorder) Cycle {
	cycle := rec.Finish(c.Now(), false)
	if !rec.Complete() {
		cycle.Partial = true
		cycle.Error = "interrupted before every device was back"
	}

	return cycle
}

// restore leaves the controller as it was found: bound to its driver, or
// with its SCSI devices rescanned.
func (c *Cycler) restore(t *target) error {
	switch c.Method {
	case MethodUnbind:
		if bound(c.SysRoot, t.ctl.Address) {
			return nil
		}

		fmt.Fprintf(c.Log, "raid-settle certify: %s is unbound: binding it to %s again\n", t.ctl.Address, t.ctl.Driver)

		file := c.driverFile(t, "bind")
		if err := c.Write(file, []byte(t.ctl.Address)); err != nil {
			return fmt.Errorf("%s is left unbound (%w): run `echo %s > %s`", t.ctl.Address, err, t.ctl.Address, file)
		}
	case MethodRescan:
		root, err := filepath.EvalSymlinks(c.SysRoot)
		if err != nil {
			return err
		}

		now := scsiDevicesUnder(root, t.ctl.DevPath)
		if len(now) >= len(t.scsiDevices) {
			return nil
		}

		fmt.Fprintf(c.Log, "raid-settle certify: %s shows %d of its %d SCSI devices: rescanning\n", t.ctl.Address, len(now), len(t.scsiDevices))

		var errs []error

		for _, h := range t.hosts {
			file := c.scanFile(h)
			if err := c.Write(file, []byte(scanEverything)); err != nil {
				errs = append(errs, fmt.Errorf("rescan %s by hand (`echo \"%s\" > %s`): %w", h, scanEverything, file, err))
			}
		}

		return errors.Join(errs...)
	}

	return nil
}

// scanEverything, written to a SCSI host's scan attribute, scans every
// channel, target and LUN: "-" is the wildcard (drivers/scsi/scsi_sysfs.c,
// scsi_scan).
const scanEverything = "- - -"

// driverFile is the attribute name ("bind", "unbind") of t's PCI driver.
func (c *Cycler) driverFile(t *target, name string) string {
	return filepath.Join(c.SysRoot, "bus/pci/drivers", t.ctl.Driver, name)
}

// scanFile is the scan attribute of the SCSI host ("host0").
func (c *Cycler) scanFile(host string) string {
	return filepath.Join(c.SysRoot, "class/scsi_host", host, "scan")
}

// drain takes the events queued without blocking, recording each in rec,
// or dropping it when rec is nil.
func drain(events <-chan udev.Event, rec *recorder) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}

			if rec != nil {
				rec.Add(ev)
			}
		default:
			return
		}
	}
}

// sleep waits d, or less if ctx ends; it reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}

	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
