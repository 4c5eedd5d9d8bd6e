package sim

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/lvslab/lvslab/traces"
)

// benchWorkload is a large synthetic workload shaped like the thesis's
// trace: 37,804 distinct targets (thesis §4.3), 1,000,000 requests.
var benchWorkload = sync.OnceValue(func() *traces.Workload { return synth(1_000_000, 37804, 1) })

// BenchmarkRun measures simulated requests per second of wall time on one
// core, and events per second, for a full run (resolve, engine set-up,
// event loop, metrics) of the thesis preset.
//
//	go test ./sim -run '^$' -bench BenchmarkRun -benchtime 5x -cpu 1
func BenchmarkRun(b *testing.B) {
	w := benchWorkload()
	for _, tc := range []struct {
		alg   string
		nodes int
	}{{"wrr", 16}, {"lblc", 16}, {"dflb", 16}} {
		b.Run(fmt.Sprintf("%s/nodes=%d", tc.alg, tc.nodes), func(b *testing.B) {
			cfg, err := Config{Nodes: tc.nodes, Algorithm: tc.alg}.Resolve()
			if err != nil {
				b.Fatal(err)
			}
			var events uint64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e, err := newEngine(cfg, w)
				if err != nil {
					b.Fatal(err)
				}
				if err := e.run(); err != nil {
					b.Fatal(err)
				}
				res := e.result()
				if res.Completed != len(w.Requests) {
					b.Fatalf("completed %d of %d", res.Completed, len(w.Requests))
				}
				events += *e.seq
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*len(w.Requests))/secs, "req/s")
			b.ReportMetric(float64(events)/secs, "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkMemory measures the heap taken by a simulated node (CPU, disk,
// LRU cache tables for every object of the workload) and, from it, the
// table bytes per object a node can cache.
//
//	go test ./sim -run '^$' -bench BenchmarkMemory -benchtime 1x
func BenchmarkMemory(b *testing.B) {
	w := benchWorkload()
	cfg := func(n int) Config {
		c, err := Config{Nodes: n, Algorithm: "wrr"}.Resolve()
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	heap := func(n int) (uint64, *engine) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e, err := newEngine(cfg(n), w)
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, e
	}
	var perNode float64
	for range b.N {
		m1, e1 := heap(1)
		m17, e17 := heap(17)
		perNode = float64(m17-m1) / 16
		runtime.KeepAlive(e1)
		runtime.KeepAlive(e17)
	}
	b.ReportMetric(perNode, "B/node")
	b.ReportMetric(perNode/float64(len(w.Objects)), "B/object/node")
	b.ReportMetric(0, "ns/op")
}
