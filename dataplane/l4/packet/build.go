package packet

import "encoding/binary"

// MinFrame is the shortest Ethernet frame without its FCS (ETH_ZLEN);
// builders pad to it.
const MinFrame = 60

// ICMPQuoteMax is how much of the offending packet an ICMP error carries:
// as much as fits in a 576-byte datagram (RFC 1812 §4.3.2.3; Linux
// icmp_send does the same).
const ICMPQuoteMax = 576 - IPv4Len - ICMPLen

// ICMPFrameMax is the largest frame ICMPError writes.
const ICMPFrameMax = EthLen + 576

func putEth(dst []byte, ethDst, ethSrc [6]byte, etherType uint16) {
	copy(dst[0:6], ethDst[:])
	copy(dst[6:12], ethSrc[:])
	binary.BigEndian.PutUint16(dst[12:], etherType)
}

// putIPv4 writes a 20-byte IPv4 header with its checksum.
func putIPv4(h []byte, tos uint8, total int, id uint16, frag uint16, ttl, proto uint8, src, dst uint32) {
	h[0] = 0x45
	h[1] = tos
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8] = ttl
	h[9] = proto
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint32(h[12:], src)
	binary.BigEndian.PutUint32(h[16:], dst)
	binary.BigEndian.PutUint16(h[10:], Checksum(h[:IPv4Len]))
}

func pad(dst []byte, n int) int {
	for n < MinFrame {
		dst[n] = 0
		n++
	}
	return n
}

// ICMPError writes into dst an Ethernet frame carrying an ICMP error of
// the given type and code about the IPv4 packet p (as it was received),
// from address src to p's source, sent back to the MAC address p came
// from; rest is the ICMP header's second word (the next-hop MTU in its low
// 16 bits for fragmentation needed, RFC 1191). It quotes up to
// ICMPQuoteMax bytes of p, and gives the datagram Linux's TOS for errors
// (precedence "internetwork control", icmp_send). It returns the frame's
// length, or 0 if dst is too short.
func ICMPError(dst []byte, p *Packet, src uint32, typ, code uint8, rest uint32, ethSrc [6]byte, id uint16) int {
	return ICMPErrorQuote(dst, p.Frame[p.IP:p.IP+p.Len], src, p.Src, p.TOS&0x1e|0xc0, typ, code, rest,
		[6]byte(p.Frame[6:12]), ethSrc, id)
}

// ICMPErrorQuote writes into dst an Ethernet frame carrying an ICMP error
// from src to to, quoting up to ICMPQuoteMax bytes of quote. It returns
// the frame's length, or 0 if dst is too short.
func ICMPErrorQuote(dst, quote []byte, src, to uint32, tos, typ, code uint8, rest uint32, ethDst, ethSrc [6]byte, id uint16) int {
	quote = quote[:min(len(quote), ICMPQuoteMax)]
	n := EthLen + IPv4Len + ICMPLen + len(quote)
	if len(dst) < max(n, MinFrame) {
		return 0
	}
	putEth(dst, ethDst, ethSrc, EtherTypeIPv4)
	putIPv4(dst[EthLen:], tos, IPv4Len+ICMPLen+len(quote), id, 0, 64, ProtoICMP, src, to)
	icmp := dst[EthLen+IPv4Len : n]
	icmp[0], icmp[1], icmp[2], icmp[3] = typ, code, 0, 0
	binary.BigEndian.PutUint32(icmp[4:], rest)
	copy(icmp[ICMPLen:], quote)
	binary.BigEndian.PutUint16(icmp[2:], Checksum(icmp))
	return pad(dst, n)
}

// ARPReplyFrame writes into dst the reply to ARP request req: "req's
// target address is at mac", sent to the asker. It returns the frame's
// length, or 0 if dst is too short.
func ARPReplyFrame(dst []byte, req *ARP, mac [6]byte) int {
	n := EthLen + ARPLen
	if len(dst) < MinFrame {
		return 0
	}
	putEth(dst, req.SHA, mac, EtherTypeARP)
	b := dst[EthLen:]
	binary.BigEndian.PutUint16(b, 1)
	binary.BigEndian.PutUint16(b[2:], EtherTypeIPv4)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], ARPReply)
	copy(b[8:14], mac[:])
	binary.BigEndian.PutUint32(b[14:], req.TPA)
	copy(b[18:24], req.SHA[:])
	binary.BigEndian.PutUint32(b[24:], req.SPA)
	return pad(dst, n)
}

// Outer is the outer header of an IPIP encapsulation (RFC 2003).
type Outer struct {
	EthDst, EthSrc [6]byte
	Src, Dst       uint32
	ID             uint16
	TOS            uint8
	TTL            uint8
	DF             bool
}

// EncapTOS returns the outer TOS for an inner TOS: the DSCP copied and
// the ECN field set as RFC 6040's full-functionality encapsulation does
// (INET_ECN_encapsulate: CE is not copied outward, ECT(0) replaces it).
func EncapTOS(inner uint8) uint8 {
	ecn := inner & 3
	if ecn == 3 {
		ecn = 2
	}
	return inner&^3 | ecn
}

// Encap writes into dst an Ethernet frame carrying part of an IPIP
// datagram: the outer IPv4 header (protocol 4) and inner[off:off+n], with
// the fragment offset off (a multiple of 8 unless it is the whole
// packet) and the more-fragments flag more. Encap(dst, inner, 0,
// len(inner), false, o) encapsulates the whole inner packet. It returns
// the frame's length, or 0 if dst is too short.
func Encap(dst []byte, inner []byte, off, n int, more bool, o *Outer) int {
	total := EthLen + IPv4Len + n
	if len(dst) < max(total, MinFrame) || off < 0 || off+n > len(inner) {
		return 0
	}
	putEth(dst, o.EthDst, o.EthSrc, EtherTypeIPv4)
	frag := uint16(off / 8)
	if o.DF {
		frag |= FlagDF
	}
	if more {
		frag |= FlagMF
	}
	putIPv4(dst[EthLen:], o.TOS, IPv4Len+n, o.ID, frag, o.TTL, ProtoIPIP, o.Src, o.Dst)
	copy(dst[EthLen+IPv4Len:], inner[off:off+n])
	return pad(dst, total)
}
