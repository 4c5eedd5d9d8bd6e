package l4

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
)

// Flush ends every connection and template at once: the table is empty,
// the pool counts nothing, and the director goes on scheduling.
func TestFlush(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR, DR}, persistence: 300 * time.Second})
	for i := 1; i <= 4; i++ {
		b.one(fromClient(clientN(i), syn, 1, ""))
		b.one(fromClient(clientN(i), ack, 2, "")) // ESTABLISHED: active
	}
	b.one(fromClient(clientN(5), syn, 1, "")) // SYN_RECV: inactive
	st := b.d.Stats()
	if st.Entries == 0 || st.Templates == 0 || st.Established != 4 {
		t.Fatalf("before: %d entries, %d templates, %d established", st.Entries, st.Templates, st.Established)
	}
	b.d.Flush()
	st = b.d.Stats()
	if st.Entries != 0 || st.Templates != 0 || st.Established != 0 {
		t.Fatalf("after Flush: %d entries, %d templates, %d established", st.Entries, st.Templates, st.Established)
	}
	for i := range 2 {
		if a, in := b.pool(i); a != 0 || in != 0 {
			t.Errorf("server %d: active %d inactive %d after Flush", i, a, in)
		}
	}
	b.one(fromClient(clientN(1), syn, 9, ""))
	if st = b.d.Stats(); st.Entries != 2 || st.Templates != 1 {
		t.Errorf("a new connection after Flush: %d entries, %d templates", st.Entries, st.Templates)
	}
}

// ZeroService clears one service's counters and leaves the others';
// ServerCounters reads one server's.
func TestZeroService(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT}, udp: true})
	b.one(fromClient(client, syn, 1, ""))
	b.one(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: udpKey.VIP, Proto: 17, Payload: []byte("q")}))
	c, ok := b.d.ServerCounters(tcpKey, 0)
	if !ok || c.Conns != 1 || c.InPkts != 1 || c.InBytes != 40 {
		t.Fatalf("ServerCounters = %+v, %v; want 1 connection, 1 packet of 40 bytes", c, ok)
	}
	if _, ok := b.d.ServerCounters(tcpKey, 7); ok {
		t.Error("ServerCounters of an unknown server")
	}
	if err := b.d.ZeroService(tcpKey); err != nil {
		t.Fatal(err)
	}
	for _, s := range b.d.Stats().Services {
		zero := s.Counters == Counters{} && s.Servers[0].Counters == Counters{}
		if zero != (s.Key == tcpKey) {
			t.Errorf("%v after ZeroService(%v): %+v, server %+v", s.Key, tcpKey, s.Counters, s.Servers[0].Counters)
		}
	}
	if err := b.d.ZeroService(ServiceKey{Proto: TCP, VIP: netip.MustParseAddrPort("198.18.0.9:80")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ZeroService of an unknown service: %v", err)
	}
}

// SetMethod changes how new connections reach a server; those already
// made keep their method.
func TestSetMethod(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	old := clientN(1)
	b.one(fromClient(old, syn, 1, ""))
	rs := netip.AddrPortFrom(rsAddr(0), 0)
	if err := b.d.SetMethod(tcpKey, rs, TUN); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.one(fromClient(clientN(2), syn, 1, "")); p.Proto != packet.ProtoIPIP {
		t.Errorf("new connection after SetMethod(tun): protocol %d, want IPIP", p.Proto)
	}
	if p, _ := b.one(fromClient(old, ack, 2, "")); p.Proto != packet.ProtoTCP || p.Dst != u32of(vip.Addr()) {
		t.Errorf("the old connection changed method: protocol %d", p.Proto)
	}
	if got := b.d.Stats().Services[0].Servers[0].Method; got != TUN {
		t.Errorf("Stats method %v, want tun", got)
	}
	for _, c := range []struct {
		name string
		a    netip.AddrPort
		m    Method
		err  error
	}{
		{"unknown server", netip.MustParseAddrPort("198.18.0.99:0"), DR, ErrNotFound},
		{"unknown method", rs, Method(9), nil},
	} {
		err := b.d.SetMethod(tcpKey, c.a, c.m)
		if err == nil || c.err != nil && !errors.Is(err, c.err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A NAT server on another port cannot become DR.
	b2 := newBed(t, bedConfig{methods: []Method{NAT}})
	if err := b2.d.SetMethod(tcpKey, netip.AddrPortFrom(rsAddr(0), 8080), DR); err == nil {
		t.Error("NAT on port 8080 became DR for a service on port 80")
	}
}
