package blockdev

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raid-settle/raid-settle/blockdev/luks2"
	"github.com/raid-settle/raid-settle/blockdev/problem"
	"github.com/raid-settle/raid-settle/blockdev/xfs"
)

// TestAllCodesIsComplete parses the sources of blockdev and of each format
// package and checks that the package's list holds every constant of type
// problem.Code it declares, and nothing else, and that AllCodes is their
// union without repeats.
func TestAllCodesIsComplete(t *testing.T) {
	total := 0

	for _, pkg := range []struct {
		dir   string
		codes []problem.Code
	}{
		{".", codes},
		{"xfs", xfs.AllCodes},
		{"luks2", luks2.AllCodes},
	} {
		declared := declaredCodes(t, pkg.dir)
		got := slices.Sorted(slices.Values(pkg.codes))

		if len(declared) == 0 || !slices.Equal(got, declared) {
			t.Errorf("%s: listed %v\ndeclared %v", pkg.dir, got, declared)
		}

		total += len(declared)
	}

	distinct := len(slices.Compact(slices.Sorted(slices.Values(AllCodes))))
	if len(AllCodes) != total || distinct != total || total < 60 {
		t.Errorf("AllCodes has %d codes, %d distinct; the packages declare %d", len(AllCodes), distinct, total)
	}
}

// declaredCodes returns, sorted, the values of the constants of type
// problem.Code declared in the non-test sources of dir.
func declaredCodes(t *testing.T, dir string) []problem.Code {
	t.Helper()

	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}

	fset := token.NewFileSet()

	var declared []problem.Code

	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}

		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}

		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || !isCodeType(vs.Type) {
				return true
			}

			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					declared = append(declared, problem.Code(strings.Trim(lit.Value, `"`)))
				}
			}

			return true
		})
	}

	slices.Sort(declared)

	return declared
}

// isCodeType reports whether expr names the type problem.Code.
func isCodeType(expr ast.Expr) bool {
	sel, ok := expr.(*ast.SelectorExpr)
	if !ok {
		return false
	}

	pkg, ok := sel.X.(*ast.Ident)

	return ok && pkg.Name == "problem" && sel.Sel.Name == "Code"
}
