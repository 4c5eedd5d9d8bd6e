package dataplane

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

func newTestService(t *testing.T, alg string, counting Counting, weights ...int) *Service {
	t.Helper()
	sched, err := algorithms.New(alg, algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(Config{Scheduler: sched, Counting: counting})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range weights {
		addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 80)
		if err := svc.AddServer(Server{ID: algorithms.ServerID(i), Addr: addr, Weight: w}); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func activeOf(svc *Service) []int {
	var out []int
	for _, s := range svc.Stats() {
		out = append(out, s.Active+s.Inactive)
	}
	return out
}

// Many goroutines pick, hold and release; least-connection must see every
// pick before the next (Schedule and Begin are one critical section), so
// with all leases held at once the servers carry equal shares, and every
// counter is back to zero afterwards.
func TestServiceConcurrentPicks(t *testing.T) {
	const servers, workers = 4, 64
	svc := newTestService(t, "lc", CountRequests, 1, 1, 1, 1)
	var (
		held, release sync.WaitGroup
		mu            sync.Mutex
		leases        []Lease
	)
	held.Add(workers)
	release.Add(1)
	var done sync.WaitGroup
	for range workers {
		done.Go(func() {
			l, err := svc.Pick(&algorithms.Request{})
			if err != nil {
				t.Error(err)
				held.Done()
				return
			}
			mu.Lock()
			leases = append(leases, l)
			mu.Unlock()
			held.Done()
			release.Wait()
		})
	}
	held.Wait()
	for i, a := range activeOf(svc) {
		if a != workers/servers {
			t.Errorf("server %d holds %d requests with all %d held, want %d (herding)", i, a, workers, workers/servers)
		}
	}
	release.Done()
	done.Wait()
	var ends sync.WaitGroup
	for i := range leases {
		ends.Go(func() {
			leases[i].Done()
			leases[i].Done() // a second Done does nothing
		})
	}
	ends.Wait()
	for i, a := range activeOf(svc) {
		if a != 0 {
			t.Errorf("server %d: %d units left after every Done", i, a)
		}
	}
}

// Pick, Done and admin changes race freely under -race; counters never go
// negative and end at zero.
func TestServiceRaceAdmin(t *testing.T) {
	svc := newTestService(t, "wlc", CountConnections, 1, 2, 3)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l, err := svc.Pick(&algorithms.Request{Key: "/x"})
				if errors.Is(err, algorithms.ErrNoServer) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					l.Established()
				}
				l.Transferred(10, 5)
				l.Done()
			}
			_ = g
		})
	}
	wg.Go(func() {
		for i := range 200 {
			id := algorithms.ServerID(i % 3)
			_ = svc.SetWeight(id, i%4)
			_ = svc.SetDown(id, i%5 == 0)
			_ = svc.SetThresholds(id, i%7, 0)
			_ = svc.Stats()
		}
	})
	wg.Wait()
	for _, s := range svc.Stats() {
		if s.Active != 0 || s.Inactive != 0 {
			t.Errorf("server %d: active %d inactive %d after all leases ended", s.ID, s.Active, s.Inactive)
		}
	}
}

// IPVS counting: a new connection is inactive until established, and Done
// takes back whichever unit it holds.
func TestServiceCounting(t *testing.T) {
	type counts struct{ active, inactive int }
	get := func(svc *Service) counts {
		s := svc.Stats()[0]
		return counts{s.Active, s.Inactive}
	}
	tests := []struct {
		name        string
		counting    Counting
		cost        int
		establish   bool
		afterPick   counts
		afterEstab  counts
		afterDone   counts
		wantedSched uint64
	}{
		{"requests, static", CountRequests, 1, false, counts{1, 0}, counts{1, 0}, counts{0, 0}, 1},
		{"requests, dynamic cost 2", CountRequests, 2, true, counts{2, 0}, counts{2, 0}, counts{0, 0}, 1},
		{"connections, established", CountConnections, 2, true, counts{0, 1}, counts{1, 0}, counts{0, 0}, 1},
		{"connections, never established", CountConnections, 1, false, counts{0, 1}, counts{0, 1}, counts{0, 0}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := newTestService(t, "rr", tc.counting, 1)
			l, err := svc.Pick(&algorithms.Request{Cost: tc.cost})
			if err != nil {
				t.Fatal(err)
			}
			if got := get(svc); got != tc.afterPick {
				t.Errorf("after Pick: %+v, want %+v", got, tc.afterPick)
			}
			if tc.establish {
				l.Established()
				l.Established()
			}
			if got := get(svc); got != tc.afterEstab {
				t.Errorf("after Established: %+v, want %+v", got, tc.afterEstab)
			}
			l.Done()
			l.Done()
			l.Established() // after Done: nothing
			if got := get(svc); got != tc.afterDone {
				t.Errorf("after Done: %+v, want %+v", got, tc.afterDone)
			}
			if s := svc.Stats()[0].Scheduled; s != tc.wantedSched {
				t.Errorf("scheduled %d, want %d", s, tc.wantedSched)
			}
		})
	}
}

// A lease outliving its server's removal, and a server re-added under the
// same ID, do not disturb each other's counters.
func TestServiceRemoveAndReadd(t *testing.T) {
	svc := newTestService(t, "rr", CountRequests, 1)
	old, err := svc.Pick(&algorithms.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveServer(0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Pick(&algorithms.Request{}); !errors.Is(err, algorithms.ErrNoServer) {
		t.Fatalf("empty pool: err %v, want ErrNoServer", err)
	}
	if err := svc.AddServer(Server{ID: 0, Addr: netip.MustParseAddrPort("10.0.0.9:80"), Weight: 1}); err != nil {
		t.Fatal(err)
	}
	cur, err := svc.Pick(&algorithms.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if cur.Addr.String() != "10.0.0.9:80" {
		t.Errorf("new lease goes to %v", cur.Addr)
	}
	old.Done() // the removed server's lease: must not take the new server's unit
	if a := svc.Stats()[0].Active; a != 1 {
		t.Errorf("re-added server: active %d after the old lease ended, want 1", a)
	}
	cur.Done()
	if a := svc.Stats()[0].Active; a != 0 {
		t.Errorf("active %d, want 0", a)
	}
}

// Admin operations reach the pool and report bad input.
func TestServiceAdmin(t *testing.T) {
	svc := newTestService(t, "wrr", CountRequests, 1, 1)
	tests := []struct {
		name string
		op   func() error
		ok   bool
	}{
		{"weight", func() error { return svc.SetWeight(1, 0) }, true},
		{"bad weight", func() error { return svc.SetWeight(1, -1) }, false},
		{"unknown weight", func() error { return svc.SetWeight(7, 1) }, false},
		{"thresholds", func() error { return svc.SetThresholds(0, 2, 1) }, true},
		{"bad thresholds", func() error { return svc.SetThresholds(0, -2, 1) }, false},
		{"down unknown", func() error { return svc.SetDown(9, true) }, false},
		{"duplicate", func() error {
			return svc.AddServer(Server{ID: 0, Addr: netip.MustParseAddrPort("1.2.3.4:5"), Weight: 1})
		}, false},
		{"no address", func() error { return svc.AddServer(Server{ID: 5, Weight: 1}) }, false},
		{"remove unknown", func() error { return svc.RemoveServer(8) }, false},
	}
	for _, tc := range tests {
		if err := tc.op(); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// Server 1 has weight 0 and server 0 an upper threshold of 2: two
	// picks fill server 0, the third finds no server.
	var ls []Lease
	for range 2 {
		l, err := svc.Pick(&algorithms.Request{})
		if err != nil || l.ID != 0 {
			t.Fatalf("pick: %v %v, want server 0", l.ID, err)
		}
		ls = append(ls, l)
	}
	if _, err := svc.Pick(&algorithms.Request{}); !errors.Is(err, algorithms.ErrNoServer) {
		t.Errorf("overloaded pool: err %v, want ErrNoServer", err)
	}
	st := svc.Stats()[0]
	if !st.Overloaded || st.Upper != 2 {
		t.Errorf("stats %+v: want overloaded with upper threshold 2", st)
	}
	for i := range ls {
		ls[i].Done()
	}
	if svc.Stats()[0].Overloaded {
		t.Error("still overloaded after every lease ended")
	}
	if err := svc.SetDown(0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Pick(&algorithms.Request{}); !errors.Is(err, algorithms.ErrNoServer) {
		t.Errorf("all down: err %v, want ErrNoServer", err)
	}
}

// clockSched records the now it is given.
type clockSched struct{ seen []time.Duration }

func (*clockSched) Name() string { return "clock" }
func (c *clockSched) Schedule(now time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	c.seen = append(c.seen, now)
	return p.At(0).ID, nil
}

// The scheduler's now is the time since the service was made: with the
// injected clock, and with the default clock under synctest's fake time.
func TestServiceClock(t *testing.T) {
	t.Run("injected", func(t *testing.T) {
		base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		cur := base
		cs := &clockSched{}
		svc, err := NewService(Config{Scheduler: cs, Now: func() time.Time { return cur }})
		if err != nil {
			t.Fatal(err)
		}
		_ = svc.AddServer(Server{ID: 1, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Weight: 1})
		for _, d := range []time.Duration{0, time.Second, 90 * time.Minute} {
			cur = base.Add(d)
			l, err := svc.Pick(&algorithms.Request{})
			if err != nil {
				t.Fatal(err)
			}
			l.Done()
		}
		want := []time.Duration{0, time.Second, 90 * time.Minute}
		if len(cs.seen) != 3 || cs.seen[0] != want[0] || cs.seen[1] != want[1] || cs.seen[2] != want[2] {
			t.Errorf("scheduler saw %v, want %v", cs.seen, want)
		}
	})
	t.Run("default clock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cs := &clockSched{}
			svc, err := NewService(Config{Scheduler: cs})
			if err != nil {
				t.Fatal(err)
			}
			_ = svc.AddServer(Server{ID: 1, Addr: netip.MustParseAddrPort("10.0.0.1:80"), Weight: 1})
			time.Sleep(7 * time.Second)
			l, _ := svc.Pick(&algorithms.Request{})
			l.Done()
			if len(cs.seen) != 1 || cs.seen[0] != 7*time.Second {
				t.Errorf("scheduler saw %v, want [7s]", cs.seen)
			}
		})
	})
}

func TestServiceStatsAndFeedback(t *testing.T) {
	svc := newTestService(t, "rr", CountRequests, 1)
	l, _ := svc.Pick(&algorithms.Request{})
	l.Connected()
	l.Transferred(100, 20)
	l.Failed()
	l.Done()
	st := svc.Stats()[0]
	if st.Conns != 1 || st.BytesIn != 100 || st.BytesOut != 20 || st.Errors != 1 || st.Scheduled != 1 {
		t.Errorf("stats %+v", st)
	}
	if st.Name != "10.0.0.1:80" {
		t.Errorf("default name %q, want the address", st.Name)
	}
	if ok, err := svc.Feedback(nil); ok || err != nil {
		t.Errorf("rr has no load feedback: got %v %v", ok, err)
	}
	dflb := newTestService(t, "dflb", CountRequests, 1, 1)
	loads := []algorithms.Load{{ID: 0, CPU: 2, Measured: algorithms.MetricCPU, Responsive: true}, {ID: 1, CPU: 0.1, Measured: algorithms.MetricCPU, Responsive: true}}
	if ok, err := dflb.Feedback(loads); !ok || err != nil {
		t.Errorf("dflb feedback: %v %v", ok, err)
	}
	if _, err := NewService(Config{}); err == nil {
		t.Error("a service without a scheduler was accepted")
	}
}

// SetScheduler swaps the scheduler and keeps the pool; Zero resets the
// counters and keeps the pool's state.
func TestServiceSetSchedulerAndZero(t *testing.T) {
	svc := newTestService(t, "rr", CountRequests, 1, 1)
	l, _ := svc.Pick(&algorithms.Request{})
	l.Connected()
	l.Transferred(10, 20)
	cs := &clockSched{}
	if err := svc.SetScheduler(cs); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetScheduler(nil); err == nil {
		t.Error("nil scheduler accepted")
	}
	l2, err := svc.Pick(&algorithms.Request{})
	if err != nil || len(cs.seen) != 1 || svc.Scheduler() != "clock" {
		t.Fatalf("the new scheduler was not used: %v %v", err, cs.seen)
	}
	svc.Zero()
	for _, st := range svc.Stats() {
		if st.Scheduled != 0 || st.Conns != 0 || st.BytesIn != 0 || st.BytesOut != 0 || st.Errors != 0 {
			t.Errorf("after Zero: %+v", st)
		}
	}
	if st := svc.Stats()[0]; st.Active != 2 {
		t.Errorf("Zero changed the pool: active %d, want 2", st.Active)
	}
	l.Done()
	l2.Done()
}

// IPVS moves a connection back to inactive when it leaves ESTABLISHED
// (set_tcp_state): Deactivate undoes Established, the two alternate, and
// Done takes back whichever unit the lease holds at the end.
func TestLeaseDeactivate(t *testing.T) {
	type counts struct{ active, inactive int }
	get := func(svc *Service) counts {
		s := svc.Stats()[0]
		return counts{s.Active, s.Inactive}
	}
	tests := []struct {
		name     string
		counting Counting
		steps    string // E: Established, D: Deactivate, X: Done
		want     []counts
	}{
		{"close after established", CountConnections, "EDX", []counts{{1, 0}, {0, 1}, {0, 0}}},
		{"deactivate before established does nothing", CountConnections, "DEX", []counts{{0, 1}, {1, 0}, {0, 0}}},
		{"twice each", CountConnections, "EEDDEX", []counts{{1, 0}, {1, 0}, {0, 1}, {0, 1}, {1, 0}, {0, 0}}},
		{"after done nothing", CountConnections, "XED", []counts{{0, 0}, {0, 0}, {0, 0}}},
		{"requests ignore both", CountRequests, "EDX", []counts{{1, 0}, {1, 0}, {0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := newTestService(t, "rr", tc.counting, 1)
			l, err := svc.Pick(&algorithms.Request{})
			if err != nil {
				t.Fatal(err)
			}
			for i, step := range tc.steps {
				switch step {
				case 'E':
					l.Established()
				case 'D':
					l.Deactivate()
				case 'X':
					l.Done()
				}
				if got := get(svc); got != tc.want[i] {
					t.Fatalf("after %q: %+v, want %+v", tc.steps[:i+1], got, tc.want[i])
				}
			}
		})
	}
}

// Bind counts like Pick on the named server, whatever the scheduler would
// say: quiescing and overloaded servers take it, down and removed ones
// refuse it.
func TestServiceBind(t *testing.T) {
	svc := newTestService(t, "wrr", CountConnections, 1, 1)
	if err := svc.SetWeight(1, 0); err != nil {
		t.Fatal(err)
	}
	l, err := svc.Bind(1, &algorithms.Request{})
	if err != nil {
		t.Fatalf("bind to a quiescing server: %v", err)
	}
	if l.ID != 1 || l.Addr != netip.MustParseAddrPort("10.0.0.2:80") {
		t.Fatalf("lease %+v", l)
	}
	if s := svc.Stats()[1]; s.Inactive != 1 || s.Scheduled != 1 {
		t.Fatalf("after bind: %+v", s)
	}
	if err := svc.SetThresholds(1, 1, 0); err != nil { // now overloaded
		t.Fatal(err)
	}
	l2, err := svc.Bind(1, &algorithms.Request{})
	if err != nil {
		t.Fatalf("bind to an overloaded server: %v", err)
	}
	l.Done()
	l2.Done()
	if s := svc.Stats()[1]; s.Inactive != 0 || s.Active != 0 {
		t.Fatalf("after done: %+v", s)
	}
	if err := svc.SetDown(0, true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bind(0, &algorithms.Request{}); !errors.Is(err, algorithms.ErrNoServer) {
		t.Errorf("bind to a down server: %v, want ErrNoServer", err)
	}
	if _, err := svc.Bind(7, &algorithms.Request{}); !errors.Is(err, algorithms.ErrUnknownServer) {
		t.Errorf("bind to an unknown server: %v, want ErrUnknownServer", err)
	}
}

// SetScheduler swaps the algorithm and keeps the pool and the work in
// progress: the new least-connection scheduler sees the old picks.
func TestServiceSetScheduler(t *testing.T) {
	svc := newTestService(t, "rr", CountConnections, 1, 1)
	l, err := svc.Pick(&algorithms.Request{}) // rr: server 0
	if err != nil || l.ID != 0 {
		t.Fatalf("pick %v %v", l.ID, err)
	}
	lc, err := algorithms.New("lc", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SetScheduler(lc); err != nil {
		t.Fatal(err)
	}
	if svc.Scheduler() != "lc" {
		t.Errorf("scheduler %q", svc.Scheduler())
	}
	for range 3 { // lc avoids server 0, which holds a connection
		l2, err := svc.Pick(&algorithms.Request{})
		if err != nil || l2.ID != 1 {
			t.Fatalf("pick after switch: %v %v", l2.ID, err)
		}
		l2.Done()
	}
	l.Done()
	if err := svc.SetScheduler(nil); err == nil {
		t.Error("nil scheduler accepted")
	}
}
