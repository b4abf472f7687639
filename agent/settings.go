package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent/gatelog"
)

// Defaults and limits of the gate's settings.
const (
	// DefaultDeadline is the hard bound on holding the boot. udevd kills a
	// RUN program after its event timeout (180 s by default); 120 s leaves
	// room for udevd's own work and for a slower machine.
	DefaultDeadline = 120 * time.Second
	// udevEventTimeout is udevd's default event timeout.
	udevEventTimeout = 180 * time.Second
	// udevTimeoutMargin is kept between the deadline and udevd's event
	// timeout, so the gate always exits before udevd kills it.
	udevTimeoutMargin = 10 * time.Second
	// NoControllerGrace is how long the gate waits when no storage
	// controller is present at all, in case one is still being probed.
	NoControllerGrace = 2 * time.Second
)

// Settings steer the gate. The zero value is not useful: start from
// DefaultSettings.
type Settings struct {
	// Deadline bounds how long the gate holds the boot, whatever happens.
	Deadline Duration `json:"deadline"`
	// Quiet, when set, replaces every profile's adaptive window with one
	// fixed quiet window.
	Quiet Duration `json:"quiet,omitempty"`
	// Disabled makes the gate release at once.
	Disabled bool `json:"disabled,omitempty"`
	// Debug makes the gate log every event, not just milestones.
	Debug bool `json:"debug,omitempty"`
	// BootPartUUID is the partition UUID the firmware booted from
	// (efivarfs LoaderDevicePartUUID), lower case; "" when unknown.
	BootPartUUID string `json:"boot_part_uuid,omitempty"`
	// BootImage is the BOOT_IMAGE= argument GRUB puts on the kernel command
	// line (the kernel it loaded), "" when there is none.
	BootImage string `json:"boot_image,omitempty"`
	// KexecBoot is set when the running kernel was loaded by kexec (x86's
	// boot_params record it), as Talos loads an installed kernel on reboot
	// and upgrade.
	KexecBoot bool `json:"kexec_boot,omitempty"`
	// Profiles pick the quiet window per driver.
	Profiles Profiles `json:"-"`
}

// DefaultSettings are the settings without any kernel argument.
func DefaultSettings() Settings {
	return Settings{Deadline: Duration(DefaultDeadline), Profiles: BuiltinProfiles}
}

// InstalledEvidence says why the settings show that Talos is installed on
// this machine, or "" when they do not. The evidence is BOOT_IMAGE naming a
// kernel of an installed Talos (see IsInstalledBootImage), or a kernel loaded
// by kexec. A boot-partition hint alone is not evidence, since installer
// media set it too; the engine treats it apart (the disk holding it must be
// examined first). docs/installed-evidence.md has the sources.
func (s Settings) InstalledEvidence() string {
	switch {
	case IsInstalledBootImage(s.BootImage):
		return "BOOT_IMAGE=" + s.BootImage + ": GRUB loaded the kernel of an installed Talos"
	case s.KexecBoot:
		return "kexec boot: Talos kexecs only into the kernel of an installed system disk"
	}

	return ""
}

// Note is something worth telling the operator about the kernel command line.
type Note struct {
	// Warning is true for a mistake (a misspelled or invalid argument), false
	// for a remark.
	Warning bool
	Message string
}

// ApplyCmdline reads the raid_settle.* kernel arguments (and the Talos and
// udev ones that matter to the gate) from cmdline, the contents of
// /proc/cmdline, into s. It never fails: a bad value is a Note, and the
// setting keeps its default.
func ApplyCmdline(s *Settings, cmdline string) []Note {
	var notes []Note

	warn := func(format string, args ...any) {
		notes = append(notes, Note{Warning: true, Message: fmt.Sprintf(format, args...)})
	}

	eventTimeout := udevEventTimeout

	for _, arg := range strings.Fields(cmdline) {
		key, value, hasValue := strings.Cut(arg, "=")

		switch key {
		case "raid_settle.timeout":
			if d, err := parseSeconds(value); err != nil || d <= 0 {
				warn("ignoring %s: want a positive duration such as 90 or 90s", arg)
			} else {
				s.Deadline = Duration(d)
			}
		case "raid_settle.quiet":
			if d, err := parseSeconds(value); err != nil || d <= 0 {
				warn("ignoring %s: want a positive duration such as 10 or 10s", arg)
			} else {
				s.Quiet = Duration(d)
			}
		case "raid_settle.disable":
			s.Disabled = !hasValue || isTrue(value)
		case "raid_settle.debug":
			s.Debug = !hasValue || isTrue(value)
		case "talos.devices.settle_time":
			warn("%s", gatelog.Misspelled{Arg: arg})
		case "talos.device.settle_time":
			notes = append(notes, Note{Message: fmt.Sprintf("%s adds a fixed wait after udevd settles on every boot; raid-settle already waits for STATE, so it can be removed", arg)})
		case "BOOT_IMAGE":
			// GRUB's comes first; another one in the extra arguments must
			// not hide it.
			if s.BootImage == "" || IsInstalledBootImage(value) && !IsInstalledBootImage(s.BootImage) {
				s.BootImage = value
			}
		case "udev.event_timeout", "rd.udev.event_timeout":
			if d, err := parseSeconds(value); err == nil && d > 0 {
				eventTimeout = d
			}
		default:
			if strings.HasPrefix(key, "raid_settle.") {
				warn("unknown kernel argument %s: known are raid_settle.timeout, raid_settle.quiet, raid_settle.disable, raid_settle.debug", arg)
			}
		}
	}

	if limit := eventTimeout - udevTimeoutMargin; s.Deadline.D() > limit {
		warn("deadline %s lowered to %s: udevd kills a RUN program after its %s event timeout", s.Deadline, limit, eventTimeout)
		s.Deadline = Duration(max(limit, time.Second))
	}

	return notes
}

// parseSeconds reads "90" (seconds) or a Go duration ("90s", "1m30s").
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}

	return time.ParseDuration(v)
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "y", "yes", "true", "on":
		return true
	}

	return false
}
