package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/blockdev"
	"github.com/raid-settle/raid-settle/internal/diskimage"
	"github.com/raid-settle/raid-settle/internal/fstree"
	"github.com/raid-settle/raid-settle/internal/testenv"
)

// BenchmarkGateJBOD is the gate's own work for a JBOD of n blank disks plus
// the STATE disk, each with Talos's six partitions as the kernel lists them:
// the engine fed every uevent in one batch (as the gate feeds a queued
// burst or a sysfs scan), and every probe run by the real Prober
// against sysfs (a tree written like the kernel's) and a Talos disk image
// made by the real tools. One op is one boot, from the first uevent to the
// release; the wall-clock cost of a real boot adds the devices' I/O.
func BenchmarkGateJBOD(b *testing.B) {
	testenv.Tools(b, testenv.DiskTools...)

	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("disks=%d", n), func(b *testing.B) {
			root := b.TempDir()
			dev, sys := filepath.Join(root, "dev"), filepath.Join(root, "sys")

			if err := os.MkdirAll(dev, 0o755); err != nil {
				b.Fatal(err)
			}

			state := "sd" + diskLetters(n)
			if err := diskimage.Build(filepath.Join(dev, state), root, diskimage.TalosDisk(512, diskimage.XFS)); err != nil {
				b.Fatal(err)
			}

			var (
				spec   strings.Builder
				events []TimedInput
			)

			events = append(events, at0(0, megaraidBind(megaraid)))

			for i := range n + 1 {
				name := "sd" + diskLetters(i)
				if i < n {
					if err := os.WriteFile(filepath.Join(dev, name), nil, 0o644); err != nil {
						b.Fatal(err)
					}
				}

				for p, label := range []string{"EFI", "BIOS", "BOOT", "META", "STATE", "EPHEMERAL"} {
					if label == "STATE" && i < n {
						label = "DATA"
					}

					// The STATE partition's place is the image's (sgdisk's
					// layout for TalosDisk).
					fmt.Fprintf(&spec, "-- class/block/%[1]s/%[1]s%[2]d/uevent --\nDEVTYPE=partition\nPARTN=%[2]d\nPARTNAME=%[3]s\n-- class/block/%[1]s/%[1]s%[2]d/start --\n243712\n-- class/block/%[1]s/%[1]s%[2]d/size --\n204800\n", name, p+1, label)
				}

				events = append(events, diskArrives(time.Duration(i)*time.Millisecond, megaraid, name)...)
			}

			if err := fstree.Write(sys, spec.String()); err != nil {
				b.Fatal(err)
			}

			prober := Prober{DevRoot: dev, SysRoot: sys}
			t0 := time.Unix(1000, 0)

			b.ResetTimer()

			for b.Loop() {
				e := NewEngine(DefaultSettings(), t0)
				now := t0

				var queue []string

				step := func(in Input) {
					for _, a := range e.Step(in, now) {
						if a.Kind == ActionProbe {
							queue = append(queue, a.Disk)
						}
					}
				}

				// The gate feeds the uevents already queued as one batch, as
				// it does a coldplug scan.
				ins := make([]Input, len(events))
				for i, ev := range events {
					ins[i] = ev.Input
				}

				now = t0.Add(time.Duration(events[len(events)-1].AtMS) * time.Millisecond)
				for _, a := range e.StepAll(ins, now) {
					if a.Kind == ActionProbe {
						queue = append(queue, a.Disk)
					}
				}

				for len(queue) > 0 && e.Released() == nil {
					disk := queue[0]
					queue = queue[1:]
					p := prober.Probe(context.Background(), disk)
					step(Input{Kind: InputProbe, Probe: &p})
				}

				if r := e.Released(); r == nil || r.Decision != DecisionStateVerified {
					b.Fatalf("no release on the STATE of %s: %+v", state, r)
				}
			}
		})
	}
}

// diskLetters names the i-th disk as the sd driver does: a..z, aa..az, ...
func diskLetters(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}

	return diskLetters(i/26-1) + string(rune('a'+i%26))
}

// BenchmarkWriteReport is the report the gate writes between its release
// and its exit, which udevd waits for: the uevents of n disks with Talos's
// six partitions each, and a probe result per disk.
func BenchmarkWriteReport(b *testing.B) {
	for _, n := range []int{1, 256} {
		b.Run(fmt.Sprintf("disks=%d", n), func(b *testing.B) {
			rep := &Report{SchemaVersion: ReportSchemaVersion, Settings: DefaultSettings(), StateUeventMS: -1}
			rep.Timeline = append(rep.Timeline, at0(0, megaraidBind(megaraid)))

			for i := range n {
				name := "sd" + diskLetters(i)
				rep.Timeline = append(rep.Timeline, diskArrives(time.Duration(i)*time.Millisecond, megaraid, name)...)
				rep.Timeline = append(rep.Timeline, TimedInput{AtMS: int64(i), Input: Input{Kind: InputProbe, Probe: &ProbeResult{Disk: name, AskedMS: int64(i)}}})
			}

			g := &Gate{RunDir: b.TempDir(), Log: NewLogger(io.Discard)}

			for b.Loop() {
				g.writeReport(rep)
			}

			info, err := os.Stat(filepath.Join(g.RunDir, reportName))
			if err != nil {
				b.Fatal(err)
			}

			b.ReportMetric(float64(info.Size()), "bytes")
		})
	}
}

// BenchmarkEngineArrivals is the engine alone as the gate runs it while a
// JBOD's n disks arrive one after another, as the kernel announces them
// behind a real controller: each disk's uevents come as a batch of their
// own, with the probe result of the disk before them, and the last disk
// holds STATE. The gate evaluates its rules once per batch, so what a batch
// costs as the disk count grows is what this measures.
func BenchmarkEngineArrivals(b *testing.B) {
	for _, n := range []int{1, 16, 64, 256} {
		b.Run(fmt.Sprintf("disks=%d", n), func(b *testing.B) {
			t0 := time.Unix(1000, 0)
			bind := megaraidBind(megaraid)

			batches := make([][]Input, n+1)
			for i := range n {
				name := "sd" + diskLetters(i)
				for _, in := range diskArrives(0, megaraid, name) {
					batches[i] = append(batches[i], in.Input)
				}

				result := ProbeResult{Disk: name}
				if i == n-1 {
					result = withDisk(name, stateOn(name, blockdev.VerdictOK))
				}

				batches[i+1] = append(batches[i+1], Input{Kind: InputProbe, Probe: &result})
			}

			b.ReportAllocs()

			for b.Loop() {
				e := NewEngine(DefaultSettings(), t0)
				e.Step(Input{Kind: InputEvent, Event: &bind}, t0)

				for i, batch := range batches {
					e.StepAll(batch, t0.Add(time.Duration(i)*time.Millisecond))
				}

				if r := e.Released(); r == nil || r.Decision != DecisionStateVerified {
					b.Fatalf("no release on the last disk's STATE: %+v", r)
				}
			}
		})
	}
}
