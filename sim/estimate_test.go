package sim

import (
	"runtime"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// EstimateMemory is the real cost: what a run holds when its last request
// completes (every response time recorded) is within a quarter of the
// estimate, on workloads where per-request, per-object and per-slot costs
// each dominate in turn.
func TestEstimateMemory(t *testing.T) {
	synth := func(preset string, requests int) *traces.Workload {
		m, err := traces.SynthPreset(preset)
		if err != nil {
			t.Fatal(err)
		}
		m.Requests = requests
		w, err := traces.SynthWorkload(m)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	many := synth("small", 400_000)  // 2,000 objects: responses dominate
	wide := synth("thesis", 100_000) // 37,804 objects: caches dominate
	for _, tc := range []struct {
		name string
		cfg  Config
		w    *traces.Workload
	}{
		{"many requests", Config{Nodes: 2, Algorithm: "wrr"}, many},
		{"many slots", Config{Nodes: 8, Algorithm: "wlc", High: 50_000, Low: 1}, many},
		{"lru caches", Config{Nodes: 64, Algorithm: "wlc"}, wide},
		{"gds caches", Config{Nodes: 64, Algorithm: "wlc", CachePolicy: "gds"}, wide},
		{"distributed", Config{Nodes: 16, Algorithm: "lblc", FrontEnd: FrontEndDistributed, Distributors: 8}, many},
		{"l4 keep-alive", Config{Nodes: 16, Algorithm: "wlc", FrontEnd: FrontEndL4, KeepAlive: 15 * time.Second}, many},
		{"clusters", Config{Nodes: 4, Algorithm: "wlc", Speedup: 100, Clusters: []Cluster{{Share: 1}, {Nodes: 8, Share: 2}},
			Overflow: Overflow{On: true}}, many},
	} {
		t.Run(tc.name, func(t *testing.T) {
			est, err := EstimateMemory(tc.cfg, len(tc.w.Requests), len(tc.w.Objects), len(tc.w.Clients))
			if err != nil {
				t.Fatal(err)
			}
			got := liveBytes(t, tc.cfg, tc.w)
			t.Logf("estimate %d (%+v), allocated %.0f", est.Total(), est, got)
			if e := float64(est.Total()); e < 0.75*got || e > 1.25*got {
				t.Errorf("estimate %.0f bytes, run allocated %.0f", e, got)
			}
		})
	}
}

// An estimate never overflows: absurd sizes saturate.
func TestEstimateMemorySaturates(t *testing.T) {
	est, err := EstimateMemory(Config{Nodes: 1 << 40, Algorithm: "wrr", High: 1 << 40}, 1<<62, 1<<62, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if est.Total() <= 0 || est.Caches <= 0 || est.Other <= 0 {
		t.Fatalf("estimate %+v overflowed", est)
	}
}

// liveBytes runs cfg on w and returns the heap the engine holds at the end
// of the run, before the Result is assembled.
func liveBytes(t *testing.T, cfg Config, w *traces.Workload) float64 {
	t.Helper()
	cfg, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if len(cfg.Clusters) > 0 {
		g, err := newGeo(cfg, w)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.run(); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(g)
		return float64(after.HeapAlloc) - float64(before.HeapAlloc)
	}
	e, err := newEngine(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(e)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}
