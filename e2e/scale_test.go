package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

func TestScaleScenarios(t *testing.T) {
	jbod, err := FindScenario("16-jbod-256")
	if err != nil {
		t.Fatal(err)
	}

	hba := jbod.Controllers[1]
	if hba.Bus != BusVirtioSCSI || len(hba.Disks) != 257 || hba.Disks[256].Image != ImageState || hba.Disks[255].Image != ImageNull {
		t.Errorf("16-jbod-256: want 256 null disks then STATE on virtio-scsi, got %d disks on %s", len(hba.Disks), hba.Bus)
	}

	if k, ok := jbod.stateImage(); !ok || k != ImageState {
		t.Errorf("16-jbod-256: state image %q, %v; a null disk is no STATE disk", k, ok)
	}

	stag, err := FindScenario("17-staggered-60")
	if err != nil {
		t.Fatal(err)
	}

	groups := map[time.Duration]int{}
	for _, d := range stag.Controllers[1].Disks {
		groups[d.PlugAfter]++
	}

	for g := range 6 {
		if n := groups[time.Duration(g)*5500*time.Millisecond]; n != 10 {
			t.Errorf("17-staggered-60: group %d has %d disks, want 10", g, n)
		}
	}

	last := stag.Controllers[1].Disks[59]
	if last.Image != ImageState || last.PlugAfter != 27500*time.Millisecond {
		t.Errorf("17-staggered-60: the last disk is %q plugged after %s, want STATE after 27.5s", last.Image, last.PlugAfter)
	}

	if got := stag.lastHotplug(); got != 27500*time.Millisecond {
		t.Errorf("17-staggered-60: last hot-plug %s, want 27.5s", got)
	}
}

// jbodBoot is a boot with raid-settle whose gate saw the uevent of STATE's
// partition at uevent and released at release (its report's times).
func jbodBoot(uevent, release int64) *Result {
	r := newResult("16-jbod-256", With)
	r.Add(time.Time{}, proto.Format(proto.KindReport, "json", `{"decision":{"decision":"state-verified","at_ms":`+itoa(release)+`,`+
		`"state":{"device":"/dev/sdiw","partition_device":"/dev/sdiw5"}},"state_uevent_ms":`+itoa(uevent)+`,`+
		`"timeline":[{"kind":"event","at_ms":`+itoa(uevent)+`,"event":{"action":"add","devname":"sdiw5","env":{"PARTNAME":"STATE"}}}]}`))

	return r
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestStateUeventToRelease(t *testing.T) {
	for _, c := range []struct {
		uevent, release int64
		within, after   bool
	}{
		{4847, 4980, true, true},
		{4847, 5900, false, true},
		{4847, 4800, false, false},
	} {
		r := jbodBoot(c.uevent, c.release)

		if got := StateUeventToRelease(time.Second).OK(r); got != c.within {
			t.Errorf("uevent %d, release %d: within 1s = %v, want %v", c.uevent, c.release, got, c.within)
		}

		if got := ReleasedAfterState.OK(r); got != c.after {
			t.Errorf("uevent %d, release %d: released after = %v, want %v", c.uevent, c.release, got, c.after)
		}
	}

	// No report, or a release on no STATE: neither check passes.
	none := newResult("16-jbod-256", With)
	none.Add(time.Time{}, proto.Format(proto.KindReport, "json", `{"decision":{"decision":"no-state","at_ms":40000},"state_uevent_ms":-1}`))

	for _, r := range []*Result{newResult("16-jbod-256", With), none} {
		if StateUeventToRelease(time.Second).OK(r) || ReleasedAfterState.OK(r) {
			t.Errorf("a boot whose gate did not release on STATE passes")
		}
	}
}
