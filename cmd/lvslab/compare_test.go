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

// TestSimReplicatesFlags checks the replicate flags of lvslab sim:
// --replicates 1 writes the bytes of a run without it, replicates are one
// table line per cell, and values that would mean nothing are errors
// naming the flag.
func TestSimReplicatesFlags(t *testing.T) {
	base := []string{"sim", "--alg", "wrr,lblc", "--nodes", "3", "--format", "csv"}
	plain, _, err := execLab(t, base...)
	if err != nil {
		t.Fatal(err)
	}
	one, _, err := execLab(t, append(base, "--replicates", "1")...)
	if err != nil {
		t.Fatal(err)
	}
	if one != plain {
		t.Error("--replicates 1 changed the output")
	}
	table, _, err := execLab(t, "sim", "--alg", "wrr,lblc", "--nodes", "3", "--replicates", "3", "--jitter", "0.01", "--start-offset", "0.2", "--format", "table")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "±95%") || !strings.HasSuffix(strings.TrimSpace(lines[0]), "runs") {
		t.Errorf("table:\n%s\nwant a header with ±95%% and runs, and one line per scheduler", table)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--jitter", "0.02"}, "--jitter"},
		{[]string{"--start-offset", "0.5"}, "--start-offset"},
		{[]string{"--replicates", "0"}, "--replicates"},
		{[]string{"--replicates", "1001"}, "--replicates"},
		{[]string{"--replicates", "2", "--jitter", "0.7"}, "--jitter"},
	} {
		if _, _, err := execLab(t, append(base, tc.args...)...); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one starting %q", tc.args, err, tc.want)
		}
	}
}
