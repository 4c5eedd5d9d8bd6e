package lvslab_test

// This test keeps the dependency rule of docs/design.md: imports flow one way,
// and the deterministic packages (algorithms, models, sim) never read a wall
// clock, use global math/rand or start goroutines.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/lvslab/lvslab"

// allowed lists, for each top-level folder (or a folder one level down,
// such as internal/target, which then has a rule of its own), the module
// folders and third-party import prefixes its non-test code may import.
// Standard library imports are always allowed.
//
// internal/target is the one definition of a request target's locality key
// and cost, shared by the trace readers, the simulator and a live layer-7
// switch so that both worlds weigh a request alike; it imports only the
// standard library and is pure, so importing it keeps each folder's rule.
var allowed = map[string]struct {
	local      []string
	thirdParty []string
}{
	"algorithms":      {},
	"internal/target": {},
	"internal/stats":  {},
	"models":          {thirdParty: []string{"gonum.org/v1/gonum"}},
	"traces":          {local: []string{"models", "internal/target"}, thirdParty: []string{"gonum.org/v1/gonum"}},
	"sim":             {local: []string{"algorithms", "models", "traces", "internal/target"}, thirdParty: []string{"gonum.org/v1/gonum"}},
	"experiment":      {local: []string{"algorithms", "models", "traces", "sim"}, thirdParty: []string{"go.yaml.in/yaml/v3"}},
	"dataplane": {local: []string{"algorithms", "internal/target"}, thirdParty: []string{
		"github.com/gopacket/gopacket", "github.com/vishvananda/netlink", "github.com/vishvananda/netns",
		"golang.org/x/sys", "golang.org/x/net", "go.yaml.in/yaml/v3", "github.com/cilium/ebpf"}},
	"workbench": {local: []string{"algorithms", "models", "traces", "sim", "experiment", "testbed", "internal/atomicfile", "internal/stats"}, thirdParty: []string{
		"gonum.org/v1/gonum", "gonum.org/v1/plot", "go.yaml.in/yaml/v3", "golang.org/x/term"}},
	"testbed": {local: []string{"dataplane", "algorithms", "models", "traces"}, thirdParty: []string{
		"github.com/vishvananda/netlink", "github.com/vishvananda/netns", "golang.org/x/sys",
		"go.yaml.in/yaml/v3", "github.com/gopacket/gopacket"}},
}

// pure folders must not read a wall clock, use global randomness or start goroutines.
var pure = map[string]bool{"algorithms": true, "models": true, "sim": true, "internal/target": true, "internal/stats": true}

// Test-helper packages (named *test, like net/http/httptest: algotest) are
// test code kept out of _test.go files so that other packages' tests can
// import them; only _test.go files may import them (checkImport). A file of
// such a package that imports testing/synctest runs its goroutines and
// reads its clock inside a synctest bubble, on fake time, so the pure rule
// does not apply to it.
func testHelperPackage(imp string) bool {
	rest, ok := strings.CutPrefix(imp, module+"/")
	return ok && strings.HasSuffix(rest[strings.LastIndex(rest, "/")+1:], "test")
}

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
		top := ruleFolder(path)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		var problems []string
		bubble := false
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			problems = append(problems, checkImport(path, top, p)...)
			bubble = bubble || p == "testing/synctest"
		}
		pkg := module + "/" + filepath.ToSlash(filepath.Dir(path))
		if pure[top] && !(bubble && testHelperPackage(pkg)) {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			problems = append(problems, checkPure(fset, path, src)...)
		}
		for _, p := range problems {
			t.Error(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ruleFolder returns the folder whose rule governs path: its first two
// folders if allowed has a rule for them, else its top-level folder.
func ruleFolder(path string) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	if len(parts) > 2 {
		if _, ok := allowed[parts[0]+"/"+parts[1]]; ok {
			return parts[0] + "/" + parts[1]
		}
	}
	return parts[0]
}

// checkImport returns the dependency-rule violations of file (in the
// folder top, see ruleFolder) importing imp.
func checkImport(file, top, imp string) []string {
	if strings.HasPrefix(imp, module+"/cmd") {
		return []string{fmt.Sprintf("%s imports %s: nothing imports cmd/", file, imp)}
	}
	if testHelperPackage(imp) {
		return []string{fmt.Sprintf("%s imports %s: only _test.go files import test-helper packages", file, imp)}
	}
	if strings.HasPrefix(imp, module+"/workbench") && top != "cmd" && top != "workbench" {
		return []string{fmt.Sprintf("%s imports %s: only cmd/ imports workbench/", file, imp)}
	}
	rule, ruled := allowed[top]
	if !ruled {
		return nil // cmd/lvslab and the root may import anything
	}
	if first := strings.Split(imp, "/")[0]; !strings.Contains(first, ".") {
		return nil // standard library
	}
	if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
		dep := strings.Split(rest, "/")[0]
		if dep == top || rest == top || strings.HasPrefix(rest, top+"/") || rest == "internal/version" {
			return nil // internal/version is a stdlib-only constant every package may use
		}
		for _, l := range rule.local {
			if dep == l || rest == l || strings.HasPrefix(rest, l+"/") {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s imports %s: %s may import only %v from the module (docs/design.md)", file, imp, top, rule.local)}
	}
	for _, tp := range rule.thirdParty {
		if imp == tp || strings.HasPrefix(imp, tp+"/") {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s imports %s: third-party import not allowed in %s (docs/design.md)", file, imp, top)}
}

// checkPure returns the places where the source of a deterministic
// package reads the wall clock, uses global randomness or starts a goroutine.
func checkPure(fset *token.FileSet, path string, src []byte) []string {
	var problems []string
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return []string{err.Error()}
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
			problems = append(problems, fmt.Sprintf("%s: imports math/rand; use math/rand/v2 with an explicit seeded source", fset.Position(imp.Pos())))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			problems = append(problems, fmt.Sprintf("%s: starts a goroutine in a deterministic package", fset.Position(n.Pos())))
		case *ast.SelectorExpr:
			id, ok := n.X.(*ast.Ident)
			if !ok || id.Obj != nil {
				return true
			}
			switch names[id.Name] {
			case "time":
				if forbiddenTime[n.Sel.Name] {
					problems = append(problems, fmt.Sprintf("%s: time.%s reads the wall clock; take time as an argument", fset.Position(n.Pos()), n.Sel.Name))
				}
			case "math/rand/v2":
				if !randConstructors[n.Sel.Name] {
					problems = append(problems, fmt.Sprintf("%s: rand.%s uses the global source; use a seeded *rand.Rand", fset.Position(n.Pos()), n.Sel.Name))
				}
			}
		}
		return true
	})
	return problems
}

// writers are the folders whose non-test code must write files only
// through internal/atomicfile (algorithms/algotest's -update writes golden
// test data, not lvslab output).
var writers = []string{"cmd", "workbench", "traces", "sim", "models"}

// forbiddenWrites are the calls that write a file in place.
var forbiddenWrites = map[string]map[string]bool{
	"os":        {"Create": true, "CreateTemp": true, "WriteFile": true, "OpenFile": true},
	"io/ioutil": {"WriteFile": true, "TempFile": true},
}

// TestWritesAreAtomic keeps the rule that every file lvslab writes is
// written to a temporary file and renamed into place (internal/atomicfile),
// so that a killed run never leaves a truncated file that looks complete.
func TestWritesAreAtomic(t *testing.T) {
	fset := token.NewFileSet()
	for _, top := range writers {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, p := range checkWrites(fset, path, src) {
				t.Error(p)
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// checkWrites returns the places where src writes a file other than
// through internal/atomicfile.
func checkWrites(fset *token.FileSet, path string, src []byte) []string {
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		return []string{err.Error()}
	}
	names := map[string]string{} // local name -> import path
	plot := false
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = p
		plot = plot || p == "gonum.org/v1/plot"
	}
	var problems []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && forbiddenWrites[names[id.Name]][sel.Sel.Name] {
			problems = append(problems, fmt.Sprintf("%s: %s.%s writes a file in place; use internal/atomicfile",
				fset.Position(call.Pos()), id.Name, sel.Sel.Name))
		}
		if plot && sel.Sel.Name == "Save" && len(call.Args) == 3 {
			problems = append(problems, fmt.Sprintf("%s: plot.Save writes a figure in place; render it (Plot.WriterTo) into internal/atomicfile",
				fset.Position(call.Pos())))
		}
		return true
	})
	return problems
}

// The checks themselves catch what they are for.
func TestDependencyRuleCatches(t *testing.T) {
	imports := []struct {
		top, imp string
		bad      bool
	}{
		{"algorithms", "fmt", false},
		{"algorithms", module + "/sim", true},
		{"algorithms", "gonum.org/v1/gonum/stat", true},
		{"traces", module + "/models", false},
		{"traces", module + "/sim", true},
		{"sim", module + "/dataplane", true},
		{"sim", module + "/workbench", true},
		{"sim", module + "/internal/version", false},
		{"dataplane", module + "/sim", true},
		{"models", module + "/cmd/lvslab", true},
		{"cmd", module + "/workbench", false},
		{"workbench", module + "/internal/atomicfile", false},
		{"sim", module + "/internal/atomicfile", true},
		{"traces", module + "/internal/other", true},
		{"cmd", module + "/algorithms/algotest", true},
		{"algorithms", module + "/algorithms/algotest", true},
		{"algorithms", module + "/algorithms", false},
		{"traces", module + "/internal/target", false},
		{"sim", module + "/internal/target", false},
		{"dataplane", module + "/internal/target", false},
		{"algorithms", module + "/internal/target", true},
		{"internal/target", "strings", false},
		{"internal/target", module + "/algorithms", true},
		{"internal/target", "golang.org/x/sys/unix", true},
		{"experiment", module + "/sim", false},
		{"experiment", module + "/workbench", true},
		{"experiment", module + "/dataplane", true},
		{"sim", module + "/experiment", true},
		{"workbench", module + "/experiment", false},
		{"workbench", module + "/testbed/load", false},
		{"testbed", module + "/workbench", true},
		{"testbed", module + "/dataplane/monitor", false},
		{"testbed", module + "/experiment", true},
		{"dataplane", module + "/testbed", true},
	}
	for path, want := range map[string]string{
		"internal/target/target.go": "internal/target", "internal/atomicfile/f.go": "internal",
		"sim/engine.go": "sim", "algorithms/algotest/script.go": "algorithms", "deps_test.go": "deps_test.go",
	} {
		if got := ruleFolder(path); got != want {
			t.Errorf("ruleFolder(%q) = %q, want %q", path, got, want)
		}
	}
	for _, c := range imports {
		if got := len(checkImport("x.go", c.top, c.imp)) > 0; got != c.bad {
			t.Errorf("%s importing %s: violation = %v, want %v", c.top, c.imp, got, c.bad)
		}
	}
	sources := []struct {
		src  string
		bad  int
		name string
	}{
		{"package p\nimport \"time\"\nfunc f() time.Duration { return time.Second }", 0, "durations are fine"},
		{"package p\nimport \"time\"\nfunc f() { _ = time.Now() }", 1, "time.Now"},
		{"package p\nimport \"time\"\nfunc f() { time.Sleep(1); <-time.After(1) }", 2, "Sleep and After"},
		{"package p\nimport \"math/rand/v2\"\nfunc f() int { return rand.IntN(3) }", 1, "global rand"},
		{"package p\nimport \"math/rand/v2\"\nfunc f() int { return rand.New(rand.NewPCG(1, 2)).IntN(3) }", 0, "seeded rand"},
		{"package p\nimport \"math/rand\"\nvar _ = rand.New", 1, "math/rand v1"},
		{"package p\nfunc f() { go f() }", 1, "goroutine"},
		{"package p\nimport clock \"time\"\nfunc f() { _ = clock.Now() }", 1, "renamed time import"},
	}
	for _, c := range sources {
		if got := checkPure(token.NewFileSet(), "x.go", []byte(c.src)); len(got) != c.bad {
			t.Errorf("%s: %d violations %q, want %d", c.name, len(got), got, c.bad)
		}
	}
	writes := []struct {
		src  string
		bad  int
		name string
	}{
		{"package p\nimport \"os\"\nfunc f() { os.Open(\"x\"); os.ReadFile(\"x\"); os.MkdirAll(\"d\", 0o755) }", 0, "reading is fine"},
		{"package p\nimport \"os\"\nfunc f() { os.Create(\"x\") }", 1, "os.Create"},
		{"package p\nimport \"os\"\nfunc f() { os.WriteFile(\"x\", nil, 0o644); os.OpenFile(\"x\", os.O_WRONLY, 0) }", 2, "WriteFile and OpenFile"},
		{"package p\nimport \"os\"\nfunc f() { os.CreateTemp(\"\", \"x\") }", 1, "CreateTemp"},
		{"package p\nimport sys \"os\"\nfunc f() { sys.Create(\"x\") }", 1, "renamed os import"},
		{"package p\nimport \"io/ioutil\"\nfunc f() { ioutil.WriteFile(\"x\", nil, 0o644) }", 1, "ioutil"},
		{"package p\nimport \"gonum.org/v1/plot\"\nfunc f(p *plot.Plot) { p.Save(1, 1, \"x.png\") }", 1, "plot.Save"},
		{"package p\nimport \"github.com/lvslab/lvslab/internal/atomicfile\"\nfunc f() { atomicfile.WriteFile(\"x\", nil) }", 0, "atomicfile"},
	}
	for _, c := range writes {
		if got := checkWrites(token.NewFileSet(), "x.go", []byte(c.src)); len(got) != c.bad {
			t.Errorf("%s: %d violations %q, want %d", c.name, len(got), got, c.bad)
		}
	}
}
