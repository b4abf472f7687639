//go:build !linux

package certify

import "io"

// IsTerminal reports false outside Linux: progress is written plainly.
func IsTerminal(io.Writer) bool { return false }
