package workbench

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// TestSeriesRates checks the points drawn from a time series: one per
// interval at its middle, the count divided by the interval's width; a last
// interval cut by the makespan, or merged into the one before when shorter
// than half an interval; long series merged to at most maxSeriesPoints.
func TestSeriesRates(t *testing.T) {
	sec := time.Second
	samples := func(counts ...int) []sim.Sample {
		var ss []sim.Sample
		for i, c := range counts {
			ss = append(ss, sim.Sample{Start: time.Duration(i) * 10 * sec, Completed: c})
		}
		return ss
	}
	long := make([]int, 2500)
	for i := range long {
		long[i] = i % 3 // 0 1 2 0 1 2...
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		makespan time.Duration
		series   []sim.Sample
		want     plotter.XYs
		wantLen  int // when want is nil
	}{
		{"whole intervals", 10 * sec, 30 * sec, samples(10, 20, 30),
			plotter.XYs{{X: 5, Y: 1}, {X: 15, Y: 2}, {X: 25, Y: 3}}, 0},
		{"last interval ends at the makespan", 10 * sec, 26 * sec, samples(10, 20, 30),
			plotter.XYs{{X: 5, Y: 1}, {X: 15, Y: 2}, {X: 23, Y: 5}}, 0},
		{"a sliver is merged into the interval before", 10 * sec, 22 * sec, samples(10, 20, 6),
			plotter.XYs{{X: 5, Y: 1}, {X: 16, Y: 26.0 / 12}}, 0},
		{"a loss after the makespan keeps whole intervals", 10 * sec, 5 * sec, samples(10, 0, 0),
			plotter.XYs{{X: 5, Y: 1}, {X: 15, Y: 0}, {X: 25, Y: 0}}, 0},
		{"interval from the samples", 0, 20 * sec, samples(10, 20),
			plotter.XYs{{X: 5, Y: 1}, {X: 15, Y: 2}}, 0},
		{"no interval", 0, sec, samples(10), nil, 0},
		{"no series", 10 * sec, sec, nil, nil, 0},
		{"long series merged by 3", 10 * sec, 25000 * sec, samples(long...), nil, 834},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &sim.Result{Config: sim.Config{Interval: tc.interval}, Makespan: tc.makespan, Series: tc.series}
			got := seriesRates(r, func(s *sim.Sample) float64 { return float64(s.Completed) })
			if tc.want == nil && tc.wantLen > 0 {
				if len(got) != tc.wantLen {
					t.Fatalf("%d points, want %d", len(got), tc.wantLen)
				}
				// Buckets 0 1 2 merged: 3 requests per 30 s.
				if got[0] != (plotter.XY{X: 15, Y: 0.1}) || seriesWidth(r) != 30*sec {
					t.Errorf("first point %v, width %v; want {15 0.1}, 30s", got[0], seriesWidth(r))
				}
				return
			}
			if !slices.EqualFunc(got, tc.want, func(a, b plotter.XY) bool {
				return a.X == b.X && (a.Y-b.Y) < 1e-12 && (b.Y-a.Y) < 1e-12
			}) {
				t.Errorf("points %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSeriesRatio checks the hit ratio over time: hits over the requests
// the nodes served (bypassed ones excluded), or over completions when the
// series has no per-node counts (live results); no point where nothing was
// served.
func TestSeriesRatio(t *testing.T) {
	sec := time.Second
	hits := func(s *sim.Sample) float64 { return float64(s.Hits) }
	for _, tc := range []struct {
		name   string
		series []sim.Sample
		want   plotter.XYs
	}{
		{"per-node counts exclude bypassed requests", []sim.Sample{
			{Start: 0, Completed: 10, Hits: 4, NodeCompleted: []int{3, 5}},
			{Start: 10 * sec, Completed: 10, Hits: 5, NodeCompleted: []int{5, 5}},
		}, plotter.XYs{{X: 5, Y: 50}, {X: 15, Y: 50}}},
		{"live: over completions", []sim.Sample{
			{Start: 0, Completed: 10, Hits: 4},
			{Start: 10 * sec, Completed: 8, Hits: 2},
		}, plotter.XYs{{X: 5, Y: 40}, {X: 15, Y: 25}}},
		{"nothing served: no point", []sim.Sample{
			{Start: 0, Completed: 10, Hits: 4, NodeCompleted: []int{10}},
			{Start: 10 * sec, Completed: 3, NodeCompleted: []int{0}},
			{Start: 20 * sec, Completed: 4, Hits: 1, NodeCompleted: []int{4}},
		}, plotter.XYs{{X: 5, Y: 40}, {X: 25, Y: 25}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &sim.Result{Config: sim.Config{Interval: 10 * sec}, Makespan: time.Duration(len(tc.series)) * 10 * sec, Series: tc.series}
			if got := seriesRatio(r, hits, served); !slices.Equal(got, tc.want) {
				t.Errorf("points %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCoincide checks the definition of coinciding lines: the same times
// and values within 0.5% of the larger peak everywhere.
func TestCoincide(t *testing.T) {
	line := func(ys ...float64) plotter.XYs {
		var xys plotter.XYs
		for i, y := range ys {
			xys = append(xys, plotter.XY{X: float64(i), Y: y})
		}
		return xys
	}
	shifted := line(100, 50, 80)
	shifted[1].X = 1.5
	for _, tc := range []struct {
		name string
		a, b plotter.XYs
		want bool
	}{
		{"equal", line(100, 50, 80), line(100, 50, 80), true},
		{"0.4% of the peak apart", line(100, 50, 80), line(100, 50.4, 80), true},
		{"0.6% of the peak apart", line(100, 50, 80), line(100, 50.6, 80), false},
		{"relative to the peak, not the point", line(100, 0, 80), line(100, 0.3, 80), true},
		{"zeros", line(0, 0, 0), line(0, 0, 0), true},
		{"zeros and a loss", line(0, 0, 0), line(0, 1, 0), false},
		{"different lengths", line(100, 50), line(100, 50, 80), false},
		{"different times", line(100, 50, 80), shifted, false},
		{"empty", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := coincide(tc.a, tc.b); got != tc.want {
				t.Errorf("coincide = %v, want %v", got, tc.want)
			}
			if got := coincide(tc.b, tc.a); got != tc.want {
				t.Errorf("coincide (swapped) = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLegendNames(t *testing.T) {
	a := plotter.XYs{{X: 1, Y: 10}, {X: 2, Y: 20}}
	b := plotter.XYs{{X: 1, Y: 10}, {X: 2, Y: 30}}
	got := legendNames([]seriesLine{{"WRR", a}, {"WLC", b}, {"LBLC", a}, {"LC", b}, {"SH", a}})
	want := []string{"WRR", "WLC", "LBLC (= WRR)", "LC (= WLC)", "SH (= WRR)"}
	if !slices.Equal(got, want) {
		t.Errorf("legend %q, want %q", got, want)
	}
}

// The glyphs of different lines fall on different points, so that
// coinciding lines keep their glyphs visible.
func TestMarkers(t *testing.T) {
	xys := make(plotter.XYs, 100)
	for i := range xys {
		xys[i].X = float64(i)
	}
	seen := map[float64]int{}
	for k := range 3 {
		pts := markers(xys, k, 3)
		if len(pts) != 20 && len(pts) != 19 {
			t.Errorf("line %d: %d markers, want about 20", k, len(pts))
		}
		for _, p := range pts {
			if j, ok := seen[p.X]; ok {
				t.Errorf("lines %d and %d both mark x=%v", j, k, p.X)
			}
			seen[p.X] = k
		}
	}
	if n := len(markers(xys[:5], 1, 3)); n != 5 {
		t.Errorf("%d markers on a line of 5 points, want 5", n)
	}
}

// withSeries gives each result a 10-interval time series: completions
// (equal for every scheduler when same is true, else scheduler-dependent),
// per-node completions and, where the configuration has failures, losses.
func withSeries(rs []*sim.Result, same bool) []*sim.Result {
	for _, r := range rs {
		r.Makespan = 10 * r.Config.Interval
		r.Series = nil
		for b := range 10 {
			s := sim.Sample{Start: time.Duration(b) * r.Config.Interval, Completed: 100 + 10*b, NodeCompleted: make([]int, r.Config.Nodes)}
			if !same {
				s.Completed += len(r.Config.Algorithm) * b
			}
			for i := range s.NodeCompleted {
				s.NodeCompleted[i] = s.Completed / r.Config.Nodes
			}
			s.Hits = s.Completed * b / 20
			if len(r.Config.Failures) > 0 && b == 3 {
				s.Failed = 5
				r.Failed += 5
			}
			r.Series = append(r.Series, s)
		}
	}
	return rs
}

// svgTexts returns the text elements of an SVG.
func svgTexts(t *testing.T, b []byte) []string {
	t.Helper()
	var texts []string
	d := xml.NewDecoder(bytes.NewReader(b))
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return texts
		}
		if err != nil {
			t.Fatalf("SVG: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.CharData:
			if in {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			in = false
		}
	}
}

// dataStroke matches the style of a time-series line (and of its legend
// sample): its colour and dashes.
var dataStroke = regexp.MustCompile(`stroke:(#[0-9A-F]{6});stroke-width:1\.2(;stroke-dasharray:[0-9.,]+)?"`)

// TestPlotKinds checks which figures plot draws: time series for a
// configuration run at a single node count or with failures, figures
// against cluster size for several node counts, both for failures at
// several node counts, and what --kind forces. It checks the structure of
// the SVGs: one line per scheduler (each drawn and in the legend, with its
// own colour and dashes), the coincidence note, the failure marks.
func TestPlotKinds(t *testing.T) {
	w := workload(t, 3000)
	failure := sim.Config{Failures: []sim.Failure{{Node: 1, At: 30 * time.Second, Recover: 60 * time.Second}}}
	fake := func(base sim.Config, nodes []int, axes []Axis, same bool) []*sim.Result {
		return withSeries(fakeResults(t, &Spec{Base: base, Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "lblc"}, Nodes: nodes, Axes: axes}), same)
	}
	type svgCheck struct {
		texts []string // in the SVG's text elements
		lines int      // distinct data-line styles, each drawn and in the legend
	}
	for _, tc := range []struct {
		name  string
		rs    []*sim.Result
		kind  string
		files []string
		svgs  map[string]svgCheck
		csv   bool // plot a CSV of rs with rs beside it
	}{
		{"single node count: series", fake(sim.Config{}, []int{4}, nil, false), "",
			[]string{"throughput-time", "hit-ratio-time", "nodes-time-wrr", "nodes-time-lblc", "throughput-bars"},
			map[string]svgCheck{
				"throughput-time": {[]string{"Throughput over time, 4 nodes", "WRR", "LBLC", "Time (s)", "intervals of 10s"}, 2},
				"nodes-time-lblc": {[]string{"Requests completed per node over time, LBLC, 4 nodes", "node 0", "node 3 (= node 0)"}, 4},
				"hit-ratio-time":  {[]string{"Cache hit ratio over time, 4 nodes", "Cluster cache hit ratio (%)", "WRR", "LBLC"}, 2},
			}, false},
		{"coinciding schedulers are named in the legend", fake(sim.Config{}, []int{4}, nil, true), "",
			[]string{"throughput-time", "hit-ratio-time", "nodes-time-wrr", "nodes-time-lblc", "throughput-bars"},
			map[string]svgCheck{"throughput-time": {[]string{"WRR", "LBLC (= WRR)"}, 2}}, false},
		{"replicates at one node count: the first replicate's series", fake(sim.Config{Replicates: 3}, []int{4}, nil, false), "",
			[]string{"throughput-time", "hit-ratio-time", "nodes-time-wrr", "nodes-time-lblc", "throughput-bars"},
			map[string]svgCheck{"throughput-time": {[]string{"Throughput over time, 4 nodes", "replicate 1 of 3"}, 2}}, false},
		{"one node: no per-node figure", fake(sim.Config{}, []int{1}, nil, false), "",
			[]string{"throughput-time", "hit-ratio-time", "throughput-bars"},
			map[string]svgCheck{"throughput-time": {[]string{"Throughput over time, 1 node"}, 2}}, false},
		{"a CSV with its JSON beside", fake(sim.Config{}, []int{4}, nil, false), "",
			[]string{"throughput-time", "hit-ratio-time", "nodes-time-wrr", "nodes-time-lblc", "throughput-bars"},
			map[string]svgCheck{"nodes-time-wrr": {[]string{"Requests completed per node over time, WRR, 4 nodes"}, 4}}, true},
		{"several node counts: size", fake(sim.Config{}, []int{1, 2}, nil, false), "",
			[]string{"throughput", "hit-ratio"}, nil, false},
		{"failures at one node count, swept delay", fake(failure, []int{4}, []Axis{healthAxis(0, time.Second)}, false), "",
			[]string{
				"throughput-time_health_check_delay=0s", "hit-ratio-time_health_check_delay=0s", "failed-time_health_check_delay=0s", "nodes-time-wrr_health_check_delay=0s", "nodes-time-lblc_health_check_delay=0s",
				"throughput-time_health_check_delay=1s", "hit-ratio-time_health_check_delay=1s", "failed-time_health_check_delay=1s", "nodes-time-wrr_health_check_delay=1s", "nodes-time-lblc_health_check_delay=1s",
				"throughput-bars",
			},
			map[string]svgCheck{
				"failed-time_health_check_delay=1s": {[]string{"Failed requests over time, 4 nodes", "health_check_delay=1s", "node 1 down", "node 1 up", "WRR", "LBLC (= WRR)"}, 2},
			}, false},
		{"failures at several node counts: both", fake(failure, []int{2, 4}, nil, false), "",
			[]string{
				"throughput", "hit-ratio",
				"throughput-time-n2", "hit-ratio-time-n2", "failed-time-n2", "nodes-time-wrr-n2", "nodes-time-lblc-n2",
				"throughput-time-n4", "hit-ratio-time-n4", "failed-time-n4", "nodes-time-wrr-n4", "nodes-time-lblc-n4",
			}, nil, false},
		{"--kind size at one node count", fake(sim.Config{}, []int{4}, nil, false), KindSize,
			[]string{"throughput", "hit-ratio", "throughput-bars"}, nil, false},
		{"--kind series at several node counts", fake(sim.Config{}, []int{1, 2}, nil, false), KindSeries,
			[]string{"throughput-time-n1", "hit-ratio-time-n1", "throughput-time-n2", "hit-ratio-time-n2", "nodes-time-wrr-n2", "nodes-time-lblc-n2"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := PlotOptions{Formats: []string{"svg"}, Kind: tc.kind}
			files, err := WriteResultPlots(dir, "r.json", tc.rs, o)
			if tc.csv {
				files, err = WritePlots(dir, TableFromResults("r.csv", tc.rs), tc.rs, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range files {
				names = append(names, strings.TrimSuffix(filepath.Base(f), ".svg"))
			}
			if !slices.Equal(names, tc.files) {
				t.Errorf("files:\n%v\nwant:\n%v", names, tc.files)
			}
			for f, c := range tc.svgs {
				b, err := os.ReadFile(filepath.Join(dir, f+".svg"))
				if err != nil {
					t.Fatal(err)
				}
				texts := svgTexts(t, b)
				for _, s := range c.texts {
					if !slices.ContainsFunc(texts, func(x string) bool { return strings.Contains(x, s) }) {
						t.Errorf("%s.svg: no text %q in %q", f, s, texts)
					}
				}
				styles := map[string]int{}
				for _, m := range dataStroke.FindAllStringSubmatch(string(b), -1) {
					styles[m[1]+m[2]]++
				}
				colours, dashes := map[string]bool{}, map[string]bool{}
				for s, n := range styles {
					if n != 2 {
						t.Errorf("%s.svg: line style %s drawn %d times, want 2 (line and legend)", f, s, n)
					}
					colour, dash, _ := strings.Cut(s, ";")
					colours[colour], dashes[dash] = true, true
				}
				if len(styles) != c.lines || len(colours) != c.lines || len(dashes) != min(c.lines, 4) {
					t.Errorf("%s.svg: line styles %v, want %d lines with their own colours and dashes", f, styles, c.lines)
				}
			}
		})
	}
}

func TestPlotKindErrors(t *testing.T) {
	w := workload(t, 3000)
	rs := fakeResults(t, &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr"}, Nodes: []int{4}})
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		plot func() error
		want string
	}{
		{"series without series", func() error {
			_, err := WriteResultPlots(dir, "r.json", rs, PlotOptions{Formats: []string{"svg"}, Kind: KindSeries})
			return err
		}, "r.json: no time series to draw in configuration trace small-3000, thesis preset, l7, closed, cache 32MiB/node, lru, seed 0 (its results have none)"},
		{"series from a CSV alone", func() error {
			_, err := WritePlots(dir, TableFromResults("r.csv", withSeries(rs, false)), nil, PlotOptions{Formats: []string{"svg"}, Kind: KindSeries})
			return err
		}, "(time series are in the JSON results only)"},
		{"unknown kind", func() error {
			_, err := WriteResultPlots(dir, "r.json", rs, PlotOptions{Formats: []string{"svg"}, Kind: "bars"})
			return err
		}, `unknown kind "bars" (want auto, size, series)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.plot(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzPlotSeries: no results file makes the time-series figures panic;
// they are drawn or refused with an error.
func FuzzPlotSeries(f *testing.F) {
	cfg := `"config":{"preset":"thesis","nodes":2,"alg":"wrr","cache_bytes":1,"cache_policy":"lru","front_end":"l7","admission":"open","interval_ns":1000000000,"seed":1,"failures":[{"node":1,"at_ns":1000000000,"recover_ns":2000000000}]}`
	head := `[{"version":"x","trace":"t",` + cfg + `,"requests":3,"completed":2,"failed":1,"makespan_ns":2500000000,"throughput_rps":1,"hit_ratio":0,`
	f.Add([]byte(head + `"series":[{"start_ns":0,"completed":1,"node_completed":[1,0]},{"start_ns":1000000000,"failed":1,"node_completed":[0,0]},{"start_ns":2000000000,"completed":1,"node_completed":[0,1]}]}]`))
	f.Add([]byte(head + `"series":[{"start_ns":-5,"completed":-1,"node_completed":[1,2,3,4,5]},{"start_ns":9223372036854775807,"completed":7}]}]`))
	f.Add([]byte(head + `"series":[{"start_ns":0},{"start_ns":0}]}]`))
	f.Add([]byte(strings.Replace(head, `"interval_ns":1000000000`, `"interval_ns":-1`, 1) + `"series":[{"start_ns":0,"completed":1}]}]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ReadResults("f.json", bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range rs {
			for _, s := range r.Series {
				if len(s.NodeCompleted) > 64 {
					return // a figure per node: slow, not interesting
				}
			}
		}
		_, _ = WriteResultPlots(dir, "f.json", rs, PlotOptions{Formats: []string{"svg"}, Kind: KindSeries})
	})
}
