package workbench

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// replicatedRun runs wrr and lblc at 3 and 6 nodes, 4 replicates each, on
// workers workers, and returns the cells and results.
func replicatedRun(t *testing.T, w *traces.Workload, workers int) ([]Cell, []*sim.Result) {
	t.Helper()
	s := &Spec{
		Base:       sim.Config{Seed: 2, CacheBytes: 256 << 10, Replicates: 4, Jitter: 0.01, StartOffset: 0.1},
		Workloads:  []*traces.Workload{w},
		Algorithms: []string{"wrr", "lblc"},
		Nodes:      []int{3, 6},
	}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(cells, s.Workloads, RunOptions{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return cells, out.Results
}

// TestReplicateCells checks that a configuration of N replicates expands
// to replicates 1..N of each cell, innermost, with distinct keys.
func TestReplicateCells(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{Base: sim.Config{Replicates: 3}, Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "lblc"}, Nodes: []int{2}}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	keys := map[string]bool{}
	for _, c := range cells {
		got = append(got, c.String())
		keys[c.Key] = true
	}
	want := []string{
		"wrr n=2 trace=small-3000 replicate=1", "wrr n=2 trace=small-3000 replicate=2", "wrr n=2 trace=small-3000 replicate=3",
		"lblc n=2 trace=small-3000 replicate=1", "lblc n=2 trace=small-3000 replicate=2", "lblc n=2 trace=small-3000 replicate=3",
	}
	if !slices.Equal(got, want) {
		t.Errorf("cells %q, want %q", got, want)
	}
	if len(keys) != len(cells) {
		t.Errorf("%d distinct keys for %d cells", len(keys), len(cells))
	}
	s.Base.Replicates = 1
	if cells, err = s.Cells(); err != nil || len(cells) != 2 || cells[0].Config.Replicate != 0 {
		t.Errorf("replicates 1: %d cells, %v; want the 2 unperturbed cells", len(cells), err)
	}
}

// TestReplicateOutputsIndependentOfWorkers checks that replicated results,
// their CSV with summaries, JSON and table, are byte-identical on 1 and 3
// workers.
func TestReplicateOutputsIndependentOfWorkers(t *testing.T) {
	w := workload(t, 3000)
	var outs [3][]string
	for k, workers := range []int{1, 3} {
		_, rs := replicatedRun(t, w, workers)
		for f, format := range []string{"csv", "json", "table"} {
			var b bytes.Buffer
			if err := WriteResultsTo(&b, format, nil, rs); err != nil {
				t.Fatal(err)
			}
			outs[f] = append(outs[f], b.String())
		}
		_ = k
	}
	for f, o := range outs {
		if o[0] != o[1] {
			t.Errorf("format %d: output differs between 1 and 3 workers", f)
		}
	}
}

// TestReplicateSummaryColumns checks the CSV of replicates: a replicate
// column, and summary columns equal to the statistics of the cell's rows
// as the CSV shows them.
func TestReplicateSummaryColumns(t *testing.T) {
	w := workload(t, 3000)
	_, rs := replicatedRun(t, w, 2)
	var b bytes.Buffer
	if err := WriteCSV(&b, rs, 0.9); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadTable("r.csv", &b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{ReplicateColumn, "throughput_rps_mean", "throughput_rps_sd", "throughput_rps_ci_lo", "hit_ratio_ci_hi", LevelColumn} {
		if !tab.Has(c) {
			t.Fatalf("no column %s in %v", c, tab.Header)
		}
	}
	if len(tab.Rows) != 16 {
		t.Fatalf("%d rows, want 2 schedulers × 2 node counts × 4 replicates", len(tab.Rows))
	}
	for cell := range 4 {
		rows := []int{4 * cell, 4*cell + 1, 4*cell + 2, 4*cell + 3}
		var xs []float64
		for k, i := range rows {
			if got := tab.Get(i, ReplicateColumn); got != strconv.Itoa(k+1) {
				t.Errorf("row %d: replicate %s, want %d", i, got, k+1)
			}
			v, _ := tab.Float(i, "throughput_rps")
			xs = append(xs, v)
		}
		want := stats.Summarize(xs, 0.9)
		for _, i := range rows {
			for col, x := range map[string]float64{"_mean": want.Mean, "_sd": want.SD, "_ci_lo": want.Lo, "_ci_hi": want.Hi} {
				if got := tab.Get(i, "throughput_rps"+col); got != strconv.FormatFloat(x, 'f', 6, 64) {
					t.Errorf("row %d: throughput_rps%s = %s, want %.6f", i, col, got, x)
				}
			}
			if got := tab.Get(i, LevelColumn); got != "0.9" {
				t.Errorf("row %d: ci_level %s", i, got)
			}
		}
	}
	// Plots draw each cell's mean with its interval, from the CSV alone
	// and from the results.
	if _, err := WritePlots(t.TempDir(), tab, nil, PlotOptions{Formats: []string{"svg"}}); err != nil {
		t.Errorf("WritePlots of replicates: %v", err)
	}
	if _, err := WriteResultPlots(t.TempDir(), "r.json", rs, PlotOptions{Formats: []string{"svg"}}); err != nil {
		t.Errorf("WriteResultPlots of replicates: %v", err)
	}
	g := groupRows(tab)
	xys, errs, err := series(tab, g[0], "lblc", "throughput_rps", 1)
	if err != nil || len(xys) != 2 || len(errs) != 2 {
		t.Fatalf("series of replicates: %v, %v, %v; want 2 points with error bars", xys, errs, err)
	}
	var lblc3 []float64
	for i := 8; i < 12; i++ {
		v, _ := tab.Float(i, "throughput_rps")
		lblc3 = append(lblc3, v)
	}
	want := stats.Summarize(lblc3, 0.95)
	if math.Abs(xys[0].Y-want.Mean) > 1e-9 || math.Abs(xys[0].Y-errs[0].Low-want.Lo) > 1e-9 {
		t.Errorf("lblc n=3: point %v - %v, want the mean %v and interval from %v", xys[0], errs[0].Low, want.Mean, want.Lo)
	}

	// The JSON carries the same summary with each replicate.
	var js bytes.Buffer
	if err := WriteJSON(&js, rs, 0.9); err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Summary *CellSummary `json:"summary"`
	}
	if err := json.Unmarshal(js.Bytes(), &items); err != nil {
		t.Fatal(err)
	}
	m, _ := items[5].Summary.Get("throughput_rps")
	if items[5].Summary.Runs != 4 || strconv.FormatFloat(m.Mean, 'f', 6, 64) != tab.Get(5, "throughput_rps_mean") {
		t.Errorf("JSON summary %+v, want 4 runs, mean %s", items[5].Summary, tab.Get(5, "throughput_rps_mean"))
	}
	back, err := ReadResults("r.json", bytes.NewReader(js.Bytes()))
	if err != nil || len(back) != len(rs) {
		t.Fatalf("ReadResults of the JSON with summaries: %d, %v", len(back), err)
	}
}

// TestSweptParamColumns checks that the CSV and the table gain one column
// per swept parameter, named by its experiment key, and none when nothing
// is swept (the CSV is then sim.WriteCSV's, byte for byte).
// runToCSV runs the sweep s on one worker, writes its results as CSV and
// reads the CSV back.
func runToCSV(t *testing.T, s *Spec) (*Outcome, *bytes.Buffer, *Table) {
	t.Helper()
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(cells, s.Workloads, RunOptions{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, out.Results, 0.95); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadTable("results.csv", bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return out, &b, tab
}

func TestSweptParamColumns(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{
		Base:       sim.Config{Failures: []sim.Failure{{Node: 1, At: time.Second, Recover: 3 * time.Second}}},
		Workloads:  []*traces.Workload{w},
		Algorithms: []string{"wrr"},
		Nodes:      []int{2},
		Axes: []Axis{
			{Name: "health-check-delay", Values: []AxisValue{
				{Label: "0s", Apply: func(c *sim.Config) {}},
				{Label: "2s", Apply: func(c *sim.Config) { c.HealthCheckDelay = 2 * time.Second }}}},
			{Name: "costs.disk_access", Values: []AxisValue{
				{Label: "28ms", Apply: func(c *sim.Config) {}},
				{Label: "10ms", Apply: func(c *sim.Config) { c.Costs.DiskAccess = 10 * time.Millisecond }}}},
		},
	}
	out, _, tab := runToCSV(t, s)
	want := append(slices.Clone(sim.CSVHeader), "health_check_delay", "costs.disk_access")
	if !slices.Equal(tab.Header, want) {
		t.Fatalf("header %v, want %v", tab.Header, want)
	}
	var got []string
	for i := range tab.Rows {
		got = append(got, tab.Get(i, "health_check_delay")+"/"+tab.Get(i, "costs.disk_access"))
	}
	if w := []string{"0s/28ms", "0s/10ms", "2s/28ms", "2s/10ms"}; !slices.Equal(got, w) {
		t.Errorf("parameter columns %v, want %v", got, w)
	}
	var tb bytes.Buffer
	if err := WriteTable(&tb, nil, out.Results); err != nil {
		t.Fatal(err)
	}
	if head := strings.Fields(strings.SplitN(tb.String(), "\n", 2)[0]); !slices.Contains(head, "health_check_delay") || !slices.Contains(head, "costs.disk_access") {
		t.Errorf("table header %v lacks the swept parameters", head)
	}

	// Rows that differ only in a swept parameter are told apart by the
	// plots, from the CSV alone.
	if _, err := WritePlots(t.TempDir(), tab, nil, PlotOptions{Formats: []string{"svg"}}); err != nil {
		t.Errorf("WritePlots of the CSV: %v", err)
	}

	one := out.Results[:1]
	var mine, plain bytes.Buffer
	if err := WriteCSV(&mine, one, 0.95); err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteCSV(&plain, one); err != nil {
		t.Fatal(err)
	}
	if mine.String() != plain.String() {
		t.Errorf("one run: CSV differs from sim.WriteCSV:\n%s\n%s", mine.String(), plain.String())
	}
}

// TestSweptGroupsColumn checks the columns of swept node groups and
// slowdowns: node groups get their own column, node_groups (their file
// key, nodes, is the node count's column), both columns hold the values as
// an experiment file writes them, and lvslab compare tells the clusters
// apart from the CSV alone.
func TestSweptGroupsColumn(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{
		Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "wlc"}, Nodes: []int{0},
		Base: sim.Config{Replicates: 2},
		Axes: []Axis{
			{Name: "node-groups", Values: []AxisValue{
				{Label: "node-groups=3", Apply: func(c *sim.Config) { c.Groups = []sim.NodeGroup{{Count: 3}} }},
				{Label: "node-groups=1:speed=2,2", Apply: func(c *sim.Config) {
					c.Groups = []sim.NodeGroup{{Count: 1, CPUSpeed: 2, DiskSpeed: 2}, {Count: 2}}
				}}}},
			{Name: "slowdown", Values: []AxisValue{
				{Label: "slowdown=none", Apply: func(c *sim.Config) {}},
				{Label: "slowdown=0x4@1s-2s", Apply: func(c *sim.Config) {
					c.Slowdowns = []sim.Slowdown{{Node: 0, Factor: 4, From: time.Second, To: 2 * time.Second}}
				}}}},
		},
	}
	_, b, tab := runToCSV(t, s)
	for _, col := range []string{"nodes", "node_groups", "slowdown"} {
		if n := strings.Count(","+strings.SplitN(b.String(), "\n", 2)[0]+",", ","+col+","); n != 1 {
			t.Errorf("the header has %d columns %s, want 1", n, col)
		}
	}
	var got []string
	for i := range tab.Rows {
		got = append(got, tab.Get(i, "nodes")+" "+tab.Get(i, "node_groups")+" "+tab.Get(i, "slowdown"))
	}
	got = slices.Compact(got)
	// The groups as resolved: every field given.
	g1, g2 := "3:speed=1:cache=32MiB:weight=1", "1:speed=2:cache=32MiB:weight=1,2:speed=1:cache=32MiB:weight=1"
	if w := []string{"3 " + g1 + " none", "3 " + g1 + " 0x4@1s-2s", "3 " + g2 + " none", "3 " + g2 + " 0x4@1s-2s"}; !slices.Equal(got, w) {
		t.Errorf("nodes, node_groups, slowdown: %q, want %q", got, w)
	}
	cs, err := CompareSchedulers(tab, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cellNames []string
	for _, c := range cs {
		cellNames = append(cellNames, strings.Join(c.Cell, " "))
	}
	if w := []string{"n=3 node_groups=" + g1 + " slowdown=none", "n=3 node_groups=" + g1 + " slowdown=0x4@1s-2s",
		"n=3 node_groups=" + g2 + " slowdown=none", "n=3 node_groups=" + g2 + " slowdown=0x4@1s-2s"}; !slices.Equal(cellNames, w) {
		t.Errorf("compare's cells %q, want %q", cellNames, w)
	}
}
