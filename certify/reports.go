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

	// Pass 1: the controllers, from the report's list and the PCI events.
	type ctlState struct {
		ctl     udev.Controller
		firstMS int64
		bindMS  int64
	}

	var (
		ctls  []*ctlState
		byDev = map[string]*ctlState{}
	)

	add := func(c udev.Controller, at int64) *ctlState {
		s, ok := byDev[c.DevPath]
		if !ok {
			s = &ctlState{ctl: c, firstMS: at, bindMS: -1}
			byDev[c.DevPath] = s
			ctls = append(ctls, s)
		}

		return s
	}

	for _, c := range rep.Controllers {
		add(c, math.MaxInt64)
	}

	for _, in := range rep.Timeline {
		b.observedMS = max(b.observedMS, in.AtMS)

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

	list := make([]udev.Controller, len(ctls))
	for i, s := range ctls {
		list[i] = s.ctl

		if s.firstMS == math.MaxInt64 {
			s.firstMS = 0 // listed at the start, never in the timeline
		}
	}

	// Pass 2: each controller's events, hosts and arrivals.
	for _, s := range ctls {
		var (
			events   []agent.TimedInput
			hostBase = math.MaxInt
		)

		for _, in := range rep.Timeline {
			if in.Kind != agent.InputEvent || in.Event == nil {
				continue
			}

			ev := in.Event
			mine := udev.ControllerFor(ev.DevPath, list) == s.ctl.DevPath ||
				ev.Subsystem == "module" && ev.Action == udev.ActionAdd && s.ctl.Driver != "" && filepath.Base(ev.DevPath) == s.ctl.Driver

			if !mine {
				continue
			}

			events = append(events, in)

			for _, h := range HostNumbers(ev.DevPath, s.ctl.DevPath) {
				hostBase = min(hostBase, h)
			}
		}

		if hostBase == math.MaxInt {
			hostBase = 0
		}

		var arrivals []Arrival

		seen := map[string]bool{}

		for _, in := range events {
			ev := in.Event
			if ev.Subsystem != "block" || ev.Action != udev.ActionAdd || (ev.DevType != TypeDisk && ev.DevType != TypePartition) {
				continue
			}

			id := DeviceID(ev.DevPath, s.ctl.DevPath, hostBase, partitionNumber(*ev))
			if seen[id] {
				continue
			}

			seen[id] = true

			devName := ev.DevName
			if devName == "" {
				devName = filepath.Base(ev.DevPath)
			}

			arrivals = append(arrivals, Arrival{
				ID: id, Name: devName, Type: ev.DevType, PartName: partName(*ev), AtMS: in.AtMS,
				PresentAtStart: ev.Source == udev.SourceSysfs,
			})
		}

		ref, refMS := RefFirstSeen, s.firstMS
		if s.bindMS >= 0 && (len(arrivals) == 0 || s.bindMS <= arrivals[0].AtMS) {
			ref, refMS = RefBindUevent, s.bindMS
		}

		cycle := Cycle{
			Source: name, Reference: ref, ReferenceMS: refMS, ObservedMS: max(b.observedMS-refMS, 0),
			Partial: b.partial, Decision: b.decision, Arrivals: []Arrival{}, Events: []EventRecord{}, BindUeventMS: -1,
		}

		if s.bindMS >= 0 {
			cycle.BindUeventMS = s.bindMS - refMS
		}

		for _, a := range arrivals {
			a.AtMS = max(a.AtMS-refMS, 0)
			cycle.Arrivals = append(cycle.Arrivals, a)
		}

		for _, in := range events {
			r := recordEvent(*in.Event, 0)
			r.AtMS = in.AtMS - refMS
			cycle.Events = append(cycle.Events, r)
		}

		b.controllers = append(b.controllers, bootController{identity: identityOf(s.ctl), cycle: cycle})
	}

	return b, nil
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
	type logBoot struct {
		b       boot
		ctls    []*logController
		byAddr  map[string]*logController
		diskCtl map[string]string // disk name -> controller address
		states  []EventRecord     // STATE partition lines, attributed at the end
	}

	var (
		boots []*logBoot
		cur   *logBoot
	)

	begin := func() {
		cur = &logBoot{byAddr: map[string]*logController{}, diskCtl: map[string]string{}}
		boots = append(boots, cur)
	}

	for line := range strings.Lines(string(data)) {
		text, l, ok := gatelog.Find(line)
		if !ok {
			continue
		}

		if _, started := l.(gatelog.Started); started || cur == nil {
			begin()

			if started {
				continue
			}
		}

		switch l := l.(type) {
		case gatelog.Controller:
			at := l.At.Milliseconds()

			c, ok := cur.byAddr[l.Address]
			if !ok {
				c = &logController{id: Identity{Address: l.Address, Kind: l.Kind, PCIID: fmt.Sprintf("%04x:%04x", l.Vendor, l.Device)}, firstMS: at, bindMS: -1}
				cur.byAddr[l.Address] = c
				cur.ctls = append(cur.ctls, c)
			}

			if l.Driver != "" {
				if ok && c.id.Driver == "" && c.bindMS < 0 {
					c.bindMS = at
				}

				c.id.Driver = l.Driver
			}

			c.events = append(c.events, EventRecord{AtMS: at, Action: "log", Line: text})
		case gatelog.Disk:
			if l.Address == "" {
				continue // no storage controller: nothing to certify
			}

			at := l.At.Milliseconds()

			c, ok := cur.byAddr[l.Address]
			if !ok {
				c = &logController{id: Identity{Address: l.Address, Driver: l.Driver}, firstMS: at, bindMS: -1}
				cur.byAddr[l.Address] = c
				cur.ctls = append(cur.ctls, c)
			}

			cur.diskCtl[l.Name] = l.Address

			if !slices.ContainsFunc(c.arrivals, func(a Arrival) bool { return a.Name == l.Name }) {
				c.arrivals = append(c.arrivals, Arrival{ID: l.Name, Name: l.Name, Type: TypeDisk, AtMS: at})
			}

			c.events = append(c.events, EventRecord{AtMS: at, Action: "log", Line: text})
		case gatelog.StatePartition:
			cur.states = append(cur.states, EventRecord{AtMS: l.At.Milliseconds(), Action: "log", DevName: l.Partition, Line: text})
		case gatelog.Released:
			cur.b.decision = l.Decision
			cur.b.partial = endsEarly(agent.Decision(l.Decision))
			cur.b.observedMS = l.Held.Milliseconds()
		}
	}

	var out []boot

	for i, lb := range boots {
		lb.b.source = name
		if len(boots) > 1 {
			lb.b.source = fmt.Sprintf("%s#%d", name, i+1)
		}

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

		out = append(out, lb.b)
	}

	if len(out) == 0 {
		return nil, fmt.Errorf("%w: neither a gate report (JSON) nor a kernel log with %q lines", ErrNoTimeline, gatelog.Prefix)
	}

	return out, nil
}

// logController is a controller as the gate's log lines show it in one boot.
type logController struct {
	id       Identity
	firstMS  int64
	bindMS   int64
	arrivals []Arrival
	events   []EventRecord
}

func (c *logController) lastMS() int64 {
	var last int64
	for _, e := range c.events {
		last = max(last, e.AtMS)
	}

	return last
}

func (c *logController) boot(b boot) bootController {
	slices.SortStableFunc(c.arrivals, func(x, y Arrival) int { return int(x.AtMS - y.AtMS) })
	slices.SortStableFunc(c.events, func(x, y EventRecord) int { return int(x.AtMS - y.AtMS) })

	ref, refMS := RefFirstSeen, c.firstMS
	if c.bindMS >= 0 && (len(c.arrivals) == 0 || c.bindMS <= c.arrivals[0].AtMS) {
		ref, refMS = RefBindUevent, c.bindMS
	}

	cycle := Cycle{
		Source: b.source, Reference: ref, ReferenceMS: refMS, ObservedMS: max(b.observedMS-refMS, 0),
		Partial: b.partial, Decision: b.decision, Arrivals: []Arrival{}, Events: []EventRecord{}, BindUeventMS: -1,
	}

	if c.bindMS >= 0 {
		cycle.BindUeventMS = c.bindMS - refMS
	}

	for _, a := range c.arrivals {
		a.AtMS = max(a.AtMS-refMS, 0)
		cycle.Arrivals = append(cycle.Arrivals, a)
	}

	for _, e := range c.events {
		e.AtMS -= refMS
		cycle.Events = append(cycle.Events, e)
	}

	return bootController{identity: c.id, cycle: cycle}
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
