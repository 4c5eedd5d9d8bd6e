package algorithms

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// lbllCase is one row of the LBLL tables: a pool of servers A, B, C with
// the given loads (and some down), the target "/a"'s server set before the
// request (nil: none), the request at now, and the expected answer and set.
type lbllCase struct {
	name    string
	loads   []float64
	down    []ServerID
	set     []ServerID    // "/a"'s set before, modified at time 0
	now     time.Duration // request time
	req     Request       // Key "/a" is filled in
	want    ServerID
	wantErr error // ErrBypass or ErrNoServer
	after   []ServerID
}

// lbllSets is implemented by the three LBLL schedulers (they embed LBLL).
type lbllSets interface {
	Scheduler
	lbllTable() *locSets
}

func (s *LBLL) lbllTable() *locSets { return &s.sets }

func runLBLLCases(t *testing.T, build func() lbllSets, cases []lbllCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			servers := make([]Server, len(tc.loads))
			for i, l := range tc.loads {
				servers[i] = Server{ID: ServerID(i), Weight: 1, Load: l}
			}
			p, err := NewPool(servers...)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tc.down {
				if err := p.SetDown(id, true); err != nil {
					t.Fatal(err)
				}
			}
			s := build()
			if tc.set != nil {
				*s.lbllTable().tab.insert("/a") = locSet{members: slices.Clone(tc.set)}
			}
			r := tc.req
			r.Key = "/a"
			got, err := s.Schedule(tc.now, &r, p)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got (%d, %v), want %v", got, err, tc.wantErr)
				}
			case err != nil || got != tc.want:
				t.Errorf("got (%v, %v), want %s", got, err, Letters(int(tc.want)))
			}
			if set := locSorted(s.lbllTable().members("/a")); !slices.Equal(set, tc.after) {
				t.Errorf("set %v, want %v", set, tc.after)
			}
		})
	}
}

const (
	lbllA, lbllB, lbllC = ServerID(0), ServerID(1), ServerID(2)
	lbllK               = 61 * time.Second // more than the default K
)

// Reference: §7.3.1 (LBLL, dedicated distributors): LBLC/R on measured
// load with threshold T = 1: grow on (n.load > T && some node.load < T/2)
// || n.load >= 2T, shed the most loaded member after K.
func TestLBLL(t *testing.T) {
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLL(Options{}); return s }, []lbllCase{
		{name: "new target: least loaded", loads: []float64{0.4, 0.2, 0.2}, want: lbllB, after: []ServerID{lbllB}},
		{name: "member at T stays", loads: []float64{1, 0, 0}, set: []ServerID{lbllA}, want: lbllA, after: []ServerID{lbllA}},
		{name: "above T, nobody below T/2: stays", loads: []float64{1.5, 0.5, 0.6}, set: []ServerID{lbllA}, want: lbllA, after: []ServerID{lbllA}},
		{name: "above T, a node below T/2: least loaded joins", loads: []float64{1.5, 0.6, 0.4}, set: []ServerID{lbllA}, want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "at 2T: least loaded joins without an idle node", loads: []float64{2, 0.6, 0.9}, set: []ServerID{lbllA}, want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "least loaded member is the one tested", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lbllA, lbllB}, want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "after K the most loaded member leaves", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lbllA, lbllB}, now: lbllK, want: lbllB, after: []ServerID{lbllB}},
		{name: "at K it stays", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lbllA, lbllB}, now: 60 * time.Second, want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "no usable member: least loaded joins", loads: []float64{0.1, 0.9, 0.5}, down: []ServerID{lbllA}, set: []ServerID{lbllA}, want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "all down", loads: []float64{0, 0, 0}, down: []ServerID{lbllA, lbllB, lbllC}, wantErr: ErrNoServer},
	})
}

// Reference: §7.3.1 (co-located distributors): the local node serves while
// its load is below T; otherwise the set's least loaded member, and on
// n.load > T the local node (if below T) or the least loaded node joins.
func TestLBLLLocal(t *testing.T) {
	local := func(id ServerID) Request { return Request{Local: id, HasLocal: true} }
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLLLocal(Options{}); return s }, []lbllCase{
		{name: "new target, local below T: local", loads: []float64{0, 0, 0.9}, req: local(lbllC), want: lbllC, after: []ServerID{lbllC}},
		{name: "new target, local at T: least loaded", loads: []float64{0.2, 0, 1}, req: local(lbllC), want: lbllB, after: []ServerID{lbllB}},
		{name: "local member below T beats a less loaded member", loads: []float64{0.1, 0, 0.8}, set: []ServerID{lbllA, lbllC}, req: local(lbllC), want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "local not a member, least member at T: member", loads: []float64{1, 0, 0.2}, set: []ServerID{lbllA}, req: local(lbllC), want: lbllA, after: []ServerID{lbllA}},
		{name: "least member above T: local joins", loads: []float64{1.2, 0, 0.5}, set: []ServerID{lbllA}, req: local(lbllC), want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "least member above T, local at T: least loaded joins", loads: []float64{1.2, 0.3, 1}, set: []ServerID{lbllA}, req: local(lbllC), want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "least member above T, no T/2 clause needed", loads: []float64{1.05, 0.9, 0.9}, set: []ServerID{lbllA}, req: local(lbllC), want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "local down is never chosen", loads: []float64{1.2, 0.3, 0.1}, down: []ServerID{lbllC}, set: []ServerID{lbllA}, req: local(lbllC), want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "local not in the pool", loads: []float64{1.2, 0.3, 0.1}, set: []ServerID{lbllA}, req: local(9), want: lbllC, after: []ServerID{lbllA, lbllC}},
		{name: "local member serves and the set sheds after K", loads: []float64{0.9, 0.2, 0}, set: []ServerID{lbllA, lbllB}, now: lbllK, req: local(lbllB), want: lbllB, after: []ServerID{lbllB}},
		{name: "no local node: plain LBLL (needs a node below T/2)", loads: []float64{1.2, 0.6, 0.7}, set: []ServerID{lbllA}, want: lbllA, after: []ServerID{lbllA}},
		{name: "all down", loads: []float64{0, 0, 0}, down: []ServerID{lbllA, lbllB, lbllC}, req: local(lbllA), wantErr: ErrNoServer},
	})
}

// Reference: §7.5.4 (cache-oriented LBLL): non-cacheable requests bypass
// the caches; a request whose least loaded cache is above T goes to the
// least loaded node if some node's load is <= T/2, and to the origin
// otherwise; the set is still maintained when bypassing.
func TestLBLLCache(t *testing.T) {
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLLCache(Options{}); return s }, []lbllCase{
		{name: "non-cacheable: origin, no state", loads: []float64{0, 0, 0}, req: Request{NoCache: true}, wantErr: ErrBypass},
		{name: "new target: least loaded cache", loads: []float64{0.3, 0.2, 0.1}, want: lbllC, after: []ServerID{lbllC}},
		{name: "normal: the target's cache", loads: []float64{0.9, 0, 0}, set: []ServerID{lbllA}, want: lbllA, after: []ServerID{lbllA}},
		{name: "above T, a node at T/2: it joins", loads: []float64{1.5, 0.5, 0.6}, set: []ServerID{lbllA}, want: lbllB, after: []ServerID{lbllA, lbllB}},
		{name: "above T, no node <= T/2: origin", loads: []float64{1.5, 0.6, 0.7}, set: []ServerID{lbllA}, wantErr: ErrBypass, after: []ServerID{lbllA}},
		{name: "2T is no special case: origin", loads: []float64{3, 0.6, 0.7}, set: []ServerID{lbllA}, wantErr: ErrBypass, after: []ServerID{lbllA}},
		{name: "bypass still sheds after K", loads: []float64{1.5, 1.2, 0.9}, set: []ServerID{lbllA, lbllB}, now: lbllK, wantErr: ErrBypass, after: []ServerID{lbllB}},
		{name: "all caches down", loads: []float64{0, 0, 0}, down: []ServerID{lbllA, lbllB, lbllC}, wantErr: ErrNoServer},
	})
}

// Reference: §7.3.1 (T, "一个可设定的服务器负载的阀值"). Bad thresholds are
// errors at construction; 0 selects the default 1.
func TestLBLLOptions(t *testing.T) {
	for _, th := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := NewLBLL(Options{Threshold: th}); err == nil {
			t.Errorf("NewLBLL(Threshold %v): no error", th)
		}
	}
	s, err := NewLBLLCache(Options{Threshold: 4})
	if err != nil || s.Threshold() != 4 {
		t.Errorf("Threshold = %v, %v; want 4", s.Threshold(), err)
	}
	if d, _ := NewLBLL(Options{}); d.Threshold() != DefaultThreshold {
		t.Errorf("default threshold %v", d.Threshold())
	}
}

// Reference: §7.3.1. The scheduler reads the host's load reports
// (Pool.SetLoad) as they change.
func TestLBLLFollowsLoadReports(t *testing.T) {
	p, _ := NewWeighted(1, 1, 1)
	s, _ := NewLBLL(Options{Threshold: 2})
	get := func(now time.Duration) ServerID {
		t.Helper()
		id, err := s.Schedule(now, &Request{Key: "/a"}, p)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if id := get(0); id != lbllA {
		t.Fatalf("first: %d", id)
	}
	_ = p.SetLoad(lbllA, 2.5)
	_ = p.SetLoad(lbllB, 1.5)
	_ = p.SetLoad(lbllC, 0.5)
	if id := get(time.Second); id != lbllC { // 2.5 > 2 and C 0.5 < 1
		t.Fatalf("after reports: %d, want C", id)
	}
	if got := locSorted(s.Set("/a")); !slices.Equal(got, []ServerID{lbllA, lbllC}) {
		t.Errorf("set %v", got)
	}
}

func ExampleLBLLCache() {
	pool, _ := NewWeighted(1, 1)
	s, _ := NewLBLLCache(Options{Threshold: 1})
	show := func(r *Request) {
		id, err := s.Schedule(0, r, pool)
		switch {
		case errors.Is(err, ErrBypass):
			fmt.Println(r.Key, "-> origin")
		case err != nil:
			fmt.Println(r.Key, "->", err)
		default:
			fmt.Println(r.Key, "->", pool.Get(id).Label(int(id)))
		}
	}
	show(&Request{Key: "/cgi-bin/search", NoCache: true})
	show(&Request{Key: "/logo.png"})
	_ = pool.SetLoad(0, 1.5) // A, the logo's cache, is overloaded
	_ = pool.SetLoad(1, 0.8) // and B is not lightly loaded either
	show(&Request{Key: "/logo.png"})
	_ = pool.SetLoad(1, 0.4) // now B is
	show(&Request{Key: "/logo.png"})
	// Output:
	// /cgi-bin/search -> origin
	// /logo.png -> A
	// /logo.png -> origin
	// /logo.png -> B
}
