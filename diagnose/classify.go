package diagnose

import (
	"path"
	"strings"

	"github.com/raid-settle/raid-settle/agent/gatelog"
)

// kind is what a recognised line tells.
type kind uint8

const (
	kindNone kind = iota
	// Kernel.
	kindBoot         // "Linux version ...": a boot starts
	kindCmdline      // "Command line: ..." / "Kernel command line: ..."
	kindController   // a storage driver's line (megaraid_sas, mpt3sas, ahci, nvme...)
	kindSCSIDevice   // "scsi 0:2:0:0: Direct-Access ...": a logical drive announced
	kindDisk         // "sd 0:2:0:0: [sda] N 512-byte logical blocks", "[sda] Attached SCSI disk"
	kindPartitions   // " sda: sda1 sda2 ...": the kernel read the partition table
	kindXFSMount     // "XFS (sda5): Mounting V5 Filesystem"
	kindXFSClean     // "XFS (sda5): Ending clean mount"
	kindXFSError     // XFS corruption, CRC, superblock or log errors
	kindRepair       // xfs_repair run or failed
	kindUdevReady    // service[udevd](Running): Health check successful
	kindUdevStarted  // task startUdevd (1/4): done
	kindSettleTime   // extra settle time in force
	kindSettleWait   // udevd health check waiting out the extra settle time
	kindSettleBad    // talos.device.settle_time could not be parsed
	kindVolume       // volume status of STATE or META
	kindStateMount   // volume mount of STATE
	kindStateError   // a controller failed on STATE, or mountStatePartition failed
	kindConfigLookup // loading config from STATE
	kindConfigLoaded // machine config loaded successfully
	kindMaintenance  // entering maintenance service
	// raid-settle's own lines.
	kindGate           // any other raid-settle line
	kindGateRelease    // released (DECISION) after ...
	kindGateStatePart  // partition X named STATE appeared
	kindGateStateCheck // STATE on X partition N: CONTENT VERDICT
	kindGateMisspelled // talos.devices.settle_time=... is misspelled
)

// kindNames name the kinds in the timeline.
var kindNames = [...]string{
	kindNone: "", kindBoot: "boot", kindCmdline: "cmdline", kindController: "controller",
	kindSCSIDevice: "scsi-device", kindDisk: "disk", kindPartitions: "partitions", kindXFSMount: "xfs-mount",
	kindXFSClean: "xfs-mounted", kindXFSError: "xfs-error", kindRepair: "xfs-repair", kindUdevReady: "udevd-ready",
	kindUdevStarted: "udevd-started", kindSettleTime: "settle-time", kindSettleWait: "settle-wait",
	kindSettleBad: "settle-time-invalid", kindVolume: "volume", kindStateMount: "state-mount",
	kindStateError: "state-error", kindConfigLookup: "config-lookup", kindConfigLoaded: "config-loaded",
	kindMaintenance: "maintenance", kindGate: "raid-settle", kindGateRelease: "raid-settle-release",
	kindGateStatePart: "raid-settle-state", kindGateStateCheck: "raid-settle-verify", kindGateMisspelled: "raid-settle-note",
}

func (k kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}

	return "unknown"
}

// event is a recognised line, on a node's timeline.
type event struct {
	kind kind
	node string
	file string
	line int
	// seq orders events of one input, in reading order.
	seq int
	// text is the line as captured; msg is its message, without node,
	// time or level.
	text, msg string
	st        stamp
	// key identifies the same message in two captures (the kernel log and
	// machined's log, or the kernel log and a gate report), to put them on
	// one clock; "" for a message too generic to match.
	key string

	// at is the time on the node's common axis, valid when aligned.
	at      int64
	aligned bool

	subject  string   // disk, partition, volume or driver
	from, to string   // volume phases
	location string   // a partition device, /dev/sda5
	detail   string   // a duration, an error, a decision, a command line
	parts    []string // partitions listed by a scan
}

// classify recognises a message. The message is what follows the time (and
// the level, for machined's log); fields filled are those of its kind.
func classify(msg string) (ev event) {
	m := strings.TrimPrefix(msg, "[talos] ")
	m = strings.TrimPrefix(m, "[initramfs] ")

	switch {
	case strings.HasPrefix(m, gatelog.Prefix):
		return classifyGate(m[len(gatelog.Prefix):])
	case strings.HasPrefix(m, "task "):
		return classifyTask(m)
	case strings.HasPrefix(m, "service[udevd]("):
		switch {
		case strings.Contains(m, "): Health check successful"):
			return event{kind: kindUdevReady}
		case strings.Contains(m, "extra settle timeout"):
			return event{kind: kindSettleWait}
		}

		return event{}
	case strings.HasPrefix(m, "volume status "):
		v := field(m, "volume")
		if v != "STATE" && v != "META" {
			return event{}
		}

		from, to, _ := strings.Cut(field(m, "phase"), " -> ")

		return event{kind: kindVolume, subject: v, from: from, to: to, location: field(m, "location"), detail: field(m, "error")}
	case strings.HasPrefix(m, "volume mount "):
		if field(m, "volume") != "STATE" {
			return event{}
		}

		return event{kind: kindStateMount, subject: "STATE", location: field(m, "source")}
	case strings.HasPrefix(m, "entering maintenance service"), strings.HasPrefix(m, "this machine is reachable at:"):
		return event{kind: kindMaintenance}
	case strings.HasPrefix(m, "machine config loaded successfully"):
		return event{kind: kindConfigLoaded, detail: listField(m, "sources")}
	case strings.HasPrefix(m, "loading config from STATE"):
		return event{kind: kindConfigLookup}
	case strings.HasPrefix(m, "extra udev settle time"):
		return event{kind: kindSettleTime, detail: field(m, "duration")}
	case strings.HasPrefix(m, "failed to parse extra udev settle time"):
		return event{kind: kindSettleBad, detail: field(m, "error")}
	case strings.HasPrefix(m, "controller failed "):
		if e := field(m, "error"); strings.Contains(e, "STATE") {
			return event{kind: kindStateError, subject: field(m, "controller"), detail: e}
		}

		return event{}
	case strings.HasPrefix(m, "Linux version "):
		return event{kind: kindBoot}
	case strings.HasPrefix(m, "Command line: "), strings.HasPrefix(m, "Kernel command line: "):
		_, args, _ := strings.Cut(m, "line: ")

		return event{kind: kindCmdline, detail: args}
	case strings.HasPrefix(m, "XFS ("):
		return classifyXFS(m)
	case strings.HasPrefix(m, "sd "):
		return classifySD(m)
	case strings.HasPrefix(m, "scsi "):
		return classifySCSI(m)
	case strings.HasPrefix(m, "virtio_blk "):
		if name, rest, ok := bracketedName(m); ok && strings.Contains(rest, "logical blocks") {
			return event{kind: kindDisk, subject: name}
		}

		return event{}
	case strings.Contains(m, "xfs_repair"), strings.Contains(m, "error repairing"):
		return event{kind: kindRepair, detail: m}
	}

	if ev := classifyPartitions(m); ev.kind != kindNone {
		return ev
	}

	return classifyDriver(m)
}

// field returns the string value of "key": "value" in zap's console
// encoding of fields, unescaping nothing; "" when absent.
func field(m, key string) string {
	i := strings.Index(m, `"`+key+`": "`)
	if i < 0 {
		return ""
	}

	v := m[i+len(key)+5:]

	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j]
		}
	}

	return v
}

// listField returns the elements of "key": ["a", "b"] joined by commas.
func listField(m, key string) string {
	i := strings.Index(m, `"`+key+`": [`)
	if i < 0 {
		return ""
	}

	v := m[i+len(key)+5:]
	if j := strings.IndexByte(v, ']'); j >= 0 {
		v = v[:j]
	}

	return strings.NewReplacer(`"`, "", " ", "").Replace(v)
}

// classifyTask handles "task NAME (i/n): TEXT" lines of Talos's sequencer.
func classifyTask(m string) event {
	open := strings.Index(m, " (")
	closing := strings.Index(m, "): ")

	if open < len("task ") || closing < open {
		return event{}
	}

	name, inner := m[len("task "):open], m[closing+3:]

	switch {
	case name == "startUdevd" && strings.HasPrefix(inner, "done"):
		return event{kind: kindUdevStarted}
	case strings.HasPrefix(inner, "extra settle time: "):
		return event{kind: kindSettleTime, detail: strings.TrimPrefix(inner, "extra settle time: ")}
	case strings.HasPrefix(inner, "failed") && strings.Contains(inner, "settle_time"):
		return event{kind: kindSettleBad, detail: inner}
	case strings.Contains(inner, "entering maintenance service"), strings.HasPrefix(inner, "this machine is reachable at:"):
		return event{kind: kindMaintenance}
	case name == "mountStatePartition" && strings.HasPrefix(inner, "failed"):
		return event{kind: kindStateError, subject: name, detail: inner}
	case strings.Contains(inner, "xfs_repair"), strings.Contains(inner, "error repairing"):
		return event{kind: kindRepair, detail: inner}
	}

	return event{}
}

// xfsErrors are the kernel's XFS messages that say a filesystem cannot be
// trusted (fs/xfs: xfs_sb.c, xfs_buf.c's verifiers, xfs_log.c,
// xfs_fsops.c's shutdown), and xfs_repair being asked for.
var xfsErrors = []string{
	"Metadata CRC error", "Metadata corruption", "Corruption", "corruption", "xfs_repair",
	"SB validate failed", "SB sanity check failed", "bad magic number", "bad version",
	"log mount failed", "log mount/recovery failed", "Filesystem has been shut down",
	"rectify the problem", "unknown incompatible", "needs repair", "Invalid superblock",
	"I/O error", "checksum",
}

// classifyXFS handles "XFS (sda5): ..." kernel lines.
func classifyXFS(m string) event {
	end := strings.Index(m, "): ")
	if end < 0 {
		return event{}
	}

	part, rest := m[len("XFS ("):end], m[end+3:]

	switch {
	case strings.HasPrefix(rest, "Mounting V"):
		return event{kind: kindXFSMount, subject: part, location: "/dev/" + part}
	case strings.HasPrefix(rest, "Ending clean mount"), strings.HasPrefix(rest, "Ending recovery"):
		return event{kind: kindXFSClean, subject: part, location: "/dev/" + part}
	}

	for _, e := range xfsErrors {
		if strings.Contains(rest, e) {
			return event{kind: kindXFSError, subject: part, location: "/dev/" + part, detail: rest}
		}
	}

	return event{}
}

// classifySD handles the sd driver's "sd H:C:T:L: [sda] ..." lines.
func classifySD(m string) event {
	name, rest, ok := bracketedName(m)
	if !ok {
		return event{}
	}

	hctl := strings.TrimSuffix(strings.Fields(m)[1], ":")

	if strings.Contains(rest, "logical blocks") || strings.HasPrefix(rest, "Attached SCSI") {
		return event{kind: kindDisk, subject: name, detail: hctl}
	}

	return event{}
}

// bracketedName returns the "sda" of "... [sda] rest".
func bracketedName(m string) (string, string, bool) {
	i := strings.Index(m, ": [")
	if i < 0 {
		return "", "", false
	}

	j := strings.IndexByte(m[i+3:], ']')
	if j <= 0 || j > 32 {
		return "", "", false
	}

	return m[i+3 : i+3+j], strings.TrimPrefix(m[i+3+j+1:], " "), true
}

// classifySCSI handles "scsi H:C:T:L: Direct-Access VENDOR MODEL" (a
// logical drive reported by a RAID controller, or any SCSI disk) and
// "scsi hostN: DRIVER DESCRIPTION".
func classifySCSI(m string) event {
	f := strings.Fields(m)
	if len(f) < 3 {
		return event{}
	}

	addr := strings.TrimSuffix(f[1], ":")

	switch {
	case strings.HasPrefix(addr, "host"):
		return event{kind: kindController, subject: "scsi " + addr, detail: strings.Join(f[2:], " ")}
	case f[2] == "Direct-Access":
		return event{kind: kindSCSIDevice, subject: addr, detail: strings.Join(f[3:], " ")}
	}

	return event{}
}

// classifyPartitions handles the kernel's partition scan, " sda: sda1 sda2"
// or " nvme0n1: p1 p2" (block/partitions/core.c).
func classifyPartitions(m string) event {
	m = strings.TrimLeft(m, " ")

	name, rest, ok := strings.Cut(m, ":")
	if !ok || !isDiskName(name) {
		return event{}
	}

	rest = strings.TrimSpace(rest)
	if strings.Contains(rest, "unable to read partition table") {
		return event{kind: kindPartitions, subject: name}
	}

	var parts []string

	for _, tok := range strings.Fields(rest) {
		tok = strings.Trim(tok, "<>")

		switch {
		case tok == "":
		case strings.HasPrefix(tok, name) && allDigits(tok[len(name):]):
			parts = append(parts, tok)
		case tok[0] == 'p' && allDigits(tok[1:]) && len(tok) > 1:
			parts = append(parts, name+tok)
		default:
			return event{}
		}
	}

	return event{kind: kindPartitions, subject: name, parts: parts}
}

// isDiskName accepts the whole-disk names the kernel gives the disks Talos
// may boot from.
func isDiskName(s string) bool {
	for _, p := range []string{"sd", "vd", "xvd", "hd"} {
		if rest, ok := strings.CutPrefix(s, p); ok && rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz") == "" {
			return true
		}
	}

	if rest, ok := strings.CutPrefix(s, "nvme"); ok {
		c, n, ok := strings.Cut(rest, "n")

		return ok && c != "" && n != "" && allDigits(c) && allDigits(n)
	}

	if rest, ok := strings.CutPrefix(s, "mmcblk"); ok {
		return rest != "" && allDigits(rest)
	}

	return false
}

// drivers are the storage drivers whose lines go on the timeline, with the
// prefixes their messages carry.
var drivers = map[string]string{
	"megaraid_sas": "megaraid_sas", "megasas": "megaraid_sas", "mpt3sas": "mpt3sas", "mpt2sas": "mpt3sas",
	"mptsas": "mptsas", "mptbase": "mptsas", "mpi3mr": "mpi3mr", "smartpqi": "smartpqi", "hpsa": "hpsa",
	"aacraid": "aacraid", "ahci": "ahci", "nvme": "nvme", "virtio_scsi": "virtio_scsi", "isci": "isci",
	"pm80xx": "pm80xx", "pm8001": "pm80xx", "mvsas": "mvsas", "arcmsr": "arcmsr", "3w-9xxx": "3w-9xxx",
}

// classifyDriver recognises a storage driver's own line by its first word
// ("megaraid_sas 0000:18:00.0: ...", "mpt3sas_cm0: ...", "megasas: ...").
func classifyDriver(m string) event {
	end := strings.IndexAny(m, " :")
	if end <= 0 {
		return event{}
	}

	word := m[:end]
	if i := strings.Index(word, "_cm"); i > 0 && allDigits(word[i+3:]) {
		word = word[:i] // mpt3sas_cm0
	}

	if d, ok := drivers[word]; ok {
		return event{kind: kindController, subject: d}
	}

	return event{}
}

// classifyGate handles raid-settle's kernel log lines, without their
// prefix (agent/gatelog owns their format).
func classifyGate(m string) event {
	switch l := gatelog.Parse(m).(type) {
	case gatelog.Released:
		return event{kind: kindGateRelease, subject: l.Decision, detail: m}
	case gatelog.StatePartition:
		return event{kind: kindGateStatePart, subject: l.Partition}
	case gatelog.StateCheck:
		return event{kind: kindGateStateCheck, subject: l.PartitionName(), detail: l.Verdict}
	case gatelog.Misspelled:
		return event{kind: kindGateMisspelled, detail: m}
	case gatelog.Controller:
		return event{kind: kindGate, subject: "controller"}
	case gatelog.Started:
		return event{kind: kindGate, subject: "start"}
	case gatelog.Disk:
		return event{kind: kindDisk, subject: l.Name, detail: "raid-settle"}
	case gatelog.Uevent:
		if l.Action == "add" && l.Subsystem == "block" {
			switch l.DevType {
			case "partition":
				return event{kind: kindPartitions, subject: diskOf(path.Base(l.DevPath)), parts: []string{path.Base(l.DevPath)}, detail: "raid-settle"}
			case "disk":
				return event{kind: kindDisk, subject: path.Base(l.DevPath), detail: "raid-settle"}
			}
		}
	}

	return event{kind: kindGate}
}

// diskOf is the disk a partition belongs to: sda5 -> sda, nvme0n1p5 -> nvme0n1.
func diskOf(part string) string {
	part = strings.TrimPrefix(part, "/dev/")

	d := strings.TrimRight(part, "0123456789")
	if d == part || d == "" {
		return part
	}

	if strings.HasSuffix(d, "p") && len(d) > 1 && d[len(d)-2] >= '0' && d[len(d)-2] <= '9' {
		return d[:len(d)-1]
	}

	return d
}
