package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// Arm is a monitor command the harness gives QEMU once, as soon as the
// guest printed a record When accepts: a blkdebug breakpoint set once the
// kernel announced a disk, say.
type Arm struct {
	When func(rec proto.Record) bool
	// HMP is a human monitor command line, run through QMP's
	// human-monitor-command.
	HMP string
}

// hangArms make a Drive.Hang disk's reads stop: once the guest reports the
// kernel's add uevent of the disk (guestName), a breakpoint suspends the
// next read request of drive id, and every later read of the pages it
// covers waits behind it in the guest. The request is resumed once the
// guest has made its Talos-like lookup: the guest's power-off resets the
// virtio device, and QEMU drains the disk's requests on reset, in its main
// loop, which would wait for the suspended one for ever (monitor included).
func hangArms(id, guestName string) []Arm {
	tag := "hang-" + id

	return []Arm{{
		When: func(rec proto.Record) bool {
			f := rec.Fields

			return rec.Kind == proto.KindUevent && f["action"] == "add" && f["subsystem"] == "block" && f["devtype"] == "disk" && f["name"] == guestName
		},
		HMP: `qemu-io ` + id + ` "break read_aio ` + tag + `"`,
	}, {
		When: func(rec proto.Record) bool { return rec.Kind == proto.KindState && rec.Fields["when"] == "decision" },
		HMP:  `qemu-io ` + id + ` "resume ` + tag + `"`,
	}}
}

// arming runs a VM's Arms as the records come.
type arming struct {
	vm     *VM
	fired  []bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	events []HotplugEvent
}

func (vm *VM) newArming() *arming { return &arming{vm: vm, fired: make([]bool, len(vm.Arms))} }

// see runs, in the background, the arms rec triggers; it is called from
// the one goroutine that reads the records.
func (a *arming) see(ctx context.Context, rec proto.Record) {
	for i, arm := range a.vm.Arms {
		if a.fired[i] || !arm.When(rec) {
			continue
		}

		a.fired[i] = true
		a.wg.Add(1)

		go func(arm Arm) {
			defer a.wg.Done()

			ev := a.run(ctx, arm)

			a.mu.Lock()
			a.events = append(a.events, ev)
			a.mu.Unlock()
		}(arm)
	}
}

func (a *arming) run(ctx context.Context, arm Arm) HotplugEvent {
	ev := HotplugEvent{Device: "hmp " + arm.HMP}

	q, err := dialQMP(ctx, a.vm.qmpPath())
	if err != nil {
		ev.At, ev.Err = time.Now(), err.Error()

		return ev
	}
	defer q.Close()

	out, err := q.Call("human-monitor-command", map[string]any{"command-line": arm.HMP})
	ev.At = time.Now()

	var text string

	switch {
	case err != nil:
		ev.Err = err.Error()
	case json.Unmarshal(out, &text) != nil:
		ev.Err = "unexpected answer " + string(out)
	case strings.TrimSpace(text) != "":
		// The human monitor answers a command that worked with nothing.
		ev.Err = strings.TrimSpace(text)
	}

	return ev
}

// wait waits for the arms under way and returns what each did.
func (a *arming) wait() []HotplugEvent {
	a.wg.Wait()

	a.mu.Lock()
	defer a.mu.Unlock()

	return a.events
}
