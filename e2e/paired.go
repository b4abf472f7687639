package e2e

import (
	"fmt"
	"io"
	"slices"
)

// Pair is one boot without raid-settle and one with it, made back to back.
type Pair struct {
	Without, With *Result
}

// pairFigures are the three differences a pair shows, in milliseconds
// (with minus without): when Talos decided, when the STATE uevent came, and
// the time from that uevent to the decision. ok is false when either boot
// lacks one of them.
func (p Pair) figures() (decided, uevent, toDecided int64, ok bool) {
	w, o := p.With, p.Without
	if w == nil || o == nil || w.DecisionMS < 0 || o.DecisionMS < 0 || w.StateUeventMS < 0 || o.StateUeventMS < 0 {
		return 0, 0, 0, false
	}

	return w.DecisionMS - o.DecisionMS, w.StateUeventMS - o.StateUeventMS,
		(w.DecisionMS - w.StateUeventMS) - (o.DecisionMS - o.StateUeventMS), true
}

// WritePaired writes each pair's figures (milliseconds since the guest
// kernel booted) and the medians of the differences: how much later Talos
// decides with the extension, and how much of that is the STATE uevent
// itself coming later (the boot's own noise, before the gate does
// anything) rather than the time from that uevent to the decision.
func WritePaired(w io.Writer, pairs []Pair) {
	fmt.Fprintln(w, "| pair | without: STATE uevent, decided | with: STATE uevent, decided | decided later by | STATE uevent later by | uevent→decided longer by |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")

	var decided, uevent, toDecided []int64

	for i, p := range pairs {
		d, u, t, ok := p.figures()
		if !ok {
			fmt.Fprintf(w, "| %d | (incomplete) | | | | |\n", i+1)

			continue
		}

		decided, uevent, toDecided = append(decided, d), append(uevent, u), append(toDecided, t)
		fmt.Fprintf(w, "| %d | %d, %d | %d, %d | %d | %d | %d |\n", i+1, p.Without.StateUeventMS, p.Without.DecisionMS, p.With.StateUeventMS, p.With.DecisionMS, d, u, t)
	}

	if len(decided) == 0 {
		return
	}

	fmt.Fprintf(w, "\nOver %d pairs, medians: Talos decided %d ms later with raid-settle; the STATE uevent came %d ms later; from that uevent to the decision took %d ms longer.\n",
		len(decided), median(decided), median(uevent), median(toDecided))
}

// median is the middle value of xs (the mean of the two middle ones when
// there is an even number); xs must not be empty.
func median(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)

	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}

	return s[len(s)/2]
}
