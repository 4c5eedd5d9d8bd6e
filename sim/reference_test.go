package sim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// Service times of docs/reference-model.md, in µs, for the sizes used below:
// setup 140; disk 28,000 + 410·⌈size/4096⌉; send 40·⌈size/512⌉ + 140.
//
//	1,000 B:   disk 28,410   send 220   alone (miss) 28,770   hit 360
//	2,000 B:   disk 28,410   send 300   alone (miss) 28,850
//	5,000 B:   disk 28,820   send 540   alone (miss) 29,500
//	100,000 B: disk 38,250   send 7,980
const (
	miss1000 = 28770 * us
	hit1000  = 360 * us
)

// TestReferenceModel replays tiny traces whose every completion time was
// computed by hand from docs/reference-model.md. Reference: thesis §4.3, §6.3.7.
func TestReferenceModel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		w      *traces.Workload
		want   []completion // in completion order
		failed int
	}{
		{
			// Both dispatched at 0. #2's setup queues behind #1's and ends at
			// 280; its lookup misses because #1 inserts the object only when
			// its read ends (28,550). #2's read queues behind #1's:
			// 28,550 → 56,960, send → 57,180; its insert just moves the
			// object to the MRU end.
			name: "one node, same object twice, at once",
			cfg:  Config{Nodes: 1, Algorithm: "wrr"},
			w:    workload([]int64{1000}, 0, 0),
			want: []completion{{0, miss1000, 0, false}, {1, 57180 * us, 0, false}},
		},
		{
			// limit = 1×1: #2 is dispatched when #1 completes, at 28,770
			// (completion first, then dispatch), and hits.
			name: "one node, limit 1, second request hits",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1},
			w:    workload([]int64{1000}, 0, 0),
			want: []completion{{0, miss1000, 0, false}, {1, miss1000 + hit1000, 0, true}},
		},
		{
			// LRU by bytes, cache 2,500 B: A B A C B. C evicts B (A was used
			// after B), so only the second A hits.
			name: "LRU eviction order A B A C B",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1, CacheBytes: 2500},
			w:    workload([]int64{1000, 1000, 1000}, 0, 1, 0, 2, 1),
			want: []completion{
				{0, miss1000, 0, false}, {1, 2 * miss1000, 0, false}, {2, 2*miss1000 + hit1000, 0, true},
				{3, 3*miss1000 + hit1000, 0, false}, {4, 4*miss1000 + hit1000, 0, false},
			},
		},
		{
			// A B C A: C evicts A, the least recently used, so A misses again.
			name: "LRU eviction order A B C A",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1, CacheBytes: 2500},
			w:    workload([]int64{1000, 1000, 1000}, 0, 1, 2, 0),
			want: []completion{
				{0, miss1000, 0, false}, {1, 2 * miss1000, 0, false}, {2, 3 * miss1000, 0, false}, {3, 4 * miss1000, 0, false},
			},
		},
		{
			// Cache 1,000 B: the 2,000-byte object is never cached, the
			// 1,000-byte one (exactly the capacity) is.
			name: "object larger than the cache",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1, CacheBytes: 1000},
			w:    workload([]int64{2000, 1000}, 0, 0, 1, 1),
			want: []completion{
				{0, 28850 * us, 0, false}, {1, 57700 * us, 0, false},
				{2, 57700*us + miss1000, 0, false}, {3, 57700*us + miss1000 + hit1000, 0, true},
			},
		},
		{
			// WRR walks 0, 1, 0. Node 1 serves the 5,000-byte object alone
			// (29,500); node 0 is the first case.
			name: "two nodes, three requests, wrr",
			cfg:  Config{Nodes: 2, Algorithm: "wrr"},
			w:    workload([]int64{1000, 5000}, 0, 1, 0),
			want: []completion{{0, miss1000, 0, false}, {1, 29500 * us, 1, false}, {2, 57180 * us, 0, false}},
		},
		{
			// lc, limit 2×2. At 0: #0→0, #1→1, #2→0 (tie: lowest index),
			// #3→1. #1 completes at 28,770 on node 1; its connection is
			// released before #4 is dispatched, so #4 sees conns 2 vs 1 and
			// goes to node 1 (dispatch first would see a 2-2 tie and pick
			// node 0). Node 1's CPU is idle, so #4's setup ends at 28,910
			// and it hits object 1 (inserted at 28,550): done at 29,130.
			name: "completion then dispatch in the same instant, lc",
			cfg:  Config{Nodes: 2, Algorithm: "lc", High: 2, Low: 1},
			w:    workload([]int64{100000, 1000, 1000, 100000}, 0, 1, 3, 2, 1),
			want: []completion{
				{1, miss1000, 1, false}, {4, 29130 * us, 1, true}, {0, 46370 * us, 0, false},
				{3, 57180 * us, 1, false}, {2, 84620 * us, 0, false},
			},
		},
		{
			// lc with every count equal picks the lowest index: 0, 1, 2, 0.
			name: "lowest index wins ties, lc",
			cfg:  Config{Nodes: 3, Algorithm: "lc"},
			w:    workload([]int64{1000, 1000, 1000, 1000}, 0, 1, 2, 3),
			want: []completion{{0, miss1000, 0, false}, {1, miss1000, 1, false}, {2, miss1000, 2, false}, {3, 57180 * us, 0, false}},
		},
		{
			// lblc: A → least-connection node 0; B → node 1 (0 has 1);
			// A again → its node 0; C → node 2 (counts 2, 1, 0).
			name: "lowest index wins ties, lblc",
			cfg:  Config{Nodes: 3, Algorithm: "lblc"},
			w:    workload([]int64{1000, 1000, 1000}, 0, 1, 0, 2),
			want: []completion{{0, miss1000, 0, false}, {1, miss1000, 1, false}, {3, miss1000, 2, false}, {2, 57180 * us, 0, false}},
		},
		{
			// Node 1 crashes at 1 ms taking #1 with it; the front end knows
			// at once (delay 0). #2 goes to node 0 at 1 ms (setup 1,000 →
			// 1,140, read queued behind #0's: 28,550 → 56,960, send →
			// 57,180); #3 follows #0's completion at 28,770 and reads
			// 56,960 → 85,370, send → 85,590.
			name:   "failure detected at once",
			cfg:    Config{Nodes: 2, Algorithm: "wrr", High: 1, Low: 1, Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			w:      workload([]int64{1000, 1000, 1000, 1000}, 0, 1, 2, 3),
			want:   []completion{{0, miss1000, 0, false}, {2, 57180 * us, 0, false}, {3, 85590 * us, 0, false}},
			failed: 1,
		},
		{
			// Detection takes 10 ms: after #1 is lost at 1 ms, lc sends #2
			// to the crashed node (0 connections), where it holds its
			// place until the 3 s connect timeout. At 10 ms node 1 is
			// known down, so #3 (admitted by #0's completion) goes to
			// node 0; #2 fails at 3.001 s.
			name: "failure not yet detected",
			cfg: Config{Nodes: 2, Algorithm: "lc", High: 1, Low: 1, HealthCheckDelay: 10 * time.Millisecond,
				Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			w:      workload([]int64{1000, 1000, 1000, 1000}, 0, 1, 2, 3),
			want:   []completion{{0, miss1000, 0, false}, {3, 2 * miss1000, 0, false}},
			failed: 2,
		},
		{
			// As above with a 2 ms connect timeout: #2 fails at 3 ms, still
			// before detection (10 ms), so lc sends #3 to the crashed node
			// too (0 connections again), where it fails at 5 ms.
			name: "connect timeout before detection",
			cfg: Config{Nodes: 2, Algorithm: "lc", High: 1, Low: 1, HealthCheckDelay: 10 * time.Millisecond,
				ConnectTimeout: 2 * time.Millisecond, Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			w:      workload([]int64{1000, 1000, 1000, 1000}, 0, 1, 2, 3),
			want:   []completion{{0, miss1000, 0, false}},
			failed: 3,
		},
		{
			// The only node (limit 1) is down from 1 ms to 50 ms: #0 is
			// lost, #1 waits at the head of the queue (ErrNoServer) and
			// starts at 50 ms; #2 follows #1's completion at 78,770.
			name: "every node down, then recovery",
			cfg: Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1,
				Failures: []Failure{{Node: 0, At: time.Millisecond, Recover: 50 * time.Millisecond}}},
			w:      workload([]int64{1000, 1000, 1000}, 0, 1, 2),
			want:   []completion{{1, 50000*us + miss1000, 0, false}, {2, 50000*us + 2*miss1000, 0, false}},
			failed: 1,
		},
		{
			// Object 1 goes to the origin (100 ms); the rest as case 1.
			name: "bypass to the origin",
			cfg:  Config{Nodes: 1, Algorithm: "simtest-bypass"},
			w:    workload([]int64{1000, 1000}, 0, 1, 0),
			want: []completion{{0, miss1000, 0, false}, {2, 57180 * us, 0, false}, {1, 100 * time.Millisecond, -1, false}},
		},
		{
			// A dynamic request costs twice as much and is never cached:
			// 2 × (140 + 28,410 + 220) = 57,540 each.
			name: "dynamic requests",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1},
			w: func() *traces.Workload {
				w := workload([]int64{1000}, 0, 0)
				w.Requests[0].Dynamic, w.Requests[1].Dynamic = true, true
				return w
			}(),
			want: []completion{{0, 57540 * us, 0, false}, {1, 115080 * us, 0, false}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, got := runObserved(t, tc.cfg, tc.w)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("completions\n got %v\nwant %v", got, tc.want)
			}
			if res.Failed != tc.failed {
				t.Errorf("failed = %d, want %d", res.Failed, tc.failed)
			}
			if res.Makespan != tc.want[len(tc.want)-1].at {
				t.Errorf("makespan = %v, want %v", res.Makespan, tc.want[len(tc.want)-1].at)
			}
		})
	}
}

// TestUtilisationAndResponse checks the derived numbers of the first case:
// CPU busy 2×(140+220) µs and disk busy 2×28,410 µs over 57,180 µs;
// response times 28,770 and 57,180 µs.
func TestUtilisationAndResponse(t *testing.T) {
	res, _ := runObserved(t, Config{Nodes: 1, Algorithm: "wrr"}, workload([]int64{1000}, 0, 0))
	n := res.Nodes[0]
	if want := 720.0 / 57180; math.Abs(n.CPUUtil-want) > 1e-12 {
		t.Errorf("cpu util %v, want %v", n.CPUUtil, want)
	}
	if want := 56820.0 / 57180; math.Abs(n.DiskUtil-want) > 1e-12 {
		t.Errorf("disk util %v, want %v", n.DiskUtil, want)
	}
	if res.P50 != miss1000 || res.P99 != 57180*us || res.MeanResponse != (miss1000+57180*us)/2 {
		t.Errorf("p50 %v p99 %v mean %v", res.P50, res.P99, res.MeanResponse)
	}
	if want := 2 / (57180e-6); math.Abs(res.ThroughputRPS-want) > 1e-9 {
		t.Errorf("throughput %v, want %v", res.ThroughputRPS, want)
	}
	if n.Bytes != 2000 || res.ThroughputMBps != 2000/1e6/57180e-6 {
		t.Errorf("bytes %d, MB/s %v", n.Bytes, res.ThroughputMBps)
	}
	if len(res.ResponseCDF) != cdfPoints || res.ResponseCDF[49].Time != miss1000 || res.ResponseCDF[50].Time != 57180*us {
		t.Errorf("CDF around the median: %v %v", res.ResponseCDF[49], res.ResponseCDF[50])
	}
}

// TestOpenAdmission checks arrivals at trace time / Speedup and waiting at
// the front end when the cluster is full.
func TestOpenAdmission(t *testing.T) {
	two := func(at time.Duration) *traces.Workload {
		w := workload([]int64{1000, 1000}, 0, 1)
		w.Requests[1].Time = at
		return w
	}
	for _, tc := range []struct {
		name     string
		cfg      Config
		w        *traces.Workload
		last     time.Duration
		response time.Duration // of request 1
	}{
		{"arrival at trace time", Config{Nodes: 1, Algorithm: "wrr", Admission: "open"}, two(100 * time.Millisecond),
			100*time.Millisecond + miss1000, miss1000},
		{"speedup 2", Config{Nodes: 1, Algorithm: "wrr", Admission: "open", Speedup: 2}, two(100 * time.Millisecond),
			50*time.Millisecond + miss1000, miss1000},
		// limit 1: request 1 arrives at 10 ms, waits until 28,770, then
		// runs alone: response 2×28,770 − 10,000.
		{"waits when full", Config{Nodes: 1, Algorithm: "wrr", Admission: "open", High: 1, Low: 1}, two(10 * time.Millisecond),
			2 * miss1000, 2*miss1000 - 10*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, got := runObserved(t, tc.cfg, tc.w)
			if len(got) != 2 || got[1].at != tc.last {
				t.Fatalf("completions %v, want the last at %v", got, tc.last)
			}
			if res.P99 != tc.response {
				t.Errorf("response of request 1 = %v, want %v", res.P99, tc.response)
			}
		})
	}
}

// TestDFLBMonitor checks the DFLB feedback of docs/reference-model.md: the
// first update at 5 s, load = load×11/12 + conns/12, aggregate 0.95 ×
// load/mean, weight += 5·cbrt(0.95 − aggregate), default weight 10.
// Two nodes, limit 2: node 0 reads a 100 MB object for about 10 s while
// node 1 finishes its request at 28.77 ms, after which WRR sends #2 to
// node 0 too; so at 5 s and 10 s the counts are 2 and 0.
// Reference: thesis §4.2.4, §4.3.
func TestDFLBMonitor(t *testing.T) {
	w := workload([]int64{100_000_000, 1000, 1000}, 0, 1, 2)
	res, got := runObserved(t, Config{Nodes: 2, Algorithm: "dflb", High: 1, Low: 1, Interval: time.Second}, w)
	if got[0].req != 1 || got[0].node != 1 || got[1].node != 0 || got[2].node != 0 {
		t.Fatalf("completions %v: want #1 on node 1 first, then #0 and #2 on node 0", got)
	}
	var l0 float64
	w0, w1 := 10.0, 10.0
	step := func() {
		l0 = l0*11/12 + 2.0/12
		mean := (l0 + 0) / 2
		w0 += 5 * math.Cbrt(0.95-0.95*l0/mean)
		w1 += 5 * math.Cbrt(0.95-0)
	}
	// Sample k is taken at (k+1) s, before the events of that instant.
	check := func(k int, want ...float64) {
		t.Helper()
		if k >= len(res.Series) || !slices.Equal(res.Series[k].Weights, want) {
			t.Errorf("weights at %d s = %v, want %v", k+1, res.Series[k].Weights, want)
		}
	}
	check(0, 10, 10)
	check(4, 10, 10) // at 5 s, before the first monitor tick
	step()
	check(5, w0, w1)
	check(8, w0, w1)
	step()
	check(10, w0, w1)
	if res.Series[5].InFlight != 2 {
		t.Errorf("in flight at 6 s = %d, want 2", res.Series[5].InFlight)
	}
}

// TestNoServerTerminates: a scheduler that never finds a server leaves
// every request unserved, and the run still ends.
func TestNoServerTerminates(t *testing.T) {
	res, got := runObserved(t, Config{Nodes: 2, Algorithm: "simtest-none"}, workload([]int64{10}, 0, 0, 0))
	if len(got) != 0 || res.Unserved != 3 || res.Failed != 3 || res.Completed != 0 || res.ThroughputRPS != 0 {
		t.Fatalf("got %v, result %+v", got, res)
	}
	// Every node down for good, noticed at once: the first request is
	// lost, the rest are never dispatched, and the run ends.
	res, _ = runObserved(t, Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1,
		Failures: []Failure{{Node: 0, At: time.Millisecond}}}, workload([]int64{10}, 0, 0, 0))
	if res.Failed != 3 || res.Unserved != 2 || res.Completed != 0 {
		t.Fatalf("all down: failed %d unserved %d completed %d", res.Failed, res.Unserved, res.Completed)
	}
	// Noticed only after 1 s: the next request is sent to the crashed node
	// and fails at its 3 s connect timeout; by then the node is known to
	// be down, so the last request is never dispatched.
	res, _ = runObserved(t, Config{Nodes: 1, Algorithm: "wrr", High: 1, Low: 1, HealthCheckDelay: time.Second,
		Failures: []Failure{{Node: 0, At: time.Millisecond}}}, workload([]int64{10}, 0, 0, 0))
	if res.Failed != 3 || res.Unserved != 1 || res.Completed != 0 {
		t.Fatalf("all down, undetected: failed %d unserved %d completed %d", res.Failed, res.Unserved, res.Completed)
	}
}

// TestServerLoad checks that the monitor sets Server.Load = conns/High
// (for LBLL) at each tick. In the DFLB scenario above node 0 holds 2
// requests at the 5, 10 and 15 s ticks (#0's 100 MB send occupies its CPU
// from 10.01 s to 17.82 s and #2's send queues behind it), node 1 none.
func TestServerLoad(t *testing.T) {
	cfg, err := Config{Nodes: 2, Algorithm: "dflb", High: 1, Low: 1}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEngine(cfg, workload([]int64{100_000_000, 1000, 1000}, 0, 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	var seen []float64
	e.observe = func(k int, at time.Duration, node int32, hit bool) {
		seen = append(seen, e.pool.At(0).Load)
	}
	if err := e.run(); err != nil {
		t.Fatal(err)
	}
	// Completions: #1 at 28.77 ms (before any tick), then #0 and #2 at
	// about 17.82 s.
	if want := []float64{0, 2, 2}; !slices.Equal(seen, want) {
		t.Errorf("node 0 load at the completions = %v, want %v", seen, want)
	}
	if l := e.pool.At(1).Load; l != 0 {
		t.Errorf("node 1 load = %v, want 0", l)
	}
}
