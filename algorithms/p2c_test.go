package algorithms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Balls into bins (Mitzenmacher 2001): m = 10·n requests that never end,
// one random choice against the better of two. With n = 500 a single
// random choice leaves the fullest server near m/n + sqrt(2·(m/n)·ln n)
// ≈ 21; two choices keep it within m/n + ln ln n/ln 2 + O(1) ≈ 13.
func TestP2CBallsIntoBins(t *testing.T) {
	const n, perServer = 500, 10
	tests := []struct{ seed uint64 }{{1}, {2}, {42}}
	for _, tt := range tests {
		p2cPool, err := NewWeighted(slices.Repeat([]int{1}, n)...)
		if err != nil {
			t.Fatal(err)
		}
		randPool := p2cPool.Clone()
		s := NewP2C(tt.seed)
		rng := rand.New(rand.NewPCG(tt.seed, 99))
		for range n * perServer {
			id, err := s.Schedule(0, &Request{}, p2cPool)
			if err != nil {
				t.Fatal(err)
			}
			if err := p2cPool.Begin(id, 1); err != nil {
				t.Fatal(err)
			}
			if err := randPool.Begin(ServerID(rng.IntN(n)), 1); err != nil {
				t.Fatal(err)
			}
		}
		maxP2C, maxRand := p2cMaxActive(p2cPool), p2cMaxActive(randPool)
		t.Logf("seed %d: max load p2c %d, random %d (average %d)", tt.seed, maxP2C, maxRand, perServer)
		if maxP2C > perServer+4 {
			t.Errorf("seed %d: p2c max load %d, want <= %d", tt.seed, maxP2C, perServer+4)
		}
		if maxRand < maxP2C+5 {
			t.Errorf("seed %d: random max load %d not well above p2c's %d", tt.seed, maxRand, maxP2C)
		}
	}
}

func p2cMaxActive(p *Pool) int {
	m := 0
	for _, s := range p.Servers() {
		m = max(m, s.Active)
	}
	return m
}

// P2C never picks an unusable server, handles one and zero usable servers,
// and follows pool changes.
func TestP2CUsable(t *testing.T) {
	p, err := NewWeighted(1, 0, 1, 1, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	chkNoErr(t, p.SetDown(2, true))
	chkNoErr(t, p.SetThresholds(3, 2, 0))
	chkNoErr(t, p.Begin(3, 2)) // overloaded
	s := NewP2C(7)
	counts := map[ServerID]int{}
	for range 3000 {
		id, err := s.Schedule(0, &Request{}, p)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Get(id).Usable() {
			t.Fatalf("picked unusable server %d", id)
		}
		counts[id]++
	}
	for _, id := range []ServerID{0, 4, 5} {
		if counts[id] == 0 {
			t.Errorf("usable server %d never picked: %v", id, counts)
		}
	}

	tests := []struct {
		name    string
		change  func(p *Pool) error
		want    ServerID
		wantErr error
	}{
		{"one usable", func(p *Pool) error { return errors.Join(p.SetDown(0, true), p.SetWeight(4, 0)) }, 5, nil},
		{"none usable", func(p *Pool) error { return p.SetDown(5, true) }, 0, ErrNoServer},
		{"back up", func(p *Pool) error { return errors.Join(p.SetDown(2, false), p.SetDown(5, true)) }, 2, nil},
	}
	// Deliberately not independent: each row changes the same pool, so
	// the cached usable list must follow the generation.
	for _, tt := range tests {
		chkNoErr(t, tt.change(p))
		for range 5 {
			id, err := s.Schedule(0, &Request{}, p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("%s: Schedule = %d, %v; want %v", tt.name, id, err, tt.wantErr)
				}
				continue
			}
			if err != nil || id != tt.want {
				t.Fatalf("%s: Schedule = %d, %v; want %d", tt.name, id, err, tt.want)
			}
		}
	}
}

// The choice between the two sampled servers: (Active+1)/Weight, ties to
// the first sampled. The test replays P2C's generator to know the sample.
func TestP2CChoice(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		active  []int
		// want is the winner given which server was sampled first.
		want func(first, second ServerID) ServerID
	}{
		{"fewer active wins", []int{1, 1}, []int{3, 2}, func(_, _ ServerID) ServerID { return 1 }},
		{"tie goes to first sampled", []int{1, 1}, []int{2, 2}, func(f, _ ServerID) ServerID { return f }},
		{"weight-normalised", []int{1, 3}, []int{2, 5}, func(_, _ ServerID) ServerID { return 1 }}, // 3/1 > 6/3
		{"idle heavy beats idle light", []int{1, 4}, []int{0, 0}, func(_, _ ServerID) ServerID { return 1 }},
		{"weighted tie to first", []int{1, 2}, []int{1, 3}, func(f, _ ServerID) ServerID { return f }}, // 2/1 == 4/2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewWeighted(tt.weights...)
			if err != nil {
				t.Fatal(err)
			}
			for i, a := range tt.active {
				chkNoErr(t, p.Begin(ServerID(i), a))
			}
			const seed = 5
			s := NewP2C(seed)
			replay := rand.New(rand.NewPCG(seed, p2cStream))
			for range 20 {
				k := p.Len() // two usable servers: P2C draws IntN(k) then IntN(k-1)
				i := replay.IntN(k)
				replay.IntN(k - 1)
				first, second := ServerID(i), ServerID(1-i)
				id, err := s.Schedule(0, &Request{}, p)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.want(first, second); id != want {
					t.Fatalf("sampled %d then %d: got %d, want %d", first, second, id, want)
				}
			}
		})
	}
}

// Equal seeds give equal choices; the registry passes Options.Seed.
func TestP2CDeterministic(t *testing.T) {
	run := func(seed uint64) []ServerID {
		s, err := New("p2c", Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := NewWeighted(1, 2, 3, 1, 1, 1, 2, 2)
		var out []ServerID
		var open []ServerID
		for i := range 400 {
			id, err := s.Schedule(0, &Request{}, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
			chkNoErr(t, p.Begin(id, 1))
			open = append(open, id)
			if i%3 == 2 {
				chkNoErr(t, p.End(open[0], 1))
				open = open[1:]
			}
		}
		return out
	}
	a, b, c := run(11), run(11), run(12)
	if !slices.Equal(a, b) {
		t.Fatal("same seed, different choices")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, identical 400 choices")
	}
}

func chkNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkP2C(b *testing.B) {
	for _, n := range []int{8, 64, 1024} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			p, _ := NewWeighted(slices.Repeat([]int{1}, n)...)
			s := NewP2C(1)
			r := &Request{}
			for b.Loop() {
				id, err := s.Schedule(0, r, p)
				if err != nil {
					b.Fatal(err)
				}
				_ = p.Begin(id, 1)
				_ = p.End(id, 1)
			}
		})
	}
}
