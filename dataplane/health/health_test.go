package health

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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
)

// recorder is a Target that records its calls with the (fake) time since start.
type recorder struct {
	mu    sync.Mutex
	start time.Time
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%v %s", time.Since(r.start), s))
}
func (r *recorder) SetDown(id algorithms.ServerID, down bool) error {
	r.add(fmt.Sprintf("down(%d,%v)", id, down))
	return nil
}
func (r *recorder) SetWeight(id algorithms.ServerID, w int) error {
	r.add(fmt.Sprintf("weight(%d,%d)", id, w))
	return nil
}
func (r *recorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, "; ")
}

// scripted is a fake dialer whose i-th connection attempt follows script[i]
// (the last entry repeats): "ok" accepts, "slowok" accepts after 500 ms, "refused" fails, "hang" never
// answers, "200" / "503 body" answer an HTTP request with that status and body.
type scripted struct {
	mu     sync.Mutex
	script []string
	n      int
	addrs  []string
}

func (s *scripted) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	s.mu.Lock()
	step := s.script[min(s.n, len(s.script)-1)]
	s.n++
	s.addrs = append(s.addrs, addr)
	s.mu.Unlock()
	switch {
	case step == "ok":
		a, b := net.Pipe()
		go b.Close()
		return a, nil
	case step == "slowok": // accepted after 500 ms
		time.Sleep(500 * time.Millisecond)
		a, b := net.Pipe()
		go b.Close()
		return a, nil
	case step == "refused":
		return nil, errors.New("connection refused")
	case step == "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	code, body, _ := strings.Cut(step, " ")
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		req, err := http.ReadRequest(bufio.NewReader(b))
		if err != nil {
			return
		}
		if code == "stall" { // read the request, never answer
			<-ctx.Done()
			return
		}
		fmt.Fprintf(b, "HTTP/1.1 %s X\r\nContent-Length: %d\r\nX-Path: %s\r\n\r\n%s", code, len(body), req.URL.Path, body)
	}()
	return a, nil
}

var rs1 = netip.MustParseAddrPort("10.0.0.1:80")

// The table: check results in sequence give state changes at exact times.
func TestTransitions(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		script []string
		run    time.Duration
		want   string
	}{
		{"fall 3 at 2s intervals", Config{Fall: 3, Rise: 2},
			[]string{"refused", "refused", "refused", "ok"}, 11 * time.Second,
			"4s down(1,true); 8s down(1,false)"},
		{"a success resets the failure count", Config{Fall: 2, Rise: 1},
			[]string{"refused", "ok", "refused", "ok", "refused", "refused", "ok"}, 13 * time.Second,
			"10s down(1,true); 12s down(1,false)"},
		{"fast interval while changing", Config{Fall: 3, Rise: 2, Interval: 2 * time.Second, FastInterval: 500 * time.Millisecond},
			[]string{"refused", "refused", "refused", "refused", "ok"}, 10 * time.Second,
			// checks at 0, .5, 1 (down), 3 (down, count 0), 5 (ok 1), 5.5 (ok 2: up)
			"1s down(1,true); 5.5s down(1,false)"},
		{"inhibit sets weight 0 and restores the admin weight", Config{Fall: 1, Rise: 1, OnFailure: ActionInhibit},
			[]string{"ok", "refused", "ok"}, 5 * time.Second,
			"2s weight(1,0); 4s weight(1,7)"},
		{"initial down waits for rise", Config{Rise: 3, Initial: InitialDown},
			[]string{"ok"}, 5 * time.Second,
			"0s down(1,true); 4s down(1,false)"},
		{"timeout counts as failure", Config{Fall: 1, Rise: 1, Interval: time.Second, Timeout: 300 * time.Millisecond},
			[]string{"ok", "hang", "ok"}, 3 * time.Second,
			// the hanging check starts at 1s and fails at 1.3s
			"1.3s down(1,true); 2s down(1,false)"},
		{"timeout longer than the interval", Config{Fall: 1, Rise: 1, Interval: time.Second, Timeout: 2500 * time.Millisecond},
			[]string{"hang", "ok"}, 3 * time.Second,
			// the next check follows the timed-out one at once
			"2.5s down(1,true); 2.5s down(1,false)"},
		{"http status", Config{Type: TypeHTTP, Fall: 1, Rise: 1, Status: "200,204"},
			[]string{"200", "204", "503", "302", "200"}, 9 * time.Second,
			"4s down(1,true); 8s down(1,false)"},
		{"http expected body", Config{Type: TypeHTTP, Fall: 1, Rise: 1, Expect: "alive"},
			[]string{"200 I am alive", "200 I am dead", "200 alive"}, 5 * time.Second,
			"2s down(1,true); 4s down(1,false)"},
		{"http server that never answers", Config{Type: TypeHTTP, Fall: 1, Rise: 1, Timeout: time.Second},
			[]string{"200", "stall", "200"}, 5 * time.Second,
			"3s down(1,true); 4s down(1,false)"},
		{"type none checks nothing", Config{Type: TypeNone},
			[]string{"refused"}, 10 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{start: time.Now()}
				d := &scripted{script: tt.script}
				g := NewGroup(rec, Options{Dial: d.dial})
				if err := g.Add(1, rs1, 7, tt.cfg); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.run)
				g.Close()
				if got := rec.got(); got != tt.want {
					t.Errorf("calls:\n got %s\nwant %s", got, tt.want)
				}
			})
		})
	}
}

// Errors seen on live traffic (observe layer4, HAProxy's observe and
// on-error) act on an up server after ErrorLimit consecutive ones, and
// bring the next check forward to FastInterval after the previous one.
func TestObserve(t *testing.T) {
	obs := func(c Config) Config { c.Observe = ObserveLayer4; return c }
	type event struct {
		at  time.Duration
		err bool
		n   int // times
	}
	tests := []struct {
		name         string
		cfg          Config
		events       []event
		run          time.Duration
		want         string
		observed     uint64
		checks, fail uint64
	}{
		{"mark-down at the limit; a success resets the count",
			obs(Config{Rise: 1, Interval: 10 * time.Second, FastInterval: 500 * time.Millisecond, ErrorLimit: 3, OnError: OnErrorMarkDown}),
			[]event{{time.Second, true, 2}, {time.Second, false, 1}, {time.Second, true, 2}, {3 * time.Second, true, 1}}, 5 * time.Second,
			// checks at 0 (ok) and, brought forward, at 3s (refused)
			"3s down(1,true)", 5, 2, 1},
		{"fail-check counts towards fall, then the sooner check confirms it",
			obs(Config{Fall: 2, Rise: 1, Interval: 10 * time.Second, FastInterval: time.Second, ErrorLimit: 1}),
			[]event{{2 * time.Second, true, 1}}, 5 * time.Second,
			"2s down(1,true)", 1, 2, 1},
		{"sudden-death leaves one failed check to go",
			obs(Config{Fall: 3, Rise: 1, Interval: 10 * time.Second, FastInterval: 4 * time.Second, ErrorLimit: 2, OnError: OnErrorSuddenDeath}),
			[]event{{time.Second, true, 2}}, 5 * time.Second,
			"4s down(1,true)", 2, 2, 1},
		{"sudden-death with fall 1 is a failed check: down at once",
			obs(Config{Fall: 1, Rise: 1, Interval: 10 * time.Second, ErrorLimit: 1, OnError: OnErrorSuddenDeath}),
			[]event{{time.Second, true, 1}}, 5 * time.Second,
			"1s down(1,true)", 1, 1, 0},
		{"sudden-death after failed checks: down at once",
			obs(Config{Fall: 3, Rise: 1, Interval: 10 * time.Second, FastInterval: 4 * time.Second, ErrorLimit: 1, OnError: OnErrorSuddenDeath}),
			// checks: 0 ok, 10 refused, 14 refused (2 of 3); the error at 15s is the third
			[]event{{15 * time.Second, true, 1}}, 16 * time.Second,
			"15s down(1,true)", 1, 3, 2},
		{"a check begun before errors acted does not undo them",
			obs(Config{Fall: 3, Rise: 1, Interval: 2 * time.Second, Timeout: time.Second, ErrorLimit: 1, OnError: OnErrorMarkDown}),
			// the check from 2s to 2.5s succeeds, but began before the
			// server was taken down at 2.2s; the next, at 4s, is refused
			[]event{{2200 * time.Millisecond, true, 1}}, 5 * time.Second,
			"2.2s down(1,true)", 1, 3, 1},
		{"fastinter only brings the check forward",
			obs(Config{Fall: 1, Rise: 1, Interval: 10 * time.Second, FastInterval: 3 * time.Second, ErrorLimit: 1, OnError: OnErrorFastInter}),
			[]event{{time.Second, true, 1}}, 5 * time.Second,
			"3s down(1,true)", 1, 2, 1},
		{"errors under the limit do nothing",
			obs(Config{Fall: 1, Rise: 1, Interval: 10 * time.Second, ErrorLimit: 3, OnError: OnErrorMarkDown}),
			[]event{{time.Second, true, 2}, {time.Second, false, 1}, {2 * time.Second, true, 2}}, 5 * time.Second,
			"", 4, 1, 0},
		{"without observe errors are ignored",
			Config{Fall: 1, Rise: 1, Interval: 10 * time.Second, FastInterval: time.Second},
			[]event{{time.Second, true, 50}}, 5 * time.Second,
			"", 0, 1, 0},
		{"inhibit: weight 0, and a down server ignores more errors",
			obs(Config{Rise: 1, Interval: 10 * time.Second, ErrorLimit: 1, OnError: OnErrorMarkDown, OnFailure: ActionInhibit}),
			[]event{{time.Second, true, 1}, {2 * time.Second, true, 5}}, 5 * time.Second,
			// the fast interval is the interval: no check is brought forward
			"1s weight(1,0)", 6, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{start: time.Now()}
				script := []string{"ok", "refused"}
				if strings.HasPrefix(tt.name, "a check begun before") {
					script = []string{"ok", "slowok", "refused"}
				}
				d := &scripted{script: script}
				var logs []string
				var logMu sync.Mutex
				g := NewGroup(rec, Options{Dial: d.dial, Logf: func(f string, a ...any) {
					logMu.Lock()
					defer logMu.Unlock()
					logs = append(logs, fmt.Sprintf(f, a...))
				}})
				if err := g.Add(1, rs1, 7, tt.cfg); err != nil {
					t.Fatal(err)
				}
				g.Observe(2, errors.New("unknown servers are ignored"))
				for _, e := range tt.events {
					if wait := time.Until(rec.start.Add(e.at)); wait > 0 {
						time.Sleep(wait)
					}
					for range e.n {
						var err error
						if e.err {
							err = errors.New("connect: connection refused")
						}
						g.Observe(1, err)
					}
				}
				time.Sleep(time.Until(rec.start.Add(tt.run)))
				st := g.Status()
				g.Close()
				if got := rec.got(); got != tt.want {
					t.Errorf("calls:\n got %s\nwant %s", got, tt.want)
				}
				if len(st) != 1 || st[0].Observed != tt.observed || st[0].Checks != tt.checks || st[0].Failed != tt.fail {
					t.Errorf("status %+v, want %d observed errors, %d checks, %d failed", st, tt.observed, tt.checks, tt.fail)
				}
				if tt.cfg.OnError == OnErrorMarkDown && tt.want != "" &&
					(len(logs) != 1 || !strings.Contains(logs[0], "is DOWN after "+fmt.Sprint(tt.cfg.ErrorLimit)+" consecutive errors on live traffic (connect: connection refused; on_error mark-down)")) {
					t.Errorf("logs %q", logs)
				}
			})
		})
	}
}

// Many forwarding goroutines reporting errors at once take a server down
// exactly once.
func TestObserveConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{start: time.Now()}
		d := &scripted{script: []string{"ok"}}
		g := NewGroup(rec, Options{Dial: d.dial})
		defer g.Close()
		if err := g.Add(1, rs1, 1, Config{Interval: time.Minute, Observe: ObserveLayer4, ErrorLimit: 5, OnError: OnErrorMarkDown}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		errs := uint64(0)
		for i := range 8 {
			for j := range 100 {
				if (i+j)%7 != 0 {
					errs++
				}
			}
			wg.Go(func() {
				for j := range 100 {
					var err error
					if (i+j)%7 != 0 {
						err = errors.New("refused")
					}
					g.Observe(1, err)
				}
			})
		}
		wg.Wait()
		if got := rec.got(); got != "1s down(1,true)" {
			t.Errorf("calls %s", got)
		}
		if st := g.Status(); st[0].Observed != errs {
			t.Errorf("observed %d errors, want %d", st[0].Observed, errs)
		}
	})
}

// While a server is inhibited, the administrator's weight is kept for its
// return; while it is up, it goes through at once.
func TestInhibitAdminWeight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{start: time.Now()}
		d := &scripted{script: []string{"refused", "refused", "ok"}}
		g := NewGroup(rec, Options{Dial: d.dial})
		defer g.Close()
		if err := g.Add(1, rs1, 1, Config{Fall: 1, Rise: 1, OnFailure: ActionInhibit, Interval: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // down at 0s
		if err := g.SetWeight(1, 5); err != nil {
			t.Fatal(err)
		}
		if err := g.SetWeight(1, -1); err == nil {
			t.Error("weight -1 accepted while inhibited")
		}
		time.Sleep(20 * time.Second) // 10s fails again, 20s ok: weight 5
		if err := g.SetWeight(1, 3); err != nil {
			t.Fatal(err)
		}
		want := "0s weight(1,0); 20s weight(1,5); 21s weight(1,3)"
		if got := rec.got(); got != want {
			t.Errorf("calls:\n got %s\nwant %s", got, want)
		}
		st := g.Status()
		if len(st) != 1 || !st[0].Up || st[0].AdminWeight != 3 || st[0].Checks != 3 || st[0].Failed != 2 {
			t.Errorf("status %+v", st)
		}
	})
}

// Removed servers are no longer checked nor touched; the check port and
// the status report follow the configuration.
func TestRemoveAndStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{start: time.Now()}
		d := &scripted{script: []string{"refused"}}
		var logs []string
		now := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Since(rec.start)) }
		g := NewGroup(rec, Options{Name: "web", Dial: d.dial, Now: now, Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
		if err := g.Add(1, rs1, 1, Config{Fall: 2, Port: 8080}); err != nil {
			t.Fatal(err)
		}
		if err := g.Add(1, rs1, 1, Config{}); err == nil {
			t.Error("a second check of server 1 was accepted")
		}
		time.Sleep(3 * time.Second) // failures at 0 and 2: down at 2s
		st := g.Status()
		want := Status{ID: 1, Addr: rs1, Check: "tcp port 8080", Up: false, Since: now().Add(-time.Second),
			LastCheck: now().Add(-time.Second), LastError: "connect: connection refused", Rise: 2, Fall: 2,
			Checks: 2, Failed: 2, OnFailure: ActionRemove, AdminWeight: 1}
		if len(st) != 1 || st[0] != want {
			t.Errorf("status\n got %+v\nwant %+v", st, want)
		}
		g.Remove(1)
		time.Sleep(time.Minute)
		if got := rec.got(); got != "2s down(1,true)" {
			t.Errorf("calls after removal: %s", got)
		}
		if d.addrs[0] != "10.0.0.1:8080" {
			t.Errorf("checked %s, want port 8080", d.addrs[0])
		}
		if len(logs) != 1 || logs[0] != "web: health: 10.0.0.1:80 is DOWN after 2 failed tcp checks (connect: connection refused); marked down" {
			t.Errorf("logs %q", logs)
		}
		if len(g.Status()) != 0 {
			t.Error("a removed server still has a status")
		}
		g.Close()
		if err := g.Add(2, rs1, 1, Config{}); err == nil {
			t.Error("Add after Close accepted")
		}
	})
}

func TestConfigResolve(t *testing.T) {
	good, err := Config{}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Type: TypeTCP, Interval: 2 * time.Second, FastInterval: 2 * time.Second, Timeout: 2 * time.Second,
		Rise: 2, Fall: 3, Initial: InitialUp, OnFailure: ActionRemove, Observe: ObserveNone}
	if good != want {
		t.Errorf("defaults %+v, want %+v", good, want)
	}
	h, err := Config{Type: TypeHTTP}.Resolve()
	if err != nil || h.Path != "/" || h.Status != "200-299" {
		t.Errorf("http defaults %+v %v", h, err)
	}
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Type: "icmp"}, `type "icmp"`},
		{Config{Path: "/x"}, "apply to type http only"},
		{Config{Type: TypeHTTP, Path: "health"}, `path "health"`},
		{Config{Type: TypeHTTP, Status: "2xx"}, `status: "2xx"`},
		{Config{Type: TypeHTTP, Status: "299-200"}, `status: "299-200"`},
		{Config{Type: TypeHTTP, Host: "a b"}, "host"},
		{Config{Interval: 2}, "interval 2ns: must be at least 1ms (write a unit"},
		{Config{Timeout: -time.Second}, "timeout -1s"},
		{Config{Rise: -1}, "rise -1"},
		{Config{Initial: "maybe"}, `initial "maybe"`},
		{Config{OnFailure: "panic"}, `on_failure "panic"`},
		{Config{Port: 70000}, "port 70000"},
		{Config{Observe: "layer7"}, `observe "layer7"`},
		{Config{ErrorLimit: 3}, "error_limit and on_error apply with observe: layer4 only"},
		{Config{OnError: OnErrorMarkDown}, "error_limit and on_error apply with observe: layer4 only"},
		{Config{Observe: ObserveLayer4, ErrorLimit: -1}, "error_limit -1"},
		{Config{Observe: ObserveLayer4, OnError: "retry"}, `on_error "retry"`},
		{Config{Type: TypeNone, Observe: ObserveLayer4}, "needs a check"},
	}
	for _, b := range bad {
		_, err := b.cfg.Resolve()
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: error %v, want %q", b.cfg, err, b.want)
		}
	}
	o, err := Config{Observe: ObserveLayer4}.Resolve()
	if err != nil || o.ErrorLimit != DefaultErrorLimit || o.OnError != OnErrorFailCheck {
		t.Errorf("observe defaults %+v %v", o, err)
	}
	if d := o.Describe(); d != "tcp, observe layer4 (10 errors: fail-check)" {
		t.Errorf("describe %q", d)
	}
	optOut := Config{Observe: ObserveLayer4, ErrorLimit: 3, OnError: OnErrorMarkDown}.Merge(Config{Observe: ObserveNone})
	if _, err := optOut.Resolve(); err != nil || optOut.ErrorLimit != 0 || optOut.OnError != "" {
		t.Errorf("a server opting out of observe: %+v, %v", optOut, err)
	}
	m := Config{Type: TypeHTTP, Path: "/a", Fall: 5, Observe: ObserveLayer4}.Merge(Config{Path: "/b", Rise: 4, ErrorLimit: 2, OnError: OnErrorMarkDown})
	if m != (Config{Type: TypeHTTP, Path: "/b", Fall: 5, Rise: 4, Observe: ObserveLayer4, ErrorLimit: 2, OnError: OnErrorMarkDown}) {
		t.Errorf("merge %+v", m)
	}
}

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		in       string
		has, not []int
		bad      bool
	}{
		{in: "200", has: []int{200}, not: []int{201, 199}},
		{in: "200-299, 304", has: []int{200, 250, 299, 304}, not: []int{300, 199}},
		{in: "100-599", has: []int{100, 599}},
		{in: "", bad: true}, {in: "2xx", bad: true}, {in: "99", bad: true}, {in: "600", bad: true},
		{in: "300-200", bad: true}, {in: "200,", bad: true}, {in: "-", bad: true},
	}
	for _, tt := range tests {
		s, err := ParseStatuses(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("%q: error %v", tt.in, err)
			continue
		}
		for _, c := range tt.has {
			if !s.Has(c) {
				t.Errorf("%q lacks %d", tt.in, c)
			}
		}
		for _, c := range tt.not {
			if s.Has(c) {
				t.Errorf("%q has %d", tt.in, c)
			}
		}
	}
}

// A real HTTP server on loopback that starts failing is taken out after
// Fall checks and comes back after Rise.
func TestLoopbackHTTP(t *testing.T) {
	var failing atomic.Bool
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/health" || r.Header.Get("Connection") != "close" {
			http.Error(w, "bad check", http.StatusBadRequest)
			return
		}
		if failing.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	addr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	tgt := &stateTarget{}
	g := NewGroup(tgt, Options{})
	defer g.Close()
	if err := g.Add(3, addr, 1, Config{Type: TypeHTTP, Path: "/health", Expect: "ok", Interval: 20 * time.Millisecond, Rise: 2, Fall: 2}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; status %+v", what, g.Status())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("two checks", func() bool { return hits.Load() >= 2 })
	if tgt.isDown() {
		t.Fatal("healthy server marked down")
	}
	failing.Store(true)
	waitFor("down", tgt.isDown)
	if st := g.Status()[0]; !strings.Contains(st.LastError, "status 503") {
		t.Errorf("last error %q", st.LastError)
	}
	failing.Store(false)
	waitFor("up", func() bool { return !tgt.isDown() })
}

type stateTarget struct {
	mu   sync.Mutex
	down bool
}

func (s *stateTarget) SetDown(_ algorithms.ServerID, d bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = d
	return nil
}
func (s *stateTarget) SetWeight(algorithms.ServerID, int) error { return nil }
func (s *stateTarget) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// FuzzParseStatuses: a parsed set holds only codes from 100 to 599 in
// ordered ranges; nothing panics.
func FuzzParseStatuses(f *testing.F) {
	for _, s := range []string{"200", "200-299,304", " 100 - 599 ", "2xx", "-", ",", "300-200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseStatuses(in)
		if err != nil {
			return
		}
		for _, r := range s {
			if r[0] < 100 || r[1] > 599 || r[0] > r[1] {
				t.Fatalf("%q gave range %v", in, r)
			}
		}
	})
}
