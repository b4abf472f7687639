package certify

import (
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/udev"
)

// recorder follows one live cycle of a controller: it keeps the uevents on
// and below the controller, and notes when each disk and partition comes
// back. It is pure: times come from the events (Received) and from the
// reference the caller sets.
type recorder struct {
	ctl      udev.Controller
	expected []string
	cycle    Cycle
	// ref is the cycle's reference (zero until SetReference); events
	// before it are kept in pre.
	ref time.Time
	pre []udev.Event
	// hostBase is the lowest SCSI host number of the cycle; fixedBase
	// keeps it (a rescan keeps its hosts).
	hostBase  int
	fixedBase bool
	arrived   map[string]bool
	last      time.Time
	// serial reads a disk's wwid (nil: none).
	serial func(devpath string) string
}

// newRecorder starts cycle index of ctl, which should bring back expected.
// hostBase < 0 means "the lowest host number the cycle shows".
func newRecorder(ctl udev.Controller, expected []string, index, hostBase int) *recorder {
	r := &recorder{
		ctl: ctl, expected: expected, arrived: map[string]bool{},
		cycle:    Cycle{Index: index, Source: string(SourceLive), Arrivals: []Arrival{}, Events: []EventRecord{}, BindUeventMS: -1},
		hostBase: hostBase, fixedBase: hostBase >= 0,
	}
	if !r.fixedBase {
		r.hostBase = math.MaxInt
	}

	return r
}

// mine reports whether ev concerns the controller: the controller itself,
// anything below it, or its driver's module.
func (r *recorder) mine(ev udev.Event) bool {
	if ev.DevPath == r.ctl.DevPath || strings.HasPrefix(ev.DevPath, r.ctl.DevPath+"/") {
		return true
	}

	return ev.Subsystem == "module" && r.ctl.Driver != "" && path.Base(ev.DevPath) == strings.ReplaceAll(r.ctl.Driver, "-", "_")
}

// SetReference sets the cycle's time zero: the bind (or scan) write.
func (r *recorder) SetReference(t time.Time, ref Reference) {
	r.ref = t
	r.cycle.Reference = ref
	r.last = t

	for _, ev := range r.pre {
		r.cycle.Events = append(r.cycle.Events, recordEvent(ev, ev.Received.Sub(t)))
	}

	r.pre = nil
}

// Add records ev and returns the arrival it is, if it is the first add of
// a disk or partition since the reference.
func (r *recorder) Add(ev udev.Event) *Arrival {
	if !r.mine(ev) {
		return nil
	}

	if r.ref.IsZero() {
		r.pre = append(r.pre, ev)

		return nil
	}

	at := ev.Received.Sub(r.ref)
	r.cycle.Events = append(r.cycle.Events, recordEvent(ev, at))

	if ev.Subsystem == "pci" && ev.DevPath == r.ctl.DevPath && ev.Action == udev.ActionBind && r.cycle.BindUeventMS < 0 {
		r.cycle.BindUeventMS = max(ms(at), 0)
	}

	// Only additions count: a removal may still name the host of the
	// enumeration before.
	if !r.fixedBase && ev.Action == udev.ActionAdd {
		for _, h := range HostNumbers(ev.DevPath, r.ctl.DevPath) {
			r.hostBase = min(r.hostBase, h)
		}
	}

	if !isArrival(ev) {
		return nil
	}

	id := DeviceID(ev.DevPath, r.ctl.DevPath, r.hostBase, partitionNumber(ev))
	if r.arrived[id] {
		return nil
	}

	r.arrived[id] = true
	r.last = ev.Received

	a := Arrival{ID: id, Name: kernelName(ev), Type: ev.DevType, PartName: partName(ev), AtMS: max(ms(at), 0)}
	if r.serial != nil && ev.DevType == TypeDisk {
		a.Serial = r.serial(ev.DevPath)
	}

	r.cycle.Arrivals = append(r.cycle.Arrivals, a)

	return &r.cycle.Arrivals[len(r.cycle.Arrivals)-1]
}

// Complete reports whether every expected device is back.
func (r *recorder) Complete() bool {
	for _, id := range r.expected {
		if !r.arrived[id] {
			return false
		}
	}

	return true
}

// LastArrival is when the latest device came back (the reference before
// any did).
func (r *recorder) LastArrival() time.Time { return r.last }

// Counts returns how many expected disks and partitions are back, and how
// many there are.
func (r *recorder) Counts() (disks, wantDisks, parts, wantParts int) {
	for _, id := range r.expected {
		isPart := strings.Contains(id, "-part")

		switch {
		case isPart && r.arrived[id]:
			parts++
			wantParts++
		case isPart:
			wantParts++
		case r.arrived[id]:
			disks++
			wantDisks++
		default:
			wantDisks++
		}
	}

	return disks, wantDisks, parts, wantParts
}

// Missing returns the expected devices not back yet.
func (r *recorder) Missing() []string {
	var out []string

	for _, id := range r.expected {
		if !r.arrived[id] {
			out = append(out, id)
		}
	}

	return out
}

// Finish closes the cycle, watched until end.
func (r *recorder) Finish(end time.Time, timedOut bool) Cycle {
	c := r.cycle
	c.TimedOut = timedOut

	if !r.ref.IsZero() {
		c.ObservedMS = max(ms(end.Sub(r.ref)), 0)
	}

	slices.SortStableFunc(c.Arrivals, func(a, b Arrival) int { return int(a.AtMS - b.AtMS) })

	return c
}
