package algorithms

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// Reference: §4.1.4; ip_vs_wlc.c: minimise overhead/weight, cross-multiplied,
// first wins ties.
func TestWLC(t *testing.T) {
	tests := []struct {
		name string
		rows []classicConns
		want string
	}{
		{"weight doubles capacity", []classicConns{{1, 2, 0, false, false}, {2, 3, 0, false, false}}, "B"},
		{"ratio tie goes to first", []classicConns{{1, 2, 0, false, false}, {2, 4, 0, false, false}}, "A"},
		{"idle heavy server", []classicConns{{1, 0, 0, false, false}, {10, 0, 0, false, false}}, "A"},
		{"inactive counted", []classicConns{{1, 1, 0, false, false}, {1, 0, 300, false, false}}, "A"},
		{"weight-0 quiescing", []classicConns{{0, 0, 0, false, false}, {1, 9, 0, false, false}}, "B"},
		{"down skipped", []classicConns{{4, 0, 0, true, false}, {1, 9, 0, false, false}}, "B"},
		{"overloaded skipped", []classicConns{{4, 1, 0, false, true}, {1, 9, 0, false, false}}, "B"},
		{"all unusable", []classicConns{{0, 0, 0, false, false}, {1, 0, 0, true, false}}, "-"},
		{"empty pool", nil, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classicPick(t, NewWLC(), classicConnPool(t, tt.rows)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// classicArgminRat is the division-form reference: the first usable
// server minimising overhead(s)/weight as an exact rational.
func classicArgminRat(p *Pool, overhead func(*Server) int) int {
	best := -1
	var bestR *big.Rat
	for i := range p.Servers() {
		s := p.At(i)
		if !s.Usable() {
			continue
		}
		r := big.NewRat(int64(overhead(s)), int64(s.Weight))
		if best < 0 || r.Cmp(bestR) < 0 {
			best, bestR = i, r
		}
	}
	return best
}

// classicRandomConnPool returns a random pool; big makes counts and weights
// large enough that a 64-bit cross product would overflow.
func classicRandomConnPool(t testing.TB, rng *rand.Rand, big bool) *Pool {
	n := 1 + rng.IntN(8)
	rows := make([]classicConns, n)
	for i := range rows {
		rows[i] = classicConns{weight: rng.IntN(5), active: rng.IntN(6), inactive: rng.IntN(600), down: rng.IntN(8) == 0}
		if big {
			rows[i].weight = rng.IntN(1 << 31)
			rows[i].active = rng.IntN(1 << 46)
		}
	}
	return classicConnPool(t, rows)
}

// The cross-multiplied comparison equals the division form (big.Rat) on
// random pools, including values whose products exceed 64 bits.
func TestWLCEqualsDivisionForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		p := classicRandomConnPool(t, rng, trial%2 == 1)
		want := classicArgminRat(p, (*Server).Conns)
		id, err := NewWLC().Schedule(0, &Request{}, p)
		if want < 0 {
			if err == nil {
				t.Fatalf("trial %d: got %d, want ErrNoServer", trial, id)
			}
			continue
		}
		if err != nil || id != p.At(want).ID {
			t.Fatalf("trial %d: got %d (%v), want %d; pool %+v", trial, id, err, p.At(want).ID, p.Servers())
		}
	}
}

func TestRatioGreater(t *testing.T) {
	const big = 1 << 62
	tests := []struct {
		n1, d1, n2, d2 int
		want           bool
	}{
		{1, 2, 1, 3, true},
		{1, 3, 1, 2, false},
		{2, 4, 1, 2, false},
		{big, big, big - 1, big, true},  // products near 2^124
		{big - 1, big, big, big, false}, // and the reverse
		{0, 5, 0, 1, false},             // 0 = 0
		{big, 1, 1, big, true},          // 2^124 > 1
	}
	for _, tt := range tests {
		if got := ratioGreater(tt.n1, tt.d1, tt.n2, tt.d2); got != tt.want {
			t.Errorf("ratioGreater(%d/%d > %d/%d) = %v, want %v", tt.n1, tt.d1, tt.n2, tt.d2, got, tt.want)
		}
	}
}

func TestWLCChurn(t *testing.T) {
	for seed := range uint64(4) {
		classicChurn(t, NewWLC(), seed, true)
	}
}
