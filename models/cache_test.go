package models

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var cacheSeed = flag.Uint64("cache.seed", 1, "seed of the random cache streams")

// naiveCache is the obviously correct reference: a slice of cached objects
// scanned linearly, with the victim chosen by the same rule as the policy
// under test, written independently of the optimized code.
type naiveCache struct {
	policy    string
	capacity  int64
	used      int64
	clock     uint64
	inflation float64
	items     []naiveItem
	evictions int64
}

type naiveItem struct {
	obj   int32
	size  int64
	count int
	last  uint64
	h     float64
}

func (n *naiveCache) find(obj int32) int {
	for i, it := range n.items {
		if it.obj == obj {
			return i
		}
	}
	return -1
}

func (n *naiveCache) access(i int) {
	n.clock++
	it := &n.items[i]
	it.last = n.clock
	it.count++
	it.h = n.inflation + 1/float64(max(it.size, 1))
}

func (n *naiveCache) Lookup(obj int32) bool {
	i := n.find(obj)
	if i < 0 {
		return false
	}
	n.access(i)
	return true
}

// victim returns the index of the item the policy evicts next.
func (n *naiveCache) victim() int {
	best := 0
	for i := 1; i < len(n.items); i++ {
		a, b := n.items[i], n.items[best]
		var better bool
		switch n.policy {
		case PolicyLRU:
			better = a.last < b.last
		case PolicyLFU:
			better = a.count < b.count || (a.count == b.count && a.last < b.last)
		case PolicyGDS:
			better = a.h < b.h || (a.h == b.h && a.last < b.last)
		}
		if better {
			best = i
		}
	}
	return best
}

func (n *naiveCache) Insert(obj int32, size int64) bool {
	if n.Lookup(obj) {
		return true
	}
	if size > n.capacity {
		return false
	}
	for n.used+size > n.capacity {
		v := n.victim()
		n.inflation = n.items[v].h
		n.used -= n.items[v].size
		n.items = slices.Delete(n.items, v, v+1)
		n.evictions++
	}
	n.items = append(n.items, naiveItem{obj: obj, size: size})
	n.access(len(n.items) - 1)
	n.items[len(n.items)-1].count = 1
	n.used += size
	return true
}

func (n *naiveCache) contents() []int32 {
	out := make([]int32, 0, len(n.items))
	for _, it := range n.items {
		out = append(out, it.obj)
	}
	slices.Sort(out)
	return out
}

func contents(c Cache, objects int) []int32 {
	out := []int32{}
	for o := range int32(objects) {
		if c.Contains(o) {
			out = append(out, o)
		}
	}
	return out
}

// TestCacheAgainstNaive drives every policy and a naive reference with the
// same random stream of lookups and inserts (a cache-miss-then-insert
// pattern, as a node does, plus stray inserts of cached objects) and
// compares every answer and the full contents after every step.
func TestCacheAgainstNaive(t *testing.T) {
	if *cacheSeed != 1 {
		t.Logf("seed %d", *cacheSeed)
	}
	for _, policy := range Policies() {
		for _, tc := range []struct {
			objects  int
			capacity int64
			maxSize  int64
		}{
			{5, 10, 6}, {50, 1000, 300}, {200, 5000, 900}, {30, 64, 64}, {40, 100, 1},
		} {
			t.Run(fmt.Sprintf("%s/objects=%d/cap=%d", policy, tc.objects, tc.capacity), func(t *testing.T) {
				r := rand.New(rand.NewPCG(*cacheSeed, uint64(tc.objects)))
				sizes := make([]int64, tc.objects)
				for i := range sizes {
					sizes[i] = 1 + r.Int64N(tc.maxSize)
				}
				if tc.objects > 3 {
					sizes[3] = tc.capacity + 1 // never cached
				}
				c, err := NewCache(policy, tc.capacity, tc.objects/2) // tables must grow
				if err != nil {
					t.Fatal(err)
				}
				ref := &naiveCache{policy: policy, capacity: tc.capacity}
				z := rand.NewZipf(r, 1.1, 1, uint64(tc.objects-1))
				for step := range 3000 {
					obj := int32(z.Uint64())
					if step%7 == 0 {
						obj = int32(r.IntN(tc.objects))
					}
					got, want := c.Lookup(obj), ref.Lookup(obj)
					if got != want {
						t.Fatalf("step %d: Lookup(%d) = %v, reference %v", step, obj, got, want)
					}
					if !got || step%5 == 0 {
						got, want = c.Insert(obj, sizes[obj]), ref.Insert(obj, sizes[obj])
						if got != want {
							t.Fatalf("step %d: Insert(%d, %d) = %v, reference %v", step, obj, sizes[obj], got, want)
						}
					}
					if c.Used() != ref.used || c.Len() != len(ref.items) || c.Evictions() != ref.evictions {
						t.Fatalf("step %d: used/len/evictions %d/%d/%d, reference %d/%d/%d", step,
							c.Used(), c.Len(), c.Evictions(), ref.used, len(ref.items), ref.evictions)
					}
					if c.Used() > c.Capacity() {
						t.Fatalf("step %d: used %d > capacity %d", step, c.Used(), c.Capacity())
					}
					if g, w := contents(c, tc.objects), ref.contents(); !slices.Equal(g, w) {
						t.Fatalf("step %d: contents %v, reference %v", step, g, w)
					}
				}
				if tc.objects > 3 && c.Contains(3) {
					t.Fatalf("object larger than the cache was cached")
				}
				c.Reset()
				if c.Used() != 0 || c.Len() != 0 || len(contents(c, tc.objects)) != 0 {
					t.Fatalf("Reset left used %d len %d", c.Used(), c.Len())
				}
				// The cache works after a reset.
				if !c.Insert(0, 1) || !c.Lookup(0) {
					t.Fatalf("cache unusable after Reset")
				}
			})
		}
	}
}

// TestLRUOrder checks eviction order by bytes on a hand-made sequence.
// Reference: docs/reference-model.md "LRU replacement by bytes".
func TestLRUOrder(t *testing.T) {
	c := NewLRU(100, 0)
	steps := []struct {
		op        string
		obj       int32
		size      int64
		want      bool
		wantOrder []int32 // MRU first
	}{
		{"insert", 1, 40, true, []int32{1}},
		{"insert", 2, 40, true, []int32{2, 1}},
		{"lookup", 1, 0, true, []int32{1, 2}},
		{"insert", 3, 30, true, []int32{3, 1}}, // 2 is LRU: evicted (40+40+30 > 100)
		{"lookup", 2, 0, false, []int32{3, 1}},
		{"insert", 4, 101, false, []int32{3, 1}}, // larger than the cache: nothing evicted
		{"insert", 5, 100, true, []int32{5}},     // exactly the capacity: evicts everything
		{"insert", 5, 100, true, []int32{5}},     // already cached: just a touch
		{"insert", 6, 0, true, []int32{6, 5}},    // empty object fits
	}
	for i, s := range steps {
		var got bool
		if s.op == "insert" {
			got = c.Insert(s.obj, s.size)
		} else {
			got = c.Lookup(s.obj)
		}
		if got != s.want || !slices.Equal(c.Order(), s.wantOrder) {
			t.Fatalf("step %d %s(%d): got %v order %v, want %v order %v", i, s.op, s.obj, got, c.Order(), s.want, s.wantOrder)
		}
	}
}

// TestGDSPrefersSmall checks GreedyDual-Size's defining behaviour: with
// equal access histories the largest object (smallest 1/size) goes first,
// and L inflates to the evicted value.
func TestGDSPrefersSmall(t *testing.T) {
	c := NewGDS(100, 4)
	c.Insert(0, 50)
	c.Insert(1, 10)
	c.Insert(2, 40)
	if !c.Insert(3, 20) { // must evict object 0 (H = 1/50, the smallest)
		t.Fatal("insert failed")
	}
	if c.Contains(0) || !c.Contains(1) || !c.Contains(2) || !c.Contains(3) {
		t.Fatalf("contents %v, want [1 2 3]", contents(c, 4))
	}
	if c.Inflation() != 1.0/50 {
		t.Fatalf("L = %v, want 1/50", c.Inflation())
	}
}

func TestNewCacheErrors(t *testing.T) {
	if _, err := NewCache("fifo", 10, 1); err == nil {
		t.Error("unknown policy accepted")
	}
	if _, err := NewCache("lru", -1, 1); err == nil {
		t.Error("negative capacity accepted")
	}
	for _, p := range Policies() {
		c, err := NewCache(p, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Lookup(-1) || c.Insert(-1, 1) || c.Contains(1<<30) {
			t.Errorf("%s: out-of-range object reported cached", p)
		}
	}
}

// BenchmarkCache measures a lookup-then-insert-on-miss step on a Zipf
// stream, and reports the bytes of table per object the cache can hold.
func BenchmarkCache(b *testing.B) {
	const objects = 100000
	for _, p := range Policies() {
		b.Run(p, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			z := rand.NewZipf(r, 1.1, 1, objects-1)
			stream := make([]int32, 1<<16)
			for i := range stream {
				stream[i] = int32(z.Uint64())
			}
			c, _ := NewCache(p, 1<<20, objects)
			b.ResetTimer()
			for i := range b.N {
				o := stream[i&(len(stream)-1)]
				if !c.Lookup(o) {
					c.Insert(o, 1+int64(o%8192))
				}
			}
		})
	}
}

// Inserting an object that is already cached moves it to the
// most-recently-used end, as when another request inserted it while this
// one was reading it from disk (docs/reference-model.md, serving step 2): with
// a, b, c cached (c most recent), inserting a again and then d evicts b,
// not a.
func TestInsertCachedMovesToMRU(t *testing.T) {
	c := NewLRU(300, 4)
	for obj := int32(0); obj < 3; obj++ {
		if !c.Insert(obj, 100) {
			t.Fatalf("insert %d failed", obj)
		}
	}
	if !c.Insert(0, 100) {
		t.Fatal("re-insert of a cached object failed")
	}
	if got, want := c.Order(), []int32{0, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("order after re-insert = %v, want %v (MRU first)", got, want)
	}
	if !c.Insert(3, 100) {
		t.Fatal("insert 3 failed")
	}
	if c.Contains(1) || !c.Contains(0) {
		t.Fatalf("after inserting d: cached %v; want b (1) evicted and a (0) kept", c.Order())
	}
	if c.Used() != 300 || c.Len() != 3 {
		t.Fatalf("used %d, len %d; want 300 and 3", c.Used(), c.Len())
	}
}
