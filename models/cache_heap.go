package models

// heapCache is a byte-bounded cache that evicts the cached object with the
// smallest priority, ties going to the object accessed least recently. It
// is an indexed binary min-heap over slices indexed by object, so Lookup
// and Insert cost O(log n) in the number of cached objects. LFU and GDS
// differ only in the priority they give an access.
type heapCache struct {
	capacity, used int64
	evictions      int64
	clock          uint64 // access counter, for recency ties
	ent            []heapEntry
	heap           []int32 // object indices
	// priority returns the new priority of e after an access (hit or insert).
	priority func(e *heapEntry) float64
	// evicted is called with the priority of each evicted object.
	evicted func(p float64)
}

type heapEntry struct {
	pos   int32 // position in heap + 1; 0 = not cached
	size  int64
	count uint64  // accesses since the object was cached
	key   float64 // priority
	seq   uint64  // clock value of the last access
}

func (c *heapCache) grow(objects int) {
	if objects <= len(c.ent) {
		return
	}
	want := max(objects, 2*len(c.ent))
	ent := make([]heapEntry, want)
	copy(ent, c.ent)
	c.ent = ent
}

func (c *heapCache) less(a, b int32) bool {
	ea, eb := &c.ent[a], &c.ent[b]
	if ea.key != eb.key {
		return ea.key < eb.key
	}
	return ea.seq < eb.seq
}

func (c *heapCache) swap(i, j int) {
	h := c.heap
	h[i], h[j] = h[j], h[i]
	c.ent[h[i]].pos = int32(i + 1)
	c.ent[h[j]].pos = int32(j + 1)
}

func (c *heapCache) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !c.less(c.heap[j], c.heap[i]) {
			break
		}
		c.swap(i, j)
		j = i
	}
}

func (c *heapCache) down(i int) {
	n := len(c.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c.less(c.heap[r], c.heap[l]) {
			m = r
		}
		if !c.less(c.heap[m], c.heap[i]) {
			return
		}
		c.swap(i, m)
		i = m
	}
}

func (c *heapCache) fix(i int) {
	c.up(i)
	c.down(i)
}

func (c *heapCache) Contains(obj int32) bool {
	return obj >= 0 && int(obj) < len(c.ent) && c.ent[obj].pos != 0
}

func (c *heapCache) touch(obj int32) {
	e := &c.ent[obj]
	c.clock++
	e.seq = c.clock
	e.count++
	e.key = c.priority(e)
	c.fix(int(e.pos - 1))
}

func (c *heapCache) Lookup(obj int32) bool {
	if !c.Contains(obj) {
		return false
	}
	c.touch(obj)
	return true
}

func (c *heapCache) Insert(obj int32, size int64) bool {
	if obj < 0 {
		return false
	}
	if c.Lookup(obj) {
		return true
	}
	if size > c.capacity || size < 0 {
		return false
	}
	c.grow(int(obj) + 1)
	for c.used+size > c.capacity {
		c.evictMin()
	}
	c.clock++
	e := &c.ent[obj]
	*e = heapEntry{size: size, count: 1, seq: c.clock}
	e.key = c.priority(e)
	c.heap = append(c.heap, obj)
	e.pos = int32(len(c.heap))
	c.up(len(c.heap) - 1)
	c.used += size
	return true
}

func (c *heapCache) evictMin() {
	victim := c.heap[0]
	last := len(c.heap) - 1
	c.swap(0, last)
	c.heap = c.heap[:last]
	if last > 0 {
		c.down(0)
	}
	e := &c.ent[victim]
	if c.evicted != nil {
		c.evicted(e.key)
	}
	c.used -= e.size
	*e = heapEntry{}
	c.evictions++
}

func (c *heapCache) Used() int64      { return c.used }
func (c *heapCache) Capacity() int64  { return c.capacity }
func (c *heapCache) Len() int         { return len(c.heap) }
func (c *heapCache) Evictions() int64 { return c.evictions }

func (c *heapCache) reset() {
	for _, o := range c.heap {
		c.ent[o] = heapEntry{}
	}
	c.heap = c.heap[:0]
	c.used = 0
}

// LFU is an in-cache least-frequently-used cache bounded in bytes: it
// evicts the object accessed the fewest times since it was cached, the
// least recently used of those on a tie. An object's count starts at 1
// when it is inserted and is forgotten when it is evicted.
type LFU struct{ heapCache }

var _ Cache = (*LFU)(nil)

// NewLFU returns an empty LFU cache of capacity bytes with tables for
// objects 0..objects-1.
func NewLFU(capacity int64, objects int) *LFU {
	c := &LFU{}
	c.capacity = capacity
	c.priority = func(e *heapEntry) float64 { return float64(e.count) }
	c.grow(objects)
	return c
}

// Reset implements Cache.
func (c *LFU) Reset() { c.reset() }

// GDS is GreedyDual-Size (Cao and Irani, "Cost-Aware WWW Proxy Caching
// Algorithms", USITS 1997) with a uniform cost of 1 per object, the variant
// that maximises the hit ratio: an object's value is H = L + 1/size, set
// on insertion and refreshed on every hit; the object with the smallest H
// is evicted (the least recently used on a tie) and the inflation value L
// becomes its H.
type GDS struct {
	heapCache
	inflation float64
}

var _ Cache = (*GDS)(nil)

// NewGDS returns an empty GreedyDual-Size cache of capacity bytes with
// tables for objects 0..objects-1.
func NewGDS(capacity int64, objects int) *GDS {
	c := &GDS{}
	c.capacity = capacity
	c.priority = func(e *heapEntry) float64 {
		return c.inflation + 1/float64(max(e.size, 1))
	}
	c.evicted = func(h float64) { c.inflation = h }
	c.grow(objects)
	return c
}

// Inflation returns the current value of L.
func (c *GDS) Inflation() float64 { return c.inflation }

// Reset implements Cache.
func (c *GDS) Reset() {
	c.reset()
	c.inflation = 0
}
