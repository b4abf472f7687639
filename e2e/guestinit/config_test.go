package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name     string
		cmdline  string
		want     func(*config)
		warnings int
	}{
		{"defaults", "console=ttyS0 quiet", func(*config) {}, 0},
		{"hello", "e2e.hello", func(c *config) { c.Hello = true }, 0},
		{"talos settle time as duration", "talos.device.settle_time=1m", func(c *config) { c.SettleTime = time.Minute }, 0},
		{"settle time in seconds", "talos.device.settle_time=60", func(c *config) { c.SettleTime = time.Minute }, 0},
		{"misspelled talos key is ignored, as Talos does", "talos.devices.settle_time=60s", func(*config) {}, 0},
		{"harness knobs", "e2e.settle_timeout=5s e2e.check_period=6 e2e.max_checks=3 e2e.linger=30s e2e.klog=1",
			func(c *config) {
				c.SettleTimeout, c.CheckPeriod, c.MaxChecks, c.Linger, c.Klog = 5*time.Second, 6*time.Second, 3, 30*time.Second, true
			}, 0},
		{"boot hint", "e2e.efi_boot_part=0f2c5e1a-0000-4000-8000-000000000001", func(c *config) { c.EFIBootPart = "0f2c5e1a-0000-4000-8000-000000000001" }, 0},
		{"late volume and certify", "e2e.rescan_after=5000ms e2e.certify=1",
			func(c *config) { c.RescanAfter, c.Certify = 5*time.Second, true }, 0},
		{"hung disk", "e2e.settle_checks=1 e2e.procs=1",
			func(c *config) { c.MaxChecks, c.GiveUp, c.Procs = 1, true, true }, 0},
		{"bad values warn", "e2e.linger=soon e2e.max_checks=0 e2e.settle_checks=none", func(*config) {}, 3},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaultConfig()
			tt.want(&want)

			got, warnings := parseCmdline(tt.cmdline)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}

			if len(warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", warnings, tt.warnings)
			}
		})
	}
}
