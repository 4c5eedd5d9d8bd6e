package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// tracesTestdata is the traces package's testdata folder.
var tracesTestdata = filepath.Join("..", "..", "traces", "testdata")

func traceTD(name string) string { return filepath.Join(tracesTestdata, name) }

// runLvslab executes the root command with args and returns stdout, stderr
// and the error.
func runTrace(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

// TestTraceStatsGolden: "trace stats --json" on the testdata slices equals
// the golden files of the traces package (docs/reference-model.md filters).
func TestTraceStatsGolden(t *testing.T) {
	for _, name := range []string{"antlr-slice", "semicomplete-slice"} {
		out, stderr, err := runTrace(t, "trace", "stats", "--json", traceTD(name+".log"))
		if err != nil {
			t.Fatalf("%s: %v (%s)", name, err, stderr)
		}
		want, err := os.ReadFile(traceTD(name + ".stats.json"))
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s: output differs from %s:\n%s", name, traceTD(name+".stats.json"), out)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"lines", "parsed", "errors", "kept", "targets", "working_set_bytes"} {
			if _, ok := m[key]; !ok {
				t.Errorf("%s: JSON lacks %q", name, key)
			}
		}
	}
}

func TestTraceStatsFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		kept    float64
		stderr  string
		dropped map[string]float64
	}{
		{"reference", []string{"trace", "stats", "--json", traceTD("odd.log")}, 8,
			"odd.log:13: no [time] field\n", map[string]float64{"malformed": 5, "method": 1, "status": 1, "bytes": 1, "dynamic": 2}},
		{"all", []string{"trace", "stats", "--json", "--all", traceTD("odd.log")}, 13, "", map[string]float64{"malformed": 5}},
		{"all but status", []string{"trace", "stats", "--json", "--all", "--status", "200,304", traceTD("odd.log")}, 13, "", map[string]float64{"malformed": 5}},
		{"methods and bytes", []string{"trace", "stats", "--json", "--method", "get,post", "--status", "any", "--min-bytes", "0", "--max-bytes", "1KiB", "--keep-dynamic", traceTD("odd.log")}, 9, "",
			map[string]float64{"malformed": 5, "bytes": 4}},
		{"dynamic pattern", []string{"trace", "stats", "--json", "--dynamic-pattern", "nepal", traceTD("odd.log")}, 7, "",
			map[string]float64{"malformed": 5, "method": 1, "status": 1, "bytes": 1, "dynamic": 3}},
		{"window", []string{"trace", "stats", "--json", "--from", "02/Sep/2003:00:00:12 -0700", "--to", "2003-09-02T00:00:14-07:00", traceTD("odd.log")}, 2, "",
			map[string]float64{"malformed": 5, "method": 1, "status": 1, "bytes": 1, "dynamic": 2, "window": 6}},
		{"errors shown", []string{"trace", "stats", "--json", "--errors", "2", traceTD("odd.log")}, 8,
			"odd.log:13: no [time] field\n" + traceTD("odd.log") + ":14: bad [time] field\n... and 3 more lines that do not parse\n", nil},
		{"csv", []string{"trace", "stats", "--json", "--format", "csv", "--header", "--columns", "host=1,date=2,time=3,url=5+6+7,status=8,bytes=9", traceTD("edgar.csv")}, 5, "edgar.csv:8: column 3:",
			map[string]float64{"malformed": 2, "status": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runTrace(t, tt.args...)
			if err != nil {
				t.Fatalf("%v (%s)", err, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderr)
			}
			var s struct {
				Lines   float64            `json:"lines"`
				Kept    float64            `json:"kept"`
				Dropped map[string]float64 `json:"dropped"`
			}
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatal(err)
			}
			if s.Kept != tt.kept || (tt.dropped != nil && !traceEqualMaps(s.Dropped, tt.dropped)) {
				t.Errorf("kept %v dropped %v; want %v, %v", s.Kept, s.Dropped, tt.kept, tt.dropped)
			}
		})
	}
}

func traceEqualMaps(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTraceErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"trace", "stats", "--strict", traceTD("odd.log")}, "odd.log:13: no [time] field"},
		{[]string{"trace", "stats", traceTD("truncated.log.gz")}, "truncated.log.gz: truncated gzip stream"},
		{[]string{"trace", "stats", traceTD("no-such.log")}, "no-such.log"},
		{[]string{"trace", "stats", "--status", "ok", traceTD("odd.log")}, `--status "ok"`},
		{[]string{"trace", "stats", "--min-bytes", "1XB", traceTD("odd.log")}, "--min-bytes"},
		{[]string{"trace", "stats", "--min-bytes", "2KiB", "--max-bytes", "1KiB", traceTD("odd.log")}, "above --max-bytes"},
		{[]string{"trace", "stats", "--from", "yesterday", traceTD("odd.log")}, `--from "yesterday"`},
		{[]string{"trace", "stats", "--format", "xml", traceTD("odd.log")}, `--format "xml"`},
		{[]string{"trace", "stats", "--format", "csv", traceTD("edgar.csv")}, "needs --columns"},
		{[]string{"trace", "stats", "--columns", "url=1", traceTD("odd.log")}, "--columns needs --format csv"},
		{[]string{"trace", "stats", "--format", "csv", "--columns", "bytes=1", traceTD("edgar.csv")}, "needs url=N"},
		{[]string{"trace", "hrc", "--sizes", "1MiB,zero", traceTD("odd.log")}, "--sizes"},
		{[]string{"trace", "hrc", "--sizes", "0", traceTD("odd.log")}, "not positive"},
		{[]string{"trace", "hrc", "--json", "--csv", traceTD("odd.log")}, "exclusive"},
		{[]string{"trace", "convert", traceTD("odd.log")}, "-o OUT is required"},
	}
	for _, tt := range tests {
		_, _, err := runTrace(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestTraceStatsText(t *testing.T) {
	out, _, err := runTrace(t, "trace", "stats", traceTD("antlr-slice.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"trace:                 antlr-slice.log (combined)", "lines:                 300", "kept:                  247", "targets:               64", "working set:           4399874"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestTraceDefault: with no file the built-in trace is read.
func TestTraceDefault(t *testing.T) {
	out, _, err := runTrace(t, "trace", "stats", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"name": "antlr-2003.log.gz"`) || !strings.Contains(out, `"lines": 6211`) {
		t.Errorf("default trace stats:\n%s", out)
	}
}

func TestTraceHRC(t *testing.T) {
	w, err := traces.Load([]string{traceTD("semicomplete-slice.log")}, traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	want, err := traces.HitRatioCurve(w, []int64{1 << 20, 4 << 20, 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runTrace(t, "trace", "hrc", "--json", "--sizes", "4MiB,1MiB,16777216", traceTD("semicomplete-slice.log"))
	if err != nil {
		t.Fatal(err)
	}
	var rep workbench.HRCReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Points) != 3 || rep.Requests != len(w.Requests) || rep.WorkingSetBytes != w.WorkingSet() || rep.Name != "semicomplete-slice.log" {
		t.Fatalf("report %+v", rep)
	}
	for i := range want {
		if rep.Points[i] != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, rep.Points[i], want[i])
		}
	}
	csvOut, _, err := runTrace(t, "trace", "hrc", "--csv", "--sizes", "1MiB,4MiB,16MiB", traceTD("semicomplete-slice.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut), "\n")
	if len(lines) != 4 || lines[0] != "cache_bytes,requests,hits,hit_ratio,byte_hit_ratio" || !strings.HasPrefix(lines[1], "1048576,") {
		t.Errorf("csv:\n%s", csvOut)
	}
	text, _, err := runTrace(t, "trace", "hrc", traceTD("semicomplete-slice.log"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(text), "\n")
	if len(rows) != 2+len(traces.DefaultHRCSizes(w.WorkingSet())) || !strings.Contains(rows[2], "64KiB") {
		t.Errorf("text:\n%s", text)
	}
}

// TestTraceConvert: converting a CSV log to CLF (gzip) keeps the same
// workload; converting CLF to plain CLF is stable.
func TestTraceConvert(t *testing.T) {
	dir := t.TempDir()
	csvArgs := []string{"--format", "csv", "--header", "--columns", "host=1,date=2,time=3,url=5+6+7,status=8,bytes=9"}
	out := filepath.Join(dir, "edgar.log.gz")
	_, stderr, err := runTrace(t, append(append([]string{"trace", "convert"}, csvArgs...), traceTD("edgar.csv"), "-o", out)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "wrote 5 of 8 lines to") {
		t.Errorf("stderr %q", stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil || !traces.IsGzip(raw) {
		t.Fatalf("output is not gzip: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.SplitN(string(text), "\n", 2)[0]
	if want := `101.81.133.jja - - [30/Jun/2017:00:00:00 +0000] "GET /1608552.0/0001047469-17-004337/-index.htm" 200 9197`; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
	f := traces.ReferenceFilter()
	f.Format = traces.Format{Kind: "csv", Header: true}
	f.Format.Columns, _ = traces.ParseColumns("host=1,date=2,time=3,url=5+6+7,status=8,bytes=9")
	a, err := traces.Load([]string{traceTD("edgar.csv")}, f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := traces.Load([]string{out}, traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Requests) != len(b.Requests) || a.WorkingSet() != b.WorkingSet() || len(a.Objects) != len(b.Objects) {
		t.Errorf("converted workload differs: %d/%d requests, %d/%d bytes", len(a.Requests), len(b.Requests), a.WorkingSet(), b.WorkingSet())
	}
	for i := range a.Requests {
		if a.Requests[i] != b.Requests[i] {
			t.Errorf("request %d: %+v vs %+v", i, a.Requests[i], b.Requests[i])
		}
	}

	// CLF -> CLF to stdout, then again: a fixed point.
	once, _, err := runTrace(t, "trace", "convert", "--all", traceTD("odd.log"), "-o", "-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "once.log")
	if err := os.WriteFile(p, []byte(once), 0o644); err != nil {
		t.Fatal(err)
	}
	twice, _, err := runTrace(t, "trace", "convert", "--all", p, "-o", "-")
	if err != nil {
		t.Fatal(err)
	}
	if once != twice || strings.Count(once, "\n") != 13 {
		t.Errorf("convert is not stable:\n%s\n---\n%s", once, twice)
	}
	// A failed conversion leaves no file behind.
	bad := filepath.Join(dir, "bad.log")
	if _, _, err := runTrace(t, "trace", "convert", traceTD("truncated.log.gz"), "-o", bad); err == nil {
		t.Error("truncated input converted")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("partial output left: %v", err)
	}
}
