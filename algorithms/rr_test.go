package algorithms

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// Helpers shared by the classic IPVS scheduler tests (rr, wrr, lc, wlc,
// sed, nq, fo, ovf, sh, dh, mh). They are prefixed "classic" to keep clear
// of other test files in the package.

// classicPool returns a pool of servers 0..n-1 with the given weights.
func classicPool(t testing.TB, weights ...int) *Pool {
	t.Helper()
	p, err := NewWeighted(weights...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// classicSeq schedules n requests (counters untouched) and returns the
// chosen servers as letters (ID 0 = A), "-" for ErrNoServer.
func classicSeq(t testing.TB, s Scheduler, p *Pool, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		id, err := s.Schedule(0, &Request{}, p)
		switch {
		case errors.Is(err, ErrNoServer):
			b.WriteByte('-')
		case err != nil:
			t.Fatalf("%s: unexpected error %v", s.Name(), err)
		default:
			b.WriteString(Letters(int(id)))
		}
	}
	return b.String()
}

// classicAnyUsable reports whether some server of p is usable.
func classicAnyUsable(p *Pool) bool {
	for i := range p.Servers() {
		if p.Servers()[i].Usable() {
			return true
		}
	}
	return false
}

// classicChurn drives s through random pool changes (add, remove, weight,
// down, thresholds, begin/end) interleaved with requests, and checks that
// every answer is a usable member and that nothing panics. With
// strictNoServer it also checks that ErrNoServer comes back only when no
// server is usable (not so for SH/DH/MH without fallback, whose hashed
// server may be unusable while others are not).
func classicChurn(t *testing.T, s Scheduler, seed uint64, strictNoServer bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0xC1A551C))
	p := classicPool(t, 3, 1, 2, 0, 5)
	next := ServerID(5)
	for step := range 3000 {
		switch op := rng.IntN(10); {
		case op == 0:
			_ = p.Add(Server{ID: next, Weight: rng.IntN(6)})
			next++
		case op == 1 && p.Len() > 0:
			_ = p.Remove(p.At(rng.IntN(p.Len())).ID)
		case op == 2 && p.Len() > 0:
			_ = p.SetWeight(p.At(rng.IntN(p.Len())).ID, rng.IntN(6))
		case op == 3 && p.Len() > 0:
			_ = p.SetDown(p.At(rng.IntN(p.Len())).ID, rng.IntN(3) == 0)
		case op == 4 && p.Len() > 0:
			_ = p.SetThresholds(p.At(rng.IntN(p.Len())).ID, rng.IntN(4), 0)
		case op == 5 && p.Len() > 0:
			srv := p.At(rng.IntN(p.Len()))
			if srv.Active > 0 {
				_ = p.End(srv.ID, 1)
			}
		}
		r := &Request{Key: "k" + string(rune('a'+rng.IntN(26))), ClientPort: uint16(rng.IntN(4))}
		id, err := s.Schedule(0, r, p)
		if err != nil {
			if !errors.Is(err, ErrNoServer) {
				t.Fatalf("step %d: %s: error %v is not ErrNoServer", step, s.Name(), err)
			}
			if strictNoServer && classicAnyUsable(p) {
				t.Fatalf("step %d: %s: ErrNoServer with a usable server in the pool", step, s.Name())
			}
			continue
		}
		srv := p.Get(id)
		if srv == nil {
			t.Fatalf("step %d: %s returned non-member %d", step, s.Name(), id)
		}
		if !srv.Usable() {
			t.Fatalf("step %d: %s returned unusable server %+v", step, s.Name(), *srv)
		}
		_ = p.Begin(id, 1)
	}
}

// classicOverload puts server id into OVERLOAD: upper threshold 1, then
// one connection (Pool.SetThresholds + Begin).
func classicOverload(t testing.TB, p *Pool, id ServerID) {
	t.Helper()
	if err := p.SetThresholds(id, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Begin(id, 1); err != nil {
		t.Fatal(err)
	}
	if !p.Get(id).Overloaded {
		t.Fatalf("server %d not overloaded", id)
	}
}

// Reference: §4.1.1 (round-robin); ip_vs_rr.c.
func TestRRSequences(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		setup   func(t *testing.T, p *Pool)
		want    string
	}{
		{"plain cycle", []int{1, 1, 1}, nil, "ABCABCABC"},
		{"weights ignored", []int{5, 1, 3}, nil, "ABCABC"},
		{"weight-0 quiescing", []int{1, 0, 1}, nil, "ACACAC"},
		{"down skipped", []int{1, 1, 1}, func(t *testing.T, p *Pool) { _ = p.SetDown(1, true) }, "ACAC"},
		{"overloaded skipped", []int{1, 1, 1}, func(t *testing.T, p *Pool) { classicOverload(t, p, 0) }, "BCBC"},
		{"all down", []int{1, 1}, func(t *testing.T, p *Pool) { _ = p.SetDown(0, true); _ = p.SetDown(1, true) }, "---"},
		{"all weight 0", []int{0, 0}, nil, "--"},
		{"empty pool", nil, nil, "--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicPool(t, tt.weights...)
			if tt.setup != nil {
				tt.setup(t, p)
			}
			if got := classicSeq(t, NewRR(), p, len(tt.want)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// Pool changes mid-stream: the cursor follows the last chosen server by ID
// and, when that server is removed, moves to its predecessor
// (ip_vs_rr_del_dest).
func TestRRPoolChanges(t *testing.T) {
	tests := []struct {
		name   string
		before int // requests before the change
		change func(p *Pool) error
		want   string
	}{
		{"remove cursor server", 2, func(p *Pool) error { return p.Remove(1) }, "CDACD"},
		{"remove last server at cursor", 4, func(p *Pool) error { return p.Remove(3) }, "ABCA"},
		{"remove first server at cursor", 1, func(p *Pool) error { return p.Remove(0) }, "BCDB"},
		{"remove server before cursor", 3, func(p *Pool) error { return p.Remove(0) }, "DBCD"},
		{"add server", 1, func(p *Pool) error { return p.Add(Server{ID: 4, Weight: 1}) }, "BCDEA"},
		{"quiesce next server", 1, func(p *Pool) error { return p.SetWeight(1, 0) }, "CDACD"},
		{"remove all", 2, func(p *Pool) error {
			for id := range ServerID(4) {
				if err := p.Remove(id); err != nil {
					return err
				}
			}
			return nil
		}, "--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicPool(t, 1, 1, 1, 1)
			rr := NewRR()
			classicSeq(t, rr, p, tt.before)
			if err := tt.change(p); err != nil {
				t.Fatal(err)
			}
			if got := classicSeq(t, rr, p, len(tt.want)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRRChurn(t *testing.T) {
	for seed := range uint64(4) {
		classicChurn(t, NewRR(), seed, true)
	}
}

func TestClassicRegistered(t *testing.T) {
	for _, name := range []string{"rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "sh", "dh", "mh"} {
		info, ok := Lookup(name)
		if !ok {
			t.Errorf("%s not registered", name)
			continue
		}
		if info.Description == "" || info.Source == "" || strings.Contains(info.Description, "\n") {
			t.Errorf("%s: bad Description/Source %q / %q", name, info.Description, info.Source)
		}
		s, err := New(name, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, s.Name())
		}
	}
}

// classicAll returns one instance of every classic scheduler.
func classicAll(t testing.TB) []Scheduler {
	return []Scheduler{NewRR(), NewWRR(), NewLC(), NewWLC(), NewSED(), NewNQ(), NewFO(), NewOVF(),
		NewSH(Options{}), NewSH(Options{Fallback: true}), NewDH(Options{Fallback: true}),
		classicMH(t, Options{TableSize: 251, Fallback: true})}
}

// Derived state is keyed on the pool's generation, which identifies its
// content: two pools never share a generation unless one is an unchanged
// Clone of the other, so handing a scheduler another pool rebuilds its
// state and a smaller pool never sees stale positions.
func TestClassicSwitchPools(t *testing.T) {
	for _, s := range classicAll(t) {
		big := classicPool(t, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
		small := classicPool(t, 1, 1)
		if big.Generation() == small.Generation() {
			t.Fatalf("two pools of different content share generation %d", big.Generation())
		}
		for i := range 40 {
			p := big
			if i%3 == 2 {
				p = small
			}
			r := &Request{Client: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Key: "k"}
			id, err := s.Schedule(0, r, p)
			if err != nil || p.Get(id) == nil {
				t.Fatalf("%s: got %d (%v) from a pool of %d", s.Name(), id, err, p.Len())
			}
		}
	}
}
