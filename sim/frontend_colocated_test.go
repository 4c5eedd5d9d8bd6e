package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/traces"
)

// TestColocated checks the co-located distributors on hand-computed
// traces. Reference: thesis §7.3 (fig. 7.4) and the co-located LBLL of
// §7.3.1. Three nodes, so three distributors, each with one lookup
// outstanding: the CLS answers d0's #0 at 20 µs, d1's #1 at 40, d2's #2
// at 60 (512-byte objects, see timedWorkload).
func TestColocated(t *testing.T) {
	three := func(o0, o1, o2 int32) *traces.Workload {
		return timedWorkload(3, traces.Request{Object: o0}, traces.Request{Object: o1}, traces.Request{Object: o2})
	}
	for _, tc := range []struct {
		name string
		alg  string
		w    *traces.Workload
		want []completion
	}{
		{
			// Distinct targets, loads below T: lbll-local keeps every
			// request on its distributor's node, no handoff.
			name: "local preference",
			alg:  "lbll-local",
			w:    three(0, 1, 2),
			want: []completion{
				{0, 20*us + miss512, 0, false},
				{1, 40*us + miss512, 1, false},
				{2, 60*us + miss512, 2, false},
			},
		},
		{
			// One target: its server set is {node 0} and node 0 is not
			// overloaded, so #1 and #2 are handed off to node 0 and arrive
			// 140 µs after their answers, at 180 and 200. Node 0: #0 setup
			// 20-160, read 160-28,570, send to 28,750; #1 setup 180-320,
			// misses (not inserted yet), read 28,570-56,980, send to
			// 57,160; #2 setup 320-460, read 56,980-85,390, send to 85,570.
			name: "remote handoff",
			alg:  "lbll-local",
			w:    three(0, 0, 0),
			want: []completion{
				{0, 28750 * us, 0, false},
				{1, 57160 * us, 0, false},
				{2, 85570 * us, 0, false},
			},
		},
		{
			// The same with simtest-fe-zero (always node 0): identical.
			name: "remote handoff, scripted scheduler",
			alg:  "simtest-fe-zero",
			w:    three(0, 0, 0),
			want: []completion{
				{0, 28750 * us, 0, false},
				{1, 57160 * us, 0, false},
				{2, 85570 * us, 0, false},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Nodes: 3, Algorithm: tc.alg, FrontEnd: FrontEndColocated, Distributors: 7}
			_, got := feRun(t, cfg, tc.w)
			checkCompletions(t, got, tc.want)
		})
	}

	// The CLS sees the distributor's node as Request.Local, and a
	// handed-off request counts on its node from the answer on.
	feRun(t, Config{Nodes: 3, Algorithm: "simtest-fe-zero", FrontEnd: FrontEndColocated}, three(0, 0, 0))
	type call struct {
		at     time.Duration
		local  algorithms.ServerID
		active []int
	}
	want := []call{{20 * us, 0, []int{0, 0, 0}}, {40 * us, 1, []int{1, 0, 0}}, {60 * us, 2, []int{2, 0, 0}}}
	var got []call
	for _, c := range feLog {
		if !c.hasLocal {
			t.Errorf("call at %v without a local node", c.at)
		}
		got = append(got, call{c.at, c.local, c.active})
	}
	if !slices.EqualFunc(got, want, func(a, b call) bool {
		return a.at == b.at && a.local == b.local && slices.Equal(a.active, b.active)
	}) {
		t.Errorf("calls\n got  %v\n want %v", got, want)
	}
}

// TestColocatedDistributorDown: the L4 director skips the distributors of
// nodes its health check marks down; with every node down the requests
// wait at admission and are served after a recovery.
func TestColocatedDistributorDown(t *testing.T) {
	w := timedWorkload(3, traces.Request{Object: 0}, traces.Request{Object: 1}, traces.Request{Object: 2})
	feRun(t, Config{Nodes: 3, Algorithm: "simtest-fe-rr", FrontEnd: FrontEndColocated,
		Failures: []Failure{{Node: 1, At: 0}}}, w)
	var locals []algorithms.ServerID
	for _, c := range feLog {
		locals = append(locals, c.local)
	}
	if want := []algorithms.ServerID{0, 2, 0}; !slices.Equal(locals, want) {
		t.Errorf("distributor nodes %v, want %v", locals, want)
	}

	// One node, down from 0 to 2 s (detected at once): #0 is admitted at
	// 2 s, answered at 2 s + 20 µs.
	res, got := feRun(t, Config{Nodes: 1, Algorithm: "simtest-fe-rr", FrontEnd: FrontEndColocated,
		Failures: []Failure{{Node: 0, At: 0, Recover: 2 * time.Second}}}, timedWorkload(1, traces.Request{Object: 0}))
	checkCompletions(t, got, []completion{{0, 2*time.Second + 20*us + miss512, 0, false}})
	if res.Failed != 0 {
		t.Errorf("failed %d, want 0", res.Failed)
	}
}
