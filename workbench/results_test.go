package workbench

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/sim"
)

// goodResults is the JSON of two real-looking results (sim.WriteJSON).
func goodResults(t testing.TB) []byte {
	t.Helper()
	rs := []*sim.Result{
		{Trace: "x", Config: sim.Config{Algorithm: "wrr", Nodes: 1}, ThroughputRPS: 10, HitRatio: 0.5,
			ResponseCDF: []sim.CDFPoint{{Time: 1e6, Fraction: 0.5}, {Time: 2e6, Fraction: 1}}},
		{Trace: "x", Config: sim.Config{Algorithm: "wrr", Nodes: 4}, ThroughputRPS: 30, HitRatio: 0.6},
	}
	var b bytes.Buffer
	if err := sim.WriteJSON(&b, rs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReadResults: input that is not lvslab results is an error saying so
// and naming what is missing, never results of zero values drawn as a
// "0 nodes" chart; real results read back.
func TestReadResults(t *testing.T) {
	tests := []struct {
		name, in string
		notRes   bool   // the error wraps ErrNotResults
		want     string // in the error; "" for success
	}{
		{"empty object", `[{}]`, true, "r.json: not lvslab results: result 1 lacks trace, config, throughput_rps, hit_ratio"},
		{"foreign object", `[{"foo":1}]`, true, "result 1 lacks trace, config, throughput_rps, hit_ratio"},
		{"second foreign", `[{"trace":"x","config":{"alg":"wrr","nodes":1},"throughput_rps":1,"hit_ratio":0},{"foo":1}]`, true, "result 2 lacks"},
		{"config without alg", `[{"trace":"x","config":{"nodes":3},"throughput_rps":1,"hit_ratio":0}]`, true, "result 1 lacks config.alg"},
		{"config not an object", `[{"trace":"x","config":7,"throughput_rps":1,"hit_ratio":0}]`, true, "config is a number"},
		{"an object", `{"results":[]}`, true, "want a JSON list of results (as lvslab sim -o FILE.json writes), got an object"},
		{"list of numbers", `[1,2]`, true, "result 1 is a number, not a result object"},
		{"null item", `[null]`, true, "result 1 is null"},
		{"not JSON", "alg,nodes\nwrr,1\n", true, "want a JSON list of results"},
		{"empty file", "", true, "empty file"},
		{"no results", `[]`, false, "r.json: no results"},
		{"zero nodes", `[{"trace":"x","config":{"alg":"wrr","nodes":0},"throughput_rps":1,"hit_ratio":0}]`, false, "result 1 (wrr): config.nodes = 0, want at least 1"},
		{"empty alg", `[{"trace":"x","config":{"alg":"","nodes":2},"throughput_rps":1,"hit_ratio":0}]`, false, "result 1: config.alg is empty"},
		{"wrong type", `[{"trace":"x","config":{"alg":"wrr","nodes":"2"},"throughput_rps":1,"hit_ratio":0}]`, false, "result 1: json: cannot unmarshal string"},
		{"real results", string(goodResults(t)), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ReadResults("r.json", strings.NewReader(tt.in))
			if tt.want == "" {
				if err != nil || len(rs) != 2 || rs[1].Config.Nodes != 4 || rs[0].ResponseCDF == nil {
					t.Fatalf("got %v, %v", rs, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.Is(err, ErrNotResults) != tt.notRes {
				t.Fatalf("got %v, want an error containing %q (not results: %v)", err, tt.want, tt.notRes)
			}
		})
	}
}

// TestReadTableNotResults: a CSV that is not a results CSV is an error
// naming the missing columns or the bad row.
func TestReadTableNotResults(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"other CSV", "x,y\n1,2\n", "t.csv: not lvslab results: the CSV header has no alg, nodes, throughput_rps column"},
		{"no throughput", "alg,nodes\nwrr,1\n", "has no throughput_rps column"},
		{"JSON", `[{"alg":"wrr"}]`, "not lvslab results"},
		{"empty alg", "alg,nodes,throughput_rps\n,1,5\n", "t.csv: line 2: empty alg"},
		{"bad nodes", "alg,nodes,throughput_rps\nwrr,1,5\nwrr,,6\n", `t.csv: line 3: nodes "" is not a node count >= 1`},
		{"zero nodes", "alg,nodes,throughput_rps\nwrr,0,5\n", `nodes "0"`},
	}
	for _, tt := range tests {
		if _, err := ReadTable("t.csv", strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestCDFNodesNotDrawn: asking for a CDF at a node count no result has
// one at is an error naming the node counts that have one, before any
// file is written.
func TestCDFNodesNotDrawn(t *testing.T) {
	rs, err := ReadResults("r.json", bytes.NewReader(goodResults(t)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rs   []*sim.Result
		o    PlotOptions
		want string // "" for success
	}{
		{"absent", rs, PlotOptions{CDFNodes: []int{99}}, "no response-time CDF at 99 nodes in r.json (node counts with one: 1)"},
		{"no CDF there", rs, PlotOptions{CDFNodes: []int{1, 4}}, "at 4 nodes"},
		{"other algorithm", rs, PlotOptions{CDFNodes: []int{1}, Algorithms: []string{"lblc"}}, "no result in r.json has one"},
		{"CSV alone", nil, PlotOptions{CDFNodes: []int{1}}, "r.json has none (response-time CDFs are in the JSON results only)"},
		{"present", rs, PlotOptions{CDFNodes: []int{1}}, ""},
		{"default", rs, PlotOptions{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.o.Formats = []string{"svg"}
			files, err := WritePlots(dir, TableFromResults("r.json", rs), tt.rs, tt.o)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNoCDF) || !strings.Contains(err.Error(), tt.want) || len(files) > 0 {
				t.Fatalf("got %v (files %v), want ErrNoCDF containing %q", err, files, tt.want)
			}
		})
	}
}

// FuzzReadResults: no input makes the results readers panic; what they
// accept is results a plot can use (an algorithm, at least one node).
func FuzzReadResults(f *testing.F) {
	f.Add(goodResults(f), false)
	f.Add([]byte(`[{}]`), false)
	f.Add([]byte(`[{"foo":1}]`), false)
	f.Add([]byte(`[{"trace":"x","config":{"alg":"wrr","nodes":1},"throughput_rps":1e400,"hit_ratio":0}]`), false)
	f.Add([]byte(`[{"trace":"x","config":null,"throughput_rps":1,"hit_ratio":0}]`), false)
	f.Add([]byte("alg,nodes,throughput_rps,hit_ratio\nwrr,1,10,0.5\n"), true)
	f.Add([]byte("alg,nodes\n\"x\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		if csv {
			tb, err := ReadTable("f.csv", bytes.NewReader(data))
			if err != nil {
				return
			}
			for i := range tb.Rows {
				if tb.Get(i, "alg") == "" || tb.Get(i, "nodes") == "" || !tb.Has("throughput_rps") {
					t.Fatalf("accepted row %d %q of %q", i, tb.Rows[i], data)
				}
			}
			return
		}
		rs, err := ReadResults("f.json", bytes.NewReader(data))
		if err != nil {
			if len(rs) > 0 {
				t.Fatal("results and an error")
			}
			return
		}
		if len(rs) == 0 {
			t.Fatalf("no results and no error from %q", data)
		}
		for i, r := range rs {
			if r == nil || r.Config.Algorithm == "" || r.Config.Nodes < 1 || math.IsNaN(r.ThroughputRPS) {
				t.Fatalf("accepted result %d %+v of %q", i, r, data)
			}
		}
		_ = TableFromResults("f.json", rs) // must not panic either
	})
}
