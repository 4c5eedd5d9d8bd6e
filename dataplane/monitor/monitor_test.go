package monitor

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
)

func f(v float64) *float64 { return &v }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// The maths is the simulator's monitor: load×11/12 + x/12, then
// 0.95 × load / mean.
func TestMaths(t *testing.T) {
	m := newMaths(12, TargetLoad)
	s := func(id algorithms.ServerID, active float64) sample {
		x := sample{id: id, responsive: true}
		x.set(mProcess, active, false)
		return x
	}
	out := m.tick([]sample{s(0, 10), s(1, 30)})
	// averages 10/12 and 30/12, mean 20/12
	if !near(out[0].Process, 0.475) || !near(out[1].Process, 1.425) {
		t.Errorf("first tick: %v, %v", out[0].Process, out[1].Process)
	}
	if out[0].Measured != algorithms.MetricProcess || out[0].CPU != 0 || !out[0].Responsive {
		t.Errorf("unmeasured metrics must be absent (not in Measured, zero): %+v", out[0])
	}
	// Server 1 unresponsive: no update of its average; server 0's goes on.
	out = m.tick([]sample{s(0, 10), {id: 1}})
	if out[1].Responsive || out[1].Process != 0 {
		t.Errorf("unresponsive load %+v", out[1])
	}
	if !near(out[0].Process, TargetLoad) { // the only relative sample is the mean
		t.Errorf("alone: %v", out[0].Process)
	}
	a0 := 10.0/12*11/12 + 10.0/12
	if !near(m.avg[0][mProcess], a0) || !near(m.avg[1][mProcess], 30.0/12) {
		t.Errorf("averages %v %v", m.avg[0][mProcess], m.avg[1][mProcess])
	}
	out = m.tick([]sample{s(0, 0), s(1, 0)})
	a0 = a0 * 11 / 12
	a1 := 30.0 / 12 * 11 / 12
	mean := (a0 + a1) / 2
	if !near(out[0].Process, TargetLoad*a0/mean) || !near(out[1].Process, TargetLoad*a1/mean) {
		t.Errorf("third tick: %v %v", out[0].Process, out[1].Process)
	}
	// Absolute metrics are smoothed but not normalised; a zero mean reads Target.
	m2 := newMaths(1, TargetLoad)
	x := sample{id: 3, responsive: true}
	x.set(mCPU, 0.5, true)
	x.set(mDisk, 0, false)
	out = m2.tick([]sample{x})
	if out[0].CPU != 0.5 || out[0].Disk != TargetLoad {
		t.Errorf("absolute and zero-mean: %+v", out[0])
	}
	// Servers absent from a tick are forgotten.
	m2.tick(nil)
	if len(m2.avg) != 0 {
		t.Errorf("state kept for absent servers: %v", m2.avg)
	}
}

func TestFill(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	served := map[algorithms.ServerID]servedAt{}
	var s sample
	s.fill(&Report{Active: f(3), CPUUtil: f(0.5), CPUQueue: f(7), DiskQueue: f(2), Served: f(100)}, served, t0)
	if !s.measured[mProcess] || s.v[mCPU] != 0.5 || !s.absolute[mCPU] || s.v[mDisk] != 2 || s.absolute[mDisk] || s.measured[mInput] {
		t.Errorf("first fill %+v", s)
	}
	s = sample{}
	s.fill(&Report{Served: f(150)}, served, t0.Add(5*time.Second))
	if !s.measured[mInput] || s.v[mInput] != 10 || s.measured[mCPU] || s.measured[mProcess] {
		t.Errorf("served rate %+v", s)
	}
	s = sample{}
	s.fill(&Report{Served: f(20)}, served, t0.Add(10*time.Second)) // restarted back end
	if s.measured[mInput] {
		t.Errorf("a counter that went back gave a rate: %+v", s)
	}
}

func TestConfigResolve(t *testing.T) {
	c, err := Config{}.Resolve()
	if err != nil || c != (Config{Path: DefaultPath, Interval: 5 * time.Second, Timeout: time.Second, Window: 12}) {
		t.Errorf("defaults %+v %v", c, err)
	}
	c, err = Config{Interval: 500 * time.Millisecond}.Resolve()
	if err != nil || c.Timeout != 500*time.Millisecond {
		t.Errorf("the timeout must not exceed a short interval: %+v %v", c, err)
	}
	for _, b := range []struct {
		c    Config
		want string
	}{
		{Config{Path: "load"}, `path "load"`},
		{Config{Port: -1}, "port -1"},
		{Config{Interval: 5}, "interval 5ns"},
		{Config{Timeout: 10 * time.Second}, "timeout 10s"},
		{Config{Window: -2}, "window -2"},
	} {
		if _, err := b.c.Resolve(); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: %v, want %q", b.c, err, b.want)
		}
	}
}

// fakeTarget records the loads it is fed, with the fake time.
type fakeTarget struct {
	servers []dataplane.ServerStats
	mu      sync.Mutex
	start   time.Time
	fed     []string
}

func (f *fakeTarget) Stats() []dataplane.ServerStats { return f.servers }
func (f *fakeTarget) Feedback(loads []algorithms.Load) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var parts []string
	for _, l := range loads {
		if !l.Responsive {
			parts = append(parts, fmt.Sprintf("%d:-", l.ID))
			continue
		}
		parts = append(parts, fmt.Sprintf("%d:p%.3f,c%.3f,i%.3f", l.ID, l.Process, l.CPU, l.Input))
	}
	f.fed = append(f.fed, fmt.Sprintf("%v %s", time.Since(f.start), strings.Join(parts, " ")))
	return true, nil
}

// loadServer serves a load report from a function of the request count.
func loadServer(t *testing.T, report func(n int64) (int, string)) netip.AddrPort {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != DefaultPath {
			http.NotFound(w, r)
			return
		}
		code, body := report(n.Add(1))
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// closedPort returns a loopback address nobody listens on.
func closedPort(t *testing.T) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return a
}

// Polls at every interval, over real loopback endpoints (outside the
// bubble) with fake time: answers become loads, a closed port, a bad
// status and a bad report are unresponsive, and a back end that answers
// again is logged.
func TestPoll(t *testing.T) {
	a := loadServer(t, func(n int64) (int, string) {
		return 200, fmt.Sprintf(`{"active": 10, "cpu_util": 0.5, "served": %d, "extra": "ignored"}`, 100*n)
	})
	b := loadServer(t, func(n int64) (int, string) {
		switch n {
		case 2:
			return 503, "busy"
		case 3:
			return 200, "not json"
		}
		return 200, `{"active": 30, "cpu_util": 0.25, "served": 0}`
	})
	dead := closedPort(t)
	synctest.Test(t, func(t *testing.T) {
		tgt := &fakeTarget{start: time.Now(), servers: []dataplane.ServerStats{{ID: 0, Addr: a}, {ID: 1, Addr: b}, {ID: 2, Addr: dead}}}
		var mu sync.Mutex
		var logs []string
		m, err := New(tgt, Config{Interval: 5 * time.Second, Window: 1}, Options{Logf: func(f string, args ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, args...))
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		time.Sleep(21 * time.Second)
		cancel()
		<-done
		// Window 1: no smoothing. active 10 vs 30: mean 20.
		want := []string{
			"5s 0:p0.475,c0.500,i0.000 1:p1.425,c0.250,i0.000 2:-",  // no rate yet: input not measured
			"10s 0:p0.950,c0.500,i0.950 1:- 2:-",                    // b: 503; a alone is the mean; served 100/5s but b's rate is missing
			"15s 0:p0.950,c0.500,i0.950 1:- 2:-",                    // b: not a report
			"20s 0:p0.475,c0.500,i1.900 1:p1.425,c0.250,i0.000 2:-", // rates 20/s and 0/s: mean 10/s
		}
		if strings.Join(tgt.fed, "\n") != strings.Join(want, "\n") {
			t.Errorf("fed:\n%s\nwant:\n%s", strings.Join(tgt.fed, "\n"), strings.Join(want, "\n"))
		}
		mu.Lock()
		defer mu.Unlock()
		text := strings.Join(logs, "\n")
		for _, w := range []string{
			dead.String() + " is unresponsive (connect: ",
			b.String() + " is unresponsive (GET /lvslab/load: status 503)",
			b.String() + " answers again",
		} {
			if !strings.Contains(text, w) {
				t.Errorf("logs lack %q:\n%s", w, text)
			}
		}
		if strings.Count(text, dead.String()+" is unresponsive") != 1 {
			t.Errorf("an unresponsive back end is logged once, not at every poll:\n%s", text)
		}
		if l := m.Last(); len(l) != 3 || l[2].Responsive {
			t.Errorf("Last %+v", l)
		}
	})
}

// A back end that accepts but never answers is unresponsive after Timeout.
func TestPollTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tgt := &fakeTarget{start: time.Now(), servers: []dataplane.ServerStats{{ID: 5, Addr: netip.MustParseAddrPort("10.0.0.5:80")}}}
		dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, s := net.Pipe()
			go func() { // read the request, never answer
				buf := make([]byte, 1024)
				for {
					if _, err := s.Read(buf); err != nil {
						return
					}
				}
			}()
			return c, nil
		}
		m, err := New(tgt, Config{Timeout: 300 * time.Millisecond}, Options{Dial: dial})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(tgt.fed) != 1 || tgt.fed[0] != "300ms 5:-" {
			t.Errorf("fed %q, want the poll to end unresponsive at 300ms", tgt.fed)
		}
	})
}

// With DFLB, a back end that stops answering its load endpoint gets no
// new work; one that answers keeps it.
func TestDFLBUnresponsive(t *testing.T) {
	good := loadServer(t, func(int64) (int, string) { return 200, `{"active": 1}` })
	dead := closedPort(t)
	sched, err := algorithms.New("dflb", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []netip.AddrPort{good, dead} {
		if err := svc.AddServer(dataplane.Server{ID: algorithms.ServerID(i), Addr: a, Weight: 10}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(svc, Config{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		l, err := svc.Pick(&algorithms.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if l.Addr != good {
			t.Fatalf("the unresponsive back end %s got work", l.Addr)
		}
		l.Done()
	}
}

// FuzzParseReport: any body either parses into finite, non-negative
// values or is refused; nothing panics.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"active": 12, "cpu_util": 0.61, "disk_util": 0.2, "cpu_queue": 3, "disk_queue": 1, "served": 10482}`))
	f.Add([]byte(`{"active": -1}`))
	f.Add([]byte(`{"served": 1e400}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReport(b)
		if err != nil {
			return
		}
		for _, v := range []*float64{r.Active, r.CPUUtil, r.DiskUtil, r.CPUQueue, r.DiskQueue, r.Served} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
				t.Fatalf("accepted %v", *v)
			}
		}
		var s sample
		s.fill(r, map[algorithms.ServerID]servedAt{}, time.Now())
	})
}
