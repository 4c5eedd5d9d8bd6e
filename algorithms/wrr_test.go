package algorithms

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Reference: §4.1.2: weights A=4, B=3, C=2 give the cycle A A B A B C A B C.
func TestWRRThesisCycle(t *testing.T) {
	p := classicPool(t, 4, 3, 2)
	got := classicSeq(t, NewWRR(), p, 27)
	if want := strings.Repeat("AABABCABC", 3); got != want {
		t.Fatalf("Reference: §4.1.2: got %s, want %s", got, want)
	}
}

// thesisWRR is the pseudo-code of thesis §4.1.2 with cw stepped by the gcd
// (thesis-notes §2): the naive reference for WRR.
type thesisWRR struct{ i, cw int }

func (r *thesisWRR) next(w []int) int {
	g, mx := 0, 0
	for _, x := range w {
		g, mx = gcd(x, g), max(mx, x)
	}
	for {
		r.i = (r.i + 1) % len(w)
		if r.i == 0 {
			r.cw -= g
			if r.cw <= 0 {
				r.cw = mx
				if r.cw == 0 {
					return -1
				}
			}
		}
		if w[r.i] >= r.cw {
			return r.i
		}
	}
}

// Reference: §4.1.2: IPVS's variant (mw lowered by gcd-1) gives the same
// sequence as the thesis's pseudo-code on random weights.
func TestWRRMatchesThesisPseudoCode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(7)
		w := make([]int, n)
		for i := range w {
			w[i] = rng.IntN(4) * (1 + rng.IntN(3)) // zeros and common factors
		}
		p := classicPool(t, w...)
		s := NewWRR()
		ref := &thesisWRR{i: -1}
		for k := range 100 {
			want := ref.next(w)
			id, err := s.Schedule(0, &Request{}, p)
			if want < 0 {
				if err == nil {
					t.Fatalf("trial %d weights %v: got %d, want ErrNoServer", trial, w, id)
				}
				break
			}
			if err != nil || int(id) != want {
				t.Fatalf("trial %d weights %v step %d: got %d (%v), want %d", trial, w, k, id, err, want)
			}
		}
	}
}

func TestWRRSequences(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		setup   func(t *testing.T, p *Pool)
		want    string
	}{
		{"gcd step", []int{4, 2}, nil, "AABAAB"},
		{"equal weights", []int{5, 5, 5}, nil, "ABCABC"},
		{"weight-0 quiescing", []int{2, 0, 1}, nil, "AACAAC"},
		{"down counts as weight 0", []int{4, 2}, func(t *testing.T, p *Pool) { _ = p.SetDown(0, true) }, "BBBB"},
		{"overloaded skipped", []int{4, 3, 2}, func(t *testing.T, p *Pool) { classicOverload(t, p, 0) }, "BBCBCBBCBC"},
		{"all overloaded", []int{2, 1}, func(t *testing.T, p *Pool) { classicOverload(t, p, 0); classicOverload(t, p, 1) }, "---"},
		{"all down", []int{2, 1}, func(t *testing.T, p *Pool) { _ = p.SetDown(0, true); _ = p.SetDown(1, true) }, "--"},
		{"all weight 0", []int{0, 0, 0}, nil, "--"},
		{"empty pool", nil, nil, "--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicPool(t, tt.weights...)
			if tt.setup != nil {
				tt.setup(t, p)
			}
			if got := classicSeq(t, NewWRR(), p, len(tt.want)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// A weight change restarts the walk at the first server with cw kept, as
// ip_vs_wrr_dest_changed does; an OVERLOAD flip alone does not restart it.
func TestWRRPoolChanges(t *testing.T) {
	tests := []struct {
		name   string
		before int
		change func(t *testing.T, p *Pool)
		want   string
	}{
		// After A A B A (cw = 2), C's weight becomes 4: the walk restarts
		// at A with cw = 2, then cycles 4:3:4.
		{"weight change", 4, func(t *testing.T, p *Pool) { _ = p.SetWeight(2, 4) },
			"ABCABC" + "AC" + "ABC" + "ABC" + "ABC" + "AC"},
		// After A A B (cursor B, cw = 3), A overloads: the walk goes on
		// from B, it does not restart.
		{"overload no restart", 3, func(t *testing.T, p *Pool) { classicOverload(t, p, 0) }, "BCBCB"},
		// Removing the server under the cursor restarts at the head; with
		// weights 4, 2 the gcd becomes 2, mw = 3 and cw = 3 is re-aligned
		// to (3/2)*2+1 = 3: A | A C | A | A C.
		{"remove cursor server", 3, func(t *testing.T, p *Pool) { _ = p.Remove(1) }, "AACAAC"},
		// Adding a server restarts at the head; cw 3 is kept:
		// A B D | A B C D | A B C D | A D.
		{"add server", 3, func(t *testing.T, p *Pool) { _ = p.Add(Server{ID: 3, Weight: 4}) }, "ABDABCDABCDAD"},
		{"remove all", 2, func(t *testing.T, p *Pool) { _ = p.Remove(0); _ = p.Remove(1); _ = p.Remove(2) }, "--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicPool(t, 4, 3, 2)
			s := NewWRR()
			classicSeq(t, s, p, tt.before)
			tt.change(t, p)
			if got := classicSeq(t, s, p, len(tt.want)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWRRChurn(t *testing.T) {
	for seed := range uint64(4) {
		classicChurn(t, NewWRR(), seed, true)
	}
}

// Reference: §4.1.2: weights A=4, B=3, C=2.
func ExampleNewWRR() {
	pool, _ := NewWeighted(4, 3, 2)
	wrr := NewWRR()
	for range 9 {
		id, _ := wrr.Schedule(0, &Request{}, pool)
		fmt.Print(Letters(int(id)), " ")
	}
	fmt.Println()
	// Output: A A B A B C A B C
}

// With RestartCycle a weight change starts the cycle over from its
// beginning. Weights 4,3,2 give A A B (cw = 3); then C's weight becomes 3.
// The kernel's rule keeps cw = 3 and walks from the head (A B C A ...);
// a restart begins again at cw = 4 (A A B C ...).
// Reference: docs/reference-model.md (DFLB: "WRR ... restarts its cycle when
// weights change"); ip_vs_wrr_dest_changed for the kernel rule.
func TestWRRRestartCycle(t *testing.T) {
	for _, tc := range []struct {
		restart bool
		want    string
	}{
		{restart: false, want: "AAB" + "ABCA"},
		{restart: true, want: "AAB" + "AABC"},
	} {
		p, err := NewWeighted(4, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New("wrr", Options{RestartCycle: tc.restart})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for i := range 7 {
			if i == 3 {
				if err := p.SetWeight(2, 3); err != nil {
					t.Fatal(err)
				}
			}
			id, err := s.Schedule(0, &Request{}, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, Letters(int(id))[0])
		}
		if string(got) != tc.want {
			t.Errorf("restart=%v: picks = %s, want %s", tc.restart, got, tc.want)
		}
	}
}
