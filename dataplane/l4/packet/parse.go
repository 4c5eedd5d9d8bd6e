package packet

import "encoding/binary"

// Header sizes, EtherTypes, protocol numbers and flags.
const (
	EthLen  = 14 // Ethernet header
	IPv4Len = 20 // IPv4 header without options
	TCPLen  = 20 // TCP header without options
	UDPLen  = 8
	ICMPLen = 8
	ARPLen  = 28 // ARP for IPv4 over Ethernet

	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806

	ProtoICMP = 1
	ProtoIPIP = 4
	ProtoTCP  = 6
	ProtoUDP  = 17

	// IPv4 flags and fragment offset field.
	FlagDF     = 0x4000
	FlagMF     = 0x2000
	FragOffset = 0x1fff

	// TCP flags.
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10

	// ICMP types and codes the director reads or writes.
	ICMPDestUnreach  = 3
	ICMPSourceQuench = 4
	ICMPTimeExceeded = 11
	ICMPFragNeeded   = 4 // code of ICMPDestUnreach
	ICMPTTLExceeded  = 0 // code of ICMPTimeExceeded
)

// Reason says why a frame did not parse. OK is zero.
type Reason uint8

// Parse failures.
const (
	OK             Reason = iota
	ShortFrame            // shorter than an Ethernet header
	ShortIP               // shorter than an IPv4 header
	BadVersion            // IP version other than 4
	BadHeaderLen          // IHL below 5 or past the packet
	BadTotalLen           // total length below the header or past the frame
	BadIPChecksum         // IPv4 header checksum does not verify
	ShortTransport        // TCP, UDP or ICMP header cut short
	BadTCPOffset          // TCP data offset below 5 or past the segment
	BadUDPLen             // UDP length below 8 or past the packet
	BadARP                // ARP other than IPv4 over Ethernet, or cut short

	NumReasons
)

var reasonNames = [NumReasons]string{
	"ok", "short_frame", "short_ip", "bad_version", "bad_header_len", "bad_total_len",
	"bad_ip_checksum", "short_transport", "bad_tcp_offset", "bad_udp_len", "bad_arp",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Packet is a parsed frame: offsets into Frame and the header fields the
// director reads. Fields past EtherType are valid only for an IPv4 frame
// that parsed OK; the transport fields only when HasPorts or the protocol
// is ICMP and the packet is not a later fragment.
type Packet struct {
	Frame     []byte // the whole frame, from the destination MAC
	EtherType uint16

	IP    int    // offset of the IPv4 header
	IHL   int    // IPv4 header length in bytes
	Len   int    // IPv4 total length; Frame may carry padding past IP+Len
	TOS   uint8  // type of service (DSCP and ECN)
	TTL   uint8  // time to live
	Proto uint8  // transport protocol
	Frag  uint16 // flags and fragment offset field
	Src   uint32 // source address, host order
	Dst   uint32 // destination address, host order

	L4       int    // offset of the transport header
	SrcPort  uint16 // TCP and UDP
	DstPort  uint16 // TCP and UDP
	HasPorts bool   // a TCP or UDP header was parsed
	Flags    uint8  // TCP flags
	Seq      uint32 // TCP sequence number
	ICMPType uint8
	ICMPCode uint8
}

// IsFragment reports whether the packet is a fragment (MF set or a
// non-zero offset).
func (p *Packet) IsFragment() bool { return p.Frag&(FlagMF|FragOffset) != 0 }

// DF reports whether the don't-fragment flag is set.
func (p *Packet) DF() bool { return p.Frag&FlagDF != 0 }

// IPPacket returns the IPv4 packet's bytes (without Ethernet padding).
func (p *Packet) IPPacket() []byte { return p.Frame[p.IP : p.IP+p.Len] }

// Parse fills p from frame. It returns OK for any frame with a complete
// Ethernet header whose IPv4 header (if it is IPv4) verifies and whose
// TCP, UDP or ICMP header (in an unfragmented packet or a first fragment)
// is complete; other EtherTypes and protocols parse OK with only the
// fields they have.
func Parse(frame []byte, p *Packet) Reason {
	p.Frame = frame
	p.HasPorts = false
	p.Flags = 0
	if len(frame) < EthLen {
		return ShortFrame
	}
	p.EtherType = binary.BigEndian.Uint16(frame[12:])
	if p.EtherType != EtherTypeIPv4 {
		return OK
	}
	p.IP = EthLen
	ip := frame[EthLen:]
	if len(ip) < IPv4Len {
		return ShortIP
	}
	if ip[0]>>4 != 4 {
		return BadVersion
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < IPv4Len || ihl > len(ip) {
		return BadHeaderLen
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total < ihl || total > len(ip) {
		return BadTotalLen
	}
	if Checksum(ip[:ihl]) != 0 {
		return BadIPChecksum
	}
	p.IHL, p.Len = ihl, total
	p.TOS, p.TTL, p.Proto = ip[1], ip[8], ip[9]
	p.Frag = binary.BigEndian.Uint16(ip[6:])
	p.Src = binary.BigEndian.Uint32(ip[12:])
	p.Dst = binary.BigEndian.Uint32(ip[16:])
	p.L4 = EthLen + ihl
	if p.Frag&FragOffset != 0 {
		return OK // a later fragment carries no transport header
	}
	return parseTransport(frame[p.L4:EthLen+total], p)
}

func parseTransport(seg []byte, p *Packet) Reason {
	switch p.Proto {
	case ProtoTCP:
		if len(seg) < TCPLen {
			return ShortTransport
		}
		if off := int(seg[12]>>4) * 4; off < TCPLen || off > len(seg) {
			return BadTCPOffset
		}
		p.SrcPort = binary.BigEndian.Uint16(seg)
		p.DstPort = binary.BigEndian.Uint16(seg[2:])
		p.Seq = binary.BigEndian.Uint32(seg[4:])
		p.Flags = seg[13]
		p.HasPorts = true
	case ProtoUDP:
		if len(seg) < UDPLen {
			return ShortTransport
		}
		if p.Frag&FlagMF == 0 { // the UDP length covers all fragments
			if n := int(binary.BigEndian.Uint16(seg[4:])); n < UDPLen || n > len(seg) {
				return BadUDPLen
			}
		}
		p.SrcPort = binary.BigEndian.Uint16(seg)
		p.DstPort = binary.BigEndian.Uint16(seg[2:])
		p.HasPorts = true
	case ProtoICMP:
		if len(seg) < ICMPLen {
			return ShortTransport
		}
		p.ICMPType, p.ICMPCode = seg[0], seg[1]
	}
	return OK
}

// Quoted is the start of the packet an ICMP error quotes (RFC 792: its IP
// header and at least 8 bytes of what follows), as far as it is present.
type Quoted struct {
	IP       int // offset of the quoted IPv4 header in the frame
	IHL      int
	Len      int // the quoted packet's total length field (of the original)
	Proto    uint8
	Frag     uint16
	Src, Dst uint32
	L4       int // offset of the quoted transport header
	SrcPort  uint16
	DstPort  uint16
	HasPorts bool // TCP or UDP ports are present (first fragment, 4 bytes quoted)
}

// ParseQuoted reads the IPv4 header quoted at offset off of frame (up to
// end) into q. It reports false when no complete IPv4 header is there.
// The quoted packet's own checksums are not checked (a router may have
// changed its TTL), and its transport header may be cut short.
func ParseQuoted(frame []byte, off, end int, q *Quoted) bool {
	if end > len(frame) || off < 0 || end-off < IPv4Len {
		return false
	}
	ip := frame[off:end]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < IPv4Len || ihl > len(ip) {
		return false
	}
	q.IP, q.IHL = off, ihl
	q.Len = int(binary.BigEndian.Uint16(ip[2:]))
	q.Proto = ip[9]
	q.Frag = binary.BigEndian.Uint16(ip[6:])
	q.Src = binary.BigEndian.Uint32(ip[12:])
	q.Dst = binary.BigEndian.Uint32(ip[16:])
	q.L4 = off + ihl
	q.HasPorts = false
	if (q.Proto == ProtoTCP || q.Proto == ProtoUDP) && q.Frag&FragOffset == 0 && len(ip) >= ihl+4 {
		q.SrcPort = binary.BigEndian.Uint16(ip[ihl:])
		q.DstPort = binary.BigEndian.Uint16(ip[ihl+2:])
		q.HasPorts = true
	}
	return true
}

// ARP is an ARP message for IPv4 over Ethernet.
type ARP struct {
	Op  uint16  // 1 request, 2 reply
	SHA [6]byte // sender hardware address
	SPA uint32  // sender protocol address
	THA [6]byte // target hardware address
	TPA uint32  // target protocol address
}

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ParseARP reads the ARP message of an ARP frame.
func ParseARP(frame []byte, a *ARP) Reason {
	if len(frame) < EthLen+ARPLen {
		return BadARP
	}
	b := frame[EthLen:]
	if binary.BigEndian.Uint16(b) != 1 || binary.BigEndian.Uint16(b[2:]) != EtherTypeIPv4 || b[4] != 6 || b[5] != 4 {
		return BadARP
	}
	a.Op = binary.BigEndian.Uint16(b[6:])
	copy(a.SHA[:], b[8:14])
	a.SPA = binary.BigEndian.Uint32(b[14:])
	copy(a.THA[:], b[18:24])
	a.TPA = binary.BigEndian.Uint32(b[24:])
	return OK
}
