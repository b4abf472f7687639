package diagnose

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func wall(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}

	return t.UnixNano()
}

func TestParseLineFormats(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		format     Format
		node       string
		st         stamp
		msg        string
	}{
		{
			"talosctl dmesg", "kern:    info: [2026-01-01T10:00:01.123456789Z]: sd 0:2:0:0: [sda] 937703088 512-byte logical blocks",
			FormatTalosctlDmesg, "", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01.123456789Z")}, "sd 0:2:0:0: [sda] 937703088 512-byte logical blocks",
		},
		{
			"talosctl dmesg, node", "172.20.0.2: user: warning: [2026-01-01T10:00:03Z]: [talos] entering maintenance service",
			FormatTalosctlDmesg, "172.20.0.2", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:03Z")}, "[talos] entering maintenance service",
		},
		{
			"talosctl dmesg, IPv6 node", "fd00:10::3: kern:  notice: [2026-01-01T10:00:01.5Z]: Linux version 6.12.18-talos",
			FormatTalosctlDmesg, "fd00:10::3", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01.5Z")}, "Linux version 6.12.18-talos",
		},
		{
			"talosctl dmesg, host name node", "worker-3.dc1: kern:    info: [2026-01-01T10:00:01Z]:  sda: sda1 sda2",
			FormatTalosctlDmesg, "worker-3.dc1", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01Z")}, " sda: sda1 sda2",
		},
		{
			"talosctl dmesg, empty node", ": kern:    info: [2026-01-01T10:00:01Z]: XFS (sda5): Ending clean mount",
			FormatTalosctlDmesg, "", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01Z")}, "XFS (sda5): Ending clean mount",
		},
		{
			"kernel log", "[    5.123456] megaraid_sas 0000:18:00.0: FW now in Ready state",
			FormatKernel, "", stamp{clock: clockBoot, ns: 5_123_456_000}, "megaraid_sas 0000:18:00.0: FW now in Ready state",
		},
		{
			"kernel log, priority", "<6>[ 1234.000001] sd 0:0:0:0: [sda] Attached SCSI disk",
			FormatKernel, "", stamp{clock: clockBoot, ns: 1234_000_001_000}, "sd 0:0:0:0: [sda] Attached SCSI disk",
		},
		{
			"raw kmsg", "5,1402,11632118,-;scsi 0:2:0:0: Direct-Access     DELL     PERC H730P Mini  4.30 PQ: 0 ANSI: 5",
			FormatKernelRaw, "", stamp{clock: clockBoot, ns: 11_632_118_000}, "scsi 0:2:0:0: Direct-Access     DELL     PERC H730P Mini  4.30 PQ: 0 ANSI: 5",
		},
		{
			"dmesg -T", "[Thu Jan  1 10:00:01 2026] XFS (sda5): Ending clean mount",
			FormatKernelWall, "", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01Z")}, "XFS (sda5): Ending clean mount",
		},
		{
			"dmesg --time-format iso", "2026-01-01T10:00:01,250000+00:00 sd 0:0:0:0: [sda] Attached SCSI disk",
			FormatKernelWall, "", stamp{clock: clockWall, ns: wall("2026-01-01T10:00:01.25Z")}, "sd 0:0:0:0: [sda] Attached SCSI disk",
		},
		{
			"machined zap", `2026-01-01T10:00:03.141Z INFO volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "waiting -> missing"}`,
			FormatMachined, "", stamp{clock: clockLog, ns: wall("2026-01-01T10:00:03.141Z")},
			`volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "waiting -> missing"}`,
		},
		{
			"machined zap, node, colour", "10.0.0.5: 2026-01-01T10:00:03.141+0100 \x1b[35mDEBUG\x1b[0m loading config from STATE",
			FormatMachined, "10.0.0.5", stamp{clock: clockLog, ns: wall("2026-01-01T09:00:03.141Z")}, "loading config from STATE",
		},
		{
			"console with date", `[talos] 2026/01/01 10:00:03.141 entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}`,
			FormatConsole, "", stamp{clock: clockLog, ns: wall("2026-01-01T10:00:03.141Z")},
			`[talos] entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}`,
		},
		{
			"console, whole seconds", "[talos] 2024/12/15 14:45:57 task loadConfig (1/1): starting",
			FormatConsole, "", stamp{clock: clockLog, ns: wall("2024-12-15T14:45:57Z")}, "[talos] task loadConfig (1/1): starting",
		},
		{
			"untimed talos", "[talos] service[udevd](Running): Health check successful",
			FormatTalosUntimed, "", stamp{}, "[talos] service[udevd](Running): Health check successful",
		},
		{
			"untimed talos, node", "10.0.0.5: [talos] task startUdevd (1/5): done, 1.2s",
			FormatTalosUntimed, "10.0.0.5", stamp{}, "[talos] task startUdevd (1/5): done, 1.2s",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl, ok := parseLine(stripANSI(tc.line))
			if !ok {
				t.Fatalf("not recognised: %q", tc.line)
			}

			if pl.format != tc.format || pl.node != tc.node || pl.st != tc.st || pl.msg != tc.msg {
				t.Errorf("got %+v\nwant format %s node %q stamp %+v msg %q", pl, tc.format, tc.node, tc.st, tc.msg)
			}
		})
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"nfo: [2026-03-14T09:21:09.123Z]: aacraid: Comm Interface type3 enabled", // cut mid-prefix
		"sd 0:2:0:0: [sda] Attached SCSI disk",                                   // no time
		"kern: bogus: [2026-01-01T10:00:01Z]: x",
		"[   abc] x",
		"2026-13-45T99:00:00Z INFO x",
		"raid-settle: released (no-state) after 2.0s",
	} {
		if pl, ok := parseLine(line); ok {
			t.Errorf("%q recognised as %+v", line, pl)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want event
	}{
		{" sda: sda1 sda2 sda3 sda4 sda5 sda6", event{kind: kindPartitions, subject: "sda", parts: []string{"sda1", "sda2", "sda3", "sda4", "sda5", "sda6"}}},
		{" nvme0n1: p1 p2", event{kind: kindPartitions, subject: "nvme0n1", parts: []string{"nvme0n1p1", "nvme0n1p2"}}},
		{" sdb: sdb1 < sdb5 sdb6 >", event{kind: kindPartitions, subject: "sdb", parts: []string{"sdb1", "sdb5", "sdb6"}}},
		{" sdc:", event{kind: kindPartitions, subject: "sdc"}},
		{"sd 0:2:0:0: [sda] 936640512 512-byte logical blocks: (480 GB/447 GiB)", event{kind: kindDisk, subject: "sda", detail: "0:2:0:0"}},
		{"sd 0:2:0:0: [sda] Write Protect is off", event{}},
		{"scsi 0:2:0:0: Direct-Access     DELL     PERC H730P Mini  4.30 PQ: 0 ANSI: 5", event{kind: kindSCSIDevice, subject: "0:2:0:0", detail: "DELL PERC H730P Mini 4.30 PQ: 0 ANSI: 5"}},
		{"mpt3sas_cm0: port enable: SUCCESS", event{kind: kindController, subject: "mpt3sas"}},
		{"megasas: 07.727.03.00-rc1", event{kind: kindController, subject: "megaraid_sas"}},
		{
			`[talos] volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "missing -> ready", "location": "/dev/sda5", "parentLocation": "/dev/sda"}`,
			event{kind: kindVolume, subject: "STATE", from: "missing", to: "ready", location: "/dev/sda5"},
		},
		{`volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "EPHEMERAL", "phase": "waiting -> ready"}`, event{}},
		{"[talos] service[udevd](Running): Health check successful", event{kind: kindUdevReady}},
		{"[talos] service[udevd](Running): Health check failed: waiting for udevd for extra settle timeout", event{kind: kindSettleWait}},
		{"[talos] task startUdevd (1/4): extra settle time: 30s", event{kind: kindSettleTime, detail: "30s"}},
		{`extra udev settle time {"component": "controller-runtime", "controller": "runtime.UdevServiceController", "duration": "30s"}`, event{kind: kindSettleTime, detail: "30s"}},
		{`machine config loaded successfully {"component": "controller-runtime", "controller": "config.AcquireController", "sources": ["state", "cmdline-early"]}`, event{kind: kindConfigLoaded, detail: "state,cmdline-early"}},
		{"XFS (sda5): Metadata CRC error detected at xfs_sb_read_verify+0x11e/0x170, xfs_sb block 0x0", event{kind: kindXFSError, subject: "sda5", location: "/dev/sda5", detail: "Metadata CRC error detected at xfs_sb_read_verify+0x11e/0x170, xfs_sb block 0x0"}},
		{"XFS (sda5): Ending clean mount", event{kind: kindXFSClean, subject: "sda5", location: "/dev/sda5"}},
		{"Command line: talos.platform=metal talos.devices.settle_time=30s", event{kind: kindCmdline, detail: "talos.platform=metal talos.devices.settle_time=30s"}},
		{"raid-settle: partition sdb5 named STATE appeared at +6.0s", event{kind: kindGateStatePart, subject: "sdb5"}},
		{"raid-settle: STATE on nvme0n1 partition 5: xfs corrupt (xfs-bad-crc)", event{kind: kindGateStateCheck, subject: "nvme0n1p5", detail: "corrupt"}},
		{"raid-settle: released (deadline) after 120.0s: the 2m0s deadline passed", event{kind: kindGateRelease, subject: "deadline", detail: "released (deadline) after 120.0s: the 2m0s deadline passed"}},
		{"raid-settle: uevent add block partition /devices/pci0000:00/0000:00:04.0/host0/target0:2:0/0:2:0:0/block/sda/sda5", event{kind: kindPartitions, subject: "sda", parts: []string{"sda5"}, detail: "raid-settle"}},
		{"ata1: SATA link down (SStatus 0 SControl 300)", event{}},
	} {
		got := classify(tc.msg)
		if got.kind != tc.want.kind || got.subject != tc.want.subject || got.from != tc.want.from || got.to != tc.want.to ||
			got.location != tc.want.location || got.detail != tc.want.detail || strings.Join(got.parts, " ") != strings.Join(tc.want.parts, " ") {
			t.Errorf("classify(%q)\n got %s %+v\nwant %s %+v", tc.msg, got.kind, got, tc.want.kind, tc.want)
		}
	}
}

func TestDiskAndPartitionNames(t *testing.T) {
	for part, disk := range map[string]string{"sda5": "sda", "/dev/nvme0n1p5": "nvme0n1", "mmcblk0p3": "mmcblk0", "vdb12": "vdb", "sdaa3": "sdaa"} {
		if got := diskOf(part); got != disk {
			t.Errorf("diskOf(%s) = %s, want %s", part, got, disk)
		}
	}
}

func TestLongLinesAreSkippedAndCounted(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+10)
	input := "[    1.000000] Linux version 6.12\n" + long + "\n" + long + long + "\n" +
		"[    2.000000]  sda: sda1 sda2\n" + "[    3.000000] sd 0:0:0:0: [sda] Attached SCSI disk" // no final newline

	res, err := Diagnose([]Input{{Name: "long.txt", R: strings.NewReader(input)}})
	if err != nil {
		t.Fatal(err)
	}

	src := res.Sources[0]
	if src.LongLines != 2 || src.Lines != 5 || src.Recognised != 3 {
		t.Fatalf("source %+v: want 5 lines, 2 of them long and skipped, 3 recognised", src)
	}

	// Line numbers are the file's: the long lines count.
	var got []string
	for _, e := range res.Timeline {
		got = append(got, fmt.Sprintf("%s:%d", e.Kind, e.Line))
	}

	if strings.Join(got, " ") != "boot:1 partitions:4 disk:5" {
		t.Errorf("timeline %v", got)
	}
}

func TestEarlierBootsAreDropped(t *testing.T) {
	input := strings.Join([]string{
		"[    0.000000] Linux version 6.12.18-talos",
		"[    3.000000] [talos] " + `volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "waiting -> missing"}`,
		"[    0.000000] Linux version 6.12.18-talos",
		"[    2.000000]  sda: sda1 sda2 sda3 sda4 sda5 sda6",
		"[    3.000000] [talos] " + `volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "STATE", "phase": "waiting -> ready", "location": "/dev/sda5"}`,
		"[    3.100000] [talos] " + `machine config loaded successfully {"component": "controller-runtime", "controller": "config.AcquireController", "sources": ["state"]}`,
	}, "\n")

	res, err := Diagnose([]Input{{Name: "two-boots.txt", R: strings.NewReader(input)}})
	if err != nil {
		t.Fatal(err)
	}

	if res.Sources[0].EarlierBoots != 2 {
		t.Errorf("earlier boot lines dropped: %d, want 2", res.Sources[0].EarlierBoots)
	}

	if len(res.Verdicts) != 1 || res.Verdicts[0].ID != Healthy {
		t.Errorf("verdicts %+v, want healthy (the last boot)", res.Verdicts)
	}
}

func TestJSONThatIsNotAReport(t *testing.T) {
	res, err := Diagnose([]Input{{Name: "other.json", R: strings.NewReader(`{"kind": "Pod", "metadata": {}}`)}})
	if err != nil {
		t.Fatal(err)
	}

	if res.Sources[0].Note == "" || res.Verdicts[0].ID != InsufficientEvidence {
		t.Errorf("source %+v, verdicts %+v", res.Sources[0], res.Verdicts)
	}
}

func TestStripANSI(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[34mINFO\x1b[0m volume status":                  "INFO volume status",
		"\x1b[0;1;38:5:185mFailed to allocate memory\x1b[0m": "Failed to allocate memory",
		"no escapes":     "no escapes",
		"dangling \x1b[": "dangling \x1b[",
		"\x1b[35mDEBUG\x1b[0m loading config from STATE \x1b[1;31mx": "DEBUG loading config from STATE x",
	} {
		if got := stripANSI(in); got != want {
			t.Errorf("stripANSI(%q) = %q, want %q", in, got, want)
		}
	}
}
