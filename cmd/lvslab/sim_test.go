package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
	// sim.CSVHeader, then the columns of swept parameters and replicates.
	if len(recs) == 0 || len(recs[0]) < len(sim.CSVHeader) || !slices.Equal(recs[0][:len(sim.CSVHeader)], sim.CSVHeader) {
		t.Fatalf("header = %v, want sim.CSVHeader first", recs[0])
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
		{"zero cache", []string{"sim", "--cache", "0"}, []string{"--cache", "> 0"}},
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

// readJSON runs lvslab with args writing JSON and returns the results.
func readJSON(t *testing.T, args ...string) []*sim.Result {
	t.Helper()
	out, _, err := execLab(t, append(args, "--format", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*sim.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return rs
}

// TestSimFailures runs node failures from flags and from a file: requests
// on and sent to the crashed node before the front end notices are lost
// (Failed > 0, Requests = Completed + Failed), a longer health-check delay
// loses more under WLC, and the resolved schedule is in the results.
// Reference: thesis §3 (high availability: the director removes a failed
// server once its monitor notices).
func TestSimFailures(t *testing.T) {
	base := []string{"sim", "--alg", "wlc", "--nodes", "4", "--admission", "open", "--speedup", "1000", "--seed", "1"}
	rs := readJSON(t, append(base, "--failure", "1@10s-25s", "--health-check-delay", "0s,3s")...)
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2 (two health-check delays)", len(rs))
	}
	for i, r := range rs {
		if r.Failed == 0 || r.Requests != r.Completed+r.Failed {
			t.Errorf("result %d: requests %d, completed %d, failed %d: want failures", i, r.Requests, r.Completed, r.Failed)
		}
		want := []sim.Failure{{Node: 1, At: 10 * time.Second, Recover: 25 * time.Second}}
		if !reflect.DeepEqual(r.Config.Failures, want) {
			t.Errorf("result %d: config failures %v, want %v", i, r.Config.Failures, want)
		}
	}
	if rs[0].Config.HealthCheckDelay != 0 || rs[1].Config.HealthCheckDelay != 3*time.Second {
		t.Errorf("health-check delays %v, %v", rs[0].Config.HealthCheckDelay, rs[1].Config.HealthCheckDelay)
	}
	if rs[1].Failed <= rs[0].Failed {
		t.Errorf("failed %d with a 3 s health-check delay, %d with none: want more", rs[1].Failed, rs[0].Failed)
	}

	// Without the failure nothing is lost.
	if rs := readJSON(t, base...); rs[0].Failed != 0 || rs[0].Completed != rs[0].Requests {
		t.Errorf("no failure: failed %d", rs[0].Failed)
	}

	// Repeated --failure flags make one schedule; the same from a file.
	rs = readJSON(t, append(base, "--failure", "1@10s-25s", "--failure", "2@20s")...)
	if len(rs) != 1 || len(rs[0].Config.Failures) != 2 || rs[0].Failed == 0 {
		t.Fatalf("two failures: %d results, config %v", len(rs), rs[0].Config.Failures)
	}
	dir := t.TempDir()
	exp := writeFile(t, dir, "f.yaml", "alg: wlc\nnodes: 4\nadmission: open\nspeedup: 1000\nseed: 1\n"+
		"failures:\n  - {node: 1, at: 10s, recover: 25s}\n  - 2@20s\n")
	fromFile := readJSON(t, "sim", "-f", exp)
	if !reflect.DeepEqual(fromFile[0].Config, rs[0].Config) || fromFile[0].Failed != rs[0].Failed {
		t.Errorf("file and flags differ: %+v\n%+v", fromFile[0].Config, rs[0].Config)
	}

	// The table shows the failed column when failures are configured.
	out, _, err := execLab(t, append(base, "--failure", "1@10s", "--format", "table")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.SplitN(out, "\n", 2)[0], "failed") {
		t.Errorf("table without a failed column:\n%s", out)
	}
}

// TestSimFlagOverridesFile checks that a flag replaces a file's key,
// including nested keys and the failure schedule.
func TestSimFlagOverridesFile(t *testing.T) {
	dir := t.TempDir()
	exp := writeFile(t, dir, "e.yaml", `alg: lbll
nodes: 2
failures: [{node: 1, at: 1s, recover: 2s}]
health_check_delay: 1s
options:
  threshold: 2
  set_expiry: 30s
costs:
  disk_access: 10ms
`)
	rs := readJSON(t, "sim", "-f", exp)
	c := rs[0].Config
	if len(c.Failures) != 1 || c.HealthCheckDelay != time.Second || c.Options.Threshold != 2 ||
		c.Options.SetExpiry != 30*time.Second || c.Costs.DiskAccess != 10*time.Millisecond {
		t.Fatalf("file not applied: %+v", c)
	}
	rs = readJSON(t, "sim", "-f", exp, "--failure", "none", "--threshold", "3", "--health-check-delay", "2s", "--set-expiry", "1m")
	c = rs[0].Config
	if len(c.Failures) != 0 || c.Options.Threshold != 3 || c.HealthCheckDelay != 2*time.Second ||
		c.Options.SetExpiry != time.Minute || c.Costs.DiskAccess != 10*time.Millisecond {
		t.Errorf("flags do not override the file: %+v", c)
	}
	if rs[0].Failed != 0 {
		t.Errorf("--failure none: %d failed", rs[0].Failed)
	}
}

// TestSimNewFlags checks the scheduler and front-end flags reach the
// resolved configuration, sweep, and change results where they should.
// Reference: §4.3 (cost constants), §7.3.1 (LBLL's T), §7.5 (origin).
func TestSimNewFlags(t *testing.T) {
	rs := readJSON(t, "sim", "--alg", "lbll", "--nodes", "3", "--threshold", "0.5,4", "--set-expiry", "5s",
		"--epsilon", "0.5", "--inner", "wlc", "--cls-lookup", "20us", "--cls-batch", "4", "--origin-time", "10ms")
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2 (two thresholds)", len(rs))
	}
	for i, want := range []float64{0.5, 4} {
		o := rs[i].Config.Options
		if o.Threshold != want || o.SetExpiry != 5*time.Second || o.Epsilon != 0.5 || o.Inner != "wlc" {
			t.Errorf("result %d options: %+v", i, o)
		}
		c := rs[i].Config
		if c.CLSLookup != 20*time.Microsecond || c.CLSBatch != 4 || c.OriginTime != 10*time.Millisecond {
			t.Errorf("result %d: cls_lookup %v cls_batch %d origin_time %v", i, c.CLSLookup, c.CLSBatch, c.OriginTime)
		}
	}
	if reflect.DeepEqual(rs[0].Nodes, rs[1].Nodes) {
		t.Error("LBLL's threshold T does not change where requests go")
	}

	// Cheaper disks: more throughput for WRR on one node (disk-bound).
	dir := t.TempDir()
	exp := writeFile(t, dir, "c.yaml", "alg: wrr\nnodes: 1\ncache: 1MiB\ncosts:\n  disk_access: [28ms, 1ms]\n")
	rs = readJSON(t, "sim", "-f", exp)
	if len(rs) != 2 || rs[1].Config.Costs.DiskAccess != time.Millisecond || rs[1].ThroughputRPS <= rs[0].ThroughputRPS {
		t.Errorf("disk_access 1ms: %.1f req/s, 28ms: %.1f req/s", rs[1].ThroughputRPS, rs[0].ThroughputRPS)
	}

	// DFLB over WLC via --inner gives the same run as dflb-wlc.
	a := readJSON(t, "sim", "--alg", "dflb", "--inner", "wlc", "--nodes", "3")
	b := readJSON(t, "sim", "--alg", "dflb-wlc", "--nodes", "3")
	if a[0].ThroughputRPS != b[0].ThroughputRPS || !reflect.DeepEqual(a[0].Nodes, b[0].Nodes) {
		t.Errorf("dflb --inner wlc differs from dflb-wlc: %.3f vs %.3f req/s", a[0].ThroughputRPS, b[0].ThroughputRPS)
	}
}

// TestSimNewFlagErrors checks that bad values of the new flags and
// options that cannot work fail before anything runs, naming the flag.
func TestSimNewFlagErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"failure without @", []string{"--failure", "1"}, []string{"--failure", "no @"}},
		{"failure recovering early", []string{"--failure", "1@5s-2s"}, []string{"--failure", "after"}},
		{"failure none mixed", []string{"--failure", "none", "--failure", "1@1s"}, []string{"--failure", `"none"`}},
		{"failure while down", []string{"--failure", "1@1s-5s,1@2s"}, []string{"--failure", "while down"}},
		{"failure outside the cluster", []string{"--nodes", "2", "--failure", "5@1s"},
			[]string{"--failure: failures[0].node: node 5 does not exist with --nodes 2 (nodes are numbered 0..1)"}},
		{"bad health check", []string{"--health-check-delay", "x"}, []string{"--health-check-delay", "duration"}},
		{"negative origin time", []string{"--origin-time", "-1s"}, []string{"--origin-time", ">= 0"}},
		{"zero cls batch", []string{"--cls-batch", "0"}, []string{"--cls-batch", "> 0"}},
		{"bad cls lookup", []string{"--cls-lookup", "20"}, []string{"--cls-lookup", "duration"}},
		{"negative threshold", []string{"--threshold", "-1"}, []string{"--threshold"}},
		{"bad set expiry", []string{"--set-expiry", "5"}, []string{"--set-expiry", "duration"}},
		{"bad epsilon", []string{"--epsilon", "abc"}, []string{"--epsilon", `"abc"`}},
		{"inner unknown", []string{"--inner", "nosuch"}, []string{"--inner", "nosuch"}},
		{"table size not prime", []string{"-f", writeFile(t, dir, "mh.yaml", "alg: mh\nnodes: 2\noptions: {table_size: 100}\n")},
			[]string{"mh", "table size 100"}},
		{"restart_cycle false", []string{"-f", writeFile(t, dir, "rc.yaml", "alg: wrr\noptions: {restart_cycle: false}\n")},
			[]string{"rc.yaml: line 2: options.restart_cycle", "default"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"sim"}, tc.args...)
			if !slices.Contains(tc.args, "-f") {
				args = append(args, "--alg", "wrr")
			}
			_, _, err := execLab(t, args...)
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
