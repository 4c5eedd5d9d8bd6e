package algorithms

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"testing"
)

// Golden values of the kernel formulas: hash_32(v, 8) with GOLDEN_RATIO_32
// (include/linux/hash.h), the address folding of ip_vs_sh.c/ip_vs_dh.c.
func TestHashPrimitives(t *testing.T) {
	for _, tt := range []struct{ v, want uint32 }{
		{0x0a000001, 39},       // 10.0.0.1
		{0xc0a80001, 192},      // 192.168.0.1
		{0x20010db9, 63},       // fold(2001:db8::1)
		{0x0a000001 + 80, 182}, // 10.0.0.1 with port 80
		{0, 0},
	} {
		if got := hash32(tt.v, 8); got != tt.want {
			t.Errorf("hash32(%#x, 8) = %d, want %d", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct {
		addr string
		want uint32
	}{
		{"10.0.0.1", 0x0a000001},
		{"2001:db8::1", 0x20010db8 ^ 1},
		{"2001:db8:1:2:3:4:5:6", 0x20010db8 ^ 0x00010002 ^ 0x00030004 ^ 0x00050006},
		{"::ffff:10.0.0.1", 0x0000ffff ^ 0x0a000001}, // mapped: folded as IPv6
	} {
		if got := foldAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("foldAddr(%s) = %#x, want %#x", tt.addr, got, tt.want)
		}
	}
	// FNV-1a test vectors.
	if got := fnv1a32(""); got != 0x811c9dc5 {
		t.Errorf("fnv1a32(\"\") = %#x", got)
	}
	if got := fnv1a32("a"); got != 0xe40c292c {
		t.Errorf("fnv1a32(a) = %#x", got)
	}
	if got := fnv1a64String("a"); got != 0xaf63dc4c8601ec8c {
		t.Errorf("fnv1a64(a) = %#x", got)
	}
}

// classicBuckets returns the 256 bucket positions of an SH/DH table.
func classicBuckets(tab *bucketTable) []int32 { return tab.buckets[:] }

// ip_vs_sh_reassign: servers in pool order, each repeated weight times
// (weight 0 still takes one bucket), wrapping around.
func TestSHTable(t *testing.T) {
	p := classicPool(t, 1, 2, 3, 0)
	sh := NewSH(Options{})
	if _, err := sh.Schedule(0, &Request{Client: netip.MustParseAddr("10.0.0.1")}, p); err != nil && !errors.Is(err, ErrNoServer) {
		t.Fatal(err)
	}
	b := classicBuckets(&sh.table)
	want := []int32{0, 1, 1, 2, 2, 2, 3, 0, 1, 1, 2, 2, 2, 3}
	for i, w := range want {
		if b[i] != w {
			t.Fatalf("bucket %d = %d, want %d (table starts %v)", i, b[i], w, b[:len(want)])
		}
	}
	count := map[int32]int{}
	for _, x := range b {
		count[x]++
	}
	// 256 = 36 cycles of 7 + A B B C.
	if count[0] != 37 || count[1] != 74 || count[2] != 109 || count[3] != 36 {
		t.Errorf("bucket shares %v", count)
	}
}

// ip_vs_dh_reassign: one bucket per server, round-robin, weights ignored.
func TestDHTable(t *testing.T) {
	p := classicPool(t, 5, 1, 0)
	dh := NewDH(Options{})
	_, _ = dh.Schedule(0, &Request{Dest: netip.MustParseAddr("10.0.0.1")}, p)
	for i, x := range classicBuckets(&dh.table) {
		if int(x) != i%3 {
			t.Fatalf("bucket %d = %d, want %d", i, x, i%3)
		}
	}
}

// Request-to-server mapping: the bucket is hash_32(port+fold(addr), 8)
// (ip_vs_sh.c), hash_32(fold(dest), 8) (ip_vs_dh.c).
func TestSHDHLookup(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")     // bucket 39; with port 80: 182
	v6 := netip.MustParseAddr("2001:db8::1") // folds to 32.1.13.185: bucket 63
	v4 := netip.MustParseAddr("32.1.13.185")
	n := 7 // DH: bucket b -> server b%7; SH with weights 1: the same
	tests := []struct {
		name  string
		s     Scheduler
		r     Request
		want  ServerID
		wantB uint32
	}{
		{"sh client", NewSH(Options{}), Request{Client: a}, 39 % 7, 39},
		{"sh port ignored", NewSH(Options{}), Request{Client: a, ClientPort: 80}, 39 % 7, 39},
		{"sh port hashed", NewSH(Options{Port: true}), Request{Client: a, ClientPort: 80}, 182 % 7, 182},
		{"sh ipv6 folded", NewSH(Options{}), Request{Client: v6}, 63 % 7, 63},
		{"sh ipv4 of the fold", NewSH(Options{}), Request{Client: v4}, 63 % 7, 63},
		{"sh dest ignored", NewSH(Options{}), Request{Client: a, Dest: v6}, 39 % 7, 39},
		{"dh dest", NewDH(Options{}), Request{Dest: a}, 39 % 7, 39},
		{"dh client ignored", NewDH(Options{}), Request{Dest: a, Client: v6}, 39 % 7, 39},
		{"dh port never hashed", NewDH(Options{Port: true}), Request{Dest: a, ClientPort: 80, DestPort: 80}, 39 % 7, 39},
		{"dh ipv6 folded", NewDH(Options{}), Request{Dest: v6}, 63 % 7, 63},
		{"sh key when no address", NewSH(Options{}), Request{Key: "/index.html"}, ServerID(hash32(fnv1a32("/index.html"), 8) % 7), hash32(fnv1a32("/index.html"), 8)},
		{"dh key when no address", NewDH(Options{}), Request{Key: "/a.gif"}, ServerID(hash32(fnv1a32("/a.gif"), 8) % 7), hash32(fnv1a32("/a.gif"), 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classicPool(t, 1, 1, 1, 1, 1, 1, 1)
			if p.Len() != n {
				t.Fatal("pool size")
			}
			id, err := tt.s.Schedule(0, &tt.r, p)
			if err != nil || id != tt.want {
				t.Errorf("got %d (%v), want %d (bucket %d)", id, err, tt.want, tt.wantB)
			}
		})
	}
}

// classicFallbackRef is ip_vs_sh_get_fallback written out: probe
// (off+h)%256 + h for off = 0..255.
func classicFallbackRef(p *Pool, buckets []int32, h uint32) int {
	for off := uint32(0); off < 256; off++ {
		b := ((off+h)%256 + h) % 256
		if p.At(int(buckets[b])).Usable() {
			return int(buckets[b])
		}
	}
	return -1
}

// An unusable hashed server gives ErrNoServer, or with Fallback the first
// usable server of ip_vs_sh_get_fallback's probe order.
func TestSHDHUnusableAndFallback(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1") // bucket 39 -> server 39%4 = 3 (D)
	unusable := []struct {
		name string
		make func(t *testing.T, p *Pool)
	}{
		{"down", func(t *testing.T, p *Pool) { _ = p.SetDown(3, true) }},
		{"weight 0", func(t *testing.T, p *Pool) { _ = p.SetWeight(3, 0) }},
		{"overloaded", func(t *testing.T, p *Pool) { classicOverload(t, p, 3) }},
	}
	for _, u := range unusable {
		for _, fallback := range []bool{false, true} {
			for _, kind := range []string{"sh", "dh"} {
				t.Run(fmt.Sprintf("%s/%s/fallback=%v", kind, u.name, fallback), func(t *testing.T) {
					p := classicPool(t, 1, 1, 1, 1)
					var s Scheduler
					var tab *bucketTable
					r := &Request{Client: a, Dest: a}
					if kind == "sh" {
						sh := NewSH(Options{Fallback: fallback})
						s, tab = sh, &sh.table
					} else {
						dh := NewDH(Options{Fallback: fallback})
						s, tab = dh, &dh.table
					}
					if id, err := s.Schedule(0, r, p); err != nil || id != 3 {
						t.Fatalf("before: got %d (%v), want 3", id, err)
					}
					u.make(t, p)
					id, err := s.Schedule(0, r, p)
					// SH rebuilds on a weight change, but a weight-0
					// server keeps one bucket per cycle, so bucket 39
					// (39 mod 4 = 3) still holds D, now unusable.
					if tab.buckets[39] != 3 || p.At(3).Usable() {
						t.Fatalf("bucket 39 holds %d, want unusable 3", tab.buckets[39])
					}
					if !fallback {
						if !errors.Is(err, ErrNoServer) {
							t.Fatalf("got %d (%v), want ErrNoServer", id, err)
						}
						return
					}
					want := classicFallbackRef(p, tab.buckets[:], 39)
					if err != nil || int(id) != want || !p.Get(id).Usable() {
						t.Fatalf("fallback: got %d (%v), want %d", id, err, want)
					}
				})
			}
		}
	}
}

// With every server unusable both answer ErrNoServer, with or without
// fallback; so does an empty pool.
func TestSHDHNoServer(t *testing.T) {
	for _, s := range []Scheduler{NewSH(Options{}), NewSH(Options{Fallback: true}), NewDH(Options{}), NewDH(Options{Fallback: true})} {
		p := classicPool(t, 1, 2)
		_ = p.SetDown(0, true)
		classicOverload(t, p, 1)
		r := &Request{Client: netip.MustParseAddr("10.1.2.3"), Dest: netip.MustParseAddr("10.3.2.1")}
		if _, err := s.Schedule(0, r, p); !errors.Is(err, ErrNoServer) {
			t.Errorf("%s: all unusable: err = %v", s.Name(), err)
		}
		empty := classicPool(t)
		if _, err := s.Schedule(0, r, empty); !errors.Is(err, ErrNoServer) {
			t.Errorf("%s: empty pool: err = %v", s.Name(), err)
		}
	}
}

// SH follows weights: with weights 1, 2, 3 client shares over many
// addresses approach the bucket shares 43:86:127 (42 cycles of 6 + A B B C).
func TestSHWeightedShares(t *testing.T) {
	p := classicPool(t, 1, 2, 3)
	sh := NewSH(Options{})
	count := make([]int, 3)
	const n = 1 << 16
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		id, err := sh.Schedule(0, &Request{Client: a}, p)
		if err != nil {
			t.Fatal(err)
		}
		count[id]++
	}
	for i, w := range []float64{43, 86, 127} {
		if got, want := float64(count[i])/n, w/256; math.Abs(got-want) > 0.01 {
			t.Errorf("server %d share %.3f, want %.3f", i, got, want)
		}
	}
}

func TestSHDHChurn(t *testing.T) {
	for seed := range uint64(3) {
		classicChurn(t, NewSH(Options{}), seed, false)
		classicChurn(t, NewSH(Options{Fallback: true, Port: true}), seed, true)
		classicChurn(t, NewDH(Options{}), seed, false)
		classicChurn(t, NewDH(Options{Fallback: true}), seed, true)
	}
}

// --- Maglev (ip_vs_mh.c) ---

func classicMH(t testing.TB, opts Options) *MH {
	t.Helper()
	m, err := NewMH(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// classicMHTable builds m's table for p and returns it as server IDs.
func classicMHTable(t testing.TB, m *MH, p *Pool) []ServerID {
	t.Helper()
	_, _ = m.Schedule(0, &Request{Key: "x"}, p)
	ids := make([]ServerID, len(m.table))
	for i, pos := range m.table {
		if pos < 0 {
			t.Fatalf("slot %d empty", i)
		}
		ids[i] = p.At(int(pos)).ID
	}
	return ids
}

func TestMHOptions(t *testing.T) {
	for _, size := range []int{0, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071} {
		m, err := NewMH(Options{TableSize: size})
		if err != nil {
			t.Errorf("size %d: %v", size, err)
			continue
		}
		want := size
		if want == 0 {
			want = DefaultMHTableSize
		}
		if m.TableSize() != want {
			t.Errorf("size %d: TableSize() = %d", size, m.TableSize())
		}
	}
	for _, size := range []int{-1, 1, 250, 4092, 4099, 131072} {
		if _, err := New("mh", Options{TableSize: size}); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
}

// The table is fully populated, and shares follow weights (turns =
// weight/gcd per round, ip_vs_mh_populate).
func TestMHPopulationAndShares(t *testing.T) {
	tests := []struct {
		size    int
		weights []int
		tol     float64 // absolute tolerance on each share
	}{
		{4093, []int{1, 1, 1, 1}, 0.002},
		{4093, []int{1, 2, 3, 4}, 0.002},
		{251, []int{2, 4, 6}, 0.02},
		{65521, []int{5, 1, 0, 3}, 0.001},
		// Large weights: rshift keeps turns within 6 bits (1000/gcd >> 4 = 62, 1 -> 1).
		{4093, []int{1000, 1}, 0.005},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size, tt.weights), func(t *testing.T) {
			p := classicPool(t, tt.weights...)
			m := classicMH(t, Options{TableSize: tt.size})
			table := classicMHTable(t, m, p)
			count := make([]int, len(tt.weights))
			for _, id := range table {
				count[id]++
			}
			turns, total := classicMHTurns(tt.weights, m.tabBits), 0
			for _, x := range turns {
				total += x
			}
			for i := range tt.weights {
				got, want := float64(count[i])/float64(tt.size), float64(turns[i])/float64(total)
				if math.Abs(got-want) > tt.tol {
					t.Errorf("server %d: share %.4f, want %.4f (turns %v)", i, got, want, turns)
				}
			}
		})
	}
}

// classicMHTurns recomputes ip_vs_mh_permutate's turns independently.
func classicMHTurns(weights []int, tabBits int) []int {
	g, mx := 0, 0
	for _, w := range weights {
		g, mx = gcd(w, g), max(mx, w)
	}
	shift := 0
	for (mx/g)>>shift >= 1<<tabBits {
		shift++
	}
	turns := make([]int, len(weights))
	for i, w := range weights {
		turns[i] = (w / g) >> shift
		if turns[i] == 0 && w != 0 {
			turns[i] = 1
		}
	}
	return turns
}

// Minimal disruption: removing one server moves all of its slots and only
// few others (Maglev §3.4 does not promise none); re-adding it restores
// the original table exactly. Deterministic: two schedulers build the same
// table.
func TestMHDisruption(t *testing.T) {
	servers := make([]Server, 10)
	for i := range servers {
		servers[i] = Server{ID: ServerID(i), Weight: 1, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})}
	}
	p, err := NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	m := classicMH(t, Options{})
	before := classicMHTable(t, m, p)
	if again := classicMHTable(t, classicMH(t, Options{}), p.Clone()); fmt.Sprint(again) != fmt.Sprint(before) {
		t.Fatal("two MH schedulers built different tables")
	}
	const victim = 4
	if err := p.Remove(victim); err != nil {
		t.Fatal(err)
	}
	after := classicMHTable(t, m, p)
	moved, victimSlots := 0, 0
	for i := range before {
		switch {
		case before[i] == victim:
			victimSlots++
			if after[i] == victim {
				t.Fatalf("slot %d still maps to the removed server", i)
			}
		case after[i] != before[i]:
			moved++
		}
	}
	frac := float64(moved) / float64(len(before))
	t.Logf("removed server had %d slots; %d other slots (%.2f%%) moved", victimSlots, moved, 100*frac)
	if frac > 0.03 {
		t.Errorf("%.2f%% of the surviving servers' slots moved, want at most 3%%", 100*frac)
	}
	if err := p.Add(servers[victim]); err != nil {
		t.Fatal(err)
	}
	// Re-added at the end of the pool: a different turn order, so compare
	// with a fresh scheduler on a pool in the same order.
	fresh, _ := NewPool(append(append([]Server{}, servers[:victim]...), append(servers[victim+1:], servers[victim])...)...)
	if a, b := classicMHTable(t, m, p), classicMHTable(t, classicMH(t, Options{}), fresh); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("table after re-add differs from a fresh build")
	}
}

// Quiescing a server to weight 0 keeps the table (last_weight) so no other
// client moves; its own clients get ErrNoServer, or another server with
// Fallback. Down behaves the same.
func TestMHQuiesceAndFallback(t *testing.T) {
	for _, fallback := range []bool{false, true} {
		for _, how := range []string{"weight0", "down", "overload"} {
			t.Run(fmt.Sprintf("%s/fallback=%v", how, fallback), func(t *testing.T) {
				p := classicPool(t, 1, 1, 1, 1)
				m := classicMH(t, Options{Fallback: fallback, TableSize: 251})
				before := classicMHTable(t, m, p)
				switch how {
				case "weight0":
					_ = p.SetWeight(2, 0)
				case "down":
					_ = p.SetDown(2, true)
				case "overload":
					classicOverload(t, p, 2)
				}
				if after := classicMHTable(t, m, p); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatal("table changed")
				}
				for i := range 2000 {
					r := &Request{Client: netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)})}
					slot := keyedHash64(mhKey1, m.base(r)) % uint64(m.size)
					id, err := m.Schedule(0, r, p)
					if before[slot] != 2 {
						if err != nil || id != before[slot] {
							t.Fatalf("client %v moved: got %d (%v), want %d", r.Client, id, err, before[slot])
						}
						continue
					}
					if !fallback {
						if !errors.Is(err, ErrNoServer) {
							t.Fatalf("client of quiesced server: got %d (%v)", id, err)
						}
						continue
					}
					if err != nil || id == 2 || !p.Get(id).Usable() {
						t.Fatalf("fallback: got %d (%v)", id, err)
					}
				}
			})
		}
	}
}

// Client, port and key hashing; no usable server and empty pools.
func TestMHLookup(t *testing.T) {
	p := classicPool(t, 1, 1, 1, 1, 1, 1, 1, 1)
	m := classicMH(t, Options{})
	mp := classicMH(t, Options{Port: true})
	a := netip.MustParseAddr("10.0.0.1")
	first, _ := m.Schedule(0, &Request{Client: a, ClientPort: 1}, p)
	ports := map[ServerID]bool{}
	for port := range uint16(200) {
		if id, _ := m.Schedule(0, &Request{Client: a, ClientPort: port}, p); id != first {
			t.Fatal("port changed the server without Options.Port")
		}
		id, _ := mp.Schedule(0, &Request{Client: a, ClientPort: port}, p)
		ports[id] = true
	}
	if len(ports) < 6 {
		t.Errorf("with Options.Port 200 ports reached only %d of 8 servers", len(ports))
	}
	keys := map[ServerID]bool{}
	for i := range 200 {
		k := fmt.Sprintf("/obj/%d", i)
		id1, err1 := m.Schedule(0, &Request{Key: k}, p)
		id2, err2 := m.Schedule(0, &Request{Key: k}, p)
		if err1 != nil || err2 != nil || id1 != id2 {
			t.Fatalf("key %s: %d %d (%v %v)", k, id1, id2, err1, err2)
		}
		keys[id1] = true
	}
	if len(keys) < 6 {
		t.Errorf("200 keys reached only %d of 8 servers", len(keys))
	}
	for _, fb := range []bool{false, true} {
		mm := classicMH(t, Options{Fallback: fb, TableSize: 251})
		q := classicPool(t, 0, 0)
		if _, err := mm.Schedule(0, &Request{Client: a}, q); !errors.Is(err, ErrNoServer) {
			t.Errorf("all weight 0 (never positive): err = %v", err)
		}
		q = classicPool(t, 1, 2)
		_ = q.SetDown(0, true)
		_ = q.SetDown(1, true)
		if _, err := mm.Schedule(0, &Request{Client: a}, q); !errors.Is(err, ErrNoServer) {
			t.Errorf("all down: err = %v", err)
		}
		if _, err := mm.Schedule(0, &Request{Client: a}, classicPool(t)); !errors.Is(err, ErrNoServer) {
			t.Errorf("empty pool: err = %v", err)
		}
	}
}

func TestMHChurn(t *testing.T) {
	for seed := range uint64(2) {
		classicChurn(t, classicMH(t, Options{TableSize: 251}), seed, false)
		classicChurn(t, classicMH(t, Options{TableSize: 509, Fallback: true, Port: true}), seed, true)
	}
}

// BenchmarkMHRebuild measures a full Maglev table rebuild (a weight
// change) for 16 servers at the default M = 4093.
func BenchmarkMHRebuild(b *testing.B) {
	w := make([]int, 16)
	for i := range w {
		w[i] = 1 + i%4
	}
	p := classicPool(b, w...)
	m := classicMH(b, Options{})
	r := &Request{Client: netip.MustParseAddr("10.0.0.1")}
	for i := 0; b.Loop(); i++ {
		_ = p.SetWeight(0, 1+i%2)
		_, _ = m.Schedule(0, r, p)
	}
}

// BenchmarkHashLookup measures SH, DH and MH lookups on a stable pool.
func BenchmarkHashLookup(b *testing.B) {
	for _, s := range []Scheduler{NewSH(Options{}), NewDH(Options{}), classicMH(b, Options{})} {
		b.Run(s.Name(), func(b *testing.B) {
			p := classicPool(b, 1, 2, 3, 4, 5, 6, 7, 8)
			r := &Request{Client: netip.MustParseAddr("10.0.0.1"), Dest: netip.MustParseAddr("10.9.9.9")}
			for b.Loop() {
				_, _ = s.Schedule(0, r, p)
			}
		})
	}
}
