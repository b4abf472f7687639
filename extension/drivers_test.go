package extension

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/agent"
)

// markdownTable returns the cells of the first table after the line equal
// to heading in doc (or of the table whose header row heading is), header
// and separator rows left out.
func markdownTable(t *testing.T, doc, heading string) [][]string {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(moduleRoot, doc))
	if err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(string(data), "\n")

	start := slices.Index(lines, heading)
	if start < 0 {
		t.Fatalf("%s has no line %q", doc, heading)
	}

	var rows [][]string

	if strings.HasPrefix(heading, "|") {
		start-- // the heading is the table's header row
	}

	for _, line := range lines[start+1:] {
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 {
				break
			}

			continue
		}

		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}

		rows = append(rows, cells)
	}

	if len(rows) < 3 {
		t.Fatalf("%s: no table after %q", doc, heading)
	}

	return rows[2:]
}

// seconds formats a duration as the docs write it: "8 s", "2.5 s".
func seconds(d agent.Duration) string {
	return fmt.Sprintf("%g s", d.D().Seconds())
}

func builtinProfile(t *testing.T, driver string) agent.Profile {
	t.Helper()

	i := slices.IndexFunc(agent.BuiltinProfiles, func(p agent.Profile) bool { return p.Driver == driver })
	if i < 0 {
		t.Fatalf("no built-in profile for %s", driver)
	}

	return agent.BuiltinProfiles[i]
}

// TestDriversDoc keeps docs/drivers.md's table and the README's profile
// table in step with the rule and BuiltinProfiles.
func TestDriversDoc(t *testing.T) {
	t.Run("docs/drivers.md", func(t *testing.T) {
		var modules []string

		for _, row := range markdownTable(t, "docs/drivers.md", "## Drivers the gate starts for") {
			if len(row) != 6 {
				t.Fatalf("row %q: want 6 cells", row)
			}

			module := strings.Trim(row[0], "`")
			modules = append(modules, module)

			if !strings.HasPrefix(row[1], "`CONFIG_") {
				t.Errorf("%s: config symbol %q", module, row[1])
			}

			if row[2] == "-" && row[3] == "-" {
				t.Errorf("%s: built for neither arch", module)
			}

			p := builtinProfile(t, module)
			want := fmt.Sprintf("%s / %s, ×%g", seconds(p.Quiet), seconds(p.MaxQuiet), p.GapFactor)

			if row[5] != want {
				t.Errorf("%s: doc says %q, profile is %q", module, row[5], want)
			}
		}

		if rule := ruleDrivers(t); !slices.Equal(modules, rule) {
			t.Errorf("docs/drivers.md lists\n%v\nthe rule, in order, has\n%v", modules, rule)
		}
	})

	t.Run("README.md", func(t *testing.T) {
		var listed []string

		for _, row := range markdownTable(t, "README.md", "| driver | quiet window | longest window |") {
			if len(row) != 3 {
				t.Fatalf("row %q: want 3 cells", row)
			}

			if row[0] == "anything else" {
				if row[1] != seconds(agent.DefaultProfile.Quiet) || row[2] != seconds(agent.DefaultProfile.MaxQuiet) {
					t.Errorf("README's default row %q, profile %+v", row, agent.DefaultProfile)
				}

				continue
			}

			for _, driver := range strings.Split(row[0], ", ") {
				listed = append(listed, driver)

				p := builtinProfile(t, driver)
				if row[1] != seconds(p.Quiet) || row[2] != seconds(p.MaxQuiet) {
					t.Errorf("README gives %s %s / %s, profile is %s / %s", driver, row[1], row[2], seconds(p.Quiet), seconds(p.MaxQuiet))
				}
			}
		}

		for _, p := range agent.BuiltinProfiles {
			if n := strings.Count(" "+strings.Join(listed, " ")+" ", " "+p.Driver+" "); n != 1 {
				t.Errorf("README's profile table lists %s %d times", p.Driver, n)
			}
		}
	})
}
