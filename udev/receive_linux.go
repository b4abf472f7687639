//go:build linux

package udev

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// errForged is a message the kernel did not send; errTruncated one larger
// than any uevent. Both are dropped and counted; the socket stays usable.
var (
	errForged    = errors.New("message not sent by the kernel")
	errTruncated = errors.New("message longer than any uevent")
)

// receiver reads messages from a bound NETLINK_KOBJECT_UEVENT socket (with
// SO_PASSCRED set) into one buffer it reuses: a message is valid until the
// next read, and ParseEvent copies what it keeps.
//
// go-udev's UEventConn.ReadMsg allocates 32 KiB for every message, which
// came to some 75 MB of garbage over the 2,300 uevents of a 256-disk JBOD's
// boot. The checks on the sender are those libudev makes before it trusts a
// kernel uevent (systemd/systemd at 2dfe5a30a6c9, src/libsystemd/sd-device/
// device-monitor.c, device_monitor_receive_device) and go-udev makes too: a
// multicast message, from port id 0, with SCM_CREDENTIALS of pid 0 or uid 0
// (in a user namespace the kernel's uid reads as the overflow uid, so only a
// sender known to be a process is refused).
type receiver struct {
	fd  int
	buf []byte
	oob []byte
}

func newReceiver(fd int) *receiver {
	return &receiver{fd: fd, buf: make([]byte, MaxEventSize), oob: make([]byte, 2*unix.CmsgSpace(unix.SizeofUcred))}
}

// read returns the next message, or unix.EAGAIN when none is queued. Any
// other error but errForged and errTruncated is the socket's (ENOBUFS: the
// receive queue overflowed).
func (r *receiver) read() ([]byte, error) {
	n, oobn, flags, from, err := unix.Recvmsg(r.fd, r.buf, r.oob, unix.MSG_DONTWAIT)

	switch {
	case errors.Is(err, unix.EINTR):
		return nil, unix.EAGAIN
	case err != nil:
		return nil, err
	case flags&unix.MSG_TRUNC != 0:
		return nil, fmt.Errorf("%w: more than %d bytes", errTruncated, len(r.buf))
	case flags&unix.MSG_CTRUNC != 0:
		return nil, fmt.Errorf("%w: its credentials were cut off", errForged)
	}

	if err := checkSender(from, r.oob[:oobn]); err != nil {
		return nil, err
	}

	return r.buf[:n], nil
}

// checkSender refuses a message that only a process could have sent.
func checkSender(from unix.Sockaddr, oob []byte) error {
	sender, ok := from.(*unix.SockaddrNetlink)

	switch {
	case !ok:
		return fmt.Errorf("%w: not a netlink sender", errForged)
	case sender.Groups == 0:
		return fmt.Errorf("%w: unicast from port %d", errForged, sender.Pid)
	case sender.Pid != 0:
		return fmt.Errorf("%w: multicast from port %d", errForged, sender.Pid)
	}

	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("%w: unreadable control message: %w", errForged, err)
	}

	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_CREDENTIALS {
			continue
		}

		cred, err := unix.ParseUnixCredentials(&msgs[i])
		if err != nil {
			return fmt.Errorf("%w: unreadable credentials: %w", errForged, err)
		}

		if cred.Pid != 0 && cred.Uid != 0 {
			return fmt.Errorf("%w: sent by pid %d, uid %d", errForged, cred.Pid, cred.Uid)
		}

		return nil
	}

	return fmt.Errorf("%w: no credentials", errForged)
}
