package packet_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
)

var (
	client = netip.MustParseAddrPort("198.18.0.101:40000")
	vip    = netip.MustParseAddrPort("198.18.0.254:80")
	rs     = netip.MustParseAddrPort("198.18.1.11:8080")
)

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

// Sum and Checksum agree with the naive RFC 1071 loop on every length and
// alignment.
func TestChecksumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n+3)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		for off := range 3 {
			if got, want := packet.Checksum(b[off:off+n]), packettest.Checksum(b[off:off+n]); got != want {
				t.Fatalf("len %d off %d: %#04x, want %#04x", n, off, got, want)
			}
		}
		if n%2 == 0 && n > 0 { // chained sums with an even first piece
			h := n / 2 &^ 1
			if got, want := ^packet.Fold(packet.Sum(b[h:n], packet.Sum(b[:h], 0))), packettest.Checksum(b[:n]); got != want {
				t.Fatalf("chained len %d: %#04x, want %#04x", n, got, want)
			}
		}
	}
}

// norm maps the two one's-complement zeros to one value.
func norm(c uint16) uint16 {
	if c == 0xffff {
		return 0
	}
	return c
}

// The incremental updates (RFC 1624) give the checksum a full
// recomputation gives, for random data and random rewrites.
func TestIncrementalMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, 2*(2+r.IntN(40)))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		hc := packettest.Checksum(b)
		if r.IntN(2) == 0 {
			i := 2 * r.IntN(len(b)/2)
			old := binary.BigEndian.Uint16(b[i:])
			nw := uint16(r.Uint32())
			binary.BigEndian.PutUint16(b[i:], nw)
			if got, want := packet.Update16(hc, old, nw), packettest.Checksum(b); norm(got) != norm(want) {
				t.Fatalf("Update16: %#04x, want %#04x", got, want)
			}
		} else if len(b) >= 4 {
			i := 2 * r.IntN(len(b)/2-1)
			old := binary.BigEndian.Uint32(b[i:])
			nw := r.Uint32()
			binary.BigEndian.PutUint32(b[i:], nw)
			if got, want := packet.Update32(hc, old, nw), packettest.Checksum(b); norm(got) != norm(want) {
				t.Fatalf("Update32: %#04x, want %#04x", got, want)
			}
		}
	}
}

// NAT rewrites of random TCP and UDP packets leave checksums that verify,
// incrementally from correct ones and from scratch after a partial one.
func TestRewriteChecksums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		proto := uint8(6)
		if i%2 == 1 {
			proto = 17
		}
		payload := make([]byte, r.IntN(300))
		for j := range payload {
			payload[j] = byte(r.Uint32())
		}
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), 1, 2}), uint16(r.Uint32()))
		f := packettest.Frame(packettest.Spec{Src: src, Dst: vip, Proto: proto, Flags: packet.ACK, Seq: r.Uint32(),
			Payload: payload, IPOptions: bytes.Repeat([]byte{1}, 4*r.IntN(3)), NoUDPChecksum: i%10 == 1})
		partial := i%3 == 0
		if partial { // what checksum offload leaves: a pseudo-header sum
			var p packet.Packet
			if packet.Parse(f, &p) != packet.OK {
				t.Fatal("parse")
			}
			off := p.L4 + 16
			if proto == 17 {
				off = p.L4 + 6
			}
			binary.BigEndian.PutUint16(f[off:], packet.Fold(packet.PseudoSum(p.Src, p.Dst, proto, p.Len-p.IHL)))
		}
		var p packet.Packet
		if reason := packet.Parse(f, &p); reason != packet.OK {
			t.Fatalf("parse: %v", reason)
		}
		newAddr := r.Uint32()
		newPort := uint16(r.Uint32())
		if i%4 < 2 {
			p.SetDst(newAddr, newPort, partial)
		} else {
			p.SetSrc(newAddr, newPort, partial)
		}
		p.DecTTL()
		if partial {
			p.CompleteL4()
		}
		if err := packettest.Verify(f); err != nil {
			t.Fatalf("packet %d (proto %d, partial %v): %v", i, proto, partial, err)
		}
		var q packet.Packet
		if packet.Parse(f, &q) != packet.OK || q.TTL != 63 {
			t.Fatalf("reparse: ttl %d", q.TTL)
		}
		if i%4 < 2 && (q.Dst != newAddr || q.DstPort != newPort) || i%4 >= 2 && (q.Src != newAddr || q.SrcPort != newPort) {
			t.Fatalf("rewrite lost: %+v", q)
		}
	}
}

func TestParse(t *testing.T) {
	good := packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6, Flags: packet.SYN, Seq: 7,
		IPOptions: []byte{1, 1, 1, 1}, TCPOptions: []byte{2, 4, 5, 180}})
	mutate := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	fixIP := func(b []byte) []byte {
		packet.SetIPHeaderChecksum(b, 14, int(b[14]&15)*4)
		return b
	}
	tests := []struct {
		name  string
		frame []byte
		want  packet.Reason
	}{
		{"good", good, packet.OK},
		{"empty", nil, packet.ShortFrame},
		{"13 bytes", good[:13], packet.ShortFrame},
		{"ethernet only", good[:14], packet.ShortIP},
		{"short ip", good[:30], packet.ShortIP},
		{"version 6", mutate(func(b []byte) []byte { b[14] = 0x65; return b }), packet.BadVersion},
		{"ihl 4", mutate(func(b []byte) []byte { b[14] = 0x44; return b }), packet.BadHeaderLen},
		{"ihl 15 past frame", mutate(func(b []byte) []byte { b[14] = 0x4f; return b[:60] }), packet.BadHeaderLen},
		{"total below header", mutate(func(b []byte) []byte { b[16], b[17] = 0, 20; return b }), packet.BadTotalLen},
		{"total past frame", mutate(func(b []byte) []byte { return b[:len(b)-1] }), packet.BadTotalLen},
		{"bad checksum", mutate(func(b []byte) []byte { b[24] ^= 1; return b }), packet.BadIPChecksum},
		{"tcp cut", mutate(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[16:], 24+10)
			return fixIP(b[:14+34])
		}), packet.ShortTransport},
		{"tcp offset 4", mutate(func(b []byte) []byte { b[14+24+12] = 0x40; return b }), packet.BadTCPOffset},
		{"tcp offset past", mutate(func(b []byte) []byte { b[14+24+12] = 0xf0; return b }), packet.BadTCPOffset},
		{"padding is fine", append(append([]byte(nil), good...), 0, 0, 0, 0), packet.OK},
		{"udp len past", packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 17, Payload: []byte("x")})[:14+20+8], packet.BadTotalLen},
		{"udp field too long", func() []byte {
			b := packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 17, Payload: []byte("xy")})
			b[14+20+5] = 11
			return b
		}(), packet.BadUDPLen},
		{"udp field too short", func() []byte {
			b := packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 17})
			b[14+20+5] = 7
			return b
		}(), packet.BadUDPLen},
		{"icmp cut", packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 1})[:14+20+8], packet.OK},
		{"icmp 4 bytes", func() []byte {
			b := packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 1})
			binary.BigEndian.PutUint16(b[16:], 24)
			return fixIP(b[:14+24])
		}(), packet.ShortTransport},
		{"later fragment has no header", packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6, FragOffset: 8, Payload: []byte{1}}), packet.OK},
		{"unknown protocol", packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 47, Payload: []byte{1, 2}}), packet.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p packet.Packet
			if got := packet.Parse(tc.frame, &p); got != tc.want {
				t.Fatalf("Parse = %v, want %v", got, tc.want)
			}
		})
	}
	var p packet.Packet
	packet.Parse(good, &p)
	if p.Src != u32(client.Addr()) || p.Dst != u32(vip.Addr()) || p.SrcPort != client.Port() || p.DstPort != vip.Port() ||
		p.Flags != packet.SYN || p.Seq != 7 || p.IHL != 24 || p.L4 != 14+24 || !p.HasPorts || p.TTL != 64 || p.Proto != 6 {
		t.Errorf("fields: %+v", p)
	}
}

// An ICMP error quotes the offending packet, verifies, and goes back to
// where the packet came from.
func TestICMPError(t *testing.T) {
	payload := bytes.Repeat([]byte("abcdefgh"), 200)
	f := packettest.Frame(packettest.Spec{SrcMAC: packettest.MAC(1), DstMAC: packettest.MAC(2), Src: client, Dst: vip,
		Proto: 6, Flags: packet.ACK, DF: true, TOS: 0x2b, Payload: payload})
	var p packet.Packet
	packet.Parse(f, &p)
	buf := make([]byte, packet.ICMPFrameMax)
	n := packet.ICMPError(buf, &p, u32(vip.Addr()), packet.ICMPDestUnreach, packet.ICMPFragNeeded, 1480, packettest.MAC(2), 9)
	if n != packet.ICMPFrameMax {
		t.Fatalf("length %d, want %d", n, packet.ICMPFrameMax)
	}
	out := buf[:n]
	if err := packettest.Verify(out); err != nil {
		t.Fatal(err)
	}
	var q packet.Packet
	if packet.Parse(out, &q) != packet.OK || q.Src != u32(vip.Addr()) || q.Dst != u32(client.Addr()) ||
		q.ICMPType != 3 || q.ICMPCode != 4 || q.TOS != 0xc0|0x2b&0x1e {
		t.Fatalf("icmp %+v", q)
	}
	if mtu := binary.BigEndian.Uint16(out[14+20+6:]); mtu != 1480 {
		t.Errorf("next-hop MTU %d", mtu)
	}
	if !bytes.Equal(out[0:6], f[6:12]) || !bytes.Equal(out[6:12], f[0:6]) {
		t.Errorf("MACs not swapped")
	}
	if !bytes.Equal(out[14+28:], f[14:14+packet.ICMPQuoteMax]) {
		t.Errorf("quote differs")
	}
	var qt packet.Quoted
	if !packet.ParseQuoted(out, q.L4+8, q.IP+q.Len, &qt) || qt.Src != p.Src || qt.DstPort != vip.Port() || !qt.HasPorts {
		t.Errorf("quoted %+v", qt)
	}
	if packet.ICMPError(buf[:100], &p, 1, 3, 4, 0, packettest.MAC(2), 0) != 0 {
		t.Errorf("short buffer accepted")
	}
}

func TestARPReply(t *testing.T) {
	req := make([]byte, 42)
	copy(req[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	asker := packettest.MAC(7)
	copy(req[6:12], asker[:])
	binary.BigEndian.PutUint16(req[12:], packet.EtherTypeARP)
	copy(req[14:], []byte{0, 1, 8, 0, 6, 4, 0, 1})
	copy(req[22:28], asker[:])
	copy(req[28:32], []byte{198, 18, 0, 101})
	copy(req[38:42], []byte{198, 18, 0, 254})
	var a packet.ARP
	if r := packet.ParseARP(req, &a); r != packet.OK || a.Op != packet.ARPRequest || a.TPA != u32(vip.Addr()) {
		t.Fatalf("ParseARP = %v %+v", r, a)
	}
	buf := make([]byte, 64)
	n := packet.ARPReplyFrame(buf, &a, packettest.MAC(9))
	if n != 60 {
		t.Fatalf("length %d", n)
	}
	var b packet.ARP
	if packet.ParseARP(buf[:n], &b) != packet.OK || b.Op != packet.ARPReply || b.SHA != packettest.MAC(9) ||
		b.SPA != u32(vip.Addr()) || b.THA != asker || b.TPA != a.SPA || !bytes.Equal(buf[0:6], asker[:]) {
		t.Fatalf("reply %+v", b)
	}
	if packet.ParseARP(req[:41], &a) != packet.BadARP {
		t.Error("short ARP accepted")
	}
	req[15] = 6 // hardware type 6
	if packet.ParseARP(req, &a) != packet.BadARP {
		t.Error("non-Ethernet ARP accepted")
	}
}

// IPIP: whole and fragmented encapsulations verify and carry the inner
// packet; TOS and ECN follow RFC 6040.
func TestEncap(t *testing.T) {
	inner := packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6, Payload: bytes.Repeat([]byte{1}, 1000)})[14:]
	o := &packet.Outer{EthDst: packettest.MAC(3), EthSrc: packettest.MAC(4), Src: 1, Dst: 2, ID: 5, TOS: 0x10, TTL: 63, DF: true}
	buf := make([]byte, 2048)
	n := packet.Encap(buf, inner, 0, len(inner), false, o)
	if n != 14+20+len(inner) {
		t.Fatalf("length %d", n)
	}
	if err := packettest.Verify(buf[:n]); err != nil {
		t.Fatal(err)
	}
	var p packet.Packet
	if packet.Parse(buf[:n], &p) != packet.OK || p.Proto != 4 || !p.DF() || p.TTL != 63 || p.TOS != 0x10 || p.IsFragment() {
		t.Fatalf("outer %+v", p)
	}
	if !bytes.Equal(buf[34:n], inner) {
		t.Error("inner differs")
	}
	// fragments of 512 and the rest, reassembled
	o.DF = false
	var got []byte
	for off := 0; off < len(inner); off += 512 {
		m := min(512, len(inner)-off)
		n := packet.Encap(buf, inner, off, m, off+m < len(inner), o)
		var f packet.Packet
		if packet.Parse(buf[:n], &f) != packet.OK || int(f.Frag&packet.FragOffset)*8 != off || (f.Frag&packet.FlagMF != 0) != (off+m < len(inner)) {
			t.Fatalf("fragment at %d: %+v", off, f)
		}
		if err := packettest.Verify(buf[:n]); err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[34:14+f.Len]...) // not the padding
	}
	if !bytes.Equal(got, inner) {
		t.Error("reassembly differs")
	}
	for _, c := range []struct{ in, out uint8 }{{0, 0}, {0xb8, 0xb8}, {0xb9, 0xb9}, {0xba, 0xba}, {0xbb, 0xba}} {
		if got := packet.EncapTOS(c.in); got != c.out {
			t.Errorf("EncapTOS(%#x) = %#x, want %#x", c.in, got, c.out)
		}
	}
}

// NATICMP rewrites an ICMP error for the other side and every checksum
// (outer, quoted header, ICMP) verifies.
func TestNATICMP(t *testing.T) {
	reply := packettest.Frame(packettest.Spec{Src: vip, Dst: client, Proto: 6, Flags: packet.ACK, Payload: []byte("hello")})
	var rp packet.Packet
	packet.Parse(reply, &rp)
	buf := make([]byte, packet.ICMPFrameMax)
	n := packet.ICMPError(buf, &rp, u32(client.Addr()), 3, 3, 0, packettest.MAC(1), 1) // client: port unreachable
	var p packet.Packet
	if packet.Parse(buf[:n], &p) != packet.OK {
		t.Fatal("parse")
	}
	var q packet.Quoted
	if !packet.ParseQuoted(p.Frame, p.L4+8, p.IP+p.Len, &q) {
		t.Fatal("quoted")
	}
	p.NATICMP(&q, true, u32(rs.Addr()), rs.Port())
	if err := packettest.Verify(buf[:n]); err != nil {
		t.Fatal(err)
	}
	var p2 packet.Packet
	packet.Parse(buf[:n], &p2)
	packet.ParseQuoted(p2.Frame, p2.L4+8, p2.IP+p2.Len, &q)
	if p2.Dst != u32(rs.Addr()) || q.Src != u32(rs.Addr()) || q.SrcPort != rs.Port() || q.Dst != u32(client.Addr()) {
		t.Errorf("in: outer dst %x quoted %+v", p2.Dst, q)
	}
	p2.NATICMP(&q, false, u32(vip.Addr()), vip.Port())
	if err := packettest.Verify(buf[:n]); err != nil {
		t.Fatal(err)
	}
}
