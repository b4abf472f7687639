package certify

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/raid-settle/raid-settle/agent"
)

// Rule is how a profile is derived from measured cycles:
//
//	quiet     = ceil(longest gap between two arrivals × QuietFactor), in whole seconds,
//	            clamped to [MinQuiet, QuietLimit]
//	max_quiet = ceil(latest arrival after the reference × BoundFactor + BoundMargin), in whole seconds,
//	            clamped to [max(quiet, MinBound), BoundLimit]
//	gap_factor = GapFactor
//
// Why: once a controller has shown a disk, the gate releases when no event
// has come for max(quiet, gap_factor × longest gap so far), capped at
// max_quiet; quiet must therefore cover the longest gap between disks
// before that gap has been seen. A controller without a disk yet waits
// max_quiet, which must cover the wait for the first disk, and any wait
// must end before the gate's deadline. The latest arrival is the maximum,
// not the p99: a profile must cover every arrival that was seen, since a
// window that closes before the last disk sends an installed node to
// maintenance mode, while a window too long only costs time on a node
// without STATE.
type Rule struct {
	// QuietFactor multiplies the longest gap between arrivals.
	QuietFactor float64
	// BoundFactor and BoundMargin turn the latest arrival into max_quiet.
	BoundFactor float64
	BoundMargin time.Duration
	// MinQuiet and QuietLimit clamp quiet.
	MinQuiet, QuietLimit time.Duration
	// MinBound and BoundLimit clamp max_quiet.
	MinBound, BoundLimit time.Duration
	// GapFactor is the profile's gap_factor.
	GapFactor float64
}

// DefaultRule is the rule `raid-settle certify` applies. Its factor of 2 on
// gaps is the built-in profiles' gap factor; 1.5 × + 5 s on the latest
// arrival leaves room for a slower cold boot than those measured; the
// 110 s limit keeps max_quiet under the gate's 120 s default deadline.
var DefaultRule = Rule{
	QuietFactor: 2,
	BoundFactor: 1.5, BoundMargin: 5 * time.Second,
	MinQuiet: time.Second, QuietLimit: 30 * time.Second,
	MinBound: 5 * time.Second, BoundLimit: 110 * time.Second,
	GapFactor: 2,
}

// ErrNoProfile is wrapped when the measurements cannot make a profile.
var ErrNoProfile = errors.New("no profile")

// Derive returns the profile for controllers of one driver and PCI id
// (ctls, usually one), measured by what desc says ("5 gate boot
// reports"), on date. The rule and its numbers are written into Why.
func (r Rule) Derive(desc string, date time.Time, ctls ...ControllerResult) (agent.Profile, error) {
	if len(ctls) == 0 {
		return agent.Profile{}, fmt.Errorf("%w: no controller", ErrNoProfile)
	}

	id := ctls[0].Identity
	if id.Driver == "" {
		return agent.Profile{}, fmt.Errorf("%w: %s has no driver, and the gate picks profiles by driver", ErrNoProfile, id.Address)
	}

	var (
		maxGap, last, lastP99 int64
		arrivals, cycles, bad int
		addrs                 []string
	)

	for _, c := range ctls {
		maxGap = max(maxGap, c.Stats.Gap.Max)
		last = max(last, c.Stats.LastArrival.Max)
		lastP99 = max(lastP99, c.Stats.LastArrival.P99)
		arrivals += c.Stats.DiskDelay.N
		cycles += c.Stats.Cycles
		bad += c.Stats.Failed
		addrs = append(addrs, c.Identity.Address)
	}

	if arrivals == 0 {
		return agent.Profile{}, fmt.Errorf("%w: no disk arrived on %s in any cycle", ErrNoProfile, strings.Join(addrs, ", "))
	}

	quiet := clampDuration(ceilSeconds(scaleMS(maxGap, r.QuietFactor)), r.MinQuiet, r.QuietLimit)
	boundRaw := ceilSeconds(scaleMS(last, r.BoundFactor) + r.BoundMargin)
	bound := clampDuration(boundRaw, max(quiet, r.MinBound), r.BoundLimit)

	p := agent.Profile{
		Driver: id.Driver, Quiet: agent.Duration(quiet), MaxQuiet: agent.Duration(bound), GapFactor: r.GapFactor,
	}

	if validPCIID(id.PCIID) {
		p.PCIIDs = []string{id.PCIID}
	}

	var why strings.Builder

	fmt.Fprintf(&why, "raid-settle certify %s, from %s of %s (%s). ", date.UTC().Format("2006-01-02"), desc, strings.Join(addrs, ", "), describeIdentity(id))
	fmt.Fprintf(&why, "quiet %s = longest gap between two arrivals (%s) × %g, rounded up to whole seconds, within %s..%s. ",
		quiet, FormatMS(maxGap), r.QuietFactor, r.MinQuiet, r.QuietLimit)
	fmt.Fprintf(&why, "max_quiet %s = latest arrival after the reference (%s, p99 %s) × %g + %s, rounded up, within max(quiet, %s)..%s",
		bound, FormatMS(last), FormatMS(lastP99), r.BoundFactor, r.BoundMargin, r.MinBound, r.BoundLimit)

	if bound < boundRaw {
		fmt.Fprintf(&why, " (%s before the limit: raise the gate's deadline, raid_settle.timeout=, above the latest arrival)", boundRaw)
	}

	fmt.Fprintf(&why, ". gap_factor %g. ", r.GapFactor)

	if p.PCIIDs == nil {
		why.WriteString("No PCI id was known: the profile applies to every controller the driver binds. ")
	}

	if bad > 0 {
		fmt.Fprintf(&why, "%d of %d cycles lost a disk: no window covers a disk that never comes.", bad, cycles)
	} else {
		fmt.Fprintf(&why, "Every disk came back in all %d cycles.", cycles)
	}

	p.Why = strings.TrimSpace(why.String())

	return p, nil
}

// describeIdentity names a controller model for a profile's Why.
func describeIdentity(id Identity) string {
	parts := []string{id.Driver}

	if id.DriverVersion != "" {
		parts[0] += " " + id.DriverVersion
	}

	if id.PCIID != "" {
		parts = append(parts, id.PCIID)
	}

	if id.SubsystemID != "" {
		parts = append(parts, "subsystem "+id.SubsystemID)
	}

	if id.Firmware != "" {
		parts = append(parts, "firmware "+id.Firmware)
	}

	return strings.Join(parts, ", ")
}

var pciIDPattern = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{4}$`)

func validPCIID(s string) bool { return pciIDPattern.MatchString(s) && s != "0000:0000" }

// scaleMS returns v milliseconds times f.
func scaleMS(v int64, f float64) time.Duration {
	return time.Duration(float64(v) * f * float64(time.Millisecond))
}

func ceilSeconds(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds()-1e-9)) * time.Second // float noise must not add a second
}

func clampDuration(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// ProfileFile is a profile written next to the results.
type ProfileFile struct {
	// File is the file's path in the output directory
	// ("profiles/profile-megaraid_sas-1000-005d.json").
	File string `json:"file"`
	// Controllers are the PCI addresses it was derived from.
	Controllers []string      `json:"controllers"`
	Profile     agent.Profile `json:"profile"`
}

// ProfileFileName is where the profile for driver and PCI id goes:
// profile-megaraid_sas-1000-005d.json.
func ProfileFileName(driver, pciID string) string {
	name := "profile-" + driver
	if validPCIID(pciID) {
		name += "-" + strings.ReplaceAll(pciID, ":", "-")
	}

	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}

		return '_'
	}, name) + ".json"
}

// DeriveProfiles derives one profile per driver and PCI id from the
// controllers' results with rule, and records it (or why there is none)
// on each controller.
func (res *Results) DeriveProfiles(rule Rule) {
	res.Profiles = []ProfileFile{}

	groups := map[string][]int{}

	var keys []string

	for i, c := range res.Controllers {
		k := c.Identity.Driver + "/" + c.Identity.PCIID
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}

		groups[k] = append(groups[k], i)
	}

	for _, k := range keys {
		var ctls []ControllerResult
		for _, i := range groups[k] {
			ctls = append(ctls, res.Controllers[i])
		}

		p, err := rule.Derive(res.describe(), res.Created, ctls...)
		if err != nil {
			for _, i := range groups[k] {
				res.Controllers[i].NoProfile = strings.TrimPrefix(err.Error(), ErrNoProfile.Error()+": ")
			}

			continue
		}

		pf := ProfileFile{File: ProfileDir + "/" + ProfileFileName(p.Driver, ctls[0].Identity.PCIID), Profile: p}

		for _, i := range groups[k] {
			res.Controllers[i].ProfileFile = pf.File
			pf.Controllers = append(pf.Controllers, res.Controllers[i].Identity.Address)
		}

		res.Profiles = append(res.Profiles, pf)
	}
}

// describe says what the cycles were, for a profile's Why.
func (res *Results) describe() string {
	switch res.Source {
	case SourceReports:
		return fmt.Sprintf("%d gate boot report(s)", res.Cycles)
	case SourceDmesg:
		return fmt.Sprintf("%d boot(s) in gate kernel logs", res.Cycles)
	case SourceLive:
		method := "re-enumeration"
		if res.Live != nil {
			method = res.Live.Method.Describe()
		}

		return fmt.Sprintf("%d live %s cycle(s)", res.Cycles, method)
	}

	return fmt.Sprintf("%d cycle(s)", res.Cycles)
}
