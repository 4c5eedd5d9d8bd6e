package algorithms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// locNaiveLBLCR is the LBLC/R pseudo-code of thesis §6.3.5 transcribed
// literally: a set per target held as a plain map, every "least" and
// "most" found by a scan of the whole pool in pool order. The points the
// thesis leaves open are resolved as LBLCR documents: only usable members
// can be n, a set without usable members is treated as overloaded, the
// most-connection member is any member in the pool, members that left the
// pool are dropped (a change). Reference for TestLBLCRMatchesNaive.
type locNaiveLBLCR struct {
	lblc *locNaiveLBLC // thresholds
	k    time.Duration
	sets map[string]*locNaiveSet
}

type locNaiveSet struct {
	members map[ServerID]bool
	lastMod time.Duration
}

func newLocNaiveLBLCR(o Options) *locNaiveLBLCR {
	k := o.SetExpiry
	if k == 0 {
		k = 60 * time.Second
	}
	return &locNaiveLBLCR{lblc: newLocNaiveLBLC(o), k: k, sets: map[string]*locNaiveSet{}}
}

func (n *locNaiveLBLCR) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	all := func(Server) bool { return true }
	set := n.sets[r.Key]
	changed := false
	if set != nil {
		for id := range set.members {
			if _, ok := locNaiveFind(p, id); !ok {
				delete(set.members, id)
				changed = true
			}
		}
	}
	if set == nil || len(set.members) == 0 {
		least, ok := locNaiveLeastConn(p, all)
		if !ok {
			if changed {
				set.lastMod = now
			}
			return 0, ErrNoServer
		}
		if set == nil {
			set = &locNaiveSet{members: map[ServerID]bool{}}
			n.sets[r.Key] = set
		}
		set.members[least] = true
		set.lastMod = now
		return least, nil
	}
	inSet := func(s Server) bool { return set.members[s.ID] }
	someBelowLow := false
	for _, s := range p.Servers() {
		if s.Usable() && s.Active < n.lblc.lowOf(s) {
			someBelowLow = true
		}
	}
	id, ok := locNaiveLeastConn(p, inSet)
	cur, _ := locNaiveFind(p, id)
	if !ok || (cur.Active > n.lblc.highOf(cur) && someBelowLow) || cur.Active >= 2*n.lblc.highOf(cur) {
		least, ok := locNaiveLeastConn(p, all)
		if !ok {
			if changed {
				set.lastMod = now
			}
			return 0, ErrNoServer
		}
		id = least
		if !set.members[least] {
			set.members[least] = true
			changed = true
		}
	}
	if len(set.members) > 1 && now-set.lastMod > n.k {
		var most *Server
		for _, s := range p.Servers() {
			if set.members[s.ID] && (most == nil || s.Active > most.Active) {
				most = &s
			}
		}
		delete(set.members, most.ID)
		changed = true
	}
	if changed {
		set.lastMod = now
	}
	return id, nil
}

func (n *locNaiveLBLCR) set(key string) []ServerID {
	s := n.sets[key]
	if s == nil {
		return nil
	}
	var ids []ServerID
	for id := range s.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func locSorted(ids []ServerID) []ServerID {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// locStep is one row of a scripted locality test: at time now, with the
// servers' active counts (or loads) set first, schedule key and expect
// want (or an error) and the resulting set.
type locStep struct {
	now     time.Duration
	actives []int
	key     string
	want    ServerID
	set     []ServerID // sorted
}

func runLBLCRSteps(t *testing.T, s *LBLCR, p *Pool, steps []locStep) {
	t.Helper()
	for i, st := range steps {
		if st.actives != nil {
			locSetActive(t, p, st.actives...)
		}
		got, err := s.Schedule(st.now, &Request{Key: st.key}, p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d (now %v): got %s, want %s", i, st.now, Letters(int(got)), Letters(int(st.want)))
		}
		if set := locSorted(s.Set(st.key)); !slices.Equal(set, st.set) {
			t.Errorf("step %d (now %v): set %v, want %v", i, st.now, set, st.set)
		}
	}
}

// Reference: §6.3.5 (LBLC/R). The set grows by the globally
// least-connection node when its least-connection member fails the
// imbalance test, and only then.
func TestLBLCRAddOnImbalance(t *testing.T) {
	const A, B, C, D = ServerID(0), ServerID(1), ServerID(2), ServerID(3)
	p := locPool(t, 0, 0, 0, 0)
	s, err := NewLBLCR(Options{Low: 2, High: 4, SetExpiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runLBLCRSteps(t, s, p, []locStep{
		{0, nil, "/a", A, []ServerID{A}},                             // new target: least connection, first on ties
		{1, []int{4, 0, 0, 0}, "/a", A, []ServerID{A}},               // A at high: stays
		{2, []int{5, 2, 3, 2}, "/a", A, []ServerID{A}},               // A > high but nobody < low: stays
		{3, []int{5, 2, 1, 3}, "/a", C, []ServerID{A, C}},            // A > high, C < low: C joins and serves
		{4, []int{5, 2, 2, 3}, "/a", C, []ServerID{A, C}},            // least member C (2) is fine: no change
		{5, []int{6, 7, 8, 7}, "/a", A, []ServerID{A, C}},            // least member A (6): > high, nobody < low
		{6, []int{8, 7, 9, 7}, "/a", B, []ServerID{A, B, C}},         // A = 8 = 2*high: least node B joins
		{7, []int{8, 9, 9, 1}, "/a", D, []ServerID{A, B, C, D}},      // least member A (8) >= 2*high: D joins
		{8, []int{3, 9, 9, 4}, "/a", A, []ServerID{A, B, C, D}},      // least member is now A (3 <= high)
		{9, nil, "/b", A, []ServerID{A}},                             // another target: its own set
		{10, []int{3, 9, 9, 0}, "/a", D, []ServerID{A, B, C, D}},     // least member D
		{11, []int{10, 10, 10, 10}, "/a", A, []ServerID{A, B, C, D}}, // all overloaded, least member A, least node A: no change
	})
}

// Reference: §6.3.5 (LBLC/R). A set with several members that has not
// changed for more than K sheds its most-connection member, one per
// request; lastMod moves on every change, so the next shed waits K again.
func TestLBLCRShedAfterK(t *testing.T) {
	const A, B, C = ServerID(0), ServerID(1), ServerID(2)
	const K = 60 * time.Second
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	p := locPool(t, 0, 0, 0)
	s, err := NewLBLCR(Options{Low: 2, High: 4}) // K defaults to 60 s
	if err != nil {
		t.Fatal(err)
	}
	runLBLCRSteps(t, s, p, []locStep{
		{sec(0), nil, "/a", A, []ServerID{A}},
		{sec(10), []int{5, 1, 3}, "/a", B, []ServerID{A, B}},                       // B joins at 10 s
		{sec(20), []int{7, 6, 1}, "/a", C, []ServerID{A, B, C}},                    // least member B (6) > high, C < low: C joins at 20 s
		{sec(20) + K, []int{5, 4, 2}, "/a", C, []ServerID{A, B, C}},                // exactly K after: not yet
		{sec(20) + K + time.Nanosecond, []int{5, 4, 2}, "/a", C, []ServerID{B, C}}, // more than K: A (5) leaves
		{sec(21) + K, []int{5, 4, 2}, "/a", C, []ServerID{B, C}},                   // lastMod moved: wait K again
		{sec(20) + 2*K + time.Second, []int{5, 4, 2}, "/a", C, []ServerID{C}},      // B (4) leaves
		{sec(500), nil, "/a", C, []ServerID{C}},                                    // a single member stays forever
	})
	// Ties for the most-connection member go to the earliest in the pool.
	p2 := locPool(t, 0, 0, 0)
	s2, _ := NewLBLCR(Options{Low: 2, High: 4})
	runLBLCRSteps(t, s2, p2, []locStep{
		{0, nil, "/a", A, []ServerID{A}},
		{sec(1), []int{5, 1, 1}, "/a", B, []ServerID{A, B}},
		{sec(2), []int{3, 5, 1}, "/a", A, []ServerID{A, B}},
		{sec(2) + K, []int{3, 3, 1}, "/a", A, []ServerID{B}}, // A and B tie at 3: A (first) leaves, A still serves
	})
}

// Reference: §6.3.5 (LBLC/R). The shrink test reads lastMod as it was
// before the request, as in the pseudo-code: a set idle for more than K
// that gains a node sheds its most-loaded one in the same request.
func TestLBLCRAddAndShedTogether(t *testing.T) {
	const A, C = ServerID(0), ServerID(2)
	p := locPool(t, 0, 0, 0)
	s, _ := NewLBLCR(Options{Low: 2, High: 4})
	runLBLCRSteps(t, s, p, []locStep{
		{0, nil, "/a", A, []ServerID{A}},
		{100 * time.Second, []int{9, 3, 0}, "/a", C, []ServerID{C}}, // A >= 2*high: C joins, A (most) leaves
	})
}

// Reference: §6.3.5, with ip_vs_lblcr.c for unusable members: a set whose
// members are all unusable gets the least-connection node; a member that
// left the pool is dropped.
func TestLBLCRUnusableMembers(t *testing.T) {
	const A, B, C = ServerID(0), ServerID(1), ServerID(2)
	p := locPool(t, 0, 0, 0)
	s, _ := NewLBLCR(Options{Low: 2, High: 4})
	runLBLCRSteps(t, s, p, []locStep{{0, nil, "/a", A, []ServerID{A}}})
	if err := p.SetDown(A, true); err != nil {
		t.Fatal(err)
	}
	runLBLCRSteps(t, s, p, []locStep{{1, []int{0, 3, 2}, "/a", C, []ServerID{A, C}}})
	if err := p.Remove(A); err != nil {
		t.Fatal(err)
	}
	runLBLCRSteps(t, s, p, []locStep{{2, nil, "/a", C, []ServerID{C}}})
	for _, id := range []ServerID{B, C} {
		if err := p.SetDown(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Schedule(3, &Request{Key: "/a"}, p); !errors.Is(err, ErrNoServer) {
		t.Errorf("all down: err = %v, want ErrNoServer", err)
	}
}

// Reference: §6.3.5. The optimised LBLC/R agrees with the literal
// pseudo-code, answers and sets, on randomized pools and streams with
// time advancing past K.
func TestLBLCRMatchesNaive(t *testing.T) {
	base := locBaseSeed(t)
	for run := uint64(0); run < 300; run++ {
		seed := base + run
		rng := rand.New(rand.NewPCG(seed, 0x1b1c5))
		opts := locDiffOptions(rng)
		s, err := NewLBLCR(opts)
		if err != nil {
			t.Fatal(err)
		}
		ref := newLocNaiveLBLCR(opts)
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			locDiffRun(t, rng, 400, s.Schedule, ref.Schedule, func(_ time.Duration, key string) error {
				if g, w := locSorted(s.Set(key)), ref.set(key); !slices.Equal(g, w) {
					return fmt.Errorf("set %v, reference %v", g, w)
				}
				return nil
			})
		})
	}
}
