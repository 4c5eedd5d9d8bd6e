package algorithms

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// locSeedFlag overrides the base seed of the randomized locality tests.
var locSeedFlag = flag.Uint64("lblc.seed", 0, "base seed for the randomized LBLC/LBLC-R differential tests (0: default)")

const locDefaultSeed = 20000515

func locBaseSeed(t *testing.T) uint64 {
	if *locSeedFlag != 0 {
		t.Logf("lblc.seed = %d", *locSeedFlag)
		return *locSeedFlag
	}
	return locDefaultSeed
}

// locPool builds a pool of weight-1 servers with IDs 0..n-1 and the given
// active counts.
func locPool(t *testing.T, actives ...int) *Pool {
	t.Helper()
	servers := make([]Server, len(actives))
	for i, a := range actives {
		servers[i] = Server{ID: ServerID(i), Weight: 1, Active: a}
	}
	p, err := NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// locSetActive sets the servers' active counts, in pool order, through
// Pool.Adjust as a host would.
func locSetActive(t *testing.T, p *Pool, actives ...int) {
	t.Helper()
	for i, a := range actives {
		s := p.At(i)
		if err := p.Adjust(s.ID, a-s.Active, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// locNaiveLBLC is the LBLC pseudo-code of thesis §6.3.5 transcribed
// literally, every quantity computed by a full scan of the pool on every
// request. Reference for TestLBLCMatchesNaive.
type locNaiveLBLC struct {
	low, high int
	server    map[string]ServerID
}

func newLocNaiveLBLC(o Options) *locNaiveLBLC {
	n := &locNaiveLBLC{low: 30, high: 60, server: map[string]ServerID{}}
	if o.Low != 0 {
		n.low = o.Low
	}
	if o.High != 0 {
		n.high = o.High
	}
	return n
}

func (n *locNaiveLBLC) lowOf(s Server) int {
	if s.Low != 0 {
		return s.Low
	}
	return n.low
}

func (n *locNaiveLBLC) highOf(s Server) int {
	if s.High != 0 {
		return s.High
	}
	return n.high
}

// leastConnectionNode: the usable server with the fewest connections, the
// first in the pool on ties.
func locNaiveLeastConn(p *Pool, in func(Server) bool) (ServerID, bool) {
	var best *Server
	for _, s := range p.Servers() {
		if s.Usable() && in(s) && (best == nil || s.Active < best.Active) {
			best = &s
		}
	}
	if best == nil {
		return 0, false
	}
	return best.ID, true
}

func locNaiveFind(p *Pool, id ServerID) (Server, bool) {
	for _, s := range p.Servers() {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

func (n *locNaiveLBLC) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	all := func(Server) bool { return true }
	someBelowLow := false
	for _, s := range p.Servers() {
		if s.Usable() && s.Active < n.lowOf(s) {
			someBelowLow = true
		}
	}
	id, mapped := n.server[r.Key]
	cur, present := locNaiveFind(p, id)
	if !mapped || !present || !cur.Usable() ||
		(cur.Active > n.highOf(cur) && someBelowLow) || cur.Active >= 2*n.highOf(cur) {
		least, ok := locNaiveLeastConn(p, all)
		if !ok {
			return 0, ErrNoServer
		}
		n.server[r.Key] = least
		return least, nil
	}
	return id, nil
}

// Reference: §6.3.5. A target keeps its server unless the mapped server is
// above its high threshold while some node is below its low threshold, or
// at twice its high threshold; and (following ip_vs_lblc.c) unless the
// mapped server is no longer usable or in the pool.
func TestLBLCMovesOnlyOnImbalance(t *testing.T) {
	const A, B, C = ServerID(0), ServerID(1), ServerID(2)
	tests := []struct {
		name    string
		opts    Options
		actives []int
		setup   func(t *testing.T, p *Pool)
		want    ServerID
	}{
		{"below high stays although others idle", Options{}, []int{59, 0, 0}, nil, A},
		{"at high stays", Options{}, []int{60, 0, 0}, nil, A},
		{"above high, no node below low: stays", Options{}, []int{61, 30, 45}, nil, A},
		{"above high, a node below low: moves to least", Options{}, []int{61, 29, 10}, nil, C},
		{"above high, the idle node is the least", Options{}, []int{61, 29, 40}, nil, B},
		{"just under 2*high, no idle node: stays", Options{}, []int{119, 59, 50}, nil, A},
		{"at 2*high, no idle node: moves", Options{}, []int{120, 59, 50}, nil, C},
		{"at 2*high but still the least: stays on A", Options{}, []int{120, 125, 130}, nil, A},
		{"idle node that is down does not count", Options{}, []int{61, 0, 40}, func(t *testing.T, p *Pool) {
			if err := p.SetDown(B, true); err != nil {
				t.Fatal(err)
			}
		}, A},
		{"mapped server down: moves", Options{}, []int{0, 5, 3}, func(t *testing.T, p *Pool) {
			if err := p.SetDown(A, true); err != nil {
				t.Fatal(err)
			}
		}, C},
		{"mapped server quiescing (weight 0): moves", Options{}, []int{0, 5, 3}, func(t *testing.T, p *Pool) {
			if err := p.SetWeight(A, 0); err != nil {
				t.Fatal(err)
			}
		}, C},
		{"mapped server overloaded: moves", Options{}, []int{0, 5, 3}, func(t *testing.T, p *Pool) {
			if err := p.SetThresholds(A, 1, 0); err != nil {
				t.Fatal(err)
			}
			if err := p.Begin(A, 1); err != nil {
				t.Fatal(err)
			}
		}, C},
		{"mapped server removed: moves", Options{}, []int{0, 5, 3}, func(t *testing.T, p *Pool) {
			if err := p.Remove(A); err != nil {
				t.Fatal(err)
			}
		}, C},
		{"options thresholds", Options{Low: 2, High: 4}, []int{5, 1, 3}, nil, B},
		{"options thresholds, no idle node", Options{Low: 2, High: 4}, []int{5, 2, 3}, nil, A},
		{"per-server high overrides", Options{}, []int{11, 40, 5}, func(t *testing.T, p *Pool) {
			p.At(0).High = 10
		}, C},
		{"per-server low overrides", Options{}, []int{61, 35, 40}, func(t *testing.T, p *Pool) {
			p.At(2).Low = 41
		}, B},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := locPool(t, tc.actives...)
			if tc.setup != nil {
				tc.setup(t, p)
			}
			s, err := NewLBLC(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			*s.table.insert("/a") = A
			ref := newLocNaiveLBLC(tc.opts)
			ref.server["/a"] = A
			before := slices.Clone(p.Servers())
			got, err := s.Schedule(0, &Request{Key: "/a"}, p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Schedule = %s, want %s", Letters(int(got)), Letters(int(tc.want)))
			}
			if id, _ := s.Lookup("/a"); id != tc.want {
				t.Errorf("mapping = %s, want %s", Letters(int(id)), Letters(int(tc.want)))
			}
			if want, _ := ref.Schedule(0, &Request{Key: "/a"}, p); want != got {
				t.Errorf("naive reference says %s", Letters(int(want)))
			}
			if !slices.Equal(before, p.Servers()) {
				t.Error("Schedule modified the pool")
			}
		})
	}
}

// Reference: §6.3.5. A scripted run through the host's Begin/End, with
// dynamic requests costing 2 units: the target sticks to its server while
// it is moderately loaded and moves once it passes the high threshold
// with an idle node available.
func TestLBLCScript(t *testing.T) {
	p := locPool(t, 0, 0, 0)
	s, err := NewLBLC(Options{Low: 2, High: 4})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		key  string
		cost int
		want ServerID
	}{
		{"/a", 2, 0}, // new target: least connection, lowest position on ties
		{"/b", 1, 1}, // new target: B and C idle, B first
		{"/a", 2, 0}, // A = 2 <= high: stays
		{"/a", 1, 0}, // A = 4 = high: stays
		{"/c", 1, 2}, // new: C (0)
		{"/a", 1, 1}, // A = 5 > 4 and B = 1 < 2: moves to B (least, first on tie with C)
		{"/a", 2, 1}, // B = 2: stays
	}
	for i, st := range steps {
		got, err := s.Schedule(time.Duration(i)*time.Second, &Request{Key: st.key, Cost: st.cost}, p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Fatalf("step %d (%s): got %s, want %s", i, st.key, Letters(int(got)), Letters(int(st.want)))
		}
		if err := p.Begin(got, (&Request{Cost: st.cost}).Units()); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3", s.Len())
	}
}

// Reference: §6.3.5 (no node qualifies -> ErrNoServer).
func TestLBLCNoServer(t *testing.T) {
	s, err := NewLBLC(Options{})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := NewPool()
	if _, err := s.Schedule(0, &Request{Key: "/"}, empty); !errors.Is(err, ErrNoServer) {
		t.Errorf("empty pool: err = %v, want ErrNoServer", err)
	}
	p := locPool(t, 0, 0)
	for _, id := range []ServerID{0, 1} {
		if err := p.SetDown(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Schedule(0, &Request{Key: "/"}, p); !errors.Is(err, ErrNoServer) {
		t.Errorf("all down: err = %v, want ErrNoServer", err)
	}
	if _, err := s.Schedule(0, nil, locPool(t, 0)); err != nil {
		t.Errorf("nil request: %v", err)
	}
}

// Reference: §6.3.5 (thresholds low/high, 30/60 by default, low below
// high; K = 60 s). Bad options are errors at construction.
func TestLocThresholdOptions(t *testing.T) {
	bad := []Options{{Low: -1}, {High: -1}, {Low: 40, High: 20}, {High: 20}}
	for _, o := range bad {
		if _, err := NewLBLC(o); err == nil {
			t.Errorf("NewLBLC(%+v): no error", o)
		}
		if _, err := NewLBLCR(o); err == nil {
			t.Errorf("NewLBLCR(%+v): no error", o)
		}
		if _, err := NewContentLBLCR(o); err == nil {
			t.Errorf("NewContentLBLCR(%+v): no error", o)
		}
	}
	if _, err := NewLBLCR(Options{SetExpiry: -time.Second}); err == nil {
		t.Error("NewLBLCR: negative SetExpiry accepted")
	}
}

// locScheduleFunc is one scheduler under differential test.
type locScheduleFunc func(now time.Duration, r *Request, p *Pool) (ServerID, error)

// locDiffConfig draws a random configuration for one differential run.
func locDiffOptions(rng *rand.Rand) Options {
	low := 1 + rng.IntN(3)
	return Options{Low: low, High: low + 1 + rng.IntN(4), SetExpiry: time.Duration(1+rng.IntN(8)) * time.Second}
}

// locDiffRun drives got and want in lockstep on one random pool and request
// stream, as a host does: every pick starts work with Pool.Begin (cost 1
// or 2), work ends at random, time advances, and servers go down, come
// back, change weight, get IPVS thresholds, join and leave. It fails at the
// first differing answer; check, if not nil, compares extra state.
func locDiffRun(t *testing.T, rng *rand.Rand, steps int, got, want locScheduleFunc, check func(now time.Duration, key string) error) {
	t.Helper()
	n := 1 + rng.IntN(8)
	servers := make([]Server, n)
	for i := range servers {
		servers[i] = Server{ID: ServerID(i), Weight: 1 + rng.IntN(3)}
		if rng.IntN(4) == 0 {
			servers[i].Low = 1 + rng.IntN(3)
			servers[i].High = servers[i].Low + 1 + rng.IntN(4)
		}
	}
	p, err := NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	nextID := ServerID(n)
	type work struct {
		id   ServerID
		cost int
	}
	var inflight []work
	keys := 1 + rng.IntN(20)
	now := time.Duration(0)
	for step := 0; step < steps; step++ {
		now += time.Duration(rng.IntN(1500)) * time.Millisecond
		switch op := rng.IntN(40); {
		case op < 22: // a request
			r := &Request{Key: fmt.Sprintf("/t%d", rng.IntN(1+rng.IntN(keys))), Cost: 1 + rng.IntN(2)}
			before, gen := slices.Clone(p.Servers()), p.Generation()
			g, gerr := got(now, r, p)
			w, werr := want(now, r, p)
			if !slices.Equal(before, p.Servers()) || gen != p.Generation() {
				t.Fatalf("step %d: Schedule modified the pool", step)
			}
			if (gerr == nil) != (werr == nil) || (gerr == nil && g != w) ||
				(gerr != nil && !errors.Is(gerr, ErrNoServer)) {
				t.Fatalf("step %d, now %v, %s: got (%v, %v), reference (%v, %v); pool %+v",
					step, now, r.Key, g, gerr, w, werr, p.Servers())
			}
			if check != nil {
				if err := check(now, r.Key); err != nil {
					t.Fatalf("step %d, now %v, %s: %v", step, now, r.Key, err)
				}
			}
			if gerr == nil {
				if err := p.Begin(g, r.Units()); err != nil {
					t.Fatal(err)
				}
				inflight = append(inflight, work{g, r.Units()})
			}
		case op < 34: // some work ends
			if len(inflight) == 0 {
				continue
			}
			i := rng.IntN(len(inflight))
			if err := p.End(inflight[i].id, inflight[i].cost); err != nil {
				t.Fatal(err)
			}
			inflight = slices.Delete(inflight, i, i+1)
		case op < 36: // health: down or back up
			if p.Len() > 0 {
				s := p.At(rng.IntN(p.Len()))
				if err := p.SetDown(s.ID, !s.Down); err != nil {
					t.Fatal(err)
				}
			}
		case op < 37: // weight change (0 quiesces)
			if p.Len() > 0 {
				if err := p.SetWeight(p.At(rng.IntN(p.Len())).ID, rng.IntN(3)); err != nil {
					t.Fatal(err)
				}
			}
		case op < 38: // IPVS connection thresholds (OVERLOAD flag)
			if p.Len() > 0 {
				up := rng.IntN(6)
				if err := p.SetThresholds(p.At(rng.IntN(p.Len())).ID, up, 0); err != nil {
					t.Fatal(err)
				}
			}
		case op < 39: // a server joins
			if err := p.Add(Server{ID: nextID, Weight: 1 + rng.IntN(3)}); err != nil {
				t.Fatal(err)
			}
			nextID++
		default: // a server leaves; its work is forgotten
			if p.Len() > 1 {
				id := p.At(rng.IntN(p.Len())).ID
				if err := p.Remove(id); err != nil {
					t.Fatal(err)
				}
				inflight = slices.DeleteFunc(inflight, func(w work) bool { return w.id == id })
			}
		}
	}
}

// Reference: §6.3.5. The optimised LBLC (lazy scans, cached usable list)
// agrees with the literal pseudo-code on randomized pools and streams.
func TestLBLCMatchesNaive(t *testing.T) {
	base := locBaseSeed(t)
	for run := uint64(0); run < 300; run++ {
		seed := base + run
		rng := rand.New(rand.NewPCG(seed, 0x1b1c))
		opts := locDiffOptions(rng)
		s, err := NewLBLC(opts)
		if err != nil {
			t.Fatal(err)
		}
		ref := newLocNaiveLBLC(opts)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			locDiffRun(t, rng, 400, s.Schedule, ref.Schedule, func(_ time.Duration, key string) error {
				g, gok := s.Lookup(key)
				w, wok := ref.server[key]
				if gok != wok || g != w {
					return fmt.Errorf("mapping %v,%v; reference %v,%v", g, gok, w, wok)
				}
				return nil
			})
		})
	}
}

func ExampleLBLC() {
	pool, _ := NewWeighted(1, 1, 1)
	s, _ := NewLBLC(Options{Low: 2, High: 4})
	for _, key := range []string{"/index.html", "/logo.png", "/index.html"} {
		id, _ := s.Schedule(0, &Request{Key: key}, pool)
		_ = pool.Begin(id, 1)
		fmt.Println(key, "->", pool.Get(id).Label(int(id)))
	}
	// Output:
	// /index.html -> A
	// /logo.png -> B
	// /index.html -> A
}

func benchmarkLocality(b *testing.B, name string, servers int) {
	s, err := New(name, Options{})
	if err != nil {
		b.Fatal(err)
	}
	weights := make([]int, servers)
	for i := range weights {
		weights[i] = 1
	}
	p, _ := NewWeighted(weights...)
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]Request, 4096)
	for i := range reqs {
		reqs[i] = Request{Key: fmt.Sprintf("/t%d", rng.IntN(1000))}
	}
	ring := make([]ServerID, 40*servers) // a closed system: 40 requests per server in flight
	for i := range ring {
		ring[i] = -1
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slot := i % len(ring)
		if ring[slot] >= 0 {
			_ = p.End(ring[slot], 1)
		}
		id, err := s.Schedule(time.Duration(i)*time.Millisecond, &reqs[i%len(reqs)], p)
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Begin(id, 1)
		ring[slot] = id
	}
}

func BenchmarkLBLC(b *testing.B) {
	for _, n := range []int{4, 16, 64, 256} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchmarkLocality(b, "lblc", n) })
	}
}

func BenchmarkLBLCR(b *testing.B) {
	for _, n := range []int{4, 16, 64, 256} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchmarkLocality(b, "lblcr", n) })
	}
}

func BenchmarkIPVSLBLC(b *testing.B) {
	for _, n := range []int{4, 16, 64, 256} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) { benchmarkLocality(b, "ipvs-lblc", n) })
	}
}
