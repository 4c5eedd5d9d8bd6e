package l4

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
)

// icmpAbout builds an ICMP error from src to dst quoting the IP packet of
// frame quoted.
func icmpAbout(srcMAC [6]byte, src, dst netip.Addr, typ, code uint8, rest uint32, quoted []byte) []byte {
	return packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: srcMAC, Src: netip.AddrPortFrom(src, 0),
		Dst: netip.AddrPortFrom(dst, 0), Proto: 1, ICMPType: typ, ICMPCode: code, ICMPRest: rest, Payload: quoted[14:]})
}

func quotedOf(t *testing.T, f []byte) packet.Quoted {
	t.Helper()
	var p packet.Packet
	if packet.Parse(f, &p) != packet.OK || p.Proto != 1 {
		t.Fatalf("not ICMP: %+v", p)
	}
	var q packet.Quoted
	if !packet.ParseQuoted(f, p.L4+8, p.IP+p.Len, &q) {
		t.Fatal("no quoted header")
	}
	return q
}

// ICMP errors about a connection's packets reach the other end, rewritten
// for NAT (ip_vs_in_icmp, ip_vs_out_icmp), as they are for DR.
func TestICMPMapping(t *testing.T) {
	rs := netip.AddrPortFrom(rsAddr(0), 8080)
	t.Run("nat, client to server", func(t *testing.T) {
		b := newBed(t, bedConfig{methods: []Method{NAT}})
		b.one(fromClient(client, syn, 1, ""))
		// the client says the VIP's SYN-ACK was unwelcome: port unreachable about VIP -> client
		reply := packettest.Frame(packettest.Spec{Src: vip, Dst: client, Proto: 6, Flags: syn | ack})
		p, f := b.one(icmpAbout(clientMAC, client.Addr(), vip.Addr(), 3, 3, 0, reply))
		q := quotedOf(t, f)
		if p.Dst != u32of(rs.Addr()) || p.Src != u32of(client.Addr()) || q.Src != u32of(rs.Addr()) || q.SrcPort != 8080 ||
			q.Dst != u32of(client.Addr()) || q.DstPort != client.Port() || [6]byte(f[0:6]) != rsMAC(0) {
			t.Errorf("outer %x -> %x, quoted %+v", p.Src, p.Dst, q)
		}
	})
	t.Run("nat, server to client", func(t *testing.T) {
		b := newBed(t, bedConfig{methods: []Method{NAT}})
		_, fwd := b.one(fromClient(client, syn, 1, ""))
		// the real server (or a router before it) answers the client's forwarded SYN with frag needed
		p, f := b.one(icmpAbout(rsMAC(0), rs.Addr(), client.Addr(), 3, 4, 1400, fwd))
		q := quotedOf(t, f)
		if p.Src != u32of(vip.Addr()) || p.Dst != u32of(client.Addr()) || q.Dst != u32of(vip.Addr()) || q.DstPort != 80 ||
			q.Src != u32of(client.Addr()) || [6]byte(f[0:6]) != clientMAC {
			t.Errorf("outer %x -> %x, quoted %+v", p.Src, p.Dst, q)
		}
		if binary.BigEndian.Uint32(f[p.L4+4:]) != 1400 {
			t.Error("MTU changed")
		}
		if st := b.d.Stats().Services[0]; st.OutPkts != 1 {
			t.Errorf("out packets %d", st.OutPkts)
		}
	})
	t.Run("dr, client to server", func(t *testing.T) {
		b := newBed(t, bedConfig{methods: []Method{DR}})
		b.one(fromClient(client, syn, 1, ""))
		reply := packettest.Frame(packettest.Spec{Src: vip, Dst: client, Proto: 6, Flags: syn | ack})
		in := icmpAbout(clientMAC, client.Addr(), vip.Addr(), 3, 4, 1400, reply)
		p, f := b.one(in)
		if p.Dst != u32of(vip.Addr()) || [6]byte(f[0:6]) != rsMAC(0) || p.TTL != 63 {
			t.Errorf("forwarded %+v", p)
		}
	})
	t.Run("unrelated and broken errors", func(t *testing.T) {
		b := newBed(t, bedConfig{methods: []Method{NAT}})
		b.one(fromClient(client, syn, 1, ""))
		other := packettest.Frame(packettest.Spec{Src: vip, Dst: netip.MustParseAddrPort("198.18.0.99:1"), Proto: 6})
		if out := b.send(icmpAbout(clientMAC, client.Addr(), vip.Addr(), 3, 3, 0, other)); len(out) != 0 {
			t.Error("error about no connection forwarded")
		}
		bad := icmpAbout(clientMAC, client.Addr(), vip.Addr(), 3, 3, 0, packettest.Frame(packettest.Spec{Src: vip, Dst: client, Proto: 6}))
		bad[len(bad)-1] ^= 0xff
		b.none(bad, DropBadICMPChecksum)
		short := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: netip.AddrPortFrom(client.Addr(), 0),
			Dst: netip.AddrPortFrom(vip.Addr(), 0), Proto: 1, ICMPType: 3, Payload: []byte{0x45, 0, 0}})
		b.none(short, DropBadICMPQuote)
	})
}

// An error about one of the director's IPIP datagrams (a router on the
// way to a TUN server says fragmentation needed) becomes an error for the
// client about its own packet, the tunnel's 20 bytes taken off the MTU.
func TestICMPAboutTunnel(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{TUN}})
	_, enc := b.one(fromClient(client, syn, 1, ""))
	router := netip.MustParseAddr("198.18.0.2")
	p, f := b.one(icmpAbout(rsMAC(0), router, dirAddr, 3, 4, 1400, enc))
	if p.Dst != u32of(client.Addr()) || p.Src != u32of(vip.Addr()) || p.ICMPType != 3 || p.ICMPCode != 4 || [6]byte(f[0:6]) != clientMAC {
		t.Fatalf("error %+v", p)
	}
	if mtu := binary.BigEndian.Uint32(f[p.L4+4:]); mtu != 1380 {
		t.Errorf("MTU %d, want 1380", mtu)
	}
	q := quotedOf(t, f)
	if q.Src != u32of(client.Addr()) || q.Dst != u32of(vip.Addr()) || q.DstPort != 80 {
		t.Errorf("quoted %+v", q)
	}
	// not our address as the tunnel's source: not ours
	if out := b.send(icmpAbout(rsMAC(0), router, netip.MustParseAddr("198.18.0.3"), 3, 4, 1400, enc)); len(out) != 0 {
		t.Error("error about someone else's tunnel answered")
	}
}
