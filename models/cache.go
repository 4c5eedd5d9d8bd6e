package models

import (
	"fmt"
	"strings"
)

// Cache is a node's main-memory cache of whole objects, bounded in bytes.
// Objects are identified by their index in the workload's object table
// (traces.Workload.Objects), so implementations keep per-object state in
// slices indexed by object, not in maps. Indices must be >= 0; a cache
// grows its tables when it sees an index beyond the size it was made for.
//
// A Cache is deterministic and not safe for concurrent use.
type Cache interface {
	// Lookup reports whether obj is cached and, on a hit, records the
	// access (an LRU cache moves it to the most-recently-used end).
	Lookup(obj int32) bool

	// Insert caches obj of the given size, evicting objects by the policy
	// until it fits. If obj is already cached, Insert only records an
	// access, as Lookup does. An object larger than the capacity is never
	// cached (nothing is evicted for it). Insert reports whether obj is
	// cached afterwards.
	Insert(obj int32, size int64) bool

	// Contains reports whether obj is cached, without recording an access.
	Contains(obj int32) bool

	// Used is the sum of the cached objects' sizes; Capacity the bound.
	Used() int64
	Capacity() int64

	// Len is the number of cached objects.
	Len() int

	// Evictions is the number of objects evicted so far.
	Evictions() int64

	// Reset empties the cache (a node that crashed loses its memory).
	Reset()
}

// Cache policy names accepted by NewCache.
const (
	PolicyLRU = "lru"
	PolicyLFU = "lfu"
	PolicyGDS = "gds"
)

// Policies returns the cache policy names NewCache accepts.
func Policies() []string { return []string{PolicyLRU, PolicyLFU, PolicyGDS} }

// NewCache returns an empty cache of the named policy ("lru", "lfu" or
// "gds") holding at most capacity bytes, with tables sized for objects
// 0..objects-1.
func NewCache(policy string, capacity int64, objects int) (Cache, error) {
	if capacity < 0 {
		return nil, fmt.Errorf("models: cache capacity must be >= 0 (got %d)", capacity)
	}
	if objects < 0 {
		objects = 0
	}
	switch strings.ToLower(policy) {
	case PolicyLRU, "":
		return NewLRU(capacity, objects), nil
	case PolicyLFU:
		return NewLFU(capacity, objects), nil
	case PolicyGDS:
		return NewGDS(capacity, objects), nil
	}
	return nil, fmt.Errorf("models: unknown cache policy %q (known: %s)", policy, strings.Join(Policies(), ", "))
}

// LRU is a least-recently-used cache bounded in bytes (docs/reference-model.md:
// "LRU replacement by bytes"). Every operation is O(1): the cached objects
// form an intrusive doubly linked list threaded through slices indexed by
// object, most recently used first.
type LRU struct {
	capacity, used int64
	n              int
	evictions      int64
	// ent[0] is the list's sentinel; object o lives at ent[o+1]. An entry
	// with prev < 0 is not cached.
	ent []lruEntry
}

type lruEntry struct {
	prev, next int32
	size       int64
}

var _ Cache = (*LRU)(nil)

// NewLRU returns an empty LRU cache of capacity bytes with tables for
// objects 0..objects-1.
func NewLRU(capacity int64, objects int) *LRU {
	c := &LRU{capacity: capacity}
	c.grow(objects)
	return c
}

func (c *LRU) grow(objects int) {
	old := len(c.ent)
	if objects+1 <= old {
		return
	}
	want := objects + 1
	if old > 0 && want < 2*old {
		want = 2 * old
	}
	ent := make([]lruEntry, want)
	copy(ent, c.ent)
	for i := max(old, 1); i < want; i++ {
		ent[i].prev = -1
	}
	c.ent = ent
}

// Contains implements Cache.
func (c *LRU) Contains(obj int32) bool {
	i := int(obj) + 1
	return obj >= 0 && i < len(c.ent) && c.ent[i].prev >= 0
}

func (c *LRU) unlink(i int32) {
	e := &c.ent[i]
	c.ent[e.prev].next = e.next
	c.ent[e.next].prev = e.prev
}

// pushFront makes entry i the most recently used.
func (c *LRU) pushFront(i int32) {
	first := c.ent[0].next
	c.ent[i].prev = 0
	c.ent[i].next = first
	c.ent[first].prev = i
	c.ent[0].next = i
}

// Lookup implements Cache.
func (c *LRU) Lookup(obj int32) bool {
	if !c.Contains(obj) {
		return false
	}
	i := obj + 1
	if c.ent[0].next != i {
		c.unlink(i)
		c.pushFront(i)
	}
	return true
}

// Insert implements Cache.
func (c *LRU) Insert(obj int32, size int64) bool {
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
		lru := c.ent[0].prev
		c.unlink(lru)
		c.used -= c.ent[lru].size
		c.ent[lru] = lruEntry{prev: -1}
		c.n--
		c.evictions++
	}
	i := obj + 1
	c.ent[i].size = size
	c.pushFront(i)
	c.used += size
	c.n++
	return true
}

// Used implements Cache.
func (c *LRU) Used() int64 { return c.used }

// Capacity implements Cache.
func (c *LRU) Capacity() int64 { return c.capacity }

// Len implements Cache.
func (c *LRU) Len() int { return c.n }

// Evictions implements Cache.
func (c *LRU) Evictions() int64 { return c.evictions }

// Reset implements Cache.
func (c *LRU) Reset() {
	for i := c.ent[0].next; i != 0; {
		next := c.ent[i].next
		c.ent[i] = lruEntry{prev: -1}
		i = next
	}
	c.ent[0] = lruEntry{}
	c.used, c.n = 0, 0
}

// Order returns the cached objects from most to least recently used. It is
// meant for tests and debugging.
func (c *LRU) Order() []int32 {
	out := make([]int32, 0, c.n)
	for i := c.ent[0].next; i != 0; i = c.ent[i].next {
		out = append(out, i-1)
	}
	return out
}
