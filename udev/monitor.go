package udev

import "time"

// DefaultReceiveBufferSize is the receive queue Monitor asks for unless told
// otherwise. A kernel uevent costs about 1 KiB of queue (its buffer plus the
// socket buffer's overhead), so 16 MiB holds some 10,000 events: a whole
// coldplug of a large JBOD while the reader is busy. Without CAP_NET_ADMIN,
// net.core.rmem_max caps it.
const DefaultReceiveBufferSize = 16 << 20

// MonitorOptions configures OpenMonitor. The zero value is ready to use.
type MonitorOptions struct {
	// ReceiveBufferSize is the socket receive queue to ask for, in bytes;
	// 0 means DefaultReceiveBufferSize.
	ReceiveBufferSize int
	// SysRoot is where sysfs is mounted, walked after an overflow; "" means
	// /sys.
	SysRoot string
	// Now stamps Event.Received; nil means time.Now.
	Now func() time.Time
	// Log receives one line per notable happening (overflow, resync,
	// rejected message, small receive queue); nil discards them.
	Log func(format string, args ...any)
}

func (o MonitorOptions) withDefaults() MonitorOptions {
	if o.ReceiveBufferSize <= 0 {
		o.ReceiveBufferSize = DefaultReceiveBufferSize
	}

	if o.SysRoot == "" {
		o.SysRoot = DefaultSysRoot
	}

	if o.Now == nil {
		o.Now = time.Now
	}

	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}

	return o
}
