package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Outcome is one boot of the matrix and the checks it failed.
type Outcome struct {
	Scenario *Scenario
	Result   *Result
	Failed   []string
}

// Passed reports whether the boot met every expectation.
func (o Outcome) Passed() bool { return len(o.Failed) == 0 }

// RunMatrix boots every variant of every scenario, parallel at a time, with
// their files under dir, and returns the outcomes in scenario order.
// progress is called as each boot ends.
func (h *Harness) RunMatrix(ctx context.Context, scenarios []*Scenario, parallel int, dir string, progress func(Outcome)) []Outcome {
	images := &Images{Dir: h.ImagesDir()}

	type job struct {
		index int
		s     *Scenario
		v     Variant
	}

	var jobs []job

	for _, s := range scenarios {
		for _, v := range s.Variants {
			jobs = append(jobs, job{len(jobs), s, v})
		}
	}

	out := make([]Outcome, len(jobs))

	// The longest boots first, so the short ones fill in beside them.
	order := append([]job(nil), jobs...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].s.expectedWall(order[i].v) > order[j].s.expectedWall(order[j].v) })

	// A boot that needs another's results (a certified profile) goes after
	// every other and waits for that one to end.
	sort.SliceStable(order, func(i, j int) bool { return order[i].s.ProfileFrom == "" && order[j].s.ProfileFrom != "" })

	ended := map[string]chan struct{}{}
	for _, j := range jobs {
		ended[j.s.ID+"-"+string(j.v)] = make(chan struct{})
	}

	queue := make(chan job)

	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)

	for range max(parallel, 1) {
		wg.Add(1)

		go func() {
			defer wg.Done()

			for j := range queue {
				if dep, ok := ended[j.s.ProfileFrom+"-"+string(With)]; ok && j.s.ProfileFrom != "" {
					select {
					case <-dep:
					case <-ctx.Done():
					}
				}

				r := h.RunOne(ctx, j.s, j.v, images, filepath.Join(dir, j.s.ID+"-"+string(j.v)))
				if panic := guestEmulationFault(r); panic != "" && ctx.Err() == nil {
					// The guest kernel died of TCG, not of the scenario. Boot
					// it again, once, and say so.
					r = h.RunOne(ctx, j.s, j.v, images, filepath.Join(dir, j.s.ID+"-"+string(j.v)))
					r.Retried = panic
				}

				o := Outcome{Scenario: j.s, Result: r, Failed: j.s.Failed(r)}

				mu.Lock()
				out[j.index] = o

				if progress != nil {
					progress(o)
				}
				mu.Unlock()
				close(ended[j.s.ID+"-"+string(j.v)])
			}
		}()
	}

	for _, j := range order {
		if ctx.Err() != nil {
			break
		}

		queue <- j
	}

	close(queue)
	wg.Wait()

	var done []Outcome

	for _, o := range out {
		if o.Result != nil {
			done = append(done, o)
		}
	}

	return done
}

// guestEmulationFault returns the guest kernel's panic line when a boot
// ended in a panic that is TCG's, not the scenario's, or "". Under TCG an
// SMP guest now and then traps on a breakpoint the kernel left in its own
// text while patching it (text_poke_bp), which another virtual CPU still
// executes: "Oops: int3", then "Kernel panic - not syncing". Any panic
// before the guest init's first record counts, since nothing of the
// scenario ran yet; after it, only a panic that follows such an int3 oops,
// so that every other panic stays the scenario's to judge.
func guestEmulationFault(r *Result) string {
	if r == nil || r.Done {
		return ""
	}

	data, err := os.ReadFile(filepath.Join(r.Dir, "console.log"))
	if err != nil {
		return ""
	}

	int3 := false

	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.Contains(line, "Oops: int3"):
			int3 = true
		case strings.Contains(line, "Kernel panic - not syncing") && (r.InitMS < 0 || int3):
			return strings.TrimSpace(line)
		}
	}

	return ""
}

// expectedWall guesses how long a boot takes, to order the matrix: the
// hot-plug, the fixed settle time, and for the baseline the linger.
func (s *Scenario) expectedWall(v Variant) time.Duration {
	d := 10*time.Second + s.lastHotplug() + s.SettleTime()
	if v == Without {
		d += s.Linger / 2
	}

	return d
}

// Boots counts the boots a matrix of scenarios makes.
func Boots(scenarios []*Scenario) int {
	n := 0
	for _, s := range scenarios {
		n += len(s.Variants)
	}

	return n
}

// TimeLeft estimates, for a progress line, the time the rest of a matrix
// takes at the pace so far: ", about 3m left"; "" when done or nothing ran.
func TimeLeft(elapsed time.Duration, done, total int) string {
	if done <= 0 || done >= total {
		return ""
	}

	left := elapsed / time.Duration(done) * time.Duration(total-done)

	return fmt.Sprintf(", about %s left", left.Round(10*time.Second))
}
