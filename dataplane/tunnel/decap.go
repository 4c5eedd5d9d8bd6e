package tunnel

import (
	"encoding/binary"
	"net/netip"
)

// Reason is what became of a received packet.
type Reason int

// The reasons, Decapsulated first; the others count drops.
const (
	Decapsulated Reason = iota // the inner packet went to the TUN device
	NotIPIP                    // not a well-formed IPv4 packet of protocol 4 (or a fragment)
	NotLocal                   // the outer destination is not an address of this host
	BadInner                   // the inner packet is not a well-formed IPv4 packet
	NotVIP                     // the inner destination is not one of the agent's VIPs
	WriteError                 // writing to the TUN device failed

	numReasons
)

var reasonNames = [numReasons]string{"decapsulated", "not_ipip", "not_local", "bad_inner", "not_vip", "write_error"}

func (r Reason) String() string {
	if r >= 0 && r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason in order.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

const protoIPIP = 4

// header checks the IPv4 header at the start of p and returns its length
// and the packet's total length; ok is false if p does not hold a whole,
// well-formed header (version, length fields, checksum) and packet.
func header(p []byte) (hlen, total int, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return 0, 0, false
	}
	hlen = int(p[0]&0x0f) * 4
	total = int(binary.BigEndian.Uint16(p[2:]))
	if hlen < 20 || hlen > len(p) || total < hlen || total > len(p) || checksum(p[:hlen]) != 0 {
		return 0, 0, false
	}
	return hlen, total, true
}

// checksum is the Internet checksum of b (0 for a header with a correct
// checksum field).
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Decap checks an IP-in-IP packet as a raw socket for protocol 4 receives
// it (outer header first) and returns the inner packet, a sub-slice of pkt
// trimmed to its total length, or the reason it must be dropped. local
// says whether an address is one of this host's, vip whether it is one of
// the VIPs served.
func Decap(pkt []byte, local, vip func(netip.Addr) bool) ([]byte, Reason) {
	hlen, total, ok := header(pkt)
	if !ok || pkt[9] != protoIPIP || binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 {
		return nil, NotIPIP // malformed, another protocol, or a fragment (the kernel reassembles first)
	}
	if !local(netip.AddrFrom4([4]byte(pkt[16:20]))) {
		return nil, NotLocal
	}
	inner := pkt[hlen:total]
	_, itotal, ok := header(inner)
	if !ok {
		return nil, BadInner
	}
	inner = inner[:itotal]
	if !vip(netip.AddrFrom4([4]byte(inner[16:20]))) {
		return nil, NotVIP
	}
	return inner, Decapsulated
}
