//go:build linux

// Package tty tells whether a command's input or output is a terminal: a
// person at a keyboard, not a pipe or a file.
package tty

import (
	"os"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether f, a reader or a writer, is an *os.File open
// on a terminal.
func IsTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}

	_, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS)

	return err == nil
}
