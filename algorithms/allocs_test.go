package algorithms_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// allocTargets is the number of distinct request targets of the
// allocation tests: few enough that every target is in the tables after
// the warm-up rounds.
const allocTargets = 40

// allocRequests returns one round of requests over allocTargets targets:
// every fifth dynamic (cost 2, class "cgi"), every seventh non-cacheable,
// and two in three from a distributor co-located with server i%8.
func allocRequests() []algorithms.Request {
	reqs := make([]algorithms.Request, allocTargets)
	for i := range reqs {
		r := algorithms.Request{Key: fmt.Sprintf("/docs/%02d.html", i), Cost: 1}
		if i%5 == 0 {
			r.Key, r.Cost, r.Class = fmt.Sprintf("/cgi-bin/q?id=%d", i), 2, "cgi"
		}
		r.NoCache = i%7 == 3
		if i%3 != 0 {
			r.Local, r.HasLocal = algorithms.ServerID(i%8), true
		}
		reqs[i] = r
	}
	return reqs
}

// allocRun drives one scheduler the way a host does: a ring of requests
// in service (the oldest ends as each new one begins), each server's
// measured load following its Active count (Pool.SetLoad), and time
// advancing by step per request, so that locality tables grow, replicate
// and shrink.
type allocRun struct {
	s        algorithms.Scheduler
	p        *algorithms.Pool
	reqs     []algorithms.Request
	inflight []benchWork
	head, i  int
	now      time.Duration
	step     time.Duration
}

func newAllocRun(t *testing.T, name string, opts algorithms.Options, inflight int, step time.Duration) *allocRun {
	t.Helper()
	s, err := algorithms.New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := algorithms.NewWeighted(1, 2, 3, 4, 1, 2, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := &allocRun{s: s, p: p, reqs: allocRequests(), inflight: make([]benchWork, inflight), step: step}
	for i := range a.inflight {
		a.inflight[i].cost = -1
	}
	return a
}

// next schedules the next request and updates the pool. It must not
// allocate on its own: errors are reported through t only on failure.
func (a *allocRun) next(t *testing.T) {
	r := &a.reqs[a.i%len(a.reqs)]
	a.i++
	a.now += a.step
	if w := a.inflight[a.head]; w.cost > 0 {
		a.move(t, w.id, -w.cost)
	}
	a.inflight[a.head].cost = -1
	id, err := a.s.Schedule(a.now, r, a.p)
	switch {
	case err == nil:
		a.move(t, id, r.Units())
		a.inflight[a.head] = benchWork{id: id, cost: r.Units()}
	case errors.Is(err, algorithms.ErrNoServer), errors.Is(err, algorithms.ErrBypass):
	default:
		t.Fatal(err)
	}
	a.head = (a.head + 1) % len(a.inflight)
}

// move adds d to a server's Active count and sets its load to Active/4,
// so that a server with more than four units in service is above
// LBLL's default threshold T = 1.
func (a *allocRun) move(t *testing.T, id algorithms.ServerID, d int) {
	if err := a.p.Adjust(id, d, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.p.SetLoad(id, float64(a.p.Get(id).Active)/4); err != nil {
		t.Fatal(err)
	}
}

// setSizes returns the total size of the server sets of the run's
// targets, for the schedulers that keep server sets, and false for the
// others.
func (a *allocRun) setSizes() (int, bool) {
	n := 0
	for i := range a.reqs {
		r := &a.reqs[i]
		switch s := a.s.(type) {
		case interface{ Set(string) []algorithms.ServerID }:
			n += len(s.Set(r.Key))
		case *algorithms.ContentLBLCR:
			n += len(s.Set(r.Class, r.Key))
		default:
			return 0, false
		}
	}
	return n, true
}

// TestScheduleAllocs pins that the locality-based schedulers (and the
// other schedulers of lblc.go, lblcr.go, content.go, lbll.go, dflb.go and
// chbl.go) do not allocate per request once every target has its table
// entry: a Schedule call only reads and updates existing entries. A new
// target's first request does allocate (its table entry); the warm-up
// rounds pay for those. Reference: thesis §6.3.5 (LBLC, LBLC/R), §6.3.6
// (content-based), §7.3.1 and §7.5.4 (LBLL), §4.2 (DFLB).
func TestScheduleAllocs(t *testing.T) {
	// low pushes the locality schedulers into their replication and
	// expiry paths: thresholds of a few connections, K of five seconds
	// (a target recurs every 2 s) while time advances 50 ms per request,
	// and a busy pool.
	low := algorithms.Options{
		Low: 1, High: 3, SetExpiry: 5 * time.Second, Threshold: 0.8,
		Classes: map[string][]algorithms.ServerID{"cgi": {0, 1, 2}, "image": {3}},
	}
	tests := []struct {
		name string
		opts algorithms.Options
		busy bool // the run must replicate: some target's set grows
	}{
		{name: "lblc"},
		{name: "lblc", opts: low},
		{name: "lblcr"},
		{name: "lblcr", opts: low, busy: true},
		{name: "content-lblcr"},
		{name: "content-lblcr", opts: low, busy: true},
		{name: "lbll"},
		{name: "lbll", opts: low, busy: true},
		{name: "lbll-local"},
		{name: "lbll-local", opts: low, busy: true},
		{name: "lbll-cache"},
		{name: "lbll-cache", opts: low, busy: true},
		{name: "content", opts: low},
		{name: "dflb"},
		{name: "dflb-wlc"},
		{name: "chbl"},
		{name: "chbl", opts: algorithms.Options{Epsilon: 0.1, Replicas: 10}},
	}
	for _, tc := range tests {
		variant := "defaults"
		if tc.opts.Low != 0 || tc.opts.Epsilon != 0 {
			variant = "tuned"
		}
		t.Run(tc.name+"/"+variant, func(t *testing.T) {
			inflight := 16
			if tc.busy {
				inflight = 40 // five units per server on average
			}
			a := newAllocRun(t, tc.name, tc.opts, inflight, 50*time.Millisecond)
			// Warm-up: every target gets its entry, and the sets reach the
			// sizes this workload gives them.
			for range 50 * allocTargets {
				a.next(t)
			}
			before, hasSets := a.setSizes()
			if got := testing.AllocsPerRun(10*allocTargets, func() { a.next(t) }); got != 0 {
				t.Errorf("%s: %v allocations per Schedule on a warm table, want 0", tc.name, got)
			}
			if !tc.busy {
				return
			}
			// The measured calls must have exercised replication and
			// expiry, or the test proves less than it claims.
			if !hasSets {
				t.Fatalf("%s keeps no server sets", tc.name)
			}
			changed := before
			for range 10 * allocTargets {
				a.next(t)
				if n, _ := a.setSizes(); n != before {
					changed = n
				}
			}
			if before <= allocTargets || changed == before {
				t.Errorf("%s: set sizes %d then %d over %d targets: the run did not replicate and expire", tc.name, before, changed, allocTargets)
			}
		})
	}
}
