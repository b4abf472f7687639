package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// VerdictID names a conclusion. The ids are stable: scripts match on them.
type VerdictID string

// Verdicts, in the order they are reported.
const (
	// LateDisk: STATE's disk or partition appeared after Talos had decided
	// it was missing (the race raid-settle exists for).
	LateDisk VerdictID = "late-disk"
	// StateCorrupt: STATE is there, but its filesystem is corrupt or its
	// superblock is not recognised.
	StateCorrupt VerdictID = "state-corrupt"
	// NoConfig: STATE was found and mounted, but held no machine config.
	NoConfig VerdictID = "no-config"
	// NoState: no STATE at all, on any disk the node saw.
	NoState VerdictID = "no-state"
	// Healthy: STATE was there in time and its config loaded (or the gate
	// verified it); nothing here explains a maintenance mode.
	Healthy VerdictID = "healthy"
	// InsufficientEvidence: the captures do not say; the verdict lists what
	// to capture next.
	InsufficientEvidence VerdictID = "insufficient-evidence"
	// MisspelledSettleTime: talos.devices.settle_time (plural) is on the
	// kernel command line; Talos ignores it.
	MisspelledSettleTime VerdictID = "misspelled-settle-time"
)

// verdictOrder is the order of verdicts in a result.
var verdictOrder = []VerdictID{LateDisk, StateCorrupt, NoConfig, NoState, Healthy, InsufficientEvidence, MisspelledSettleTime}

// Verdict is one conclusion about one node, with the lines it rests on.
type Verdict struct {
	ID   VerdictID `json:"id"`
	Node string    `json:"node,omitempty"`
	// Summary is one sentence; Explanation says how it was reached.
	Summary     string `json:"summary"`
	Explanation string `json:"explanation,omitempty"`
	// LatenessS (late-disk) is how long after the decision point STATE's
	// disk or partition appeared, in seconds.
	LatenessS *float64 `json:"lateness_s,omitempty"`
	// DecisionAtS and AppearedAtS (late-disk) are the two times, in seconds
	// since the node's origin (see NodeInfo).
	DecisionAtS *float64 `json:"decision_at_s,omitempty"`
	AppearedAtS *float64 `json:"appeared_at_s,omitempty"`
	// SettleTimeS (late-disk) is the talos.device.settle_time value that
	// would have covered this boot, with a margin, in whole seconds.
	SettleTimeS int `json:"settle_time_s,omitempty"`
	// Disk and Partition are STATE's, when the captures name them.
	Disk      string `json:"disk,omitempty"`
	Partition string `json:"partition,omitempty"`
	// Recommendations are what to do next, most useful first.
	Recommendations []string   `json:"recommendations,omitempty"`
	Evidence        []Evidence `json:"evidence"`
}

// Evidence is one quoted line.
type Evidence struct {
	// Role says what the line shows ("decision", "appeared", ...).
	Role string `json:"role"`
	File string `json:"file"`
	// Line is 1-based; 0 when the value has no line (a report given as a
	// struct, not a file).
	Line int `json:"line"`
	// AtS is the time in seconds since the node's origin; absent when the
	// line could not be put on the node's clock.
	AtS *float64 `json:"at_s,omitempty"`
	// Time is the wall-clock time (RFC 3339), when known.
	Time string `json:"time,omitempty"`
	// Approx is set when the line had no time and took its predecessor's.
	Approx bool `json:"approx,omitempty"`
	// Text is the line as captured; Message is its message alone.
	Text    string `json:"text"`
	Message string `json:"message"`
}

// Settle-time recommendation: the measured need plus half of it, at least
// settleMinMargin, rounded up to settleStep; Talos documents 10m as the
// argument's maximum.
const (
	settleMinMargin = 5 * time.Second
	settleStep      = 5 * time.Second
	settleMax       = 10 * time.Minute
)

// minTalosPartitions is the fewest partitions a Talos system disk has (UKI
// installs: EFI, META, STATE, EPHEMERAL; older ones add BIOS and BOOT).
const minTalosPartitions = 4

// Quoting limits: lines per verdict, distinct XFS messages, and lines of
// each other kind of error (the same error repeats at every retry).
const (
	maxEvidence   = 12
	maxXFSQuotes  = 4
	maxQuotesEach = 2
)

// facts are what a node's timeline says, gathered in one pass.
type facts struct {
	tl *nodeTimeline

	cmdlines      []*event
	misspelled    []*event // command lines with the plural, and the gate's note
	settleArg     string   // talos.device.settle_time= value on the command line
	settleArgLine *event
	quietArg      string // raid_settle.quiet= value on the command line
	settleTime    *event
	settleBad     *event

	udevReady, udevStarted *event

	stateMissing, stateFound, stateReady *event
	stateFailed                          []*event
	maintenance                          *event
	configLoaded, configLookup           *event
	stateMounts                          []*event
	xfsErrors, repairs, stateErrors      []*event
	xfsClean                             []*event

	gateSeen      bool
	gateRelease   *event
	gateStatePart *event
	gateChecks    []*event

	disks map[string]*event // first sign of each whole disk
	parts map[string]*event // first sign of each partition
	scans []*event          // partition scans, in order

	statePart     string
	statePartFrom *event
}

func gather(tl *nodeTimeline) *facts {
	f := &facts{tl: tl, disks: map[string]*event{}, parts: map[string]*event{}}
	hctl := map[string]*event{} // scsi H:C:T:L -> Direct-Access line

	firstAligned := func(slot **event, e *event) {
		if *slot == nil || !(*slot).aligned && e.aligned {
			*slot = e
		}
	}

	seenDisk := func(name string, e *event) {
		if name == "" {
			return
		}

		if cur, ok := f.disks[name]; !ok || !cur.aligned && e.aligned {
			f.disks[name] = e
		}
	}

	for i := range tl.events {
		e := &tl.events[i]

		switch e.kind {
		case kindCmdline:
			f.cmdlines = append(f.cmdlines, e)

			for _, arg := range strings.Fields(e.detail) {
				key, value, _ := strings.Cut(arg, "=")

				switch key {
				case "talos.devices.settle_time":
					f.misspelled = append(f.misspelled, e)
				case "talos.device.settle_time":
					f.settleArg, f.settleArgLine = value, e
				case "raid_settle.quiet":
					f.quietArg = value
				}
			}
		case kindGateMisspelled:
			f.misspelled = append(f.misspelled, e)
			f.gateSeen = true
		case kindSettleTime:
			firstAligned(&f.settleTime, e)
		case kindSettleBad:
			firstAligned(&f.settleBad, e)
		case kindUdevReady:
			firstAligned(&f.udevReady, e)
		case kindUdevStarted:
			firstAligned(&f.udevStarted, e)
		case kindVolume:
			if e.subject != "STATE" {
				continue
			}

			switch e.to {
			case "missing":
				firstAligned(&f.stateMissing, e)
			case "located", "provisioned", "prepared", "ready":
				firstAligned(&f.stateFound, e)

				if e.to == "ready" {
					firstAligned(&f.stateReady, e)
				}

				f.setStatePart(e.location, e)
			case "failed":
				f.stateFailed = append(f.stateFailed, e)
				f.setStatePart(e.location, e)
			}
		case kindStateMount:
			f.stateMounts = append(f.stateMounts, e)
			f.setStatePart(e.location, e)
		case kindStateError:
			f.stateErrors = append(f.stateErrors, e)
		case kindMaintenance:
			firstAligned(&f.maintenance, e)
		case kindConfigLoaded:
			firstAligned(&f.configLoaded, e)
		case kindConfigLookup:
			firstAligned(&f.configLookup, e)
		case kindXFSError:
			f.xfsErrors = append(f.xfsErrors, e)
		case kindXFSClean:
			f.xfsClean = append(f.xfsClean, e)
		case kindRepair:
			f.repairs = append(f.repairs, e)
		case kindGate:
			f.gateSeen = true
		case kindGateRelease:
			f.gateSeen = true
			firstAligned(&f.gateRelease, e)
		case kindGateStatePart:
			f.gateSeen = true
			firstAligned(&f.gateStatePart, e)
			f.setStatePart(e.subject, e)
		case kindGateStateCheck:
			f.gateSeen = true
			f.gateChecks = append(f.gateChecks, e)
			f.setStatePart(e.subject, e)
		case kindSCSIDevice:
			if _, ok := hctl[e.subject]; !ok {
				hctl[e.subject] = e
			}
		case kindDisk:
			if s, ok := hctl[e.detail]; ok && s.aligned && e.aligned && s.at < e.at {
				seenDisk(e.subject, s)
			} else {
				seenDisk(e.subject, e)
			}
		case kindPartitions:
			seenDisk(e.subject, e)

			if e.detail == "" {
				f.scans = append(f.scans, e)
			}

			for _, p := range e.parts {
				if cur, ok := f.parts[p]; !ok || !cur.aligned && e.aligned {
					f.parts[p] = e
				}
			}
		}
	}

	return f
}

// setStatePart records where STATE is, trusting the first source that says.
func (f *facts) setStatePart(loc string, e *event) {
	loc = strings.TrimPrefix(loc, "/dev/")
	if loc == "" || f.statePart != "" {
		return
	}

	f.statePart, f.statePartFrom = loc, e
}

// decided reports whether Talos (or the gate) concluded there was no
// STATE, and returns the decision point: Talos's own "waiting -> missing",
// else udevd settling (Talos looks right after), else the entry into
// maintenance mode, else the gate's release without STATE.
func (f *facts) decision() (d *event, what string, ok bool) {
	noStateGate := f.gateRelease != nil && (f.gateRelease.subject == "no-state" || f.gateRelease.subject == "deadline")
	decided := f.stateMissing != nil || f.maintenance != nil || noStateGate

	switch {
	case f.stateMissing != nil && f.stateMissing.aligned:
		return f.stateMissing, "Talos reported STATE missing", decided
	case f.udevReady != nil && f.udevReady.aligned:
		return f.udevReady, "udevd settled (Talos looks for STATE right after)", decided
	case f.udevStarted != nil && f.udevStarted.aligned:
		return f.udevStarted, "udevd settled (Talos looks for STATE right after)", decided
	case f.maintenance != nil && f.maintenance.aligned:
		return f.maintenance, "Talos entered maintenance mode", decided
	case noStateGate && f.gateRelease.aligned:
		return f.gateRelease, "raid-settle released the boot without STATE", decided
	}

	return nil, "", decided
}

// analyse applies the verdict rules to one node.
func analyse(tl *nodeTimeline) []Verdict {
	f := gather(tl)

	var out []Verdict

	corrupt := f.corrupt()
	late := f.late()

	if late != nil {
		out = append(out, *late)
	}

	if corrupt != nil {
		out = append(out, *corrupt)
	}

	if late == nil && corrupt == nil {
		if v := f.noConfig(); v != nil {
			out = append(out, *v)
		} else if v := f.noState(); v != nil {
			out = append(out, *v)
		} else if v := f.healthy(); v != nil {
			out = append(out, *v)
		}
	}

	if len(out) == 0 {
		out = append(out, f.insufficient())
	}

	if v := f.misspelledVerdict(); v != nil {
		out = append(out, *v)
	}

	for i := range out {
		out[i].Node = tl.node
		slices.SortStableFunc(out[i].Evidence, byTime)
	}

	return out
}

// stateLocatedBeforeDecision reports whether Talos found STATE before it
// could have decided it missing.
func (f *facts) configFromState() bool {
	return f.configLoaded != nil && slices.Contains(strings.Split(f.configLoaded.detail, ","), "state")
}

func (f *facts) late() *Verdict {
	if f.configFromState() && f.maintenance == nil {
		return nil // it was found in time after all
	}

	d, what, decided := f.decision()
	if d == nil || !decided {
		return nil
	}

	// A gate that verified STATE before releasing cannot have raced it.
	if f.gateRelease != nil && f.gateRelease.subject == "state-verified" && f.stateMissing == nil {
		return nil
	}

	// Neither can a STATE Talos found without reporting it missing first.
	if f.stateFound != nil && (f.stateMissing == nil || before(f.stateFound, f.stateMissing)) {
		return nil
	}

	var (
		a         *event
		disk      string
		known     = f.statePart != ""
		foundNote string
	)

	if known {
		disk = diskOf(f.statePart)

		for _, e := range []*event{f.parts[f.statePart], f.disks[disk]} {
			if e != nil && e.aligned {
				a = e

				break
			}
		}

		if (a == nil || a.at <= d.at) && f.stateFound != nil && f.stateFound.aligned && f.stateFound.at > d.at {
			if a != nil {
				foundNote = fmt.Sprintf(" The kernel listed it at %s already; Talos's probe found it only at %s.", f.fmtAt(a), f.fmtAt(f.stateFound))
			}

			a = f.stateFound
		}
	} else {
		// Without STATE's location, a disk counts when its partition table
		// looks like Talos's (EFI, META, STATE, EPHEMERAL at least), so that
		// a USB stick plugged in later is not taken for it.
		for _, e := range f.tl.events {
			if e.aligned && e.at > d.at && e.kind == kindPartitions && len(e.parts) >= minTalosPartitions {
				a = &e
				disk = e.subject

				break
			}
		}
	}

	if a == nil || a.at <= d.at {
		return nil
	}

	lateness := seconds(a.at - d.at)

	v := &Verdict{
		ID:          LateDisk,
		LatenessS:   &lateness,
		DecisionAtS: f.atS(d),
		AppearedAtS: f.atS(a),
		Disk:        disk,
	}

	if known {
		v.Partition = f.statePart
	}

	v.addEvidence(f, "decision", d)

	if f.udevReady != nil && f.udevReady != d {
		v.addEvidence(f, "udevd-settled", f.udevReady)
	}

	if f.stateMissing != nil && f.stateMissing != d {
		v.addEvidence(f, "state-missing", f.stateMissing)
	}

	v.addEvidence(f, "appeared", a)

	if f.stateFound != nil && f.stateFound != a {
		v.addEvidence(f, "state-found", f.stateFound)
	}

	if f.maintenance != nil && f.maintenance != d {
		v.addEvidence(f, "maintenance", f.maintenance)
	}

	if f.gateRelease != nil && f.gateRelease != d {
		v.addEvidence(f, "raid-settle", f.gateRelease)
	}

	if f.settleArgLine != nil {
		v.addEvidence(f, "cmdline", f.settleArgLine)
	}

	what2 := "STATE's partition " + f.statePart
	if !known {
		what2 = "disk " + disk + " (these captures do not say which disk holds STATE; it is the first to appear after the decision)"
	} else if a.kind == kindDisk {
		what2 = "STATE's disk " + disk
	}

	v.Summary = fmt.Sprintf("STATE's disk appeared %.1f s too late: %s decided at %s, %s appeared at %s", lateness, shortWhat(what), f.fmtAt(d), nameOr(v.Partition, disk), f.fmtAt(a))
	v.Explanation = fmt.Sprintf("%s at %s; %s appeared at %s, %.3f s later.%s", what, f.fmtAt(d), what2, f.fmtAt(a), lateness, foundNote)

	if f.maintenance != nil {
		v.Explanation += " By then Talos had taken the node for uninstalled and booted it into maintenance mode; it does not look at the disk again."
	}

	v.SettleTimeS, v.Recommendations = f.settleAdvice(d, a)

	return v
}

func shortWhat(what string) string {
	switch {
	case strings.HasPrefix(what, "Talos reported"):
		return "Talos"
	case strings.HasPrefix(what, "udevd"):
		return "Talos (udevd settled)"
	case strings.HasPrefix(what, "raid-settle"):
		return "raid-settle"
	}

	return "Talos (maintenance mode)"
}

func nameOr(a, b string) string {
	if a != "" {
		return a
	}

	return b
}

// settleAdvice computes the talos.device.settle_time that would have
// covered this boot and says what to do.
func (f *facts) settleAdvice(d, a *event) (int, []string) {
	// settle_time counts from udevd's first successful settle; the health
	// check reports success once it has passed, so the time it was already
	// worth is added back.
	base := d
	if u := f.udevReady; u != nil && u.aligned && !u.st.approx && u.at <= d.at {
		base = u
	}

	need := time.Duration(a.at - base.at)

	current := time.Duration(0)
	if dur, err := time.ParseDuration(f.settleArg); err == nil && f.settleBad == nil {
		current = dur
	}

	need += current

	margin := max(need/2, settleMinMargin)
	rec := time.Duration(math.Ceil(float64(need+margin)/float64(settleStep))) * settleStep
	rec = min(rec, settleMax)
	recS := int(rec / time.Second)

	var recs []string

	if r := f.gateRelease; r != nil && r.subject == "deadline" {
		recs = append(recs, fmt.Sprintf("raid-settle reached its deadline at %s before STATE appeared: raise raid_settle.timeout= past %ds after its start (below udevd's 180 s event timeout), and send the report (talosctl read /run/raid-settle/report.json)", f.fmtAt(r), f.gateNeed(a)))
	} else if r != nil && r.subject == "no-state" {
		fix := fmt.Sprintf("set the kernel argument raid_settle.quiet=%d", f.gateNeed(a))
		if f.quietArg != "" {
			fix = fmt.Sprintf("raise the kernel argument raid_settle.quiet=%s to raid_settle.quiet=%d", f.quietArg, f.gateNeed(a))
		}

		recs = append(recs, fmt.Sprintf("raid-settle released the boot (no-state) at %s, before STATE appeared: its controllers looked quiet too early; %s, and send the report (talosctl read /run/raid-settle/report.json) so the driver's profile can be fixed", f.fmtAt(r), fix))
	} else {
		recs = append(recs, "install the raid-settle system extension: it holds the boot until STATE is there and verified, and no longer than needed")
	}

	if bad := f.badSettleTime(); bad != "" {
		recs = append(recs, bad)
	}

	switch {
	case len(f.misspelled) > 0:
		recs = append(recs, fmt.Sprintf("or fix the kernel argument: talos.device.settle_time=%ds (singular \"device\"; the plural spelling on this node is ignored by Talos), which costs %d s on every boot", recS, recS))
	case current > 0:
		recs = append(recs, fmt.Sprintf("or raise talos.device.settle_time from %s to %ds (it costs that much on every boot)", f.settleArg, recS))
	default:
		recs = append(recs, fmt.Sprintf("or add the kernel argument talos.device.settle_time=%ds (it costs that much on every boot)", recS))
	}

	if rec == settleMax {
		recs = append(recs, "the wait needed exceeds talos.device.settle_time's 10m maximum: the disk or controller itself needs attention")
	}

	recs = append(recs, "then reboot: the node's configuration is still on STATE, nothing needs re-applying")

	return recS, recs
}

// corrupt finds signs that STATE is there but unusable.
func (f *facts) corrupt() *Verdict {
	v := &Verdict{ID: StateCorrupt, Partition: f.statePart}
	if f.statePart != "" {
		v.Disk = diskOf(f.statePart)
	}

	var reasons []string

	checked := map[string]bool{}

	for _, e := range f.gateChecks {
		if e.detail == "ok" || e.detail == "" || checked[e.subject] {
			continue
		}

		checked[e.subject] = true

		v.addEvidence(f, "raid-settle-verify", e)
		reasons = append(reasons, "raid-settle verified "+e.subject+" as "+e.detail)

		if v.Partition == "" {
			v.Partition, v.Disk = e.subject, diskOf(e.subject)
		}
	}

	if f.gateRelease != nil && f.gateRelease.subject == "state-invalid" {
		v.addEvidence(f, "raid-settle", f.gateRelease)
		reasons = append(reasons, "the gate released with state-invalid")
	}

	// The kernel repeats its XFS errors at every mount attempt: each
	// distinct message is quoted once.
	seen := map[string]int{}

	for _, e := range f.xfsErrors {
		// With STATE located, only its partition counts; otherwise an XFS
		// error before maintenance mode (EPHEMERAL is mounted only after a
		// config is found) is taken to be STATE's.
		if f.statePart != "" && e.subject != f.statePart {
			continue
		}

		if f.statePart == "" && f.maintenance != nil && e.aligned && f.maintenance.aligned && e.at > f.maintenance.at {
			continue
		}

		if seen[e.detail]++; seen[e.detail] > 1 || len(seen) > maxXFSQuotes {
			continue
		}

		v.addEvidence(f, "xfs-error", e)

		if v.Partition == "" {
			v.Partition, v.Disk = e.subject, diskOf(e.subject)
		}
	}

	if len(seen) > 0 {
		reasons = append(reasons, fmt.Sprintf("the kernel reported XFS errors on %s (%d distinct message(s))", v.Partition, len(seen)))
	}

	for i, e := range f.stateFailed {
		if i < maxQuotesEach {
			v.addEvidence(f, "state-failed", e)
		}
	}

	if len(f.stateFailed) > 0 {
		reasons = append(reasons, "Talos marked STATE failed")
	}

	for i, e := range f.stateErrors {
		if i < maxQuotesEach {
			v.addEvidence(f, "state-error", e)
		}
	}

	if n := len(f.stateErrors); n > 0 {
		reasons = append(reasons, fmt.Sprintf("Talos failed to mount STATE (%d time(s))", n))
	}

	for i, e := range f.repairs {
		if i < maxQuotesEach {
			v.addEvidence(f, "xfs-repair", e)
		}
	}

	if len(f.repairs) > 0 {
		reasons = append(reasons, "xfs_repair ran or failed")
	}

	for _, e := range f.stateErrors {
		if strings.Contains(e.detail, "repair") {
			reasons = append(reasons, "its repair failed")

			break
		}
	}

	if len(v.Evidence) == 0 {
		return nil
	}

	if f.maintenance != nil {
		v.addEvidence(f, "maintenance", f.maintenance)
	}

	where := "STATE"
	if v.Partition != "" {
		where = "STATE (" + v.Partition + ")"
	}

	v.Summary = where + " is there but its filesystem is corrupt or not recognised"
	v.Explanation = strings.Join(slices.Compact(reasons), "; ") + "."
	v.Recommendations = []string{
		"from a rescue system, check it with `raid-settle verify /dev/" + nameOr(v.Disk, "sdX") + "` (read-only): it says whether Talos will repair it on mount or not recognise it at all",
		"a superblock Talos does not recognise is never repaired: it boots into maintenance mode; run xfs_repair on the partition, or reinstall the node",
	}

	return v
}

func (f *facts) noConfig() *Verdict {
	if f.maintenance == nil || f.configFromState() {
		return nil
	}

	// STATE must have been found before the decision, not after a miss.
	found := f.stateReady
	if found == nil && len(f.stateMounts) > 0 {
		found = f.stateMounts[0]
	}

	gateVerified := f.gateRelease != nil && f.gateRelease.subject == "state-verified"

	if found == nil && !gateVerified {
		return nil
	}

	if f.stateMissing != nil && (found == nil || !found.aligned || !f.stateMissing.aligned || f.stateMissing.at < found.at) {
		return nil
	}

	if found != nil && found.aligned && f.maintenance.aligned && found.at > f.maintenance.at {
		return nil
	}

	v := &Verdict{ID: NoConfig, Partition: f.statePart}
	if f.statePart != "" {
		v.Disk = diskOf(f.statePart)
	}

	if found != nil {
		v.addEvidence(f, "state-ready", found)
	}

	for _, e := range f.stateMounts {
		v.addEvidence(f, "state-mount", e)
	}

	if gateVerified {
		v.addEvidence(f, "raid-settle", f.gateRelease)
	}

	if f.configLookup != nil {
		v.addEvidence(f, "config-lookup", f.configLookup)
	}

	v.addEvidence(f, "maintenance", f.maintenance)

	v.Summary = "STATE was found and mounted, but holds no machine config: Talos booted into maintenance mode"
	v.Explanation = "Talos found STATE in time, read it for config.yaml and found none (or an incomplete one), then tried its other config sources and entered maintenance mode. The config is gone from STATE; a race does not explain that."
	v.Recommendations = []string{
		"apply the machine config again: talosctl apply-config --insecure -n NODE --file config.yaml",
		"if the node was installed with a config, find out what removed it (talosctl reset, a wipe of STATE, an install interrupted before the config was written)",
	}

	return v
}

func (f *facts) noState() *Verdict {
	d, _, decided := f.decision()
	if !decided || f.stateFound != nil || f.statePart != "" {
		return nil
	}

	// Maintenance mode alone is not enough: Talos's own "missing", the
	// gate's no-state, or a capture from udevd's settle on with its disks.
	gateNoState := f.gateRelease != nil && f.gateRelease.subject == "no-state"
	if f.stateMissing == nil && !gateNoState && (f.udevReady == nil && f.udevStarted == nil || len(f.disks) == 0) {
		return nil
	}

	if f.gateRelease != nil && f.gateRelease.subject == "deadline" && f.stateMissing == nil && f.maintenance == nil {
		return nil // the gate ran out of time: that alone does not say there is no STATE
	}

	// Disks that cannot be ordered against the decision might be late ones.
	for _, e := range f.disks {
		if d == nil || !e.aligned {
			return nil
		}
	}

	v := &Verdict{ID: NoState}

	for _, e := range []*event{f.stateMissing, f.gateRelease, f.maintenance} {
		if e != nil {
			v.addEvidence(f, roleOf(e), e)
		}
	}

	for i, e := range f.scans {
		if i < maxEvidence-3 {
			v.addEvidence(f, "disk", e)
		}
	}

	names := make([]string, 0, len(f.disks))
	for name := range f.disks {
		names = append(names, name)
	}

	slices.Sort(names)

	seen := "no disk lines in these captures"
	if len(names) > 0 {
		seen = fmt.Sprintf("%d disk(s) seen: %s", len(names), strings.Join(names, ", "))
	}

	v.Summary = "no STATE partition was found on any disk: the node is not installed, or STATE is gone"
	v.Explanation = fmt.Sprintf("Talos decided without STATE and no partition named STATE appeared afterwards (%s).", seen)

	if d != nil && len(names) > 0 {
		v.Explanation += " Every disk appeared before the decision, so this is not a late disk."
	}

	v.Recommendations = []string{
		"if this node was never installed, maintenance mode is expected: apply a config",
		"if it was installed, STATE's superblock may be unrecognisable (Talos then reports it missing without repairing it): check with `raid-settle verify --all` from a rescue system",
		"if STATE's disk sits behind a RAID controller, check that its logical drive is still configured and online",
	}

	return v
}

func roleOf(e *event) string {
	switch e.kind {
	case kindVolume:
		return "state-missing"
	case kindMaintenance:
		return "maintenance"
	}

	return "raid-settle"
}

func (f *facts) healthy() *Verdict {
	v := &Verdict{ID: Healthy, Partition: f.statePart}
	if f.statePart != "" {
		v.Disk = diskOf(f.statePart)
	}

	switch {
	case f.configFromState() && f.maintenance == nil:
		if f.stateReady != nil {
			v.addEvidence(f, "state-ready", f.stateReady)
		}

		v.addEvidence(f, "config-loaded", f.configLoaded)
		v.Summary = "STATE was there in time and the machine config loaded from it: this boot did not go to maintenance mode"
	case f.gateRelease != nil && f.gateRelease.subject == "state-verified" && f.maintenance == nil:
		v.addEvidence(f, "raid-settle", f.gateRelease)

		for _, e := range f.gateChecks {
			v.addEvidence(f, "raid-settle-verify", e)
		}

		v.Summary = "raid-settle found STATE and verified it before letting the boot go on: Talos finds it"
	default:
		return nil
	}

	v.Explanation = "Nothing in these captures explains a maintenance mode; if the node did enter it, capture the boot that did."

	return v
}

func (f *facts) insufficient() Verdict {
	v := Verdict{ID: InsufficientEvidence, Summary: "these captures do not say why the node booted into maintenance mode"}

	var missing, recs []string

	talosLines := f.stateMissing != nil || f.stateFound != nil || f.udevReady != nil || f.udevStarted != nil
	kernelDisks := len(f.disks) > 0

	if !talosLines {
		missing = append(missing, "no Talos lines about udevd settling or the STATE volume")
		recs = append(recs, "capture the whole boot from Talos's side: the serial console (or IPMI SOL) from power-on, or the kernel-log stream if the node sends one (talos.logging.kernel=); "+
			"talosctl dmesg and logs machined answer only once a config is applied again (a node in maintenance mode has no PKI, and talosctl offers --insecure for neither)")
	}

	if !kernelDisks {
		missing = append(missing, "no kernel lines about disks")
		recs = append(recs, "capture the kernel log of the failed boot, before rebooting: the serial console from power-on, the kernel-log stream (talos.logging.kernel=), "+
			"or, after applying the config again, talosctl -n NODE dmesg > dmesg.txt")
	}

	if f.tl.unaligned > 0 {
		missing = append(missing, fmt.Sprintf("%d line(s) could not be put on one clock with the rest", f.tl.unaligned))
		recs = append(recs, "capture the files from the same boot, with their times (talosctl output keeps them)")
	}

	if f.gateRelease != nil && f.gateRelease.subject == "deadline" {
		missing = append(missing, "raid-settle reached its deadline before STATE or quiet controllers")
		v.addEvidence(f, "raid-settle", f.gateRelease)
	}

	if f.maintenance != nil {
		v.addEvidence(f, "maintenance", f.maintenance)
	}

	if bad := f.badSettleTime(); bad != "" {
		missing = append(missing, bad)

		if f.settleBad != nil {
			v.addEvidence(f, "settle-time", f.settleBad)
		}
	}

	if len(missing) == 0 {
		missing = append(missing, "Talos's decision and the disks are there, but no rule matched")
	}

	recs = append(recs, "boot with raid_settle.debug=1 if raid-settle is installed (every uevent goes to the kernel log) and run diagnose on all the files together: raid-settle diagnose dmesg.txt machined.txt")

	v.Explanation = strings.Join(missing, "; ") + "."
	v.Recommendations = recs

	return v
}

func (f *facts) misspelledVerdict() *Verdict {
	if len(f.misspelled) == 0 {
		return nil
	}

	v := &Verdict{ID: MisspelledSettleTime}
	for _, e := range f.misspelled {
		v.addEvidence(f, "cmdline", e)
	}

	value := ""

	for _, e := range f.misspelled {
		for _, arg := range strings.Fields(e.detail) {
			if k, val, ok := strings.Cut(arg, "="); ok && strings.Trim(k, ":") == "talos.devices.settle_time" {
				value = val
			}
		}
	}

	v.Summary = "talos.devices.settle_time is on the kernel command line: Talos ignores it (the argument is talos.device.settle_time, singular)"
	v.Explanation = "Talos does not warn about unknown talos.* arguments, so the intended wait never happened."

	if value != "" {
		v.Recommendations = []string{fmt.Sprintf("replace it with talos.device.settle_time=%s (a Go duration, with its unit), or drop it in favour of raid-settle", withUnit(value))}
	} else {
		v.Recommendations = []string{"replace it with talos.device.settle_time=DURATION (with a unit, such as 30s), or drop it in favour of raid-settle"}
	}

	return v
}

// withUnit adds "s" to a bare number: Talos parses the value with
// time.ParseDuration, which refuses "30".
func withUnit(v string) string {
	if v != "" && allDigits(v) {
		return v + "s"
	}

	return v
}

// addEvidence quotes e once; it reports whether it was added.
func (v *Verdict) addEvidence(f *facts, role string, e *event) bool {
	if e == nil || len(v.Evidence) >= maxEvidence {
		return false
	}

	for _, x := range v.Evidence {
		if x.File == e.file && x.Line == e.line && x.Text == e.text {
			return false
		}
	}

	v.Evidence = append(v.Evidence, f.evidence(role, e))

	return true
}

func (f *facts) evidence(role string, e *event) Evidence {
	ev := Evidence{Role: role, File: e.file, Line: e.line, Text: e.text, Message: e.msg, Approx: e.st.approx}
	ev.AtS = f.atS(e)
	ev.Time = f.tl.wallTime(e)

	return ev
}

// atS is e's time in seconds since the node's origin, nil when unknown.
func (f *facts) atS(e *event) *float64 {
	return f.tl.atS(e)
}

func (tl *nodeTimeline) atS(e *event) *float64 {
	if !e.aligned {
		return nil
	}

	s := seconds(e.at - tl.origin)

	return &s
}

func (tl *nodeTimeline) wallTime(e *event) string {
	if !e.aligned || !tl.hasWall {
		return ""
	}

	return time.Unix(0, e.at-tl.wallOffset).UTC().Format(time.RFC3339Nano)
}

func (f *facts) fmtAt(e *event) string {
	if s := f.atS(e); s != nil {
		return fmt.Sprintf("%+.3fs", *s)
	}

	return "an unknown time"
}

// seconds rounds ns to milliseconds, in seconds.
func seconds(ns int64) float64 {
	return math.Round(float64(ns)/1e6) / 1e3
}

// byTime orders evidence by time, lines without one last.
func byTime(a, b Evidence) int {
	switch {
	case a.AtS == nil && b.AtS == nil:
		return 0
	case a.AtS == nil:
		return 1
	case b.AtS == nil:
		return -1
	case *a.AtS < *b.AtS:
		return -1
	case *a.AtS > *b.AtS:
		return 1
	}

	return 0
}

// before reports whether a happened before b, by time when both have one,
// else by reading order.
func before(a, b *event) bool {
	if a.aligned && b.aligned {
		return a.at < b.at
	}

	return a.seq < b.seq
}

// gateNeed is the quiet window, in whole seconds with the same margin as
// the settle time, that would have kept raid-settle waiting until a: from
// the gate's last controller activity (or its start) before its release.
func (f *facts) gateNeed(a *event) int {
	var base *event

	for i := range f.tl.events {
		e := &f.tl.events[i]
		if !e.aligned || f.gateRelease == nil || e.at > f.gateRelease.at {
			continue
		}

		if e.kind == kindGate && (e.subject == "controller" || e.subject == "start") || e.kind == kindController && e.file == f.gateRelease.file {
			base = e
		}
	}

	if base == nil {
		base = f.gateRelease
	}

	need := time.Duration(a.at - base.at)
	margin := max(need/2, settleMinMargin)

	return int(time.Duration(math.Ceil(float64(need+margin)/float64(settleStep))) * settleStep / time.Second)
}

// badSettleTime says what is wrong with a talos.device.settle_time value
// Talos cannot parse, "" when there is none.
func (f *facts) badSettleTime() string {
	if f.settleArg == "" && f.settleBad == nil {
		return ""
	}

	if _, err := time.ParseDuration(f.settleArg); err == nil && f.settleBad == nil {
		return ""
	}

	return fmt.Sprintf("talos.device.settle_time=%s is not a Go duration: Talos v1.9-v1.13 fail the boot on it, v1.14 ignores it; write it with a unit, such as talos.device.settle_time=%s", f.settleArg, withUnit(f.settleArg))
}
