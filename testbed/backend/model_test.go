package backend

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

const us = time.Microsecond

// workload returns a workload of objects /o0, /o1, ... of the given sizes.
func workload(sizes ...int64) *traces.Workload {
	w := &traces.Workload{Name: "test"}
	for i, s := range sizes {
		w.Objects = append(w.Objects, traces.Object{Target: fmt.Sprintf("/o%d", i), Size: s})
	}
	return w
}

// arrival is one request of a timeline: object obj arrives at model time
// at (µs); it completes at model time done (µs), a hit or not.
type arrival struct {
	at, obj int
	dynamic bool
	done    int
	hit     bool
}

// TestTimeline replays timelines whose every completion was computed by
// hand from reference-model.md (the cases of sim/reference_test.go, one
// node), at a time scale, under testing/synctest's fake clock: each
// request must complete at exactly its model instant divided by the scale.
// Service times in µs, for 1,000 B: set-up 140, disk 28,410, send 220
// (a miss alone 28,770, a hit 360); 2,000 B: disk 28,410, send 300.
func TestTimeline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int64
		cache int64
		scale float64
		reqs  []arrival // in arrival order; same-instant arrivals queue in this order

		cpuSpeed, diskSpeed float64
		slow                []models.Slowdown // model time since the first request
	}{
		{
			// #2's set-up queues behind #1's and ends at 280; it misses (#1
			// inserts only at 28,550), reads 28,550 → 56,960, sends → 57,180.
			name: "same object twice at once", sizes: []int64{1000}, scale: 10,
			reqs: []arrival{{0, 0, false, 28770, false}, {0, 0, false, 57180, false}},
		},
		{
			name: "same object twice at once, real time", sizes: []int64{1000}, scale: 1,
			reqs: []arrival{{0, 0, false, 28770, false}, {0, 0, false, 57180, false}},
		},
		{
			// Sent when the first completes (closed loop, limit 1): a hit.
			name: "second request hits", sizes: []int64{1000}, scale: 10,
			reqs: []arrival{{0, 0, false, 28770, false}, {28770, 0, false, 29130, true}},
		},
		{
			// LRU by bytes, cache 2,500 B: A B A C B. C evicts B (A was
			// used after B), so only the second A hits.
			name: "LRU eviction A B A C B", sizes: []int64{1000, 1000, 1000}, cache: 2500, scale: 10,
			reqs: []arrival{
				{0, 0, false, 28770, false}, {28770, 1, false, 57540, false}, {57540, 0, false, 57900, true},
				{57900, 2, false, 86670, false}, {86670, 1, false, 115440, false},
			},
		},
		{
			// Cache 1,000 B: the 2,000-byte object is never cached, the
			// 1,000-byte one (exactly the capacity) is.
			name: "object larger than the cache", sizes: []int64{2000, 1000}, cache: 1000, scale: 10,
			reqs: []arrival{
				{0, 0, false, 28850, false}, {28850, 0, false, 57700, false},
				{57700, 1, false, 86470, false}, {86470, 1, false, 86830, true},
			},
		},
		{
			// Twice the cost, never cached: 2 × (140 + 28,410 + 220).
			name: "dynamic requests", sizes: []int64{1000}, scale: 10,
			reqs: []arrival{{0, 0, true, 57540, false}, {57540, 0, true, 115080, false}},
		},
		{
			// X is cached by 28,770. Then A (Y, a miss) and B (X, a hit)
			// arrive together: A set-up 28,770 → 28,910, B's 28,910 →
			// 29,050; A reads 28,910 → 57,320 while B's send runs on the
			// CPU 29,050 → 29,270; A sends 57,320 → 57,540. CPU and disk
			// serve different requests at once.
			name: "CPU and disk in parallel", sizes: []int64{1000, 1000}, scale: 10,
			reqs: []arrival{{0, 0, false, 28770, false}, {28770, 1, false, 57540, false}, {28770, 0, false, 29270, true}},
		},
		// The cases of sim's TestHeterogeneousReference: the same
		// instants live.
		{
			// The read starts at 140: 860 µs of work before the ×2
			// slowdown, 5,000 in its 10,000 µs, 22,550 after: ends at
			// 33,550; send → 33,770. #1's read queues behind and runs
			// unslowed: 33,550 → 61,960, send → 62,180.
			name: "a read straddles a slowdown", sizes: []int64{1000}, scale: 10,
			slow: []models.Slowdown{{From: 1000 * us, To: 11000 * us, Factor: 2}},
			reqs: []arrival{{0, 0, false, 33770, false}, {0, 0, false, 62180, false}},
		},
		{
			// The slowdown's clock starts at the first request (at 5,000):
			// the same timeline 5,000 µs later, in real time.
			name: "slowdowns count from the first request", sizes: []int64{1000}, scale: 1,
			slow: []models.Slowdown{{From: 1000 * us, To: 11000 * us, Factor: 2}},
			reqs: []arrival{{5000, 0, false, 38770, false}},
		},
		{
			// ×4 from 100 to 200 µs: the set-up ends at 215; read → 28,625;
			// send → 28,845.
			name: "a CPU job straddles a slowdown", sizes: []int64{1000}, scale: 10,
			slow: []models.Slowdown{{From: 100 * us, To: 200 * us, Factor: 4}},
			reqs: []arrival{{0, 0, false, 28845, false}},
		},
		{
			// Set-up 70, read 70 → 28,480, send 110 → 28,590.
			name: "CPU speed 2", sizes: []int64{1000}, scale: 10, cpuSpeed: 2,
			reqs: []arrival{{0, 0, false, 28590, false}},
		},
		{
			// Read 140 → 56,960, send → 57,180.
			name: "disk speed 0.5", sizes: []int64{1000}, scale: 10, diskSpeed: 0.5,
			reqs: []arrival{{0, 0, false, 57180, false}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := New(Config{Workload: workload(tc.sizes...), CacheBytes: tc.cache, TimeScale: tc.scale, Now: time.Now,
					CPUSpeed: tc.cpuSpeed, DiskSpeed: tc.diskSpeed, Slowdowns: tc.slow})
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				scale := func(µs int) time.Duration { return time.Duration(float64(µs) * float64(us) / tc.scale) }
				start := time.Now()
				type outcome struct {
					woke, done time.Duration
					hit        bool
				}
				got := make([]outcome, len(tc.reqs))
				var wg sync.WaitGroup
				for i, r := range tc.reqs {
					time.Sleep(time.Until(start.Add(scale(r.at))))
					wg.Go(func() {
						done, hit, err := b.serve(context.Background(), int32(r.obj), r.dynamic)
						if err != nil {
							t.Errorf("request %d: %v", i, err)
						}
						got[i] = outcome{time.Since(start), done.Sub(start), hit}
					})
					synctest.Wait() // its first job is queued before the next request arrives
				}
				wg.Wait()
				for i, r := range tc.reqs {
					want := outcome{scale(r.done), scale(r.done), r.hit}
					if got[i] != want {
						t.Errorf("request %d (object %d at %d µs): completed at %v (deadline %v), hit %v; want %v, hit %v",
							i, r.obj, r.at, got[i].woke, got[i].done, got[i].hit, want.done, want.hit)
					}
				}
			})
		})
	}
}

// TestLoadUnderTimeline checks the load report's queues, busy times and
// utilisations at instants of the first timeline above (scale 10:
// set-ups 0-14 and 14-28 µs, reads 14-2,855 and 2,855-5,696, sends
// 2,855-2,877 and 5,696-5,718), with 1 ms intervals.
func TestLoadUnderTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Config{Workload: workload(1000), TimeScale: 10, Interval: time.Millisecond, Now: time.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { _, _, _ = b.serve(context.Background(), 0, false) })
			synctest.Wait()
		}
		type view struct {
			cpuQ, diskQ         int
			cpuBusy, diskBusy   time.Duration
			cpuRecent, dskRecnt float64
		}
		at := func(d time.Duration) view {
			time.Sleep(d - time.Duration(b.Load().Uptime))
			synctest.Wait()
			l := b.Load()
			return view{int(*l.CPUQueue), int(*l.DiskQueue), l.CPUBusy, l.DiskBusy, *l.CPUUtil, *l.DiskUtil}
		}
		for _, c := range []struct {
			at   time.Duration
			want view
		}{
			// 20 µs: #1 reading, #2 in set-up; since start (no interval yet).
			{20 * us, view{1, 1, 20 * us, 6 * us, 1, 0.3}},
			// 3 ms: #1 done; #2 reading. The interval 2-3 ms: CPU busy
			// 2,855-2,877 (22 µs), disk all along.
			{3 * time.Millisecond, view{0, 1, 50 * us, 2986 * us, 0.022, 1}},
			// 10 ms: all done; the interval 9-10 ms was idle.
			{10 * time.Millisecond, view{0, 0, 72 * us, 5682 * us, 0, 0}},
		} {
			got := at(c.at)
			if !approx(got.cpuRecent, c.want.cpuRecent) || !approx(got.dskRecnt, c.want.dskRecnt) {
				t.Errorf("at %v: recent utilisation cpu %v disk %v, want %v %v", c.at, got.cpuRecent, got.dskRecnt, c.want.cpuRecent, c.want.dskRecnt)
			}
			got.cpuRecent, got.dskRecnt, c.want.cpuRecent, c.want.dskRecnt = 0, 0, 0, 0
			if got != c.want {
				t.Errorf("at %v: %+v, want %+v", c.at, got, c.want)
			}
		}
		wg.Wait()
		l := b.Load()
		if want := float64(72*us) / float64(10*time.Millisecond); !approx(l.CPUUtilTotal, want) {
			t.Errorf("cpu_util_total (since start) = %v, want %v", l.CPUUtilTotal, want)
		}
	})
}

func approx(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

// jitterClock is a fake clock whose every wait wakes jitter after the
// deadline.
type jitterClock struct {
	mu     sync.Mutex
	t      time.Time
	jitter time.Duration
	wakes  []time.Duration
}

func (c *jitterClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *jitterClock) waitUntil(_ context.Context, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at.After(c.t) {
		c.t = at.Add(c.jitter)
	}
	c.wakes = append(c.wakes, c.t.Sub(time.Time{}))
	return nil
}
func (c *jitterClock) close() {}

// TestLateWakeUpsDoNotAddUp runs requests on a clock whose every wake-up is
// 7 µs late: each step's job still arrives at the previous step's
// deadline, so completions stay on the model's instants; only a new
// request's arrival (read from the clock) is late.
func TestLateWakeUpsDoNotAddUp(t *testing.T) {
	b, err := New(Config{Workload: workload(1000), TimeScale: 10, Now: func() time.Time { return time.Time{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	clk := &jitterClock{jitter: 7 * us}
	b.clk, b.start = clk, time.Time{}
	var got []time.Duration
	for range 2 {
		done, _, err := b.serve(context.Background(), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, done.Sub(time.Time{}))
	}
	// #1: set-up 0 → 14, read 14 → 2,855, send 2,855 → 2,877 (each wake
	// 7 µs late changes nothing). #2 arrives when #1's client sees the
	// response, at 2,884: a hit, 2,884 → 2,920.
	want := []time.Duration{2877 * us, 2920 * us}
	if !slices.Equal(got, want) {
		t.Errorf("completions %v, want %v (wake-ups at %v)", got, want, clk.wakes)
	}
}
