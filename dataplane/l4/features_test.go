package l4

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

func clientN(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(100 + i%100)}), uint16(30000+i))
}

// serverOf returns the index of the real server a frame went to (by MAC).
func serverOf(t *testing.T, f []byte) int {
	t.Helper()
	for i := range 8 {
		if [6]byte(f[0:6]) == rsMAC(i) {
			return i
		}
	}
	t.Fatalf("frame to %x, no real server", f[0:6])
	return -1
}

// A retransmitted SYN (same ISN) keeps its real server; a SYN with a new
// ISN on the same client port is a new connection, scheduled afresh.
func TestSYNRetransmitAndPortReuse(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR, DR}}) // rr alternates
	_, f := b.one(fromClient(client, syn, 100, ""))
	first := serverOf(t, f)
	for range 3 {
		b.advance(time.Second)
		if _, f = b.one(fromClient(client, syn, 100, "")); serverOf(t, f) != first {
			t.Fatal("retransmitted SYN went to another server")
		}
	}
	if st := b.d.Stats().Services[0]; st.Conns != 1 {
		t.Errorf("retransmits counted as %d connections", st.Conns)
	}
	_, f = b.one(fromClient(client, syn, 99999, ""))
	if serverOf(t, f) == first {
		t.Error("reused port with a new ISN kept the old server (rr should alternate)")
	}
	st := b.d.Stats()
	if st.Services[0].Conns != 2 || st.Entries != 1 {
		t.Errorf("conns %d entries %d", st.Services[0].Conns, st.Entries)
	}
	a0, i0 := b.pool(0)
	a1, i1 := b.pool(1)
	if a0+a1 != 0 || i0+i1 != 1 {
		t.Errorf("old connection not ended: %d/%d %d/%d", a0, i0, a1, i1)
	}
}

// TCP segments other than SYN without a connection are dropped; so is a
// SYN+RST.
func TestNoConnection(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	b.none(fromClient(client, ack, 1, ""), DropNoConn)
	b.none(fromClient(client, syn|rst, 1, ""), DropNoConn)
	b.none(fromClient(client, fin, 1, ""), DropNoConn)
}

// UDP services: every datagram refreshes a 300 s connection; NAT replies
// come back from the VIP; UDP counts as inactive, as in IPVS.
func TestUDP(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT}, udp: true})
	q := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: udpKey.VIP, Proto: 17, Payload: []byte("query")})
	p, _ := b.one(q)
	if p.Proto != 17 || p.Dst != u32of(rsAddr(0)) || p.DstPort != 8080 {
		t.Fatalf("request %+v", p)
	}
	r := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: rsMAC(0), Src: netip.AddrPortFrom(rsAddr(0), 8080), Dst: client,
		Proto: 17, Payload: []byte("answer")})
	p, _ = b.one(r)
	if p.Src != u32of(udpKey.VIP.Addr()) || p.SrcPort != 53 {
		t.Fatalf("reply %+v", p)
	}
	// no checksum stays no checksum
	q0 := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: udpKey.VIP, Proto: 17,
		Payload: []byte("q"), NoUDPChecksum: true})
	_, f := b.one(q0)
	if c := binary.BigEndian.Uint16(f[34+6:]); c != 0 {
		t.Errorf("UDP checksum %#x, want 0", c)
	}
	st := b.d.Stats()
	var udp ServiceStats
	for _, s := range st.Services {
		if s.Key == udpKey {
			udp = s
		}
	}
	if udp.Conns != 1 || udp.InPkts != 2 || udp.OutPkts != 1 || udp.Servers[0].Inactive != 1 || udp.Servers[0].Active != 0 {
		t.Errorf("udp stats %+v", udp)
	}
	b.advance(299 * time.Second)
	if b.d.Stats().Entries != 1 {
		t.Fatal("expired early")
	}
	b.advance(time.Second)
	if b.d.Stats().Entries != 0 {
		t.Fatal("not expired after 300 s")
	}
}

// Persistence: a client's connections stick to one server for the
// template's timeout after the last one ends; with a /24 netmask its
// neighbours share it; a deleted server's template is replaced.
func TestPersistence(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR, DR, DR}, persistence: 300 * time.Second, mask: 24})
	_, f := b.one(fromClient(clientN(1), syn, 1, ""))
	first := serverOf(t, f)
	for i := 2; i < 10; i++ { // other ports and other hosts of the /24: same server
		if _, f = b.one(fromClient(clientN(i), syn, 1, "")); serverOf(t, f) != first {
			t.Fatalf("client %v went to %d, want %d", clientN(i), serverOf(t, f), first)
		}
	}
	other := netip.MustParseAddrPort("198.18.7.5:1000") // another /24
	if _, f = b.one(fromClient(other, syn, 1, "")); serverOf(t, f) == first {
		t.Error("another /24 shares the template (rr should move on)")
	}
	st := b.d.Stats()
	if st.Templates != 2 || st.Entries != 12 {
		t.Fatalf("templates %d entries %d", st.Templates, st.Entries)
	}
	// Connections time out after SYN_RECV's 60 s; the templates live 300 s
	// after that and then go.
	b.advance(60 * time.Second)
	if st = b.d.Stats(); st.Entries != 2 {
		t.Fatalf("after 60 s: %d entries", st.Entries)
	}
	b.advance(200 * time.Second)
	if _, f = b.one(fromClient(clientN(50), syn, 1, "")); serverOf(t, f) != first {
		t.Error("template forgot the client before its timeout")
	}
	b.advance(61 * time.Second) // t=321: the new connection expired; its template was refreshed when it was used, the other /24's timed out at 300
	if st = b.d.Stats(); st.Templates != 1 || st.Entries != 1 {
		t.Fatalf("templates %d entries %d, want the used one only", st.Templates, st.Entries)
	}
	b.advance(300 * time.Second)
	if st = b.d.Stats(); st.Entries != 0 {
		t.Fatalf("after the timeouts: %d entries", st.Entries)
	}
	// a template whose server is deleted is replaced
	_, f = b.one(fromClient(clientN(1), syn, 7, ""))
	s := serverOf(t, f)
	if err := b.d.DeleteServer(tcpKey, netip.AddrPortFrom(rsAddr(s), 0)); err != nil {
		t.Fatal(err)
	}
	_, f = b.one(fromClient(clientN(2), syn, 7, ""))
	if serverOf(t, f) == s {
		t.Error("template kept a deleted server")
	}
	// a template whose server is down is replaced too
	s = serverOf(t, f)
	svc, _ := b.d.Service(tcpKey)
	if err := svc.SetDown(algorithms.ServerID(s), true); err != nil {
		t.Fatal(err)
	}
	_, f = b.one(fromClient(clientN(3), syn, 7, ""))
	if serverOf(t, f) == s {
		t.Error("template kept a down server")
	}
}

// Weight 0 quiesces a server: its connections go on, new ones go
// elsewhere. An upper threshold stops new connections at the limit.
func TestQuiescingAndThresholds(t *testing.T) {
	b := newBed(t, bedConfig{alg: "wlc", methods: []Method{DR, DR}})
	_, f := b.one(fromClient(clientN(1), syn, 1, ""))
	s := serverOf(t, f)
	if err := b.d.EditServer(tcpKey, RealServer{Server: serverCfg(s, 0, 0), Method: DR}); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 6; i++ {
		if _, f = b.one(fromClient(clientN(i), syn, 1, "")); serverOf(t, f) == s {
			t.Fatal("quiescing server got a new connection")
		}
	}
	if _, f = b.one(fromClient(clientN(1), ack, 2, "")); serverOf(t, f) != s {
		t.Fatal("quiescing server lost its connection")
	}
	// both at weight 1 with an upper threshold of 1 connection each
	for i := range 2 {
		if err := b.d.EditServer(tcpKey, RealServer{Server: serverCfg(i, 1, 1), Method: DR}); err != nil {
			t.Fatal(err)
		}
	}
	b.none(fromClient(clientN(9), syn, 1, ""), DropNoServer)
}

func serverCfg(i, weight, upper int) dataplane.Server {
	return dataplane.Server{ID: algorithms.ServerID(i), Addr: netip.AddrPortFrom(rsAddr(i), 0), Weight: weight, Upper: upper}
}

// ARP: the director answers requests for its VIPs, not for others.
func TestARP(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	req := func(target netip.Addr) []byte {
		f := make([]byte, 42)
		copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(f[6:12], clientMAC[:])
		binary.BigEndian.PutUint16(f[12:], packet.EtherTypeARP)
		copy(f[14:22], []byte{0, 1, 8, 0, 6, 4, 0, 1})
		copy(f[22:28], clientMAC[:])
		c := client.Addr().As4()
		copy(f[28:32], c[:])
		tg := target.As4()
		copy(f[38:42], tg[:])
		return f
	}
	out := b.send(req(vip.Addr()))
	if len(out) != 1 {
		t.Fatalf("%d replies", len(out))
	}
	var a packet.ARP
	if packet.ParseARP(out[0], &a) != packet.OK || a.Op != 2 || a.SHA != dirMAC || a.SPA != u32of(vip.Addr()) || a.THA != clientMAC {
		t.Errorf("reply %+v", a)
	}
	if out = b.send(req(rsAddr(0))); len(out) != 0 {
		t.Error("answered for a real server")
	}
	st := b.d.Stats()
	if st.ARPReplies != 1 || st.Passes[PassARP] != 1 {
		t.Errorf("arp replies %d passes %d", st.ARPReplies, st.Passes[PassARP])
	}
	b.none(req(vip.Addr())[:30], DropBadARP)
}

// Frames that are not the director's are left alone and counted.
func TestPasses(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT}})
	other := fromClient(client, syn, 1, "")
	other[0] = 0x42 // another host's MAC
	tests := []struct {
		name  string
		frame []byte
		why   Pass
	}{
		{"other host", other, PassOtherHost},
		{"own frame", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: dirMAC, Src: client, Dst: vip, Proto: 6, Flags: syn}), PassOwnFrame},
		{"ipv6", append(append(append([]byte(nil), dirMAC[:]...), clientMAC[:]...), 0x86, 0xdd, 0, 0), PassNotIPv4},
		{"vip, other port", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client,
			Dst: netip.AddrPortFrom(vip.Addr(), 22), Proto: 6, Flags: syn}), PassNoService},
		{"vip, gre", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 47}), PassNoService},
		{"to the director", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client,
			Dst: netip.AddrPortFrom(dirAddr, 22), Proto: 6, Flags: syn}), PassNotOurs},
		{"ping the vip", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 1, ICMPType: 8}), PassICMPUnrelated},
	}
	for _, tc := range tests {
		before := b.d.Stats().Passes[tc.why]
		if out := b.send(tc.frame); len(out) != 0 {
			t.Errorf("%s: forwarded", tc.name)
		}
		if got := b.d.Stats().Passes[tc.why]; got != before+1 {
			t.Errorf("%s: %v counted %d times", tc.name, tc.why, got-before)
		}
	}
	if st := b.d.Stats(); st.TotalDrops() != 0 || st.Entries != 0 {
		t.Errorf("drops %v entries %d", b.drops(), st.Entries)
	}
}

// Malformed and hostile frames for a VIP are dropped and counted by reason.
func TestDrops(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT}})
	good := fromClient(client, syn, 1, "")
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	b.none(good[:10], DropShortFrame)
	b.none(mut(func(x []byte) []byte { x[14] = 0x65; return x }), DropBadVersion)
	b.none(mut(func(x []byte) []byte { x[24] ^= 0xff; return x }), DropBadIPChecksum)
	b.none(mut(func(x []byte) []byte { return x[:40] }), DropBadTotalLen)
	b.none(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: syn, MoreFragments: true}), DropFragment)
	b.none(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, FragOffset: 64, Payload: []byte{1}}), DropFragment)
	b.none(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: netip.MustParseAddrPort("224.0.0.1:5"), Dst: vip, Proto: 6, Flags: syn}), DropBadSource)
	b.none(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: netip.MustParseAddrPort("127.0.0.1:5"), Dst: vip, Proto: 6, Flags: syn}), DropBadSource)
	tr := b.d.Process(b.now, 0, []link.Frame{{Data: good, Truncated: true}})
	if len(tr[0]) != 0 || b.d.Stats().Drops[DropTruncated] != 1 {
		t.Error("truncated frame")
	}
	// TTL 1: time exceeded back to the client, from the VIP
	ttl1 := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: syn, TTL: 1})
	p, _ := b.one(ttl1)
	if p.Proto != 1 || p.ICMPType != 11 || p.Dst != u32of(client.Addr()) || p.Src != u32of(vip.Addr()) || b.d.Stats().Drops[DropTTL] != 1 {
		t.Errorf("ttl 1: %+v", p)
	}
	// the scheduled connection stays (the SYN was scheduled before its TTL was checked, as IPVS does)
	if b.d.Stats().Entries != 1 {
		t.Errorf("entries %d", b.d.Stats().Entries)
	}
}

// A real server whose next hop is unknown gets nothing until the resolver
// knows it; the director asks again every second.
func TestNeighborResolution(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	delete(b.nb, rsAddr(0))
	b.advance(time.Second)
	b.none(fromClient(client, syn, 1, ""), DropNoNeighbor)
	mac := rsMAC(5)
	b.nb[rsAddr(0)] = Hop{Port: 0, MAC: net.HardwareAddr(mac[:])}
	b.advance(time.Second)
	if _, f := b.one(fromClient(client, syn, 1, "")); [6]byte(f[0:6]) != mac {
		t.Error("new MAC not used")
	}
	// Resolve asks at once, without waiting for the next second.
	delete(b.nb, rsAddr(0))
	b.d.Resolve()
	b.none(fromClient(clientN(2), syn, 1, ""), DropNoNeighbor)
	b.nb[rsAddr(0)] = Hop{Port: 0, MAC: net.HardwareAddr(mac[:])}
	b.d.Resolve()
	b.one(fromClient(clientN(3), syn, 1, ""))
}

// The memory budget: a full table drops new connections, never old ones.
func TestTableFull(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}, maxConns: 3})
	for i := range 3 {
		b.one(fromClient(clientN(i), syn, 1, ""))
	}
	b.none(fromClient(clientN(3), syn, 1, ""), DropTableFull)
	b.one(fromClient(clientN(0), ack, 2, ""))
	b.advance(60 * time.Second)
	b.one(fromClient(clientN(3), syn, 1, ""))
}

// Deleting a real server ends its connections at their next packet; a
// SYN on the same tuple is scheduled again.
func TestDeleteServer(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT, NAT}})
	_, f := b.one(fromClient(client, syn, 1, ""))
	s := serverOf(t, f)
	if err := b.d.DeleteServer(tcpKey, netip.AddrPortFrom(rsAddr(s), 8080)); err != nil {
		t.Fatal(err)
	}
	b.none(fromServer(s, client, syn|ack, ""), DropDestRemoved)
	if b.d.Stats().Entries != 0 {
		t.Fatal("entry of a deleted server kept")
	}
	if _, f = b.one(fromClient(client, syn, 1, "")); serverOf(t, f) == s {
		t.Error("scheduled to the deleted server")
	}
	if err := b.d.DeleteServer(tcpKey, netip.AddrPortFrom(rsAddr(s), 8080)); err == nil {
		t.Error("deleted twice")
	}
}

// The Request carries the VIP as destination and the client as source:
// ipvs-lblc (keyed by destination) sends every connection to the VIP to
// one server while it is not overloaded; sh and mh (keyed by source) keep
// each client on one server and spread clients.
func TestSchedulerKeys(t *testing.T) {
	for _, alg := range []string{"ipvs-lblc", "ipvs-lblcr", "dh", "sh", "mh"} {
		t.Run(alg, func(t *testing.T) {
			b := newBed(t, bedConfig{alg: alg, methods: []Method{DR, DR, DR, DR}})
			perClient := map[netip.Addr]int{}
			used := map[int]bool{}
			for i := range 40 {
				c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 3, byte(i / 2)}), uint16(2000+i))
				_, f := b.one(fromClient(c, syn, 1, ""))
				s := serverOf(t, f)
				used[s] = true
				if prev, ok := perClient[c.Addr()]; ok && prev != s {
					t.Fatalf("client %v on servers %d and %d", c.Addr(), prev, s)
				}
				perClient[c.Addr()] = s
			}
			byDest := alg != "sh" && alg != "mh"
			if byDest && len(used) != 1 {
				t.Errorf("destination-keyed %s used %d servers for one VIP", alg, len(used))
			}
			if !byDest && len(used) < 2 {
				t.Errorf("source-keyed %s used one server for 20 clients", alg)
			}
		})
	}
}

// NAT and DR do not fragment: a packet bigger than the outgoing link gets
// ICMP fragmentation needed if it has DF, and is dropped otherwise.
func TestTooBig(t *testing.T) {
	for _, m := range []Method{NAT, DR} {
		t.Run(m.String(), func(t *testing.T) {
			b := newBed(t, bedConfig{methods: []Method{m}, mtu: 1400})
			b.one(fromClient(client, syn, 1, ""))
			p, f := b.one(fromClient(client, ack, 2, string(make([]byte, 1401-40))))
			if p.ICMPType != 3 || p.ICMPCode != 4 || p.Dst != u32of(client.Addr()) || binary.BigEndian.Uint16(f[p.L4+6:]) != 1400 {
				t.Errorf("want frag needed with MTU 1400, got %+v", p)
			}
			b.one(fromClient(client, ack, 2, string(make([]byte, 1400-40)))) // fits
			nodf := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: ack,
				Payload: make([]byte, 1401-40)})
			b.none(nodf, DropTooBig)
		})
	}
}
