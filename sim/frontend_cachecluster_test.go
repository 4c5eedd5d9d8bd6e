package sim

import (
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/traces"
)

// TestCacheCluster checks the cache cluster's origin bypasses on
// hand-computed traces. Reference: thesis §7.5.4 (distributor and
// cache-oriented LBLL). One distributor, CLS 20 µs per lookup, origin
// 100 ms; 512-byte objects (see timedWorkload).
func TestCacheCluster(t *testing.T) {
	const origin = 100 * time.Millisecond
	static := func(o int32) traces.Request { return traces.Request{Object: o} }
	for _, tc := range []struct {
		name     string
		cfg      Config
		w        *traces.Workload
		want     []completion
		bypassed int
	}{
		{
			// #1 is dynamic: its distributor fetches it from the origin at
			// once, without a lookup (so #2's lookup is answered at 40 µs,
			// not 60). lbll-cache: #0 -> node 0, #2 -> node 1 (least loaded).
			name: "non-cacheable request skips the CLS",
			cfg:  Config{Nodes: 2, Algorithm: "lbll-cache"},
			w:    timedWorkload(3, static(0), traces.Request{Object: 1, Dynamic: true}, static(2)),
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, origin, -1, false},
				{2, 40*us + miss512, 1, false},
			},
			bypassed: 1,
		},
		{
			// simtest-bypass answers ErrBypass for /o1: after its lookup
			// (20-40 µs) #1 goes to the origin. #2 (answered at 60) queues
			// on node 0 behind #0: setup 160-300, read 28,570-56,980, send
			// to 57,160.
			name: "CLS answers bypass",
			cfg:  Config{Nodes: 2, Algorithm: "simtest-bypass"},
			w:    timedWorkload(3, static(0), static(1), static(2)),
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + origin, -1, false},
				{2, 57160 * us, 0, false},
			},
			bypassed: 1,
		},
		{
			// No usable cache node (ErrNoServer): the origin serves.
			name:     "no cache node",
			cfg:      Config{Nodes: 2, Algorithm: "simtest-none"},
			w:        timedWorkload(2, static(0), static(1)),
			want:     []completion{{0, 20*us + origin, -1, false}, {1, 40*us + origin, -1, false}},
			bypassed: 2,
		},
		{
			// lbll-cache overload (T = 0.5, High 4: load = Active/4). One
			// node, one target: #0 -> node 0 (load 0.25), #1 (0.25 <= T)
			// -> node 0 (0.5), #2 (0.5, not above T) -> node 0 (0.75); #3:
			// 0.75 > T and no node at or below T/2: origin, answered at 80.
			// Node 0: setups end 160, 300, 440; all miss (/o0 is inserted at
			// 28,570); reads end 28,570, 56,980, 85,390; sends 180.
			name: "overloaded cache nodes",
			cfg: Config{Nodes: 1, Algorithm: "lbll-cache", Low: 2, High: 4,
				Options: algorithms.Options{Threshold: 0.5}},
			w: timedWorkload(1, static(0), static(0), static(0), static(0)),
			want: []completion{
				{0, 28750 * us, 0, false},
				{1, 57160 * us, 0, false},
				{2, 85570 * us, 0, false},
				{3, 80*us + origin, -1, false},
			},
			bypassed: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.FrontEnd, cfg.Distributors = FrontEndCacheCluster, 1
			res, got := feRun(t, cfg, tc.w)
			checkCompletions(t, got, tc.want)
			if res.Bypassed != tc.bypassed || res.Completed != len(tc.w.Requests) {
				t.Errorf("bypassed %d completed %d, want %d and %d", res.Bypassed, res.Completed, tc.bypassed, len(tc.w.Requests))
			}
		})
	}
}
