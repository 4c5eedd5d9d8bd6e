package workbench

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// TestWritePlots draws the figures of a two-cache sweep and checks the
// files: one set per cache size, suffixed, PNG and SVG, not empty.
// Reference: thesis Fig. 4.2 and 6.5.
func TestWritePlots(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "lblc"}, Nodes: []int{1, 2, 7}, Axes: []Axis{cacheAxis(1<<20, 8<<20)}}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	o, err := Run(cells, s.Workloads, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WritePlots(dir, TableFromResults("sweep", o.Results), o.Results, PlotOptions{Title: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 2000 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	want := []string{
		"throughput_1MiB.png", "throughput_1MiB.svg", "hit-ratio_1MiB.png", "hit-ratio_1MiB.svg", "cdf-n7_1MiB.png", "cdf-n7_1MiB.svg",
		"throughput_8MiB.png", "throughput_8MiB.svg", "hit-ratio_8MiB.png", "hit-ratio_8MiB.svg", "cdf-n7_8MiB.png", "cdf-n7_8MiB.svg",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files:\n%v\nwant:\n%v", names, want)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "throughput_1MiB.svg"))
	for _, text := range []string{"Test: Throughput vs. cluster size", "cache 1MiB/node", "Throughput (requests/s)", "Back-end nodes", "WRR", "LBLC"} {
		if !bytes.Contains(svg, []byte(text)) {
			t.Errorf("throughput SVG lacks %q", text)
		}
	}

	// Drawing twice gives the same bytes.
	dir2 := t.TempDir()
	if _, err := WritePlots(dir2, TableFromResults("sweep", o.Results), o.Results, PlotOptions{Title: "Test"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range want {
		a, _ := os.ReadFile(filepath.Join(dir, n))
		b, _ := os.ReadFile(filepath.Join(dir2, n))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two drawings", n)
		}
	}
}

func TestWritePlotsErrors(t *testing.T) {
	dir := t.TempDir()
	read := func(text string) *Table {
		tb, err := ReadTable("t.csv", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	tests := []struct {
		name string
		t    *Table
		o    PlotOptions
		want string
	}{
		{"no rows", read("alg,nodes,throughput_rps\n"), PlotOptions{}, "no rows"},
		{"duplicate point", read("alg,nodes,throughput_rps\nwrr,1,5\nwrr,1,6\n"), PlotOptions{}, "lines 2 and 3 are both wrr at 1 nodes, with no configuration column"},
		{"not a number", read("alg,nodes,throughput_rps\nwrr,1,x\n"), PlotOptions{}, "line 2: column throughput_rps"},
		{"no throughput column", func() *Table { // ReadTable refuses it: TestReadTableNotResults
			tb := &Table{Name: "t.csv", Header: []string{"alg", "nodes"}, Rows: [][]string{{"wrr", "1"}}}
			tb.index()
			return tb
		}(), PlotOptions{}, `no "throughput_rps" column`},
		{"unknown algorithm", read("alg,nodes,throughput_rps\nwrr,1,5\n"), PlotOptions{Algorithms: []string{"lblc"}}, "no rows for algorithms lblc"},
		{"bad format", read("alg,nodes,throughput_rps\nwrr,1,5\n"), PlotOptions{Formats: []string{"gif"}}, "gif"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WritePlots(dir, tc.t, nil, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ReadTable("e.csv", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "e.csv: empty") {
		t.Errorf("empty CSV: %v", err)
	}
}

func TestTableFromResults(t *testing.T) {
	r := &sim.Result{Trace: "x", Config: sim.Config{Algorithm: "wrr", Nodes: 2}, ThroughputRPS: 12.5}
	tb := TableFromResults("r", []*sim.Result{r})
	if tb.Get(0, "alg") != "wrr" || tb.Get(0, "trace") != "x" {
		t.Errorf("row: %v", tb.Rows[0])
	}
	if v, err := tb.Float(0, "throughput_rps"); err != nil || v != 12.5 {
		t.Errorf("throughput = %v, %v", v, err)
	}
}

func TestTicks(t *testing.T) {
	ticks := plainTicks{}.Ticks(0, 830)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "0 200 400 600 800" {
		t.Errorf("labels %v", labels)
	}
	n := 0
	for _, tk := range (intTicks{}).Ticks(0.5, 16.5) {
		if tk.Label != "" {
			n++
		}
	}
	if n != 16 {
		t.Errorf("%d node labels for 1..16, want 16", n)
	}
}

// FuzzReadTable checks that no CSV makes the table reader or the plotter
// panic.
func FuzzReadTable(f *testing.F) {
	f.Add("alg,nodes,throughput_rps,hit_ratio\nwrr,1,10,0.5\nwrr,2,20,0.6\n")
	f.Add("alg,nodes\n\"unterminated\n")
	f.Add("alg,nodes,throughput_rps\nwrr,NaN,Inf\n")
	f.Add("alg,nodes,throughput_rps,hit_ratio\nwrr,4,10,0.5\nlblc,4,NaN,0.6\n")
	f.Add("alg,nodes,throughput_rps,seed\nwrr,Inf,10,1\nwrr,-1e308,5,2\n")
	f.Add("alg,nodes,throughput_rps,cache_bytes\nwrr,NaN,1,1\nwrr,NaN,2,2\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := ReadTable("f.csv", strings.NewReader(s))
		if err != nil {
			return
		}
		_, _ = WritePlots(dir, tb, nil, PlotOptions{Formats: []string{"svg"}})
	})
}

// fakeResults expands a sweep into resolved configurations (Spec.Cells)
// and gives each a made-up result, without simulating: grouping and naming
// depend only on the configurations.
func fakeResults(t *testing.T, s *Spec) []*sim.Result {
	t.Helper()
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var rs []*sim.Result
	for i, c := range cells {
		rs = append(rs, &sim.Result{Trace: c.Trace, Config: c.Config, ThroughputRPS: float64(100 + 10*c.Config.Nodes + i), HitRatio: 0.5})
	}
	return rs
}

func durationAxis(name string, set func(*sim.Config, time.Duration), ds ...time.Duration) Axis {
	a := Axis{Name: name}
	for _, d := range ds {
		a.Values = append(a.Values, AxisValue{Label: name + "=" + d.String(), Apply: func(c *sim.Config) { set(c, d) }})
	}
	return a
}

var (
	healthAxis = func(ds ...time.Duration) Axis {
		return durationAxis("health-check-delay", func(c *sim.Config, d time.Duration) { c.HealthCheckDelay = d }, ds...)
	}
	expiryAxis = func(ds ...time.Duration) Axis {
		return durationAxis("set-expiry", func(c *sim.Config, d time.Duration) { c.Options.SetExpiry = d }, ds...)
	}
	seedAxis = Axis{Name: "seed", Values: []AxisValue{
		{Label: "seed=2", Apply: func(c *sim.Config) { c.Seed = 2 }},
		{Label: "seed=1", Apply: func(c *sim.Config) { c.Seed = 1 }},
	}}
)

// TestWriteResultPlotsGroups checks that results are grouped by their full
// configuration, whatever parameter was swept (not only the CSV's columns),
// that the groups come in order of the swept values (3s before 10s), that
// their files and titles name the parameters that differ, that a single
// configuration keeps the plain names, and that a single node count adds
// the bar chart. Reference: thesis Fig. 4.2 and 6.5 (one figure per
// configuration).
func TestWriteResultPlotsGroups(t *testing.T) {
	w := workload(t, 3000)
	failure := sim.Config{Failures: []sim.Failure{{Node: 0, At: time.Second, Recover: 5 * time.Second}}}
	tests := []struct {
		name   string
		base   sim.Config
		nodes  []int
		axes   []Axis
		files  []string // SVGs, in order
		titles map[string]string
	}{
		{"one configuration", sim.Config{}, []int{1, 2}, nil,
			[]string{"throughput", "hit-ratio"}, nil},
		{"health_check_delay sorted by value", failure, []int{1, 2}, []Axis{healthAxis(10*time.Second, 3*time.Second)},
			[]string{"throughput_health_check_delay=3s", "hit-ratio_health_check_delay=3s", "throughput_health_check_delay=10s", "hit-ratio_health_check_delay=10s"},
			map[string]string{"throughput_health_check_delay=10s": "health_check_delay=10s"}},
		{"cache keeps the CSV suffix, scheduler option named", sim.Config{}, []int{1, 2}, []Axis{cacheAxis(8<<20, 1<<20), expiryAxis(30*time.Second, time.Minute)},
			[]string{
				"throughput_1MiB_options.set_expiry=30s", "hit-ratio_1MiB_options.set_expiry=30s",
				"throughput_1MiB_options.set_expiry=1m0s", "hit-ratio_1MiB_options.set_expiry=1m0s",
				"throughput_8MiB_options.set_expiry=30s", "hit-ratio_8MiB_options.set_expiry=30s",
				"throughput_8MiB_options.set_expiry=1m0s", "hit-ratio_8MiB_options.set_expiry=1m0s",
			},
			map[string]string{"throughput_8MiB_options.set_expiry=30s": "cache 8MiB/node"}},
		{"seed named", sim.Config{}, []int{1, 2}, []Axis{seedAxis},
			[]string{"throughput_seed=1", "hit-ratio_seed=1", "throughput_seed=2", "hit-ratio_seed=2"},
			map[string]string{"throughput_seed=2": "seed 2"}},
		{"single node count adds bars", failure, []int{4}, []Axis{healthAxis(0, time.Second)},
			[]string{"throughput_health_check_delay=0s", "hit-ratio_health_check_delay=0s", "throughput_health_check_delay=1s", "hit-ratio_health_check_delay=1s", "throughput-bars"},
			map[string]string{"throughput-bars": "Throughput at 4 nodes", "throughput_health_check_delay=1s": "health_check_delay=1s"}},
		{"single configuration, single node count", sim.Config{}, []int{7}, nil,
			[]string{"throughput", "hit-ratio", "throughput-bars"},
			map[string]string{"throughput-bars": "Throughput at 7 nodes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := fakeResults(t, &Spec{Base: tc.base, Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "lblc"}, Nodes: tc.nodes, Axes: tc.axes})
			dir := t.TempDir()
			files, err := WriteResultPlots(dir, "r.json", rs, PlotOptions{Formats: []string{"svg"}})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, strings.TrimSuffix(filepath.Base(f), ".svg"))
			}
			if strings.Join(names, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files:\n%v\nwant:\n%v", names, tc.files)
			}
			for f, text := range tc.titles {
				b, err := os.ReadFile(filepath.Join(dir, f+".svg"))
				if err != nil || !bytes.Contains(b, []byte(text)) {
					t.Errorf("%s.svg lacks %q (%v)", f, text, err)
				}
			}
		})
	}
}

// TestPlotAmbiguity checks the errors for two results of one algorithm
// and node count in one figure: from a CSV without a column for the swept
// parameter (health_check_delay; as written before CSVs had one), an
// ErrAmbiguous naming both lines and pointing to the JSON; from results, a
// run recorded twice. A CSV with the parameter's column draws.
func TestPlotAmbiguity(t *testing.T) {
	w := workload(t, 3000)
	swept := fakeResults(t, &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}, Nodes: []int{1, 2}, Axes: []Axis{healthAxis(0, time.Second)}})
	twice := fakeResults(t, &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}, Nodes: []int{1, 2}})
	twice = append(twice, twice[1])
	// noColumn is the CSV of swept without its health_check_delay column.
	noColumn := func() *Table {
		tab := TableFromResults("r.csv", swept)
		if !tab.Has("health_check_delay") {
			t.Fatalf("CSV header %v: no health_check_delay column", tab.Header)
		}
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		cw.Write(sim.CSVHeader)
		for _, r := range tab.Rows {
			cw.Write(r[:len(sim.CSVHeader)])
		}
		cw.Flush()
		old, err := ReadTable("r.csv", &b)
		if err != nil {
			t.Fatal(err)
		}
		return old
	}
	dir := t.TempDir()
	tests := []struct {
		name      string
		plot      func() error
		want      []string
		ambiguous bool
	}{
		{"CSV of a swept parameter, with its column", func() error {
			_, err := WritePlots(dir, TableFromResults("r.csv", swept), nil, PlotOptions{Formats: []string{"svg"}})
			return err
		}, nil, false},
		{"CSV of a swept parameter, without its column", func() error {
			_, err := WritePlots(dir, noColumn(), nil, PlotOptions{Formats: []string{"svg"}})
			return err
		}, []string{"r.csv: lines 2 and 4 are both wrr at 1 nodes", "trace=small-3000", "cache_bytes=33554432", "no column for", "plot the JSON results instead"}, true},
		{"CSV with CDFs from results", func() error {
			_, err := WritePlots(dir, noColumn(), swept, PlotOptions{Formats: []string{"svg"}})
			return err
		}, []string{"lines 2 and 4"}, true},
		{"CSV with its column and CDFs from results", func() error {
			_, err := WritePlots(dir, TableFromResults("r.csv", swept), swept, PlotOptions{Formats: []string{"svg"}})
			return err
		}, nil, false},
		{"JSON of the same sweep draws", func() error {
			_, err := WriteResultPlots(dir, "r.json", swept, PlotOptions{Formats: []string{"svg"}})
			return err
		}, nil, false},
		{"one run twice in JSON", func() error {
			_, err := WriteResultPlots(dir, "r.json", twice, PlotOptions{Formats: []string{"svg"}})
			return err
		}, []string{"r.json: results 2 and 3 are both wrr at 2 nodes", "recorded twice"}, false},
		{"null result", func() error {
			_, err := WriteResultPlots(dir, "r.json", []*sim.Result{twice[0], nil}, PlotOptions{})
			return err
		}, []string{"r.json: result 2 is null"}, false},
		{"no results", func() error {
			_, err := WriteResultPlots(dir, "r.json", nil, PlotOptions{})
			return err
		}, []string{"r.json: no results"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plot()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if errors.Is(err, ErrAmbiguous) != tc.ambiguous {
				t.Errorf("errors.Is(err, ErrAmbiguous) = %v, want %v", !tc.ambiguous, tc.ambiguous)
			}
		})
	}
}

// Tick labels are round numbers even where the multiples of the step are
// not exact in floating point (3 × 0.2).
func TestPlainTicksLabels(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		want     []string
	}{
		{0, 1, []string{"0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{0, 0.06, []string{"0", "0.01", "0.02", "0.03", "0.04", "0.05", "0.06"}},
		{0, 1500, []string{"0", "500", "1000", "1500"}},
	} {
		var got []string
		for _, tk := range (plainTicks{}).Ticks(tc.min, tc.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Ticks(%v, %v) labels = %q, want %q", tc.min, tc.max, got, tc.want)
		}
	}
}
