package blockdev

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAllCodesIsComplete parses this package's sources and checks that
// AllCodes holds every constant of type Code, and nothing else twice.
func TestAllCodesIsComplete(t *testing.T) {
	fset := token.NewFileSet()

	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}

	var declared []Code

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
			if !ok {
				return true
			}

			if id, isIdent := vs.Type.(*ast.Ident); !isIdent || id.Name != "Code" {
				return true
			}

			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					declared = append(declared, Code(strings.Trim(lit.Value, `"`)))
				}
			}

			return true
		})
	}

	got := slices.Sorted(slices.Values(AllCodes))
	slices.Sort(declared)

	if len(declared) < 60 || !slices.Equal(got, declared) {
		t.Errorf("AllCodes %v\ndeclared %v", got, declared)
	}
}
