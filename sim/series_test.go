package sim

import (
	"maps"
	"testing"
	"time"
)

// TestSeriesFailuresAndNodes checks the time series' per-interval failures
// and per-node completions against the hand-computed times of
// TestReferenceModel's failure cases (interval 1 ms).
func TestSeriesFailuresAndNodes(t *testing.T) {
	w4 := workload([]int64{1000, 1000, 1000, 1000}, 0, 1, 2, 3)
	for _, tc := range []struct {
		name    string
		cfg     Config
		failed  map[int]int    // bucket → requests lost in it
		nodes   map[int][2]int // bucket → completions of nodes 0 and 1
		buckets int
	}{
		{
			// #1 lost at 1 ms; node 0 completes #0, #2, #3 at 28.77,
			// 57.18 and 85.59 ms.
			name:    "failure detected at once",
			cfg:     Config{Nodes: 2, Algorithm: "wrr", High: 1, Low: 1, Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			failed:  map[int]int{1: 1},
			nodes:   map[int][2]int{28: {1, 0}, 57: {1, 0}, 85: {1, 0}},
			buckets: 86,
		},
		{
			// #1 lost at 1 ms, #2 at its connect timeout, 3.001 s: after
			// the makespan (57.54 ms), which the series runs past.
			name: "loss after the last completion",
			cfg: Config{Nodes: 2, Algorithm: "lc", High: 1, Low: 1, HealthCheckDelay: 10 * time.Millisecond,
				Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			failed:  map[int]int{1: 1, 3001: 1},
			nodes:   map[int][2]int{28: {1, 0}, 57: {1, 0}},
			buckets: 3002,
		},
		{
			// Losses at 1, 3 and 5 ms; #0 completes at 28.77 ms.
			name: "connect timeout before detection",
			cfg: Config{Nodes: 2, Algorithm: "lc", High: 1, Low: 1, HealthCheckDelay: 10 * time.Millisecond,
				ConnectTimeout: 2 * time.Millisecond, Failures: []Failure{{Node: 1, At: time.Millisecond}}},
			failed:  map[int]int{1: 1, 3: 1, 5: 1},
			nodes:   map[int][2]int{28: {1, 0}},
			buckets: 29,
		},
		{
			name:    "no failure",
			cfg:     Config{Nodes: 2, Algorithm: "wrr", High: 1, Low: 1},
			failed:  map[int]int{},
			nodes:   map[int][2]int{28: {1, 1}, 57: {1, 1}},
			buckets: 58,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Interval = time.Millisecond
			res, _ := runObserved(t, cfg, w4)
			if len(res.Series) != tc.buckets {
				t.Fatalf("%d buckets, want %d", len(res.Series), tc.buckets)
			}
			failed := map[int]int{}
			nodes := map[int][2]int{}
			for b, s := range res.Series {
				if s.Start != time.Duration(b)*time.Millisecond {
					t.Fatalf("bucket %d starts at %v", b, s.Start)
				}
				if s.Failed != 0 {
					failed[b] = s.Failed
				}
				if len(s.NodeCompleted) != 2 {
					t.Fatalf("bucket %d has %d node counts, want 2", b, len(s.NodeCompleted))
				}
				if s.NodeCompleted[0] != 0 || s.NodeCompleted[1] != 0 {
					nodes[b] = [2]int{s.NodeCompleted[0], s.NodeCompleted[1]}
				}
			}
			if !maps.Equal(failed, tc.failed) {
				t.Errorf("failed by bucket %v, want %v", failed, tc.failed)
			}
			if !maps.Equal(nodes, tc.nodes) {
				t.Errorf("node completions by bucket %v, want %v", nodes, tc.nodes)
			}
		})
	}
}
