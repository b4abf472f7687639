package diagnose

import (
	"slices"
	"sort"
	"time"
)

// nodeTimeline is one node's recognised lines on one time axis.
type nodeTimeline struct {
	node string
	// events: those put on the axis sorted by time, then the others in
	// reading order.
	events []event
	// origin is the axis time shown as 0; originName says what it is.
	origin     int64
	originName string
	// wallOffset turns an axis time into Unix ns (wall = at - wallOffset)
	// when hasWall.
	wallOffset int64
	hasWall    bool
	// unaligned counts events whose clock could not be tied to the axis.
	unaligned int
	// axis is the clock the others were put on.
	axis clock
}

// dedupeWindow is how close two copies of one message (the kernel log's and
// machined's) must be to count as one line; an untimed copy takes the time
// of the line before it, hence the longer window.
const (
	dedupeWindow       = time.Second
	dedupeWindowApprox = 5 * time.Second
)

// buildTimelines groups events by node and puts each node's on one axis.
// Lines without a node prefix belong to the only node when there is one.
func buildTimelines(ps []parsed) ([]*nodeTimeline, []string) {
	var notes []string

	named := map[string]bool{}

	for _, p := range ps {
		for _, e := range p.events {
			if e.node != "" {
				named[e.node] = true
			}
		}
	}

	only := ""
	if len(named) == 1 {
		for n := range named {
			only = n
		}
	}

	groups := map[string][]event{}
	gateStart := map[string]int64{}
	merged := false

	for _, p := range ps {
		for _, e := range p.events {
			if e.node == "" {
				e.node = only
			}

			groups[e.node] = append(groups[e.node], e)

			if p.gateStart != 0 {
				if g, ok := gateStart[e.node]; ok && g != p.gateStart {
					merged = true
				}

				gateStart[e.node] = p.gateStart
			}
		}
	}

	if merged {
		notes = append(notes, "more than one gate report for one node: their timelines are merged as if from one boot")
	}

	if len(named) > 1 && len(groups[""]) > 0 {
		notes = append(notes, "lines without a node prefix, with several nodes in the captures: they are diagnosed as a node of their own")
	}

	nodes := make([]string, 0, len(groups))
	for n := range groups {
		nodes = append(nodes, n)
	}

	slices.Sort(nodes)

	tls := make([]*nodeTimeline, 0, len(nodes))
	for _, n := range nodes {
		tls = append(tls, align(n, groups[n], gateStart[n]))
	}

	return tls, compactNotes(notes)
}

func compactNotes(notes []string) []string {
	slices.Sort(notes)

	return slices.Compact(notes)
}

// align puts a node's events on one axis: the clock most of them use. The
// other clocks are tied to it by messages found on both (the same Talos
// line in the kernel log and in machined's log, the same raid-settle line in
// the kernel log and in a gate report), by the median of their differences;
// a gate report's own start time ties it to the wall clock otherwise.
func align(node string, evs []event, gateStart int64) *nodeTimeline {
	tl := &nodeTimeline{node: node, axis: axisClock(evs)}

	offset, known := clockOffsets(evs, tl.axis, gateStart)
	tl.place(evs, offset, known)

	if known[clockWall] {
		tl.wallOffset, tl.hasWall = offset[clockWall], true
	}

	tl.setOrigin(known[clockBoot], offset[clockBoot])

	return tl
}

// axisClock is the clock most exactly timed events use; clockNone when
// none has a time.
func axisClock(evs []event) clock {
	counts := map[clock]int{}

	for _, e := range evs {
		if e.st.clock != clockNone && !e.st.approx {
			counts[e.st.clock]++
		}
	}

	axis := clockNone
	for _, c := range allClocks {
		if counts[c] > counts[axis] {
			axis = c
		}
	}

	return axis
}

// clockOffsets ties each clock it can to axis: offset[c] is what to add to
// a time on clock c to put it on the axis, for each c that is known. A
// clock tied to another already tied counts too, hence the rounds.
func clockOffsets(evs []event, axis clock, gateStart int64) (offset map[clock]int64, known map[clock]bool) {
	offset = map[clock]int64{}
	known = map[clock]bool{}

	if axis != clockNone {
		known[axis] = true
	}

	anchors := anchorTable(evs)

	for range numClocks {
		for _, c := range allClocks {
			if known[c] {
				continue
			}

			for _, k := range append([]clock{axis}, allClocks...) {
				if !known[k] || k == c {
					continue
				}

				if d, ok := anchors.offset(c, k); ok {
					offset[c], known[c] = d+offset[k], true

					break
				}
			}
		}

		// Without a common message, the two wall clocks (the kernel's, as
		// talosctl computes it, and machined's) are taken as equal, and a
		// gate report's start time ties it to them.
		switch {
		case known[clockWall] && !known[clockLog]:
			offset[clockLog], known[clockLog] = offset[clockWall], true
		case known[clockLog] && !known[clockWall]:
			offset[clockWall], known[clockWall] = offset[clockLog], true
		}

		if gateStart != 0 {
			switch {
			case !known[clockGate] && known[clockLog]:
				offset[clockGate], known[clockGate] = gateStart+offset[clockLog], true
			case known[clockGate] && !known[clockLog]:
				offset[clockLog], known[clockLog] = offset[clockGate]-gateStart, true
			}
		}
	}

	return offset, known
}

// place puts the events whose clock is known on the axis and counts the
// others; it keeps those on the axis in time order, the others after them
// in reading order, and one copy of a message seen in two captures.
func (tl *nodeTimeline) place(evs []event, offset map[clock]int64, known map[clock]bool) {
	for _, e := range evs {
		if e.st.clock != clockNone && known[e.st.clock] {
			e.at, e.aligned = e.st.ns+offset[e.st.clock], true
		} else {
			tl.unaligned++
		}

		tl.events = append(tl.events, e)
	}

	sort.SliceStable(tl.events, func(i, j int) bool {
		a, b := tl.events[i], tl.events[j]
		if a.aligned != b.aligned {
			return a.aligned
		}

		if a.aligned && a.at != b.at {
			return a.at < b.at
		}

		return a.seq < b.seq
	})

	tl.events = dedupe(tl.events)
}

// setOrigin picks the time shown as 0: the kernel's boot when known, else
// the gate's start for a gate-only timeline, else the first line.
func (tl *nodeTimeline) setOrigin(bootKnown bool, bootOffset int64) {
	for _, e := range tl.events {
		if e.kind == kindBoot && e.aligned {
			tl.origin, tl.originName = e.at-e.st.ns*boolInt(e.st.clock == clockBoot), "kernel boot"

			return
		}
	}

	switch {
	case bootKnown:
		tl.origin, tl.originName = bootOffset, "kernel boot"
	case tl.axis == clockGate:
		tl.origin, tl.originName = 0, "raid-settle gate start"
	default:
		tl.originName = "first line"

		for _, e := range tl.events {
			if e.aligned {
				tl.origin = e.at

				break
			}
		}
	}
}

// atS is e's time in seconds since the axis origin, nil when e is not on
// the axis.
func (tl *nodeTimeline) atS(e *event) *float64 {
	if !e.aligned {
		return nil
	}

	s := seconds(e.at - tl.origin)

	return &s
}

// wallTime is e's wall-clock time (RFC 3339), "" when unknown.
func (tl *nodeTimeline) wallTime(e *event) string {
	if !e.aligned || !tl.hasWall {
		return ""
	}

	return time.Unix(0, e.at-tl.wallOffset).UTC().Format(time.RFC3339Nano)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}

	return 0
}

// dedupe drops the second copy of a message seen in two captures.
func dedupe(evs []event) []event {
	type seen struct {
		at     int64
		approx bool
	}

	last := map[string]seen{}
	out := evs[:0]

	for _, e := range evs {
		if e.key != "" && e.aligned {
			k := e.kind.String() + "\x00" + e.key
			if s, ok := last[k]; ok {
				window := int64(dedupeWindow)
				if s.approx || e.st.approx {
					window = int64(dedupeWindowApprox)
				}

				if e.at-s.at <= window {
					continue
				}
			}

			last[k] = seen{at: e.at, approx: e.st.approx}
		}

		out = append(out, e)
	}

	return out
}

// anchors maps a message to its time on each clock, for messages seen once
// on that clock.
type anchors map[string]*anchor

type anchor struct {
	ns    [numClocks]int64
	count [numClocks]int
}

func anchorTable(evs []event) anchors {
	t := anchors{}

	for _, e := range evs {
		if e.key == "" || e.st.approx || e.st.clock == clockNone || len(e.key) < 12 {
			continue
		}

		a := t[e.key]
		if a == nil {
			a = &anchor{}
			t[e.key] = a
		}

		a.ns[e.st.clock] = e.st.ns
		a.count[e.st.clock]++
	}

	return t
}

// offset returns what to add to a time on clock c to get a time on clock k,
// from the messages seen exactly once on each.
func (t anchors) offset(c, k clock) (int64, bool) {
	var diffs []int64

	for _, a := range t {
		if a.count[c] == 1 && a.count[k] == 1 {
			diffs = append(diffs, a.ns[k]-a.ns[c])
		}
	}

	if len(diffs) == 0 {
		return 0, false
	}

	slices.Sort(diffs)

	return diffs[len(diffs)/2], true
}
