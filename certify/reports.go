package certify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
	"github.com/raid-settle/raid-settle/agent/gatelog"
	"github.com/raid-settle/raid-settle/udev"
)

// ErrNoTimeline is wrapped when a file is neither a gate report nor a
// kernel log with the gate's lines.
var ErrNoTimeline = errors.New("no timeline")

// boot is one boot read from a report or a kernel log: its controllers,
// each with the cycle it went through.
type boot struct {
	source string
	// observedMS is how long the gate watched, since its start.
	observedMS  int64
	decision    string
	partial     bool
	controllers []bootController
}

// bootController is one controller of a boot, and its cycle.
type bootController struct {
	identity Identity
	cycle    Cycle
}

// ReadFiles reads gate reports (report.json) and kernel logs holding the
// gate's "raid-settle: " lines (`talosctl dmesg`, `dmesg`, /dev/kmsg), one
// boot per report and one per "started" line in a log, and returns the
// cycles of every controller they show, in the order given. Reports and
// logs cannot be mixed: logs name disks by kernel name only, so the same
// disk would count as two.
func ReadFiles(files []string) (*Timelines, error) {
	var (
		boots []boot
		kinds = map[Source]string{}
	)

	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}

		name := filepath.Base(file)

		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
			b, err := parseReport(name, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}

			boots = append(boots, b)
			kinds[SourceReports] = file
		} else {
			bs, err := parseDmesg(name, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}

			boots = append(boots, bs...)
			kinds[SourceDmesg] = file
		}
	}

	if len(kinds) > 1 {
		return nil, fmt.Errorf("%s is a gate report and %s a kernel log: certify them apart (a log names disks by kernel name, a report by their place on the controller)",
			kinds[SourceReports], kinds[SourceDmesg])
	}

	t := assemble(boots)
	t.Inputs = files

	for s := range kinds {
		t.Source = s
	}

	return t, nil
}

// parseReport reads one gate report (or a hand-written timeline with
// "timeline" and optionally "controllers" and "decision").
func parseReport(name string, data []byte) (boot, error) {
	var rep agent.Report

	if err := json.Unmarshal(data, &rep); err != nil {
		return boot{}, fmt.Errorf("%w: not a gate report: %v", ErrNoTimeline, err)
	}

	if rep.Timeline == nil {
		return boot{}, fmt.Errorf("%w: no \"timeline\" in the report", ErrNoTimeline)
	}

	b := boot{source: name, observedMS: rep.HeldMS}

	if rep.Decision != nil {
		b.decision = string(rep.Decision.Decision)
		b.partial = endsEarly(rep.Decision.Decision)
	}

	// The gate watched until its last input at least.
	for _, in := range rep.Timeline {
		b.observedMS = max(b.observedMS, in.AtMS)
	}

	ctls := reportControllers(rep)

	list := make([]udev.Controller, len(ctls))
	for i, s := range ctls {
		list[i] = s.ctl
	}

	for _, s := range ctls {
		events := s.eventsIn(rep.Timeline, list)
		cycle := b.cycle(s.firstMS, s.bindMS, reportArrivals(events, s.ctl.DevPath), eventRecords(events))
		b.controllers = append(b.controllers, bootController{identity: identityOf(s.ctl), cycle: cycle})
	}

	return b, nil
}

// reportController is a controller as a report's list and its PCI uevents
// show it.
type reportController struct {
	ctl udev.Controller
	// firstMS is when it first appeared in the timeline (0 when it was
	// only listed), and bindMS when its first bind uevent came (-1:
	// never).
	firstMS, bindMS int64
}

// reportControllers returns the controllers the report lists, then those
// only its PCI uevents show, each with the latest driver a uevent named.
func reportControllers(rep agent.Report) []*reportController {
	var (
		ctls  []*reportController
		byDev = map[string]*reportController{}
	)

	add := func(c udev.Controller, at int64) *reportController {
		s, ok := byDev[c.DevPath]
		if !ok {
			s = &reportController{ctl: c, firstMS: at, bindMS: -1}
			byDev[c.DevPath] = s
			ctls = append(ctls, s)
		}

		return s
	}

	for _, c := range rep.Controllers {
		add(c, math.MaxInt64)
	}

	for _, in := range rep.Timeline {
		if in.Kind != agent.InputEvent || in.Event == nil {
			continue
		}

		c, ok := udev.ControllerFromEvent(*in.Event)
		if !ok {
			continue
		}

		s := add(c, in.AtMS)
		s.firstMS = min(s.firstMS, in.AtMS)

		if c.Driver != "" {
			s.ctl.Driver = c.Driver
		}

		if in.Event.Action == udev.ActionBind && s.bindMS < 0 {
			s.bindMS = in.AtMS
		}
	}

	for _, s := range ctls {
		if s.firstMS == math.MaxInt64 {
			s.firstMS = 0 // listed at the start, never in the timeline
		}
	}

	return ctls
}

// eventsIn returns the uevents of timeline that concern the controller:
// those on or below it rather than below another of ctls, and the loading
// of its driver's module.
func (s *reportController) eventsIn(timeline []agent.TimedInput, ctls []udev.Controller) []agent.TimedInput {
	var events []agent.TimedInput

	for _, in := range timeline {
		if in.Kind != agent.InputEvent || in.Event == nil {
			continue
		}

		ev := in.Event
		if udev.ControllerFor(ev.DevPath, ctls) == s.ctl.DevPath ||
			ev.Subsystem == "module" && ev.Action == udev.ActionAdd && s.ctl.Driver != "" && filepath.Base(ev.DevPath) == s.ctl.Driver {
			events = append(events, in)
		}
	}

	return events
}

// reportArrivals returns the first arrival of each disk and partition
// among the events of the controller at ctlDevPath, in timeline order and
// at the timeline's times.
func reportArrivals(events []agent.TimedInput, ctlDevPath string) []Arrival {
	var hosts []int
	for _, in := range events {
		hosts = append(hosts, HostNumbers(in.Event.DevPath, ctlDevPath)...)
	}

	hostBase := lowestHost(hosts)

	var arrivals []Arrival

	seen := map[string]bool{}

	for _, in := range events {
		ev := *in.Event
		if !isArrival(ev) {
			continue
		}

		id := DeviceID(ev.DevPath, ctlDevPath, hostBase, partitionNumber(ev))
		if seen[id] {
			continue
		}

		seen[id] = true
		arrivals = append(arrivals, Arrival{
			ID: id, Name: kernelName(ev), Type: ev.DevType, PartName: partName(ev), AtMS: in.AtMS,
			PresentAtStart: ev.Source == udev.SourceSysfs,
		})
	}

	return arrivals
}

// eventRecords records the uevents at the timeline's times.
func eventRecords(events []agent.TimedInput) []EventRecord {
	records := make([]EventRecord, len(events))
	for i, in := range events {
		records[i] = recordEvent(*in.Event, time.Duration(in.AtMS)*time.Millisecond)
	}

	return records
}

// cycle makes the cycle of a controller in boot b that first appeared at
// firstMS and was bound at bindMS (-1: never), from its arrivals and
// events at the boot's times. The cycle's times count from its reference:
// the bind when it came before the first arrival, else the first
// appearance.
func (b boot) cycle(firstMS, bindMS int64, arrivals []Arrival, events []EventRecord) Cycle {
	ref, refMS := RefFirstSeen, firstMS
	if bindMS >= 0 && (len(arrivals) == 0 || bindMS <= arrivals[0].AtMS) {
		ref, refMS = RefBindUevent, bindMS
	}

	cycle := Cycle{
		Source: b.source, Reference: ref, ReferenceMS: refMS, ObservedMS: max(b.observedMS-refMS, 0),
		Partial: b.partial, Decision: b.decision, Arrivals: []Arrival{}, Events: []EventRecord{}, BindUeventMS: -1,
	}

	if bindMS >= 0 {
		cycle.BindUeventMS = bindMS - refMS
	}

	for _, a := range arrivals {
		a.AtMS = max(a.AtMS-refMS, 0)
		cycle.Arrivals = append(cycle.Arrivals, a)
	}

	for _, e := range events {
		e.AtMS -= refMS
		cycle.Events = append(cycle.Events, e)
	}

	return cycle
}

// endsEarly reports whether the gate stops watching before every controller
// is quiet when it decides d.
func endsEarly(d agent.Decision) bool {
	switch d {
	case agent.DecisionStateVerified, agent.DecisionStateInvalid, agent.DecisionDisabled:
		return true
	}

	return false
}

// partName is a partition's GPT name, from the uevent.
func partName(ev udev.Event) string {
	if n := ev.Env["PARTNAME"]; n != "" {
		return n
	}

	return ev.Env["ID_PART_ENTRY_NAME"]
}

// identityOf describes a controller as a report or a uevent shows it.
func identityOf(c udev.Controller) Identity {
	id := Identity{
		Address: c.Address, DevPath: c.DevPath, Kind: string(c.Kind), Driver: c.Driver,
		PCIID: fmt.Sprintf("%04x:%04x", c.Vendor, c.Device),
	}

	if c.Class != 0 {
		id.Class = fmt.Sprintf("0x%06x", c.Class)
	}

	if c.SubVendor != 0 || c.SubDevice != 0 {
		id.SubsystemID = fmt.Sprintf("%04x:%04x", c.SubVendor, c.SubDevice)
	}

	return id
}

// parseDmesg reads the gate's lines out of a kernel log: `talosctl dmesg`
// ("NODE: user:  notice: [TIME]: raid-settle: ..."), `dmesg`, or raw
// /dev/kmsg records. Each "started" line begins a boot. The lines carry
// times to a tenth of a second and disks by kernel name only; partitions
// other than STATE are not logged.
func parseDmesg(name string, data []byte) ([]boot, error) {
	var boots []*logBoot

	for line := range strings.Lines(string(data)) {
		text, l, ok := gatelog.Find(line)
		if !ok {
			continue
		}

		if _, started := l.(gatelog.Started); started || len(boots) == 0 {
			boots = append(boots, &logBoot{byAddr: map[string]*logController{}, diskCtl: map[string]string{}})

			if started {
				continue
			}
		}

		boots[len(boots)-1].add(text, l)
	}

	if len(boots) == 0 {
		return nil, fmt.Errorf("%w: neither a gate report (JSON) nor a kernel log with %q lines", ErrNoTimeline, gatelog.Prefix)
	}

	out := make([]boot, len(boots))

	for i, lb := range boots {
		source := name
		if len(boots) > 1 {
			source = fmt.Sprintf("%s#%d", name, i+1)
		}

		out[i] = lb.finish(source)
	}

	return out, nil
}

// logBoot gathers the gate's lines of one boot in a kernel log.
type logBoot struct {
	b       boot
	ctls    []*logController
	byAddr  map[string]*logController
	diskCtl map[string]string // disk name -> controller address
	states  []EventRecord     // STATE partition lines, attributed by finish
}

// add takes in the gate's line l, logged as text.
func (lb *logBoot) add(text string, l gatelog.Line) {
	switch l := l.(type) {
	case gatelog.Controller:
		at := l.At.Milliseconds()
		c, known := lb.controller(Identity{Address: l.Address, Kind: l.Kind, PCIID: fmt.Sprintf("%04x:%04x", l.Vendor, l.Device)}, at)

		if l.Driver != "" {
			// Seen without a driver before: this line is the bind.
			if known && c.id.Driver == "" && c.bindMS < 0 {
				c.bindMS = at
			}

			c.id.Driver = l.Driver
		}

		c.log(at, text)
	case gatelog.Disk:
		if l.Address == "" {
			return // no storage controller: nothing to certify
		}

		at := l.At.Milliseconds()
		c, _ := lb.controller(Identity{Address: l.Address, Driver: l.Driver}, at)
		lb.diskCtl[l.Name] = l.Address

		if !slices.ContainsFunc(c.arrivals, func(a Arrival) bool { return a.Name == l.Name }) {
			c.arrivals = append(c.arrivals, Arrival{ID: l.Name, Name: l.Name, Type: TypeDisk, AtMS: at})
		}

		c.log(at, text)
	case gatelog.StatePartition:
		lb.states = append(lb.states, EventRecord{AtMS: l.At.Milliseconds(), Action: "log", DevName: l.Partition, Line: text})
	case gatelog.Released:
		lb.b.decision = l.Decision
		lb.b.partial = endsEarly(agent.Decision(l.Decision))
		lb.b.observedMS = l.Held.Milliseconds()
	}
}

// controller returns the boot's controller at id.Address, and whether an
// earlier line named it; a new one is described by id and first seen at.
func (lb *logBoot) controller(id Identity, at int64) (c *logController, known bool) {
	if c, ok := lb.byAddr[id.Address]; ok {
		return c, true
	}

	c = &logController{id: id, firstMS: at, bindMS: -1}
	lb.byAddr[id.Address] = c
	lb.ctls = append(lb.ctls, c)

	return c, false
}

// finish gives each STATE line to its disk's controller and returns the
// boot, named source.
func (lb *logBoot) finish(source string) boot {
	lb.b.source = source

	for _, st := range lb.states {
		disk, n := splitPartitionName(st.DevName)
		if c := lb.byAddr[lb.diskCtl[disk]]; c != nil {
			c.arrivals = append(c.arrivals, Arrival{ID: disk + "-part" + strconv.Itoa(n), Name: st.DevName, Type: TypePartition, PartName: "STATE", AtMS: st.AtMS})
			c.events = append(c.events, st)
		}
	}

	for _, c := range lb.ctls {
		lb.b.observedMS = max(lb.b.observedMS, c.lastMS())
	}

	for _, c := range lb.ctls {
		lb.b.controllers = append(lb.b.controllers, c.boot(lb.b))
	}

	return lb.b
}

// logController is a controller as the gate's log lines show it in one boot.
type logController struct {
	id       Identity
	firstMS  int64
	bindMS   int64
	arrivals []Arrival
	events   []EventRecord
}

// log records the gate's line text, logged at.
func (c *logController) log(at int64, text string) {
	c.events = append(c.events, EventRecord{AtMS: at, Action: "log", Line: text})
}

// lastMS is when the latest line about the controller was logged.
func (c *logController) lastMS() int64 {
	var last int64
	for _, e := range c.events {
		last = max(last, e.AtMS)
	}

	return last
}

// boot returns the controller's part of boot b.
func (c *logController) boot(b boot) bootController {
	slices.SortStableFunc(c.arrivals, func(x, y Arrival) int { return int(x.AtMS - y.AtMS) })
	slices.SortStableFunc(c.events, func(x, y EventRecord) int { return int(x.AtMS - y.AtMS) })

	return bootController{identity: c.id, cycle: b.cycle(c.firstMS, c.bindMS, c.arrivals, c.events)}
}

// assemble groups the boots' controllers by PCI address and id, numbering
// the cycles in boot order. A controller absent from a boot gets a cycle
// with nothing in it, which Analyze counts against every device.
func assemble(boots []boot) *Timelines {
	t := &Timelines{Cycles: len(boots)}
	byKey := map[string]*ControllerTimeline{}

	key := func(id Identity) string { return id.Address + "/" + id.PCIID }

	for _, b := range boots {
		for _, bc := range b.controllers {
			k := key(bc.identity)
			if _, ok := byKey[k]; !ok {
				byKey[k] = &ControllerTimeline{Identity: bc.identity}
				t.Controllers = append(t.Controllers, byKey[k])
			}

			ct := byKey[k]
			if ct.Identity.Driver == "" {
				ct.Identity.Driver = bc.identity.Driver
			}
		}
	}

	for i, b := range boots {
		for _, ct := range t.Controllers {
			idx := slices.IndexFunc(b.controllers, func(bc bootController) bool { return key(bc.identity) == key(ct.Identity) })

			var c Cycle
			if idx >= 0 {
				c = b.controllers[idx].cycle
			} else {
				c = Cycle{
					Source: b.source, Reference: RefFirstSeen, ObservedMS: b.observedMS, Partial: b.partial, Decision: b.decision,
					Arrivals: []Arrival{}, Events: []EventRecord{}, BindUeventMS: -1, Error: "controller not seen in this boot",
				}
			}

			c.Index = i + 1
			ct.Cycles = append(ct.Cycles, c)
		}
	}

	return t
}

// Select keeps the controllers at PCI address and bound to driver ("" for
// either means any). It fails when none is left.
func (t *Timelines) Select(address, driver string) error {
	var kept []*ControllerTimeline

	for _, ct := range t.Controllers {
		if (address == "" || strings.EqualFold(ct.Identity.Address, address)) && (driver == "" || ct.Identity.Driver == driver) {
			kept = append(kept, ct)
		}
	}

	if len(kept) == 0 {
		var have []string
		for _, ct := range t.Controllers {
			have = append(have, fmt.Sprintf("%s (%s)", ct.Identity.Address, orNone(ct.Identity.Driver)))
		}

		return fmt.Errorf("no controller matches (the inputs show: %s)", orNone(strings.Join(have, ", ")))
	}

	t.Controllers = kept

	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}

	return s
}
