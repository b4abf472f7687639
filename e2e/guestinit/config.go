package main

import (
	"strconv"
	"strings"
	"time"
)

// config is what the harness asks of the init, on the kernel command line.
type config struct {
	// Hello only prints a record and powers off (the harness's smoke test).
	Hello bool
	// SettleTimeout is udevadm settle's --timeout (Talos: 50 s).
	SettleTimeout time.Duration
	// CheckPeriod is how often a failed health check is retried (Talos: 60 s).
	CheckPeriod time.Duration
	// MaxChecks bounds the health checks; Talos keeps going for 10 minutes.
	MaxChecks int
	// GiveUp (e2e.settle_checks=N, which also sets MaxChecks) makes running
	// out of health checks a step the harness asked for, not an error: the
	// lookup goes ahead while udev is still busy.
	GiveUp bool
	// SettleTime is talos.device.settle_time: an extra sleep after settle.
	SettleTime time.Duration
	// Linger keeps watching for STATE that long after the lookup, to show
	// when it would have appeared.
	Linger time.Duration
	// Klog dumps the whole kernel log at the end, not only the gate's lines.
	Klog bool
	// EFIBootPart, when set, is published as systemd-boot's
	// LoaderDevicePartUUID EFI variable, as if the machine had booted from
	// that partition through UEFI.
	EFIBootPart string
	// RescanAfter, when set, rescans every SCSI host that long after the
	// kernel's add uevent of the megaraid_sas module: a disk the harness
	// hot-plugged onto a megasas bus meanwhile (which the guest is not
	// told of) shows up then, as a RAID volume the firmware announces late.
	RescanAfter time.Duration
	// Certify runs raid-settle certify on the megaraid_sas controller after
	// the lookup and prints its results.
	Certify bool
	// Procs reports every raid-settle process as it starts and ends (and
	// those left at the end, with their state): whether the gate exits
	// while one of its reads is stuck.
	Procs bool
}

func defaultConfig() config {
	return config{SettleTimeout: 50 * time.Second, CheckPeriod: 60 * time.Second, MaxChecks: 10}
}

// parseCmdline reads the e2e.* arguments and Talos's own
// talos.device.settle_time. Bad values are returned as warnings and ignored.
func parseCmdline(cmdline string) (config, []string) {
	c := defaultConfig()

	var warnings []string

	dur := func(key, v string, dst *time.Duration) {
		d, err := time.ParseDuration(v)
		if err != nil {
			// Plain numbers are seconds.
			n, err2 := strconv.Atoi(v)
			if err2 != nil || n < 0 {
				warnings = append(warnings, "bad "+key+"="+v)

				return
			}

			d = time.Duration(n) * time.Second
		}

		*dst = d
	}

	for _, arg := range strings.Fields(cmdline) {
		key, v, _ := strings.Cut(arg, "=")

		switch key {
		case "e2e.hello":
			c.Hello = true
		case "e2e.klog":
			c.Klog = v != "0"
		case "e2e.settle_timeout":
			dur(key, v, &c.SettleTimeout)
		case "e2e.check_period":
			dur(key, v, &c.CheckPeriod)
		case "e2e.linger":
			dur(key, v, &c.Linger)
		case "e2e.max_checks":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				warnings = append(warnings, "bad "+arg)

				continue
			}

			c.MaxChecks = n
		case "e2e.settle_checks":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				warnings = append(warnings, "bad "+arg)

				continue
			}

			c.MaxChecks, c.GiveUp = n, true
		case "e2e.rescan_after":
			dur(key, v, &c.RescanAfter)
		case "e2e.certify":
			c.Certify = v != "0"
		case "e2e.procs":
			c.Procs = v != "0"
		case "e2e.efi_boot_part":
			c.EFIBootPart = v
		case "talos.device.settle_time":
			dur(key, v, &c.SettleTime)
		}
	}

	return c, warnings
}
