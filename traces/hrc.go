package traces

import (
	"fmt"
	"slices"
)

// HRCPoint is one point of a hit-ratio curve.
type HRCPoint struct {
	CacheBytes   int64   `json:"cache_bytes"`    // cache capacity
	Requests     int64   `json:"requests"`       // requests replayed
	Hits         int64   `json:"hits"`           // requests that hit
	HitRatio     float64 `json:"hit_ratio"`      // hits / requests
	ByteHitRatio float64 `json:"byte_hit_ratio"` // bytes of hits / bytes of requests (object sizes)
}

// DefaultHRCSizes returns log-spaced cache sizes for a workload whose
// working set is ws bytes: 64 KiB, 128 KiB, ... doubling up to the first
// size that holds the whole working set (at most 40 sizes).
func DefaultHRCSizes(ws int64) []int64 {
	var sizes []int64
	for c := int64(64 << 10); len(sizes) < 40; c *= 2 {
		sizes = append(sizes, c)
		if c >= ws {
			break
		}
	}
	return sizes
}

// HitRatioCurve replays w's requests, in order, through LRU caches of the
// given capacities (bytes, each > 0) and returns one point per distinct
// capacity, in increasing order.
//
// The cache is the reference model's (docs/reference-model.md, "Cluster"):
// whole objects of w.Objects[i].Size bytes, LRU replacement by bytes, and an
// object larger than the cache is never cached (it neither hits nor evicts
// anything). Objects enter the cache at the moment they are requested (no
// disk delay), so this is the hit ratio of one node replaying the trace
// sequentially.
//
// It runs in one pass with Mattson stack distances weighted by bytes: a
// request for x hits a cache of capacity C iff x was requested before,
// size(x) ≤ C, and size(x) plus the total size of the distinct objects of
// size ≤ C requested since x's previous request is at most C (under LRU by
// bytes the cache always holds the longest prefix of the recency stack that
// fits). Objects are grouped into classes by the smallest capacity that can
// hold them, and a Fenwick tree over recency slots, holding one partial sum
// per class, gives those totals in O(K log U) per request (K capacities, U
// objects); slots are compacted when exhausted, so memory is O(K·U).
//
// At most MaxHRCSizes distinct capacities are accepted; HRCBytes estimates
// the memory.
func HitRatioCurve(w *Workload, sizes []int64) ([]HRCPoint, error) {
	caps := slices.Clone(sizes)
	slices.Sort(caps)
	caps = slices.Compact(caps)
	if len(caps) == 0 {
		return nil, fmt.Errorf("traces: hit-ratio curve: no cache size")
	}
	if len(caps) > MaxHRCSizes {
		return nil, fmt.Errorf("traces: hit-ratio curve: %d cache sizes, at most %d", len(caps), MaxHRCSizes)
	}
	if caps[0] <= 0 {
		return nil, fmt.Errorf("traces: hit-ratio curve: cache size %d is not positive", caps[0])
	}
	K := len(caps)
	objSize := make([]int64, len(w.Objects))
	class := make([]int, len(w.Objects))
	cacheable := 0
	for i, o := range w.Objects {
		s := max(o.Size, 0)
		objSize[i] = s
		c, _ := slices.BinarySearch(caps, s) // smallest k with caps[k] >= s
		class[i] = c
		if c < K {
			cacheable++
		}
	}

	f := newClassFenwick(2*cacheable+2, K)
	slot := make([]int32, len(w.Objects))
	for i := range slot {
		slot[i] = -1
	}
	hits := make([]int64, K)
	hitBytes := make([]int64, K)
	var reqBytes int64
	prefix := make([]int64, K)
	for _, r := range w.Requests {
		o := r.Object
		if o < 0 || int(o) >= len(objSize) {
			return nil, fmt.Errorf("traces: hit-ratio curve: request for object %d of %d", o, len(objSize))
		}
		s, c := objSize[o], class[o]
		reqBytes += s
		if c == K {
			continue // larger than every cache: never cached, touches nothing
		}
		if p := slot[o]; p >= 0 {
			f.add(int(p), c, -s)
			f.owner[p] = -1
			f.prefix(int(p), prefix)
			// cum = Σ_{j≤k} sizes of class-j objects requested after slot p.
			var cum int64
			for k := 0; k < K; k++ {
				cum += f.total[k] - prefix[k]
				if k >= c && cum+s <= caps[k] {
					hits[k]++
					hitBytes[k] += s
				}
			}
		}
		if f.next == f.n {
			f.compact(objSize, class, slot)
		}
		slot[o] = int32(f.next)
		f.owner[f.next] = o
		f.add(f.next, c, s)
		f.next++
	}

	n := int64(len(w.Requests))
	pts := make([]HRCPoint, K)
	for k, cb := range caps {
		pts[k] = HRCPoint{CacheBytes: cb, Requests: n, Hits: hits[k]}
		if n > 0 {
			pts[k].HitRatio = float64(hits[k]) / float64(n)
		}
		if reqBytes > 0 {
			pts[k].ByteHitRatio = float64(hitBytes[k]) / float64(reqBytes)
		}
	}
	return pts, nil
}

// MaxHRCSizes is the largest number of distinct cache sizes HitRatioCurve
// takes: its time and memory grow linearly with them.
const MaxHRCSizes = 256

// HRCBytes estimates the memory HitRatioCurve takes for a workload of
// objects objects and sizes distinct cache sizes: a Fenwick tree of two
// slots per object holding one sum per size (16 bytes per object and
// size), and 28 bytes of tables per object.
func HRCBytes(objects, sizes int) int64 {
	u, k := int64(max(objects, 0)), int64(max(sizes, 0))
	return satSum(satMul(satMul(2*u+3, k), 8), satMul(u, 28), satMul(k, 32))
}

// classFenwick is a Fenwick tree over n recency slots whose nodes hold k
// partial sums (one per size class), with per-class totals.
type classFenwick struct {
	n, k  int
	tree  []int64 // node i (1-based) at tree[i*k : i*k+k]
	total []int64
	owner []int32 // object at each slot, -1 if free
	next  int     // next free slot; slots ≥ next are empty
}

func newClassFenwick(n, k int) *classFenwick {
	f := &classFenwick{n: n, k: k, tree: make([]int64, (n+1)*k), total: make([]int64, k), owner: make([]int32, n)}
	for i := range f.owner {
		f.owner[i] = -1
	}
	return f
}

func (f *classFenwick) add(slot, class int, v int64) {
	f.total[class] += v
	for i := slot + 1; i <= f.n; i += i & -i {
		f.tree[i*f.k+class] += v
	}
}

// prefix sets out[j] to the sum of class j over slots 0..slot.
func (f *classFenwick) prefix(slot int, out []int64) {
	clear(out)
	for i := slot + 1; i > 0; i -= i & -i {
		node := f.tree[i*f.k : i*f.k+f.k]
		for j, v := range node {
			out[j] += v
		}
	}
}

// compact renumbers the occupied slots 0..m-1 in recency order and rebuilds
// the tree in O(n·k).
func (f *classFenwick) compact(size []int64, class []int, slot []int32) {
	clear(f.tree)
	m := 0
	for s := 0; s < f.next; s++ {
		o := f.owner[s]
		if o < 0 {
			continue
		}
		f.owner[s] = -1
		f.owner[m] = o
		slot[o] = int32(m)
		f.tree[(m+1)*f.k+class[o]] += size[o]
		m++
	}
	for i := 1; i <= f.n; i++ { // linear Fenwick build
		if p := i + (i & -i); p <= f.n {
			for j := 0; j < f.k; j++ {
				f.tree[p*f.k+j] += f.tree[i*f.k+j]
			}
		}
	}
	f.next = m
}
