package blockdev

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/siderolabs/go-retry/retry"
)

// flakyReader fails its first failures reads with err, then serves data.
type flakyReader struct {
	data     []byte
	failures int
	err      error
	calls    int
	short    bool // fail by returning half the bytes and no error
}

func (f *flakyReader) ReadAt(p []byte, off int64) (int, error) {
	f.calls++
	if f.calls <= f.failures {
		if f.short {
			return copy(p[:len(p)/2], f.data[off:]), nil
		}

		return 0, f.err
	}

	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}

	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}

	return n, nil
}

var fastPolicy = RetryPolicy{Attempts: 5, Budget: time.Second, Backoff: time.Millisecond}

func TestRetryingReader(t *testing.T) {
	data := []byte("0123456789abcdef")

	for _, tc := range []struct {
		name      string
		src       *flakyReader
		off, n    int
		wantErr   error // errors.Is target; nil for success
		wantCalls int
	}{
		{"clean", &flakyReader{data: data}, 0, 8, nil, 1},
		{"EIO twice then data", &flakyReader{data: data, failures: 2, err: syscall.EIO}, 4, 8, nil, 3},
		{"EAGAIN once", &flakyReader{data: data, failures: 1, err: syscall.EAGAIN}, 0, 4, nil, 2},
		{"ENXIO while the disk settles", &flakyReader{data: data, failures: 3, err: syscall.ENXIO}, 0, 4, nil, 4},
		{"short read retried", &flakyReader{data: data, failures: 2, short: true}, 0, 8, nil, 3},
		{"EIO forever is bounded", &flakyReader{data: data, failures: 1 << 30, err: syscall.EIO}, 0, 4, syscall.EIO, 5},
		{"EINVAL is not retried", &flakyReader{data: data, failures: 1 << 30, err: syscall.EINVAL}, 0, 4, syscall.EINVAL, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRetryingReader(context.Background(), tc.src, int64(len(data)), fastPolicy)
			buf := make([]byte, tc.n)

			n, err := r.ReadAt(buf, int64(tc.off))

			if tc.wantErr == nil {
				if err != nil || n != tc.n || string(buf) != string(data[tc.off:tc.off+tc.n]) {
					t.Fatalf("ReadAt = %d, %v, %q", n, err, buf[:n])
				}
			} else {
				var rerr *ReadError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &rerr) || rerr.Attempts != tc.wantCalls {
					t.Fatalf("ReadAt error = %v, want %v after %d attempts", err, tc.wantErr, tc.wantCalls)
				}
			}

			if tc.src.calls != tc.wantCalls {
				t.Fatalf("%d reads, want %d", tc.src.calls, tc.wantCalls)
			}
		})
	}
}

// TestDefaultRetryPolicySchedule reads the default policy's waits off
// go-retry's exponential ticker, the one the reader uses: a momentary error
// must cost little, and a disk that fails for a quarter of a second must
// still be read, within the budget.
func TestDefaultRetryPolicySchedule(t *testing.T) {
	p := DefaultRetryPolicy
	tick := retry.NewExponentialTicker(retry.NewDefaultOptions(retry.WithUnits(p.Backoff)))

	var waits []time.Duration

	total := time.Duration(0)

	for range p.Attempts - 1 {
		w := tick.Tick()
		waits = append(waits, w)
		total += w
	}

	if len(waits) < 2 || waits[0]+waits[1] > 5*time.Millisecond {
		t.Errorf("waits %v: the first two retries must come within 5 ms", waits)
	}

	if total < 250*time.Millisecond || total > p.Budget {
		t.Errorf("waits %v add up to %v: want a quarter of a second at least, within the %v budget", waits, total, p.Budget)
	}
}

func TestRetryingReaderEnds(t *testing.T) {
	src := &flakyReader{data: []byte("0123456789")}
	r := NewRetryingReader(context.Background(), src, 10, fastPolicy)

	buf := make([]byte, 4)
	if n, err := r.ReadAt(buf, 8); n != 2 || !errors.Is(err, io.EOF) {
		t.Fatalf("read across the end = %d, %v; want 2, EOF", n, err)
	}

	if n, err := r.ReadAt(buf, 10); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read at the end = %d, %v; want 0, EOF", n, err)
	}

	if src.calls != 1 {
		t.Fatalf("%d reads, want 1: reads at the end must not reach the device", src.calls)
	}
}

func TestRetryingReaderHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	src := &flakyReader{data: []byte("0123"), failures: 1 << 30, err: syscall.EIO}
	r := NewRetryingReader(ctx, src, 4, RetryPolicy{Attempts: 1000, Budget: time.Hour, Backoff: time.Second})

	if _, err := r.ReadAt(make([]byte, 2), 0); err == nil {
		t.Fatal("read on a cancelled context succeeded")
	}

	if src.calls > 1 {
		t.Fatalf("%d reads after cancellation, want at most 1", src.calls)
	}
}
