package director

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// TestNetnsDirectorLayer4 runs the director with a VS/NAT service from a
// services file in a nat testbed's director namespace (Run on a thread in
// that namespace; its goroutines, such as health checks, would dial from
// the test's namespace, so none is configured): a client's requests
// to the VIP are answered by both real servers, "lvslab ctl" lists the
// service with the core's counters, add-service starts a VS/NAT UDP service
// at run time, and the director stops cleanly.
func TestNetnsDirectorLayer4(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.NAT, Servers: 2})
	vip := netip.AddrPortFrom(tb.Layout.VIP, 80)
	const n = 20 // requests
	var served [2]atomic.Int64
	yml := fmt.Sprintf("services:\n  - name: web\n    listen: %v\n    mode: nat\n    scheduler: rr\n    servers:\n", vip)
	for i, rs := range tb.Layout.Servers() {
		addr := netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), 8080)
		yml += fmt.Sprintf("      - {name: %s, address: %v}\n", rs.Name, addr)
		var ln net.Listener
		if err := tb.Do(rs.Name, func() (err error) {
			ln, err = net.Listen("tcp4", addr.String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served[i].Add(1)
			io.WriteString(w, rs.Name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	svcs, err := ReadServices("s.yaml", strings.NewReader(yml))
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "director.sock")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	go func() {
		done <- tb.Do("dir", func() error {
			return Run(ctx, svcs, &stderr, Options{Ctl: sock, Ready: func(a []string) { ready <- a }})
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("director: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("director did not stop")
		}
		if !strings.Contains(stderr.String(), "web") {
			t.Errorf("director log:\n%s", stderr.String())
		}
		// When it stops, the director logs each real server's counters.
		for _, rs := range tb.Layout.Servers() {
			want := fmt.Sprintf("TCP %v: server %v conns=%d ", vip, netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), 8080), n/2)
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("director log lacks %q:\n%s", want, stderr.String())
			}
		}
	})
	select {
	case addrs := <-ready:
		if len(addrs) != 1 || addrs[0] != vip.String() {
			t.Errorf("ready with %v", addrs)
		}
	case err := <-done:
		t.Fatalf("director stopped: %v\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("director not ready:\n%s", stderr.String())
	}

	for i := range n {
		var body string
		err := tb.Do("cl1", func() error {
			c, err := net.DialTimeout("tcp4", vip.String(), 5*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return err
			}
			b, err := io.ReadAll(resp.Body)
			body = string(b)
			return err
		})
		if err != nil {
			t.Fatalf("request %d: %v\n%s", i, err, stderr.String())
		}
		if body != "rs1" && body != "rs2" {
			t.Fatalf("request %d answered %q", i, body)
		}
	}
	if served[0].Load() != n/2 || served[1].Load() != n/2 {
		t.Errorf("rr: served %d and %d, want %d each", served[0].Load(), served[1].Load(), n/2)
	}
	list, err := admin(sock, ctl.Request{Verb: ctl.VerbList})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Mode != "nat" || list[0].Stats.Conns != n || list[0].Stats.InPkts == 0 || list[0].Stats.OutPkts == 0 ||
		list[0].Servers[0].Forward != "nat" {
		t.Errorf("ctl list: %+v", list)
	}
	// add-service at run time: a UDP service on the same VIP.
	udp := ctl.Key{Proto: ctl.UDP, Addr: netip.AddrPortFrom(tb.Layout.VIP, 53)}
	if _, err := admin(sock, ctl.Request{Verb: ctl.VerbAddService, Service: &ctl.ServiceSpec{Key: udp, Mode: "nat", Scheduler: "rr"}}); err != nil {
		t.Fatal(err)
	}
	rs := netip.AddrPortFrom(tb.Layout.Servers()[0].Ifaces[0].Addr.Addr(), 5353)
	if _, err := admin(sock, ctl.Request{Verb: ctl.VerbAddServer, Service: &ctl.ServiceSpec{Key: udp}, Server: &ctl.ServerSpec{Addr: rs}}); err != nil {
		t.Fatal(err)
	}
	list, err = admin(sock, ctl.Request{Verb: ctl.VerbList})
	if err != nil || len(list) != 2 || list[1].Key != udp || list[1].Servers[0].Addr != rs || list[1].Servers[0].Forward != "nat" {
		t.Errorf("after add-service: %+v, %v", list, err)
	}
}
