package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
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
			_, err := readServices("s.yaml", strings.NewReader(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v\nwant prefix %q", err, tc.want)
			}
		})
	}
	ok := head + "    health: {type: http, path: /health, interval: 1s, rise: 1}\n    servers:\n      - {address: 127.0.0.1:8081}\n      - {address: 127.0.0.1:8082, health: {path: /other, on_failure: inhibit}}\n"
	svcs, err := readServices("s.yaml", strings.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	l := svcs[0].live
	if l.health == nil || l.health.Path != "/health" || l.servers[0] != nil || l.servers[1] == nil || l.servers[1].Path != "/other" {
		t.Errorf("live settings %+v", l)
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

// ctlRun runs "lvslab ctl --socket sock args..." in process.
func ctlRun(t *testing.T, sock string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"ctl", "--socket", sock}, args...), &out, &errb)
	if code != 0 {
		return out.String(), fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
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
	svcs, err := readServices("s.yaml", strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runLive(ctx, svcs, &stderr, func(a []string) { ready <- a }, liveOptions{ctl: sock, loops: 1})
	}()
	var vip string
	select {
	case addrs := <-ready:
		vip = addrs[0]
	case err := <-done:
		t.Fatalf("director stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("director not ready")
	}
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
	ctlOK := func(args ...string) string {
		t.Helper()
		out, err := ctlRun(t, sock, args...)
		if err != nil {
			t.Fatalf("lvslab ctl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	waitHealth := func(addr string, up bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			out := ctlOK("health", "-t", vip, "--json")
			var svcs []ctl.ServiceInfo
			if err := json.Unmarshal([]byte(out), &svcs); err != nil {
				t.Fatal(err)
			}
			for _, s := range svcs[0].Servers {
				if s.Addr.String() == addr && s.Health != nil && s.Health.Up == up && s.Down == !up {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never became up=%v:\n%s", addr, up, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitHealth(a.addr, true)
	waitHealth(b.addr, true)

	if got := send(10); got["A"] != 5 || got["B"] != 5 {
		t.Errorf("two servers, rr: %v", got)
	}
	ctlOK("add-server", "-t", vip, "-r", c.addr, "-w", "1")
	waitHealth(c.addr, true)
	if got := send(30); got["A"] != 10 || got["B"] != 10 || got["C"] != 10 {
		t.Errorf("after add-server: %v", got)
	}
	ctlOK("edit-server", "-t", vip, "-r", a.addr, "-w", "0")
	if got := send(10); got["A"] != 0 || got["B"] != 5 || got["C"] != 5 {
		t.Errorf("after quiescing A: %v", got)
	}
	plain := ctlOK("list", "-n")
	if !strings.Contains(plain, fmt.Sprintf("  -> %-28s %-7s %-6d", a.addr, "Proxy", 0)) {
		t.Errorf("list shows no weight 0 for A:\n%s", plain)
	}

	b.sick.Store(true)
	waitHealth(b.addr, false)
	if got := send(6); got["B"] != 0 || got["C"] != 6 {
		t.Errorf("with B failing its check: %v", got)
	}
	health := ctlOK("health")
	if !regexpLine(health, b.addr, "DOWN") || !regexpLine(health, c.addr, "UP") {
		t.Errorf("health:\n%s", health)
	}
	b.sick.Store(false)
	waitHealth(b.addr, true)
	if got := send(10); got["B"] != 5 || got["C"] != 5 {
		t.Errorf("B back: %v", got)
	}
	ctlOK("delete-server", "-t", vip, "-r", c.addr)
	if got := send(4); got["B"] != 4 {
		t.Errorf("after delete-server C: %v", got)
	}

	// list --stats: Conns per server are the requests it served through the
	// director; the service's include the deleted server's.
	stats := parseStats(t, ctlOK("list", "-n", "--stats", "--rate"))
	wantA, wantB, wantC := a.served.Load(), b.served.Load(), c.served.Load()
	if stats[a.addr] != wantA || stats[b.addr] != wantB || stats["TCP  "+vip] != wantA+wantB+wantC {
		t.Errorf("stats %v, want A %d B %d total %d", stats, wantA, wantB, wantA+wantB+wantC)
	}
	if _, ok := stats[c.addr]; ok {
		t.Errorf("the deleted server is still listed")
	}
	ctlOK("zero")
	if stats := parseStats(t, ctlOK("list", "-n", "--stats", "-t", vip)); stats["TCP  "+vip] != 0 {
		t.Errorf("after zero: %v", stats)
	}

	// Errors come back with their reason.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add-server", "-t", vip, "-r", a.addr}, "already exists"},
		{[]string{"add-server", "-t", vip, "-r", a.addr, "-m"}, "forwarding method nat"},
		{[]string{"edit-server", "-t", "127.0.0.1:1", "-r", a.addr, "-w", "1"}, "no such service TCP  127.0.0.1:1"},
		{[]string{"delete-server", "-t", vip, "-r", "10.9.9.9:80"}, "no server 10.9.9.9:80"},
		{[]string{"edit-service", "-t", vip, "-s", "fastest"}, "unknown scheduler"},
		{[]string{"edit-service", "-t", vip, "-p", "600"}, "persistence"},
		{[]string{"add-service", "-u", "127.0.0.1:5353"}, "TCP"},
	} {
		if _, err := ctlRun(t, sock, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ctl %v: %v, want %q", tc.args, err, tc.want)
		}
	}

	// edit-service changes the scheduler; add-service and delete-service
	// open and close another service.
	ctlOK("edit-service", "-t", vip, "-s", "wlc")
	if out := ctlOK("list", "-t", vip); !strings.Contains(out, "TCP  "+vip+" wlc") {
		t.Errorf("scheduler not changed:\n%s", out)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	vip2 := ln.Addr().String()
	ln.Close()
	ctlOK("add-service", "-t", vip2, "-s", "rr", "--name", "second")
	ctlOK("add-server", "-t", vip2, "-r", c.addr)
	resp, err := client.Get("http://" + vip2 + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "C" {
		t.Errorf("second service answered %q", body)
	}
	ctlOK("delete-service", "-t", vip2)
	client.CloseIdleConnections()
	if _, err := client.Get("http://" + vip2 + "/x"); err == nil {
		t.Error("a deleted service still answers")
	}

	// A second director on the same socket is refused.
	err = runLive(context.Background(), nil, io.Discard, nil, liveOptions{ctl: sock})
	if err == nil || !strings.Contains(err.Error(), "another process is serving") {
		t.Errorf("second director on the socket: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("director: %v", err)
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Error("the admin socket outlived the director")
	}
	log := stderr.String()
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
	path := filepath.Join("..", "..", "examples", "l7", "health.yaml")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svcs, err := readServices(path, f)
	if err != nil {
		t.Fatal(err)
	}
	if h := svcs[0].live.health; h == nil || h.Type != "http" || h.OnFailure != "inhibit" {
		t.Errorf("health %+v", h)
	}
	if _, err := svcs[0].build(nil); err != nil {
		t.Fatal(err)
	}
	defer svcs[0].live.host.Close()
	if st := svcs[0].live.host.Health().Status(); len(st) != 2 || st[1].OnFailure != "remove" {
		t.Errorf("checks %+v", st)
	}
}
