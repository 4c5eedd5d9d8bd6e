package lvslab_test

// This test keeps the dependency rule of design.md: imports flow one way,
// and the deterministic packages (algorithms, models, sim) never read a wall
// clock, use global math/rand or start goroutines.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/lvslab/lvslab"

// allowed lists, for each top-level folder, the module folders and
// third-party import prefixes its non-test code may import. Standard
// library imports are always allowed.
var allowed = map[string]struct {
	local      []string
	thirdParty []string
}{
	"algorithms": {},
	"models":     {thirdParty: []string{"gonum.org/v1/gonum"}},
	"traces":     {local: []string{"models"}, thirdParty: []string{"gonum.org/v1/gonum"}},
	"sim":        {local: []string{"algorithms", "models", "traces"}, thirdParty: []string{"gonum.org/v1/gonum"}},
	"dataplane": {local: []string{"algorithms"}, thirdParty: []string{
		"github.com/gopacket/gopacket", "github.com/vishvananda/netlink", "github.com/vishvananda/netns",
		"golang.org/x/sys", "golang.org/x/net"}},
	"workbench": {local: []string{"algorithms", "models", "traces", "sim"}, thirdParty: []string{
		"gonum.org/v1/gonum", "gonum.org/v1/plot", "gopkg.in/yaml.v3"}},
	"testbed": {local: []string{"dataplane", "algorithms", "models", "traces"}, thirdParty: []string{
		"github.com/vishvananda/netlink", "github.com/vishvananda/netns", "golang.org/x/sys",
		"gopkg.in/yaml.v3", "github.com/gopacket/gopacket"}},
}

// pure folders must not read a wall clock, use global randomness or start goroutines.
var pure = map[string]bool{"algorithms": true, "models": true, "sim": true}

var forbiddenTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"NewTimer": true, "NewTicker": true, "Tick": true,
}

// randConstructors are the math/rand/v2 identifiers that do not touch the
// global source.
var randConstructors = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
	"Rand": true, "Source": true, "PCG": true, "ChaCha8": true, "Zipf": true,
}

func TestDependencyRule(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		top := strings.Split(filepath.ToSlash(path), "/")[0]
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			checkImport(t, path, top, p)
		}
		if pure[top] {
			checkPure(t, fset, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkImport(t *testing.T, file, top, imp string) {
	t.Helper()
	if strings.HasPrefix(imp, module+"/cmd") {
		t.Errorf("%s imports %s: nothing imports cmd/", file, imp)
		return
	}
	if strings.HasPrefix(imp, module+"/workbench") && top != "cmd" && top != "workbench" {
		t.Errorf("%s imports %s: only cmd/ imports workbench/", file, imp)
		return
	}
	rule, ruled := allowed[top]
	if !ruled {
		return // cmd/lvslab and the root may import anything
	}
	if first := strings.Split(imp, "/")[0]; !strings.Contains(first, ".") {
		return // standard library
	}
	if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
		dep := strings.Split(rest, "/")[0]
		if dep == top || rest == "internal/version" {
			return // internal/version is a stdlib-only constant every package may use
		}
		for _, l := range rule.local {
			if dep == l {
				return
			}
		}
		t.Errorf("%s imports %s: %s may import only %v from the module (design.md)", file, imp, top, rule.local)
		return
	}
	for _, tp := range rule.thirdParty {
		if imp == tp || strings.HasPrefix(imp, tp+"/") {
			return
		}
	}
	t.Errorf("%s imports %s: third-party import not allowed in %s (design.md)", file, imp, top)
}

func checkPure(t *testing.T, fset *token.FileSet, path string) {
	t.Helper()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if p == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
		if p == "math/rand" {
			t.Errorf("%s: imports math/rand; use math/rand/v2 with an explicit seeded source", fset.Position(imp.Pos()))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			t.Errorf("%s: starts a goroutine in a deterministic package", fset.Position(n.Pos()))
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok || id.Obj != nil {
				return true
			}
			switch names[id.Name] {
			case "time":
				if forbiddenTime[n.Sel.Name] {
					t.Errorf("%s: time.%s reads the wall clock; take time as an argument", fset.Position(n.Pos()), n.Sel.Name)
				}
			case "math/rand/v2":
				if !randConstructors[n.Sel.Name] {
					t.Errorf("%s: rand.%s uses the global source; use a seeded *rand.Rand", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
		}
		return true
	})
}
