package certify

import (
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/udev"
)

// fakeClock advances by step on every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.t = c.t.Add(c.step)

	return c.t
}

func progressTarget() (*target, *Cycler) {
	tg := &target{
		ctl:      udev.Controller{Address: "0000:18:00.0", Driver: "megaraid_sas"},
		identity: Identity{PCIID: "1000:005d"},
		blocks:   []udev.BlockDevice{{Name: "sda"}, {Name: "sda1", Partition: true}, {Name: "sdb"}, {Name: "sdb1", Partition: true}},
		expected: percExpected,
		names:    map[string]string{"scsi-0:2:0:0": "sda", "scsi-0:2:0:0-part1": "sda1", "scsi-0:2:1:0": "sdb", "scsi-0:2:1:0-part1": "sdb1"},
	}
	c := &Cycler{Method: MethodUnbind, Cycles: 3, Timeout: 2 * time.Minute}

	return tg, c
}

func TestProgressPlain(t *testing.T) {
	var out strings.Builder

	clock := &fakeClock{t: time.Unix(0, 0), step: 10 * time.Second}
	p := NewProgress(&out, false, clock.Now)
	tg, c := progressTarget()

	p.Begin(tg, c)
	p.Phase(1, "removing")
	p.Waiting(1, 1, 2, 1, 2, time.Second)
	p.CycleDone(Cycle{Index: 1, BindUeventMS: 12, Arrivals: []Arrival{
		{ID: "scsi-0:2:0:0", AtMS: 40}, {ID: "scsi-0:2:0:0-part1", AtMS: 41}, {ID: "scsi-0:2:1:0", AtMS: 90}, {ID: "scsi-0:2:1:0-part1", AtMS: 91},
	}}, tg)
	p.CycleDone(Cycle{Index: 2, TimedOut: true, ObservedMS: 120000, BindUeventMS: -1, Arrivals: []Arrival{{ID: "scsi-0:2:0:0", AtMS: 40}, {ID: "scsi-0:2:0:0-part1", AtMS: 41}}}, tg)
	p.End()

	want := `certifying 0000:18:00.0 (megaraid_sas, 1000:005d): 3 unbind/bind cycle(s), 2 disk(s) and 2 partition(s) expected back, each cycle bounded by 2m0s
cycle 1/3: 2/2 disks, 2/2 partitions back, last at 91ms (bind uevent at 12ms) | 1 done, 2 left, ETA 20s
cycle 2/3: 1/2 disks, 1/2 partitions back within the 2m00s bound; missing scsi-0:2:1:0 (sdb), scsi-0:2:1:0-part1 (sdb1) | 2 done, 1 with a device missing, 1 left, ETA 10s
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestProgressTerminal(t *testing.T) {
	var out strings.Builder

	clock := &fakeClock{t: time.Unix(0, 0), step: time.Second}
	p := NewProgress(&out, true, clock.Now)
	tg, c := progressTarget()

	p.Begin(tg, c)
	p.Phase(1, "re-enumerating")
	p.Waiting(1, 1, 2, 0, 2, 1500*time.Millisecond)
	p.CycleDone(Cycle{Index: 1, BindUeventMS: -1}, tg)

	got := out.String()
	for _, want := range []string{
		"\r\x1b[Kcycle 1/3: re-enumerating...",
		"\r\x1b[Kcycle 1/3: 1/2 disks, 0/2 partitions back after 1.5s",
		"\r\x1b[Kcycle 1/3: 0/2 disks, 0/2 partitions back | 1 done, 1 with a device missing, 2 left, ETA ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}

	// A nil Progress shows nothing and does not panic.
	var none *Progress
	none.Begin(tg, c)
	none.Phase(1, "x")
	none.Waiting(1, 0, 0, 0, 0, 0)
	none.CycleDone(Cycle{}, tg)
	none.End()
}

func TestFormatETA(t *testing.T) {
	for d, want := range map[time.Duration]string{8 * time.Second: "8s", 65 * time.Second: "1m05s", 62 * time.Minute: "1h02m"} {
		if got := formatETA(d); got != want {
			t.Errorf("%s: %q", d, got)
		}
	}
}
