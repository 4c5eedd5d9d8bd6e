package director

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

func TestReadServicesErrors(t *testing.T) {
	ok := "    scheduler: wlc\n    servers:\n      - {address: 127.0.0.1:8081}\n"
	tests := []struct{ name, yaml, want string }{
		{"layer-7 key on nat", "services:\n  - listen: 198.18.0.254:80\n    mode: nat\n    rules: r.conf\n" + ok,
			"s.yaml:4: services[0].rules: a layer-7 key; a nat service forwards packets"},
		{"protocol on l7", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    protocol: udp\n" + ok,
			"s.yaml:4: services[0].protocol: only for a layer-4 service"},
		{"bad protocol", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    protocol: sctp\n" + ok,
			"s.yaml:4: services[0].protocol: \"sctp\": want tcp or udp"},
		{"VIP port 0", "services:\n  - listen: 198.18.0.254:0\n    mode: dr\n" + ok,
			"s.yaml:2: services[0].listen: \"198.18.0.254:0\": want the VIP as IPv4 ADDRESS:PORT"},
		{"IPv6 VIP", "services:\n  - listen: \"[::1]:80\"\n    mode: tun\n" + ok,
			"s.yaml:2: services[0].listen: \"[::1]:80\": want the VIP as IPv4"},
		{"bad netmask", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    netmask: 255.0.255.0\n" + ok,
			"s.yaml:4: services[0].netmask: netmask 255.0.255.0: the ones must be contiguous"},
		{"short persistence", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    persistence: 500ms\n" + ok,
			"s.yaml:4: services[0].persistence: 500ms: want 0 (none) or at least 1s"},
		{"server mode on l7", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: rr\n    servers:\n      - {address: 127.0.0.1:1, mode: dr}\n",
			"s.yaml:6: services[0].servers[0].mode: a layer-7 service's servers are proxied"},
		{"unknown server mode", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    scheduler: rr\n    servers:\n      - {address: 198.18.0.11:80, mode: masq2}\n",
			"s.yaml:6: services[0].servers[0].mode: unknown forwarding method \"masq2\""},
		{"dr server on another port", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    scheduler: rr\n    servers:\n      - {address: 198.18.0.11:8080}\n",
			"s.yaml:6: services[0].servers[0].address: 198.18.0.11:8080: a dr server listens on the service's port 80"},
		{"nat server without a port", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    scheduler: rr\n    servers:\n      - {address: 198.18.0.11:0, mode: nat}\n",
			"s.yaml:6: services[0].servers[0].address: 198.18.0.11:0: a nat server needs a port"},
		{"same VIP twice", "services:\n  - listen: 198.18.0.254:80\n    mode: nat\n" + ok + "  - listen: 198.18.0.254:80\n    mode: nat\n" + ok,
			"s.yaml:7: services[1].listen: 198.18.0.254:80 is also the address of services[0]"},
		{"unknown mode", "services:\n  - listen: 127.0.0.1:80\n    mode: l8\n" + ok,
			"s.yaml:3: services[0].mode: unknown mode \"l8\""},
		{"no mode", "services:\n  - listen: 127.0.0.1:80\n" + ok, "s.yaml:2: services[0].mode: missing"},
		{"unknown key", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    bogus: 1\n" + ok,
			"s.yaml:4: unknown key bogus in a service"},
		{"unknown option", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    options: {lowest: 3}\n" + ok,
			"s.yaml:4: services[0].options.lowest: unknown option \"lowest\" (known: seed, low, high"},
		{"old option spelling", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    options:\n      expiry: 3s\n" + ok,
			"s.yaml:5: services[0].options.expiry: unknown option"},
		{"bad option value", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    options: {set_expiry: -1s}\n" + ok,
			"s.yaml:4: services[0].options.set_expiry: \"-1s\": must be >= 0"},
		{"options not a mapping", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    options: [low]\n" + ok,
			"s.yaml:4: services[0].options: want a mapping"},
		{"bad duration", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    timeouts: {client: soon}\n" + ok,
			"s.yaml:4: cannot unmarshal !!str `soon` into time.Duration"},
		{"unknown scheduler", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: fastest\n    servers: [{address: 127.0.0.1:1}]\n",
			"s.yaml:4: services[0].scheduler: unknown scheduler \"fastest\""},
		{"bad address", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: rr\n    servers:\n      - {address: localhost}\n",
			"s.yaml:6: services[0].servers[0].address: \"localhost\" is not ADDRESS:PORT"},
		{"bad weight", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: rr\n    servers:\n      - {address: 127.0.0.1:1, weight: -1}\n",
			"s.yaml:6: services[0].servers[0].weight: -1 is not between"},
		{"no servers", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: rr\n",
			"s.yaml:2: services[0].servers: no servers"},
		{"no listen", "services:\n  - mode: l7\n" + ok, "s.yaml:2: services[0].listen: missing"},
		{"same listen twice", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n" + ok + "  - listen: 127.0.0.1:80\n    mode: l7\n" + ok,
			"s.yaml:7: services[1].listen: 127.0.0.1:80 is also the address of services[0]"},
		{"observe on dr", "services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    health: {observe: layer4}\n    scheduler: rr\n    servers:\n      - {address: 198.18.0.11:80}\n",
			"s.yaml:4: services[0].health: observe layer4 applies to mode l7 only"},
		{"server observe on nat", "services:\n  - listen: 198.18.0.254:80\n    mode: nat\n    scheduler: rr\n    servers:\n      - {address: 198.18.0.11:80, health: {observe: layer4, on_error: mark-down}}\n",
			"s.yaml:6: services[0].servers[0].health: observe layer4 applies to mode l7 only"},
		{"bad on_error", "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    health: {observe: layer4, on_error: panic}\n" + ok,
			"s.yaml:4: services[0].health: on_error \"panic\": want fastinter, fail-check, sudden-death or mark-down"},
		{"empty", "", "s.yaml: empty file"},
		{"no services", "services: []\n", "s.yaml: no services"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadServices("s.yaml", strings.NewReader(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("err %v\nwant prefix %q", err, tc.want)
			}
		})
	}
}

// A layer-4 service's keys: its mode is the servers' default method, a
// server's own overrides it; the same VIP:PORT may serve TCP and UDP.
func TestReadServicesLayer4(t *testing.T) {
	const file = `services:
  - name: web
    listen: 198.18.0.254:80
    mode: dr
    scheduler: wlc
    persistence: 300s
    netmask: 255.255.255.0
    health: {type: tcp, interval: 1s}
    servers:
      - {address: 198.18.0.11:80}
      - {address: 198.18.0.12:0, mode: tun, weight: 3}
      - {address: 198.18.1.13:8080, mode: nat}
  - listen: 198.18.0.254:80
    mode: nat
    protocol: udp
    scheduler: rr
    servers:
      - {address: 198.18.1.11:5353}
`
	svcs, err := ReadServices("s.yaml", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	web, dns := svcs[0], svcs[1]
	if web.Mode != "dr" || web.Proto != "tcp" || web.Persistence != 300*time.Second || web.PersistMask != 24 ||
		!reflect.DeepEqual(web.ServerModes, []string{"", "tun", "nat"}) || web.Servers[1].Weight != 3 || web.Health == nil {
		t.Errorf("web: %+v", web)
	}
	if dns.Mode != "nat" || dns.Proto != "udp" || dns.Persistence != 0 || dns.Name != "198.18.0.254:80" {
		t.Errorf("dns: %+v", dns)
	}
}

func TestParseBackend(t *testing.T) {
	tests := []struct {
		in     string
		addr   string
		weight int
		bad    bool
	}{
		{"127.0.0.1:8081", "127.0.0.1:8081", 1, false},
		{"127.0.0.1:8081:3", "127.0.0.1:8081", 3, false},
		{"[::1]:8081:0", "[::1]:8081", 0, false},
		{"[::1]:8081", "[::1]:8081", 1, false},
		{"127.0.0.1", "", 0, true},
		{"127.0.0.1:8081:x", "", 0, true},
		{"127.0.0.1:8081:-2", "", 0, true},
	}
	for _, tc := range tests {
		srv, err := ParseBackend(tc.in, 0)
		if (err != nil) != tc.bad {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if !tc.bad && (srv.Addr.String() != tc.addr || srv.Weight != tc.weight) {
			t.Errorf("%s: %v weight %d", tc.in, srv.Addr, srv.Weight)
		}
	}
}

// TestServiceOptions checks that a services file spells the scheduler's
// options as the option codec does, lists included.
func TestServiceOptions(t *testing.T) {
	yml := "services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: dflb\n" +
		"    options: {low: 2, high: 4, set_expiry: 30s, inner: wlc, fallback: true, dflb.coefficients: [0, 1, 0, 0, 0, 0], classes: \"cgi=0,1\"}\n" +
		"    servers:\n      - {address: 127.0.0.1:8081}\n      - {address: 127.0.0.1:8082}\n"
	svcs, err := ReadServices("s.yaml", strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	want := algorithms.Options{Low: 2, High: 4, SetExpiry: 30 * time.Second, Inner: "wlc", Fallback: true,
		DFLB:    algorithms.DFLBParams{Coefficients: [6]float64{0, 1, 0, 0, 0, 0}},
		Classes: map[string][]algorithms.ServerID{"cgi": {0, 1}}}
	if got := svcs[0].Options; !reflect.DeepEqual(got, want) {
		t.Errorf("options %+v, want %+v", got, want)
	}
}

// The director runs a services file: content rules send .gif to one back
// end and the rest to the other; on stop it logs the counters.
func TestDirectorEndToEnd(t *testing.T) {
	var addrs []string
	for _, name := range []string{"A", "B"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		addrs = append(addrs, ln.Addr().String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rules.conf"), []byte("rule = images \\.gif$\nrule = "+addrs[0]+" .*\n"), 0o644)
	yml := fmt.Sprintf(`services:
  - name: web
    listen: 127.0.0.1:0
    mode: l7
    scheduler: lblc
    options: {low: 2, high: 4}
    rules: rules.conf
    loops: 2
    timeouts: {client: 2s, connect: 1s, backend: 5s}
    servers:
      - {address: %s}
      - {name: images, address: %s, weight: 2}
`, addrs[0], addrs[1])
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte(yml), 0o644)
	svcs, err := ReadServices(path, strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	addrs, stop := runDirector(t, svcs, Options{}, 5*time.Second)
	vip := addrs[0]
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct{ path, want string }{{"/a.gif", "B /a.gif"}, {"/index.html", "A /index.html"}, {"/b.gif", "B /b.gif"}} {
		resp, err := client.Get("http://" + vip + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, body, tc.want)
		}
	}
	client.CloseIdleConnections()
	log := stop()
	for _, want := range []string{"web: l7 on 127.0.0.1:", "scheduler rules/lblc, 2 servers, 2 listeners", "requests=3 responses=3"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// observe layer4 with on_error mark-down: a back end that refuses
// connections is taken down at the first refusal, well before its checks
// would (every 10 s, fall 3); that request is retried on the other back
// end, and no client sees an error.
func TestDirectorObserve(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	yml := fmt.Sprintf(`services:
  - name: web
    listen: 127.0.0.1:0
    mode: l7
    scheduler: wlc
    health: {interval: 10s, rise: 1, fall: 3, observe: layer4, error_limit: 1, on_error: mark-down}
    servers:
      - {name: dead, address: %s}
      - {name: good, address: %s}
`, dead, strings.TrimPrefix(srv.URL, "http://"))
	svcs, err := ReadServices("s.yaml", strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	addrs, stop := runDirector(t, svcs, Options{}, 5*time.Second)
	vip := addrs[0]
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		resp, err := client.Get("http://" + vip + "/x")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	log := stop()
	for _, want := range []string{
		"web: health: " + dead + " is DOWN after 1 consecutive errors on live traffic (",
		"; on_error mark-down); marked down",
		"requests=20 responses=20",
		"retried=1 connect_failed=1",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// runDirector runs svcs with o until the director is ready (at most
// wait) and returns its listen addresses and stop, which ends it, fails
// the test if it stopped with an error, and returns its log.
func runDirector(t *testing.T, svcs []Service, o Options, wait time.Duration) (addrs []string, stop func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var stderr syncBuffer
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	o.Ready = func(a []string) { ready <- a }
	go func() { done <- Run(ctx, svcs, &stderr, o) }()
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("director stopped: %v\n%s", err, stderr.String())
	case <-time.After(wait):
		t.Fatal("director not ready")
	}
	return addrs, func() string {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("director: %v", err)
		}
		return stderr.String()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The example services file of the README parses, and its rules resolve.
func TestDirectorExample(t *testing.T) {
	svcs, err := ReadServicesFile(filepath.Join("..", "..", "examples", "l7", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range svcs {
		sw, host, err := svcs[i].Build(nil)
		if err != nil {
			t.Fatal(err)
		}
		host.Close()
		if got := sw.Service().Scheduler(); got != "rules/lblc" {
			t.Errorf("scheduler %q", got)
		}
	}
}

// The layer-4 examples read, each with its mode.
func TestDirectorLayer4Examples(t *testing.T) {
	for _, mode := range []string{"nat", "dr", "tun"} {
		svcs, err := ReadServicesFile(filepath.Join("..", "..", "examples", "l4", mode+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(svcs) != 1 || svcs[0].Mode != mode || svcs[0].Listen != "198.18.0.254:80" || len(svcs[0].Servers) < 2 {
			t.Errorf("%s.yaml: %+v", mode, svcs)
		}
	}
}

// FuzzReadServices checks that no services file makes the reader panic,
// that its errors name the file, and that what it accepts has servers and
// a known scheduler.
func FuzzReadServices(f *testing.F) {
	f.Add("services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: lblc\n    options: {low: 2, set_expiry: 1s}\n    servers: [{address: 127.0.0.1:1}]\n")
	f.Add("services:\n  - listen: 127.0.0.1:80\n    mode: l7\n    scheduler: dflb\n    options: {dflb.coefficients: [0, 1, 0, 0, 0, 0], classes: [a]}\n    servers: [{address: 127.0.0.1:1, weight: 3}]\n")
	f.Add("services: [{options: {a: {b: c}}}]\n")
	f.Add("services:\n  - listen: 198.18.0.254:80\n    mode: dr\n    protocol: udp\n    scheduler: sh\n    persistence: 30s\n    netmask: 255.255.0.0\n    servers: [{address: 198.18.0.11:0, mode: tun}, {address: 198.18.1.2:8080, mode: nat}]\n")
	f.Fuzz(func(t *testing.T, s string) {
		svcs, err := ReadServices("f.yaml", strings.NewReader(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, svc := range svcs {
			if len(svc.Servers) == 0 {
				t.Errorf("accepted a service without servers: %+v", svc)
			}
			if _, ok := algorithms.Lookup(svc.Alg); !ok {
				t.Errorf("accepted scheduler %q", svc.Alg)
			}
		}
	})
}
