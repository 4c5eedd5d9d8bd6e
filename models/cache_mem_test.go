package models

import (
	"runtime"
	"testing"
)

// CacheTableBytes is the real cost: the bytes NewCache and a full use of
// the cache allocate, within a quarter.
func TestCacheTableBytes(t *testing.T) {
	const objects = 100_000
	for _, policy := range Policies() {
		t.Run(policy, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c, err := NewCache(policy, 1<<40, objects)
			if err != nil {
				t.Fatal(err)
			}
			for o := range int32(objects) {
				c.Insert(o, 1000) // everything fits: the heap holds every object
			}
			runtime.ReadMemStats(&after)
			got := float64(after.TotalAlloc - before.TotalAlloc)
			est := float64(CacheTableBytes(policy, objects))
			if est < 0.75*got || est > 1.25*got {
				t.Errorf("CacheTableBytes(%s, %d) = %.0f, measured %.0f", policy, objects, est, got)
			}
			runtime.KeepAlive(c)
		})
	}
}
