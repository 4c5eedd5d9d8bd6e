package live_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/live"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// xdpAttached reports whether the director's interface has an XDP program.
func xdpAttached(t *testing.T, tb *testbed.Testbed) bool {
	t.Helper()
	var on bool
	err := tb.Do("dir", func() error {
		l, err := netlink.LinkByName(tb.Layout.Director().Ifaces[0].Name)
		if err != nil {
			return err
		}
		on = l.Attrs().Xdp != nil && l.Attrs().Xdp.Attached
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return on
}

// TestNetnsXDP forwards DR connections with the XDP fast path: the
// director schedules every connection (round robin, its counters), the
// program forwards the established connections' packets (the fast path's
// counters, folded into the service's), the director still sees every
// close (no connection left ESTABLISHED nor installed), and closing the
// director detaches the program.
func TestNetnsXDP(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.DR, Servers: 2, XDPPeer: true})
	servers := map[string]*realServer{}
	for _, rs := range tb.Layout.Servers() {
		servers[rs.Name] = startServer(t, tb, rs.Name, listenAddr(tb, rs, l4.DR))
	}
	dr := startDirectorConfig(t, tb, live.Config{XDP: live.XDPOn}, service(tb, l4.DR, "rr"))
	for _, l := range dr.d.Links() {
		if !l.XDP {
			t.Fatalf("%s: no XDP fast path", l.Name)
		}
	}
	if !xdpAttached(t, tb) {
		t.Fatal("no XDP program on the director's interface")
	}
	dial := nsDialer(t, tb, "cl1")
	vip := netip.AddrPortFrom(tb.Layout.VIP, 80)
	const conns, perConn = 10, 20
	byServer := map[string]int{}
	for i := range conns {
		name, err := get(context.Background(), dial, vip, perConn)
		if err != nil {
			t.Fatalf("connection %d: %v (drops %v, fast %+v)", i, err, drops(dr.d.Core().Stats()), dr.d.Core().Stats().Fast)
		}
		byServer[name]++
	}
	for name, rs := range servers {
		if byServer[name] != conns/2 || rs.served.Load() != conns/2*perConn {
			t.Errorf("%s: %d connections, %d requests; want %d, %d (rr)", name, byServer[name], rs.served.Load(), conns/2, conns/2*perConn)
		}
	}
	st := quiet(dr.d)
	ss := st.Services[0]
	if ss.Conns != conns {
		t.Errorf("the director scheduled %d connections, want %d", ss.Conns, conns)
	}
	f := st.Fast
	t.Logf("fast path %+v; service in packets %d", f, ss.InPkts)
	if f.Installed != conns || f.Removed != conns || f.Evicted != 0 || f.Errors != 0 {
		t.Errorf("fast path %+v: want %d installed and removed, none evicted, no errors", f, conns)
	}
	// Each keep-alive connection sends 20 requests, each but the first
	// after a response, so long after the entry was installed: at least
	// 19 of its packets bypass the director.
	if f.Packets < conns*(perConn-1) || f.Packets > ss.InPkts {
		t.Errorf("fast path forwarded %d packets of the service's %d, want at least %d", f.Packets, ss.InPkts, conns*(perConn-1))
	}
	if st.Established != 0 {
		t.Errorf("%d connections still ESTABLISHED after the clients closed", st.Established)
	}
	for _, s := range ss.Servers {
		if s.Active != 0 || s.Conns != conns/2 {
			t.Errorf("server %v: %d active, %d connections", s.Addr, s.Active, s.Conns)
		}
	}
	if n := st.TotalDrops(); n != 0 {
		t.Errorf("drops: %v", drops(st))
	}
	if err := dr.d.Close(); err != nil {
		t.Fatal(err)
	}
	if xdpAttached(t, tb) {
		t.Error("the XDP program is still attached after the director closed")
	}
}

// TestNetnsXDPFallback: where the program cannot attach (here: another one
// holds the interface), auto logs it and forwards in user space, and on
// fails.
func TestNetnsXDPFallback(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.DR, Servers: 1})
	var first *live.Director
	if err := tb.Do("dir", func() (err error) {
		first, err = live.Open(live.Config{XDP: live.XDPOn})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	var mu sync.Mutex
	var logs []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(format, args...))
	}
	var second *live.Director
	if err := tb.Do("dir", func() (err error) {
		second, err = live.Open(live.Config{XDP: live.XDPAuto, Options: live.Options{Logf: logf}})
		return err
	}); err != nil {
		t.Fatalf("auto: %v", err)
	}
	defer second.Close()
	if second.Links()[0].XDP {
		t.Error("auto: attached where another program is")
	}
	mu.Lock()
	if len(logs) != 1 || !strings.Contains(logs[0], "no XDP fast path") {
		t.Errorf("auto logged %q, want one line saying there is no XDP fast path", logs)
	}
	mu.Unlock()
	err := tb.Do("dir", func() error {
		d, err := live.Open(live.Config{XDP: live.XDPOn})
		if err == nil {
			d.Close()
		}
		return err
	})
	if err == nil {
		t.Error("on: opened without a fast path")
	}
}
