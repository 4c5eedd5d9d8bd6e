package workbench

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestTimeScale(t *testing.T) {
	tests := []struct {
		scale       TimeScale
		model, wall time.Duration
		rate, mrate float64
	}{
		{1, 140 * time.Microsecond, 140 * time.Microsecond, 175, 175},
		{2, 28 * time.Millisecond, 14 * time.Millisecond, 1100, 550},
		{2, 60 * time.Second, 30 * time.Second, 2, 1},
		{4, 3 * time.Second, 750 * time.Millisecond, 1000, 250},
		{3, 10 * time.Nanosecond, 3 * time.Nanosecond, 3, 1}, // rounded to the nanosecond
		{1000, 1, 1, 0, 0}, // a positive time stays positive
		{0.5, 10 * time.Second, 20 * time.Second, 100, 200}, // slower than the model
		{2.5, 5 * time.Second, 2 * time.Second, 1000, 400},
	}
	for _, tt := range tests {
		if got := tt.scale.Wall(tt.model); got != tt.wall {
			t.Errorf("TimeScale(%v).Wall(%v) = %v, want %v", tt.scale, tt.model, got, tt.wall)
		}
		if tt.rate != 0 {
			if got := tt.scale.ModelRate(tt.rate); math.Abs(got-tt.mrate) > 1e-9 {
				t.Errorf("TimeScale(%v).ModelRate(%v) = %v, want %v", tt.scale, tt.rate, got, tt.mrate)
			}
		}
		// Model inverts Wall, up to the rounding of Wall.
		if back := tt.scale.Model(tt.scale.Wall(tt.model)); math.Abs(float64(back-tt.model)) > float64(tt.scale) {
			t.Errorf("TimeScale(%v): Model(Wall(%v)) = %v", tt.scale, tt.model, back)
		}
	}
	for _, bad := range []TimeScale{0, -1, TimeScale(math.NaN()), TimeScale(math.Inf(1)), MaxTimeScale * 2} {
		if err := bad.Check(); err == nil {
			t.Errorf("TimeScale(%v).Check() = nil, want an error", bad)
		}
	}
	for _, ok := range []TimeScale{0.5, 1, DefaultTimeScale, MaxTimeScale} {
		if err := ok.Check(); err != nil {
			t.Errorf("TimeScale(%v).Check() = %v", ok, err)
		}
	}
}

// cellsOf makes cells and results for Compare: one per (alg, nodes,
// simulated req/s, live req/s).
func cellsOf(rows []cmpRow) ([]Cell, []*sim.Result, []*sim.Result) {
	var cells []Cell
	var sims, lives []*sim.Result
	for i, r := range rows {
		cfg := sim.Config{Algorithm: r.alg, Nodes: r.nodes, CacheBytes: 48 << 20}
		cells = append(cells, Cell{Index: i, Trace: "synth:small", Config: cfg, Labels: r.labels})
		sims = append(sims, &sim.Result{Trace: "synth:small", Config: cfg, ThroughputRPS: r.sim, HitRatio: 0.5, P95: 2 * time.Second})
		lives = append(lives, &sim.Result{Trace: "synth:small", Config: cfg, ThroughputRPS: r.live, HitRatio: 0.55, P95: 1800 * time.Millisecond})
	}
	return cells, sims, lives
}

type cmpRow struct {
	alg       string
	nodes     int
	sim, live float64
	labels    []string
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name   string
		rows   []cmpRow
		a      Agreement
		misses []string // substrings, one per expected miss, in order
	}{
		{name: "agree", rows: []cmpRow{
			{"wrr", 4, 264.2, 257.7, nil}, {"wlc", 4, 316.5, 314, nil}, {"lblc", 4, 551, 550.5, nil}, {"lblcr", 4, 562, 552.4, nil}}},
		{name: "at the tolerance", rows: []cmpRow{{"wrr", 4, 200, 230, nil}, {"lblc", 4, 400, 340, nil}}},
		{name: "beyond the tolerance", rows: []cmpRow{{"wrr", 4, 200, 231, nil}, {"lblc", 4, 400, 338, nil}},
			misses: []string{"WRR n=4: live throughput 231.0 req/s, +15.5% off the simulated 200.0 (allowed ±15%)",
				"LBLC n=4: live throughput 338.0 req/s, -15.5% off the simulated 400.0"}},
		{name: "a swap beyond the tie margin", rows: []cmpRow{{"wrr", 4, 264, 300, nil}, {"wlc", 4, 316, 290, nil}},
			misses: []string{"ranking n=4: WLC is above WRR in the simulation (by more than 5%), not live"}},
		{name: "a swap within the tie margin", rows: []cmpRow{{"lblc", 4, 551, 552.4, nil}, {"lblcr", 4, 562, 550.5, nil}}},
		{name: "a wider tie margin", a: Agreement{TieMargin: 0.25}, rows: []cmpRow{{"wrr", 4, 264, 300, nil}, {"wlc", 4, 316, 290, nil}}},
		{name: "a wider tolerance", a: Agreement{Tolerance: 0.3}, rows: []cmpRow{{"wrr", 4, 200, 255, nil}}},
		{name: "rankings per node count", rows: []cmpRow{
			{"wrr", 1, 100, 100, nil}, {"wrr", 4, 300, 300, nil}, {"lblc", 1, 90, 95, nil}, {"lblc", 4, 500, 490, nil}}},
		{name: "a swap at one node count", rows: []cmpRow{
			{"wrr", 1, 100, 90, nil}, {"wrr", 4, 300, 300, nil}, {"lblc", 1, 85, 92, nil}, {"lblc", 4, 500, 490, nil}},
			misses: []string{"ranking n=1: WRR is above LBLC"}},
		{name: "rankings per swept value", rows: []cmpRow{
			{"wrr", 4, 100, 110, []string{"cache=8MiB"}}, {"lblc", 4, 150, 140, []string{"cache=8MiB"}},
			{"wrr", 4, 300, 270, []string{"cache=48MiB"}}, {"lblc", 4, 260, 285, []string{"cache=48MiB"}}},
			misses: []string{"ranking n=4 cache=48MiB: WRR is above LBLC"}},
		{name: "a simulated throughput of 0", rows: []cmpRow{{"wrr", 4, 0, 10, nil}},
			misses: []string{"WRR n=4: the simulated throughput is 0: nothing to compare the live 10.0 req/s with"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells, sims, lives := cellsOf(tt.rows)
			v, err := Compare(cells, sims, lives, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			got := v.Misses()
			if len(got) != len(tt.misses) {
				t.Fatalf("misses:\n  %s\nwant %d: %q", strings.Join(got, "\n  "), len(tt.misses), tt.misses)
			}
			for i, m := range tt.misses {
				if !strings.Contains(got[i], m) {
					t.Errorf("miss %d = %q, want it to contain %q", i, got[i], m)
				}
			}
			if (v.Err() == nil) != (len(tt.misses) == 0) {
				t.Errorf("Err() = %v with %d misses", v.Err(), len(got))
			}
		})
	}
}

func TestCompareRejects(t *testing.T) {
	cells, sims, lives := cellsOf([]cmpRow{{"wrr", 4, 100, 100, nil}, {"wlc", 4, 100, 100, nil}})
	if _, err := Compare(cells, sims, lives[:1], Agreement{}); err == nil {
		t.Error("Compare with fewer live results than cells: no error")
	}
	lives[1] = nil
	if _, err := Compare(cells, sims, lives, Agreement{}); err == nil || !strings.Contains(err.Error(), "wlc n=4") {
		t.Errorf("Compare with a missing result: %v, want an error naming the cell", err)
	}
	for _, a := range []Agreement{{Tolerance: -0.1}, {Tolerance: 1.5}, {TieMargin: 1}, {Tolerance: math.NaN()}} {
		if _, err := a.Resolve(); err == nil {
			t.Errorf("Agreement%+v.Resolve() = nil, want an error", a)
		}
	}
}

func TestRankText(t *testing.T) {
	rs := []Ranked{{"LBLC/R", 562}, {"LBLC", 551}, {"WLC", 316.5}, {"WRR", 305}, {"RR", 100}}
	if got, want := rankText(rs, 0.05), "LBLC/R ≈ LBLC > WLC ≈ WRR > RR"; got != want {
		t.Errorf("rankText = %q, want %q", got, want)
	}
	if got, want := rankText(rs, 0.01), "LBLC/R > LBLC > WLC > WRR > RR"; got != want {
		t.Errorf("rankText = %q, want %q", got, want)
	}
}

// TestValidationReport checks the report against a golden file
// (go test -run TestValidationReport -update rewrites it).
func TestValidationReport(t *testing.T) {
	for _, tt := range []struct {
		name string
		rows []cmpRow
	}{
		{"report-met", []cmpRow{{"wrr", 4, 264.2, 257.7, nil}, {"wlc", 4, 316.5, 314, nil}, {"lblc", 4, 551, 550.5, nil}, {"lblcr", 4, 562, 552.4, nil}}},
		{"report-missed", []cmpRow{
			{"wrr", 4, 264.2, 330, []string{"cache=48MiB"}}, {"lblc", 4, 551, 320, []string{"cache=48MiB"}},
			{"wrr", 4, 100, 100, []string{"cache=8MiB"}}, {"lblc", 4, 150, 160, []string{"cache=8MiB"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cells, sims, lives := cellsOf(tt.rows)
			lives[0].Failed = 3
			v, err := Compare(cells, sims, lives, Agreement{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := v.WriteReport(&buf, ReportInfo{TimeScale: 2, Requests: 6000}); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run TestValidationReport -update writes it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("report:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

func TestTraceWithRequests(t *testing.T) {
	w := &traces.Workload{Name: "w", Objects: []traces.Object{{Target: "/a", Size: 10}, {Target: "/b", Size: 20}},
		Requests: make([]traces.Request, 5)}
	for _, tt := range []struct{ n, want int }{{0, 5}, {5, 5}, {9, 5}, {3, 3}, {1, 1}} {
		got := TraceWithRequests(w, tt.n)
		if len(got.Requests) != tt.want || len(got.Objects) != 2 || got.Name != "w" {
			t.Errorf("TraceWithRequests(%d): %d requests, %d objects, name %q", tt.n, len(got.Requests), len(got.Objects), got.Name)
		}
	}
	if cut := TraceWithRequests(w, 3); len(w.Requests) != 5 || cap(cut.Requests) != 3 {
		t.Errorf("cutting changed the workload (%d requests) or left room to append into it (cap %d)", len(w.Requests), cap(cut.Requests))
	}
}
