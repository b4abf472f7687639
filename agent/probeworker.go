package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ProbeWorker runs the gate's disk probes in a child process.
//
// A read stuck in the kernel (a dying disk, a command the controller never
// completes) leaves the reading thread in uninterruptible sleep, and a
// process cannot finish exiting while one of its threads sleeps so: the
// kernel reports its exit to udevd only once every thread is gone
// (kernel/exit.c, exit_notify and delay_group_leader). Were the gate to read
// disks itself, udevd would go on waiting for it past its release. With the
// reads in a child, the gate exits when it decides; a stuck child lingers on
// its own, holding nothing udevd waits for.
type ProbeWorker struct {
	in io.WriteCloser

	mu      sync.Mutex
	enc     *json.Encoder
	next    uint64
	waiting map[uint64]chan ProbeResult
	err     error // why the worker is gone, once it is
	usage   Usage // the worker's, as of its last reply
	// ready and warmed are the worker's start-up steps (Startup); MS is 0
	// until they happen.
	ready, warmed ProbeStep

	// clock reads the gate's clock, in milliseconds since its start, to
	// time when each reply was read; nil leaves ReceivedMS out.
	clock func() float64
}

// Startup returns the worker's start-up steps so far, each with the CPU
// time the worker had used by then: "probe worker ready", when it said it
// could take requests (on the gate's clock, as it said), and "probe worker
// warmed up", when the gate read the result of its warm-up (see
// ServeProbes; only with a clock).
func (w *ProbeWorker) Startup() []ProbeStep {
	w.mu.Lock()
	defer w.mu.Unlock()

	var steps []ProbeStep

	for _, s := range []ProbeStep{w.ready, w.warmed} {
		if s.MS > 0 {
			steps = append(steps, s)
		}
	}

	return steps
}

// Usage returns what the worker had used as of its last reply.
func (w *ProbeWorker) Usage() Usage {
	w.mu.Lock()
	defer w.mu.Unlock()

	return w.usage
}

// probeRequest asks the worker to verify one disk.
type probeRequest struct {
	ID   uint64 `json:"id"`
	Disk string `json:"disk"`
}

// probeReply is the worker's answer to the request with the same ID, with
// what the worker had used so far. Replies with ID 0 answer no request: the
// first says when the worker was ready (ReadyMS); one more may carry the
// result of its warm-up (WarmUp), which the gate decodes and drops.
type probeReply struct {
	ID      uint64      `json:"id"`
	Result  ProbeResult `json:"result"`
	Usage   Usage       `json:"usage"`
	ReadyMS float64     `json:"ready_ms,omitempty"`
}

// StartProbeWorker starts argv, a command serving ServeProbes on its stdin
// and stdout (`raid-settle probe-worker`). The child gets its own session and
// no stderr, so that it holds none of udevd's pipes; it is reaped when it
// exits, and never waited for. clock, when not nil, times the replies (see
// NewProbeWorker).
func StartProbeWorker(argv []string, clock func() float64) (*ProbeWorker, error) {
	if len(argv) == 0 {
		return nil, errors.New("no probe worker command")
	}

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}

	// The gate's end of the worker's stdin is an *os.File of its own, whose
	// writes take a deadline (Send).
	requests, stdin, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("failed to start the probe worker: %w", err)
	}

	cmd.Stdin = requests

	stdout, err := cmd.StdoutPipe()
	if err != nil {
		requests.Close()
		stdin.Close()

		return nil, fmt.Errorf("failed to start the probe worker: %w", err)
	}

	err = cmd.Start()
	requests.Close() // the child's copy is the one it reads

	if err != nil {
		stdin.Close()

		return nil, fmt.Errorf("failed to start the probe worker: %w", err)
	}

	w := NewProbeWorker(stdin, stdout, clock)

	go cmd.Wait() // reaps the child; its exit status says nothing the replies did not

	return w, nil
}

// NewProbeWorker returns a client of a worker that reads requests from in
// and writes replies to out. clock, when not nil, reads the gate's clock in
// milliseconds since its start: each result's ReceivedMS is then when its
// reply was read.
func NewProbeWorker(in io.WriteCloser, out io.Reader, clock func() float64) *ProbeWorker {
	w := &ProbeWorker{in: in, enc: json.NewEncoder(in), waiting: map[uint64]chan ProbeResult{}, clock: clock}

	go w.readReplies(out)

	return w
}

func (w *ProbeWorker) readReplies(out io.Reader) {
	dec := json.NewDecoder(out)

	for {
		var r probeReply
		if err := dec.Decode(&r); err != nil {
			w.fail(fmt.Errorf("probe worker stopped: %w", err))

			return
		}

		if w.clock != nil {
			r.Result.ReceivedMS = w.clock()
		}

		w.mu.Lock()
		ch := w.waiting[r.ID]
		delete(w.waiting, r.ID)
		w.usage = r.Usage

		switch {
		case r.ID == 0 && r.ReadyMS > 0:
			w.ready = ProbeStep{Step: "probe worker ready", MS: r.ReadyMS, CPUMS: r.Usage.CPUMS}
		case r.ID == 0 && r.Result.Disk != "":
			w.warmed = ProbeStep{Step: "probe worker warmed up", MS: r.Result.ReceivedMS, CPUMS: r.Usage.CPUMS}
		}
		w.mu.Unlock()

		if ch != nil {
			ch <- r.Result
		}
	}
}

// fail records why the worker is gone and answers every waiting probe with
// it.
func (w *ProbeWorker) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	if w.err == nil {
		w.err = err
	}

	for id, ch := range w.waiting {
		ch <- ProbeResult{Error: w.err.Error()}
		delete(w.waiting, id)
	}
}

// Err returns why the worker is gone, or nil while it serves.
func (w *ProbeWorker) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()

	return w.err
}

// Send writes the request to verify disk now and returns what waits for the
// answer, or for ctx to end. The request is written by the caller, not by a
// goroutine the scheduler has yet to run: the worker starts on it at once.
// A worker that does not take a request within requestWriteTimeout is taken
// for gone, so the write never holds the caller longer; a gone worker
// answers with an error at once.
func (w *ProbeWorker) Send(disk string) (wait func(ctx context.Context) ProbeResult) {
	ch := make(chan ProbeResult, 1)

	w.mu.Lock()

	if w.err != nil {
		err := w.err
		w.mu.Unlock()

		return func(context.Context) ProbeResult { return ProbeResult{Disk: disk, Error: err.Error()} }
	}

	w.next++
	id := w.next
	w.waiting[id] = ch

	if d, ok := w.in.(interface{ SetWriteDeadline(t time.Time) error }); ok {
		_ = d.SetWriteDeadline(time.Now().Add(requestWriteTimeout))
	}

	err := w.enc.Encode(probeRequest{ID: id, Disk: disk})
	w.mu.Unlock()

	if err != nil {
		w.fail(fmt.Errorf("probe worker gone: %w", err))
	}

	return func(ctx context.Context) ProbeResult {
		select {
		case r := <-ch:
			r.Disk = disk

			return r
		case <-ctx.Done():
			w.mu.Lock()
			delete(w.waiting, id)
			w.mu.Unlock()

			return ProbeResult{Disk: disk, Error: ctx.Err().Error()}
		}
	}
}

// requestWriteTimeout bounds how long Send waits for room in the worker's
// stdin, a 64 KiB pipe that holds some two thousand requests: a worker
// that reads none for this long is not going to answer them.
const requestWriteTimeout = time.Second

// Close tells the worker to finish: it exits when its stdin closes, without
// waiting for the probes it still runs.
func (w *ProbeWorker) Close() error { return w.in.Close() }

// ServeProbes is the worker's side: it says it is ready (readyMS, on the
// gate's clock), then reads requests from in, runs each with probe on its
// own goroutine (a hung disk holds up no other), and writes each reply to
// out as it completes. It returns at the end of in.
//
// warm, when not nil, runs once warmUpIdle has passed with no probe under
// way (WarmUp): after the probes of the disks there at boot, which warm the
// code themselves and should not share the CPU with it, and before a disk
// shown later. Its result is sent as a reply to no request, so that the gate's
// JSON decoder too has met a verified STATE before a disk's.
func ServeProbes(in io.Reader, out io.Writer, readyMS float64, warm func() ProbeResult, probe func(ctx context.Context, disk string) ProbeResult) error {
	var (
		mu       sync.Mutex
		inFlight atomic.Int64
	)

	enc := json.NewEncoder(out)
	reply := func(r probeReply) {
		mu.Lock()
		defer mu.Unlock()

		_ = enc.Encode(r)
	}

	if err := enc.Encode(probeReply{ReadyMS: readyMS, Usage: SelfUsage()}); err != nil {
		return fmt.Errorf("cannot answer the gate: %w", err)
	}

	if warm != nil {
		idle := warmUpIdle

		go func() {
			time.Sleep(idle)

			for inFlight.Load() > 0 {
				time.Sleep(idle)
			}

			res := recoverProbe("warm-up", warm)

			reply(probeReply{Result: res, Usage: SelfUsage()})
		}()
	}

	dec := json.NewDecoder(in)

	for {
		var req probeRequest
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("bad probe request: %w", err)
		}

		inFlight.Add(1)

		go func() {
			defer inFlight.Add(-1)

			res := recoverProbe(req.Disk, func() ProbeResult { return probe(context.Background(), req.Disk) })
			reply(probeReply{ID: req.ID, Result: res, Usage: SelfUsage()})
		}()
	}
}

// warmUpIdle is how long the worker waits before it warms up, and again
// while a probe is under way: past the probes of the disks there at boot,
// which the gate asks for as soon as its sysfs scan ends (85 to 720 ms
// after its start in the end-to-end boots of 4f1b29c).
var warmUpIdle = time.Second

// recoverProbe runs the examination of disk, turning a panic into a failed
// probe: probes run on goroutines of their own, where no other recover
// reaches.
func recoverProbe(disk string, examine func() ProbeResult) (res ProbeResult) {
	defer func() {
		if r := recover(); r != nil {
			res = ProbeResult{Disk: disk, Error: fmt.Sprintf("internal error: %v", r)}
		}
	}()

	return examine()
}
