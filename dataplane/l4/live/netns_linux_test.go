package live_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/health"
	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/live"
	"github.com/lvslab/lvslab/dataplane/tunnel"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// Privileged tests are named TestNetns*: scripts/test.sh fails when one of
// them skips while running as root.

// nsDialer returns a dial function whose sockets are made in node's
// namespace: one goroutine, locked on a thread that joined the namespace
// (testbed.Do), makes every connection in turn. It stops at the test's
// end.
func nsDialer(t *testing.T, tb *testbed.Testbed, node string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	t.Helper()
	type req struct {
		ctx           context.Context
		network, addr string
		reply         chan dialed
	}
	reqs := make(chan req)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		err := tb.Do(node, func() error {
			var d net.Dialer
			for r := range reqs {
				c, err := d.DialContext(r.ctx, r.network, r.addr)
				r.reply <- dialed{c, err}
			}
			return nil
		})
		if err != nil {
			t.Errorf("dialer in %s: %v", node, err)
		}
	}()
	t.Cleanup(func() { close(reqs); <-stopped })
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		r := req{ctx, network, addr, make(chan dialed, 1)}
		select {
		case reqs <- r:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-stopped:
			return nil, errors.New("dialer stopped")
		}
		d := <-r.reply
		return d.c, d.err
	}
}

type dialed struct {
	c   net.Conn
	err error
}

// realServer is a small HTTP server in a real server's namespace: it
// answers every request with its name.
type realServer struct {
	name   string
	served atomic.Int64
	srv    *http.Server
	lns    []net.Listener
}

func startServer(t *testing.T, tb *testbed.Testbed, node string, addrs ...netip.AddrPort) *realServer {
	t.Helper()
	rs := &realServer{name: node}
	rs.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.served.Add(1)
		io.WriteString(w, rs.name+"\n"+strings.Repeat("x", 1000))
	}), ReadHeaderTimeout: 10 * time.Second}
	err := tb.Do(node, func() error {
		for _, a := range addrs {
			ln, err := net.Listen("tcp4", a.String())
			if err != nil {
				return err
			}
			rs.lns = append(rs.lns, ln)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range rs.lns {
		go rs.srv.Serve(ln)
	}
	t.Cleanup(func() { rs.srv.Close() })
	return rs
}

// stopListening closes the server's listeners: new connections are
// refused, those it has go on.
func (rs *realServer) stopListening() {
	for _, ln := range rs.lns {
		ln.Close()
	}
}

// director runs the layer-4 director in the testbed's director namespace.
type director struct {
	d     *live.Director
	table *ctl.Table
	skew  atomic.Int64 // added to the clock: lets the tests jump past timeouts
	done  chan error
}

func (dr *director) now() time.Time { return time.Now().Add(time.Duration(dr.skew.Load())) }

func startDirector(t *testing.T, tb *testbed.Testbed, svcs ...live.ServiceConfig) *director {
	t.Helper()
	return startDirectorConfig(t, tb, live.Config{}, svcs...)
}

// startDirectorConfig is startDirector with cfg's settings (its Options
// are the test's).
func startDirectorConfig(t *testing.T, tb *testbed.Testbed, cfg live.Config, svcs ...live.ServiceConfig) *director {
	t.Helper()
	dr := &director{done: make(chan error, 1)}
	cfg.Options = live.Options{Now: dr.now, Dial: nsDialer(t, tb, "dir"), Logf: t.Logf}
	err := tb.Do("dir", func() (err error) {
		dr.d, err = live.Open(cfg) // every interface of the director unless cfg names them
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dr.table = ctl.NewTable(ctl.TableConfig{Add: dr.d.Factory(algorithms.Options{}), Now: dr.now})
	for _, c := range svcs {
		s, err := dr.d.AddService(c)
		if err != nil {
			dr.d.Close()
			t.Fatal(err)
		}
		if err := dr.table.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { dr.done <- dr.d.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := dr.d.WaitResolved(wctx); err != nil {
		t.Error(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-dr.done:
			if err != nil {
				t.Errorf("director: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("director did not stop")
		}
		_ = dr.table.Close(context.Background())
	})
	return dr
}

// get makes n HTTP requests on one connection to addr (keep-alive when n >
// 1, else HTTP/1.0) and returns the name of the server that answered.
func get(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr netip.AddrPort, n int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := dial(ctx, "tcp4", addr.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	br := bufio.NewReader(c)
	name := ""
	for i := range n {
		req := "GET /obj HTTP/1.0\r\nHost: vip\r\n\r\n"
		if n > 1 {
			req = "GET /obj HTTP/1.1\r\nHost: vip\r\n\r\n"
		}
		if _, err := io.WriteString(c, req); err != nil {
			return name, fmt.Errorf("request %d: %w", i, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return name, fmt.Errorf("request %d: %w", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(body) < 1000 {
			return name, fmt.Errorf("request %d: status %d, %d bytes, %v", i, resp.StatusCode, len(body), err)
		}
		got, _, _ := strings.Cut(string(body), "\n")
		if name != "" && got != name {
			return name, fmt.Errorf("request %d answered by %s, the connection's first by %s", i, got, name)
		}
		name = got
	}
	return name, nil
}

// service returns a TCP service on the testbed's VIP, port 80, with the
// testbed's real servers (by method; NAT servers on port 8080).
func service(tb *testbed.Testbed, m l4.Method, alg string) live.ServiceConfig {
	vip := netip.AddrPortFrom(tb.Layout.VIP, 80)
	c := live.ServiceConfig{Key: l4.ServiceKey{Proto: l4.TCP, VIP: vip}, Scheduler: alg, Method: m}
	for _, rs := range tb.Layout.Servers() {
		port := uint16(0)
		if m == l4.NAT {
			port = 8080
		}
		c.Servers = append(c.Servers, ctl.ServerSpec{Name: rs.Name, Addr: netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), port)})
	}
	return c
}

// listenAddr is where real server rs listens for method m: its own
// address (NAT, port 8080) or the VIP (DR, TUN).
func listenAddr(tb *testbed.Testbed, rs testbed.Node, m l4.Method) netip.AddrPort {
	if m == l4.NAT {
		return netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), 8080)
	}
	return netip.AddrPortFrom(tb.Layout.VIP, 80)
}

// TestNetnsForwarding runs the director in each testbed mode and makes
// HTTP/1.0 and keep-alive requests to the VIP from a client namespace:
// every request succeeds, round robin spreads the connections evenly,
// the director's counters and "lvslab ctl list" agree with what the
// client and the servers saw, and the connection table drains when its
// timeouts pass.
func TestNetnsForwarding(t *testing.T) {
	for _, m := range []l4.Method{l4.NAT, l4.DR, l4.TUN} {
		t.Run(m.String(), func(t *testing.T) { testForwarding(t, m) })
	}
}

func testForwarding(t *testing.T, m l4.Method) {
	mode := map[l4.Method]testbed.Mode{l4.NAT: testbed.NAT, l4.DR: testbed.DR, l4.TUN: testbed.TUN}[m]
	tb := testbedtest.Up(t, testbed.Topology{Mode: mode, Servers: 2})
	servers := map[string]*realServer{}
	for _, rs := range tb.Layout.Servers() {
		servers[rs.Name] = startServer(t, tb, rs.Name, listenAddr(tb, rs, m))
		if m == l4.TUN {
			var agent *tunnel.Agent
			if err := tb.Do(rs.Name, func() (err error) {
				agent, err = tunnel.Start(tunnel.Config{VIPs: []netip.Addr{tb.Layout.VIP}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			go agent.Run()
			t.Cleanup(func() { agent.Close() })
		}
	}
	dr := startDirector(t, tb, service(tb, m, "rr"))
	var names []string
	for _, l := range dr.d.Links() {
		names = append(names, l.Name)
	}
	if want := len(tb.Layout.Director().Ifaces); len(names) != want {
		t.Errorf("the director opened %v, want its %d interfaces", names, want)
	}
	dial := nsDialer(t, tb, "cl1")
	vip := netip.AddrPortFrom(tb.Layout.VIP, 80)

	const http10, keepAlive, perConn = 40, 10, 5
	byServer := map[string]int{}
	ctx := context.Background()
	for i := range http10 + keepAlive {
		n := 1
		if i >= http10 {
			n = perConn
		}
		name, err := get(ctx, dial, vip, n)
		if err != nil {
			st := dr.d.Core().Stats()
			t.Fatalf("connection %d: %v (drops %v)", i, err, drops(st))
		}
		byServer[name]++
	}
	conns := http10 + keepAlive
	for name, rs := range servers {
		if byServer[name] != conns/2 {
			t.Errorf("%s got %d connections, want %d (rr): %v", name, byServer[name], conns/2, byServer)
		}
		if got, want := rs.served.Load(), int64(http10/2+keepAlive/2*perConn); got != want {
			t.Errorf("%s served %d requests, want %d", name, got, want)
		}
	}

	// The director's counters and ctl's listing agree with them, once the
	// last segments (the connections' closing) have passed.
	st := quiet(dr.d)
	if len(st.Services) != 1 {
		t.Fatalf("%d services", len(st.Services))
	}
	ss := st.Services[0]
	if ss.Conns != uint64(conns) || ss.InPkts == 0 || (m == l4.NAT) != (ss.OutPkts > 0) {
		t.Errorf("service counters %+v (method %v)", ss.Counters, m)
	}
	if n := st.TotalDrops(); n != 0 {
		t.Errorf("drops: %v", drops(st))
	}
	resp := dr.table.Handle(ctx, ctl.Request{Verb: ctl.VerbList})
	if resp.Error != "" || len(resp.Services) != 1 {
		t.Fatalf("ctl list: %+v", resp)
	}
	info := resp.Services[0]
	if info.Stats.Conns != ss.Conns || info.Stats.InPkts != ss.InPkts || info.Stats.OutPkts != ss.OutPkts ||
		info.Stats.InBytes != ss.InBytes || info.Stats.OutBytes != ss.OutBytes || info.Mode != m.String() {
		t.Errorf("ctl list %+v, core %+v", info, ss)
	}
	for i, s := range info.Servers {
		c := ss.Servers[i]
		if s.Addr != c.Addr || s.Stats.Conns != uint64(conns/2) || s.Stats.Conns != c.Conns || s.Stats.InPkts != c.InPkts ||
			s.Forward != m.String() {
			t.Errorf("ctl server %+v, core %+v", s, c)
		}
	}
	var out strings.Builder
	if err := ctl.WriteList(&out, resp.Services, ctl.Format{Stats: true}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%-33s%9d", "TCP  "+vip.String(), conns); !strings.Contains(out.String(), want) {
		t.Errorf("ctl list --stats:\n%s\nwant a line starting %q", out.String(), want)
	}
	t.Logf("ctl list --stats:\n%s", out.String())

	// Past every timeout, the table is empty and the pool counts nothing.
	if st.Entries == 0 {
		t.Error("no connection entries right after the requests")
	}
	dr.skew.Add(int64(time.Hour))
	dr.d.Core().Tick(dr.now())
	st = dr.d.Core().Stats()
	if st.Entries != 0 {
		t.Errorf("%d entries an hour later", st.Entries)
	}
	for _, s := range st.Services[0].Servers {
		if s.Active != 0 || s.Inactive != 0 {
			t.Errorf("%v: active %d inactive %d an hour later", s.Addr, s.Active, s.Inactive)
		}
	}
}

// quiet waits (at most 5 s) until no packet has passed the director for
// 250 ms and returns its stats. The pause is long against the closing
// segments of the last connections (microseconds apart on veth), so that a
// director or client held off the CPU on a loaded machine is not taken
// for one that has finished.
func quiet(d *live.Director) l4.Stats {
	st := d.Core().Stats()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		next := d.Core().Stats()
		if next.Services[0].Counters == st.Services[0].Counters {
			return next
		}
		st = next
	}
	return st
}

func drops(st l4.Stats) map[string]uint64 {
	m := map[string]uint64{}
	for i, v := range st.Drops {
		if v > 0 {
			m[l4.Drop(i).String()] = v
		}
	}
	return m
}

// TestNetnsUDP forwards a UDP service by NAT: each datagram from a new
// client port is a connection, scheduled round robin, and the echo comes
// back from the VIP (a connected socket accepts nothing else).
func TestNetnsUDP(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.NAT, Servers: 2})
	for _, rs := range tb.Layout.Servers() {
		var pc net.PacketConn
		if err := tb.Do(rs.Name, func() (err error) {
			pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), 5353).String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go func(name string) {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(append([]byte(name+":"), buf[:n]...), from)
			}
		}(rs.Name)
	}
	vip := netip.AddrPortFrom(tb.Layout.VIP, 5353)
	c := live.ServiceConfig{Key: l4.ServiceKey{Proto: l4.UDP, VIP: vip}, Scheduler: "rr", Method: l4.NAT}
	for _, rs := range tb.Layout.Servers() {
		c.Servers = append(c.Servers, ctl.ServerSpec{Addr: netip.AddrPortFrom(rs.Ifaces[0].Addr.Addr(), 5353)})
	}
	dr := startDirector(t, tb, c)
	const n = 20
	by := map[string]int{}
	for i := range n {
		// Each datagram from its own client port: an ephemeral port is
		// drawn at random for each UDP socket, and two of 20 draws from
		// the ~28,000 ports are the same about once in 150 runs; that
		// datagram then joins the earlier one's connection (same
		// addresses and ports) and round robin is one short.
		var conn net.Conn
		if err := tb.Do("cl1", func() (err error) {
			conn, err = net.DialUDP("udp4", &net.UDPAddr{Port: 20000 + i}, net.UDPAddrFromAddrPort(vip))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		msg := fmt.Sprintf("ping %d", i)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		k, err := conn.Read(buf)
		conn.Close()
		if err != nil {
			t.Fatalf("datagram %d: %v (drops %v)", i, err, drops(dr.d.Core().Stats()))
		}
		name, echo, _ := strings.Cut(string(buf[:k]), ":")
		if echo != msg {
			t.Fatalf("echo %q, want %q", buf[:k], msg)
		}
		by[name]++
	}
	if len(by) != 2 || by["rs1"] != n/2 || by["rs2"] != n/2 {
		t.Errorf("datagrams by server %v, want %d each", by, n/2)
	}
	ss := dr.d.Core().Stats().Services[0]
	if ss.Conns != n || ss.InPkts != n || ss.OutPkts != n {
		t.Errorf("counters %+v", ss.Counters)
	}
	for _, s := range ss.Servers {
		if s.Active != 0 || s.Inactive != n/2 { // UDP connections stay inactive
			t.Errorf("%v: active %d inactive %d", s.Addr, s.Active, s.Inactive)
		}
	}
	dr.skew.Add(int64(301 * time.Second)) // UDP's 300 s
	dr.d.Core().Tick(dr.now())
	if st := dr.d.Core().Stats(); st.Entries != 0 || st.Services[0].Servers[0].Inactive != 0 {
		t.Errorf("after the UDP timeout: %d entries", st.Entries)
	}
}

// TestNetnsServerFailure kills one real server's listener while clients
// load the service: the health check takes it out, new connections go to
// the other, keep-alive connections to the other go on, and every request
// is accounted for: answered, or refused by the dead server before the
// check noticed.
func TestNetnsServerFailure(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.NAT, Servers: 2})
	servers := map[string]*realServer{}
	for _, rs := range tb.Layout.Servers() {
		servers[rs.Name] = startServer(t, tb, rs.Name, listenAddr(tb, rs, l4.NAT))
	}
	c := service(tb, l4.NAT, "wlc")
	c.Health = &health.Config{Type: health.TypeTCP, Interval: 100 * time.Millisecond, Timeout: 500 * time.Millisecond, Rise: 1, Fall: 2}
	dr := startDirector(t, tb, c)
	dial := nsDialer(t, tb, "cl1")
	vip := netip.AddrPortFrom(tb.Layout.VIP, 80)
	ctx := context.Background()

	// Keep-alive connections opened before the failure, on both servers.
	type kaConn struct {
		c    net.Conn
		br   *bufio.Reader
		name string
	}
	var kas []*kaConn
	for range 4 {
		conn, err := dial(ctx, "tcp4", vip.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		k := &kaConn{c: conn, br: bufio.NewReader(conn)}
		if k.name, err = kaGet(k.c, k.br); err != nil {
			t.Fatal(err)
		}
		kas = append(kas, k)
	}

	var ok, refused, other atomic.Int64
	var otherErrs sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const workers = 4
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := get(ctx, dial, vip, 1)
				switch {
				case err == nil:
					ok.Add(1)
				case isRefused(err):
					refused.Add(1)
				default:
					other.Add(1)
					otherErrs.Store(err.Error(), true)
				}
			}
		})
	}
	rs2 := func() uint64 { // connections the director sent to rs2
		c, _ := dr.d.Core().ServerCounters(c.Key, 1)
		return c.Conns
	}
	time.Sleep(500 * time.Millisecond)
	atKill := rs2()
	servers["rs2"].stopListening()
	killed := time.Now()
	var downAfter time.Duration
	for time.Since(killed) < 5*time.Second && downAfter == 0 {
		for _, s := range dr.table.Handle(ctx, ctl.Request{Verb: ctl.VerbList}).Services[0].Servers {
			if s.Name == "rs2" && s.Health != nil && !s.Health.Up && s.Down {
				downAfter = time.Since(killed)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if downAfter == 0 {
		t.Fatal("the health check did not take rs2 out within 5 s")
	}
	atDown := rs2()
	time.Sleep(700 * time.Millisecond) // load on the survivor alone
	close(stop)
	wg.Wait()
	t.Logf("rs2 down %v after its listener closed, %d connections to it meanwhile; %d answered, %d refused, %d other",
		downAfter.Round(time.Millisecond), atDown-atKill, ok.Load(), refused.Load(), other.Load())

	if other.Load() != 0 {
		otherErrs.Range(func(k, _ any) bool { t.Errorf("unexpected failure: %v", k); return true })
	}
	if n := rs2() - atDown; n != 0 {
		t.Errorf("%d connections went to rs2 after it was taken out", n)
	}
	// Each refused connection went to rs2 after its listener closed, or
	// was on its way there then (one per client goroutine at most).
	if r := uint64(refused.Load()); r > atDown-atKill+workers {
		t.Errorf("%d connections refused, more than the %d sent to rs2 after its listener closed (+%d in flight)", r, atDown-atKill, workers)
	}
	issued := ok.Load() + refused.Load() + other.Load()
	st := dr.d.Core().Stats().Services[0]
	if served := servers["rs1"].served.Load() + servers["rs2"].served.Load() - 4; served != ok.Load() {
		t.Errorf("servers answered %d requests, clients got %d answers", served, ok.Load())
	}
	if st.Conns != uint64(issued)+4 {
		t.Errorf("the director scheduled %d connections, clients made %d", st.Conns, issued+4)
	}
	// The keep-alive connections to the survivor go on.
	for _, k := range kas {
		if k.name != "rs1" {
			continue
		}
		if name, err := kaGet(k.c, k.br); err != nil || name != "rs1" {
			t.Errorf("keep-alive connection to rs1 after the failure: %q, %v", name, err)
		}
	}
}

func kaGet(c net.Conn, br *bufio.Reader) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /obj HTTP/1.1\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	name, _, _ := strings.Cut(string(body), "\n")
	return name, err
}

func isRefused(err error) bool {
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset")
}
