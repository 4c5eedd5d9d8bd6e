package algotest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// seq schedules n requests with key on p (ending each at once unless hold)
// and returns the picks as letters of pool positions, "-" for a refusal.
func seq(t *testing.T, s algorithms.Scheduler, p *algorithms.Pool, n int, key string, hold bool) string {
	t.Helper()
	var b strings.Builder
	for range n {
		r := algorithms.Request{Key: key}
		id, err := s.Schedule(0, &r, p)
		if err != nil {
			if !errors.Is(err, algorithms.ErrNoServer) {
				t.Fatalf("%s: unexpected error %v", s.Name(), err)
			}
			b.WriteString("-")
			continue
		}
		i, ok := p.Index(id)
		if !ok {
			t.Fatalf("%s picked non-member %d", s.Name(), id)
		}
		b.WriteString(algorithms.Letters(i))
		if hold {
			if err := p.Begin(id, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

func weighted(t *testing.T, w ...int) *algorithms.Pool {
	t.Helper()
	p, err := algorithms.NewWeighted(w...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Reference: §4.1.2 ("A、B 和 C 分别有权值 4、3 和 2 ... 调度序列为 AABABCABC").
func TestRefWRR(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
		down    []int
		n       int
		want    string
	}{
		{"thesis 4,3,2", []int{4, 3, 2}, nil, 18, "AABABCABCAABABCABC"},
		{"equal weights are round-robin", []int{1, 1, 1}, nil, 6, "ABCABC"},
		// Stepping cw by 1 visits every level: AAABAB, not IPVS's AABAAB
		// (same shares, another interleaving; see TestWRRGCD in package algorithms).
		{"gcd 2 steps every level", []int{4, 2}, nil, 6, "AAABAB"},
		{"weight 0 never chosen", []int{2, 0, 1}, nil, 6, "AACAAC"},
		{"all weight 0", []int{0, 0}, nil, 2, "--"},
		{"down server skipped", []int{4, 3, 2}, []int{0}, 5, "BBCBC"},
		{"empty pool", nil, nil, 1, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := weighted(t, tc.weights...)
			for _, i := range tc.down {
				if err := p.SetDown(p.At(i).ID, true); err != nil {
					t.Fatal(err)
				}
			}
			if got := seq(t, &algotest.RefWRR{}, p, tc.n, "", false); got != tc.want {
				t.Errorf("RefWRR(%v) = %s, want %s", tc.weights, got, tc.want)
			}
		})
	}
}

// A weight change restarts the reference's cycle (reference model: "WRR
// restarts its cycle when weights change"); an OVERLOAD flip does not.
func TestRefWRRChanges(t *testing.T) {
	p := weighted(t, 4, 3, 2)
	w := &algotest.RefWRR{}
	if got := seq(t, w, p, 4, "", false); got != "AABA" {
		t.Fatalf("first picks %s, want AABA", got)
	}
	if err := p.SetWeight(2, 3); err != nil { // C: 2 -> 3, restart
		t.Fatal(err)
	}
	if got := seq(t, w, p, 4, "", false); got != "AABC" {
		t.Errorf("after a weight change: %s, want AABC (a fresh 4,3,3 cycle)", got)
	}
	// B overloaded mid-cycle: skipped, the cycle goes on.
	if err := p.SetThresholds(1, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(1, 1); err != nil {
		t.Fatal(err)
	}
	if got := seq(t, w, p, 3, "", false); got != "ACA" {
		t.Errorf("with B overloaded: %s, want ACA", got)
	}
}

// Reference: §4.1.1; ip_vs_rr.c.
func TestRefRR(t *testing.T) {
	p := weighted(t, 1, 1, 1, 1)
	rr := &algotest.RefRR{}
	if got := seq(t, rr, p, 5, "", false); got != "ABCDA" {
		t.Fatalf("got %s, want ABCDA", got)
	}
	if err := p.SetWeight(2, 0); err != nil { // C quiesced
		t.Fatal(err)
	}
	if got := seq(t, rr, p, 3, "", false); got != "BDA" {
		t.Fatalf("with C quiesced: %s, want BDA", got)
	}
	// Last chosen was A (ID 0). Remove it: its successor B now holds its
	// position and is next.
	if err := p.Remove(0); err != nil {
		t.Fatal(err)
	}
	if got := seq(t, rr, p, 2, "", false); got != "AC" { // positions: B=A, C=B, D=C
		t.Fatalf("after removing the last chosen server: %s, want AC (servers 1, 3)", got)
	}
}

// Reference: §4.1.3, §4.1.4; ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c.
func TestRefLeast(t *testing.T) {
	type srv struct{ w, act, inact int }
	for _, tc := range []struct {
		name    string
		sched   algorithms.Scheduler
		servers []srv
		want    string
	}{
		{"lc fewest overhead", algotest.RefLC{}, []srv{{1, 2, 0}, {1, 1, 300}, {1, 1, 200}}, "C"},
		{"lc ignores weight", algotest.RefLC{}, []srv{{9, 1, 0}, {1, 0, 5}}, "B"},
		{"lc tie goes first", algotest.RefLC{}, []srv{{0, 0, 0}, {1, 1, 0}, {2, 1, 0}}, "B"},
		{"wlc conns/weight", algotest.RefWLC{}, []srv{{1, 1, 0}, {3, 2, 0}}, "B"},
		{"wlc exact ratio tie goes first", algotest.RefWLC{}, []srv{{2, 2, 0}, {3, 3, 0}, {1, 1, 0}}, "A"},
		{"wlc counts inactive", algotest.RefWLC{}, []srv{{1, 1, 10}, {1, 1, 9}}, "B"},
		{"sed ignores inactive", algotest.RefSED{}, []srv{{1, 1, 0}, {1, 1, 900}}, "A"},
		{"sed (a+1)/w", algotest.RefSED{}, []srv{{1, 0, 0}, {3, 1, 0}}, "B"},
		{"nq idle first", algotest.RefNQ{}, []srv{{9, 1, 0}, {1, 0, 0}, {1, 0, 0}}, "B"},
		{"nq else sed", algotest.RefNQ{}, []srv{{1, 1, 0}, {3, 1, 0}}, "B"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			servers := make([]algorithms.Server, len(tc.servers))
			for i, s := range tc.servers {
				servers[i] = algorithms.Server{ID: algorithms.ServerID(i), Weight: s.w, Active: s.act, Inactive: s.inact}
			}
			p, err := algorithms.NewPool(servers...)
			if err != nil {
				t.Fatal(err)
			}
			if got := seq(t, tc.sched, p, 1, "", false); got != tc.want {
				t.Errorf("%s picked %s, want %s", tc.sched.Name(), got, tc.want)
			}
		})
	}
}

// Reference: §6.3.5, the LBLC pseudo-code and its thresholds.
func TestRefLBLC(t *testing.T) {
	// Three nodes, low 2, high 4.
	type step struct {
		setActive []int // Active of A, B, C before the request (nil: unchanged)
		key       string
		want      string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"new target goes to the least-connection node", []step{
			{[]int{3, 1, 2}, "/a", "B"},
		}},
		{"a mapped target stays under moderate load", []step{
			{[]int{3, 1, 2}, "/a", "B"},
			{[]int{0, 4, 0}, "/a", "B"}, // at high, not above
		}},
		{"above high with an idle node: reassigned", []step{
			{[]int{3, 1, 2}, "/a", "B"},
			{[]int{3, 5, 1}, "/a", "C"}, // B > high 4, C < low 2
			{[]int{3, 5, 3}, "/a", "C"}, // and stays on C
		}},
		{"above high without an idle node: kept", []step{
			{[]int{3, 1, 2}, "/a", "B"},
			{[]int{3, 5, 2}, "/a", "B"},
		}},
		{"at twice high: reassigned even with no idle node", []step{
			{[]int{3, 1, 2}, "/a", "B"},
			{[]int{3, 8, 2}, "/a", "C"},
		}},
		{"targets are independent", []step{
			{[]int{0, 0, 0}, "/a", "A"},
			{[]int{1, 0, 0}, "/b", "B"},
			{[]int{1, 1, 0}, "/a", "A"},
			{[]int{1, 1, 0}, "/c", "C"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := algorithms.NewPool(
				algorithms.Server{ID: 0, Weight: 1, Low: 2, High: 4},
				algorithms.Server{ID: 1, Weight: 1, Low: 2, High: 4},
				algorithms.Server{ID: 2, Weight: 1, Low: 2, High: 4},
			)
			if err != nil {
				t.Fatal(err)
			}
			l := &algotest.RefLBLC{}
			for i, st := range tc.steps {
				for j, a := range st.setActive {
					p.At(j).Active = a
				}
				if got := seq(t, l, p, 1, st.key, false); got != st.want {
					t.Fatalf("step %d (%s, active %v): got %s, want %s", i, st.key, st.setActive, got, st.want)
				}
			}
		})
	}
}

// The reference's default thresholds are the thesis's 30 and 60.
func TestRefLBLCDefaults(t *testing.T) {
	p := weighted(t, 1, 1)
	l := &algotest.RefLBLC{}
	if got := seq(t, l, p, 1, "/x", false); got != "A" {
		t.Fatalf("got %s, want A", got)
	}
	p.At(0).Active, p.At(1).Active = 60, 29 // A > high? no: 60 is not > 60
	if got := seq(t, l, p, 1, "/x", false); got != "A" {
		t.Fatalf("at 60 connections: got %s, want A", got)
	}
	p.At(0).Active = 61 // > 60 and B < 30
	if got := seq(t, l, p, 1, "/x", false); got != "B" {
		t.Fatalf("at 61 connections: got %s, want B", got)
	}
}
