package sim

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHeterogeneousReference replays tiny traces on nodes of other speeds,
// weights and slowdowns; every completion time is computed by hand from
// docs/reference-model.md's service times (setup 140, disk 28,410, send
// 220 µs for 1,000 bytes) and models.Pace (a job that straddles a
// slowdown's boundary does each part of its work at the rate in force).
func TestHeterogeneousReference(t *testing.T) {
	x2 := []Slowdown{{Node: 0, Factor: 2, From: 1000 * us, To: 11000 * us}}
	for _, tc := range []struct {
		name string
		cfg  Config
		w    []int32 // objects requested, each 1,000 bytes
		want []completion
	}{
		{
			// Setup 0 → 140. The read starts at 140: 860 µs of work
			// before the slowdown, 5,000 in its 10,000 µs, the other
			// 22,550 after it: ends at 33,550; send → 33,770.
			name: "a disk read straddles a slowdown",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", Slowdowns: x2},
			w:    []int32{0},
			want: []completion{{0, 33770 * us, 0, false}},
		},
		{
			// #1's setup 140 → 280 (before the slowdown), its read
			// queues behind #0's (ends 33,550) and runs unslowed:
			// 33,550 → 61,960, send → 62,180.
			name: "a queued read starts after the slowdown",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", Slowdowns: x2},
			w:    []int32{0, 0},
			want: []completion{{0, 33770 * us, 0, false}, {1, 62180 * us, 0, false}},
		},
		{
			// ×4 from 100 to 200 µs: the setup does 100 µs of work, then
			// 25 in the slowdown, the last 15 after it: ends at 215;
			// read 215 → 28,625; send → 28,845.
			name: "a CPU job straddles a slowdown",
			cfg:  Config{Nodes: 1, Algorithm: "wrr", Slowdowns: []Slowdown{{Node: 0, Factor: 4, From: 100 * us, To: 200 * us}}},
			w:    []int32{0},
			want: []completion{{0, 28845 * us, 0, false}},
		},
		{
			// A slowdown of node 1 does not touch node 0.
			name: "another node's slowdown",
			cfg:  Config{Nodes: 2, Algorithm: "wrr", Slowdowns: []Slowdown{{Node: 1, Factor: 2, From: 0, To: time.Second}}},
			w:    []int32{0, 1},
			want: []completion{{0, miss1000, 0, false}, {1, 2 * miss1000, 1, false}},
		},
		{
			// CPU speed 2: setup 70, read 70 → 28,480, send 110 → 28,590.
			name: "cpu speed 2",
			cfg:  Config{Algorithm: "wrr", Groups: []NodeGroup{{Count: 1, CPUSpeed: 2}}},
			w:    []int32{0},
			want: []completion{{0, 28590 * us, 0, false}},
		},
		{
			// Disk speed 0.5: read 140 → 56,960, send → 57,180.
			name: "disk speed 0.5",
			cfg:  Config{Algorithm: "wrr", Groups: []NodeGroup{{Count: 1, DiskSpeed: 0.5}}},
			w:    []int32{0},
			want: []completion{{0, 57180 * us, 0, false}},
		},
		{
			// Weights 2 and 1: WRR walks 0, 0, 1. Node 0: #1's setup
			// 140 → 280, its read queues behind #0's (28,550 → 56,960),
			// send → 57,180. Node 1 serves #2 alone.
			name: "given weights",
			cfg:  Config{Algorithm: "wrr", Groups: []NodeGroup{{Count: 1, Weight: 2}, {Count: 1}}},
			w:    []int32{0, 1, 2},
			want: []completion{{0, miss1000, 0, false}, {2, miss1000, 1, false}, {1, 57180 * us, 0, false}},
		},
		{
			// Capacity weights 20 and 10 (CPU speeds 2 and 1): 0, 0, 1
			// again. Node 0 at CPU speed 2: setups 0 → 70 → 140, reads
			// 70 → 28,480 → 56,890, sends → 28,590 and → 57,000.
			name: "capacity weights",
			cfg:  Config{Algorithm: "wrr", Weights: "capacity", Groups: []NodeGroup{{Count: 1, CPUSpeed: 2}, {Count: 1}}},
			w:    []int32{0, 1, 2},
			want: []completion{{0, 28590 * us, 0, false}, {2, miss1000, 1, false}, {1, 57000 * us, 0, false}},
		},
		{
			// Node 1's cache of 500 bytes never holds the object: with lc
			// and limit 1 per node the requests alternate 0, 1, 0, 1 and
			// only node 0's second request hits.
			name: "per-group cache",
			cfg:  Config{Algorithm: "lc", High: 1, Low: 1, Groups: []NodeGroup{{Count: 1}, {Count: 1, CacheBytes: 500}}},
			w:    []int32{0, 0, 0, 0},
			want: []completion{{0, miss1000, 0, false}, {1, miss1000, 1, false}, {2, miss1000 + hit1000, 0, true}, {3, 2 * miss1000, 1, false}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sizes := make([]int64, int(slices.Max(tc.w))+1)
			for i := range sizes {
				sizes[i] = 1000
			}
			_, got := runObserved(t, tc.cfg, workload(sizes, tc.w...))
			if !slices.Equal(got, tc.want) {
				t.Fatalf("completions\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestNodeWeight(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		want     []int // WRR's weights
		wantDFLB []int
	}{
		{"identical nodes", Config{Nodes: 2}, []int{1, 1}, []int{10, 10}},
		{"given", Config{Weights: "Given", Groups: []NodeGroup{{Count: 1, Weight: 3}, {Count: 1, CPUSpeed: 4}}}, []int{3, 1}, []int{30, 10}},
		{"capacity", Config{Weights: "Capacity", Groups: []NodeGroup{{Count: 1, CPUSpeed: 2.5}, {Count: 1}, {Count: 1, CPUSpeed: 0.01}}},
			[]int{25, 10, 1}, []int{25, 10, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Algorithm = "wrr"
			c, err := tc.cfg.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if c.Weights != WeightsGiven && c.Weights != WeightsCapacity {
				t.Errorf("resolved weights %q", c.Weights)
			}
			for i := range tc.want {
				if got := c.NodeWeight(i, false); got != tc.want[i] {
					t.Errorf("node %d: weight %d, want %d", i, got, tc.want[i])
				}
				if got := c.NodeWeight(i, true); got != tc.wantDFLB[i] {
					t.Errorf("node %d: DFLB weight %d, want %d", i, got, tc.wantDFLB[i])
				}
			}
		})
	}
}

func TestResolveNodesErrors(t *testing.T) {
	one := []NodeGroup{{Count: 1}}
	for _, tc := range []struct {
		name string
		cfg  Config
		key  string
		msg  string
	}{
		{"count 0", Config{Groups: []NodeGroup{{Count: 0}}}, "nodes[0].count", "at least 1"},
		{"nodes differ from the groups", Config{Nodes: 3, Groups: []NodeGroup{{Count: 2}}}, "nodes", "groups hold 2"},
		{"speed too low", Config{Groups: []NodeGroup{{Count: 1, CPUSpeed: 1e-6}}}, "nodes[0].cpu_speed", "not a number in"},
		{"negative disk speed", Config{Groups: []NodeGroup{{Count: 1}, {Count: 1, DiskSpeed: -1}}}, "nodes[1].disk_speed", "not a number in"},
		{"negative cache", Config{Groups: []NodeGroup{{Count: 1, CacheBytes: -1}}}, "nodes[0].cache", ">= 0"},
		{"weight too large", Config{Groups: []NodeGroup{{Count: 1, Weight: MaxWeight + 1}}}, "nodes[0].weight", "1..100"},
		{"weight with capacity", Config{Weights: "capacity", Groups: []NodeGroup{{Count: 1, Weight: 2}}}, "nodes[0].weight", "capacity"},
		{"unknown weights", Config{Nodes: 1, Weights: "fast"}, "weights", "unknown"},
		{"slowdown node", Config{Groups: one, Slowdowns: []Slowdown{{Node: 1, Factor: 2, To: 1}}}, "slowdown[0].node", "outside 0..0"},
		{"slowdown to before from", Config{Nodes: 1, Slowdowns: []Slowdown{{Factor: 2, From: 5, To: 5}}}, "slowdown[0].to", "not after"},
		{"slowdown factor", Config{Nodes: 1, Slowdowns: []Slowdown{{Factor: 0, To: 5}}}, "slowdown[0].factor", "not a number in"},
		{"slowdown from", Config{Nodes: 1, Slowdowns: []Slowdown{{Factor: 2, From: -1, To: 5}}}, "slowdown[0].from", ">= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Algorithm = "wrr"
			_, err := tc.cfg.Resolve()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Keys[0] != tc.key || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Resolve: %v, want a ConfigError for %s saying %q", err, tc.key, tc.msg)
			}
		})
	}
}

// TestHeterogeneousDeterministic runs a heterogeneous, slowed cluster
// twice and compares the results byte for byte.
func TestHeterogeneousDeterministic(t *testing.T) {
	cfg := Config{Algorithm: "dflb", Weights: "capacity", Groups: []NodeGroup{{Count: 2, CPUSpeed: 2, CacheBytes: 1 << 20}, {Count: 3}},
		Slowdowns: []Slowdown{{Node: 4, Factor: 3, From: time.Second, To: 20 * time.Second}}, DFLBInterval: time.Second}
	w := synth(3000, 300, 1)
	a, err := Run(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	var ja, jb strings.Builder
	if err := WriteJSON(&ja, []*Result{a}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jb, []*Result{b}); err != nil {
		t.Fatal(err)
	}
	if ja.String() != jb.String() {
		t.Error("two runs of the same configuration differ")
	}
}
