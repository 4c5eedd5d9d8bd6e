package traces

import (
	"io"
	"runtime"
	"testing"
)

// live returns the heap that f leaves reachable from *keep.
func live[T any](f func(), keep *T) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(*keep)
	return float64(after.HeapAlloc) - float64(before.HeapAlloc)
}

// allocated returns the bytes f allocates.
func allocated(f func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc - before.TotalAlloc)
}

// The estimates are the real cost: what Synthesize allocates and what a
// Workload holds are within a quarter of them (and a fixed slack for
// small allocations), whether requests or targets dominate.
func TestSynthMemoryEstimates(t *testing.T) {
	const slack = 128 << 10
	thesis, err := SynthPreset("thesis")
	if err != nil {
		t.Fatal(err)
	}
	small, err := SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	manyRequests := small
	manyRequests.Requests = 500_000
	manyTargets := thesis
	manyTargets.Targets, manyTargets.Requests, manyTargets.WorkingSet = 400_000, 400_000, 0
	noCover := manyTargets
	noCover.Cover = false
	for _, tc := range []struct {
		name string
		m    SynthModel
	}{
		{"many requests", manyRequests},
		{"many targets", manyTargets},
		{"many targets, no cover", noCover},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gen float64
			gen = allocated(func() { err = Synthesize(io.Discard, tc.m) })
			if err != nil {
				t.Fatal(err)
			}
			gen -= 256 << 10 // Synthesize's output buffer
			est := float64(tc.m.GeneratorBytes())
			t.Logf("Synthesize: estimate %.0f, allocated %.0f", est, gen)
			if est < 0.75*gen-slack || est > 1.25*gen+slack {
				t.Errorf("GeneratorBytes %.0f, Synthesize allocated %.0f", est, gen)
			}

			var w *Workload
			held := live(func() { w, err = SynthWorkload(tc.m) }, &w)
			if err != nil {
				t.Fatal(err)
			}
			wb := float64(WorkloadBytes(len(w.Requests), len(w.Objects), len(w.Clients)))
			t.Logf("Workload: estimate %.0f, held %.0f (%d requests, %d objects, %d clients)", wb, held, len(w.Requests), len(w.Objects), len(w.Clients))
			if wb < 0.75*held-slack || wb > 1.25*held+slack {
				t.Errorf("WorkloadBytes %.0f, the workload holds %.0f", wb, held)
			}
			// SynthWorkload's peak is the generator and the workload
			// together: never more than estimated, and close to it when
			// every target is requested (Cover).
			peak := float64(tc.m.WorkloadBytes())
			if peak < held+gen-slack || (tc.m.Cover && peak > 1.25*(held+gen)+slack) {
				t.Errorf("SynthModel.WorkloadBytes %.0f, generator and workload %.0f", peak, held+gen)
			}
		})
	}
}

func TestWorkloadBytesSaturates(t *testing.T) {
	m := SynthModel{Requests: 1 << 62, Targets: 1 << 62, Clients: 1 << 62}
	if b := m.WorkloadBytes(); b <= 0 {
		t.Fatalf("WorkloadBytes overflowed: %d", b)
	}
	if b := WorkloadBytes(1<<62, 1<<62, 1<<62); b <= 0 {
		t.Fatalf("WorkloadBytes overflowed: %d", b)
	}
}
