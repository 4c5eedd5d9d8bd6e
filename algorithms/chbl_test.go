package algorithms

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// chblBound4 is ceil((1+ε)·m/n) for ε = num/4, in integers.
func chblBound4(num, m, n int) int { return ((4+num)*m + 4*n - 1) / (4 * n) }

// chblOwner is a naive reference for plain consistent hashing: the usable
// server owning the first virtual node clockwise of h (ties on a point to
// the lower ID), found by scanning every virtual node.
func chblOwner(h uint64, p *Pool, replicas int) ServerID {
	var best ServerID
	bestDist := uint64(math.MaxUint64)
	found := false
	var buf [16]byte
	for _, s := range p.Servers() {
		if !s.Usable() {
			continue
		}
		binary.LittleEndian.PutUint64(buf[:8], uint64(s.ID))
		for r := range replicas {
			binary.LittleEndian.PutUint64(buf[8:], uint64(r))
			d := chblHash(buf[:]) - h // clockwise distance, mod 2^64
			if !found || d < bestDist || (d == bestDist && s.ID < best) {
				best, bestDist, found = s.ID, d, true
			}
		}
	}
	return best
}

// Reference: Mirrokni, Thorup, Zadimoghaddam 2018: a request goes to the
// first server clockwise whose load stays within ceil((1+ε)·m/n). On random
// streams with departures the chosen server is always within the bound at
// placement; without departures no server is ever above it.
func TestCHBLBoundHolds(t *testing.T) {
	tests := []struct {
		name      string
		epsNum    int // ε = epsNum/4
		servers   int
		keys      int
		endProb   float64 // chance that a step ends a request instead of starting one
		skewed    bool    // half the requests use one hot key
		steps     int
		insertsOK bool // no departures: check every server after every step
	}{
		{"eps 1/4, uniform keys, churn", 1, 8, 1000, 0.45, false, 20000, false},
		{"eps 1/4, hot key, churn", 1, 8, 50, 0.45, true, 20000, false},
		{"eps 1/2, hot key, churn", 2, 5, 20, 0.3, true, 20000, false},
		{"eps 1/4, hot key, inserts only", 1, 10, 100, 0, true, 3000, true},
		{"eps 1, one server", 4, 1, 10, 0.4, true, 2000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weights := make([]int, tt.servers)
			for i := range weights {
				weights[i] = 1 + i%3 // weights do not matter to CHBL
			}
			p, err := NewWeighted(weights...)
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewCHBL(float64(tt.epsNum)/4, 0)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			hotOwner := chblOwner(chblHash([]byte("/hot")), p, DefaultCHBLReplicas)
			diverted := 0 // hot requests the bound sent past their owner
			var open []ServerID
			total := 0
			for step := range tt.steps {
				if len(open) > 0 && rng.Float64() < tt.endProb {
					k := rng.IntN(len(open))
					chkNoErr(t, p.End(open[k], 1))
					open[k] = open[len(open)-1]
					open = open[:len(open)-1]
					total--
					continue
				}
				key := fmt.Sprintf("/obj/%d", rng.IntN(tt.keys))
				if tt.skewed && rng.IntN(2) == 0 {
					key = "/hot"
				}
				id, err := s.Schedule(0, &Request{Key: key}, p)
				if err != nil {
					t.Fatal(err)
				}
				bound := chblBound4(tt.epsNum, total+1, tt.servers)
				if a := p.Get(id).Active + 1; a > bound {
					t.Fatalf("step %d: server %d would hold %d > bound %d (total %d)", step, id, a, bound, total+1)
				}
				if key == "/hot" && id != hotOwner {
					diverted++
				}
				chkNoErr(t, p.Begin(id, 1))
				open = append(open, id)
				total++
				if tt.insertsOK {
					if m := p2cMaxActive(p); m > chblBound4(tt.epsNum, total, tt.servers) {
						t.Fatalf("step %d: max load %d above bound %d", step, m, chblBound4(tt.epsNum, total, tt.servers))
					}
				}
			}
			if tt.skewed && tt.servers > 1 && diverted == 0 {
				t.Errorf("the bound never diverted the hot key: the test does not exercise it")
			}
			t.Logf("%d hot requests diverted from their owner", diverted)
		})
	}
}

// With costs above 1 no server may fit; then the least-loaded server is
// taken. Otherwise the bound holds with the cost included.
func TestCHBLCost(t *testing.T) {
	p, err := NewWeighted(1, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCHBL(0.25, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	var open []struct {
		id   ServerID
		cost int
	}
	fallbacks := 0
	for step := range 20000 {
		if len(open) > 0 && rng.IntN(2) == 0 {
			k := rng.IntN(len(open))
			chkNoErr(t, p.End(open[k].id, open[k].cost))
			open = append(open[:k], open[k+1:]...)
			continue
		}
		cost := 1 + rng.IntN(2)
		r := &Request{Key: fmt.Sprintf("k%d", rng.IntN(30)), Cost: cost}
		total := 0
		minActive := math.MaxInt
		for _, sv := range p.Servers() {
			total += sv.Active
			minActive = min(minActive, sv.Active)
		}
		id, err := s.Schedule(0, r, p)
		if err != nil {
			t.Fatal(err)
		}
		bound := chblBound4(1, total+cost, p.Len())
		if a := p.Get(id).Active; a+cost > bound {
			fallbacks++
			if cost == 1 {
				t.Fatalf("step %d: cost 1 above the bound", step)
			}
			for _, sv := range p.Servers() {
				if sv.Active+cost <= bound {
					t.Fatalf("step %d: server %d fits the bound %d but %d was chosen", step, sv.ID, bound, id)
				}
			}
			if a != minActive {
				t.Fatalf("step %d: fallback chose active %d, least is %d", step, a, minActive)
			}
		}
		chkNoErr(t, p.Begin(id, cost))
		open = append(open, struct {
			id   ServerID
			cost int
		}{id, cost})
	}
	t.Logf("%d fallbacks", fallbacks)
}

// Keys stick to the plain consistent-hashing owner while it is under the
// bound, and move clockwise when it is not.
func TestCHBLSticky(t *testing.T) {
	p, err := NewWeighted(1, 1, 1, 1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCHBL(0.25, 50)
	if err != nil {
		t.Fatal(err)
	}
	// Unloaded: every key goes to its owner, every time.
	for i := range 2000 {
		r := &Request{Key: fmt.Sprintf("/page/%d", i)}
		want := chblOwner(chblHash([]byte(r.Key)), p, 50)
		for range 2 {
			if got, err := s.Schedule(0, r, p); err != nil || got != want {
				t.Fatalf("key %q: got %d, %v; want owner %d", r.Key, got, err, want)
			}
		}
	}
	// Loaded but under the bound: still the owner.
	hot := &Request{Key: "/hot"}
	owner := chblOwner(chblHash([]byte(hot.Key)), p, 50)
	for i := range p.Len() {
		chkNoErr(t, p.Begin(ServerID(i), 4))
	}
	// total 24 (+1): bound ceil(1.25·25/6) = 6, owner has 4.
	for range 2 {
		chkNoErr(t, p.Begin(owner, 1))
	}
	// owner at 6, total 26 (+1): bound ceil(1.25·27/6) = 6: owner is full.
	got, err := s.Schedule(0, hot, p)
	if err != nil {
		t.Fatal(err)
	}
	if got == owner {
		t.Fatalf("hot key stayed on full owner %d", owner)
	}
	chkNoErr(t, p.End(owner, 1)) // owner at 5, bound ceil(1.25·26/6) = 6
	if got, err := s.Schedule(0, hot, p); err != nil || got != owner {
		t.Fatalf("after End: got %d, %v; want owner %d back", got, err, owner)
	}
}

// Adding a server moves about 1/(n+1) of the keys, all of them to the new
// server; removing one moves only the keys it owned.
func TestCHBLMinimalMovement(t *testing.T) {
	const keys, n = 20000, 8
	p, err := NewWeighted(slices.Repeat([]int{1}, n)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCHBL(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	assign := func() []ServerID {
		out := make([]ServerID, keys)
		for i := range out {
			id, err := s.Schedule(0, &Request{Key: fmt.Sprintf("/k/%d", i)}, p)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = id
		}
		return out
	}
	before := assign()
	chkNoErr(t, p.Add(Server{ID: 100, Weight: 1}))
	after := assign()
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if after[i] != 100 {
				t.Fatalf("key %d moved from %d to old server %d", i, before[i], after[i])
			}
		}
	}
	frac := float64(moved) / keys
	t.Logf("add: %.3f of keys moved (ideal %.3f)", frac, 1.0/(n+1))
	if frac == 0 || frac > 1.5/(n+1) {
		t.Errorf("add moved %.3f of keys, want about %.3f", frac, 1.0/(n+1))
	}

	chkNoErr(t, p.SetDown(3, true)) // off the ring
	down := assign()
	for i := range after {
		if after[i] != 3 && down[i] != after[i] {
			t.Fatalf("key %d moved from %d to %d though %d stayed up", i, after[i], down[i], after[i])
		}
		if down[i] == 3 {
			t.Fatalf("key %d went to down server 3", i)
		}
	}
}

// Without a Key the client address is hashed; an IPv4-mapped address is
// the same client as its IPv4 form.
func TestCHBLClientKey(t *testing.T) {
	p, err := NewWeighted(slices.Repeat([]int{1}, 7)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewCHBL(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ client, same string }{
		{"192.0.2.1", "::ffff:192.0.2.1"},
		{"2001:db8::7", "2001:db8::7"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.client)
		b := netip.MustParseAddr(tt.same)
		got1, err1 := s.Schedule(0, &Request{Client: a}, p)
		got2, err2 := s.Schedule(0, &Request{Client: b, ClientPort: 999}, p)
		want := chblOwner(chblHash(a.Unmap().AsSlice()), p, DefaultCHBLReplicas)
		if err1 != nil || err2 != nil || got1 != want || got2 != want {
			t.Errorf("client %s: got %d, %d (%v, %v), want %d", tt.client, got1, got2, err1, err2, want)
		}
	}
}

func TestCHBLOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"defaults", Options{}, false},
		{"explicit", Options{Epsilon: 0.1, Replicas: 3}, false},
		{"negative epsilon", Options{Epsilon: -0.5}, true},
		{"NaN epsilon", Options{Epsilon: math.NaN()}, true},
		{"infinite epsilon", Options{Epsilon: math.Inf(1)}, true},
		{"negative replicas", Options{Replicas: -1}, true},
		{"most replicas", Options{Replicas: MaxCHBLReplicas}, false},
		{"too many replicas", Options{Replicas: MaxCHBLReplicas + 1}, true},
		{"absurd replicas", Options{Replicas: 100_000_000}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New("chbl", tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New: err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	s, _ := NewCHBL(0, 0)
	if s.epsilon != DefaultCHBLEpsilon || s.replicas != DefaultCHBLReplicas {
		t.Errorf("defaults: ε %v, replicas %d", s.epsilon, s.replicas)
	}
}

func TestCHBLBound(t *testing.T) {
	tests := []struct {
		eps                float64
		total, cost, n, ok int
	}{
		{0.1, 9, 1, 1, 11}, // 1.1·10 = 11.000000000000002 in floating point
		{0.25, 7, 1, 4, 3}, // ceil(2.5)
		{0.25, 15, 1, 4, 5},
		{0.5, 0, 1, 8, 1},
		{1, 3, 2, 5, 2},
		{0.25, 1, 1, 0, 0},
	}
	for _, tt := range tests {
		s, err := NewCHBL(tt.eps, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Bound(tt.total, tt.cost, tt.n); got != tt.ok {
			t.Errorf("Bound(ε=%v, %d, %d, %d) = %d, want %d", tt.eps, tt.total, tt.cost, tt.n, got, tt.ok)
		}
	}
}

func TestCHBLNoServer(t *testing.T) {
	p, _ := NewWeighted(0, 1)
	chkNoErr(t, p.SetDown(1, true))
	s, _ := NewCHBL(0, 0)
	if _, err := s.Schedule(0, &Request{Key: "x"}, p); !errors.Is(err, ErrNoServer) {
		t.Fatalf("err = %v, want ErrNoServer", err)
	}
	chkNoErr(t, p.SetDown(1, false))
	if id, err := s.Schedule(0, &Request{Key: "x"}, p); err != nil || id != 1 {
		t.Fatalf("got %d, %v; want 1", id, err)
	}
}

func BenchmarkCHBL(b *testing.B) {
	for _, n := range []int{8, 64, 1024} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			p, _ := NewWeighted(slices.Repeat([]int{1}, n)...)
			s, _ := NewCHBL(0, 0)
			keys := make([]Request, 4096)
			for i := range keys {
				keys[i].Key = fmt.Sprintf("/obj/%d", i)
			}
			i := 0
			for b.Loop() {
				r := &keys[i%len(keys)]
				i++
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
