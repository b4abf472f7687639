// Command e2e is raid-settle's end-to-end harness: it boots Debian's kernel
// with Debian's systemd-udevd and the raid-settle extension in QEMU, against
// emulated MegaRAID controllers and Talos-like disk images, and checks what
// a Talos-like init sees. See e2e/README.md.
//
//	e2e matrix  [-only IDS] [-parallel N]   every scenario; prints the table
//	e2e results [-parallel N]               the matrix, written to e2e/RESULTS.md
//	e2e demo                                scenario 2 (20 s), without and with, side by side
//	e2e run -scenario ID [-variant with|without]   one boot, with its records
//	e2e list                                the scenarios
//	e2e hello                               smoke test: boot the guest init and power off
//	e2e prepare                             fetch and build everything, boot nothing
//
// -arch arm64 makes any of them (but results and demo) boot the arm64
// extension on QEMU's virt machine instead: its scenarios are
// e2e.Arm64Scenarios (make e2e-arm64).
//
// Every command installs what it needs on the host (apt-get) and caches
// downloads and builds under .cache/e2e; boots write their files under
// _out/e2e. The exit code is 1 when a boot fails a check.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/raid-settle/raid-settle/e2e"
	"github.com/raid-settle/raid-settle/e2e/internal/proto"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	code, err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
	}

	os.Exit(code)
}

type options struct {
	repo, extension, only, scenario, variant, out string
	mirror                                        string
	arch                                          string
	parallel, pairs                               int
	klog                                          bool
}

func run(ctx context.Context, args []string, stdout io.Writer) (int, error) {
	if len(args) == 0 {
		return 2, fmt.Errorf("usage: e2e matrix|results|demo|paired|run|list|hello|prepare [flags]")
	}

	cmd := args[0]

	var o options

	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&o.repo, "repo", ".", "repository root")
	fs.StringVar(&o.extension, "extension", "", "extension rootfs (default REPO/_out/extension/amd64/rootfs, made by `make extension`)")
	fs.StringVar(&o.only, "only", "", "matrix: comma-separated scenario IDs or ID prefixes (\"2-\", \"5-bad-crc\")")
	fs.StringVar(&o.scenario, "scenario", "", "run: the scenario ID")
	fs.StringVar(&o.variant, "variant", "with", "run: with or without raid-settle")
	fs.StringVar(&o.out, "out", "", "where boots write their files (default REPO/_out/e2e)")
	fs.IntVar(&o.parallel, "parallel", 2, "boots at a time")
	fs.IntVar(&o.pairs, "pairs", 5, "paired: how many pairs of boots")
	fs.StringVar(&o.mirror, "mirror", os.Getenv("E2E_MIRROR"), "Debian archive for the guest's packages (default $E2E_MIRROR, else the host's apt sources, else "+e2e.FallbackMirror+")")
	fs.BoolVar(&o.klog, "klog", false, "the guest prints its whole kernel log into records.log")
	fs.StringVar(&o.arch, "arch", "amd64", "the guest's architecture: amd64, or arm64 (its own scenarios, the extension from REPO/_out/extension/arm64)")

	if err := fs.Parse(args[1:]); err != nil {
		return 2, err
	}

	arch, err := e2e.FindArch(o.arch)
	if err != nil {
		return 2, err
	}

	if arch != e2e.ArchAMD64 && (cmd == "results" || cmd == "demo") {
		return 2, fmt.Errorf("%s boots the amd64 guest only", cmd)
	}

	if cmd == "list" {
		for _, s := range e2e.ScenariosFor(arch) {
			fmt.Fprintf(stdout, "%-22s %-16s %s\n", s.ID, variants(s), s.Title)
		}

		return 0, nil
	}

	root, err := filepath.Abs(o.repo)
	if err != nil {
		return 1, err
	}

	h := e2e.NewHarness(root, os.Stderr)
	h.Klog = o.klog

	if o.mirror != "" {
		h.Mirror = o.mirror
	}
	h.UseArch(arch)

	if o.extension != "" {
		if h.Extension, err = filepath.Abs(o.extension); err != nil {
			return 1, err
		}
	}

	if o.out == "" {
		o.out = filepath.Join(root, "_out", "e2e")
	}

	if err := h.Prepare(ctx); err != nil {
		return 1, err
	}

	switch cmd {
	case "prepare":
		return 0, nil
	case "hello":
		return hello(ctx, h, o, stdout)
	case "run":
		return runOne(ctx, h, o, stdout)
	case "paired":
		return paired(ctx, h, o, stdout)
	case "matrix", "results":
		return matrix(ctx, h, o, cmd == "results", stdout)
	case "demo":
		return demo(ctx, h, o, stdout)
	}

	return 2, fmt.Errorf("unknown command %q", cmd)
}

func variants(s *e2e.Scenario) string {
	var v []string
	for _, x := range s.Variants {
		v = append(v, string(x))
	}

	return strings.Join(v, ",")
}

func hello(ctx context.Context, h *e2e.Harness, o options, stdout io.Writer) (int, error) {
	vm := &e2e.VM{
		QEMU:    h.Arch.QEMU,
		Arch:    h.Arch,
		Kernel:  h.Guest.Vmlinux,
		Initrd:  h.Initrds[e2e.Bare],
		Append:  "console=" + h.Arch.Console + " quiet panic=-1 cryptomgr.notests e2e.hello",
		Dir:     filepath.Join(o.out, "hello"),
		Timeout: 2 * time.Minute,
		Records: func(_ time.Time, line string) {
			if _, ok := proto.Parse(line); ok {
				fmt.Fprintln(stdout, strings.TrimSpace(line))
			}
		},
	}

	t0 := time.Now()
	_, err := vm.Run(ctx)
	fmt.Fprintf(stdout, "boot took %.1fs of wall time\n", time.Since(t0).Seconds())

	if err != nil {
		return 1, err
	}

	return 0, nil
}

// paired boots one scenario without and with raid-settle, one after the
// other, o.pairs times, and writes what the extension cost each time.
func paired(ctx context.Context, h *e2e.Harness, o options, stdout io.Writer) (int, error) {
	s, err := e2e.FindScenario(o.scenario)
	if err != nil {
		return 2, err
	}

	var pairs []e2e.Pair

	for i := range o.pairs {
		outs := h.RunMatrix(ctx, []*e2e.Scenario{s}, 1, filepath.Join(o.out, fmt.Sprintf("paired-%d", i+1)), nil)

		var p e2e.Pair

		for _, out := range outs {
			switch out.Result.Variant {
			case e2e.Without:
				p.Without = out.Result
			case e2e.With:
				p.With = out.Result
			}
		}

		fmt.Fprintf(os.Stderr, "e2e: pair %d of %d done\n", i+1, o.pairs)

		pairs = append(pairs, p)
	}

	e2e.WritePaired(stdout, pairs)

	return 0, nil
}

func runOne(ctx context.Context, h *e2e.Harness, o options, stdout io.Writer) (int, error) {
	var sc *e2e.Scenario

	for _, s := range e2e.ScenariosFor(h.Arch) {
		if s.ID == o.scenario {
			sc = s
		}
	}

	if sc == nil {
		return 2, fmt.Errorf("no scenario %q (see e2e list -arch %s)", o.scenario, h.Arch.Name)
	}

	v := e2e.Variant(o.variant)
	if v != e2e.With && v != e2e.Without {
		return 2, fmt.Errorf("-variant must be with or without")
	}

	images := &e2e.Images{Dir: h.ImagesDir()}
	dir := filepath.Join(o.out, sc.ID+"-"+o.variant)
	r := h.RunOne(ctx, sc, v, images, dir)

	data, _ := os.ReadFile(filepath.Join(dir, "records.log"))
	for _, line := range strings.Split(string(data), "\n") {
		// The report is one long line; result.json and records.log have it.
		if !strings.HasPrefix(line, proto.Prefix+proto.KindReport+" ") && line != "" {
			fmt.Fprintln(stdout, line)
		}
	}

	out := e2e.Outcome{Scenario: sc, Result: r, Failed: sc.Failed(r)}

	fmt.Fprintf(stdout, "\n%s (files in %s, %.1fs of wall time)\n\n", sc.Title, dir, r.Wall.Seconds())
	e2e.WriteText(stdout, []e2e.Outcome{out})

	if !out.Passed() {
		return 1, nil
	}

	return 0, nil
}

func selectScenarios(all []*e2e.Scenario, only string) ([]*e2e.Scenario, error) {
	if only == "" {
		return all, nil
	}

	var out []*e2e.Scenario

	for _, s := range all {
		for _, p := range strings.Split(only, ",") {
			if p != "" && strings.HasPrefix(s.ID, p) {
				out = append(out, s)

				break
			}
		}
	}

	if len(out) == 0 {
		return nil, fmt.Errorf("no scenario matches %q (see e2e list)", only)
	}

	return out, nil
}

func matrix(ctx context.Context, h *e2e.Harness, o options, writeResults bool, stdout io.Writer) (int, error) {
	scenarios, err := selectScenarios(e2e.ScenariosFor(h.Arch), o.only)
	if err != nil {
		return 2, err
	}

	// The commit the boots run, taken now: the tree may change while they
	// run, and RESULTS.md must name what was booted.
	commit := gitOutput(h.Repo, "describe", "--always", "--dirty", "--abbrev=12")

	t0 := time.Now()
	total, done := e2e.Boots(scenarios), 0
	outs := h.RunMatrix(ctx, scenarios, o.parallel, o.out, func(out e2e.Outcome) {
		done++

		verdict := "ok"
		if !out.Passed() {
			verdict = "FAIL: " + strings.Join(out.Failed, "; ")
		}

		if out.Result.Retried != "" {
			verdict += " (booted twice: the first guest kernel panicked before init: " + out.Result.Retried + ")"
		}

		fmt.Fprintf(os.Stderr, "e2e: [%s, %d/%d%s] %s %s: %s (%.1fs)\n", time.Since(t0).Round(time.Second), done, total,
			e2e.TimeLeft(time.Since(t0), done, total), out.Scenario.ID, out.Result.Variant, verdict, out.Result.Wall.Seconds())
	})
	wall := time.Since(t0)

	failed := 0

	for _, out := range outs {
		if !out.Passed() {
			failed++
		}
	}

	fmt.Fprintln(stdout)
	e2e.WriteText(stdout, outs)

	if totals := e2e.LatencyTotals(outs); len(totals) > 0 {
		fmt.Fprintf(stdout, "\n%s\n", e2e.LatencySummary(totals))
	}

	if h.Arch == e2e.ArchAMD64 {
		fmt.Fprintln(stdout)
		e2e.WriteAnchor(stdout, outs)
	}

	// raid-settle certify --from-reports over the scenario-2 reports, one
	// machine at a time: each must derive a profile.
	var (
		cr            []*e2e.ReportsCertification
		certifyFailed bool
	)

	for _, prefix := range e2e.CertifyMachines {
		c := e2e.CertifyReports(outs, prefix, filepath.Join(o.out, "certify-from-reports", strings.TrimSuffix(prefix, "-")))
		if c != nil && !c.OK() {
			certifyFailed = true
		}

		cr = append(cr, c)
	}

	fmt.Fprintln(stdout)
	e2e.WriteCertify(stdout, outs, cr)
	fmt.Fprintf(stdout, "\n%d boots, %d failed, %s of wall time with %d in parallel; files in %s\n", len(outs), failed, wall.Round(time.Second), o.parallel, o.out)

	if certifyFailed {
		fmt.Fprintln(stdout, "certify --from-reports over the scenario-2 reports derived no profile")
	}

	if ctx.Err() != nil {
		return 1, ctx.Err()
	}

	if writeResults {
		path := filepath.Join(h.Repo, "e2e", "RESULTS.md")
		if err := writeResultsDoc(path, h, commit, outs, cr, wall, o.parallel); err != nil {
			return 1, err
		}

		fmt.Fprintf(stdout, "wrote %s\n", path)
	}

	if failed > 0 || certifyFailed {
		return 1, nil
	}

	return 0, nil
}

func demo(ctx context.Context, h *e2e.Harness, o options, stdout io.Writer) (int, error) {
	sc, err := e2e.FindScenario(e2e.DemoScenario)
	if err != nil {
		return 1, err
	}

	fmt.Fprintf(os.Stderr, "e2e: booting %q twice, without and with raid-settle (about a minute)...\n", sc.Title)

	outs := h.RunMatrix(ctx, []*e2e.Scenario{sc}, 2, filepath.Join(o.out, "demo"), nil)
	if len(outs) != 2 {
		return 1, fmt.Errorf("the demo boots did not finish")
	}

	e2e.WriteDemo(stdout, outs[0].Result, outs[1].Result)

	for _, out := range outs {
		if !out.Passed() {
			fmt.Fprintf(stdout, "\n%s %s failed: %s\n", out.Scenario.ID, out.Result.Variant, strings.Join(out.Failed, "; "))

			return 1, nil
		}
	}

	return 0, nil
}

func writeResultsDoc(path string, h *e2e.Harness, commit string, outs []e2e.Outcome, cr []*e2e.ReportsCertification, wall time.Duration, parallel int) error {
	var b bytes.Buffer

	qemu := strings.SplitN(gitLikeOutput("qemu-system-x86_64", "--version"), "\n", 2)[0]

	fmt.Fprintf(&b, "# End-to-end results\n\n")
	fmt.Fprintf(&b, "Generated by `make e2e-results` (do not edit by hand).\n\n")
	fmt.Fprintf(&b, "- commit: `%s`\n", commit)
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- guest: Debian %s, kernel %s, %s\n", h.Guest.Suite, h.Guest.KernelPackage, udevPackage(h.Guest.UserPackages))
	fmt.Fprintf(&b, "- host: %s, TCG, %d CPUs, %d boots in parallel\n", qemu, numCPU(), parallel)
	fmt.Fprintf(&b, "- whole matrix: %s of wall time for %d boots\n\n", wall.Round(time.Second), len(outs))

	e2e.WriteMarkdown(&b, outs)
	fmt.Fprintf(&b, "\n%s\n", e2e.TableLegend)
	fmt.Fprintf(&b, "\n## From the STATE uevent to the release\n\nFrom each gate report: milliseconds since the gate started, on the clock the gate and its probe worker share. The probe is the one whose result the release rests on.\n\n")
	e2e.WriteLatency(&b, outs)
	fmt.Fprintf(&b, "\n%s\n", e2e.LatencyLegend)
	fmt.Fprintf(&b, "\n## The anchor: a fixed settle time of 60 s\n\n```\n")
	e2e.WriteAnchor(&b, outs)
	fmt.Fprintf(&b, "```\n")
	fmt.Fprintf(&b, "\n## raid-settle certify\n\nLive in the guest (scenarios 10-), and by the harness over the gate reports of scenario 2 (what `certify --from-reports` does):\n\n```\n")
	var cb bytes.Buffer
	e2e.WriteCertify(&cb, outs, cr)
	// Paths relative to the repository: the file is committed.
	b.WriteString(strings.ReplaceAll(cb.String(), h.Repo+string(filepath.Separator), ""))
	fmt.Fprintf(&b, "```\n")

	var left, right *e2e.Result

	for _, o := range outs {
		if o.Scenario.ID == e2e.DemoScenario {
			if o.Result.Variant == e2e.Without {
				left = o.Result
			} else {
				right = o.Result
			}
		}
	}

	if left != nil && right != nil {
		fmt.Fprintf(&b, "\n## Scenario %s, side by side\n\n```\n", e2e.DemoScenario)
		e2e.WriteDemo(&b, left, right)
		fmt.Fprintf(&b, "```\n")
	}

	fmt.Fprintf(&b, "\n## Scenarios\n\n")

	seen := map[string]bool{}

	for _, o := range outs {
		if !seen[o.Scenario.ID] {
			seen[o.Scenario.ID] = true
			fmt.Fprintf(&b, "- `%s`: %s\n", o.Scenario.ID, o.Scenario.Title)
		}
	}

	return os.WriteFile(path, b.Bytes(), 0o644)
}

func udevPackage(pkgs []string) string {
	for _, p := range pkgs {
		if strings.HasPrefix(p, "udev ") {
			return "systemd-" + p
		}
	}

	return "udev"
}

func gitOutput(repo string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
	if err != nil {
		return "unknown"
	}

	return strings.TrimSpace(string(out))
}

func gitLikeOutput(tool string, args ...string) string {
	out, err := exec.Command(tool, args...).Output()
	if err != nil {
		return tool
	}

	return strings.TrimSpace(string(out))
}

func numCPU() int {
	out := gitLikeOutput("nproc")

	var n int
	if _, err := fmt.Sscan(out, &n); err != nil {
		return 0
	}

	return n
}
