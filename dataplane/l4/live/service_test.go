package live

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/health"
	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
	"github.com/lvslab/lvslab/dataplane/monitor"
)

var (
	dirMAC    = packettest.MAC(1)
	clientMAC = packettest.MAC(0x10)
	vip       = netip.MustParseAddrPort("198.18.0.254:80")
)

func rsAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, byte(11 + i)}) }
func rsMAC(i int) [6]byte     { return packettest.MAC(byte(0x20 + i)) }

// memDirector is a Director over one in-memory link, with real servers
// 0..3 as neighbours.
func memDirector(t *testing.T, opt Options) (*Director, *link.Mem) {
	t.Helper()
	mem := link.NewMem(net.HardwareAddr(dirMAC[:]), 1500)
	nb := l4.StaticNeighbors{}
	for i := range 4 {
		mac := rsMAC(i)
		nb[rsAddr(i)] = l4.Hop{MAC: net.HardwareAddr(mac[:])}
	}
	core, err := l4.New(l4.Config{Ports: []l4.Port{{Link: mem, Addr: netip.MustParseAddr("198.18.0.1")}}, Neighbors: nb, Now: opt.Now, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := newDirector(core, opt, []io.Closer{mem}, nil)
	t.Cleanup(func() { d.Close() })
	return d, mem
}

// syn sends client i's SYN to the VIP through the core and returns the
// index of the real server it went to (-1: none).
func syn(t *testing.T, d *Director, i int, flags uint8) int {
	t.Helper()
	c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(100 + i)}), uint16(30000+i))
	f := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: c, Dst: vip, Proto: 6, Flags: flags, Seq: 1})
	out := d.Core().Process(time.Now(), 0, []link.Frame{{Data: f}})
	if len(out[0]) != 1 {
		return -1
	}
	for s := range 4 {
		if [6]byte(out[0][0].Data[0:6]) == rsMAC(s) {
			return s
		}
	}
	t.Fatalf("frame to %x", out[0][0].Data[0:6])
	return -1
}

func do(t *testing.T, table *ctl.Table, req ctl.Request) ctl.Response {
	t.Helper()
	resp := table.Handle(context.Background(), req)
	if resp.Error != "" {
		t.Fatalf("%s: %s", req.Verb, resp.Error)
	}
	return resp
}

func ptr[T any](v T) *T { return &v }

// The admin API drives a layer-4 service as ipvsadm drives IPVS: services
// and servers added, edited and deleted at run time, the core's counters
// listed, the forwarding method of each server followed.
func TestServiceThroughCtl(t *testing.T) {
	d, _ := memDirector(t, Options{})
	table := ctl.NewTable(ctl.TableConfig{Add: d.Factory(algorithms.Options{})})
	key := ctl.Key{Proto: ctl.TCP, Addr: vip}
	do(t, table, ctl.Request{Verb: ctl.VerbAddService, Service: &ctl.ServiceSpec{Key: key, Mode: "dr", Scheduler: "rr",
		Persistence: ptr(time.Minute), Netmask: "255.255.255.0"}})
	// A DR server named without a port takes the service's.
	do(t, table, ctl.Request{Verb: ctl.VerbAddServer, Service: &ctl.ServiceSpec{Key: key},
		Server: &ctl.ServerSpec{Addr: netip.AddrPortFrom(rsAddr(0), 0), Weight: ptr(1)}})
	do(t, table, ctl.Request{Verb: ctl.VerbAddServer, Service: &ctl.ServiceSpec{Key: key},
		Server: &ctl.ServerSpec{Addr: netip.AddrPortFrom(rsAddr(1), 80), Forward: "tun", Weight: ptr(1)}})
	info := do(t, table, ctl.Request{Verb: ctl.VerbList}).Services[0]
	if info.Mode != "dr" || info.Scheduler != "rr" || info.Persistence != time.Minute || info.Netmask != "255.255.255.0" ||
		len(info.Servers) != 2 || info.Servers[0].Addr != netip.AddrPortFrom(rsAddr(0), 80) || info.Servers[1].Forward != "tun" {
		t.Fatalf("list: %+v", info)
	}
	st := d.Core().Stats().Services[0]
	if st.Persistence != time.Minute || st.PersistMask != 24 || st.Servers[1].Method != l4.TUN {
		t.Errorf("core: %+v", st)
	}

	// Persistence off, then round robin alternates; the counters listed
	// are the core's.
	do(t, table, ctl.Request{Verb: ctl.VerbEditService, Service: &ctl.ServiceSpec{Key: key, Persistence: ptr(time.Duration(0))}})
	got := []int{syn(t, d, 1, packet.SYN), syn(t, d, 2, packet.SYN), syn(t, d, 3, packet.SYN), syn(t, d, 4, packet.SYN)}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Errorf("rr sent connections to %v", got)
	}
	info = do(t, table, ctl.Request{Verb: ctl.VerbList}).Services[0]
	core := d.Core().Stats().Services[0]
	if info.Stats.Conns != 4 || info.Stats.InPkts != core.InPkts || info.Stats.InBytes != core.InBytes ||
		info.Servers[0].Stats.Conns != 2 || info.Servers[0].Inactive != 2 || info.Persistence != 0 {
		t.Errorf("list after 4 connections: %+v (core %+v)", info, core.Counters)
	}

	// edit-server -m: the method changes in the core (a DR or TUN server
	// keeps the service's port).
	do(t, table, ctl.Request{Verb: ctl.VerbEditServer, Service: &ctl.ServiceSpec{Key: key},
		Server: &ctl.ServerSpec{Addr: netip.AddrPortFrom(rsAddr(0), 80), Forward: "nat"}})
	if m := d.Core().Stats().Services[0].Servers[0].Method; m != l4.NAT {
		t.Errorf("method after edit-server -m: %v", m)
	}
	// edit-service -s: another scheduler; zero: the counters go.
	do(t, table, ctl.Request{Verb: ctl.VerbEditService, Service: &ctl.ServiceSpec{Key: key, Scheduler: "wlc"}})
	do(t, table, ctl.Request{Verb: ctl.VerbZero, Service: &ctl.ServiceSpec{Key: key}})
	info = do(t, table, ctl.Request{Verb: ctl.VerbList}).Services[0]
	if info.Scheduler != "wlc" || info.Stats != (ctl.Counters{}) || info.Servers[1].Stats != (ctl.Counters{}) {
		t.Errorf("after edit-service and zero: %+v", info)
	}
	if c := d.Core().Stats().Services[0].Counters; c != (l4.Counters{}) {
		t.Errorf("core counters after zero: %+v", c)
	}
	// delete-server takes the address ipvsadm lists (or without a port).
	do(t, table, ctl.Request{Verb: ctl.VerbDeleteServer, Service: &ctl.ServiceSpec{Key: key},
		Server: &ctl.ServerSpec{Addr: netip.AddrPortFrom(rsAddr(1), 0)}})
	if n := len(d.Core().Stats().Services[0].Servers); n != 1 {
		t.Errorf("%d servers in the core after delete-server", n)
	}
	do(t, table, ctl.Request{Verb: ctl.VerbDeleteService, Service: &ctl.ServiceSpec{Key: key}})
	if n := len(d.Core().Services()); n != 0 {
		t.Errorf("%d services in the core after delete-service", n)
	}

	bad := []struct {
		spec ctl.ServiceSpec
		want string
	}{
		{ctl.ServiceSpec{Key: key, Mode: "l7"}, "mode"},
		{ctl.ServiceSpec{Key: key, Netmask: "255.0.255.0"}, "contiguous"},
		{ctl.ServiceSpec{Key: key, Scheduler: "nope"}, "unknown scheduler"},
		{ctl.ServiceSpec{Key: ctl.Key{Proto: ctl.TCP, Addr: netip.MustParseAddrPort("198.18.0.254:0")}}, "port"},
	}
	for _, b := range bad {
		resp := table.Handle(context.Background(), ctl.Request{Verb: ctl.VerbAddService, Service: &b.spec})
		if !strings.Contains(resp.Error, b.want) {
			t.Errorf("add-service %+v: %q, want %q", b.spec, resp.Error, b.want)
		}
	}
}

func TestParseMask(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"255.255.255.0", 24, true}, {"255.255.255.255", 32, true}, {"128.0.0.0", 1, true}, {"24", 24, true}, {"/16", 16, true},
		{"0.0.0.0", 0, false}, {"255.0.255.0", 0, false}, {"33", 0, false}, {"0", 0, false}, {"x", 0, false}, {"24x", 0, false}, {"::1", 0, false},
	} {
		got, err := ParseMask(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMask(%q) = %d, %v", c.in, got, err)
		}
		if c.ok {
			if back, _ := ParseMask(MaskString(got)); back != got {
				t.Errorf("MaskString(%d) = %q reads back as %d", got, MaskString(got), back)
			}
		}
	}
}

// The health checks act on the core's scheduling: a server whose check
// fails gets no new connections, and gets them again when it passes.
func TestServiceHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var failing atomic.Bool // the checks of server 1 fail
		failing.Store(true)
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			if failing.Load() && addr == netip.AddrPortFrom(rsAddr(1), 80).String() {
				return nil, errors.New("connection refused")
			}
			a, b := net.Pipe()
			go b.Close()
			return a, nil
		}
		d, _ := memDirector(t, Options{Dial: dial})
		s, err := d.AddService(ServiceConfig{Key: l4.ServiceKey{Proto: l4.TCP, VIP: vip}, Scheduler: "rr",
			Health:  &health.Config{Type: "tcp", Interval: time.Second, Rise: 1, Fall: 1},
			Servers: []ctl.ServerSpec{{Addr: netip.AddrPortFrom(rsAddr(0), 0)}, {Addr: netip.AddrPortFrom(rsAddr(1), 0)}}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		for i := range 4 {
			if got := syn(t, d, i, packet.SYN); got != 0 {
				t.Fatalf("connection %d went to server %d, whose check fails", i, got)
			}
		}
		info := s.Info()
		if !info.Servers[1].Down || info.Servers[1].Health == nil || info.Servers[1].Health.Up {
			t.Errorf("failing server listed as %+v", info.Servers[1])
		}
		failing.Store(false)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		seen := map[int]bool{}
		for i := range 4 {
			seen[syn(t, d, 10+i, packet.SYN)] = true
		}
		if !seen[1] {
			t.Error("the server that passes its check again gets no connections")
		}
	})
}

// A load monitor needs a scheduler that takes feedback; it polls the
// servers through the Director's dialer and feeds DFLB.
func TestServiceMonitor(t *testing.T) {
	d, _ := memDirector(t, Options{})
	key := l4.ServiceKey{Proto: l4.TCP, VIP: vip}
	if _, err := d.AddService(ServiceConfig{Key: key, Scheduler: "rr", Monitor: &monitor.Config{}}); err == nil ||
		!strings.Contains(err.Error(), "load feedback") {
		t.Errorf("a monitor on rr: %v", err)
	}
	if len(d.Core().Services()) != 0 {
		t.Error("a refused service was left in the core")
	}
	s, err := d.AddService(ServiceConfig{Key: key, Scheduler: "dflb", Monitor: &monitor.Config{Interval: time.Second},
		Servers: []ctl.ServerSpec{{Addr: netip.AddrPortFrom(rsAddr(0), 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil { // stops the monitor and waits for it
		t.Fatal(err)
	}
}

// Close forgets every connection (the pool counts nothing), keeps the
// counters, and stops the services' checks; Run after Close refuses.
func TestClose(t *testing.T) {
	d, _ := memDirector(t, Options{})
	s, err := d.AddService(ServiceConfig{Key: l4.ServiceKey{Proto: l4.TCP, VIP: vip}, Scheduler: "wlc",
		Persistence: time.Minute, Servers: []ctl.ServerSpec{{Addr: netip.AddrPortFrom(rsAddr(0), 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		syn(t, d, i, packet.SYN)
	}
	if info := s.Info(); info.Servers[0].Inactive != 3 {
		t.Fatalf("before Close: %+v", info.Servers[0])
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	st := d.Core().Stats()
	if st.Entries != 0 || st.Services[0].Servers[0].Inactive != 0 || st.Services[0].Conns != 3 {
		t.Errorf("after Close: %d entries, %+v", st.Entries, st.Services[0])
	}
	if err := d.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}
