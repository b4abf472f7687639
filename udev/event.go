package udev

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Action is a uevent action.
type Action string

// The actions the kernel sends (kobject_actions in lib/kobject_uevent.c).
const (
	ActionAdd     Action = "add"
	ActionRemove  Action = "remove"
	ActionChange  Action = "change"
	ActionBind    Action = "bind"
	ActionUnbind  Action = "unbind"
	ActionMove    Action = "move"
	ActionOnline  Action = "online"
	ActionOffline Action = "offline"
)

// Valid reports whether a is one of the actions the kernel sends.
func (a Action) Valid() bool {
	switch a {
	case ActionAdd, ActionRemove, ActionChange, ActionBind, ActionUnbind, ActionMove, ActionOnline, ActionOffline:
		return true
	}

	return false
}

// Source says where an event came from.
type Source string

const (
	// SourceNetlink is a kernel uevent received on the netlink socket.
	SourceNetlink Source = "netlink"
	// SourceSysfs is a device listed by Walk (coldplug).
	SourceSysfs Source = "sysfs"
	// SourceResync is a device listed by the walk that follows an overflow
	// of the netlink receive queue.
	SourceResync Source = "resync"
)

// Event is one kernel uevent, the one event type the rest of raid-settle
// uses. Events from sysfs (Walk) have the same shape, with Action "add" and
// no Seqnum.
type Event struct {
	Action Action `json:"action"`
	// DevPath is the kernel's devpath, without /sys, for example
	// /devices/pci0000:00/0000:00:04.0/host0/target0:2:0/0:2:0:0/block/sda/sda5.
	DevPath   string `json:"devpath"`
	Subsystem string `json:"subsystem"`
	// DevType is DEVTYPE: disk, partition, scsi_host, scsi_device...
	DevType string `json:"devtype,omitempty"`
	// Driver is DRIVER, the bound driver, when the kernel reports one.
	Driver string `json:"driver,omitempty"`
	// DevName is DEVNAME without /dev/, for example sda5.
	DevName string `json:"devname,omitempty"`
	// Seqnum is the kernel's SEQNUM; 0 for events read from sysfs.
	Seqnum uint64 `json:"seqnum,omitempty"`
	// Env holds the variables worth deciding on or diagnosing with (see
	// KeptVariables); the others are dropped. Nil when there are none.
	Env map[string]string `json:"env,omitempty"`
	// Received is when the event was read.
	Received time.Time `json:"received"`
	Source   Source    `json:"source"`
}

// keptVariables are the uevent variables Event.Env keeps. The list is short
// on purpose: events are kept for a whole boot's timeline, and most
// variables (DEVMODE, HOTPLUG, NVME_*...) help neither deciding nor
// diagnosing.
var keptVariables = []string{
	// The device number, to match /dev nodes.
	"MAJOR", "MINOR",
	// Tells a re-attached disk from the one before.
	"DISKSEQ",
	// The GPT partition's number, name (STATE) and UUID.
	"PARTN", "PARTNAME", "PARTUUID",
	// Set on the events `udevadm trigger` makes the kernel replay.
	"SYNTH_UUID",
	// What udev loads a driver from.
	"MODALIAS",
	// A controller's identity.
	"PCI_CLASS", "PCI_ID", "PCI_SUBSYS_ID", "PCI_SLOT_NAME",
	// udev's name for PARTNAME, found in hand-written timelines.
	"ID_PART_ENTRY_NAME",
}

// keptSet maps each kept variable to itself: looking a []byte key up in it
// does not allocate, and the value found is a string to reuse as Env key.
var keptSet = func() map[string]string {
	set := make(map[string]string, len(keptVariables))
	for _, k := range keptVariables {
		set[k] = k
	}

	return set
}()

// KeptVariables lists the uevent variables that Event.Env keeps.
func KeptVariables() []string { return slices.Clone(keptVariables) }

// ErrInvalidEvent is wrapped by every error ParseEvent returns.
var ErrInvalidEvent = errors.New("invalid uevent")

// MaxEventSize bounds the size of a message ParseEvent accepts. The kernel
// builds uevents in a 2 KiB buffer (UEVENT_BUFFER_SIZE) and libudev reads
// them into 8 KiB; anything larger did not come from the kernel.
const MaxEventSize = 8192

// libudevPrefix starts the messages udevd sends on its own netlink group.
var libudevPrefix = []byte("libudev\x00")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, args...))
}

// ParseEvent decodes one raw kernel uevent message
// ("ACTION@DEVPATH\0KEY=VALUE\0...\0"), received at now. It is pure and
// returns an error wrapping ErrInvalidEvent, never panics, when the message
// could not have come from the kernel: empty or too large, no "@" header, an
// unknown action, a devpath that is not a clean absolute path, a variable
// without "=", ACTION or DEVPATH missing or disagreeing with the header, no
// SUBSYSTEM, a SEQNUM that is not a number, or a message in udevd's
// "libudev\0" format. A missing final NUL is tolerated: the last variable is
// kept. Empty fields (a doubled NUL) are skipped. The event's Source is
// SourceNetlink, and its Env holds only the KeptVariables present.
func ParseEvent(raw []byte, now time.Time) (Event, error) {
	switch {
	case len(raw) == 0:
		return Event{}, invalid("empty message")
	case len(raw) > MaxEventSize:
		return Event{}, invalid("message of %d bytes, more than %d", len(raw), MaxEventSize)
	case bytes.HasPrefix(raw, libudevPrefix):
		return Event{}, invalid("message from udevd (libudev format), not from the kernel")
	}

	header, rest := nextField(raw)

	ev, err := parseHeader(header)
	if err != nil {
		return Event{}, err
	}

	ev.Received, ev.Source = now, SourceNetlink

	if err := ev.parseVariables(rest); err != nil {
		return Event{}, err
	}

	return ev, nil
}

// parseHeader reads a uevent's "ACTION@DEVPATH" header.
func parseHeader(header []byte) (Event, error) {
	at := bytes.IndexByte(header, '@')
	if at < 0 {
		return Event{}, invalid("header %q has no '@'", clip(header))
	}

	ev := Event{Action: Action(header[:at])}
	if !ev.Action.Valid() {
		return Event{}, invalid("unknown action %q", clip(header[:at]))
	}

	devpath := header[at+1:]
	if !cleanAbsolute(devpath) {
		return Event{}, invalid("devpath %q is not a clean absolute path", clip(devpath))
	}

	ev.DevPath = string(devpath)

	return ev, nil
}

// parseVariables reads the KEY=VALUE fields after the header: ACTION and
// DEVPATH must repeat the header's, SUBSYSTEM must be there.
func (ev *Event) parseVariables(rest []byte) error {
	var sawAction, sawDevPath bool

	for len(rest) > 0 {
		var field []byte

		field, rest = nextField(rest)
		if len(field) == 0 {
			continue
		}

		eq := bytes.IndexByte(field, '=')
		if eq <= 0 {
			return invalid("variable %q is not KEY=VALUE", clip(field))
		}

		key, value := field[:eq], field[eq+1:]

		switch string(key) {
		case "ACTION":
			if string(value) != string(ev.Action) {
				return invalid("ACTION=%q disagrees with header action %q", clip(value), ev.Action)
			}

			sawAction = true
		case "DEVPATH":
			if string(value) != ev.DevPath {
				return invalid("DEVPATH=%q disagrees with header devpath %q", clip(value), ev.DevPath)
			}

			sawDevPath = true
		case "SEQNUM":
			n, ok := parseUint(value)
			if !ok {
				return invalid("SEQNUM=%q is not a number", clip(value))
			}

			ev.Seqnum = n
		default:
			if err := ev.set(key, value); err != nil {
				return err
			}
		}
	}

	switch {
	case !sawAction:
		return invalid("no ACTION variable")
	case !sawDevPath:
		return invalid("no DEVPATH variable")
	case ev.Subsystem == "":
		return invalid("no SUBSYSTEM variable")
	}

	return nil
}

// set records one variable shared by netlink messages and sysfs uevent
// files.
func (ev *Event) set(key, value []byte) error {
	switch string(key) {
	case "SUBSYSTEM":
		ev.Subsystem = string(value)
	case "DEVTYPE":
		ev.DevType = string(value)
	case "DRIVER":
		ev.Driver = string(value)
	case "DEVNAME":
		name := bytes.TrimPrefix(value, []byte("/dev/"))
		if !cleanRelative(name) {
			return invalid("DEVNAME=%q is not a clean relative path", clip(value))
		}

		ev.DevName = string(name)
	default:
		k, ok := keptSet[string(key)]
		if !ok {
			return nil
		}

		ev.setEnv(k, string(value))
	}

	return nil
}

// nextField splits b at its first NUL. Without one, b is the last field.
func nextField(b []byte) (field, rest []byte) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i], b[i+1:]
	}

	return b, nil
}

// parseUint parses a decimal uint64 without allocating.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}

	var n uint64

	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}

		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}

		n = n*10 + d
	}

	return n, true
}

// cleanAbsolute reports whether p is an absolute path with no empty, "."
// or ".." element and no trailing slash, as every kernel devpath is.
func cleanAbsolute(p []byte) bool {
	return len(p) > 1 && p[0] == '/' && path.Clean(string(p)) == string(p)
}

// cleanRelative reports whether p is a clean relative path that stays
// inside its parent ("sda5", "bus/usb/001/002"), as every DEVNAME is.
func cleanRelative(p []byte) bool {
	s := string(p)

	return s != "" && s != "." && s != ".." && s[0] != '/' && !strings.HasPrefix(s, "../") && path.Clean(s) == s
}

// clip shortens b for an error message.
func clip(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}

	return string(b)
}
