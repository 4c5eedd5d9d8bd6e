package traces

import (
	"container/list"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// naiveLRU is the reference model's cache (docs/reference-model.md,
// "Cluster"): whole objects, LRU by bytes, an object larger than the cache
// never cached. It replays requests one at a time.
type naiveLRU struct {
	capacity, used int64
	order          *list.List // front = most recently used; values are object indexes
	where          map[int32]*list.Element
}

func (c *naiveLRU) access(o int32, size int64) bool {
	if e, ok := c.where[o]; ok {
		c.order.MoveToFront(e)
		return true
	}
	if size > c.capacity {
		return false
	}
	for c.used+size > c.capacity {
		back := c.order.Back()
		victim := back.Value.(int32)
		c.order.Remove(back)
		delete(c.where, victim)
		c.used -= c.objSize(victim)
	}
	c.where[o] = c.order.PushFront(o)
	c.used += size
	return false
}

var naiveSizes []int64

func (c *naiveLRU) objSize(o int32) int64 { return naiveSizes[o] }

func naiveHRC(w *Workload, capacity int64) (hits int64, hitBytes int64) {
	naiveSizes = make([]int64, len(w.Objects))
	for i, o := range w.Objects {
		naiveSizes[i] = max(o.Size, 0)
	}
	c := &naiveLRU{capacity: capacity, order: list.New(), where: map[int32]*list.Element{}}
	for _, r := range w.Requests {
		if c.access(r.Object, naiveSizes[r.Object]) {
			hits++
			hitBytes += naiveSizes[r.Object]
		}
	}
	return hits, hitBytes
}

// randomWorkload draws a Zipf-like workload with sizes spread over several
// orders of magnitude, including objects larger than the smaller caches and
// zero-sized ones.
func randomWorkload(seed uint64, objects, requests int) *Workload {
	rng := rand.New(rand.NewPCG(seed, 1))
	w := &Workload{Name: fmt.Sprint("random-", seed)}
	for i := range objects {
		size := int64(rng.ExpFloat64() * 20000)
		if rng.IntN(20) == 0 {
			size = int64(rng.IntN(2 << 20)) // a few large objects
		}
		if rng.IntN(50) == 0 {
			size = 0
		}
		w.Objects = append(w.Objects, Object{Target: fmt.Sprint("/", i), Size: size})
	}
	z := rand.NewZipf(rng, 1.1, 4, uint64(objects-1))
	for range requests {
		w.Requests = append(w.Requests, Request{Object: int32(z.Uint64())})
	}
	return w
}

// TestHitRatioCurveDifferential checks the one-pass Mattson computation
// against a naive LRU simulation at every size (thesis §6.3.7 cache model).
func TestHitRatioCurveDifferential(t *testing.T) {
	sizes := []int64{1, 4 << 10, 16 << 10, 64 << 10, 100000, 256 << 10, 1 << 20, 3 << 20, 16 << 20, 1 << 30}
	var workloads []*Workload
	for seed := uint64(1); seed <= 4; seed++ {
		workloads = append(workloads, randomWorkload(seed, 300+int(seed)*200, 20000))
	}
	small := randomWorkload(9, 5, 2000) // few objects: forces many slot compactions
	workloads = append(workloads, small)
	for _, name := range []string{"antlr-slice.log", "semicomplete-slice.log"} {
		w, err := Load([]string{filepath.Join("testdata", name)}, ReferenceFilter())
		if err != nil {
			t.Fatal(err)
		}
		workloads = append(workloads, w)
	}
	for _, w := range workloads {
		pts, err := HitRatioCurve(w, sizes)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != len(sizes) {
			t.Fatalf("%s: %d points", w.Name, len(pts))
		}
		for _, p := range pts {
			hits, hitBytes := naiveHRC(w, p.CacheBytes)
			if p.Hits != hits || p.Requests != int64(len(w.Requests)) {
				t.Errorf("%s at %d bytes: %d hits, naive LRU %d", w.Name, p.CacheBytes, p.Hits, hits)
			}
			var reqBytes int64
			for _, r := range w.Requests {
				reqBytes += max(w.Objects[r.Object].Size, 0)
			}
			if reqBytes > 0 && p.ByteHitRatio != float64(hitBytes)/float64(reqBytes) {
				t.Errorf("%s at %d bytes: byte hit ratio %v, naive %v", w.Name, p.CacheBytes, p.ByteHitRatio, float64(hitBytes)/float64(reqBytes))
			}
		}
	}
}

func TestHitRatioCurveEdges(t *testing.T) {
	w := &Workload{Objects: []Object{{"/a", 10}, {"/b", 10}}, Requests: []Request{{Object: 0}, {Object: 1}, {Object: 0}, {Object: 0}}}
	pts, err := HitRatioCurve(w, []int64{20, 10, 10, 5})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted and deduplicated; at 5 nothing fits, at 10 only the last
	// request hits, at 20 both re-references hit.
	want := []HRCPoint{{5, 4, 0, 0, 0}, {10, 4, 1, 0.25, 0.25}, {20, 4, 2, 0.5, 0.5}}
	if fmt.Sprint(pts) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", pts, want)
	}
	if _, err := HitRatioCurve(w, nil); err == nil {
		t.Error("no sizes accepted")
	}
	if _, err := HitRatioCurve(w, []int64{0, 5}); err == nil {
		t.Error("zero size accepted")
	}
	many := make([]int64, MaxHRCSizes+1)
	for i := range many {
		many[i] = int64(i + 1)
	}
	if _, err := HitRatioCurve(w, many); err == nil || !strings.Contains(err.Error(), "257 cache sizes, at most 256") {
		t.Errorf("%d sizes: %v", len(many), err)
	}
	if _, err := HitRatioCurve(w, many[:MaxHRCSizes]); err != nil {
		t.Errorf("%d sizes: %v", MaxHRCSizes, err)
	}
	bad := &Workload{Objects: w.Objects, Requests: []Request{{Object: 7}}}
	if _, err := HitRatioCurve(bad, []int64{5}); err == nil {
		t.Error("bad object index accepted")
	}
	if got := DefaultHRCSizes(300 << 10); fmt.Sprint(got) != fmt.Sprint([]int64{64 << 10, 128 << 10, 256 << 10, 512 << 10}) {
		t.Errorf("default sizes %v", got)
	}
}

// HRCBytes is the real cost: what HitRatioCurve allocates, within a
// quarter, with few and many sizes.
func TestHRCBytes(t *testing.T) {
	w := randomWorkload(1, 50_000, 100_000)
	for _, k := range []int{1, 8, 64} {
		sizes := make([]int64, k)
		for i := range sizes {
			sizes[i] = int64(1+i) << 30 // every object fits: all are cacheable
		}
		var err error
		got := allocated(func() { _, err = HitRatioCurve(w, sizes) })
		if err != nil {
			t.Fatal(err)
		}
		if est := float64(HRCBytes(len(w.Objects), k)); est < 0.75*got || est > 1.25*got {
			t.Errorf("%d sizes: HRCBytes %.0f, HitRatioCurve allocated %.0f", k, est, got)
		}
	}
}

func BenchmarkHitRatioCurve(b *testing.B) {
	w := randomWorkload(1, 20000, 200000)
	sizes := DefaultHRCSizes(w.WorkingSet())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HitRatioCurve(w, sizes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(w.Requests))*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
