package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// testbedCLI runs lvslab with args and returns its standard output.
func testbedCLI(args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String() + errb.String(), err
}

// TestTestbedCLIErrors: bad invocations fail with a message naming the
// file, line or flag, before touching anything.
func TestTestbedCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("mode: l7\nserver: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"testbed", "up"}, "-f TOPOLOGY.yaml is required"},
		{[]string{"testbed", "up", "-f", filepath.Join(dir, "missing.yaml")}, "missing.yaml: no such file"},
		{[]string{"testbed", "up", "-f", bad}, bad + `: topology: line 2: unknown key "server"`},
		{[]string{"testbed", "up", "-f", "../../examples/testbed/l7.yaml", "--prefix", "x1"}, `--prefix "x1"`},
		{[]string{"testbed", "down", "--all", "--prefix", "lt1"}, "exclude each other"},
		{[]string{"testbed", "down", "--prefix", "[", "--root", dir}, "syntax error in pattern"},
		{[]string{"testbed", "status", "--run-dir", dir, "--prefix", "lt1"}, "exclude each other"},
		{[]string{"testbed", "status", "--run-dir", dir}, "no state file in " + dir},
		{[]string{"testbed", "status", "--prefix", "nope"}, `prefix "nope"`},
	}
	for _, tc := range tests {
		_, err := testbedCLI(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	// Down of a run directory holding nothing succeeds and says so.
	out, err := testbedCLI("testbed", "down", "--run-dir", dir)
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("down of an empty run directory: %q, %v", out, err)
	}
}

// TestNetnsCLI: up, status and down as the README shows them, twice down.
func TestNetnsCLI(t *testing.T) {
	testbedtest.Require(t)
	root := t.TempDir()
	prefix := testbed.NewPrefix()
	runDir := filepath.Join(root, prefix)
	testbedtest.Cleanup(t, runDir, prefix)

	out, err := testbedCLI("testbed", "up", "-f", "../../examples/testbed/dr.yaml", "--root", root, "--prefix", prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"testbed " + prefix + " is up (mode dr); run directory " + runDir,
		prefix + "-rs3", "lo 198.18.0.254/32", "permanent neighbour entries", "lvslab testbed down --run-dir " + runDir} {
		if !strings.Contains(out, want) {
			t.Errorf("up printed\n%s\nwithout %q", out, want)
		}
	}

	out, err = testbedCLI("testbed", "status", "--root", root, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var reports []testbed.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(reports) == 0 || reports[0].Prefix != prefix || !reports[0].Ready || len(reports[0].Namespaces) != 6 {
		t.Fatalf("status --json: %s", out)
	}
	for _, ns := range reports[0].Namespaces {
		if !ns.Exists {
			t.Errorf("status: %s missing", ns.Name)
		}
	}
	out, err = testbedCLI("testbed", "status", "--run-dir", runDir)
	if err != nil || !strings.Contains(out, prefix+"-cl1") || !strings.Contains(out, "neighbour") {
		t.Errorf("status: %v\n%s", err, out)
	}

	out, err = testbedCLI("testbed", "down", "--root", root)
	if err != nil || !strings.Contains(out, "6 namespaces deleted") {
		t.Errorf("down: %v\n%s", err, out)
	}
	testbedtest.AssertClean(t, prefix)
	out, err = testbedCLI("testbed", "down", "--root", root)
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("second down: %v\n%s", err, out)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("run directory %s left: %v", runDir, err)
	}

	// A testbed whose run directory is gone goes down by its prefix.
	if _, err := testbedCLI("testbed", "up", "-f", "../../examples/testbed/l7.yaml", "--root", root, "--prefix", prefix); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(runDir); err != nil {
		t.Fatal(err)
	}
	// Nothing of this root is left (down stays idempotent, even while other
	// testbeds run), but the orphan is named with the way to remove it.
	if out, err := testbedCLI("testbed", "down", "--root", root); err != nil || !strings.Contains(out, "nothing to do") ||
		!strings.Contains(out, prefix) || !strings.Contains(out, "--prefix") {
		t.Errorf("down with no run directory but a testbed present: %v\n%s", err, out)
	}
	out, err = testbedCLI("testbed", "down", "--prefix", prefix, "--root", root)
	if err != nil || !strings.Contains(out, "8 namespaces deleted") {
		t.Errorf("down --prefix: %v\n%s", err, out)
	}
	testbedtest.AssertClean(t, prefix)
}
