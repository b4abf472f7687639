package e2e

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FallbackMirror is the Debian archive used when the host's apt
// configuration names none.
const FallbackMirror = "http://deb.debian.org/debian"

// HostMirror returns the Debian archive the host's apt uses, read from
// aptDir (normally /etc/apt): the first "deb" source, one-line
// (sources.list, sources.list.d/*.list) or deb822 (sources.list.d/*.sources),
// with the main component and a suite that is not a security one. The
// guest's packages then come from where this machine was set up to get
// Debian's. It returns "" when there is none.
func HostMirror(aptDir string) string {
	files := []string{filepath.Join(aptDir, "sources.list")}

	for _, pattern := range []string{"*.list", "*.sources"} {
		more, _ := filepath.Glob(filepath.Join(aptDir, "sources.list.d", pattern))
		slices.Sort(more)
		files = append(files, more...)
	}

	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}

		var uri string
		if strings.HasSuffix(f, ".sources") {
			uri = deb822Mirror(string(data))
		} else {
			uri = oneLineMirror(string(data))
		}

		if uri != "" {
			return strings.TrimSuffix(uri, "/")
		}
	}

	return ""
}

// debianSource reports whether a deb source with these suites and
// components serves Debian's main archive.
func debianSource(suites, components []string) bool {
	if !slices.Contains(components, "main") || len(suites) == 0 {
		return false
	}

	for _, s := range suites {
		if strings.HasSuffix(s, "-security") {
			return false
		}
	}

	return true
}

// oneLineMirror reads "deb [options] URI suite component..." lines.
func oneLineMirror(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[0] != "deb" {
			continue
		}

		rest := fields[1:]
		if strings.HasPrefix(rest[0], "[") {
			for len(rest) > 0 && !strings.HasSuffix(rest[0], "]") {
				rest = rest[1:]
			}

			if len(rest) == 0 {
				continue
			}

			rest = rest[1:]
		}

		if len(rest) >= 3 && debianSource(rest[1:2], rest[2:]) {
			return rest[0]
		}
	}

	return ""
}

// deb822Mirror reads deb822 stanzas (Types:, URIs:, Suites:, Components:).
func deb822Mirror(text string) string {
	for stanza := range strings.SplitSeq(text, "\n\n") {
		fields := map[string][]string{}

		for line := range strings.SplitSeq(stanza, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}

			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.Fields(v)
			}
		}

		enabled := fields["enabled"] == nil || slices.Contains(fields["enabled"], "yes")
		if enabled && slices.Contains(fields["types"], "deb") && len(fields["uris"]) > 0 && debianSource(fields["suites"], fields["components"]) {
			return fields["uris"][0]
		}
	}

	return ""
}
