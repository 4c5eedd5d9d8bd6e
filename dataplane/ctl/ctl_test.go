package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/dataplane/health"
)

func TestEstimator(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type step struct {
		t float64
		c Counters
	}
	tests := []struct {
		name  string
		steps []step
		want  Rates
	}{
		{"first sample only records", []step{{0, Counters{Conns: 1000}}}, Rates{}},
		// 100 conns/s: the average after n intervals is 100·(1 − 0.75^n).
		{"one interval", []step{{0, Counters{}}, {2, Counters{Conns: 200, InBytes: 20000}}}, Rates{CPS: 25, InBPS: 2500}},
		{"two intervals", []step{{0, Counters{}}, {2, Counters{Conns: 200}}, {4, Counters{Conns: 400}}}, Rates{CPS: 44}}, // 43.75
		{"converges", func() []step {
			var s []step
			for i := range 80 {
				s = append(s, step{float64(2 * i), Counters{Conns: uint64(200 * i), InPkts: uint64(2000 * i), OutPkts: uint64(20 * i), OutBytes: uint64(1e6 * i)}})
			}
			return s
		}(), Rates{CPS: 100, InPPS: 1000, OutPPS: 10, OutBPS: 500000}},
		{"a late tick divides by the time that passed", []step{{0, Counters{}}, {4, Counters{Conns: 400}}}, Rates{CPS: 25}},
		{"counters that go back start over", []step{{0, Counters{}}, {2, Counters{Conns: 200}}, {4, Counters{Conns: 10}}}, Rates{}},
		{"no time passed: ignored", []step{{0, Counters{}}, {2, Counters{Conns: 200}}, {2, Counters{Conns: 900}}}, Rates{CPS: 25}},
	}
	for _, tt := range tests {
		var e Estimator
		for _, s := range tt.steps {
			e.Update(at(s.t), s.c)
		}
		if got := e.Rates(); got != tt.want {
			t.Errorf("%s: rates %+v, want %+v", tt.name, got, tt.want)
		}
	}
	var e Estimator
	e.Update(at(0), Counters{})
	e.Update(at(2), Counters{Conns: 200})
	e.Reset()
	if e.Rates() != (Rates{}) {
		t.Error("Reset kept the rates")
	}
}

func TestLargeNum(t *testing.T) {
	tests := []struct {
		v     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"},
		{99_999_999, false, " 99999999"},
		{100_000_000, false, "  100000K"},
		{181_747_123, false, "  181747K"},
		{2_110_123_456, false, "    2110M"},
		{123_456_789_012, false, "     123G"},
		{123_456_789_012_345, false, "     123T"},
		{123, true, "      123"},
		{1_234_567_890, true, " 1234567890"},
	}
	for _, tt := range tests {
		if got := largeNum(tt.v, tt.exact); got != tt.want {
			t.Errorf("largeNum(%d, %v) = %q, want %q", tt.v, tt.exact, got, tt.want)
		}
	}
}

var (
	vip  = netip.MustParseAddrPort("10.0.0.1:80")
	rip1 = netip.MustParseAddrPort("10.0.0.2:80")
	rip2 = netip.MustParseAddrPort("10.0.0.3:8080")
)

func sampleInfo() []ServiceInfo {
	p := 300 * time.Second
	return []ServiceInfo{{
		Key: Key{TCP, vip}, Mode: "dr", Scheduler: "wlc", Persistence: p, Netmask: "255.255.255.0",
		Stats: Counters{Conns: 113786, InPkts: 19495479, InBytes: 2_110_123_456},
		Rates: Rates{CPS: 3, InPPS: 2, InBPS: 193},
		Servers: []ServerInfo{
			{Addr: rip1, Forward: ForwardDR, Weight: 5, Active: 17, Inactive: 2, Upper: 100, Lower: 50,
				Stats: Counters{Conns: 40269, InPkts: 10218905, InBytes: 1_105_000_000}, Rates: Rates{CPS: 1, InPPS: 1, InBPS: 65}},
			{Addr: rip2, Forward: ForwardNAT, Weight: 0},
		},
	}, {Key: Key{UDP, netip.MustParseAddrPort("[2001:db8::1]:53")}, Scheduler: "rr"}}
}

// The listings reproduce ipvsadm -L -n's headers and column widths.
func TestWriteList(t *testing.T) {
	tests := []struct {
		name string
		f    Format
		want string
	}{
		{"plain", Format{}, Title + `
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.1:80 wlc persistent 300 mask 255.255.255.0
  -> 10.0.0.2:80                  Route   5      17         2         
  -> 10.0.0.3:8080                Masq    0      0          0         
UDP  [2001:db8::1]:53 rr
`},
		{"stats", Format{Stats: true, One: true}, `Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:80                    113786 19495479        0    2110M        0
  -> 10.0.0.2:80                     40269 10218905        0    1105M        0
  -> 10.0.0.3:8080                       0        0        0        0        0
UDP  [2001:db8::1]:53                    0        0        0        0        0
`},
		{"stats and rate", Format{Stats: true, Rate: true, Exact: true, One: true}, `Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.0.0.1:80                    113786 19495479        0 2110123456        0
  -> 10.0.0.2:80                     40269 10218905        0 1105000000        0
  -> 10.0.0.3:8080                       0        0        0        0        0
UDP  [2001:db8::1]:53                    0        0        0        0        0
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  10.0.0.1:80                         3        2        0      193        0
  -> 10.0.0.2:80                         1        1        0       65        0
  -> 10.0.0.3:8080                       0        0        0        0        0
UDP  [2001:db8::1]:53                    0        0        0        0        0
`},
		{"thresholds", Format{Thresholds: true, One: true}, `Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  10.0.0.1:80 wlc persistent 300 mask 255.255.255.0
  -> 10.0.0.2:80                  100        50         17         2         
  -> 10.0.0.3:8080                0          0          0          0         
UDP  [2001:db8::1]:53 rr
`},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := WriteList(&b, sampleInfo(), tt.f); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", tt.name, b.String(), tt.want)
		}
	}
}

// fakeService records the Table's calls.
type fakeService struct {
	mu     sync.Mutex
	info   ServiceInfo
	calls  []string
	closed bool
	err    error
}

func (f *fakeService) Info() ServiceInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.info
	i.Servers = append([]ServerInfo(nil), f.info.Servers...)
	return i
}
func (f *fakeService) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}
func (f *fakeService) Edit(s ServiceSpec) error { return f.record("edit " + s.Scheduler) }
func (f *fakeService) AddServer(s ServerSpec) error {
	return f.record(fmt.Sprintf("add %s w%d", s.Addr, *s.Weight))
}
func (f *fakeService) EditServer(s ServerSpec) error {
	return f.record("edit-server " + s.Addr.String())
}
func (f *fakeService) DeleteServer(a netip.AddrPort) error { return f.record("delete " + a.String()) }
func (f *fakeService) Zero() {
	_ = f.record("zero")
	f.mu.Lock()
	f.info.Stats = Counters{}
	for i := range f.info.Servers {
		f.info.Servers[i].Stats = Counters{}
	}
	f.mu.Unlock()
}
func (f *fakeService) Close(context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return f.record("close")
}
func (f *fakeService) setConns(svc, srv uint64) {
	f.mu.Lock()
	f.info.Stats.Conns = svc
	f.info.Servers[0].Stats.Conns = srv
	f.mu.Unlock()
}

func TestTableHandle(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &fakeService{info: ServiceInfo{Key: Key{TCP, vip}, Scheduler: "wlc", Servers: []ServerInfo{{Addr: rip2}, {Addr: rip1}}}}
	var made []*fakeService
	tab := NewTable(TableConfig{Now: func() time.Time { return now }, Add: func(s ServiceSpec) (Service, error) {
		if s.Mode == "bad" {
			return nil, errors.New("bad mode")
		}
		f := &fakeService{info: ServiceInfo{Key: s.Key, Scheduler: s.Scheduler, Servers: []ServerInfo{{Addr: rip1}}}}
		made = append(made, f)
		return f, nil
	}})
	if err := tab.Register(a); err != nil {
		t.Fatal(err)
	}
	if err := tab.Register(a); err == nil {
		t.Error("a second registration of the same key was accepted")
	}
	svcA := &ServiceSpec{Key: Key{TCP, vip}}
	other := netip.MustParseAddrPort("10.0.0.9:443")
	w := 3
	steps := []struct {
		req  Request
		want string // error substring, or "" for success
	}{
		{Request{Verb: "frobnicate"}, `unknown verb "frobnicate"`},
		{Request{Verb: VerbAddServer}, "name the service with -t"},
		{Request{Verb: VerbAddServer, Service: svcA}, "name the real server with -r"},
		{Request{Verb: VerbAddServer, Service: &ServiceSpec{Key: Key{"sctp", vip}}, Server: &ServerSpec{Addr: rip1}}, `protocol "sctp"`},
		{Request{Verb: VerbAddServer, Service: &ServiceSpec{Key: Key{TCP, other}}, Server: &ServerSpec{Addr: rip1, Weight: &w}}, "no such service TCP  10.0.0.9:443"},
		{Request{Verb: VerbAddServer, Service: svcA, Server: &ServerSpec{Addr: rip1, Weight: &w}}, ""},
		{Request{Verb: VerbEditServer, Service: svcA, Server: &ServerSpec{Addr: rip1}}, ""},
		{Request{Verb: VerbDeleteServer, Service: svcA, Server: &ServerSpec{Addr: rip1}}, ""},
		{Request{Verb: VerbEditService, Service: &ServiceSpec{Key: svcA.Key, Scheduler: "rr"}}, ""},
		{Request{Verb: VerbAddService, Service: svcA}, "already exists"},
		{Request{Verb: VerbAddService, Service: &ServiceSpec{Key: Key{TCP, other}, Mode: "bad"}}, "bad mode"},
		{Request{Verb: VerbAddService, Service: &ServiceSpec{Key: Key{TCP, other}, Scheduler: "lc"}}, ""},
		{Request{Verb: VerbZero, Service: svcA}, ""},
	}
	for i, s := range steps {
		resp := tab.Handle(context.Background(), s.req)
		if (resp.Error == "") != (s.want == "") || !strings.Contains(resp.Error, s.want) {
			t.Errorf("step %d (%s): error %q, want %q", i, s.req.Verb, resp.Error, s.want)
		}
	}
	if got := strings.Join(a.calls, ", "); got != "add 10.0.0.2:80 w3, edit-server 10.0.0.2:80, delete 10.0.0.2:80, edit rr, zero" {
		t.Errorf("calls: %s", got)
	}

	// list: services in ipvsadm's order, servers by address, rates from the estimators.
	a.setConns(0, 0)
	tab.Sample()
	now = now.Add(2 * time.Second)
	a.setConns(400, 200)
	tab.Sample()
	list := tab.Handle(context.Background(), Request{Verb: VerbList})
	if len(list.Services) != 2 || list.Services[0].Addr != vip || list.Services[1].Addr != other {
		t.Fatalf("list %+v", list.Services)
	}
	got := list.Services[0]
	if got.Servers[0].Addr != rip1 || got.Servers[1].Addr != rip2 {
		t.Errorf("servers not sorted by address: %v, %v", got.Servers[0].Addr, got.Servers[1].Addr)
	}
	if got.Rates.CPS != 50 || got.Servers[1].Rates.CPS != 25 { // rip2 carries the counter (first in the fake's order)
		t.Errorf("rates: service %+v, servers %+v", got.Rates, got.Servers)
	}
	one := tab.Handle(context.Background(), Request{Verb: VerbList, Service: svcA})
	if len(one.Services) != 1 || one.Services[0].Rates.CPS != 50 {
		t.Errorf("list -t: %+v", one)
	}
	tab.Handle(context.Background(), Request{Verb: VerbZero})
	if r := tab.Handle(context.Background(), Request{Verb: VerbList, Service: svcA}); r.Services[0].Rates.CPS != 0 || r.Services[0].Stats.Conns != 0 {
		t.Errorf("after zero: %+v", r.Services[0])
	}

	// delete-service closes the service and forgets it.
	if r := tab.Handle(context.Background(), Request{Verb: VerbDeleteService, Service: &ServiceSpec{Key: Key{TCP, other}}}); r.Error != "" {
		t.Fatal(r.Error)
	}
	if !made[0].closed || tab.Len() != 1 {
		t.Errorf("delete-service: closed %v, %d services left", made[0].closed, tab.Len())
	}
	if r := tab.Handle(context.Background(), Request{Verb: VerbDeleteService, Service: &ServiceSpec{Key: Key{TCP, other}}}); !strings.Contains(r.Error, "no such service") {
		t.Errorf("second delete: %q", r.Error)
	}
	if err := tab.Close(context.Background()); err != nil || !a.closed {
		t.Errorf("Close: %v, closed %v", err, a.closed)
	}
	noAdd := NewTable(TableConfig{})
	if r := noAdd.Handle(context.Background(), Request{Verb: VerbAddService, Service: svcA}); !strings.Contains(r.Error, "cannot add services") {
		t.Errorf("add-service without a factory: %q", r.Error)
	}
}

// sockPath returns a short socket path (Unix socket paths are limited to
// about 100 bytes).
func sockPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "d.sock")
}

func TestServerSocket(t *testing.T) {
	path := sockPath(t)
	a := &fakeService{info: ServiceInfo{Key: Key{TCP, vip}, Scheduler: "wlc", Servers: []ServerInfo{{Addr: rip1}}}}
	tab := NewTable(TableConfig{})
	_ = tab.Register(a)
	srv, err := Listen(path, tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode %v, want 0700", di.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ctl*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary directory left behind: %v", leftovers)
	}
	if _, err := Listen(path, tab, nil); err == nil || !strings.Contains(err.Error(), "another process is serving") {
		t.Errorf("second Listen on a live socket: %v", err)
	}

	c, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(Request{Verb: VerbList})
	if err != nil || len(resp.Services) != 1 || resp.Services[0].Scheduler != "wlc" {
		t.Errorf("list over the socket: %+v %v", resp, err)
	}
	w := 2
	if _, err := c.Do(Request{Verb: VerbAddServer, Service: &ServiceSpec{Key: Key{TCP, vip}}, Server: &ServerSpec{Addr: rip2, Weight: &w}}); err != nil {
		t.Error(err)
	}
	if _, err := c.Do(Request{Verb: VerbList, Service: &ServiceSpec{Key: Key{TCP, rip2}}}); err == nil || !strings.Contains(err.Error(), "no such service") {
		t.Errorf("error not carried back: %v", err)
	}
	c.Close()

	// Malformed and oversized requests get an error answer, not a crash.
	raw, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(raw, "{not json")
	line, _ := bufio.NewReader(raw).ReadString('\n')
	var r Response
	if json.Unmarshal([]byte(line), &r); !strings.HasPrefix(r.Error, "bad request") {
		t.Errorf("bad JSON answered %q", line)
	}
	raw.Close()
	raw, _ = net.Dial("unix", path)
	go func() { _, _ = raw.Write([]byte(strings.Repeat("x", MaxRequest+10))) }()
	line, _ = bufio.NewReader(raw).ReadString('\n')
	if !strings.Contains(line, "request longer than") {
		t.Errorf("oversized request answered %q", line)
	}
	raw.Close()

	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
	if _, err := Dial(path); err == nil || !strings.Contains(err.Error(), "no director is listening") {
		t.Errorf("Dial without a director: %v", err)
	}
}

func TestListenStaleAndNotSocket(t *testing.T) {
	path := sockPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	// A stale socket: bound, closed, file left behind.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	srv, err := Listen(path, NewTable(TableConfig{}), nil)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	srv.Close()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, NewTable(TableConfig{}), nil); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file at the path: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "x" {
		t.Error("the regular file was touched")
	}
}

// FuzzHandle: no request line makes the table panic.
func FuzzHandle(f *testing.F) {
	f.Add([]byte(`{"verb":"list"}`))
	f.Add([]byte(`{"verb":"add-server","service":{"proto":"tcp","address":"10.0.0.1:80"},"server":{"address":"10.0.0.5:80","weight":2}}`))
	f.Add([]byte(`{"verb":"delete-service","service":{"proto":"udp","address":"[::1]:53"}}`))
	f.Add([]byte(`{"verb":"zero","service":{"proto":"tcp","address":"0.0.0.0:0"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab := NewTable(TableConfig{Add: func(s ServiceSpec) (Service, error) {
			return &fakeService{info: ServiceInfo{Key: s.Key}}, nil
		}})
		_ = tab.Register(&fakeService{info: ServiceInfo{Key: Key{TCP, vip}, Servers: []ServerInfo{{Addr: rip1}}}})
		var req Request
		if json.Unmarshal(b, &req) != nil {
			return
		}
		if req.Server != nil && req.Server.Weight == nil {
			req.Server.Weight = new(int)
		}
		tab.Handle(context.Background(), req)
		tab.Sample()
		_ = WriteList(&strings.Builder{}, tab.list(), Format{Stats: true, Rate: true})
	})
}

func TestWriteHealth(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC)
	svcs := sampleInfo()[:1]
	svcs[0].Servers[0].Health = &health.Status{Up: false, Since: now.Add(-90 * time.Second), Successes: 1, Rise: 2, Fall: 3,
		Checks: 40, Failed: 12, LastError: "status 503, want 200-299", Check: "http GET /health", OnFailure: "inhibit"}
	var b strings.Builder
	if err := WriteHealth(&b, svcs, now); err != nil {
		t.Fatal(err)
	}
	want := `Prot LocalAddress:Port
  -> RemoteAddress:Port           State Count    For         Checks   Failed  LastError (Check, on failure)
TCP  10.0.0.1:80
  -> 10.0.0.2:80                  DOWN  1/2      1m30s           40       12  status 503, want 200-299 (http GET /health, on failure inhibit)
  -> 10.0.0.3:8080                -     -        -                -        -  not checked
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Run samples every 2 s of (fake) time. The counters grow by 100 a
// second, updated every 0.5 s between the samples (at 0.25 s, 0.75 s, ...,
// so that no update shares an instant with a sample): 175 at the sample of
// 2 s, 375 at 4 s. The rates are then 87.5/4 = 21.875 (22) and
// 21.875 + (100 − 21.875)/4 = 41.40625 (41), as the kernel's estimator
// would give.
func TestTableRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		a := &fakeService{info: ServiceInfo{Key: Key{TCP, vip}, Servers: []ServerInfo{{Addr: rip1}}}}
		tab := NewTable(TableConfig{})
		_ = tab.Register(a)
		stop := make(chan struct{})
		go func() {
			time.Sleep(250 * time.Millisecond)
			for {
				n := uint64(time.Since(start) * 100 / time.Second)
				a.setConns(n, n)
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { tab.Run(ctx); close(done) }()
		rates := func() uint64 { return tab.Handle(ctx, Request{Verb: VerbList}).Services[0].Rates.CPS }
		time.Sleep(2100 * time.Millisecond)
		if r := rates(); r != 22 {
			t.Errorf("after one interval: %d cps, want 22", r)
		}
		time.Sleep(2 * time.Second)
		if r := rates(); r != 41 {
			t.Errorf("after two intervals: %d cps, want 41", r)
		}
		cancel()
		close(stop)
		<-done
	})
}

// WriteResponse prints what each verb answers as lvslab ctl shows it.
func TestWriteResponse(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC)
	resp := Response{Services: sampleInfo()[:1]}
	one := &ServiceSpec{Key: Key{TCP, vip}}
	text := func(f func(w io.Writer) error) string {
		var b strings.Builder
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	js, err := json.MarshalIndent(resp.Services, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		req    Request
		f      Format
		asJSON bool
		want   string
	}{
		{"list", Request{Verb: VerbList}, Format{Stats: true}, false,
			text(func(w io.Writer) error { return WriteList(w, resp.Services, Format{Stats: true}) })},
		{"list one service: no title", Request{Verb: VerbList, Service: one}, Format{}, false,
			text(func(w io.Writer) error { return WriteList(w, resp.Services, Format{One: true}) })},
		{"list as JSON", Request{Verb: VerbList}, Format{Rate: true}, true, string(js) + "\n"},
		{"health", Request{Verb: VerbHealth}, Format{}, false,
			text(func(w io.Writer) error { return WriteHealth(w, resp.Services, now) })},
		{"health as JSON", Request{Verb: VerbHealth, Service: one}, Format{}, true, string(js) + "\n"},
		{"add-server prints nothing", Request{Verb: VerbAddServer, Service: one}, Format{}, true, ""},
	}
	for _, tc := range tests {
		got := text(func(w io.Writer) error { return WriteResponse(w, tc.req, resp, tc.f, tc.asJSON, now) })
		if got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}
