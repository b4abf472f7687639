//go:build linux

package udev

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckSender: only a multicast from port 0 with the credentials of the
// kernel (pid 0), or of root, passes.
func TestCheckSender(t *testing.T) {
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}
	creds := func(pid int32, uid uint32) []byte {
		return unix.UnixCredentials(&unix.Ucred{Pid: pid, Uid: uid})
	}

	for _, tc := range []struct {
		name   string
		from   unix.Sockaddr
		oob    []byte
		forged bool
	}{
		{"kernel", kernel, creds(0, 0), false},
		{"kernel in a user namespace (overflow uid)", kernel, creds(0, 65534), false},
		{"root process, kernel group", &unix.SockaddrNetlink{Groups: 1, Pid: 4242}, creds(4242, 0), true},
		{"unicast", &unix.SockaddrNetlink{Pid: 4242}, creds(4242, 0), true},
		{"unprivileged process behind port 0", kernel, creds(4242, 1000), true},
		{"no credentials", kernel, nil, true},
		{"not netlink", &unix.SockaddrUnix{Name: "/run/x"}, creds(0, 0), true},
		{"garbled control message", kernel, []byte{1, 2, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSender(tc.from, tc.oob)
			if got := errors.Is(err, errForged); got != tc.forged || !tc.forged && err != nil {
				t.Errorf("checkSender = %v, want forged=%v", err, tc.forged)
			}
		})
	}
}
