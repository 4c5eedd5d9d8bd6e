package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareCommand runs replicates with lvslab sim and compares them:
// one line per pair and node count, paired tests, and errors naming the
// flag or file at fault.
func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.csv")
	if _, _, err := execLab(t, "sim", "--alg", "wrr,wlc,lblc", "--nodes", "4", "--replicates", "3", "-o", out); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execLab(t, "compare", out, "--baseline", "wrr")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "95% interval") {
		t.Fatalf("output:\n%s\nwant a header and 2 comparisons", stdout)
	}
	for i, alg := range []string{"WLC", "LBLC"} {
		if f := strings.Fields(lines[i+1]); f[1] != alg || f[2] != "WRR" || !strings.Contains(lines[i+1], "paired") || !strings.Contains(lines[i+1], "3/3") {
			t.Errorf("line %q: want %s vs WRR, paired over 3/3 runs", lines[i+1], alg)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", out, "--level", "95"}, "--level: confidence level 95"},
		{[]string{"compare", out, "--metric", "alg"}, "--metric"},
		{[]string{"compare", out, "--format", "json"}, "--format"},
		{[]string{"compare", writeFile(t, dir, "x.csv", "a,b\n1,2\n")}, "not lvslab results"},
	} {
		if _, _, err := execLab(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
