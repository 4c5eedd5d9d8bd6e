package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/sim"
)

// execLab runs the lvslab command line with args and returns its standard
// output and error streams.
func execLab(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

// readCSV parses a results CSV and checks its header is sim.CSVHeader.
func readCSV(t *testing.T, text string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, text)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], sim.CSVHeader) {
		t.Fatalf("header = %v, want sim.CSVHeader", recs[0])
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// writeLog writes a small Combined Log Format trace.
func writeLog(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func clf(host, method, url string, status, bytes int) string {
	return host + ` - - [02/Sep/2003:10:00:00 +0000] "` + method + " " + url + ` HTTP/1.0" ` +
		strconv.Itoa(status) + " " + strconv.Itoa(bytes) + ` "-" "test"`
}

// TestSimCSV checks the command: one CSV row per (scheduler, node
// count) in order, with the stable columns. Reference: thesis §4.3, §6.3.7
// (throughput against the number of nodes).
func TestSimCSV(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		algs  []string
		nodes []string
		cache string
	}{
		{"default trace", []string{"sim", "--alg", "wrr,lblc", "--nodes", "1,4,7", "--cache", "8MiB", "--preset", "thesis", "--format", "csv"},
			[]string{"wrr", "wrr", "wrr", "lblc", "lblc", "lblc"}, []string{"1", "4", "7", "1", "4", "7"}, "8388608"},
		{"range and repeated flags", []string{"sim", "--alg", "wlc", "--alg", "lblcr", "--nodes", "2-3"},
			[]string{"wlc", "wlc", "lblcr", "lblcr"}, []string{"2", "3", "2", "3"}, "33554432"},
		{"embedded trace by name", []string{"sim", "--trace", "default", "--alg", "dflb", "--nodes", "2", "--seed", "9"},
			[]string{"dflb"}, []string{"2"}, "33554432"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := execLab(t, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			rows := readCSV(t, out)
			if len(rows) != len(tc.algs) {
				t.Fatalf("%d rows, want %d:\n%s", len(rows), len(tc.algs), out)
			}
			for i, r := range rows {
				if r["alg"] != tc.algs[i] || r["nodes"] != tc.nodes[i] || r["cache_bytes"] != tc.cache {
					t.Errorf("row %d: alg %s nodes %s cache %s, want %s %s %s", i, r["alg"], r["nodes"], r["cache_bytes"], tc.algs[i], tc.nodes[i], tc.cache)
				}
				for _, col := range []string{"throughput_rps", "hit_ratio", "p95_ms"} {
					v, err := strconv.ParseFloat(r[col], 64)
					if err != nil || v <= 0 {
						t.Errorf("row %d: %s = %q, want a positive number", i, col, r[col])
					}
				}
			}
		})
	}
}

// TestSimFormats checks the table and JSON outputs and -o with a format
// taken from the file's extension.
func TestSimFormats(t *testing.T) {
	out, _, err := execLab(t, "sim", "--alg", "wrr,lblcr", "--nodes", "1,2", "--format", "table")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "req/s") || !strings.Contains(lines[3], "LBLC/R") {
		t.Errorf("table:\n%s", out)
	}

	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "r.json")
	if _, _, err := execLab(t, "sim", "--alg", "wrr", "--nodes", "3", "-o", jsonPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*sim.Result
	if err := json.Unmarshal(b, &rs); err != nil {
		t.Fatalf("-o r.json did not write JSON: %v", err)
	}
	if len(rs) != 1 || rs[0].Config.Nodes != 3 || len(rs[0].ResponseCDF) == 0 {
		t.Errorf("JSON results: %+v", rs)
	}

	csvPath := filepath.Join(dir, "r.csv")
	if _, _, err := execLab(t, "sim", "--alg", "wrr", "--nodes", "3", "-o", csvPath); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(csvPath)
	if rows := readCSV(t, string(b)); len(rows) != 1 {
		t.Errorf("-o r.csv: %d rows", len(rows))
	}
}

// TestSimDeterministic runs the same experiment with one and with several
// workers: the bytes must not change.
func TestSimDeterministic(t *testing.T) {
	args := []string{"sim", "--alg", "wrr,wlc,lblc", "--nodes", "1-4", "--cache", "1MiB,4MiB", "--format", "csv"}
	a, _, err := execLab(t, append(args, "--workers", "1")...)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := execLab(t, append(args, "--workers", "4")...)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("output depends on the number of workers")
	}
	if rows := readCSV(t, a); len(rows) != 3*4*2 {
		t.Errorf("%d rows, want 24 (2 caches × 3 algorithms × 4 node counts)", len(rows))
	}
}

// TestSimTraces checks trace files: merged with '+', swept with ',', and
// the errors for a missing file and a trace the reference filters empty.
func TestSimTraces(t *testing.T) {
	dir := t.TempDir()
	a := writeLog(t, dir, "a.log", clf("h1", "GET", "/a.html", 200, 1000), clf("h2", "GET", "/b.gif", 200, 5000))
	b := writeLog(t, dir, "b.log", clf("h1", "GET", "/c.html", 200, 2000))
	empty := writeLog(t, dir, "empty.log", clf("h1", "POST", "/form", 200, 100), clf("h1", "GET", "/x", 404, 100),
		clf("h1", "GET", "/cgi-bin/q", 200, 100))

	out, _, err := execLab(t, "sim", "--trace", a+"+"+b, "--alg", "wrr", "--nodes", "1")
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, out)
	if len(rows) != 1 || rows[0]["requests"] != "3" || rows[0]["trace"] != "a.log,b.log" {
		t.Errorf("merged trace: %v", rows)
	}

	out, _, err = execLab(t, "sim", "--trace", a+","+b, "--alg", "wrr", "--nodes", "1")
	if err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, out)
	if len(rows) != 2 || rows[0]["requests"] != "2" || rows[1]["requests"] != "1" {
		t.Errorf("two traces: %v", rows)
	}

	errs := []struct {
		name string
		args []string
		want []string
	}{
		{"missing file", []string{"sim", "--trace", filepath.Join(dir, "nope.log")}, []string{"nope.log", "no such file"}},
		{"empty after filters", []string{"sim", "--trace", empty}, []string{"empty.log", "no request left", "method 1", "status 1", "dynamic 1"}},
		{"zero nodes", []string{"sim", "--nodes", "0"}, []string{"--nodes", "at least 1 node"}},
		{"bad nodes", []string{"sim", "--nodes", "x"}, []string{"--nodes", `"x"`}},
		{"bad cache", []string{"sim", "--cache", "abc"}, []string{"--cache", `"abc"`}},
		{"negative cache", []string{"sim", "--cache", "0"}, []string{"--cache", "positive"}},
		{"unknown algorithm", []string{"sim", "--alg", "nosuch"}, []string{"nosuch", "wrr"}},
		{"unknown preset", []string{"sim", "--preset", "nosuch"}, []string{"preset", "nosuch"}},
		{"bad speedup", []string{"sim", "--speedup", "-1"}, []string{"--speedup"}},
		{"bad duration", []string{"sim", "--keep-alive", "5"}, []string{"--keep-alive", "duration"}},
		{"bad format", []string{"sim", "--format", "xml"}, []string{"--format", "xml"}},
		{"bad synth", []string{"sim", "--trace", "synth:nosuch"}, []string{"synth:nosuch", "nosuch"}},
		{"missing experiment", []string{"sim", "-f", filepath.Join(dir, "nope.yaml")}, []string{"nope.yaml"}},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execLab(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestSimSynthetic runs a small synthetic workload by name.
func TestSimSynthetic(t *testing.T) {
	out, _, err := execLab(t, "sim", "--trace", "synth:small:3000", "--alg", "wrr,lblc", "--nodes", "2")
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, out)
	if len(rows) != 2 || rows[0]["trace"] != "synth:small:3000" {
		t.Errorf("rows: %v", rows)
	}
	if n, _ := strconv.Atoi(rows[0]["requests"]); n < 2500 || n > 3000 {
		t.Errorf("requests = %d, want about 3000 less 5%% dynamic", n)
	}
}
