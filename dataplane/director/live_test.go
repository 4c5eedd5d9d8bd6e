package director

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/ctl"
)

func TestReadServicesLive(t *testing.T) {
	head := "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: wlc\n"
	srv := "    servers:\n      - {address: 127.0.0.1:8081}\n"
	tests := []struct{ name, yaml, want string }{
		{"unknown health key", head + "    health: {type: http, uri: /}\n" + srv,
			"s.yaml:5: unknown key uri in health (want type, port, path,"},
		{"bad rise", head + "    health:\n      rise: -1\n" + srv,
			"s.yaml:5: services[0].health: rise -1, fall 3: both must be at least 1"},
		{"duration without unit", head + "    health: {interval: 2}\n" + srv,
			"s.yaml:5: cannot unmarshal !!int `2` into time.Duration"},
		{"bad status", head + "    health: {type: http, status: 2xx}\n" + srv,
			`s.yaml:5: services[0].health: status: "2xx"`},
		{"server refinement", head + "    health: {type: http}\n    servers:\n      - {address: 127.0.0.1:8081}\n      - {address: 127.0.0.1:8082, health: {on_failure: drop}}\n",
			`s.yaml:8: services[0].servers[1].health: on_failure "drop": want remove or inhibit`},
		{"tcp check with a path", head + "    servers:\n      - {address: 127.0.0.1:8081, health: {path: /x}}\n",
			"s.yaml:6: services[0].servers[0].health: path, host, status and expect apply to type http only"},
		{"monitor without feedback", head + "    monitor: {interval: 5s}\n" + srv,
			"s.yaml:5: services[0].monitor: scheduler wlc takes no load feedback"},
		{"monitor key", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: dflb\n    monitor: {every: 5s}\n" + srv,
			"s.yaml:5: unknown key every in monitor (want path, port, interval, timeout, window)"},
		{"monitor timeout", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: dflb\n    monitor: {interval: 1s, timeout: 2s}\n" + srv,
			"s.yaml:5: services[0].monitor: timeout 2s: must be between 1ms and the interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadServices("s.yaml", strings.NewReader(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v\nwant prefix %q", err, tc.want)
			}
		})
	}
	ok := head + "    health: {type: http, path: /health, interval: 1s, rise: 1}\n    servers:\n      - {address: 127.0.0.1:8081}\n      - {address: 127.0.0.1:8082, health: {path: /other, on_failure: inhibit}}\n"
	svcs, err := ReadServices("s.yaml", strings.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	s := svcs[0]
	if s.Health == nil || s.Health.Path != "/health" || s.ServerHealth[0] != nil || s.ServerHealth[1] == nil || s.ServerHealth[1].Path != "/other" {
		t.Errorf("health settings %+v, servers %+v", s.Health, s.ServerHealth)
	}
}

// backend is a test back end that counts the requests it serves and
// answers its health check as told.
type backend struct {
	name   string
	addr   string
	served atomic.Int64
	sick   atomic.Bool
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if b.sick.Load() {
				http.Error(w, "sick", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "ok")
			return
		}
		b.served.Add(1)
		fmt.Fprint(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// admin sends req to the admin socket sock, as "lvslab ctl" does.
func admin(sock string, req ctl.Request) ([]ctl.ServiceInfo, error) {
	c, err := ctl.Dial(sock)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	resp, err := c.Do(req)
	return resp.Services, err
}

// service names the TCP service vip in a request.
func service(vip string) *ctl.ServiceSpec {
	return &ctl.ServiceSpec{Key: ctl.Key{Proto: ctl.TCP, Addr: netip.MustParseAddrPort(vip)}}
}

// server is real server addr in a request, with its weight if given.
func server(addr string, weight ...int) *ctl.ServerSpec {
	s := &ctl.ServerSpec{Addr: netip.MustParseAddrPort(addr)}
	if len(weight) > 0 {
		s.Weight = &weight[0]
	}
	return s
}

// The director with two back ends and an admin socket: servers added,
// quiesced and deleted through lvslab ctl change where new requests go
// without a restart; a back end that fails its health check is taken out
// and comes back; list --stats reports the requests each one served.
func TestDirectorCtlEndToEnd(t *testing.T) {
	a, b, c := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C")
	dir, err := os.MkdirTemp("", "lvctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "run", "director.sock")
	yml := fmt.Sprintf(`services:
  - name: web
    listen: 127.0.0.1:0
    mode: l7
    scheduler: rr
    health: {type: http, path: /health, interval: 50ms, timeout: 1s, rise: 2, fall: 2}
    servers:
      - {address: %s}
      - {address: %s}
`, a.addr, b.addr)
	svcs, err := ReadServices("s.yaml", strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	addrs, stop := runDirector(t, svcs, Options{Ctl: sock, Loops: 1}, 10*time.Second)
	vip := addrs[0]
	fi, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin socket mode %v, want a socket with 0600", fi.Mode())
	}

	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	// send makes n requests and returns how many each back end served.
	send := func(n int) map[string]int64 {
		t.Helper()
		before := map[string]int64{"A": a.served.Load(), "B": b.served.Load(), "C": c.served.Load()}
		fails := 0
		for range n {
			resp, err := client.Get("http://" + vip + "/page")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				fails++
			}
		}
		got := map[string]int64{"A": a.served.Load() - before["A"], "B": b.served.Load() - before["B"], "C": c.served.Load() - before["C"]}
		if fails > 0 {
			got["503"] = int64(fails)
		}
		return got
	}
	ctlOK := func(req ctl.Request) []ctl.ServiceInfo {
		t.Helper()
		svcs, err := admin(sock, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Verb, err)
		}
		return svcs
	}
	// list is list's text, as "lvslab ctl list" prints it.
	list := func(f ctl.Format, svc *ctl.ServiceSpec) string {
		t.Helper()
		var b strings.Builder
		f.One = svc != nil
		if err := ctl.WriteList(&b, ctlOK(ctl.Request{Verb: ctl.VerbList, Service: svc}), f); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	waitHealth := func(addr string, up bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			svcs := ctlOK(ctl.Request{Verb: ctl.VerbHealth, Service: service(vip)})
			for _, s := range svcs[0].Servers {
				if s.Addr.String() == addr && s.Health != nil && s.Health.Up == up && s.Down == !up {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never became up=%v: %+v", addr, up, svcs[0].Servers)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitHealth(a.addr, true)
	waitHealth(b.addr, true)

	if got := send(10); got["A"] != 5 || got["B"] != 5 {
		t.Errorf("two servers, rr: %v", got)
	}
	ctlOK(ctl.Request{Verb: ctl.VerbAddServer, Service: service(vip), Server: server(c.addr, 1)})
	waitHealth(c.addr, true)
	if got := send(30); got["A"] != 10 || got["B"] != 10 || got["C"] != 10 {
		t.Errorf("after add-server: %v", got)
	}
	ctlOK(ctl.Request{Verb: ctl.VerbEditServer, Service: service(vip), Server: server(a.addr, 0)})
	if got := send(10); got["A"] != 0 || got["B"] != 5 || got["C"] != 5 {
		t.Errorf("after quiescing A: %v", got)
	}
	plain := list(ctl.Format{}, nil)
	if !strings.Contains(plain, fmt.Sprintf("  -> %-28s %-7s %-6d", a.addr, "Proxy", 0)) {
		t.Errorf("list shows no weight 0 for A:\n%s", plain)
	}

	b.sick.Store(true)
	waitHealth(b.addr, false)
	if got := send(6); got["B"] != 0 || got["C"] != 6 {
		t.Errorf("with B failing its check: %v", got)
	}
	var health strings.Builder
	if err := ctl.WriteHealth(&health, ctlOK(ctl.Request{Verb: ctl.VerbHealth}), time.Now()); err != nil {
		t.Fatal(err)
	}
	if !regexpLine(health.String(), b.addr, "DOWN") || !regexpLine(health.String(), c.addr, "UP") {
		t.Errorf("health:\n%s", health.String())
	}
	b.sick.Store(false)
	waitHealth(b.addr, true)
	if got := send(10); got["B"] != 5 || got["C"] != 5 {
		t.Errorf("B back: %v", got)
	}
	ctlOK(ctl.Request{Verb: ctl.VerbDeleteServer, Service: service(vip), Server: server(c.addr)})
	if got := send(4); got["B"] != 4 {
		t.Errorf("after delete-server C: %v", got)
	}

	// list --stats: Conns per server are the requests it served through the
	// director; the service's include the deleted server's.
	stats := parseStats(t, list(ctl.Format{Stats: true, Rate: true}, nil))
	wantA, wantB, wantC := a.served.Load(), b.served.Load(), c.served.Load()
	if stats[a.addr] != wantA || stats[b.addr] != wantB || stats["TCP  "+vip] != wantA+wantB+wantC {
		t.Errorf("stats %v, want A %d B %d total %d", stats, wantA, wantB, wantA+wantB+wantC)
	}
	if _, ok := stats[c.addr]; ok {
		t.Errorf("the deleted server is still listed")
	}
	ctlOK(ctl.Request{Verb: ctl.VerbZero})
	if stats := parseStats(t, list(ctl.Format{Stats: true}, service(vip))); stats["TCP  "+vip] != 0 {
		t.Errorf("after zero: %v", stats)
	}

	// Errors come back with their reason.
	nat := server(a.addr)
	nat.Forward = ctl.ForwardNAT
	fastest, persistent := service(vip), service(vip)
	fastest.Scheduler = "fastest"
	persistent.Persistence = new(600 * time.Second)
	udp := &ctl.ServiceSpec{Key: ctl.Key{Proto: ctl.UDP, Addr: netip.MustParseAddrPort("127.0.0.1:5353")}, Mode: "l7"}
	for _, tc := range []struct {
		req  ctl.Request
		want string
	}{
		{ctl.Request{Verb: ctl.VerbAddServer, Service: service(vip), Server: server(a.addr)}, "already exists"},
		{ctl.Request{Verb: ctl.VerbAddServer, Service: service(vip), Server: nat}, "forwarding method nat"},
		{ctl.Request{Verb: ctl.VerbEditServer, Service: service("127.0.0.1:1"), Server: server(a.addr, 1)}, "no such service TCP  127.0.0.1:1"},
		{ctl.Request{Verb: ctl.VerbDeleteServer, Service: service(vip), Server: server("10.9.9.9:80")}, "no server 10.9.9.9:80"},
		{ctl.Request{Verb: ctl.VerbEditService, Service: fastest}, "unknown scheduler"},
		{ctl.Request{Verb: ctl.VerbEditService, Service: persistent}, "persistence"},
		{ctl.Request{Verb: ctl.VerbAddService, Service: udp}, "TCP"},
	} {
		if _, err := admin(sock, tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: %v, want %q", tc.req.Verb, tc.req, err, tc.want)
		}
	}

	// edit-service changes the scheduler; add-service and delete-service
	// open and close another service.
	wlc := service(vip)
	wlc.Scheduler = "wlc"
	ctlOK(ctl.Request{Verb: ctl.VerbEditService, Service: wlc})
	if out := list(ctl.Format{}, service(vip)); !strings.Contains(out, "TCP  "+vip+" wlc") {
		t.Errorf("scheduler not changed:\n%s", out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	vip2 := ln.Addr().String()
	ln.Close()
	second := service(vip2)
	second.Scheduler, second.Name, second.Mode = "rr", "second", "l7"
	ctlOK(ctl.Request{Verb: ctl.VerbAddService, Service: second})
	ctlOK(ctl.Request{Verb: ctl.VerbAddServer, Service: service(vip2), Server: server(c.addr)})
	resp, err := client.Get("http://" + vip2 + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "C" {
		t.Errorf("second service answered %q", body)
	}
	ctlOK(ctl.Request{Verb: ctl.VerbDeleteService, Service: service(vip2)})
	client.CloseIdleConnections()
	if _, err := client.Get("http://" + vip2 + "/x"); err == nil {
		t.Error("a deleted service still answers")
	}

	// A second director on the same socket is refused.
	err = Run(context.Background(), nil, io.Discard, Options{Ctl: sock})
	if err == nil || !strings.Contains(err.Error(), "another process is serving") {
		t.Errorf("second director on the socket: %v", err)
	}

	log := stop()
	if _, err := os.Lstat(sock); err == nil {
		t.Error("the admin socket outlived the director")
	}
	for _, want := range []string{"web: l7 on", "2 health-checked", "admin socket " + sock, "health: " + b.addr + " is DOWN", "health: " + b.addr + " is UP",
		"server " + c.addr + " added", "second: l7 on " + vip2} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// regexpLine reports whether a line of out contains addr and then word.
func regexpLine(out, addr, word string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if i := strings.Index(line, addr); i >= 0 && strings.Contains(line[i:], " "+word+" ") {
			return true
		}
	}
	return false
}

// parseStats reads the Conns column of list --stats (the first table),
// keyed by "TCP  VIP:PORT" for services and by address for servers.
func parseStats(t *testing.T, out string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "Prot LocalAddress:Port") && strings.Contains(line, "CPS") {
			break // the rates table
		}
		f := strings.Fields(line)
		var key string
		var conns string
		switch {
		case len(f) == 7 && f[0] == "->":
			key, conns = f[1], f[2]
		case len(f) == 7 && (f[0] == "TCP" || f[0] == "UDP"):
			key, conns = f[0]+"  "+f[1], f[2]
		default:
			continue
		}
		n, err := strconv.ParseInt(conns, 10, 64)
		if err != nil {
			t.Fatalf("bad Conns %q in %q", conns, line)
		}
		m[key] = n
	}
	return m
}

// The README's health-checked example parses and builds.
func TestDirectorHealthExample(t *testing.T) {
	svcs, err := ReadServicesFile(filepath.Join("..", "..", "examples", "l7", "health.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if h := svcs[0].Health; h == nil || h.Type != "http" || h.OnFailure != "inhibit" {
		t.Errorf("health %+v", h)
	}
	_, host, err := svcs[0].Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	if st := host.Health().Status(); len(st) != 2 || st[1].OnFailure != "remove" {
		t.Errorf("checks %+v", st)
	}
}
