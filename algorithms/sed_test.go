package algorithms

import (
	"math/rand/v2"
	"testing"
)

// ip_vs_sed.c: minimise (active+1)/weight; ip_vs_nq.c: an idle server first.
func TestSEDAndNQ(t *testing.T) {
	tests := []struct {
		name    string
		rows    []classicConns
		sed, nq string
	}{
		// A is idle but slow: SED prefers fast B (6/10 < 1/1), NQ takes
		// idle A at once (WLC would too: 0/1).
		{"idle slow vs busy fast", []classicConns{{1, 0, 0, false, false}, {10, 5, 0, false, false}}, "B", "A"},
		{"both idle: first", []classicConns{{1, 0, 0, false, false}, {10, 0, 0, false, false}}, "B", "A"},
		{"busy: lowest (a+1)/w", []classicConns{{2, 3, 0, false, false}, {3, 4, 0, false, false}}, "B", "B"},
		{"tie goes to first", []classicConns{{1, 1, 0, false, false}, {2, 3, 0, false, false}}, "A", "A"},
		{"inactive ignored", []classicConns{{1, 1, 900, false, false}, {1, 2, 0, false, false}}, "A", "A"},
		{"first idle wins in NQ", []classicConns{{1, 3, 0, false, false}, {1, 0, 0, false, false}, {5, 0, 0, false, false}}, "C", "B"},
		{"weight-0 idle skipped", []classicConns{{0, 0, 0, false, false}, {1, 4, 0, false, false}}, "B", "B"},
		{"down idle skipped", []classicConns{{1, 0, 0, true, false}, {1, 4, 0, false, false}}, "B", "B"},
		{"overloaded skipped", []classicConns{{1, 1, 0, false, true}, {1, 4, 0, false, false}}, "B", "B"},
		{"all unusable", []classicConns{{0, 0, 0, false, false}, {3, 1, 0, false, true}}, "-", "-"},
		{"empty pool", nil, "-", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicConnPool(t, tt.rows)
			if got := classicPick(t, NewSED(), p); got != tt.sed {
				t.Errorf("sed: got %s, want %s", got, tt.sed)
			}
			if got := classicPick(t, NewNQ(), p); got != tt.nq {
				t.Errorf("nq: got %s, want %s", got, tt.nq)
			}
		})
	}
}

// SED equals the division form; NQ equals "first idle usable server, else
// SED" on random pools.
func TestSEDAndNQReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 2000 {
		p := classicRandomConnPool(t, rng, trial%3 == 2)
		sedWant := classicArgminRat(p, sedOverhead)
		nqWant := sedWant
		for i := range p.Servers() {
			if s := p.At(i); s.Usable() && s.Active == 0 {
				nqWant = i
				break
			}
		}
		for _, c := range []struct {
			s    Scheduler
			want int
		}{{NewSED(), sedWant}, {NewNQ(), nqWant}} {
			id, err := c.s.Schedule(0, &Request{}, p)
			if c.want < 0 {
				if err == nil {
					t.Fatalf("%s trial %d: got %d, want ErrNoServer", c.s.Name(), trial, id)
				}
				continue
			}
			if err != nil || id != p.At(c.want).ID {
				t.Fatalf("%s trial %d: got %d (%v), want %d; pool %+v", c.s.Name(), trial, id, err, p.At(c.want).ID, p.Servers())
			}
		}
	}
}

func TestSEDAndNQChurn(t *testing.T) {
	for seed := range uint64(3) {
		classicChurn(t, NewSED(), seed, true)
		classicChurn(t, NewNQ(), seed, true)
	}
}
