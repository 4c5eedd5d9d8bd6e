package algotest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// This file is test support that, unlike the rest of the algorithms tree,
// starts goroutines and reads time: always inside a testing/synctest
// bubble, on its fake clock. deps_test.go exempts such a file of a
// test-helper package (one named *test, which only _test.go files may
// import) from the rule that keeps the algorithms tree free of both.

// NoHerding makes [RunConcurrent] also check that the scheduler spreads
// simultaneous new work: given as many new requests, for distinct keys,
// as there are idle usable servers of equal weight, each server gets
// exactly one, provided each decision sees the Begin of the previous ones.
// Least-connection schedulers (LC, WLC, SED, NQ, LBLC, ...) and the
// round-robin family have this property; hashing and random sampling do
// not.
func NoHerding() Option {
	return func(c *config) { c.noHerding = true }
}

// splitHost makes RunConcurrent's host release its lock between Schedule
// and Begin: a broken host, which the herding check must catch. The
// package's own tests reach it through export_test.go.
func splitHost() Option {
	return func(c *config) { c.split = true }
}

// concurrentWorkers is the number of goroutines that open connections.
const concurrentWorkers = 8

// RunConcurrent checks a scheduler under a concurrent host, the way a live
// director drives it (see [algorithms.Scheduler]): goroutines share one
// scheduler and one [algorithms.Pool] behind one mutex, and each opens
// connections (Schedule and Begin in one critical section), holds them,
// moves some from inactive to active as IPVS does at ESTABLISHED
// (Pool.Adjust) and closes them (End), while a control goroutine changes
// the pool (weights, health, membership, thresholds, loads) and, for a
// scheduler with [algorithms.LoadFeedback], a monitor goroutine calls
// Feedback on a ticker. It runs inside a testing/synctest bubble, so time
// (Schedule's now, the tickers, the connections' lifetimes) is fake and
// the test takes no wall-clock time; run it with -race. It checks:
//
//   - every pick is, at the moment of the decision, a member of the pool
//     and usable, and every error is ErrNoServer or ErrBypass;
//   - Feedback accepts the monitor's reports;
//   - when every connection has closed, every server's counters are back
//     to zero and no server is overloaded;
//   - with [NoHerding], N simultaneous new requests on N idle servers of
//     equal weight go one to each server.
//
// newSched must return a fresh, independent instance on every call. The
// [Seed] and [Steps] options apply (Steps is the total number of
// connections, default 1500).
func RunConcurrent(t *testing.T, newSched func() (algorithms.Scheduler, error), opts ...Option) {
	t.Helper()
	cfg := newConfig(t, opts)
	mk := func(t *testing.T) algorithms.Scheduler {
		t.Helper()
		s, err := newSched()
		if err != nil {
			t.Fatalf("building the scheduler: %v", err)
		}
		if s == nil {
			t.Fatal("building the scheduler returned a nil Scheduler and no error")
		}
		return s
	}
	t.Run("Spread", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { concurrentSpread(t, mk(t), cfg) })
	})
	t.Run("Storm", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { concurrentStorm(t, mk(t), cfg) })
	})
}

// host is a live director in miniature: one mutex guards the scheduler,
// the pool and the host's own record of the work in flight.
type host struct {
	mu     sync.Mutex
	s      algorithms.Scheduler
	pool   *algorithms.Pool
	origin time.Time
	split  bool // broken: the lock is released between Schedule and Begin

	// incarnation counts each server's additions, so that work begun on
	// a server that was then removed (and perhaps added again, with
	// fresh counters) is not ended on the new one.
	incarnation map[algorithms.ServerID]int
}

// work is a connection or request in flight.
type work struct {
	id          algorithms.ServerID
	incarnation int
	cost        int
	l4          bool // counted as IPVS counts: inactive until established
	established bool
}

func newHost(s algorithms.Scheduler, p *algorithms.Pool, split bool) *host {
	h := &host{s: s, pool: p, origin: time.Now(), split: split, incarnation: map[algorithms.ServerID]int{}}
	for _, sv := range p.Servers() {
		h.incarnation[sv.ID] = 1
	}
	return h
}

// now is the time since the run's origin, as a director converts its
// clock once for the scheduler.
func (h *host) now() time.Duration { return time.Since(h.origin) }

// open schedules r and records the new work on the chosen server: in one
// critical section, or, for the broken split host, in two with gap
// between them. gap, if not nil, is called once, outside the lock. It
// reports the work and whether a server was given.
func (h *host) open(t *testing.T, r *algorithms.Request, l4 bool, gap func()) (work, bool) {
	h.mu.Lock()
	id, err := h.s.Schedule(h.now(), r, h.pool)
	if err != nil {
		h.mu.Unlock()
		if !errors.Is(err, algorithms.ErrNoServer) && !errors.Is(err, algorithms.ErrBypass) {
			t.Errorf("%s returned an error that is neither ErrNoServer nor ErrBypass for request %s: %v", h.s.Name(), fmtRequest(r), err)
		}
		if gap != nil {
			gap()
		}
		return work{}, false
	}
	if s := h.pool.Get(id); s == nil || !s.Usable() {
		desc := "not in the pool"
		if s != nil {
			desc = "unusable: " + fmtServer(*s)
		}
		t.Errorf("%s picked server %d, %s, for request %s\npool: %s", h.s.Name(), id, desc, fmtRequest(r), fmtPool(h.pool.Servers()))
		h.mu.Unlock()
		if gap != nil {
			gap()
		}
		return work{}, false
	}
	if h.split {
		h.mu.Unlock()
		if gap != nil {
			gap()
			gap = nil
		}
		h.mu.Lock()
	}
	w := work{id: id, incarnation: h.incarnation[id], cost: r.Units(), l4: l4}
	ok := h.pool.Get(id) != nil // the split host may find it removed
	if ok {
		var err error
		if l4 {
			w.cost = 1
			err = h.pool.Adjust(id, 0, 1)
		} else {
			err = h.pool.Begin(id, w.cost)
		}
		if err != nil {
			t.Errorf("host: recording new work on server %d: %v", id, err)
			ok = false
		}
	}
	h.mu.Unlock()
	if gap != nil {
		gap()
	}
	return w, ok
}

// current reports whether w's server is still the one w began on.
func (h *host) current(w *work) bool {
	return h.pool.Get(w.id) != nil && h.incarnation[w.id] == w.incarnation
}

// establish moves an IPVS-counted connection from inactive to active.
func (h *host) establish(t *testing.T, w *work) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.l4 || w.established || !h.current(w) {
		return
	}
	if err := h.pool.Adjust(w.id, 1, -1); err != nil {
		t.Errorf("host: ESTABLISHED on server %d: %v", w.id, err)
	}
	w.established = true
}

// close ends w.
func (h *host) close(t *testing.T, w *work) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.current(w) {
		return
	}
	var err error
	switch {
	case !w.l4:
		err = h.pool.End(w.id, w.cost)
	case w.established:
		err = h.pool.Adjust(w.id, -1, 0)
	default:
		err = h.pool.Adjust(w.id, 0, -1)
	}
	if err != nil {
		t.Errorf("host: closing work on server %d: %v", w.id, err)
	}
}

// checkIdle fails unless every server's counters are zero and none is
// overloaded.
func (h *host) checkIdle(t *testing.T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.pool.Servers() {
		if s.Active != 0 || s.Inactive != 0 || s.Overloaded {
			t.Errorf("after every connection closed: server %s", fmtServer(s))
		}
	}
}

// concurrentSpread opens one request per server at once, for distinct
// keys, on idle servers of equal weight, and with NoHerding checks that
// each server got one.
func concurrentSpread(t *testing.T, s algorithms.Scheduler, cfg config) {
	const n = 4
	servers := make([]algorithms.Server, n)
	for i := range servers {
		servers[i] = algorithms.Server{ID: algorithms.ServerID(i), Weight: 2, Addr: netip.AddrFrom4([4]byte{10, 9, 0, byte(i)})}
	}
	p, err := algorithms.NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(s, p, cfg.split)
	for round := range 3 {
		// The rendezvous stands for everything that happens between a
		// decision and the next one: all n requests arrive together.
		var arrived, done sync.WaitGroup
		arrived.Add(n)
		gap := func() { arrived.Done(); arrived.Wait() }
		opened := make([]work, n)
		got := make([]bool, n)
		for i := range n {
			done.Go(func() {
				k := round*n + i
				r := &algorithms.Request{
					Key:    fmt.Sprintf("/spread/%d.html", k),
					Client: netip.AddrFrom4([4]byte{192, 0, 2, byte(k + 1)}),
					Cost:   1,
				}
				opened[i], got[i] = h.open(t, r, false, gap)
			})
		}
		done.Wait()
		per := map[algorithms.ServerID]int{}
		for i := range n {
			if got[i] {
				per[opened[i].id]++
			}
		}
		if cfg.noHerding {
			for _, sv := range servers {
				if per[sv.ID] != 1 {
					t.Errorf("round %d: %d simultaneous new requests on %d idle servers of equal weight went to servers %v (ID: requests), want one each: herding",
						round, n, n, fmtCounts(per))
					break
				}
			}
		}
		for i := range n {
			if got[i] {
				h.close(t, &opened[i])
			}
		}
	}
	h.checkIdle(t)
}

func fmtCounts(per map[algorithms.ServerID]int) string {
	ids := make([]algorithms.ServerID, 0, len(per))
	for id := range per {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := "{"
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d: %d", id, per[id])
	}
	return s + "}"
}

// concurrentStorm runs the workers, the control goroutine and the monitor
// until every worker has opened and closed its connections.
func concurrentStorm(t *testing.T, s algorithms.Scheduler, cfg config) {
	g := newGen(cfg.seed, 7000, false)
	p := g.initialPool(t)
	h := newHost(s, p, cfg.split)
	perWorker := max(cfg.steps/concurrentWorkers, 1)

	var workers sync.WaitGroup
	for w := range concurrentWorkers {
		rng := rand.New(rand.NewPCG(cfg.seed, uint64(7100+w)))
		workers.Go(func() { concurrentWorker(t, h, rng, perWorker) })
	}
	done := make(chan struct{})
	var background sync.WaitGroup
	background.Go(func() { concurrentControl(t, h, g, done) })
	if fb, ok := s.(algorithms.LoadFeedback); ok {
		rng := rand.New(rand.NewPCG(cfg.seed, 7200))
		background.Go(func() { concurrentMonitor(t, h, fb, rng, done) })
	}
	workers.Wait()
	close(done)
	background.Wait()
	h.checkIdle(t)
}

// concurrentWorker opens n connections one after another, each held for a
// random time; a third are counted as IPVS counts TCP connections.
func concurrentWorker(t *testing.T, h *host, rng *rand.Rand, n int) {
	var open []work
	for range n {
		r := concurrentRequest(rng)
		l4 := rng.IntN(3) == 0
		if w, ok := h.open(t, &r, l4, nil); ok {
			open = append(open, w)
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		// Now and then move connections along: establish one, close the
		// oldest, so that each worker holds a few at a time.
		if len(open) > 0 && rng.IntN(2) == 0 {
			h.establish(t, &open[rng.IntN(len(open))])
		}
		for len(open) > 3 || (len(open) > 0 && rng.IntN(3) == 0) {
			h.close(t, &open[0])
			open = open[1:]
		}
	}
	for i := range open {
		h.establish(t, &open[i])
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		h.close(t, &open[i])
	}
}

// concurrentRequest draws a request from the conformance suite's keys,
// clients and classes. It does not look at the pool (the worker holds no
// lock), so the local node is any of the first IDs.
func concurrentRequest(rng *rand.Rand) algorithms.Request {
	r := algorithms.Request{
		Key:        urls[rng.IntN(len(urls))],
		Client:     clients[rng.IntN(len(clients))],
		ClientPort: uint16(1024 + rng.IntN(64)),
		Dest:       dests[rng.IntN(len(dests))],
		DestPort:   80,
		Cost:       1,
		Class:      classes[rng.IntN(len(classes))],
		NoCache:    rng.IntN(10) == 0,
	}
	if Dynamic(r.Key) {
		r.Cost = 2
	}
	if rng.IntN(2) == 0 {
		r.Local, r.HasLocal = algorithms.ServerID(rng.IntN(12)), true
	}
	return r
}

// concurrentControl changes the pool every 500 ms of fake time, as health
// checks, an administrator and a resource monitor do, until done: one
// change of membership, weight, availability or thresholds, and one
// server's measured load; and every 20 s an outage of every server.
func concurrentControl(t *testing.T, h *host, g *gen, done <-chan struct{}) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var outage []algorithms.ServerID // servers an outage took down
	for n := 0; ; n++ {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		h.mu.Lock()
		// Every 20 s, every server fails its health check for 2 s, so
		// that requests meet a pool with no usable server.
		switch n % 40 {
		case 20:
			for _, s := range h.pool.Servers() {
				if !s.Down {
					outage = append(outage, s.ID)
				}
			}
			for _, id := range outage {
				if err := h.pool.SetDown(id, true); err != nil {
					t.Errorf("host: %v", err)
				}
			}
		case 24:
			for _, id := range outage {
				if h.pool.Get(id) != nil {
					if err := h.pool.SetDown(id, false); err != nil {
						t.Errorf("host: %v", err)
					}
				}
			}
			outage = outage[:0]
		}
		g.structural(h.pool, func(c change) {
			var id algorithms.ServerID
			switch c.kind {
			case chAdd, chReAdd:
				id = c.server.ID
			case chRemove:
				id = h.pool.At(c.idx).ID
			}
			if err := applyChange(h.pool, c); err != nil {
				t.Errorf("host: %v", err)
				return
			}
			if c.kind == chAdd || c.kind == chReAdd || c.kind == chRemove {
				h.incarnation[id]++
			}
		})
		if n := h.pool.Len(); n > 0 {
			if err := h.pool.SetLoad(h.pool.At(g.rng.IntN(n)).ID, float64(g.rng.IntN(26))/10); err != nil {
				t.Errorf("host: %v", err)
			}
		}
		h.mu.Unlock()
	}
}

// concurrentMonitor reports every server's load every 5 s of fake time,
// as the thesis's monitor does (§4.2.2), until done.
func concurrentMonitor(t *testing.T, h *host, fb algorithms.LoadFeedback, rng *rand.Rand, done <-chan struct{}) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		h.mu.Lock()
		loads := make([]algorithms.Load, 0, h.pool.Len())
		for _, s := range h.pool.Servers() {
			l := float64(s.Active+s.Inactive) / 4
			loads = append(loads, algorithms.Load{ID: s.ID, Input: l, CPU: l, Disk: l / 2, Memory: 0.5, Process: l, Response: l, Measured: algorithms.AllMetrics,
				Responsive: rng.IntN(10) != 0})
		}
		if err := fb.Feedback(h.now(), loads, h.pool); err != nil {
			t.Errorf("%s: Feedback: %v", h.s.Name(), err)
		}
		h.mu.Unlock()
	}
}
