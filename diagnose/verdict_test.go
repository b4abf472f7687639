package diagnose

import (
	"strings"
	"testing"
)

const (
	stateMissing = `[talos] volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "waiting -> missing"}`
	maintenance  = `[talos] entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}`
	udevReady    = "[talos] service[udevd](Running): Health check successful"
)

func diagnoseText(t *testing.T, files map[string]string) *Result {
	t.Helper()

	var ins []Input
	for _, name := range []string{"a", "b"} {
		if text, ok := files[name]; ok {
			ins = append(ins, Input{Name: name, R: strings.NewReader(text)})
		}
	}

	res, err := Diagnose(ins)
	if err != nil {
		t.Fatal(err)
	}

	return res
}

func TestLateDiskWithoutStateLocation(t *testing.T) {
	res := diagnoseText(t, map[string]string{"a": strings.Join([]string{
		"[    0.000000] Linux version 6.12.18-talos",
		"[    4.200000] " + udevReady,
		"[    4.230000] " + stateMissing,
		"[    4.500000] " + maintenance,
		"[    9.700000] sd 0:2:1:0: [sdb] 936640512 512-byte logical blocks: (480 GB/447 GiB)",
		"[    9.730000]  sdb: sdb1 sdb2 sdb3 sdb4 sdb5 sdb6",
	}, "\n")})

	v := res.Verdicts[0]
	if v.ID != LateDisk || v.Disk != "sdb" || v.Partition != "" || v.LatenessS == nil || *v.LatenessS != 5.5 || v.SettleTimeS != 15 {
		t.Fatalf("verdict %+v", v)
	}

	if !strings.Contains(v.Explanation, "do not say which disk holds STATE") {
		t.Errorf("explanation does not say the disk is a guess: %s", v.Explanation)
	}
}

func TestLaterUSBStickIsNotALateDisk(t *testing.T) {
	res := diagnoseText(t, map[string]string{"a": strings.Join([]string{
		"[    2.700000]  sda: sda1 sda2",
		"[    4.200000] " + udevReady,
		"[    4.230000] " + stateMissing,
		"[    4.500000] " + maintenance,
		"[   30.100000] sd 1:0:0:0: [sdb] 60088320 512-byte logical blocks: (30.8 GB/28.7 GiB)",
		"[   30.120000]  sdb: sdb1 sdb2",
	}, "\n")})

	if v := res.Verdicts[0]; v.ID != NoState {
		t.Fatalf("verdict %+v, want no-state", v)
	}
}

func TestSettleTimeAlreadyInForce(t *testing.T) {
	// udevd is healthy only once the 30 s settle time has passed: the
	// disk came 12 s after that, so 42 s were needed, 63 s with the margin.
	res := diagnoseText(t, map[string]string{"a": strings.Join([]string{
		"[    0.000000] Command line: talos.platform=metal talos.device.settle_time=30s",
		"[    3.100000] [talos] task startUdevd (1/5): extra settle time: 30s",
		"[   34.200000] " + udevReady,
		"[   34.230000] " + stateMissing,
		"[   46.200000]  sda: sda1 sda2 sda3 sda4 sda5 sda6",
		`[   46.400000] [talos] volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "missing -> ready", "location": "/dev/sda5", "parentLocation": "/dev/sda"}`,
	}, "\n")})

	v := res.Verdicts[0]
	if v.ID != LateDisk || v.SettleTimeS != 65 || v.Partition != "sda5" {
		t.Fatalf("verdict %+v", v)
	}

	if !strings.Contains(strings.Join(v.Recommendations, "\n"), "raise talos.device.settle_time from 30s to 65s") {
		t.Errorf("recommendations %q", v.Recommendations)
	}
}

func TestCapturesOnUnrelatedClocks(t *testing.T) {
	// A console capture (boot clock) and a machined log (wall clock) with no
	// message in common cannot be put on one clock: no lateness is made up.
	res := diagnoseText(t, map[string]string{
		"a": "[   11.650000]  sda: sda1 sda2 sda3 sda4 sda5 sda6\n[   11.660000] sd 0:2:0:0: [sda] Attached SCSI disk\n[   11.700000] sd 0:2:0:0: [sda] Attached SCSI disk\n",
		"b": "2026-01-01T10:00:04.230Z INFO " + strings.TrimPrefix(stateMissing, "[talos] ") + "\n",
	})

	v := res.Verdicts[0]
	if v.ID != InsufficientEvidence || !strings.Contains(v.Explanation, "could not be put on one clock") {
		t.Fatalf("verdict %+v", v)
	}
}

func TestGateStateVerifiedThenMaintenanceIsNoConfig(t *testing.T) {
	res := diagnoseText(t, map[string]string{"a": strings.Join([]string{
		"[    3.400000] raid-settle: STATE on sda partition 5: xfs ok",
		"[    3.400100] raid-settle: released (state-verified) after 2.1s: STATE on sda partition 5 verified (xfs) at +2.1s: Talos will mount it",
		"[    3.900000] " + udevReady,
		"[    4.100000] " + maintenance,
	}, "\n")})

	if v := res.Verdicts[0]; v.ID != NoConfig || v.Partition != "sda5" {
		t.Fatalf("verdict %+v", v)
	}
}
