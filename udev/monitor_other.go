//go:build !linux

package udev

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

var errNoNetlink = fmt.Errorf("kernel uevents need netlink, not available on %s: %w", runtime.GOOS, errors.ErrUnsupported)

// Monitor receives kernel uevents; it is only implemented on Linux.
type Monitor struct{}

// OpenMonitor reports errors.ErrUnsupported outside Linux.
func OpenMonitor(MonitorOptions) (*Monitor, error) { return nil, errNoNetlink }

// Run closes out and reports errors.ErrUnsupported outside Linux.
func (*Monitor) Run(_ context.Context, out chan<- Event) error {
	close(out)

	return errNoNetlink
}

// Close does nothing outside Linux.
func (*Monitor) Close() error { return nil }

// Overflows is always 0 outside Linux.
func (*Monitor) Overflows() int { return 0 }

// Rejected is always 0 outside Linux.
func (*Monitor) Rejected() int { return 0 }

// Resyncs is always 0 outside Linux.
func (*Monitor) Resyncs() int { return 0 }

// ReceiveBuffer is always 0 outside Linux.
func (*Monitor) ReceiveBuffer() int { return 0 }
