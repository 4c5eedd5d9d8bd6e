package algorithms

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// allocTargets is the number of distinct request targets of the
// allocation tests: few enough that every target is in the tables after
// the warm-up rounds.
const allocTargets = 40

// allocRequests returns the allocTargets targets, every fifth dynamic
// (cost 2, class "cgi"), every seventh non-cacheable, and two in three
// from a distributor co-located with server i%8; and one round of the
// request sequence over them, in which target 1 is hot: it is asked for
// after every second request of the others, so that its server set must
// grow.
func allocRequests() (targets []Request, round []int) {
	targets = make([]Request, allocTargets)
	for i := range targets {
		r := Request{Key: fmt.Sprintf("/docs/%02d.html", i), Cost: 1}
		if i%5 == 0 {
			r.Key, r.Cost, r.Class = fmt.Sprintf("/cgi-bin/q?id=%d", i), 2, "cgi"
		}
		r.NoCache = i%7 == 3
		if i%3 != 0 {
			r.Local, r.HasLocal = ServerID(i%8), true
		}
		targets[i] = r
		round = append(round, i)
		if i%2 == 1 {
			round = append(round, 1)
		}
	}
	return targets, round
}

// allocRun drives one scheduler the way a host does: a ring of requests
// in service (the oldest ends as each new one begins), each server's
// measured load following its Active count (Pool.SetLoad), and time
// advancing by step per request, so that locality tables grow, replicate
// and shrink.
type allocRun struct {
	s        Scheduler
	p        *Pool
	targets  []Request
	round    []int // indices into targets
	inflight []allocWork
	head, i  int
	now      time.Duration
	step     time.Duration
}

// newAllocRun returns a run of scheduler name over eight servers of
// weights 1-4, each with IPVS upper connection threshold upper (0: none).
func newAllocRun(t *testing.T, name string, opts Options, inflight int, step time.Duration, upper int) *allocRun {
	t.Helper()
	s, err := New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewWeighted(1, 2, 3, 4, 1, 2, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Len() {
		if err := p.SetThresholds(p.At(i).ID, upper, 0); err != nil {
			t.Fatal(err)
		}
	}
	a := &allocRun{s: s, p: p, inflight: make([]allocWork, inflight), step: step}
	a.targets, a.round = allocRequests()
	for i := range a.inflight {
		a.inflight[i].cost = -1
	}
	return a
}

// next schedules the next request and updates the pool. It must not
// allocate on its own: errors are reported through t only on failure.
func (a *allocRun) next(t *testing.T) {
	r := &a.targets[a.round[a.i%len(a.round)]]
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
		a.inflight[a.head] = allocWork{id: id, cost: r.Units()}
	case errors.Is(err, ErrNoServer), errors.Is(err, ErrBypass):
	default:
		t.Fatal(err)
	}
	a.head = (a.head + 1) % len(a.inflight)
}

// move adds d to a server's Active count and sets its load to Active/4,
// so that a server with more than four units in service is above
// LBLL's default threshold T = 1.
func (a *allocRun) move(t *testing.T, id ServerID, d int) {
	if err := a.p.Adjust(id, d, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.p.SetLoad(id, float64(a.p.Get(id).Active)/4); err != nil {
		t.Fatal(err)
	}
}

// allocWork is a request in service in a run's ring.
type allocWork struct {
	id   ServerID
	cost int
}

// growSets gives every server set of the run's scheduler room for as many
// members as the pool has servers, the largest a set can get. A set that
// grows to a size it never had before allocates (an append, amortised
// like a map's growth, at most log2(servers) times per target); this
// takes those allocations out of the count, which is then the
// per-request cost alone. It reports whether the scheduler keeps sets.
func (a *allocRun) growSets() bool {
	var tables []*locSets
	switch s := a.s.(type) {
	case *LBLCR:
		tables = append(tables, &s.sets)
	case *LBLL:
		tables = append(tables, &s.sets)
	case *LBLLLocal:
		tables = append(tables, &s.sets)
	case *LBLLCache:
		tables = append(tables, &s.sets)
	case *ContentLBLCR:
		tables = append(tables, &s.dflt)
		for _, t := range s.class {
			tables = append(tables, t)
		}
	default:
		return false
	}
	for _, t := range tables {
		t.tab.all(func(_ string, set *locSet) {
			set.members = slices.Grow(set.members, a.p.Len()-len(set.members))
		})
	}
	return true
}

// replicas returns how many members the server sets of the run's
// targets have beyond the first, for the schedulers that keep server
// sets, and false for the others.
func (a *allocRun) replicas() (int, bool) {
	n := 0
	for i := range a.targets {
		r := &a.targets[i]
		var set []ServerID
		switch s := a.s.(type) {
		case interface {
			Set(string) []ServerID
		}:
			set = s.Set(r.Key)
		case *ContentLBLCR:
			set = s.Set(r.Class, r.Key)
		default:
			return 0, false
		}
		n += max(len(set)-1, 0)
	}
	return n, true
}

// TestScheduleAllocs pins that the locality-based schedulers (and the
// other schedulers of lblc.go, lblcr.go, content.go, lbll.go, dflb.go and
// chbl.go) do not allocate per request once every target has its table
// entry: a Schedule call only reads and updates existing entries, even
// while server sets grow and shrink and servers cross their thresholds.
// What does allocate is amortised table growth: a new target's first
// request (its entry; the warm-up pays for those) and a set's growth to a
// size it never had (growSets pays for those). Reference: thesis §6.3.5
// (LBLC, LBLC/R), §6.3.6 (content-based), §7.3.1 and §7.5.4 (LBLL), §4.2
// (DFLB).
func TestScheduleAllocs(t *testing.T) {
	// low pushes the locality schedulers into their replication and
	// expiry paths: thresholds of a few connections, K of five seconds
	// (a round of requests takes 3 s) while time advances 50 ms per request,
	// and a busy pool.
	low := Options{
		Low: 1, High: 3, SetExpiry: 5 * time.Second, Threshold: 0.8,
		Classes: map[string][]ServerID{"cgi": {0, 1, 2}, "image": {3}},
	}
	tuned := Options{Epsilon: 0.1, Replicas: 10}
	tests := []struct {
		name, variant string
		opts          Options
		// busy: the run must replicate (some target's set grows and
		// shrinks); upper > 0 gives every server that IPVS upper
		// connection threshold, so that OVERLOAD flips and the pool's
		// generation changes while the table is warm.
		busy  bool
		upper int
	}{
		{name: "lblc", variant: "defaults"},
		{name: "lblc", variant: "low", opts: low},
		{name: "lblc", variant: "overload", opts: low, upper: 7},
		{name: "lblcr", variant: "defaults"},
		{name: "lblcr", variant: "low", opts: low, busy: true},
		{name: "lblcr", variant: "overload", opts: low, busy: true, upper: 7},
		{name: "content-lblcr", variant: "defaults"},
		{name: "content-lblcr", variant: "low", opts: low, busy: true},
		{name: "content-lblcr", variant: "overload", opts: low, busy: true, upper: 7},
		{name: "lbll", variant: "defaults"},
		{name: "lbll", variant: "low", opts: low, busy: true},
		{name: "lbll", variant: "overload", opts: low, busy: true, upper: 7},
		{name: "lbll-local", variant: "defaults"},
		{name: "lbll-local", variant: "low", opts: low, busy: true},
		{name: "lbll-local", variant: "overload", opts: low, busy: true, upper: 7},
		{name: "lbll-cache", variant: "defaults"},
		{name: "lbll-cache", variant: "low", opts: low, busy: true},
		{name: "lbll-cache", variant: "overload", opts: low, busy: true, upper: 5},
		{name: "content", variant: "classes", opts: low},
		{name: "content", variant: "overload", opts: low, upper: 7},
		{name: "dflb", variant: "defaults"},
		{name: "dflb-wlc", variant: "defaults"},
		{name: "chbl", variant: "defaults"},
		{name: "chbl", variant: "tuned", opts: tuned},
		{name: "chbl", variant: "overload", opts: tuned, upper: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.variant, func(t *testing.T) {
			inflight := 16
			if tc.busy || tc.upper > 0 {
				inflight = 40 // five units per server on average
			}
			const warm, runs, batches = 50 * allocTargets, 10 * allocTargets, 5
			a := newAllocRun(t, tc.name, tc.opts, inflight, 50*time.Millisecond, tc.upper)
			// Warm-up: every target gets its entry (new entries allocate),
			// then every set gets room to grow.
			for range warm {
				a.next(t)
			}
			a.growSets()
			// One AllocsPerRun "run" is a batch of runs calls: AllocsPerRun
			// divides in integers, so per call it would miss anything
			// rarer than one allocation per call. Counting batches, it
			// fails if the scheduler allocates at least once per batch,
			// and averaging over batches it tolerates a stray allocation
			// of the runtime or of the previous subtest's goroutine
			// (MemStats counts the whole process). It makes one batch
			// more than it counts.
			batch := func() {
				for range runs {
					a.next(t)
				}
			}
			if got := testing.AllocsPerRun(batches, batch); got != 0 {
				t.Errorf("%s: %v allocations per %d Schedule calls on a warm table, want 0", tc.name, got, runs)
			}
			if !tc.busy && tc.upper == 0 {
				return
			}
			// The measured calls must have grown and shrunk server sets,
			// and changed the pool's generation, or the test proves less
			// than it claims. An identical run (the schedulers are
			// deterministic) replays them, looking.
			b := newAllocRun(t, tc.name, tc.opts, inflight, 50*time.Millisecond, tc.upper)
			for range warm {
				b.next(t)
			}
			prev, hasSets := b.replicas()
			if tc.busy && !hasSets {
				t.Fatalf("%s keeps no server sets", tc.name)
			}
			gen := b.p.Generation()
			grew, shrank := 0, 0
			for range (batches + 1) * runs { // as many calls as AllocsPerRun made
				b.next(t)
				if !tc.busy {
					continue
				}
				n, _ := b.replicas()
				if n > prev {
					grew++
				}
				if n < prev {
					shrank++
				}
				prev = n
			}
			if tc.busy && (grew == 0 || shrank == 0) {
				t.Errorf("%s: the measured calls grew server sets %d times and shrank them %d times, want both", tc.name, grew, shrank)
			}
			if tc.upper > 0 && b.p.Generation() == gen {
				t.Errorf("%s: no server crossed its upper threshold during the measured calls", tc.name)
			}
		})
	}
}

// TestSwapPoolsAllocs pins that a host alternating between a pool and an
// unchanged Clone of it costs a scheduler no rebuild: a Schedule call on
// either allocates nothing once both have been seen. A scheduler that
// keyed its derived state on the pool's address would rebuild on every
// call (Maglev's table, DFLB's shadow pool allocate then).
func TestSwapPoolsAllocs(t *testing.T) {
	for _, name := range Names() {
		if name == "chbl" {
			continue // keys its ring on the pool's address too; see chbl.go
		}
		t.Run(name, func(t *testing.T) {
			a := newAllocRun(t, name, Options{}, 16, 50*time.Millisecond, 0)
			for range 50 * allocTargets {
				a.next(t)
			}
			a.growSets()
			pools := [2]*Pool{a.p, a.p.Clone()}
			targets, _ := allocRequests()
			i := 0
			call := func() {
				for range 2 * allocTargets {
					r := &targets[i%len(targets)]
					p := pools[i%2]
					i++
					if _, err := a.s.Schedule(a.now, r, p); err != nil && !errors.Is(err, ErrNoServer) && !errors.Is(err, ErrBypass) {
						t.Fatal(err)
					}
				}
			}
			call() // both pools seen once
			if got := testing.AllocsPerRun(5, call); got != 0 {
				t.Errorf("%s: %v allocations per %d Schedule calls alternating a pool and its clone, want 0", name, got, 2*allocTargets)
			}
		})
	}
}
