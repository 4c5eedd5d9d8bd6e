package algorithms_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// TestLiveHostShape drives DFLB the way a live director does (docs/design.md,
// "The live host"): client goroutines call Schedule and Pool.Begin in one
// critical section and Pool.End when their request is served, and a
// wall-clock ticker feeds the shared Monitor's Loads to Feedback under the
// same mutex. Time is synctest's fake clock. Server 0 serves four times
// slower than the others, so it holds more connections; the monitor must
// see it and DFLB must lower its weight below the others' (thesis §4.2,
// §4.3). Run with -race.
func TestLiveHostShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			interval = 5 * time.Second
			run      = 3*time.Minute + time.Second // not a multiple of interval: no tie with the last tick
			clients  = 16
		)
		var mu sync.Mutex
		pool, err := algorithms.NewWeighted(10, 10, 10, 10)
		if err != nil {
			t.Fatal(err)
		}
		s, err := algorithms.New("dflb", algorithms.Options{DFLB: algorithms.DFLBParams{Coefficients: [6]float64{0, 1, 0, 0, 0, 0}}})
		if err != nil {
			t.Fatal(err)
		}
		dflb := s.(*algorithms.DFLB)
		mon, err := algorithms.NewMonitor(algorithms.DefaultMonitorConfig())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		stop := make(chan struct{})
		var wg sync.WaitGroup

		ticks := 0
		const warmup = 6                         // ticks before the moving average settles
		sum := map[algorithms.ServerID]float64{} // DFLB weights summed over the ticks after warmup
		wg.Go(func() {
			tk := time.NewTicker(interval)
			defer tk.Stop()
			samples := make([]algorithms.Load, pool.Len())
			for {
				select {
				case <-stop:
					return
				case now := <-tk.C:
					mu.Lock()
					for i, sv := range pool.Servers() {
						samples[i] = algorithms.Load{ID: sv.ID, Responsive: true}
						samples[i].Set(algorithms.MetricCPU, float64(sv.Active))
					}
					loads, err := mon.Tick(samples, pool)
					if err == nil {
						err = dflb.Feedback(now.Sub(start), loads, pool)
					}
					ticks++
					if err == nil && ticks > warmup {
						for id, w := range dflb.Weights() {
							sum[id] += w
						}
					}
					mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})

		for range clients {
			wg.Go(func() {
				req := &algorithms.Request{}
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					id, err := dflb.Schedule(time.Since(start), req, pool)
					if err == nil {
						err = pool.Begin(id, 1)
					}
					mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					service := 100 * time.Millisecond
					if id == 0 {
						service *= 4
					}
					time.Sleep(service)
					mu.Lock()
					err = pool.End(id, 1)
					mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}

		time.Sleep(run)
		close(stop)
		wg.Wait()

		if want := int(run / interval); ticks != want {
			t.Errorf("%d monitor ticks in %v, want %d", ticks, run, want)
		}
		// DFLB oscillates around its equilibrium (A = 5 every 5 s): compare
		// the mean weights over the run, not the last ones.
		n := float64(ticks - warmup)
		mean := map[algorithms.ServerID]float64{}
		for id, w := range sum {
			mean[id] = w / n
		}
		t.Logf("mean DFLB weights over %v ticks: %v", n, mean)
		for id := algorithms.ServerID(1); id < 4; id++ {
			if !(mean[0] < 10 && mean[0] < mean[id]) {
				t.Errorf("mean weights %v: slow server 0 should be below 10 and below server %d", mean, id)
			}
		}
		for _, sv := range pool.Servers() {
			if sv.Active != 0 {
				t.Errorf("server %d: %d connections left open", sv.ID, sv.Active)
			}
			if sv.Weight != 10 {
				t.Errorf("server %d: host weight %d changed", sv.ID, sv.Weight)
			}
		}
	})
}
