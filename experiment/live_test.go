package experiment_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/experiment"
)

// cpuLoad is a load report that measured the CPU alone.
func cpuLoad(id algorithms.ServerID, cpu float64) algorithms.Load {
	l := algorithms.Load{ID: id, Responsive: true}
	l.Set(algorithms.MetricCPU, cpu)
	return l
}

// TestLiveHost is the shape of the live dataplane, outside the simulator:
// it reads an experiment file through this package, builds the pool and
// the scheduler as a live host will (algorithms.New with the decoded
// options), drives the scheduler from many goroutines under one mutex
// (Schedule and Pool.Begin in one critical section, End later), and feeds
// DFLB's LoadFeedback from a ticker at the file's dflb_interval, in fake
// time (testing/synctest). Server 0 reports twice its capacity and the
// others half theirs, so DFLB must move weight from server 0 to the others
// (thesis §4.2.4); server 3 is down from 3 s to 7 s, and no request may go to
// a server that is not usable. Run it with -race.
func TestLiveHost(t *testing.T) {
	e, err := experiment.ReadFile("testdata/dflb4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CheckLive(); err != nil {
		t.Fatalf("a live host cannot run it: %v", err)
	}
	base, axes, err := e.Configs()
	if err != nil {
		t.Fatal(err)
	}
	algs, nodes := e.AlgorithmNames(), e.NodeCounts()
	if len(axes) != 0 || len(algs) != 1 || len(nodes) != 1 {
		t.Fatalf("want one cell: %d axes, algorithms %v, nodes %v", len(axes), algs, nodes)
	}
	opts := base.Options
	opts.Low, opts.High = base.Low, base.High // the cluster's thresholds, as the simulator gives them
	sched, err := algorithms.New(algs[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	fb, ok := sched.(algorithms.LoadFeedback)
	if !ok {
		t.Fatalf("%s takes no load feedback", sched.Name())
	}
	weights, ok := sched.(interface {
		Weights() map[algorithms.ServerID]float64
	})
	if !ok {
		t.Fatalf("%s does not show its weights", sched.Name())
	}
	if base.DFLBInterval != 2*time.Second || opts.Inner != "wlc" || opts.DFLB.Coefficients != [6]float64{0, 1, 0, 0, 0, 0} {
		t.Fatalf("decoded %v, %+v", base.DFLBInterval, opts)
	}
	const defaultWeight = 10
	var servers []algorithms.Server
	for i := range nodes[0] {
		servers = append(servers, algorithms.Server{ID: algorithms.ServerID(i), Name: fmt.Sprintf("rs%d", i+1), Weight: defaultWeight})
	}
	pool, err := algorithms.NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}

	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex // the live host's one lock: pool and scheduler
			start   = time.Now()
			ticks   int
			picks   = map[algorithms.ServerID]int{}
			badPick error
		)
		now := func() time.Duration { return time.Since(start) }
		done := make(chan struct{})
		monitor := make(chan struct{})
		go func() { // the load monitor
			defer close(monitor)
			tk := time.NewTicker(base.DFLBInterval)
			defer tk.Stop()
			for {
				select {
				case <-tk.C:
					mu.Lock()
					loads := []algorithms.Load{cpuLoad(0, 2)}
					for i := 1; i < pool.Len(); i++ {
						loads = append(loads, cpuLoad(pool.At(i).ID, 0.5))
					}
					if err := fb.Feedback(now(), loads, pool); err != nil {
						t.Errorf("Feedback: %v", err)
					}
					ticks++
					mu.Unlock()
				case <-done:
					return
				}
			}
		}()
		var admin sync.WaitGroup
		admin.Go(func() { // an administrator: server 3 down from 3 s to 7 s
			time.Sleep(3 * time.Second)
			mu.Lock()
			err := pool.SetDown(3, true)
			mu.Unlock()
			time.Sleep(4 * time.Second)
			mu.Lock()
			err = errors.Join(err, pool.SetDown(3, false))
			mu.Unlock()
			if err != nil {
				t.Error(err)
			}
		})
		var wg sync.WaitGroup
		for c := range 16 { // client connections
			wg.Go(func() {
				for i := range 100 {
					r := algorithms.Request{Key: fmt.Sprintf("/doc%d", (c*100+i)%37), Cost: 1 + i%2}
					mu.Lock()
					id, err := sched.Schedule(now(), &r, pool)
					if err == nil {
						if s := pool.Get(id); s == nil || !s.Usable() {
							badPick = fmt.Errorf("request %d of client %d at %v went to server %d, not usable: %+v", i, c, now(), id, s)
						}
						err = pool.Begin(id, r.Units())
						picks[id]++
					}
					mu.Unlock()
					if errors.Is(err, algorithms.ErrNoServer) {
						time.Sleep(time.Second)
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					time.Sleep(time.Duration(100+c) * time.Millisecond) // the request in service
					mu.Lock()
					err = pool.End(id, r.Units())
					mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		admin.Wait()
		close(done)
		<-monitor

		if badPick != nil {
			t.Error(badPick)
		}
		for _, s := range pool.Servers() {
			if s.Active != 0 || s.Inactive != 0 {
				t.Errorf("server %s: %d active, %d inactive after every request ended", s.Name, s.Active, s.Inactive)
			}
		}
		if ticks < 3 {
			t.Fatalf("%d load reports in %v, want several at %v", ticks, now(), base.DFLBInterval)
		}
		w := weights.Weights()
		if w[0] >= defaultWeight {
			t.Errorf("server 0, at twice its capacity, kept weight %v (default %d)", w[0], defaultWeight)
		}
		for id := algorithms.ServerID(1); id < 4; id++ {
			if w[id] <= defaultWeight {
				t.Errorf("server %d, at half its capacity, has weight %v (default %d)", id, w[id], defaultWeight)
			}
		}
		if picks[0] >= picks[1] {
			t.Errorf("picks %v: the overloaded server 0 got as many requests as server 1", picks)
		}
		t.Logf("%d requests over %v, %d load reports; weights %v; picks %v", 16*100, now(), ticks, w, picks)
	})
}
