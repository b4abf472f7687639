package certify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/raid-settle/raid-settle/agent"
)

var certDate = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

func TestDeriveFromBootReports(t *testing.T) {
	res := analyzedPERC(t)

	p, err := DefaultRule.Derive("5 gate boot report(s)", certDate, res.Controllers[1])
	if err != nil {
		t.Fatal(err)
	}

	// quiet     = ceil(7.938 s × 2)        = 16 s
	// max_quiet = ceil(17.387 s × 1.5 + 5 s) = ceil(31.08 s) = 32 s
	want := agent.Profile{Driver: "megaraid_sas", PCIIDs: []string{"1000:005d"}, Quiet: agent.Seconds(16), MaxQuiet: agent.Seconds(32), GapFactor: 2}

	got := p
	got.Why = "" // checked below

	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}

	for _, want := range []string{
		"raid-settle certify 2026-03-02, from 5 gate boot report(s) of 0000:18:00.0 (megaraid_sas, 1000:005d, subsystem 1028:1f47)",
		"quiet 16s = longest gap between two arrivals (7.94s) × 2, rounded up to whole seconds, within 1s..30s",
		"max_quiet 32s = latest arrival after the reference (17.39s, p99 17.39s) × 1.5 + 5s, rounded up",
		"1 of 5 cycles lost a disk",
	} {
		if !strings.Contains(p.Why, want) {
			t.Errorf("why lacks %q:\n%s", want, p.Why)
		}
	}
}

func TestRuleClamps(t *testing.T) {
	ctl := func(gap, last int64) ControllerResult {
		return ControllerResult{
			Identity: Identity{Address: "0000:00:04.0", Driver: "megaraid_sas", PCIID: "1000:0060"},
			Stats: Stats{
				Cycles: 5, DiskDelay: Summary{N: 5}, Gap: Summary{N: 4, Max: gap},
				LastArrival: Summary{N: 5, Max: last, P99: last},
			},
		}
	}

	for _, tc := range []struct {
		name            string
		gap, last       int64
		quiet, maxQuiet float64
		why             string
	}{
		// The emulated megasas: everything within a second.
		{"fast: the floors", 12, 640, 1, 6, "quiet 1s = longest gap between two arrivals (12ms) × 2"},
		{"exact seconds are not rounded up", 2000, 2000, 4, 8, "max_quiet 8s"},
		// max_quiet never below quiet.
		{"one late gap", 9000, 5000, 18, 18, "max_quiet 18s"},
		{"slow: the ceilings", 40000, 200000, 30, 110, "(5m5s before the limit: raise the gate's deadline, raid_settle.timeout=, above the latest arrival)"},
	} {
		p, err := DefaultRule.Derive("test", certDate, ctl(tc.gap, tc.last))
		if err != nil {
			t.Fatal(err)
		}

		if p.Quiet != agent.Seconds(tc.quiet) || p.MaxQuiet != agent.Seconds(tc.maxQuiet) || !strings.Contains(p.Why, tc.why) {
			t.Errorf("%s: quiet %s, max_quiet %s, why:\n%s", tc.name, p.Quiet, p.MaxQuiet, p.Why)
		}

		if !strings.Contains(p.Why, "Every disk came back in all 5 cycles") {
			t.Errorf("%s: why %s", tc.name, p.Why)
		}
	}

	noDriver := ctl(1, 1)
	noDriver.Identity.Driver = ""

	if _, err := DefaultRule.Derive("test", certDate, noDriver); !errors.Is(err, ErrNoProfile) {
		t.Errorf("no driver: %v", err)
	}

	noDisk := ctl(0, 0)
	noDisk.Stats.DiskDelay.N = 0

	if _, err := DefaultRule.Derive("test", certDate, noDisk); !errors.Is(err, ErrNoProfile) || !strings.Contains(err.Error(), "no disk arrived") {
		t.Errorf("no disk: %v", err)
	}

	// Without a PCI id the profile covers the whole driver, and says so.
	anyID := ctl(10, 10)
	anyID.Identity.PCIID = ""

	if p, err := DefaultRule.Derive("test", certDate, anyID); err != nil || p.PCIIDs != nil || !strings.Contains(p.Why, "every controller the driver binds") {
		t.Errorf("no PCI id: pci_ids %q, err %v, why:\n%s", p.PCIIDs, err, p.Why)
	}
}

// TestProfileFilesLoadInTheGate writes the results and loads the profile
// the way the gate does.
func TestProfileFilesLoadInTheGate(t *testing.T) {
	res := analyzedPERC(t)
	res.Created = certDate
	res.DeriveProfiles(DefaultRule)

	if len(res.Profiles) != 1 || res.Controllers[1].ProfileFile != "profiles/profile-megaraid_sas-1000-005d.json" ||
		res.Controllers[0].NoProfile != "no disk arrived on 0000:00:17.0 in any cycle" {
		t.Fatalf("profiles %+v, controllers %+v / %+v", res.Profiles, res.Controllers[0].NoProfile, res.Controllers[1].ProfileFile)
	}

	dir := t.TempDir()

	written, err := res.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}

	if len(written) != 3 {
		t.Errorf("wrote %v", written)
	}

	// Only the profile goes to the gate's directory.
	gateDir := t.TempDir()

	data, err := os.ReadFile(filepath.Join(dir, res.Profiles[0].File))
	if err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(filepath.Join(gateDir, filepath.Base(res.Profiles[0].File)), data, 0o644); err != nil {
		t.Fatal(err)
	}

	// The profiles directory alone loads as the gate's directory.
	if ps, err := agent.LoadProfiles(filepath.Join(dir, ProfileDir), nil); err != nil || len(ps) != 1 {
		t.Errorf("%s: %v %+v", ProfileDir, err, ps)
	}

	profiles, err := agent.LoadProfiles(gateDir, agent.BuiltinProfiles)
	if err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(res.Profiles[0].Profile, profiles.For("megaraid_sas", "1000:005d")); diff != "" {
		t.Errorf("the gate picks another profile (-written +picked):\n%s", diff)
	}

	if got := profiles.For("megaraid_sas", "1000:0060"); got.Quiet != agent.Seconds(8) {
		t.Errorf("another MegaRAID gets %+v, want the built-in profile", got)
	}
}

// TestDerivedProfileHoldsForEveryBoot replays each boot without its STATE
// (an uninstalled node, or a STATE the prober cannot read): with the
// derived profile the gate must not conclude "no STATE" before the last
// disk has arrived. A profile too tight does.
func TestDerivedProfileHoldsForEveryBoot(t *testing.T) {
	res := analyzedPERC(t)
	res.DeriveProfiles(DefaultRule)
	derived := res.Profiles[0].Profile

	tight := derived
	tight.Quiet, tight.MaxQuiet = agent.Seconds(2), agent.Seconds(3)

	for i, file := range percReports() {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}

		settings, timeline, err := agent.ReadTimeline(data)
		if err != nil {
			t.Fatal(err)
		}

		var lastDisk int64

		for j, in := range timeline {
			if in.Probe != nil {
				p := *in.Probe
				p.Candidates = nil
				timeline[j].Probe = &p
			}

			if in.Event != nil && in.Event.Subsystem == "block" {
				lastDisk = max(lastDisk, in.AtMS)
			}
		}

		settings.Profiles = append(agent.Profiles{derived}, agent.BuiltinProfiles...)
		sim := agent.Simulate(settings, timeline, nil, 0)

		if sim.Release.Decision != agent.DecisionNoState || sim.Release.AtMS <= lastDisk {
			t.Errorf("boot %d with the derived profile: %s at %dms, last disk at %dms", i+1, sim.Release.Decision, sim.Release.AtMS, lastDisk)
		}

		settings.Profiles = append(agent.Profiles{tight}, agent.BuiltinProfiles...)
		if sim := agent.Simulate(settings, timeline, nil, 0); sim.Release.AtMS > lastDisk {
			t.Errorf("boot %d: a 2s..3s profile waited for every disk (%dms): the replay proves nothing", i+1, sim.Release.AtMS)
		}
	}
}

func TestProfileFileName(t *testing.T) {
	for _, tc := range []struct{ driver, id, want string }{
		{"megaraid_sas", "1000:005d", "profile-megaraid_sas-1000-005d.json"},
		{"virtio-pci", "", "profile-virtio-pci.json"},
		{"../evil", "1000:005d", "profile-.._evil-1000-005d.json"},
	} {
		if got := ProfileFileName(tc.driver, tc.id); got != tc.want {
			t.Errorf("%q %q: %q", tc.driver, tc.id, got)
		}
	}
}
