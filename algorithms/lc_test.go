package algorithms

import (
	"errors"
	"testing"
)

// classicConns describes one server for the connection-count tables.
type classicConns struct {
	weight, active, inactive int
	down, overloaded         bool
}

// classicConnPool builds a pool from rows; overloaded rows get an upper
// threshold of active+inactive so the pool itself sets OVERLOAD.
func classicConnPool(t testing.TB, rows []classicConns) *Pool {
	t.Helper()
	servers := make([]Server, len(rows))
	for i, r := range rows {
		servers[i] = Server{ID: ServerID(i), Weight: r.weight, Down: r.down}
	}
	p, err := NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		id := ServerID(i)
		if r.overloaded {
			if err := p.SetThresholds(id, max(1, r.active+r.inactive), 0); err != nil {
				t.Fatal(err)
			}
			if r.active+r.inactive == 0 {
				r.active = 1
			}
		}
		if err := p.Adjust(id, r.active, r.inactive); err != nil {
			t.Fatal(err)
		}
		if p.Get(id).Overloaded != r.overloaded {
			t.Fatalf("server %d: overloaded = %v, want %v", i, p.Get(id).Overloaded, r.overloaded)
		}
	}
	return p
}

// classicPick returns the letter of the server s picks once, or "-".
func classicPick(t testing.TB, s Scheduler, p *Pool) string {
	t.Helper()
	id, err := s.Schedule(0, &Request{}, p)
	if errors.Is(err, ErrNoServer) {
		return "-"
	}
	if err != nil {
		t.Fatal(err)
	}
	return Letters(int(id))
}

// Reference: §4.1.3; ip_vs_lc.c: overhead (active<<8)+inactive, first wins ties.
func TestLC(t *testing.T) {
	tests := []struct {
		name string
		rows []classicConns
		want string
	}{
		{"fewest active", []classicConns{{1, 3, 0, false, false}, {1, 1, 0, false, false}, {1, 2, 0, false, false}}, "B"},
		{"weights ignored", []classicConns{{9, 2, 0, false, false}, {1, 1, 0, false, false}}, "B"},
		{"one active outweighs 255 inactive", []classicConns{{1, 1, 0, false, false}, {1, 0, 255, false, false}}, "B"},
		{"one active equals 256 inactive: first wins", []classicConns{{1, 1, 0, false, false}, {1, 0, 256, false, false}}, "A"},
		{"tie goes to first", []classicConns{{1, 2, 1, false, false}, {1, 2, 1, false, false}}, "A"},
		{"weight-0 quiescing", []classicConns{{0, 0, 0, false, false}, {1, 5, 0, false, false}}, "B"},
		{"down skipped", []classicConns{{1, 0, 0, true, false}, {1, 5, 0, false, false}}, "B"},
		{"overloaded skipped", []classicConns{{1, 2, 0, false, true}, {1, 5, 0, false, false}}, "B"},
		{"all unusable", []classicConns{{0, 0, 0, false, false}, {1, 0, 0, true, false}, {1, 1, 0, false, true}}, "-"},
		{"empty pool", nil, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classicPick(t, NewLC(), classicConnPool(t, tt.rows)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// With the host counting connections (Begin), LC spreads new work evenly
// and follows pool changes.
func TestLCWithCounters(t *testing.T) {
	p := classicPool(t, 1, 1, 1)
	lc := NewLC()
	var got []byte
	for range 6 {
		id, err := lc.Schedule(0, &Request{}, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, Letters(int(id))...)
		_ = p.Begin(id, 1)
	}
	if string(got) != "ABCABC" {
		t.Errorf("got %s, want ABCABC", got)
	}
	_ = p.Remove(0)
	_ = p.End(1, 1)
	if got := classicPick(t, lc, p); got != "B" {
		t.Errorf("after remove: got %s, want B", got)
	}
}

func TestLCChurn(t *testing.T) {
	for seed := range uint64(4) {
		classicChurn(t, NewLC(), seed, true)
	}
}
