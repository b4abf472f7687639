package certify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raid-settle/raid-settle/internal/testenv"
)

// reportResults are the five PERC boots as the command would write them.
func reportResults(t *testing.T) *Results {
	t.Helper()

	res := analyzedPERC(t)
	res.Version = "v0.3.0"
	res.Created = certDate
	res.DeriveProfiles(DefaultRule)

	return res
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := reportResults(t).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}

	html := b.String()

	// The SVG namespace is a name, not a resource.
	stripped := strings.ReplaceAll(html, `xmlns="http://www.w3.org/2000/svg"`, "")

	for _, bad := range []string{"http://", "https://", "<script", "<link", " src=", "url(", "@import", "ZgotmplZ"} {
		if strings.Contains(stripped, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
}

// chromiumFlags are the flags that work in this environment's sandbox-less
// headless Chromium.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// runChromium renders page with extra flags and returns its standard output.
func runChromium(t *testing.T, chromium, page string, extra ...string) string {
	t.Helper()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	args := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir()), extra...)
	args = append(args, "file://"+page)

	var stdout, stderr bytes.Buffer

	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", chromium, strings.Join(args, " "), err, stderr.String())
	}

	return stdout.String()
}

// TestReportInChromium renders the report in headless Chromium and checks
// the DOM it built: one timeline group per cycle, the histogram's bars
// adding up to every disk arrival, the identity table, the profile. With
// UPDATE_SCREENSHOT=1 it also writes docs/certify-report.png.
func TestReportInChromium(t *testing.T) {
	chromium := testenv.Chromium(t)

	dir := t.TempDir()
	if _, err := reportResults(t).WriteDir(dir); err != nil {
		t.Fatal(err)
	}

	page := filepath.Join(dir, ReportFile)
	dom := runChromium(t, chromium, page, "--dump-dom")

	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(dom, -1)) }

	if n := count(`<svg class="timeline"`); n != 1 {
		t.Errorf("%d timelines, want 1 (the idle AHCI controller gets none)", n)
	}

	for i := 1; i <= 5; i++ {
		if n := count(`<g class="cycle" data-cycle="` + strconv.Itoa(i) + `"`); n != 1 {
			t.Errorf("cycle %d: %d timeline groups", i, n)
		}
	}

	if n := count(`<g class="cycle"`); n != 5 {
		t.Errorf("%d cycle groups, want 5", n)
	}

	if n := count(`<circle class="arrival disk"`); n != 14 {
		t.Errorf("%d disk marks, want 14", n)
	}

	if n := count(`<path class="arrival partition state"`); n != 5 {
		t.Errorf("%d STATE marks, want 5", n)
	}

	if n := count(`<g class="missing">`); n != 1 {
		t.Errorf("%d missing marks, want 1 (boot 4)", n)
	}

	bars := regexp.MustCompile(`<rect class="bar"[^>]*data-count="(\d+)"`).FindAllStringSubmatch(dom, -1)
	total := 0

	for _, m := range bars {
		n, _ := strconv.Atoi(m[1])
		total += n
	}

	if len(bars) < 5 || total != 14 {
		t.Errorf("%d histogram bars counting %d arrivals, want 14", len(bars), total)
	}

	identity := regexp.MustCompile(`(?s)<table class="identity">.*?</table>`).FindString(dom)
	for _, want := range []string{"0000:18:00.0", "1000:005d", "1028:1f47", "0x010400 raid", "megaraid_sas", "not exposed"} {
		if !strings.Contains(identity, want) {
			t.Errorf("identity table lacks %q:\n%s", want, identity)
		}
	}

	for _, want := range []string{
		`<table class="summary">`, `<table class="cycles">`, `<table class="idle">`, "0000:00:17.0",
		`"quiet": "16s"`, `"max_quiet": "32s"`, `<b>16s</b>quiet`, "profile-megaraid_sas-1000-005d.json",
		"1 of 5 cycles lost a device", "scsi-0:2:1:0 (+1 partition(s))",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		shot, err := filepath.Abs(filepath.Join("..", "docs", "certify-report.png"))
		if err != nil {
			t.Fatal(err)
		}

		runChromium(t, chromium, page, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars",
			"--run-all-compositor-stages-before-draw", "--virtual-time-budget=2000")

		data, err := os.ReadFile(shot)
		if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) || len(data) < 20_000 {
			t.Fatalf("screenshot %s: %d bytes, %v", shot, len(data), err)
		}

		t.Logf("wrote %s", shot)
	}
}
