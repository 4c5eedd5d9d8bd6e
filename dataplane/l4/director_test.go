package l4

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/l4/conntab"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
)

const (
	syn = packet.SYN
	ack = packet.ACK
	fin = packet.FIN
	rst = packet.RST
	psh = packet.PSH
)

// A whole TCP connection through VS/NAT: handshake, data both ways and
// close, every rewritten segment's checksums verified by an independent
// implementation, the state machine and the pool's active/inactive counts
// followed at every step, and the entry gone after TIME_WAIT.
func TestNATConnection(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{NAT}})
	rs := netip.AddrPortFrom(rsAddr(0), 8080)
	type step struct {
		name     string
		frame    []byte
		toServer bool
		state    conntab.State
		active   int
		inactive int
	}
	steps := []step{
		{"client SYN", fromClient(client, syn, 1000, ""), true, conntab.SynRecv, 0, 1},
		{"server SYN-ACK", fromServer(0, client, syn|ack, ""), false, conntab.SynRecv, 0, 1},
		{"client ACK", fromClient(client, ack, 1001, ""), true, conntab.Established, 1, 0},
		{"client request", fromClient(client, ack|psh, 1001, "GET / HTTP/1.0\r\n\r\n"), true, conntab.Established, 1, 0},
		{"server response", fromServer(0, client, ack|psh, strings.Repeat("x", 1000)), false, conntab.Established, 1, 0},
		{"client FIN", fromClient(client, fin|ack, 1019, ""), true, conntab.CloseWait, 0, 1},
		{"server FIN", fromServer(0, client, fin|ack, ""), false, conntab.TimeWait, 0, 1},
		{"client last ACK", fromClient(client, ack, 1020, ""), true, conntab.TimeWait, 0, 1},
	}
	for _, s := range steps {
		p, f := b.one(s.frame)
		var in packet.Packet
		packet.Parse(s.frame, &in)
		if s.toServer {
			if p.Dst != u32of(rs.Addr()) || p.DstPort != rs.Port() || p.Src != in.Src || p.SrcPort != in.SrcPort {
				t.Errorf("%s: to %x:%d from %x:%d", s.name, p.Dst, p.DstPort, p.Src, p.SrcPort)
			}
			if [6]byte(f[0:6]) != rsMAC(0) || [6]byte(f[6:12]) != dirMAC {
				t.Errorf("%s: MACs %x -> %x", s.name, f[6:12], f[0:6])
			}
		} else {
			if p.Src != u32of(vip.Addr()) || p.SrcPort != vip.Port() || p.Dst != in.Dst || p.DstPort != in.DstPort {
				t.Errorf("%s: from %x:%d to %x:%d", s.name, p.Src, p.SrcPort, p.Dst, p.DstPort)
			}
			if [6]byte(f[0:6]) != clientMAC || [6]byte(f[6:12]) != dirMAC {
				t.Errorf("%s: MACs %x -> %x", s.name, f[6:12], f[0:6])
			}
		}
		if p.TTL != in.TTL-1 || p.Flags != in.Flags || p.Len != in.Len || !bytes.Equal(f[p.L4+20:p.IP+p.Len], s.frame[in.L4+20:in.IP+in.Len]) {
			t.Errorf("%s: ttl %d flags %#x len %d or payload changed", s.name, p.TTL, p.Flags, p.Len)
		}
		cs := b.d.Conns()
		if len(cs) != 1 || cs[0].State != s.state.String() || cs[0].Server != rs || cs[0].Client != client {
			t.Fatalf("%s: conns %+v, want state %v", s.name, cs, s.state)
		}
		if a, i := b.pool(0); a != s.active || i != s.inactive {
			t.Errorf("%s: active %d inactive %d, want %d %d", s.name, a, i, s.active, s.inactive)
		}
	}
	st := b.d.Stats().Services[0]
	want := Counters{Conns: 1, InPkts: 5, OutPkts: 3}
	if st.Conns != want.Conns || st.InPkts != want.InPkts || st.OutPkts != want.OutPkts || st.Servers[0].Counters != st.Counters {
		t.Errorf("counters %+v, want %+v, server %+v", st.Counters, want, st.Servers[0].Counters)
	}
	if st.InBytes != 4*40+58 || st.OutBytes != 2*40+1040 {
		t.Errorf("bytes in %d out %d", st.InBytes, st.OutBytes)
	}
	b.advance(119 * time.Second)
	if b.d.Stats().Entries != 1 {
		t.Fatal("expired before TIME_WAIT's 120 s")
	}
	b.advance(time.Second)
	if n := b.d.Stats().Entries; n != 0 {
		t.Fatalf("%d entries after TIME_WAIT", n)
	}
	if a, i := b.pool(0); a != 0 || i != 0 {
		t.Errorf("after expiry: active %d inactive %d", a, i)
	}
	// A reply with no connection is not the director's.
	if out := b.send(fromServer(0, client, ack, "")); len(out) != 0 || b.d.Stats().Passes[PassNotOurs] != 1 {
		t.Error("stray reply forwarded")
	}
}

// VS/DR rewrites the MAC addresses only (and the TTL, as a router), and
// follows the INPUT_ONLY table: the director never sees the replies.
func TestDRConnection(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{DR}})
	steps := []struct {
		flags    uint8
		state    conntab.State
		active   int
		inactive int
	}{
		{syn, conntab.SynRecv, 0, 1},
		{ack, conntab.Established, 1, 0},
		{ack | psh, conntab.Established, 1, 0},
		{fin | ack, conntab.FinWait, 0, 1},
		{ack, conntab.FinWait, 0, 1},
	}
	for _, s := range steps {
		in := fromClient(client, s.flags, 5000, "")
		p, f := b.one(in)
		if [6]byte(f[0:6]) != rsMAC(0) || [6]byte(f[6:12]) != dirMAC {
			t.Errorf("MACs %x -> %x", f[6:12], f[0:6])
		}
		if !bytes.Equal(f[12:22], in[12:22]) || f[22] != in[22]-1 || !bytes.Equal(f[23:24], in[23:24]) || !bytes.Equal(f[26:], in[26:]) {
			t.Errorf("more than MACs and TTL changed:\n%x\n%x", in, f)
		}
		if p.Dst != u32of(vip.Addr()) {
			t.Errorf("destination rewritten")
		}
		if cs := b.d.Conns(); cs[0].State != s.state.String() {
			t.Errorf("flags %#x: state %s, want %v", s.flags, cs[0].State, s.state)
		}
		if a, i := b.pool(0); a != s.active || i != s.inactive {
			t.Errorf("flags %#x: active %d inactive %d, want %d %d", s.flags, a, i, s.active, s.inactive)
		}
	}
	b.advance(120 * time.Second) // FIN_WAIT
	if n := b.d.Stats().Entries; n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

// Checksum offload leaves partial TCP/UDP checksums on frames from a local
// stack; the director completes them, for DR (no rewrite) as for NAT.
func TestPartialChecksums(t *testing.T) {
	for _, m := range []Method{DR, NAT, TUN} {
		t.Run(m.String(), func(t *testing.T) {
			b := newBed(t, bedConfig{methods: []Method{m}})
			f := fromClient(client, syn, 1, "")
			var p packet.Packet
			packet.Parse(f, &p)
			binary.BigEndian.PutUint16(f[p.L4+16:], packet.Fold(packet.PseudoSum(p.Src, p.Dst, 6, p.Len-p.IHL)))
			if packettest.Verify(f) == nil {
				t.Fatal("partial checksum verifies")
			}
			out := b.send(f, true)
			if len(out) != 1 {
				t.Fatalf("%d frames", len(out))
			}
			if err := packettest.Verify(out[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// VS/TUN: the outer header copies TTL, DF and DSCP; a DF packet too big for
// the tunnel is answered with ICMP fragmentation needed carrying the
// tunnel's MTU; a non-DF one leaves as outer fragments.
func TestTUN(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{TUN}, mtu: 1500})
	in := fromClient(client, syn, 1, "")
	p, f := b.one(in)
	var ip packet.Packet
	packet.Parse(in, &ip)
	if p.Proto != packet.ProtoIPIP || p.Src != u32of(dirAddr) || p.Dst != u32of(rsAddr(0)) || p.TTL != ip.TTL-1 || !p.DF() || p.TOS != 0x10 {
		t.Errorf("outer %+v", p)
	}
	if [6]byte(f[0:6]) != rsMAC(0) || [6]byte(f[6:12]) != dirMAC {
		t.Error("MACs")
	}
	var inner packet.Packet
	if packet.Parse(append(append([]byte(nil), f[:14]...), f[34:]...), &inner) != packet.OK || inner.Dst != u32of(vip.Addr()) ||
		inner.DstPort != 80 || inner.TTL != ip.TTL-1 {
		t.Errorf("inner %+v", inner)
	}
	if cs := b.d.Conns(); cs[0].State != "SYN_RECV" {
		t.Error("state")
	}
	// 1481 bytes with DF: 1481 + 20 > 1500
	big := fromClient(client, ack, 2, strings.Repeat("y", 1481-40))
	p, f = b.one(big)
	if p.Proto != packet.ProtoICMP || p.ICMPType != 3 || p.ICMPCode != 4 || p.Dst != u32of(client.Addr()) || p.Src != u32of(vip.Addr()) {
		t.Fatalf("want frag needed to the client, got %+v", p)
	}
	if mtu := binary.BigEndian.Uint16(f[p.L4+6:]); mtu != 1480 {
		t.Errorf("MTU %d, want 1480", mtu)
	}
	if [6]byte(f[0:6]) != clientMAC {
		t.Error("ICMP not sent back to the client's MAC")
	}
	if b.d.Stats().Drops[DropFragNeeded] != 1 {
		t.Error("not counted")
	}
	// 1480 fits exactly
	if p, _ = b.one(fromClient(client, ack, 2, strings.Repeat("y", 1480-40))); p.Proto != packet.ProtoIPIP || p.Len != 1500 {
		t.Errorf("1480-byte packet: %+v", p)
	}
	// without DF: two outer fragments
	nodf := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: ack,
		Payload: bytes.Repeat([]byte{7}, 1460)})
	out := b.send(nodf)
	if len(out) != 2 {
		t.Fatalf("%d frames, want 2 fragments", len(out))
	}
	var whole []byte
	for i, o := range out {
		var fp packet.Packet
		if packet.Parse(o, &fp) != packet.OK || fp.Proto != 4 || (fp.Frag&packet.FlagMF != 0) != (i == 0) || fp.Len > 1500 {
			t.Fatalf("fragment %d: %+v", i, fp)
		}
		if err := packettest.Verify(o); err != nil {
			t.Fatal(err)
		}
		whole = append(whole, o[34:14+fp.Len]...)
	}
	var ip2 packet.Packet
	packet.Parse(nodf, &ip2)
	if len(whole) != 1500 || !bytes.Equal(whole[20:], nodf[34:]) || whole[8] != ip2.TTL-1 {
		t.Errorf("reassembled inner differs (len %d)", len(whole))
	}
}

// ECN: CE on the inner packet is not copied outward (RFC 6040).
func TestTUNECN(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{TUN}})
	f := packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: syn, TOS: 0xbb})
	if p, _ := b.one(f); p.TOS != 0xba {
		t.Errorf("outer TOS %#x, want 0xba", p.TOS)
	}
}

func TestTUNNeedsAddress(t *testing.T) {
	b := newBed(t, bedConfig{methods: []Method{TUN}, noAddr: true})
	b.none(fromClient(client, syn, 1, ""), DropNoTunnelSource)
}
