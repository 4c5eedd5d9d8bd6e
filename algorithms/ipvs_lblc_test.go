package algorithms

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// ipvsLocConns is one server's weight and connection counters.
type ipvsLocConns struct{ weight, active, inactive int }

func ipvsLocPool(t *testing.T, rows ...ipvsLocConns) *Pool {
	t.Helper()
	servers := make([]Server, len(rows))
	for i, r := range rows {
		servers[i] = Server{ID: ServerID(i), Weight: r.weight, Active: r.active, Inactive: r.inactive}
	}
	p, err := NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ipvsLocDest(s string) *Request { return &Request{Dest: netip.MustParseAddr(s)} }

// Reference: ip_vs_lblc.c __ip_vs_lblc_schedule: a new destination goes to
// the server with the least (active*256 + inactive)/weight, first on ties;
// weight 0 and overloaded servers are skipped.
func TestIPVSLBLCWeightedLeastConnection(t *testing.T) {
	tests := []struct {
		name  string
		rows  []ipvsLocConns
		setup func(p *Pool)
		want  ServerID
	}{
		{"all idle: first", []ipvsLocConns{{1, 0, 0}, {1, 0, 0}}, nil, 0},
		{"overhead counts inactive", []ipvsLocConns{{1, 1, 0}, {1, 0, 200}}, nil, 1},
		{"active dominates", []ipvsLocConns{{1, 1, 0}, {1, 0, 300}}, nil, 0},
		{"weighted", []ipvsLocConns{{1, 1, 0}, {2, 1, 100}, {3, 2, 0}}, nil, 2}, // 256, 178, 170.7
		{"tie on ratio: first", []ipvsLocConns{{1, 1, 0}, {2, 2, 0}}, nil, 0},
		{"weight 0 skipped", []ipvsLocConns{{0, 0, 0}, {1, 5, 0}}, nil, 1},
		{"down skipped", []ipvsLocConns{{1, 0, 0}, {1, 5, 0}}, func(p *Pool) { _ = p.SetDown(0, true) }, 1},
		{"overloaded skipped", []ipvsLocConns{{1, 0, 0}, {1, 5, 0}}, func(p *Pool) {
			_ = p.SetThresholds(0, 1, 0)
			_ = p.Begin(0, 1)
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ipvsLocPool(t, tc.rows...)
			if tc.setup != nil {
				tc.setup(p)
			}
			for _, name := range []string{"ipvs-lblc", "ipvs-lblcr"} {
				s, err := New(name, Options{})
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Schedule(0, ipvsLocDest("192.0.2.1"), p)
				if err != nil || got != tc.want {
					t.Errorf("%s: got (%d, %v), want %d", name, got, err, tc.want)
				}
			}
		})
	}
}

// Reference: ip_vs_lblc.c ip_vs_lblc_schedule and is_overloaded: a cached
// server is kept unless it is unusable, or it has more active connections
// than its weight while some server has fewer than half its weight.
func TestIPVSLBLCOverloadRule(t *testing.T) {
	const A, B, C = ServerID(0), ServerID(1), ServerID(2)
	tests := []struct {
		name  string
		rows  []ipvsLocConns
		setup func(p *Pool)
		want  ServerID
	}{
		{"busier than others but active <= weight: stays", []ipvsLocConns{{2, 2, 50}, {4, 0, 0}, {4, 0, 0}}, nil, A},
		{"active > weight, B has active*2 < weight: moves", []ipvsLocConns{{2, 3, 0}, {4, 1, 0}, {4, 2, 0}}, nil, B},
		{"active > weight, nobody below half weight: stays", []ipvsLocConns{{2, 9, 0}, {4, 2, 0}, {4, 3, 0}}, nil, A},
		{"half-weight server down does not count", []ipvsLocConns{{2, 3, 0}, {4, 0, 0}, {4, 2, 0}},
			func(p *Pool) { _ = p.SetDown(B, true) }, A},
		{"half-weight test counts an overloaded server", []ipvsLocConns{{2, 3, 0}, {4, 1, 0}, {4, 2, 0}},
			func(p *Pool) { _ = p.SetThresholds(B, 1, 0) }, C},
		{"cached server weight 0: moves", []ipvsLocConns{{2, 0, 0}, {4, 3, 0}, {4, 2, 0}},
			func(p *Pool) { _ = p.SetWeight(A, 0) }, C},
		{"cached server removed: moves", []ipvsLocConns{{2, 0, 0}, {4, 3, 0}, {4, 2, 0}},
			func(p *Pool) { _ = p.Remove(A) }, C},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ipvsLocPool(t, tc.rows...)
			s, _ := NewIPVSLBLC(Options{})
			r := ipvsLocDest("198.51.100.7")
			e := s.tab.insert(ipvsLocKeyOf(r), 0)
			e.dest = A
			if tc.setup != nil {
				tc.setup(p)
			}
			got, err := s.Schedule(time.Second, r, p)
			if err != nil || got != tc.want {
				t.Fatalf("got (%d, %v), want %d", got, err, tc.want)
			}
			if id, _ := s.Lookup(r); id != tc.want {
				t.Errorf("cached %d, want %d", id, tc.want)
			}
		})
	}
}

// Reference: ip_vs_lblc.c. Requests are keyed by destination address, and
// by Request.Key when there is none.
func TestIPVSLBLCKeys(t *testing.T) {
	p := ipvsLocPool(t, ipvsLocConns{1, 0, 0}, ipvsLocConns{1, 0, 0})
	s, _ := NewIPVSLBLC(Options{})
	step := func(r *Request, want ServerID) {
		t.Helper()
		got, err := s.Schedule(0, r, p)
		if err != nil || got != want {
			t.Fatalf("%+v: got (%d, %v), want %d", r, got, err, want)
		}
		_ = p.Begin(got, 1)
	}
	step(&Request{Dest: netip.MustParseAddr("10.0.0.1"), Key: "x"}, 0)
	step(&Request{Dest: netip.MustParseAddr("10.0.0.1"), Key: "y"}, 0) // same destination, other key
	step(&Request{Key: "x"}, 1)                                        // no destination: keyed by "x", new
	step(&Request{Key: "x"}, 1)
	step(&Request{Dest: netip.MustParseAddr("2001:db8::1")}, 0) // a new destination: least loaded (2 vs 2: first)
	if s.Len() != 3 {
		t.Errorf("Len = %d, want 3", s.Len())
	}
	empty, _ := NewPool()
	if _, err := s.Schedule(0, &Request{Key: "z"}, empty); !errors.Is(err, ErrNoServer) {
		t.Errorf("empty pool: %v", err)
	}
}

// Reference: ip_vs_lblc.c ip_vs_lblc_check_expire / ip_vs_lblc_full_check.
// The timer ticks every 60 s; every 30th tick (each half hour) removes
// entries unused for the expiration (24 h by default).
func TestIPVSLBLCExpiry(t *testing.T) {
	min := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	tests := []struct {
		name    string
		expiry  time.Duration
		lastUse time.Duration
		present time.Duration // last time the entry is still there
		gone    time.Duration // first time it is gone
	}{
		{"default 24 h, used at 1 min: next full check at 24 h 30 min", 0, min(1), min(24*60 + 29), min(24*60 + 30)},
		{"default 24 h, used at 0: removed at the 24 h check", 0, 0, min(24*60) - 1, min(24 * 60)},
		{"10 min, used at 25 min: kept at 30 min, removed at 60 min", min(10), min(25), min(60) - 1, min(60)},
		{"10 min, used at 20 min: removed at 30 min", min(10), min(20), min(30) - 1, min(30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, build := range []func(Options) (Scheduler, error){
				func(o Options) (Scheduler, error) { return NewIPVSLBLC(o) },
				func(o Options) (Scheduler, error) { return NewIPVSLBLCR(o) },
			} {
				s, err := build(Options{TableExpiry: tc.expiry})
				if err != nil {
					t.Fatal(err)
				}
				p := ipvsLocPool(t, ipvsLocConns{1, 0, 0})
				other := &Request{Key: "probe"}
				if _, err := s.Schedule(tc.lastUse, &Request{Key: "target"}, p); err != nil {
					t.Fatal(err)
				}
				has := func(now time.Duration) bool {
					// Drive the timer with another key, then look.
					if _, err := s.Schedule(now, other, p); err != nil {
						t.Fatal(err)
					}
					switch s := s.(type) {
					case *IPVSLBLC:
						_, ok := s.Lookup(&Request{Key: "target"})
						return ok
					case *IPVSLBLCR:
						return s.Set(&Request{Key: "target"}) != nil
					}
					panic("unreachable")
				}
				if !has(tc.present) {
					t.Errorf("%s: entry gone at %v", s.Name(), tc.present)
				}
				if has(tc.gone) {
					t.Errorf("%s: entry still there at %v", s.Name(), tc.gone)
				}
			}
		})
	}
}

// Reference: ip_vs_lblc.c. The expiry follows now, not the order of
// calls: a jump of days runs the missed checks, and an earlier now is
// treated as the latest seen.
func TestIPVSLBLCTimeJumps(t *testing.T) {
	s, _ := NewIPVSLBLC(Options{})
	p := ipvsLocPool(t, ipvsLocConns{1, 0, 0})
	for i := range 5 {
		if _, err := s.Schedule(time.Duration(i)*time.Hour, &Request{Key: fmt.Sprint(i)}, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Schedule(27*time.Hour+30*time.Minute, &Request{Key: "late"}, p); err != nil {
		t.Fatal(err)
	}
	// Entries used at 0..3 h are older than 24 h at the 27 h 30 min check; the one at 4 h is not.
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2 (entry 4 and late)", s.Len())
	}
	if _, err := s.Schedule(time.Hour, &Request{Key: "4"}, p); err != nil { // time runs backwards: treated as 27 h 30 min
		t.Fatal(err)
	}
	if _, err := s.Schedule(51*time.Hour+29*time.Minute, &Request{Key: "late"}, p); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(&Request{Key: "4"}); !ok {
		t.Error("entry 4, used at (raised) 27 h 30 min, expired by 51 h 29 min")
	}
	if _, err := s.Schedule(1000*24*time.Hour, &Request{Key: "x"}, p); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("after 1000 days Len = %d, want 1", s.Len())
	}
}

// Reference: ip_vs_lblc.c ip_vs_lblc_check_expire, over-full branch: when
// the table holds more than max_size entries, each tick removes entries
// unused for ENTRY_TIMEOUT (6 min), at most (entries-max)*4/3 of them, and
// full checks wait until the table is back under the limit.
func TestIPVSLBLCOverfullCollection(t *testing.T) {
	s, _ := NewIPVSLBLC(Options{})
	s.tab.maxSize = 10
	p := ipvsLocPool(t, ipvsLocConns{1, 0, 0})
	for i := range 15 {
		if _, err := s.Schedule(time.Duration(i)*time.Second, &Request{Key: fmt.Sprint(i)}, p); err != nil {
			t.Fatal(err)
		}
	}
	// Ticks at 1..6 min: nothing is 6 min old before the 6 min tick
	// (entry i was used at i seconds).
	if _, err := s.Schedule(6*time.Minute-time.Second, &Request{Key: "0"}, p); err != nil { // refreshes entry 0
		t.Fatal(err)
	}
	if s.Len() != 15 {
		t.Fatalf("Len = %d before 6 min, want 15", s.Len())
	}
	// The 6 min tick: entry i (used at i s) is 6 min old only for i = 0,
	// which was just refreshed: nothing goes.
	if _, err := s.Schedule(6*time.Minute, &Request{Key: "x"}, p); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 16 {
		t.Fatalf("Len = %d at 6 min, want 16", s.Len())
	}
	// The 7 min tick: entries 1..14 are old; goal (16-10)*4/3 = 8 is capped
	// at max/2 = 5: entries 1..5 go, least recently used first.
	if _, err := s.Schedule(7*time.Minute, &Request{Key: "y"}, p); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 12 {
		t.Fatalf("Len = %d at 7 min, want 12", s.Len())
	}
	// The 8 min tick: goal (12-10)*4/3 = 2: entries 6 and 7 go.
	if _, err := s.Schedule(8*time.Minute, &Request{Key: "z"}, p); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 11 {
		t.Fatalf("Len = %d at 8 min, want 11", s.Len())
	}
	for i := range 15 {
		_, ok := s.Lookup(&Request{Key: fmt.Sprint(i)})
		if want := i == 0 || i > 7; ok != want {
			t.Errorf("entry %d present = %v, want %v", i, ok, want)
		}
	}
}

// Reference: ip_vs_lblcr.c ip_vs_lblcr_schedule. The set gains the
// weighted least-connection server when its least-loaded member is
// overloaded (is_overloaded) or none is usable, and sheds its most-loaded
// member (weight > 0) when it has several and was not modified for the
// set expiry; the shrink runs before the overload test.
func TestIPVSLBLCRSet(t *testing.T) {
	const A, B, C = ServerID(0), ServerID(1), ServerID(2)
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	p := ipvsLocPool(t, ipvsLocConns{2, 0, 0}, ipvsLocConns{2, 0, 0}, ipvsLocConns{4, 0, 0})
	s, err := NewIPVSLBLCR(Options{SetExpiry: 100 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := ipvsLocDest("203.0.113.9")
	steps := []struct {
		now     time.Duration
		actives []int
		want    ServerID
		set     []ServerID
	}{
		{sec(0), nil, A, []ServerID{A}},
		{sec(1), []int{2, 0, 0}, A, []ServerID{A}},         // active = weight: not overloaded
		{sec(2), []int{3, 0, 2}, B, []ServerID{A, B}},      // A 3 > 2 and B 0*2 < 2: the WLC pick B (0) joins
		{sec(3), []int{3, 3, 1}, C, []ServerID{A, B, C}},   // least member A (ties B, first) overloaded, C 1*2 < 4: C joins
		{sec(103), []int{3, 3, 1}, C, []ServerID{A, B, C}}, // exactly the expiry after lastMod: no shrink
		{sec(103) + 1, nil, C, []ServerID{B, C}},           // strictly later: A and B tie for most (3/2), A goes
		{sec(104), []int{0, 3, 5}, A, []ServerID{A, B, C}}, // least member C (5/4) overloaded; A, not a member, has 0*2 < 2: A joins
		{sec(205), []int{0, 3, 5}, A, []ServerID{A, C}},    // shrink drops B (3/2 > 5/4); A serves
		{sec(306), []int{2, 3, 4}, A, []ServerID{C}},       // A and C tie at 1: A is least and most; erased, yet it serves
	}
	for i, st := range steps {
		if st.actives != nil {
			locSetActive(t, p, st.actives...)
		}
		got, err := s.Schedule(st.now, r, p)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d (now %v): got %s, want %s", i, st.now, Letters(int(got)), Letters(int(st.want)))
		}
		if set := s.Set(r); !slices.Equal(locSorted(set), locSorted(st.set)) {
			t.Errorf("step %d (now %v): set %v, want %v", i, st.now, set, st.set)
		}
	}
}

// Reference: ip_vs_lblcr.c. Without Options.SetExpiry the set expiry is
// the table expiry (lblcr_expiration, 24 h).
func TestIPVSLBLCRDefaultSetExpiry(t *testing.T) {
	s, _ := NewIPVSLBLCR(Options{})
	if s.setExpiry != DefaultTableExpiry {
		t.Errorf("set expiry %v, want %v", s.setExpiry, DefaultTableExpiry)
	}
	s, _ = NewIPVSLBLCR(Options{TableExpiry: time.Hour})
	if s.setExpiry != time.Hour {
		t.Errorf("set expiry %v, want 1h", s.setExpiry)
	}
	for _, o := range []Options{{TableExpiry: -1}, {SetExpiry: -1}} {
		if _, err := NewIPVSLBLCR(o); err == nil {
			t.Errorf("NewIPVSLBLCR(%+v): no error", o)
		}
		if _, err := NewIPVSLBLC(o); err == nil && o.TableExpiry < 0 {
			t.Errorf("NewIPVSLBLC(%+v): no error", o)
		}
	}
}
