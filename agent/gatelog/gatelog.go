// Package gatelog owns the lines the gate writes to the kernel log.
//
// Each line the gate writes is a type here, whose String method is the only
// place that line is formatted and whose Parse function, beside it, is the
// only place it is read back. The gate formats them; certify (from boot
// captures) and diagnose (from an operator's logs) parse them. A line's
// wording can change only together with its parser, and the round-trip
// tests hold the two to each other; the captures under testdata are lines
// earlier versions wrote, which must keep parsing.
//
// Times in the lines are seconds since the gate started, to a tenth of a
// second ("+1.2s"), so they parse back rounded to 100 ms.
package gatelog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
)

// Prefix precedes every line the gate writes to the kernel log: the kernel
// log shows "raid-settle: " and then the line.
const Prefix = "raid-settle: "

// Line is one of the gate's lines.
type Line interface {
	// String formats the line as the gate writes it, without Prefix.
	String() string
}

// Started is the gate's first line of a boot.
type Started struct {
	Version string
	// Deadline, QuietWindow and BootPartition are as the line shows them:
	// "2m0s", "adaptive per driver" or a duration, a partition GUID or
	// "none".
	Deadline, QuietWindow, BootPartition string
	Disabled                             bool
	// Evidence is the installed-node evidence, "none" without any; v0.3.0
	// wrote no such field, and its lines parse with "".
	Evidence string
}

func (l Started) String() string {
	return fmt.Sprintf("%s started: deadline %s, quiet window %s, boot partition %s, disabled %t, installed-node evidence %s",
		l.Version, l.Deadline, l.QuietWindow, l.BootPartition, l.Disabled, l.Evidence)
}

const startedExpr = `^(\S+) started: deadline (\S+), quiet window (.+?), boot partition (\S+), disabled (true|false)(?:, installed-node evidence (.+))?$`

// Controller is a storage controller the gate found, or found bound to a
// driver.
type Controller struct {
	// Address is the PCI address (0000:00:02.0), Kind the udev kind ("raid").
	Address, Kind  string
	Vendor, Device uint16
	// Driver is "" while no driver is bound.
	Driver string
	// At is when the gate saw it.
	At time.Duration
	// Quiet and MaxQuiet bound the controller's quiet window; WindowSource
	// says where they come from ("megaraid_sas profile"). Old lines have
	// none of the three.
	Quiet, MaxQuiet time.Duration
	WindowSource    string
}

// noDriver stands for an empty Controller.Driver in the line.
const noDriver = "no driver yet"

func (l Controller) String() string {
	driver := l.Driver
	if driver == "" {
		driver = noDriver
	}

	return fmt.Sprintf("controller %s %s %04x:%04x (%s) at %s, quiet window %s..%s (%s)",
		l.Address, l.Kind, l.Vendor, l.Device, driver, since(l.At), l.Quiet, l.MaxQuiet, l.WindowSource)
}

const controllerExpr = `^controller (\S+) (\S+) ([0-9a-fA-F]{4}):([0-9a-fA-F]{4}) \((.*?)\) at \+(\d+(?:\.\d+)?)s(?:, quiet window (\S+)\.\.(\S+) \((.*)\))?$`

// ControllerRemoved is a storage controller that went away.
type ControllerRemoved struct {
	Address, Kind string
	At            time.Duration
}

func (l ControllerRemoved) String() string {
	return fmt.Sprintf("controller %s (%s) removed at %s", l.Address, l.Kind, since(l.At))
}

const controllerRemovedExpr = `^controller (\S+) \((\S*)\) removed at \+(\d+(?:\.\d+)?)s$`

// Disk is a disk the gate found.
type Disk struct {
	Name string
	// Address and Driver are its controller's; both "" when the disk has
	// no storage controller the gate knows.
	Address, Driver string
	At              time.Duration
}

// noController stands for a Disk without a controller.
const noController = "no storage controller"

func (l Disk) String() string {
	where := noController
	if l.Address != "" {
		where = fmt.Sprintf("%s (%s)", l.Address, l.Driver)
	}

	return fmt.Sprintf("disk %s on %s at %s", l.Name, where, since(l.At))
}

const diskExpr = `^disk (\S+) on (?:no storage controller|(\S+) \((.*?)\)) at \+(\d+(?:\.\d+)?)s$`

// DiskRemoved is a disk that went away.
type DiskRemoved struct {
	Name string
	At   time.Duration
}

func (l DiskRemoved) String() string {
	return fmt.Sprintf("disk %s removed at %s", l.Name, since(l.At))
}

const diskRemovedExpr = `^disk (\S+) removed at \+(\d+(?:\.\d+)?)s$`

// DiskFailed is a disk the gate could not examine.
type DiskFailed struct {
	Name string
	// Attempt of Attempts failed; GaveUp is set on the last one, which
	// shows no counts.
	Attempt, Attempts int
	GaveUp            bool
	Why               string
}

func (l DiskFailed) String() string {
	if l.GaveUp {
		return fmt.Sprintf("disk %s could not be examined, giving up on it: %s", l.Name, l.Why)
	}

	return fmt.Sprintf("disk %s could not be examined (attempt %d of %d): %s", l.Name, l.Attempt, l.Attempts, l.Why)
}

const diskFailedExpr = `^disk (\S+) could not be examined(?:, (giving up) on it| \(attempt (\d+) of (\d+)\)): (.*)$`

// StatePartition is the first uevent of a partition named STATE.
type StatePartition struct {
	// Partition is its kernel name ("sda5").
	Partition string
	At        time.Duration
}

func (l StatePartition) String() string {
	return fmt.Sprintf("partition %s named STATE appeared at %s", l.Partition, since(l.At))
}

const statePartitionExpr = `^partition (\S+) named STATE appeared at \+(\d+(?:\.\d+)?)s$`

// StateCheck is the verification of a partition named STATE.
type StateCheck struct {
	Disk      string
	Partition uint
	// Content is what the partition holds ("xfs", "luks2", "" when unknown),
	// Verdict what the gate made of it ("ok", "corrupt").
	Content, Verdict string
	// Codes are the problems found, if any.
	Codes []string
}

func (l StateCheck) String() string {
	s := fmt.Sprintf("STATE on %s partition %d: %s %s", l.Disk, l.Partition, l.Content, l.Verdict)
	if len(l.Codes) > 0 {
		s += " (" + strings.Join(l.Codes, ", ") + ")"
	}

	return s
}

const stateCheckExpr = `^STATE on (\S+) partition (\d+): (\S*) (\S+)(?: \((.*)\))?$`

// PartitionName is the kernel's name of the checked partition: sda5,
// nvme0n1p5.
func (l StateCheck) PartitionName() string { return blockdev.PartitionName(l.Disk, l.Partition) }

// Released is the gate's verdict: what it decided and why it let boot
// continue.
type Released struct {
	Decision string
	Held     time.Duration
	Reason   string
	// StateUevent is when the first STATE uevent came; negative for none.
	StateUevent time.Duration
	// Dropped counts earlier lines the kernel's rate limit held back, to be
	// found in Report (the report's path).
	Dropped int
	Report  string
}

func (l Released) String() string {
	s := fmt.Sprintf("released (%s) after %.1fs: %s", l.Decision, l.Held.Seconds(), l.Reason)
	if l.StateUevent >= 0 {
		s += fmt.Sprintf(" [STATE uevent at %s]", since(l.StateUevent))
	}

	if l.Dropped > 0 {
		s += fmt.Sprintf(" [%d earlier line(s) held back by the kernel log's rate limit are in %s]", l.Dropped, l.Report)
	}

	return s
}

const (
	releasedExpr = `^released \((\S+)\) after (\d+(?:\.\d+)?)s(?:: (.*))?$`
	droppedExpr  = ` \[(\d+) earlier line\(s\) held back by the kernel log's rate limit are in (\S+)\]$`
	stateAtExpr  = ` \[STATE uevent at \+(\d+(?:\.\d+)?)s\]$`
)

// Uevent is a uevent the gate received, logged in debug mode.
type Uevent struct {
	Action, Subsystem, DevType, DevPath string
}

func (l Uevent) String() string {
	return fmt.Sprintf("uevent %s %s %s %s", l.Action, l.Subsystem, l.DevType, l.DevPath)
}

const ueventExpr = `^uevent (\S+) (\S+) (\S*) (\S+)$`

// Misspelled is the warning about talos.devices.settle_time, which Talos
// ignores.
type Misspelled struct {
	// Arg is the argument as written ("talos.devices.settle_time=30s").
	Arg string
}

func (l Misspelled) String() string {
	return fmt.Sprintf("%s is misspelled and Talos ignores it: the argument is talos.device.settle_time (singular)", l.Arg)
}

const misspelledExpr = `^(talos\.devices\.settle_time\S*) is misspelled`

// Parse reads one of the gate's lines, without Prefix. It returns nil for a
// line it does not know, which is no error: the gate writes other lines,
// for people only.
func Parse(s string) Line {
	s = strings.TrimRight(s, "\r\n")

	// Tried in order: the more specific patterns of a family come before
	// the looser ones.
	parsers := []func(string) Line{
		parseStarted, parseController, parseControllerRemoved,
		parseDiskFailed, parseDiskRemoved, parseDisk,
		parseStatePartition, parseStateCheck, parseReleased, parseUevent, parseMisspelled,
	}

	for _, p := range parsers {
		if l := p(s); l != nil {
			return l
		}
	}

	return nil
}

// Find returns the gate's line in a kernel log line of any capture (dmesg,
// talosctl dmesg, a console, a /dev/kmsg record): the text after Prefix,
// parsed. The text is returned even when the line is not one Parse knows.
func Find(logLine string) (text string, l Line, ok bool) {
	i := strings.Index(logLine, Prefix)
	if i < 0 {
		return "", nil, false
	}

	text = strings.TrimSpace(logLine[i+len(Prefix):])

	return text, Parse(text), true
}

func parseStarted(s string) Line {
	m := match(startedExpr, s)
	if m == nil {
		return nil
	}

	return Started{Version: m[1], Deadline: m[2], QuietWindow: m[3], BootPartition: m[4], Disabled: m[5] == "true", Evidence: m[6]}
}

func parseController(s string) Line {
	m := match(controllerExpr, s)
	if m == nil {
		return nil
	}

	l := Controller{Address: m[1], Kind: m[2], Vendor: hex16(m[3]), Device: hex16(m[4]), Driver: m[5], At: seconds(m[6]), WindowSource: m[9]}
	if l.Driver == noDriver {
		l.Driver = ""
	}

	l.Quiet, _ = time.ParseDuration(m[7])
	l.MaxQuiet, _ = time.ParseDuration(m[8])

	return l
}

func parseControllerRemoved(s string) Line {
	m := match(controllerRemovedExpr, s)
	if m == nil {
		return nil
	}

	return ControllerRemoved{Address: m[1], Kind: m[2], At: seconds(m[3])}
}

func parseDisk(s string) Line {
	m := match(diskExpr, s)
	if m == nil {
		return nil
	}

	return Disk{Name: m[1], Address: m[2], Driver: m[3], At: seconds(m[4])}
}

func parseDiskRemoved(s string) Line {
	m := match(diskRemovedExpr, s)
	if m == nil {
		return nil
	}

	return DiskRemoved{Name: m[1], At: seconds(m[2])}
}

func parseDiskFailed(s string) Line {
	m := match(diskFailedExpr, s)
	if m == nil {
		return nil
	}

	attempt, _ := strconv.Atoi(m[3])
	attempts, _ := strconv.Atoi(m[4])

	return DiskFailed{Name: m[1], GaveUp: m[2] != "", Attempt: attempt, Attempts: attempts, Why: m[5]}
}

func parseStatePartition(s string) Line {
	m := match(statePartitionExpr, s)
	if m == nil {
		return nil
	}

	return StatePartition{Partition: m[1], At: seconds(m[2])}
}

func parseStateCheck(s string) Line {
	m := match(stateCheckExpr, s)
	if m == nil {
		return nil
	}

	n, err := strconv.ParseUint(m[2], 10, 32)
	if err != nil {
		return nil
	}

	l := StateCheck{Disk: m[1], Partition: uint(n), Content: m[3], Verdict: m[4]}
	if m[5] != "" {
		l.Codes = strings.Split(m[5], ", ")
	}

	return l
}

func parseReleased(s string) Line {
	m := match(releasedExpr, s)
	if m == nil {
		return nil
	}

	l := Released{Decision: m[1], Held: seconds(m[2]), StateUevent: -1}
	rest := m[3]

	if d := match(droppedExpr, rest); d != nil {
		l.Dropped, _ = strconv.Atoi(d[1])
		l.Report = d[2]
		rest = rest[:len(rest)-len(d[0])]
	}

	if a := match(stateAtExpr, rest); a != nil {
		l.StateUevent = seconds(a[1])
		rest = rest[:len(rest)-len(a[0])]
	}

	l.Reason = rest

	return l
}

func parseUevent(s string) Line {
	m := match(ueventExpr, s)
	if m == nil {
		return nil
	}

	return Uevent{Action: m[1], Subsystem: m[2], DevType: m[3], DevPath: m[4]}
}

func parseMisspelled(s string) Line {
	m := match(misspelledExpr, s)
	if m == nil {
		return nil
	}

	return Misspelled{Arg: m[1]}
}

// match returns the submatches of expr in s, nil for none. The patterns are
// compiled on first use and only reachable from Parse: the gate, which only
// formats lines, neither links regexp nor compiles them at start-up, which
// cost each of its processes 1.8 to 3.0 ms natively (GODEBUG=inittrace=1),
// tens of milliseconds under TCG, on the boot's path.
func match(expr, s string) []string {
	patternsMu.Lock()
	re, ok := patterns[expr]
	if !ok {
		re = regexp.MustCompile(expr)
		patterns[expr] = re
	}
	patternsMu.Unlock()

	return re.FindStringSubmatch(s)
}

var (
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

// since formats a time since the gate started as the lines show it.
func since(d time.Duration) string { return fmt.Sprintf("+%.1fs", d.Seconds()) }

// seconds reads the digits of a "+1.2s" or "1.2s" time; the patterns only
// pass well-formed ones.
func seconds(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)

	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

func hex16(s string) uint16 {
	n, _ := strconv.ParseUint(s, 16, 16)

	return uint16(n)
}
