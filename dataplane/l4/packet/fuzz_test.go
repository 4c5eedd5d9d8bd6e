package packet_test

import (
	"net/netip"
	"testing"

	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
)

// Parse never panics, whatever the bytes; what it accepts stays inside
// the frame, and every rewrite and builder works on what it accepts.
func FuzzParse(f *testing.F) {
	f.Add(packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6, Flags: packet.SYN}))
	f.Add(packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 17, Payload: []byte("q")}))
	f.Add(packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 1, ICMPType: 3, ICMPCode: 4,
		Payload: packettest.Frame(packettest.Spec{Src: vip, Dst: client, Proto: 6})[14:]}))
	f.Add(packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6, IPOptions: []byte{1, 1, 1, 1}, MoreFragments: true}))
	f.Add(packettest.Frame(packettest.Spec{Src: netip.MustParseAddrPort("10.0.0.1:0"), Dst: vip, Proto: 4,
		Payload: packettest.Frame(packettest.Spec{Src: client, Dst: vip, Proto: 6})[14:]}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p packet.Packet
		if packet.Parse(b, &p) != packet.OK {
			return
		}
		if p.EtherType == packet.EtherTypeARP {
			var a packet.ARP
			if packet.ParseARP(b, &a) == packet.OK {
				buf := make([]byte, 64)
				packet.ARPReplyFrame(buf, &a, [6]byte{})
			}
			return
		}
		if p.EtherType != packet.EtherTypeIPv4 {
			return
		}
		if p.IP+p.Len > len(b) || p.L4 > p.IP+p.Len || p.IHL < 20 {
			t.Fatalf("offsets out of the frame: %+v len %d", p, len(b))
		}
		buf := make([]byte, packet.ICMPFrameMax)
		packet.ICMPError(buf, &p, 1, 3, 4, 1480, [6]byte{}, 0)
		o := &packet.Outer{}
		packet.Encap(make([]byte, 14+20+p.Len), p.IPPacket(), 0, p.Len, false, o)
		if p.Proto == packet.ProtoICMP && !p.IsFragment() {
			var q packet.Quoted
			if packet.ParseQuoted(b, p.L4+8, p.IP+p.Len, &q) {
				if q.L4 > p.IP+p.Len || q.IP+q.IHL > p.IP+p.Len {
					t.Fatalf("quoted past the packet: %+v", q)
				}
				c := append([]byte(nil), b...)
				var pc packet.Packet
				packet.Parse(c, &pc)
				pc.NATICMP(&q, true, 7, 8)
			}
		}
		if p.HasPorts {
			c := append([]byte(nil), b...)
			var pc packet.Packet
			packet.Parse(c, &pc)
			pc.SetDst(1, 2, false)
			pc.SetSrc(3, 4, true)
			pc.CompleteL4()
			if pc.TTL > 1 {
				pc.DecTTL()
			}
		}
	})
}
