package sim

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/traces"
)

var (
	update   = flag.Bool("update", false, "rewrite golden files in testdata/")
	testSeed = flag.Uint64("seed", 1, "seed of synthetic test workloads")
)

const us = time.Microsecond

// workload builds a hand-made workload: objects "/o0", "/o1", ... with the
// given sizes, and one static request per entry of objs, all at time 0.
func workload(sizes []int64, objs ...int32) *traces.Workload {
	w := &traces.Workload{Name: "hand", Clients: []string{"10.0.0.1"}}
	for i, s := range sizes {
		w.Objects = append(w.Objects, traces.Object{Target: fmt.Sprintf("/o%d", i), Size: s})
	}
	for _, o := range objs {
		w.Requests = append(w.Requests, traces.Request{Object: o})
	}
	w.Lines = len(w.Requests)
	return w
}

// synth returns a synthetic workload of n requests over objects targets:
// Zipf-like popularity (math/rand/v2 Zipf, s = 1.2) and lognormal sizes
// (median about 4 KB, capped at 4 MB), timestamps 10 ms apart on average.
// It stands in for traces.SynthWorkload in the simulator's own tests and
// benchmarks, so they do not depend on another package's generator.
func synth(n, objects int, seed uint64) *traces.Workload {
	r := rand.New(rand.NewPCG(seed, 1))
	w := &traces.Workload{Name: fmt.Sprintf("synth-%d-%d-%d", n, objects, seed)}
	w.Objects = make([]traces.Object, objects)
	for i := range w.Objects {
		size := int64(math.Exp(8.3 + 1.3*r.NormFloat64()))
		w.Objects[i] = traces.Object{Target: fmt.Sprintf("/f/%d.html", i), Size: min(max(size, 64), 4<<20)}
	}
	for i := range 256 {
		w.Clients = append(w.Clients, fmt.Sprintf("10.0.%d.%d", i/250, 1+i%250))
	}
	z := rand.NewZipf(r, 1.2, 1, uint64(objects-1))
	w.Requests = make([]traces.Request, n)
	var t time.Duration
	for i := range w.Requests {
		t += time.Duration(r.ExpFloat64() * float64(10*time.Millisecond))
		w.Requests[i] = traces.Request{Object: int32(z.Uint64()), Client: int32(r.IntN(len(w.Clients))), Time: t}
	}
	w.Lines = n
	return w
}

// completion is one observed request completion.
type completion struct {
	req  int
	at   time.Duration
	node int32
	hit  bool
}

// runObserved runs cfg on w and returns the result and every completion
// in completion order.
func runObserved(t *testing.T, cfg Config, w *traces.Workload) (*Result, []completion) {
	t.Helper()
	cfg, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkWorkload(w); err != nil {
		t.Fatal(err)
	}
	e, err := newEngine(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	var got []completion
	e.observe = func(k int, at time.Duration, node int32, hit bool) {
		got = append(got, completion{k, at, node, hit})
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	res := e.result()
	checkInvariants(t, res)
	return res, got
}

// checkInvariants checks what holds for every result.
func checkInvariants(t *testing.T, r *Result) {
	t.Helper()
	if r.Completed+r.Failed != r.Requests {
		t.Errorf("completed %d + failed %d != requests %d", r.Completed, r.Failed, r.Requests)
	}
	served, hits := 0, 0
	for _, n := range r.Nodes {
		served += n.Requests
		hits += n.Hits
		if n.CPUUtil < 0 || n.CPUUtil > 1+1e-9 || n.DiskUtil < 0 || n.DiskUtil > 1+1e-9 {
			t.Errorf("node %d utilisation out of [0,1]: cpu %v disk %v", n.Node, n.CPUUtil, n.DiskUtil)
		}
	}
	if served+r.Bypassed != r.Completed {
		t.Errorf("node requests %d + bypassed %d != completed %d", served, r.Bypassed, r.Completed)
	}
	sc, sh := 0, 0
	for _, s := range r.Series {
		sc += s.Completed
		sh += s.Hits
	}
	if sc != r.Completed || sh != hits {
		t.Errorf("series sums %d completed %d hits, want %d and %d", sc, sh, r.Completed, hits)
	}
	sf := 0
	perNode := make([]int, len(r.Nodes))
	for _, s := range r.Series {
		sf += s.Failed
		if len(s.NodeCompleted) != len(r.Nodes) {
			t.Fatalf("sample at %v has %d node counts, want %d", s.Start, len(s.NodeCompleted), len(r.Nodes))
		}
		for i, c := range s.NodeCompleted {
			perNode[i] += c
		}
	}
	if sf != r.Failed-r.Unserved {
		t.Errorf("series sums %d failed, want failed %d - unserved %d", sf, r.Failed, r.Unserved)
	}
	for i, n := range r.Nodes {
		if perNode[i] != n.Requests {
			t.Errorf("node %d: series sums %d completions, want its %d requests", i, perNode[i], n.Requests)
		}
	}
	if r.Completed > 0 && !(r.P50 <= r.P95 && r.P95 <= r.P99) {
		t.Errorf("percentiles not ordered: %v %v %v", r.P50, r.P95, r.P99)
	}
}

// testScheduler is a scheduler written for these tests: it answers with
// the function's result, so tests can script ErrBypass and ErrNoServer.
type testScheduler struct {
	name string
	fn   func(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error)
}

func (s *testScheduler) Name() string { return s.name }
func (s *testScheduler) Schedule(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	return s.fn(now, r, p)
}

func init() {
	// "simtest-bypass" sends every request whose target (or, without one,
	// as under "l4", client address) ends in "1" to the origin and the rest
	// to node 0; "simtest-none" never finds a server.
	algorithms.Register(algorithms.Info{Name: "simtest-bypass", Description: "sim tests only", New: func(algorithms.Options) (algorithms.Scheduler, error) {
		return &testScheduler{"simtest-bypass", func(_ time.Duration, r *algorithms.Request, _ *algorithms.Pool) (algorithms.ServerID, error) {
			key := r.Key
			if key == "" {
				key = r.Client.String()
			}
			if strings.HasSuffix(key, "1") {
				return 0, algorithms.ErrBypass
			}
			return 0, nil
		}}, nil
	}})
	algorithms.Register(algorithms.Info{Name: "simtest-none", Description: "sim tests only", New: func(algorithms.Options) (algorithms.Scheduler, error) {
		return &testScheduler{"simtest-none", func(time.Duration, *algorithms.Request, *algorithms.Pool) (algorithms.ServerID, error) {
			return 0, algorithms.ErrNoServer
		}}, nil
	}})
}
