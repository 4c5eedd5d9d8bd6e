package algorithms

import (
	"errors"
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
				s.lbllTable().sets["/a"] = &locSet{members: slices.Clone(tc.set)}
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
	lA, lB, lC = ServerID(0), ServerID(1), ServerID(2)
	lK         = 61 * time.Second // more than the default K
)

// Reference: §7.3.1 (LBLL, dedicated distributors): LBLC/R on measured
// load with threshold T = 1: grow on (n.load > T && some node.load < T/2)
// || n.load >= 2T, shed the most loaded member after K.
func TestLBLL(t *testing.T) {
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLL(Options{}); return s }, []lbllCase{
		{name: "new target: least loaded", loads: []float64{0.4, 0.2, 0.2}, want: lB, after: []ServerID{lB}},
		{name: "member at T stays", loads: []float64{1, 0, 0}, set: []ServerID{lA}, want: lA, after: []ServerID{lA}},
		{name: "above T, nobody below T/2: stays", loads: []float64{1.5, 0.5, 0.6}, set: []ServerID{lA}, want: lA, after: []ServerID{lA}},
		{name: "above T, a node below T/2: least loaded joins", loads: []float64{1.5, 0.6, 0.4}, set: []ServerID{lA}, want: lC, after: []ServerID{lA, lC}},
		{name: "at 2T: least loaded joins without an idle node", loads: []float64{2, 0.6, 0.9}, set: []ServerID{lA}, want: lB, after: []ServerID{lA, lB}},
		{name: "least loaded member is the one tested", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lA, lB}, want: lB, after: []ServerID{lA, lB}},
		{name: "after K the most loaded member leaves", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lA, lB}, now: lK, want: lB, after: []ServerID{lB}},
		{name: "at K it stays", loads: []float64{1.5, 0.9, 0.1}, set: []ServerID{lA, lB}, now: 60 * time.Second, want: lB, after: []ServerID{lA, lB}},
		{name: "no usable member: least loaded joins", loads: []float64{0.1, 0.9, 0.5}, down: []ServerID{lA}, set: []ServerID{lA}, want: lC, after: []ServerID{lA, lC}},
		{name: "all down", loads: []float64{0, 0, 0}, down: []ServerID{lA, lB, lC}, wantErr: ErrNoServer},
	})
}

// Reference: §7.3.1 (co-located distributors): the local node serves while
// its load is below T; otherwise the set's least loaded member, and on
// n.load > T the local node (if below T) or the least loaded node joins.
func TestLBLLLocal(t *testing.T) {
	local := func(id ServerID) Request { return Request{Local: id, HasLocal: true} }
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLLLocal(Options{}); return s }, []lbllCase{
		{name: "new target, local below T: local", loads: []float64{0, 0, 0.9}, req: local(lC), want: lC, after: []ServerID{lC}},
		{name: "new target, local at T: least loaded", loads: []float64{0.2, 0, 1}, req: local(lC), want: lB, after: []ServerID{lB}},
		{name: "local member below T beats a less loaded member", loads: []float64{0.1, 0, 0.8}, set: []ServerID{lA, lC}, req: local(lC), want: lC, after: []ServerID{lA, lC}},
		{name: "local not a member, least member at T: member", loads: []float64{1, 0, 0.2}, set: []ServerID{lA}, req: local(lC), want: lA, after: []ServerID{lA}},
		{name: "least member above T: local joins", loads: []float64{1.2, 0, 0.5}, set: []ServerID{lA}, req: local(lC), want: lC, after: []ServerID{lA, lC}},
		{name: "least member above T, local at T: least loaded joins", loads: []float64{1.2, 0.3, 1}, set: []ServerID{lA}, req: local(lC), want: lB, after: []ServerID{lA, lB}},
		{name: "least member above T, no T/2 clause needed", loads: []float64{1.05, 0.9, 0.9}, set: []ServerID{lA}, req: local(lC), want: lC, after: []ServerID{lA, lC}},
		{name: "local down is never chosen", loads: []float64{1.2, 0.3, 0.1}, down: []ServerID{lC}, set: []ServerID{lA}, req: local(lC), want: lB, after: []ServerID{lA, lB}},
		{name: "local not in the pool", loads: []float64{1.2, 0.3, 0.1}, set: []ServerID{lA}, req: local(9), want: lC, after: []ServerID{lA, lC}},
		{name: "local member serves and the set sheds after K", loads: []float64{0.9, 0.2, 0}, set: []ServerID{lA, lB}, now: lK, req: local(lB), want: lB, after: []ServerID{lB}},
		{name: "no local node: plain LBLL (needs a node below T/2)", loads: []float64{1.2, 0.6, 0.7}, set: []ServerID{lA}, want: lA, after: []ServerID{lA}},
		{name: "all down", loads: []float64{0, 0, 0}, down: []ServerID{lA, lB, lC}, req: local(lA), wantErr: ErrNoServer},
	})
}

// Reference: §7.5.4 (cache-oriented LBLL): non-cacheable requests bypass
// the caches; a request whose least loaded cache is above T goes to the
// least loaded node if some node's load is <= T/2, and to the origin
// otherwise; the set is still maintained when bypassing.
func TestLBLLCache(t *testing.T) {
	runLBLLCases(t, func() lbllSets { s, _ := NewLBLLCache(Options{}); return s }, []lbllCase{
		{name: "non-cacheable: origin, no state", loads: []float64{0, 0, 0}, req: Request{NoCache: true}, wantErr: ErrBypass},
		{name: "new target: least loaded cache", loads: []float64{0.3, 0.2, 0.1}, want: lC, after: []ServerID{lC}},
		{name: "normal: the target's cache", loads: []float64{0.9, 0, 0}, set: []ServerID{lA}, want: lA, after: []ServerID{lA}},
		{name: "above T, a node at T/2: it joins", loads: []float64{1.5, 0.5, 0.6}, set: []ServerID{lA}, want: lB, after: []ServerID{lA, lB}},
		{name: "above T, no node <= T/2: origin", loads: []float64{1.5, 0.6, 0.7}, set: []ServerID{lA}, wantErr: ErrBypass, after: []ServerID{lA}},
		{name: "2T is no special case: origin", loads: []float64{3, 0.6, 0.7}, set: []ServerID{lA}, wantErr: ErrBypass, after: []ServerID{lA}},
		{name: "bypass still sheds after K", loads: []float64{1.5, 1.2, 0.9}, set: []ServerID{lA, lB}, now: lK, wantErr: ErrBypass, after: []ServerID{lB}},
		{name: "all caches down", loads: []float64{0, 0, 0}, down: []ServerID{lA, lB, lC}, wantErr: ErrNoServer},
	})
}

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
	if id := get(0); id != lA {
		t.Fatalf("first: %d", id)
	}
	_ = p.SetLoad(lA, 2.5)
	_ = p.SetLoad(lB, 1.5)
	_ = p.SetLoad(lC, 0.5)
	if id := get(time.Second); id != lC { // 2.5 > 2 and C 0.5 < 1
		t.Fatalf("after reports: %d, want C", id)
	}
	if got := locSorted(s.Set("/a")); !slices.Equal(got, []ServerID{lA, lC}) {
		t.Errorf("set %v", got)
	}
}
