package e2e

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent/gatelog"
	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// Lookup is one Talos-like search for STATE by the guest init.
type Lookup struct {
	// When is "decision" (right after settle and any settle_time: what
	// Talos decides on), "later" or "linger-end".
	When string
	// Present: a partition named STATE whose content blkid recognises.
	Present bool
	// Named: a partition named STATE, recognised or not.
	Named bool
	Dev   string
	FS    string
	// UUID is the STATE partition's GPT unique GUID.
	UUID string
	MS   int64
	// Errors are the probes that failed (a disk blkid could not read).
	Errors string
}

// GateReport is the part of the gate's report.json the harness reads.
type GateReport struct {
	Decision *struct {
		Decision string `json:"decision"`
		AtMS     int64  `json:"at_ms"`
		Reason   string `json:"reason"`
		// State is the STATE partition the decision rests on.
		State *struct {
			Device          string `json:"device"`
			PartitionDevice string `json:"partition_device"`
			PartitionUUID   string `json:"partition_uuid"`
		} `json:"state"`
		// Unexamined names the disks the gate could not examine by then.
		Unexamined []string `json:"unexamined"`
	} `json:"decision"`
	// Log is the gate's milestones, in milliseconds since it started.
	Log []struct {
		AtMS int64  `json:"at_ms"`
		Line string `json:"line"`
	} `json:"log"`
	HeldMS        int64    `json:"held_ms"`
	StateUeventMS int64    `json:"state_uevent_ms"`
	Errors        []string `json:"errors"`
	// Startup times the gate's start, the probe worker's readiness among it;
	// CPUMS is the CPU time the step's process had used by then.
	Startup []struct {
		Step  string  `json:"step"`
		MS    float64 `json:"ms"`
		CPUMS float64 `json:"cpu_ms"`
	} `json:"startup"`
	// Usage is the gate's and its worker's peak memory and CPU time.
	Usage *struct {
		Gate   GateUsage `json:"gate"`
		Worker GateUsage `json:"worker"`
	} `json:"usage"`
	// Timeline holds the gate's inputs; the harness reads its probe results.
	Timeline []struct {
		Kind  string     `json:"kind"`
		AtMS  int64      `json:"at_ms"`
		Probe *GateProbe `json:"probe"`
		Event *struct {
			Action  string            `json:"action"`
			DevName string            `json:"devname"`
			Env     map[string]string `json:"env"`
		} `json:"event"`
	} `json:"timeline"`
}

// GateUsage is one process's peak resident memory (KiB) and CPU time (ms).
type GateUsage struct {
	MaxRSSKB int64   `json:"max_rss_kb"`
	CPUMS    float64 `json:"cpu_ms"`
}

// GateProbe is the timing of one probe result in the gate's report, in
// milliseconds since the gate started (steps: since the probe started).
type GateProbe struct {
	Disk      string  `json:"disk"`
	AskedMS   int64   `json:"asked_ms"`
	StartedMS float64 `json:"started_ms"`
	EndedMS   float64 `json:"ended_ms"`
	// ReceivedMS is when the gate read the worker's reply.
	ReceivedMS float64 `json:"received_ms"`
	// OnCPUMS and RunWaitMS are the probe thread's time on a CPU and
	// waiting for one.
	OnCPUMS   float64 `json:"on_cpu_ms"`
	RunWaitMS float64 `json:"run_wait_ms"`
	Steps     []struct {
		Step string  `json:"step"`
		MS   float64 `json:"ms"`
	} `json:"steps"`
}

// Result is what one boot showed. Times are milliseconds since the guest
// kernel booted; -1 means it did not happen.
type Result struct {
	Scenario string  `json:"scenario"`
	Variant  Variant `json:"variant"`

	InitMS int64 `json:"init_ms"`
	// Machine is the guest's uname -m, from the init's first record.
	Machine string `json:"machine,omitempty"`
	// SettledMS is when Talos's health check passed (settle returned 0);
	// Settles counts the settle runs, Timeouts those that timed out.
	SettledMS int64 `json:"settled_ms"`
	Settles   int   `json:"settles"`
	Timeouts  int   `json:"timeouts"`
	// DecisionMS is when the guest looked for STATE: after settle and any
	// talos.device.settle_time.
	DecisionMS int64 `json:"decision_ms"`
	// StateUeventMS is the kernel's first add uevent of a partition named
	// STATE, as the guest init received it.
	StateUeventMS int64 `json:"state_uevent_ms"`
	// DriverMS is the kernel's add uevent of the megaraid_sas module: the
	// driver finished loading for the controllers present at boot.
	DriverMS int64 `json:"driver_ms"`
	// HotplugMS is when the harness plugged the late controller in, in
	// guest time (the init's start plus the host's delay since).
	HotplugMS int64 `json:"hotplug_ms"`

	Lookups []Lookup `json:"lookups"`
	// GateLines are the gate's kernel log lines, with their kernel time.
	GateLines []TimedText `json:"gate_lines"`
	// GateStartMS and GateReleaseMS are when the gate logged its start and
	// its release, by the kernel log.
	GateStartMS   int64       `json:"gate_start_ms"`
	GateReleaseMS int64       `json:"gate_release_ms"`
	Gate          *GateReport `json:"gate,omitempty"`
	// IOErrors are the kernel's I/O error lines.
	IOErrors []TimedText `json:"io_errors,omitempty"`
	// Errors are the guest init's and the harness's failures.
	Errors []string `json:"errors,omitempty"`

	// RescanMS is when the guest rescanned the SCSI hosts (late-volume
	// scenarios), -1 if it did not.
	RescanMS int64 `json:"rescan_ms"`
	// Diagnose lists the verdict ids diagnose.DiagnoseReport gave the
	// gate's report.json, first the main one; ReportFile is where the
	// harness kept that report.
	Diagnose   []string `json:"diagnose,omitempty"`
	ReportFile string   `json:"report_file,omitempty"`
	// CertifyRC is the exit code of raid-settle certify in the guest, -1
	// if it did not run; CertifyDir is where its results were kept.
	CertifyRC  int    `json:"certify_rc"`
	CertifyDir string `json:"certify_dir,omitempty"`
	// Certify is the guest's certify.json, as far as the checks read it.
	Certify *CertifyResults `json:"-"`
	// InitrdProfiles are the certified profiles the boot's initramfs
	// carried (Scenario.ProfileFrom).
	InitrdProfiles []string `json:"initrd_profiles,omitempty"`
	// Profiles are the profile files certify wrote, by file name.
	Profiles map[string]string `json:"-"`

	// BootStateUUID is the STATE partition UUID of the disk the machine
	// booted from, when the scenario names one (DiskSpec.Boot).
	BootStateUUID string `json:"boot_state_uuid,omitempty"`
	// Procs are the raid-settle processes the guest saw start, end, or
	// still there at the end (Scenario.WatchGate).
	Procs []ProcEvent `json:"procs,omitempty"`
	// Armed are the monitor commands the harness gave QEMU (a hung disk's
	// breakpoint).
	Armed []HotplugEvent `json:"armed,omitempty"`

	// Retried is the guest kernel's panic line when the first boot of this
	// scenario died of TCG (guestEmulationFault) and this is the second.
	Retried string `json:"retried,omitempty"`

	Hotplugs        []HotplugEvent `json:"hotplugs,omitempty"`
	ImagesUnchanged bool           `json:"images_unchanged"`
	Done            bool           `json:"done"`
	Wall            time.Duration  `json:"wall"`
	Dir             string         `json:"dir"`

	// initAt is the host time of the init's first record.
	initAt time.Time
	// reportJSON is the gate's report.json as the guest printed it; files
	// are the guest files it printed, by guest path.
	reportJSON string
	files      map[string]string
}

// CertifyResults is the part of certify.json the checks read.
type CertifyResults struct {
	Cycles      int `json:"cycles"`
	Controllers []struct {
		Stats struct {
			Cycles   int `json:"cycles"`
			Complete int `json:"complete"`
			Failed   int `json:"failed"`
		} `json:"stats"`
		ProfileFile string `json:"profile_file"`
	} `json:"controllers"`
	Profiles []struct {
		File string `json:"file"`
	} `json:"profiles"`
}

// ProcEvent is a raid-settle process starting ("start"), ending ("exit"),
// or still there when the guest finished ("alive", with its scheduler
// state and wait channel), as the guest saw it in /proc.
type ProcEvent struct {
	Event string `json:"event"`
	MS    int64  `json:"ms"`
	PID   int64  `json:"pid"`
	PPID  int64  `json:"ppid,omitempty"`
	Argv  string `json:"argv"`
	State string `json:"state,omitempty"`
	WChan string `json:"wchan,omitempty"`
}

// TimedText is a line with its guest time.
type TimedText struct {
	MS   int64  `json:"ms"`
	Text string `json:"text"`
}

func newResult(scenario string, v Variant) *Result {
	return &Result{
		Scenario: scenario, Variant: v,
		InitMS: -1, SettledMS: -1, DecisionMS: -1, StateUeventMS: -1, DriverMS: -1, HotplugMS: -1,
		GateStartMS: -1, GateReleaseMS: -1, RescanMS: -1, CertifyRC: -1,
	}
}

// Add takes one protocol line from the guest, received at host time at.
func (r *Result) Add(at time.Time, line string) {
	rec, ok := proto.Parse(line)
	if !ok {
		return
	}

	f := rec.Fields

	switch rec.Kind {
	case proto.KindInit:
		r.InitMS = rec.Int("ms", -1)
		r.Machine = f["machine"]
		r.initAt = at
	case proto.KindSettle:
		r.Settles++

		if rec.Int("rc", -1) != 0 {
			r.Timeouts++
		}
	case proto.KindReturned:
		r.SettledMS = rec.Int("ms", -1)
	case proto.KindState:
		l := Lookup{When: f["when"], Present: f["present"] == "1", Named: f["named"] == "1", Dev: f["dev"], FS: f["fs"], UUID: f["uuid"], MS: rec.Int("ms", -1), Errors: f["errors"]}
		r.Lookups = append(r.Lookups, l)

		if l.When == "decision" {
			r.DecisionMS = l.MS
		}
	case proto.KindUevent:
		if r.DriverMS < 0 && driverLoaded(rec) {
			r.DriverMS = rec.Int("ms", -1)
		}

		if r.StateUeventMS < 0 && f["action"] == "add" && f["subsystem"] == "block" && f["partname"] == "STATE" && f["synth"] == "0" {
			r.StateUeventMS = rec.Int("ms", -1)
		}
	case proto.KindKmsg:
		t := TimedText{MS: rec.Int("ts_ms", -1), Text: f["text"]}

		switch {
		case strings.HasPrefix(t.Text, gatelog.Prefix):
			r.GateLines = append(r.GateLines, t)

			_, line, _ := gatelog.Find(t.Text)

			switch line.(type) {
			case gatelog.Started:
				if r.GateStartMS < 0 {
					r.GateStartMS = t.MS
				}
			case gatelog.Released:
				r.GateReleaseMS = t.MS
			}
		case strings.Contains(t.Text, "I/O error"): // "I/O error, dev sda" and "Buffer I/O error on dev sda"
			r.IOErrors = append(r.IOErrors, t)
		}
	case proto.KindStep:
		if f["name"] == "certify" {
			r.CertifyRC = int(rec.Int("rc", -1))
		}
	case proto.KindRescan:
		r.RescanMS = rec.Int("ms", -1)
	case proto.KindProc:
		r.Procs = append(r.Procs, ProcEvent{Event: f["event"], MS: rec.Int("ms", -1), PID: rec.Int("pid", -1), PPID: rec.Int("ppid", 0),
			Argv: f["argv"], State: f["state"], WChan: f["wchan"]})
	case proto.KindFile:
		if r.files == nil {
			r.files = map[string]string{}
		}

		r.files[f["path"]] = f["data"]
	case proto.KindReport:
		r.reportJSON = f["json"]

		var g GateReport
		if err := json.Unmarshal([]byte(f["json"]), &g); err != nil {
			r.Errors = append(r.Errors, "gate report: "+err.Error())
		} else {
			r.Gate = &g
		}
	case proto.KindError:
		r.Errors = append(r.Errors, "guest "+f["step"]+": "+f["text"])
	case proto.KindDone:
		r.Done = true
	}
}

// Decision is the guest's lookup right after settle: what Talos decides on.
func (r *Result) Decision() *Lookup {
	for i := range r.Lookups {
		if r.Lookups[i].When == "decision" {
			return &r.Lookups[i]
		}
	}

	return nil
}

// Later is the lookup made after STATE turned up late, if any.
func (r *Result) Later() *Lookup {
	for i := range r.Lookups {
		if r.Lookups[i].When == "later" {
			return &r.Lookups[i]
		}
	}

	return nil
}

// GateDecision is the gate's decision, or "" when it did not run.
func (r *Result) GateDecision() string {
	if r.Gate == nil || r.Gate.Decision == nil {
		return ""
	}

	return r.Gate.Decision.Decision
}

// GateLog reports whether any gate kernel log line contains s.
func (r *Result) GateLog(s string) bool {
	for _, l := range r.GateLines {
		if strings.Contains(l.Text, s) {
			return true
		}
	}

	return false
}

// GateReleasedMS is when the gate released, in guest time: its release
// line in the kernel log, or (that line lost, /dev/kmsg writes are rate
// limited) its start line plus the report's decision time; -1 if unknown.
func (r *Result) GateReleasedMS() int64 {
	switch {
	case r.GateReleaseMS >= 0:
		return r.GateReleaseMS
	case r.GateStartMS >= 0 && r.Gate != nil && r.Gate.Decision != nil:
		return r.GateStartMS + r.Gate.Decision.AtMS
	}

	return -1
}

// isGate reports whether argv is the gate's command (the udev rule's RUN).
func isGate(argv string) bool {
	f := strings.Fields(argv)

	return len(f) == 2 && f[1] == "gate"
}

// GateExit returns when the last gate process the guest saw ended, and
// whether every one it saw had ended by the time the guest finished; -1
// and false when it saw none.
func (r *Result) GateExit() (ms int64, allGone bool) {
	ms, seen, alive := -1, false, false

	for _, p := range r.Procs {
		if !isGate(p.Argv) {
			continue
		}

		seen = true

		switch p.Event {
		case "exit":
			ms = max(ms, p.MS)
		case "alive":
			alive = true
		}
	}

	return ms, seen && !alive && ms >= 0
}
