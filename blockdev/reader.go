package blockdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/siderolabs/go-retry/retry"
)

// RetryPolicy bounds how hard a read is retried before the device is called
// unreadable. Both bounds hold: whichever is reached first ends the retries.
type RetryPolicy struct {
	// Attempts is the most reads tried for one request, the first included.
	Attempts int
	// Budget is the most time spent retrying one request.
	Budget time.Duration
	// Backoff is the unit of the exponential backoff between attempts:
	// go-retry's Exponential waits 0, 1, 3, 7, 15, 31... units before the
	// second, third, fourth... attempt (retry/exponential.go, Tick).
	Backoff time.Duration
}

// DefaultRetryPolicy suits a disk that is still settling after its
// controller announced it: seven attempts, the retries 0, 5, 15, 35, 75 and
// 155 ms apart, so that a read is given up on some 285 ms after it first
// failed, and never later than two seconds. Small steps first: a momentary
// error (a LUN being reset, a command the controller bounced) costs a few
// milliseconds, where a 20 ms unit and five attempts cost 220 ms to get past
// four failed reads within the same reach. The engine retries a disk whose
// examination still failed (failedAttempts) on a longer scale.
var DefaultRetryPolicy = RetryPolicy{Attempts: 7, Budget: 2 * time.Second, Backoff: 5 * time.Millisecond}

// ErrShortRead is returned (wrapped) when a device ends before the size it
// reported, which a settling RAID volume sometimes does.
var ErrShortRead = errors.New("short read")

// ReadError is a read that failed after retries. Attempts says how many
// reads were tried; Err is the last error.
type ReadError struct {
	Offset   int64
	Length   int
	Attempts int
	Err      error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("failed to read %d bytes at offset %d after %d attempt(s): %v", e.Length, e.Offset, e.Attempts, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth another read: EIO, EAGAIN, EINTR,
// EBUSY, ENXIO (a disk listed before it can be read), or a short read.
func IsTransient(err error) bool {
	for _, e := range []error{syscall.EIO, syscall.EAGAIN, syscall.EINTR, syscall.EBUSY, syscall.ENXIO, ErrShortRead} {
		if errors.Is(err, e) {
			return true
		}
	}

	return false
}

// retryingReader is an io.ReaderAt over a region of size bytes that retries
// transient errors under a RetryPolicy.
type retryingReader struct {
	r      io.ReaderAt
	size   int64
	policy RetryPolicy
	ctx    context.Context // an io.ReaderAt has no context argument
}

// NewRetryingReader wraps r, a region of size bytes, so that transient read
// errors are retried under policy and ctx. A read that still fails returns a
// *ReadError. Reading past size returns io.EOF at once, as a file does.
func NewRetryingReader(ctx context.Context, r io.ReaderAt, size int64, policy RetryPolicy) io.ReaderAt {
	if policy.Attempts < 1 {
		policy.Attempts = 1
	}

	return &retryingReader{r: r, size: size, policy: policy, ctx: ctx}
}

func (rr *retryingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}

	if off >= rr.size {
		return 0, io.EOF
	}

	want := p
	if int64(len(p)) > rr.size-off {
		want = p[:rr.size-off]
	}

	var (
		n        int
		attempts int
		lastErr  error
	)

	retryer := retry.Exponential(rr.policy.Budget, retry.WithUnits(rr.policy.Backoff))

	err := retryer.RetryWithContext(rr.ctx, func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}

		attempts++

		n, lastErr = rr.r.ReadAt(want, off)
		if n == len(want) {
			lastErr = nil

			return nil
		}

		if lastErr == nil || errors.Is(lastErr, io.EOF) {
			// The region was reported to hold these bytes: a short read here
			// is the device misbehaving, not the end of the data.
			lastErr = fmt.Errorf("%w: %d of %d bytes", ErrShortRead, n, len(want))
		}

		if !IsTransient(lastErr) || attempts >= rr.policy.Attempts {
			return lastErr
		}

		return retry.ExpectedError(lastErr)
	})
	if err != nil {
		if lastErr == nil {
			lastErr = err
		}

		return n, &ReadError{Offset: off, Length: len(want), Attempts: attempts, Err: lastErr}
	}

	if len(want) < len(p) {
		return n, io.EOF
	}

	return n, nil
}
