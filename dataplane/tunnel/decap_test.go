package tunnel

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

var (
	dirIP = netip.MustParseAddr("198.18.0.1")
	rsIP  = netip.MustParseAddr("198.18.0.11")
	clIP  = netip.MustParseAddr("198.18.0.101")
	vip   = netip.MustParseAddr("198.18.0.254")
)

// ip4 is an IPv4 packet from src to dst of protocol proto carrying
// payload, with opts option bytes (a multiple of 4) and a correct checksum.
func ip4(src, dst netip.Addr, proto byte, opts int, payload []byte) []byte {
	hlen := 20 + opts
	p := make([]byte, hlen, hlen+len(payload))
	p[0] = 0x40 | byte(hlen/4)
	binary.BigEndian.PutUint16(p[2:], uint16(hlen+len(payload)))
	binary.BigEndian.PutUint16(p[6:], 0x4000) // DF
	p[8], p[9] = 64, proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	for i := 20; i < hlen; i++ {
		p[i] = 1 // NOP options
	}
	binary.BigEndian.PutUint16(p[10:], checksum(p[:hlen]))
	return append(p, payload...)
}

// fix recomputes the header checksum of p after an edit.
func fix(p []byte) []byte {
	hlen := int(p[0]&0x0f) * 4
	binary.BigEndian.PutUint16(p[10:], 0)
	binary.BigEndian.PutUint16(p[10:], checksum(p[:hlen]))
	return p
}

func TestDecap(t *testing.T) {
	inner := ip4(clIP, vip, 6, 0, []byte("a TCP segment, say"))
	encap := func(in []byte) []byte { return ip4(dirIP, rsIP, protoIPIP, 0, in) }
	edit := func(p []byte, f func([]byte)) []byte {
		p = bytes.Clone(p)
		f(p)
		return p
	}
	local := func(a netip.Addr) bool { return a == rsIP || a == vip }
	isVIP := func(a netip.Addr) bool { return a == vip }
	tests := []struct {
		name  string
		pkt   []byte
		want  Reason
		inner []byte
	}{
		{"ipip to a vip", encap(inner), Decapsulated, inner},
		{"outer options", ip4(dirIP, rsIP, protoIPIP, 8, inner), Decapsulated, inner},
		{"inner options", encap(ip4(clIP, vip, 17, 4, []byte("udp"))), Decapsulated, ip4(clIP, vip, 17, 4, []byte("udp"))},
		{"bytes after the outer packet", append(encap(inner), 0, 0, 0, 0), Decapsulated, inner},
		{"bytes after the inner packet", ip4(dirIP, rsIP, protoIPIP, 0, append(bytes.Clone(inner), 9, 9)), Decapsulated, inner},
		{"inner fragment", encap(fix(edit(inner, func(p []byte) { p[6] = 0x20 }))), Decapsulated, fix(edit(inner, func(p []byte) { p[6] = 0x20 }))},
		{"empty", nil, NotIPIP, nil},
		{"short", encap(inner)[:19], NotIPIP, nil},
		{"tcp, not ipip", ip4(dirIP, rsIP, 6, 0, inner), NotIPIP, nil},
		{"ipv6 version", fix(edit(encap(inner), func(p []byte) { p[0] = 0x65 })), NotIPIP, nil},
		{"header length 16", fix(edit(encap(inner), func(p []byte) { p[0] = 0x44 })), NotIPIP, nil},
		{"header longer than packet", edit(encap(inner)[:24], func(p []byte) { p[0] = 0x4f }), NotIPIP, nil},
		{"total length over the data", fix(edit(encap(inner), func(p []byte) { p[2] = 0xff })), NotIPIP, nil},
		{"total length under the header", fix(edit(encap(inner), func(p []byte) { p[2], p[3] = 0, 12 })), NotIPIP, nil},
		{"bad outer checksum", edit(encap(inner), func(p []byte) { p[10]++ }), NotIPIP, nil},
		{"outer fragment", fix(edit(encap(inner), func(p []byte) { p[6] = 0x20 })), NotIPIP, nil},
		{"outer to another host", ip4(dirIP, clIP, protoIPIP, 0, inner), NotLocal, nil},
		{"no inner packet", encap(nil), BadInner, nil},
		{"bad inner checksum", encap(edit(inner, func(p []byte) { p[10]++ })), BadInner, nil},
		{"inner truncated", encap(inner[:len(inner)-1]), BadInner, nil},
		{"inner not ipv4", encap(fix(edit(inner, func(p []byte) { p[0] = 0x55 }))), BadInner, nil},
		{"inner to another address", encap(ip4(clIP, rsIP, 6, 0, nil)), NotVIP, nil},
	}
	for _, tc := range tests {
		got, r := Decap(tc.pkt, local, isVIP)
		if r != tc.want || !bytes.Equal(got, tc.inner) {
			t.Errorf("%s: %v, % x; want %v, % x", tc.name, r, got, tc.want, tc.inner)
		}
	}
}

func TestReasonNames(t *testing.T) {
	want := "decapsulated not_ipip not_local bad_inner not_vip write_error"
	var names []string
	for _, r := range Reasons() {
		names = append(names, r.String())
	}
	if got := strings.Join(names, " "); got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
	if Reason(-1).String() != "unknown" || numReasons.String() != "unknown" {
		t.Error("out-of-range reasons have names")
	}
}

// FuzzDecap: no input panics Decap, and whatever it passes on is a
// well-formed IPv4 packet to a VIP inside the input.
func FuzzDecap(f *testing.F) {
	f.Add(ip4(dirIP, rsIP, protoIPIP, 0, ip4(clIP, vip, 6, 0, []byte("x"))))
	f.Add(ip4(dirIP, rsIP, protoIPIP, 4, ip4(clIP, vip, 17, 8, nil)))
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		inner, r := Decap(pkt, func(netip.Addr) bool { return true }, func(a netip.Addr) bool { return a == vip })
		if r != Decapsulated {
			if inner != nil {
				t.Fatalf("%v with an inner packet", r)
			}
			return
		}
		_, total, ok := header(inner)
		if !ok || total != len(inner) || netip.AddrFrom4([4]byte(inner[16:20])) != vip || !bytes.Contains(pkt, inner) {
			t.Fatalf("passed on % x from % x", inner, pkt)
		}
	})
}
