package l4

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

// Run moves frames between two links (clients on one, NAT real servers on
// the other), runs the timers every second of (fake) time, and returns
// when its context ends, closing the links.
func TestRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		front := link.NewMem(net.HardwareAddr(dirMAC[:]), 1500)
		backMAC := packettest.MAC(2)
		back := link.NewMem(net.HardwareAddr(backMAC[:]), 1500)
		mac := rsMAC(0)
		nb := StaticNeighbors{rsAddr(0): {Port: 1, MAC: net.HardwareAddr(mac[:])}}
		d, err := New(Config{Ports: []Port{{Link: front, Addr: dirAddr}, {Link: back}}, Neighbors: nb})
		if err != nil {
			t.Fatal(err)
		}
		sched, _ := algorithms.New("wlc", algorithms.Options{})
		if err := d.AddService(ServiceConfig{Key: tcpKey, Scheduler: sched}); err != nil {
			t.Fatal(err)
		}
		if err := d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 1, Addr: netip.AddrPortFrom(rsAddr(0), 8080), Weight: 1}, Method: NAT}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- d.Run(ctx) }()

		front.Inject(link.Frame{Data: fromClient(client, syn, 1, "")})
		synctest.Wait()
		out := back.Sent()
		if len(out) != 1 || packettest.Verify(out[0].Data) != nil || [6]byte(out[0].Data[6:12]) != backMAC {
			t.Fatalf("back link got %d frames", len(out))
		}
		reply := packettest.Frame(packettest.Spec{DstMAC: backMAC, SrcMAC: mac, Src: netip.AddrPortFrom(rsAddr(0), 8080), Dst: client,
			Proto: 6, Flags: packet.SYN | packet.ACK})
		back.Inject(link.Frame{Data: reply})
		synctest.Wait()
		if out = front.Sent(); len(out) != 1 || [6]byte(out[0].Data[0:6]) != clientMAC {
			t.Fatalf("front link got %d frames", len(out))
		}
		// nothing more arrives: the ticker expires the SYN_RECV entry after 60 s
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if st := d.Stats(); st.Entries != 0 {
			t.Fatalf("%d entries after 61 s", st.Entries)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := front.Recv(make([]link.Frame, 1)); !errors.Is(err, link.ErrClosed) {
			t.Error("links left open")
		}
	})
}

// A link that fails stops Run with the error.
func TestRunLinkError(t *testing.T) {
	l := link.NewMem(net.HardwareAddr(dirMAC[:]), 1500)
	d, err := New(Config{Ports: []Port{{Link: l}}, Neighbors: StaticNeighbors{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- d.Run(context.Background()) }()
	l.Close()
	if err := <-done; !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Run = %v, want ErrClosed", err)
	}
}

// The rates follow ip_vs_est.c: every 2 s, avg += (rate - avg)/4, in its
// fixed point; a steady rate is approached geometrically.
func TestRates(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	// 10 connections and 10 packets of 40 bytes per second for 60 s
	n := 0
	for range 60 {
		for range 10 {
			b.one(fromClient(clientN(n), syn, 1, ""))
			n++
		}
		b.advance(time.Second)
	}
	r := b.d.Stats().Services[0].Rates
	if r.CPS != 10 || r.InPPS != 10 || r.InBPS != 400 || r.OutPPS != 0 {
		t.Errorf("steady rates %+v, want 10 cps, 10 pps, 400 Bps", r)
	}
	// one 2 s period after the traffic stops: 3/4 of it is left, and
	// ip_vs_read_estimator's +0x1FF rounds 7.5 down
	b.advance(2 * time.Second)
	if r = b.d.Stats().Services[0].Rates; r.CPS != 7 || r.InBPS != 300 {
		t.Errorf("after 2 idle seconds %+v, want 7 cps and 300 Bps", r)
	}
	b.d.Zero()
	st := b.d.Stats()
	if st.Services[0].Counters != (Counters{}) || st.Services[0].Rates != (Rates{}) || st.Services[0].Servers[0].Counters != (Counters{}) {
		t.Errorf("after Zero: %+v", st.Services[0])
	}
	if st.Entries == 0 {
		t.Error("Zero cleared connections")
	}
}

// The management interface refuses what ipvsadm refuses, with errors that
// name the service or server.
func TestManagement(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	wrr, _ := algorithms.New("wrr", algorithms.Options{})
	bad := []struct {
		name string
		err  error
	}{
		{"duplicate service", b.d.AddService(ServiceConfig{Key: tcpKey, Scheduler: wrr})},
		{"no scheduler", b.d.AddService(ServiceConfig{Key: udpKey})},
		{"port 0", b.d.AddService(ServiceConfig{Key: ServiceKey{Proto: TCP, VIP: netip.MustParseAddrPort("1.2.3.4:0")}, Scheduler: wrr})},
		{"ipv6", b.d.AddService(ServiceConfig{Key: ServiceKey{Proto: TCP, VIP: netip.MustParseAddrPort("[::1]:80")}, Scheduler: wrr})},
		{"sctp", b.d.AddService(ServiceConfig{Key: ServiceKey{Proto: 132, VIP: vip}, Scheduler: wrr})},
		{"mask 33", b.d.AddService(ServiceConfig{Key: udpKey, Scheduler: wrr, PersistMask: 33})},
		{"persistence below 1 s", b.d.AddService(ServiceConfig{Key: udpKey, Scheduler: wrr, Persistence: time.Millisecond})},
		{"edit missing", b.d.EditService(ServiceConfig{Key: udpKey, Scheduler: wrr})},
		{"delete missing", b.d.DeleteService(udpKey)},
		{"server, duplicate id", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 0, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: 1}, Method: DR})},
		{"server, duplicate address", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(0), 0), Weight: 1}, Method: DR})},
		{"server, dr port mapping", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 8080), Weight: 1}, Method: DR})},
		{"server, nat without port", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: 1}, Method: NAT})},
		{"server, no method", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: 1}})},
		{"server, negative weight", b.d.AddServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: -1}, Method: DR})},
		{"server, no service", b.d.AddServer(udpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: 1}, Method: DR})},
		{"edit missing server", b.d.EditServer(tcpKey, RealServer{Server: dataplane.Server{ID: 9, Addr: netip.AddrPortFrom(rsAddr(5), 0), Weight: 1}, Method: DR})},
	}
	for _, c := range bad {
		if c.err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if err := b.d.EditService(ServiceConfig{Key: tcpKey, Scheduler: wrr, Persistence: time.Minute}); err != nil {
		t.Fatal(err)
	}
	st := b.d.Stats().Services[0]
	if st.Scheduler != "wrr" || st.Persistence != time.Minute || st.PersistMask != 32 || st.Servers[0].Method != DR || !st.Servers[0].Resolved {
		t.Errorf("after edit %+v", st)
	}
	if keys := b.d.Services(); len(keys) != 1 || keys[0] != tcpKey {
		t.Errorf("services %v", keys)
	}
	if err := b.d.DeleteService(tcpKey); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.d.Service(tcpKey); ok {
		t.Error("deleted service still there")
	}
	// the VIP is no longer answered for
	b.send(fromClient(client, syn, 1, ""))
	if b.d.Stats().Passes[PassNotOurs] != 1 {
		t.Error("deleted VIP still handled")
	}
	for _, s := range []string{"nat", "Masq", "tun", "ipip", "dr", "route"} {
		if _, err := ParseMethod(s); err != nil {
			t.Errorf("ParseMethod(%q): %v", s, err)
		}
	}
	if _, err := ParseMethod("fast"); err == nil {
		t.Error("ParseMethod accepted fast")
	}
	if p, err := ParseProtocol("UDP"); p != UDP || err != nil {
		t.Error("ParseProtocol")
	}
	if NAT.Forward() != "Masq" || TUN.Forward() != "Tunnel" || DR.Forward() != "Route" {
		t.Error("Forward names")
	}
}

func TestNewErrors(t *testing.T) {
	l := link.NewMem(net.HardwareAddr(dirMAC[:]), 1500)
	bad := []Config{
		{},
		{Ports: []Port{{Link: l}}},
		{Ports: []Port{{}}, Neighbors: StaticNeighbors{}},
		{Ports: []Port{{Link: l, Addr: netip.MustParseAddr("::1")}}, Neighbors: StaticNeighbors{}},
		{Ports: []Port{{Link: link.NewMem(net.HardwareAddr{1}, 1500)}}, Neighbors: StaticNeighbors{}},
		{Ports: []Port{{Link: link.NewMem(net.HardwareAddr(dirMAC[:]), 60)}}, Neighbors: StaticNeighbors{}},
		{Ports: []Port{{Link: l}}, Neighbors: StaticNeighbors{}, MaxConns: -1},
		{Ports: []Port{{Link: l}}, Neighbors: StaticNeighbors{}, Timeouts: Timeouts{Established: -time.Second}},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	d, err := New(Config{Ports: []Port{{Link: l}}, Neighbors: StaticNeighbors{}, Timeouts: Timeouts{Established: 1500 * time.Millisecond}})
	if err != nil || d.timeouts[1] != 2 {
		t.Errorf("timeout rounding: %v %v", d.timeouts[1], err)
	}
}
