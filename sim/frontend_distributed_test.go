package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces"
)

// TestDistributedCLS checks the CLS's lookup cost and batching rule on
// hand-computed traces. Reference: thesis §7.3 (fig. 7.3), §7.3.2
// (batched lookups, ~50,000 lookups/s). Requests are 512-byte misses
// (28,730 µs of service once at their node), all admitted at 0 (closed
// loop); "simtest-fe-rr" gives nodes 0, 1, 2, ... in call order.
func TestDistributedCLS(t *testing.T) {
	reqs := func(n int) []traces.Request {
		r := make([]traces.Request, n)
		for i := range r {
			r[i] = traces.Request{Object: int32(i)}
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		cfg       Config
		n         int             // requests (and nodes)
		callTimes []time.Duration // CLS answer times, in call order
		callKeys  []string
		want      []completion
	}{
		{
			// One distributor, one lookup per message: the CLS answers at
			// 20, 40, 60 µs (stop-and-wait).
			name:      "one distributor, no batching",
			cfg:       Config{Distributors: 1, CLSLookup: 20 * us, CLSBatch: 1},
			n:         3,
			callTimes: []time.Duration{20 * us, 40 * us, 60 * us},
			callKeys:  []string{"/o0", "/o1", "/o2"},
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + miss512, 1, false},
				{2, 60*us + miss512, 2, false},
			},
		},
		{
			// Batch 2: #0 goes alone (nothing outstanding); #1 and #2 wait
			// for its answer and go together, answered at 40 µs.
			name:      "one distributor, batches of 2",
			cfg:       Config{Distributors: 1, CLSLookup: 20 * us, CLSBatch: 2},
			n:         3,
			callTimes: []time.Duration{20 * us, 40 * us, 40 * us},
			callKeys:  []string{"/o0", "/o1", "/o2"},
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + miss512, 1, false},
				{2, 40*us + miss512, 2, false},
			},
		},
		{
			// Two distributors (round-robin: d0 #0 #2 #4, d1 #1 #3), batch 2.
			// CLS: d0 [#0] 0-20; d1 [#1] 20-40; d0 [#2 #4] sent at 20,
			// 40-60; d1 [#3] sent at 40, 60-80.
			name:      "two distributors, batches of 2",
			cfg:       Config{Distributors: 2, CLSLookup: 20 * us, CLSBatch: 2},
			n:         5,
			callTimes: []time.Duration{20 * us, 40 * us, 60 * us, 60 * us, 80 * us},
			callKeys:  []string{"/o0", "/o1", "/o2", "/o4", "/o3"},
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + miss512, 1, false},
				{2, 60*us + miss512, 2, false},
				{3, 80*us + miss512, 4, false},
				{4, 60*us + miss512, 3, false},
			},
		},
		{
			// Defaults: 4 distributors, 20 µs, batch 1. d0 [#0] 0-20,
			// d1 20-40, d2 40-60, d3 60-80, d0 [#4] (sent at 20) 80-100.
			name:      "defaults",
			cfg:       Config{},
			n:         5,
			callTimes: []time.Duration{20 * us, 40 * us, 60 * us, 80 * us, 100 * us},
			callKeys:  []string{"/o0", "/o1", "/o2", "/o3", "/o4"},
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + miss512, 1, false},
				{2, 60*us + miss512, 2, false},
				{3, 80*us + miss512, 3, false},
				{4, 100*us + miss512, 4, false},
			},
		},
		{
			// A slow CLS (1 ms per message), one distributor, batch 8:
			// #0 alone 0-1 ms, #1..#5 together 1-2 ms.
			name:      "slow CLS fills the batch",
			cfg:       Config{Distributors: 1, CLSLookup: time.Millisecond, CLSBatch: 8},
			n:         6,
			callTimes: []time.Duration{1000 * us, 2000 * us, 2000 * us, 2000 * us, 2000 * us, 2000 * us},
			callKeys:  []string{"/o0", "/o1", "/o2", "/o3", "/o4", "/o5"},
			want: []completion{
				{0, 1000*us + miss512, 0, false},
				{1, 2000*us + miss512, 1, false},
				{2, 2000*us + miss512, 2, false},
				{3, 2000*us + miss512, 3, false},
				{4, 2000*us + miss512, 4, false},
				{5, 2000*us + miss512, 5, false},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Nodes, cfg.Algorithm, cfg.FrontEnd = tc.n, "simtest-fe-rr", FrontEndDistributed
			_, got := feRun(t, cfg, timedWorkload(tc.n, reqs(tc.n)...))
			checkCompletions(t, got, tc.want)
			var times []time.Duration
			var keys []string
			for _, c := range feLog {
				times = append(times, c.at)
				keys = append(keys, c.key)
				if c.hasLocal || c.client != "192.0.2.1" || c.cost != 1 {
					t.Errorf("call %+v: want no local node, client 192.0.2.1, cost 1", c)
				}
			}
			if !slices.Equal(times, tc.callTimes) || !slices.Equal(keys, tc.callKeys) {
				t.Errorf("CLS answers at %v for %v, want %v for %v", times, keys, tc.callTimes, tc.callKeys)
			}
		})
	}
}

// TestDistributedLoad: the CLS sees Server.Load = Active/High after every
// dispatch and departure (thesis §7.3.1: LBLL reads the monitored load).
func TestDistributedLoad(t *testing.T) {
	w := timedWorkload(3, traces.Request{Object: 0}, traces.Request{Object: 1}, traces.Request{Object: 2, Time: 40 * time.Millisecond})
	cfg := Config{Nodes: 2, Algorithm: "simtest-fe-rr", FrontEnd: FrontEndDistributed, Distributors: 1, Admission: AdmissionOpen}
	feRun(t, cfg, w)
	want := [][]float64{{0, 0}, {1.0 / 60, 0}, {0, 0}} // #2 at 40 ms: both done (28.75, 28.77 ms)
	if len(feLog) != len(want) {
		t.Fatalf("%d calls, want %d", len(feLog), len(want))
	}
	for i, c := range feLog {
		if !slices.Equal(c.load, want[i]) {
			t.Errorf("call %d at %v: loads %v, want %v", i, c.at, c.load, want[i])
		}
	}
}

// TestDistributedRefusal: a lookup the CLS refuses (ErrNoServer) is held
// by its distributor and asked again once the pool changes; if nothing
// can change any more, the held requests fail and the run ends.
func TestDistributedRefusal(t *testing.T) {
	t.Run("retry after recovery", func(t *testing.T) {
		// Node 0 is down (and detected) from 0 to 1 s. #0 and #1 are
		// refused at 20 and 40 µs and held; the poll at 5 s + 20 µs sees the
		// pool changed and asks again: answers at 5.00004 and 5.00006 s.
		// On node 0: #0 setup to 5.00018, read to 5.02859, send to
		// 5.02877; #1 setup 5.00018-5.00032, read 5.02859-5.05700, send
		// to 5.05718.
		cfg := Config{Nodes: 1, Algorithm: "simtest-fe-rr", FrontEnd: FrontEndDistributed, Distributors: 1,
			Failures: []Failure{{Node: 0, At: 0, Recover: time.Second}}}
		res, got := feRun(t, cfg, timedWorkload(2, traces.Request{Object: 0}, traces.Request{Object: 1}))
		checkCompletions(t, got, []completion{
			{0, 5*time.Second + 28770*us, 0, false},
			{1, 5*time.Second + 57180*us, 0, false},
		})
		var times []time.Duration
		for _, c := range feLog {
			times = append(times, c.at)
		}
		if want := []time.Duration{20 * us, 40 * us, 5*time.Second + 40*us, 5*time.Second + 60*us}; !slices.Equal(times, want) {
			t.Errorf("CLS answers at %v, want %v", times, want)
		}
		if res.Failed != 0 {
			t.Errorf("failed %d, want 0", res.Failed)
		}
	})
	for _, fe := range []string{FrontEndDistributed, FrontEndColocated} {
		t.Run("never served/"+fe, func(t *testing.T) {
			cfg := Config{Nodes: 2, Algorithm: "simtest-none", FrontEnd: fe}
			res, _ := feRun(t, cfg, timedWorkload(3, traces.Request{Object: 0}, traces.Request{Object: 1}, traces.Request{Object: 2}))
			if res.Completed != 0 || res.Failed != 3 || res.Unserved != 0 {
				t.Errorf("completed %d failed %d unserved %d, want 0, 3, 0", res.Completed, res.Failed, res.Unserved)
			}
		})
	}
}
