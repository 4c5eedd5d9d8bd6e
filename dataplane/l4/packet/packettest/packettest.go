// Package packettest builds Ethernet/IPv4 frames for tests of the layer-4
// director and checks their checksums with a deliberately naive RFC 1071
// implementation that shares no code with package packet.
package packettest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Spec describes a frame to build. Zero values take defaults: TTL 64,
// IPv4 EtherType, and for TCP an ACK-less segment with the given flags.
type Spec struct {
	DstMAC, SrcMAC [6]byte
	Src, Dst       netip.AddrPort // addresses and ports (ports ignored for ICMP and IPIP)
	Proto          uint8          // 6 TCP, 17 UDP, 1 ICMP, 4 IPIP, or another protocol
	TTL            uint8
	TOS            uint8
	ID             uint16
	DF             bool
	FragOffset     int  // bytes, a multiple of 8
	MoreFragments  bool // MF flag
	IPOptions      []byte
	Flags          uint8 // TCP flags
	Seq, Ack       uint32
	TCPOptions     []byte
	ICMPType       uint8
	ICMPCode       uint8
	ICMPRest       uint32 // ICMP header's second word
	Payload        []byte // after the transport header (the whole IP payload for other protocols)
	NoUDPChecksum  bool   // send UDP with checksum 0
}

// Frame builds the frame, with every checksum correct.
func Frame(s Spec) []byte {
	var l4 []byte
	switch s.Proto {
	case 6:
		hl := 20 + len(s.TCPOptions)
		l4 = make([]byte, hl+len(s.Payload))
		binary.BigEndian.PutUint16(l4[0:], s.Src.Port())
		binary.BigEndian.PutUint16(l4[2:], s.Dst.Port())
		binary.BigEndian.PutUint32(l4[4:], s.Seq)
		binary.BigEndian.PutUint32(l4[8:], s.Ack)
		l4[12] = byte(hl/4) << 4
		l4[13] = s.Flags
		binary.BigEndian.PutUint16(l4[14:], 65535)
		copy(l4[20:], s.TCPOptions)
		copy(l4[hl:], s.Payload)
	case 17:
		l4 = make([]byte, 8+len(s.Payload))
		binary.BigEndian.PutUint16(l4[0:], s.Src.Port())
		binary.BigEndian.PutUint16(l4[2:], s.Dst.Port())
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		copy(l4[8:], s.Payload)
	case 1:
		l4 = make([]byte, 8+len(s.Payload))
		l4[0], l4[1] = s.ICMPType, s.ICMPCode
		binary.BigEndian.PutUint32(l4[4:], s.ICMPRest)
		copy(l4[8:], s.Payload)
	default:
		l4 = append([]byte(nil), s.Payload...)
	}
	ihl := 20 + len(s.IPOptions)
	total := ihl + len(l4)
	f := make([]byte, 14+total)
	copy(f[0:6], s.DstMAC[:])
	copy(f[6:12], s.SrcMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x40 | byte(ihl/4)
	ip[1] = s.TOS
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], s.ID)
	frag := uint16(s.FragOffset / 8)
	if s.DF {
		frag |= 0x4000
	}
	if s.MoreFragments {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], frag)
	ip[8] = s.TTL
	if ip[8] == 0 {
		ip[8] = 64
	}
	ip[9] = s.Proto
	src, dst := s.Src.Addr().As4(), s.Dst.Addr().As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	copy(ip[20:], s.IPOptions)
	copy(ip[ihl:], l4)
	binary.BigEndian.PutUint16(ip[10:], Checksum(ip[:ihl]))
	seg := ip[ihl:total]
	switch s.Proto {
	case 6:
		binary.BigEndian.PutUint16(seg[16:], Checksum(pseudo(ip, len(seg)), seg))
	case 17:
		if !s.NoUDPChecksum {
			c := Checksum(pseudo(ip, len(seg)), seg)
			if c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(seg[6:], c)
		}
	case 1:
		binary.BigEndian.PutUint16(seg[2:], Checksum(seg))
	}
	return f
}

func pseudo(ip []byte, n int) []byte {
	p := make([]byte, 12)
	copy(p[0:8], ip[12:20])
	p[9] = ip[9]
	binary.BigEndian.PutUint16(p[10:], uint16(n))
	return p
}

// Checksum is the Internet checksum of the concatenation of parts,
// computed 16 bits at a time with end-around carry (RFC 1071), the
// slowest and plainest way.
func Checksum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var sum uint32
	for i := 0; i < len(all); i += 2 {
		sum += uint32(all[i])<<8 | uint32(all[i+1])
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
	}
	return ^uint16(sum)
}

// Verify checks the IPv4 header checksum and, for an unfragmented TCP,
// UDP or ICMP packet, the transport checksum of an Ethernet frame. It
// also checks an IPIP packet's inner header checksum and an ICMP error's
// quoted header checksum.
func Verify(frame []byte) error {
	if len(frame) < 34 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return errors.New("not an IPv4 frame")
	}
	return verifyIP(frame[14:], true)
}

func verifyIP(ip []byte, full bool) error {
	ihl := int(ip[0]&15) * 4
	if ihl < 20 || len(ip) < ihl {
		return fmt.Errorf("bad IHL %d", ihl)
	}
	if c := Checksum(ip[:ihl]); c != 0 {
		return fmt.Errorf("IP header checksum %#04x does not verify", binary.BigEndian.Uint16(ip[10:]))
	}
	if !full {
		return nil
	}
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total > len(ip) || total < ihl {
		return fmt.Errorf("total length %d, have %d bytes", total, len(ip))
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return nil // a fragment: no whole transport segment to check
	}
	seg := ip[ihl:total]
	switch ip[9] {
	case 6:
		if c := Checksum(pseudo(ip, len(seg)), seg); c != 0 {
			return fmt.Errorf("TCP checksum %#04x does not verify", binary.BigEndian.Uint16(seg[16:]))
		}
	case 17:
		if binary.BigEndian.Uint16(seg[6:]) != 0 {
			if c := Checksum(pseudo(ip, len(seg)), seg); c != 0 {
				return fmt.Errorf("UDP checksum %#04x does not verify", binary.BigEndian.Uint16(seg[6:]))
			}
		}
	case 1:
		if c := Checksum(seg); c != 0 {
			return fmt.Errorf("ICMP checksum %#04x does not verify", binary.BigEndian.Uint16(seg[2:]))
		}
		if len(seg) >= 28 && (seg[0] == 3 || seg[0] == 11 || seg[0] == 4) {
			if err := verifyIP(seg[8:], false); err != nil {
				return fmt.Errorf("quoted packet: %w", err)
			}
		}
	case 4:
		if err := verifyIP(seg, true); err != nil {
			return fmt.Errorf("inner packet: %w", err)
		}
	}
	return nil
}

// MAC returns a locally administered MAC address ending in b.
func MAC(b byte) [6]byte { return [6]byte{0x02, 0, 0, 0, 0, b} }
