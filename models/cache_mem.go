package models

import (
	"strings"
	"unsafe"
)

// CacheTableBytes estimates the memory, in bytes, of the per-object tables
// a cache of policy allocates for objects 0..objects-1 (NewCache): one
// entry per object whatever the capacity, 16 bytes for LRU and 40 for LFU
// and GDS, whose heap of cached objects adds up to 8 more (4 bytes per
// cached object, doubled by growth). Multiplied by the node count, it is
// what dominates a simulation of many nodes on a trace of many objects.
func CacheTableBytes(policy string, objects int) int64 {
	n := int64(max(objects, 0))
	switch strings.ToLower(policy) {
	case PolicyLFU, PolicyGDS:
		return n * (int64(unsafe.Sizeof(heapEntry{})) + 8)
	}
	return (n + 1) * int64(unsafe.Sizeof(lruEntry{}))
}
