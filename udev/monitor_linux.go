//go:build linux

package udev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/pilebones/go-udev/netlink"
	"golang.org/x/sys/unix"
)

// ErrMonitorClosed is returned by Run once Close has been called.
var ErrMonitorClosed = errors.New("udev: monitor closed")

// Monitor receives kernel uevents from NETLINK_KOBJECT_UEVENT group 1.
//
// The socket is go-udev's netlink.UEventConn (SO_PASSCRED, the receive
// queue, the binding); the monitor reads it itself, into one reused buffer,
// and drops every message the kernel did not send (receiver). Run waits for
// the socket with poll(2) next to a wake-up pipe, so that cancelling it
// takes effect at once, and reads a message only when one is ready.
type Monitor struct {
	conn   *netlink.UEventConn
	recv   *receiver
	opts   MonitorOptions
	rcvbuf int

	overflows, rejected, resyncs atomic.Int64

	mu      sync.Mutex
	closed  bool
	running bool
	stop    context.CancelFunc // cancels the running Run
	done    chan struct{}      // closed once the running Run has returned
}

// OpenMonitor opens and binds the uevent socket at once, so that the caller
// can scan sysfs afterwards without a gap: events from then on wait in the
// socket's receive queue until Run reads them.
func OpenMonitor(opts MonitorOptions) (*Monitor, error) {
	opts = opts.withDefaults()

	conn := &netlink.UEventConn{ReceiveBufferSize: opts.ReceiveBufferSize}
	if err := conn.Connect(netlink.KernelEvent); err != nil {
		return nil, fmt.Errorf("failed to open the kernel uevent socket: %w", err)
	}

	m := &Monitor{conn: conn, recv: newReceiver(conn.Fd), opts: opts}

	// The kernel stores (and reports) twice what it was asked for: half of
	// it pays for socket buffer bookkeeping.
	if got, err := unix.GetsockoptInt(conn.Fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		m.rcvbuf = got
		if got < opts.ReceiveBufferSize {
			opts.Log("uevent receive queue is %d bytes, %d asked for (net.core.rmem_max caps it without CAP_NET_ADMIN)",
				got, opts.ReceiveBufferSize)
		}
	}

	return m, nil
}

// Run delivers events on out until ctx ends or Close is called, then
// returns nil; it closes out when it returns, whatever the reason. Only one
// Run may be active at a time.
//
// Messages the kernel did not send, and messages ParseEvent refuses, are
// counted (Rejected) and skipped. When the kernel reports that the receive
// queue overflowed (ENOBUFS), Run counts it (Overflows), keeps reading until
// the queue is empty, since the kernel reports an overflow only once until
// then, and then emits an "add" event with Source SourceResync for every
// device Walk finds (Resyncs counts those walks). An error is returned only
// when the socket itself fails.
func (m *Monitor) Run(ctx context.Context, out chan<- Event) error {
	ctx, cancel := context.WithCancel(ctx)

	wakeR, wakeW, err := os.Pipe()
	if err != nil {
		cancel()
		close(out)

		return fmt.Errorf("failed to create the wake-up pipe: %w", err)
	}

	m.mu.Lock()

	switch {
	case m.closed:
		err = ErrMonitorClosed
	case m.running:
		err = errors.New("udev: Monitor.Run is already running")
	}

	if err != nil {
		m.mu.Unlock()
		cancel()
		close(out)
		wakeR.Close()
		wakeW.Close()

		return err
	}

	done := make(chan struct{})
	m.running, m.stop, m.done = true, cancel, done
	m.mu.Unlock()

	stopWake := context.AfterFunc(ctx, func() {
		wakeW.Write([]byte{0}) // fails only once Run is over
	})

	defer func() {
		stopWake()
		cancel()
		close(out)
		wakeW.Close()
		wakeR.Close()

		m.mu.Lock()
		m.running, m.stop, m.done = false, nil, nil
		m.mu.Unlock()
		close(done)
	}()

	return m.receive(ctx, out, int(wakeR.Fd()))
}

// receive is Run's loop.
func (m *Monitor) receive(ctx context.Context, out chan<- Event, wake int) error {
	fds := []unix.PollFd{
		{Fd: int32(m.conn.Fd), Events: unix.POLLIN},
		{Fd: int32(wake), Events: unix.POLLIN},
	}

	// overflowed is set from an ENOBUFS until the queue has been emptied.
	overflowed := false

	for {
		timeout := -1
		if overflowed {
			timeout = 0 // only asking whether the queue is empty yet
		}

		ready, err := unix.Poll(fds, timeout)
		if errors.Is(err, unix.EINTR) {
			continue
		}

		if err != nil {
			return fmt.Errorf("failed to wait for uevents: %w", err)
		}

		if fds[1].Revents != 0 || ctx.Err() != nil {
			return nil
		}

		if ready == 0 {
			overflowed = false

			if !m.resync(ctx, out) {
				return nil
			}

			continue
		}

		if fds[0].Revents&unix.POLLNVAL != 0 {
			return errors.New("failed to receive a uevent: socket closed")
		}

		msg, err := m.recv.read()

		switch {
		case errors.Is(err, unix.EAGAIN):
			continue
		case errors.Is(err, unix.ENOBUFS):
			n := m.overflows.Add(1)
			m.opts.Log("uevent receive queue overflowed (%d so far): events were lost; sysfs will be walked once the queue is drained", n)

			overflowed = true

			continue
		case errors.Is(err, errForged), errors.Is(err, errTruncated):
			m.reject(err)

			continue
		case err != nil:
			return fmt.Errorf("failed to receive a uevent: %w", err)
		}

		ev, err := ParseEvent(msg, m.opts.Now())
		if err != nil {
			m.reject(err)

			continue
		}

		if !send(ctx, out, ev) {
			return nil
		}
	}
}

// resync emits every device sysfs shows as a SourceResync add event. It
// returns false when ctx ended first.
func (m *Monitor) resync(ctx context.Context, out chan<- Event) bool {
	events, err := Walk(m.opts.SysRoot, m.opts.Now())
	if err != nil {
		m.opts.Log("sysfs walk after an overflow: %v", err)
	}

	for _, ev := range events {
		ev.Source = SourceResync
		if !send(ctx, out, ev) {
			return false
		}
	}

	n := m.resyncs.Add(1)
	m.opts.Log("resynced from sysfs after an overflow (%d so far): %d devices", n, len(events))

	return true
}

// reject counts a dropped message and logs the first few, then one in a
// thousand, so that a flood of forged messages cannot flood the log.
func (m *Monitor) reject(err error) {
	if n := m.rejected.Add(1); n <= 10 || n%1000 == 0 {
		m.opts.Log("uevent rejected (%d so far): %v", n, err)
	}
}

func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close stops a running Run, waits for it to return, and closes the
// socket. Calling it again does nothing.
func (m *Monitor) Close() error {
	m.mu.Lock()

	if m.closed {
		m.mu.Unlock()

		return nil
	}

	m.closed = true
	stop, done := m.stop, m.done
	m.mu.Unlock()

	if stop != nil {
		stop()
		<-done
	}

	return m.conn.Close()
}

// Overflows counts the receive queue overflows the kernel reported.
func (m *Monitor) Overflows() int { return int(m.overflows.Load()) }

// Rejected counts the messages dropped as forged (not sent by the kernel),
// truncated or garbled.
func (m *Monitor) Rejected() int { return int(m.rejected.Load()) }

// Resyncs counts the sysfs walks done after overflows.
func (m *Monitor) Resyncs() int { return int(m.resyncs.Load()) }

// ReceiveBuffer is the receive queue the kernel granted, in bytes, as
// SO_RCVBUF reports it (twice the usable payload).
func (m *Monitor) ReceiveBuffer() int { return m.rcvbuf }
