package packet

import "encoding/binary"

// SetMACs writes a frame's destination and source MAC addresses.
func SetMACs(frame []byte, dst, src [6]byte) {
	copy(frame[0:6], dst[:])
	copy(frame[6:12], src[:])
}

// DecTTL decrements the TTL of a parsed IPv4 packet and updates its
// header checksum incrementally. The caller checks that TTL is above 1.
func (p *Packet) DecTTL() {
	ip := p.Frame[p.IP:]
	old := binary.BigEndian.Uint16(ip[8:])
	ip[8]--
	p.TTL--
	csum := binary.BigEndian.Uint16(ip[10:])
	binary.BigEndian.PutUint16(ip[10:], Update16(csum, old, binary.BigEndian.Uint16(ip[8:])))
}

// l4CsumOffset returns the offset of the transport checksum of p, or -1
// when it has none to maintain (UDP's 0 means "no checksum", RFC 768).
func (p *Packet) l4CsumOffset() int {
	switch p.Proto {
	case ProtoTCP:
		return p.L4 + 16
	case ProtoUDP:
		if binary.BigEndian.Uint16(p.Frame[p.L4+6:]) == 0 {
			return -1
		}
		return p.L4 + 6
	}
	return -1
}

// SetDst rewrites the destination address and port of a TCP or UDP packet
// (DNAT, ip_vs_nat_xmit with tcp_dnat_handler), updating the IP header
// checksum and, unless partial, the transport checksum incrementally
// (RFC 1624). A partial checksum (the frame came from a local stack with
// checksum offload) is left for CompleteL4, which the caller must call.
func (p *Packet) SetDst(addr uint32, port uint16, partial bool) {
	p.rewrite(16, 2, addr, port, partial)
	p.Dst, p.DstPort = addr, port
}

// SetSrc rewrites the source address and port of a TCP or UDP packet
// (SNAT of a real server's reply, tcp_snat_handler); see SetDst.
func (p *Packet) SetSrc(addr uint32, port uint16, partial bool) {
	p.rewrite(12, 0, addr, port, partial)
	p.Src, p.SrcPort = addr, port
}

func (p *Packet) rewrite(addrOff, portOff int, addr uint32, port uint16, partial bool) {
	ip := p.Frame[p.IP:]
	oldAddr := binary.BigEndian.Uint32(ip[addrOff:])
	binary.BigEndian.PutUint32(ip[addrOff:], addr)
	binary.BigEndian.PutUint16(ip[10:], Update32(binary.BigEndian.Uint16(ip[10:]), oldAddr, addr))
	l4 := p.Frame[p.L4:]
	oldPort := binary.BigEndian.Uint16(l4[portOff:])
	binary.BigEndian.PutUint16(l4[portOff:], port)
	if partial {
		return
	}
	if off := p.l4CsumOffset(); off >= 0 {
		c := binary.BigEndian.Uint16(p.Frame[off:])
		c = Update16(Update32(c, oldAddr, addr), oldPort, port)
		if c == 0 && p.Proto == ProtoUDP {
			c = 0xffff // RFC 768: a computed 0 is sent as all ones
		}
		binary.BigEndian.PutUint16(p.Frame[off:], c)
	}
}

// CompleteL4 computes the full TCP or UDP checksum of p over its
// pseudo-header and segment, replacing whatever the checksum field held
// (a partial checksum left by checksum offload). Other protocols are left
// alone.
func (p *Packet) CompleteL4() {
	var off int
	switch p.Proto {
	case ProtoTCP:
		off = p.L4 + 16
	case ProtoUDP:
		off = p.L4 + 6
	default:
		return
	}
	seg := p.Frame[p.L4 : p.IP+p.Len]
	p.Frame[off], p.Frame[off+1] = 0, 0
	c := ^Fold(Sum(seg, PseudoSum(p.Src, p.Dst, p.Proto, len(seg))))
	if c == 0 && p.Proto == ProtoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(p.Frame[off:], c)
}

// SetIPHeaderChecksum recomputes the IPv4 header checksum of the header
// at frame[off:] of length ihl.
func SetIPHeaderChecksum(frame []byte, off, ihl int) {
	h := frame[off : off+ihl]
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], Checksum(h))
}

// NATICMP rewrites an ICMP error about a connection's packet for the other
// side of the NAT (ip_vs_nat_icmp, ip_vs_core.c). in says the error
// travels toward the real server: its destination becomes addr and the
// quoted packet's source becomes addr:port (the quoted packet was a reply
// from the virtual service). Otherwise the error travels toward the
// client: its source becomes addr and the quoted packet's destination
// addr:port. Both IP header checksums and the ICMP checksum are
// recomputed over the message as received.
func (p *Packet) NATICMP(q *Quoted, in bool, addr uint32, port uint16) {
	outerOff, innerOff, portOff := 16, 12, 0
	if !in {
		outerOff, innerOff, portOff = 12, 16, 2
	}
	ip := p.Frame[p.IP:]
	binary.BigEndian.PutUint32(ip[outerOff:], addr)
	binary.BigEndian.PutUint32(p.Frame[q.IP+innerOff:], addr)
	if q.HasPorts {
		binary.BigEndian.PutUint16(p.Frame[q.L4+portOff:], port)
	}
	SetIPHeaderChecksum(p.Frame, q.IP, q.IHL)
	icmp := p.Frame[p.L4 : p.IP+p.Len]
	icmp[2], icmp[3] = 0, 0
	binary.BigEndian.PutUint16(icmp[2:], Checksum(icmp))
	SetIPHeaderChecksum(p.Frame, p.IP, p.IHL)
	if in {
		p.Dst = addr
	} else {
		p.Src = addr
	}
}
