package algorithms

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keyedSchedulers are the schedulers that keep a table keyed by request.
var keyedSchedulers = []string{"lblc", "lblcr", "content-lblcr", "lbll", "lbll-local", "lbll-cache", "ipvs-lblc", "ipvs-lblcr"}

// tableLen returns the number of entries in the tables of a scheduler
// that keeps tables keyed by request (all of them, for content-lblcr).
func tableLen(t *testing.T, s Scheduler) int {
	t.Helper()
	switch s := s.(type) {
	case *LBLC:
		return s.Len()
	case *LBLCR:
		return s.Len()
	case *LBLL:
		return s.sets.tab.Len()
	case *LBLLLocal:
		return s.sets.tab.Len()
	case *LBLLCache:
		return s.sets.tab.Len()
	case *ContentLBLCR:
		n := s.dflt.tab.Len()
		for _, c := range s.class {
			n += c.tab.Len()
		}
		return n
	case *IPVSLBLC:
		return s.Len()
	case *IPVSLBLCR:
		return s.Len()
	}
	t.Fatalf("%s keeps no table keyed by request", s.Name())
	return 0
}

// distinctRequests returns n requests for distinct URL targets (no
// destination address, so the IPVS schedulers key on the URL too).
func distinctRequests(n int) []Request {
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = Request{Key: "/u/" + strconv.Itoa(i), Cost: 1}
	}
	return reqs
}

// A live switch sees arbitrary URLs: a million distinct targets leave
// every table at its bound (Options.MaxEntries), and once the table is
// full, taking new targets (each dropping the least recently used one)
// allocates nothing per call.
func TestTablesBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	reqs := distinctRequests(n)
	const bound = 1000
	for _, name := range keyedSchedulers {
		t.Run(name, func(t *testing.T) {
			s, err := New(name, Options{MaxEntries: bound})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewWeighted(1, 2, 3, 4)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Duration(0)
			i := 0
			schedule := func() {
				now += time.Millisecond
				if _, err := s.Schedule(now, &reqs[i%len(reqs)], p); err != nil {
					t.Fatal(err)
				}
				i++
			}
			for range 4 * bound {
				schedule()
			}
			if got := tableLen(t, s); got != bound {
				t.Fatalf("after %d distinct targets: %d entries, want the bound %d", 4*bound, got, bound)
			}
			batch := func() {
				for range bound {
					schedule()
				}
			}
			// The entry, its value's storage and the key's map slot are
			// reused; the map itself may now and then reorganise its
			// slots (a few allocations per many thousand calls), which
			// the tolerance of one allocation per 100 calls admits.
			if allocs := testing.AllocsPerRun(5, batch); allocs > bound/100 {
				t.Errorf("%v allocations per %d new targets on a full table, want none per call", allocs, bound)
			}
			for i < n {
				schedule()
			}
			if got := tableLen(t, s); got != bound {
				t.Fatalf("after %d distinct targets: %d entries, want %d", n, got, bound)
			}
		})
	}
}

// The default bound is far above the thesis trace's 37,804 targets: they
// all keep their entries.
func TestTablesDefaultBound(t *testing.T) {
	if DefaultMaxEntries < 37804 {
		t.Fatalf("DefaultMaxEntries %d is below the thesis trace's 37,804 targets", DefaultMaxEntries)
	}
	reqs := distinctRequests(37804)
	for _, name := range []string{"lblc", "lblcr"} {
		s, err := New(name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := NewWeighted(1, 1, 1, 1)
		for i := range reqs {
			if _, err := s.Schedule(time.Duration(i)*time.Millisecond, &reqs[i], p); err != nil {
				t.Fatal(err)
			}
		}
		if got := tableLen(t, s); got != len(reqs) {
			t.Errorf("%s: %d entries for %d targets", name, got, len(reqs))
		}
	}
}

// A full table drops its least recently used entry, whatever the order of
// insertion: the target that was used last survives.
func TestTablesEvictLeastRecentlyUsed(t *testing.T) {
	for _, name := range keyedSchedulers {
		t.Run(name, func(t *testing.T) {
			s, err := New(name, Options{MaxEntries: 3})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := NewWeighted(1, 1)
			at := time.Duration(0)
			use := func(key string) {
				at += time.Second
				if _, err := s.Schedule(at, &Request{Key: key, Cost: 1}, p); err != nil {
					t.Fatal(err)
				}
			}
			for _, k := range []string{"/a", "/b", "/c", "/a", "/d"} {
				use(k)
			}
			var kept []string
			for _, k := range []string{"/a", "/b", "/c", "/d"} {
				if hasEntry(t, s, k) {
					kept = append(kept, k)
				}
			}
			if want := []string{"/a", "/c", "/d"}; !slices.Equal(kept, want) {
				t.Errorf("entries %v after a b c a d with room for 3, want %v", kept, want)
			}
		})
	}
}

// hasEntry reports whether scheduler s has an entry for key.
func hasEntry(t *testing.T, s Scheduler, key string) bool {
	t.Helper()
	r := &Request{Key: key}
	switch s := s.(type) {
	case *LBLC:
		_, ok := s.Lookup(key)
		return ok
	case *LBLCR:
		return s.sets.tab.peek(key) != nil
	case *LBLL:
		return s.sets.tab.peek(key) != nil
	case *LBLLLocal:
		return s.sets.tab.peek(key) != nil
	case *LBLLCache:
		return s.sets.tab.peek(key) != nil
	case *ContentLBLCR:
		return s.dflt.tab.peek(key) != nil
	case *IPVSLBLC:
		_, ok := s.Lookup(r)
		return ok
	case *IPVSLBLCR:
		return s.Set(r) != nil
	}
	t.Fatalf("%s keeps no table keyed by request", s.Name())
	return false
}

// An entry unused for Options.TableExpiry is dropped, and its target is
// scheduled as a new one: a target mapped to A, the only server when it
// was first seen, stays on A while it is requested within the expiry
// (although B, added later, is less loaded), and goes to B once it has
// not been requested for the expiry. The thesis schedulers drop it at
// exactly the expiry (ip_vs_lblc_full_check removes an entry whose
// lastuse + expiration is not after now); the IPVS ones at their next full
// check (every 30 minutes) at or after it.
func TestTablesExpire(t *testing.T) {
	const expiry = time.Hour
	for _, name := range keyedSchedulers {
		t.Run(name, func(t *testing.T) {
			s, err := New(name, Options{TableExpiry: expiry})
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPool(Server{ID: 0, Weight: 1})
			if err != nil {
				t.Fatal(err)
			}
			ask := func(now time.Duration) ServerID {
				t.Helper()
				id, err := s.Schedule(now, &Request{Key: "/a", Cost: 1}, p)
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			if id := ask(0); id != 0 {
				t.Fatalf("first request: server %d, want 0", id)
			}
			if err := p.Add(Server{ID: 1, Weight: 1}); err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(p.Begin(0, 1), p.SetLoad(0, 0.5)); err != nil { // A more loaded, not imbalanced
				t.Fatal(err)
			}
			last := time.Duration(0)
			for _, gap := range []time.Duration{expiry - time.Nanosecond, expiry / 2, expiry - time.Minute} {
				last += gap
				if id := ask(last); id != 0 {
					t.Fatalf("request %v after the previous one (within the expiry): server %d, want 0", gap, id)
				}
			}
			due := last + expiry
			if strings.HasPrefix(name, "ipvs-") {
				const full = ipvsLocFullEvery * ipvsLocCheckInterval // the kernel's full check, every 30 minutes
				due = (due + full - 1) / full * full
			}
			if id := ask(due); id != 1 {
				t.Fatalf("request at %v, unused since %v: server %d, want 1 (re-scheduled)", due, last, id)
			}
		})
	}
}

func TestTablesOptionErrors(t *testing.T) {
	for _, name := range keyedSchedulers {
		for _, o := range []Options{{MaxEntries: -1}, {TableExpiry: -time.Second}} {
			if _, err := New(name, o); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s with %+v: error %v, want one naming the scheduler", name, o, err)
			}
		}
	}
}

// keyTable against a naive model: a map of last uses, the oldest evicted
// first (ties broken by insertion order, which the list keeps), expired
// entries dropped at each advance. Random inserts, uses and time steps.
func TestKeyTableModel(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		max := 1 + rng.IntN(8)
		expire := time.Duration(1+rng.IntN(20)) * time.Second
		tab := newKeyTable[int](max, expire)
		type entry struct {
			val     int
			lastUse time.Duration
			seq     int // order of last use
		}
		model := map[string]*entry{}
		seq := 0
		now := time.Duration(0)
		for step := range 2000 {
			now += time.Duration(rng.IntN(3000)) * time.Millisecond
			tab.advance(now)
			for k, e := range model {
				if now-e.lastUse >= expire {
					delete(model, k)
				}
			}
			key := "k" + strconv.Itoa(rng.IntN(12))
			seq++
			if v := tab.use(key); v != nil {
				e := model[key]
				if e == nil || *v != e.val {
					t.Fatalf("seed %d step %d: use(%s) found %d, model %+v", seed, step, key, *v, e)
				}
				e.lastUse, e.seq = now, seq
				continue
			}
			if model[key] != nil {
				t.Fatalf("seed %d step %d: %s missing from the table", seed, step, key)
			}
			if len(model) >= max {
				oldest := ""
				for k, e := range model {
					if oldest == "" || e.seq < model[oldest].seq {
						oldest = k
					}
				}
				delete(model, oldest)
			}
			*tab.insert(key) = step
			model[key] = &entry{val: step, lastUse: now, seq: seq}
			if tab.Len() != len(model) {
				t.Fatalf("seed %d step %d: %d entries, model %d", seed, step, tab.Len(), len(model))
			}
			var order []string
			tab.all(func(k string, v *int) {
				if e := model[k]; e == nil || e.val != *v {
					t.Fatalf("seed %d step %d: entry %s=%d, model %+v", seed, step, k, *v, e)
				}
				order = append(order, k)
			})
			if !slices.IsSortedFunc(order, func(a, b string) int { return model[a].seq - model[b].seq }) {
				t.Fatalf("seed %d step %d: list %v is not in order of last use", seed, step, order)
			}
		}
	}
}

// Time never runs backwards for a table: an earlier now counts as the
// latest seen, so the list stays in order of last use.
func TestKeyTableTimeBackwards(t *testing.T) {
	tab := newKeyTable[int](10, 10*time.Second)
	tab.advance(20 * time.Second)
	*tab.insert("a") = 1
	if got := tab.advance(5 * time.Second); got != 20*time.Second {
		t.Errorf("advance(5s) after 20s = %v, want 20s", got)
	}
	*tab.insert("b") = 2
	tab.advance(29*time.Second + 999*time.Millisecond)
	if tab.Len() != 2 {
		t.Fatalf("%d entries before the expiry, want 2", tab.Len())
	}
	tab.advance(30 * time.Second)
	if tab.Len() != 0 {
		t.Errorf("%d entries at the expiry of both, want 0", tab.Len())
	}
}
