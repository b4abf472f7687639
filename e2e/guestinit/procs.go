package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

// procPoll is how often /proc is listed for raid-settle processes: the
// resolution of their start and exit times.
const procPoll = 100 * time.Millisecond

// procWatch reports raid-settle processes (the gate and any child of it) as
// they start and end, by listing /proc: whether the gate exits while one of
// its reads is stuck in the kernel.
type procWatch struct {
	g    *guest
	mu   sync.Mutex
	live map[int]string // pid -> argv
	stop chan struct{}
	done chan struct{}
}

func (g *guest) watchProcs() *procWatch {
	w := &procWatch{g: g, live: map[int]string{}, stop: make(chan struct{}), done: make(chan struct{})}

	go func() {
		defer close(w.done)

		t := time.NewTicker(procPoll)
		defer t.Stop()

		for {
			w.poll()

			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()

	return w
}

// poll lists /proc once and reports what started and ended since the last
// time.
func (w *procWatch) poll() {
	now := nowMS()
	found := raidSettleProcs("/proc")

	w.mu.Lock()
	defer w.mu.Unlock()

	for pid, argv := range found {
		if _, ok := w.live[pid]; !ok {
			w.live[pid] = argv
			w.g.emit(proto.KindProc, "event", "start", "ms", now, "pid", pid, "ppid", procPPID("/proc", pid), "argv", argv)
		}
	}

	for pid, argv := range w.live {
		if _, ok := found[pid]; !ok {
			delete(w.live, pid)
			w.g.emit(proto.KindProc, "event", "exit", "ms", now, "pid", pid, "argv", argv)
		}
	}
}

// finish stops the watch and reports the processes still there, with their
// scheduler state (D: waiting in the kernel) and wait channel.
func (w *procWatch) finish() {
	close(w.stop)
	<-w.done
	w.poll()

	w.mu.Lock()
	defer w.mu.Unlock()

	for pid, argv := range w.live {
		dir := filepath.Join("/proc", strconv.Itoa(pid))
		w.g.emit(proto.KindProc, "event", "alive", "ms", nowMS(), "pid", pid, "ppid", procPPID("/proc", pid), "argv", argv,
			"state", procState(dir), "wchan", readFile(filepath.Join(dir, "wchan")))
	}
}

// raidSettleProcs returns the processes whose executable or argv[0] is
// named raid-settle, with their argv joined by spaces.
func raidSettleProcs(procRoot string) map[int]string {
	out := map[int]string{}

	entries, _ := os.ReadDir(procRoot)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}

		dir := filepath.Join(procRoot, e.Name())

		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		if len(cmdline) == 0 {
			continue // a kernel thread, or gone
		}

		argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		exe, _ := os.Readlink(filepath.Join(dir, "exe"))

		if filepath.Base(argv[0]) == "raid-settle" || filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == "raid-settle" {
			out[pid] = strings.Join(argv, " ")
		}
	}

	return out
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(dir string) []string {
	stat, _ := os.ReadFile(filepath.Join(dir, "stat"))

	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}

	return strings.Fields(string(stat[i+1:]))
}

func procState(dir string) string {
	if f := procStat(dir); len(f) > 0 {
		return f[0]
	}

	return ""
}

func procPPID(procRoot string, pid int) int {
	if f := procStat(filepath.Join(procRoot, strconv.Itoa(pid))); len(f) > 1 {
		n, _ := strconv.Atoi(f[1])

		return n
	}

	return -1
}
