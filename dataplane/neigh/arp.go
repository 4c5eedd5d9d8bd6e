package neigh

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// ARP operations.
const (
	OpRequest = 1
	OpReply   = 2
)

const (
	etherARP = 0x0806
	arpLen   = 28 // IPv4 over Ethernet
	minFrame = 60 // an Ethernet frame without its FCS is padded to this
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ARP is an ARP packet for IPv4 over Ethernet. MACs returned by ParseARP
// point into the frame.
type ARP struct {
	Op        uint16
	SenderMAC net.HardwareAddr
	SenderIP  netip.Addr
	TargetMAC net.HardwareAddr
	TargetIP  netip.Addr
}

// ParseARP parses an Ethernet frame carrying ARP for IPv4 over Ethernet;
// ok is false for anything else, including a truncated frame.
func ParseARP(frame []byte) (a ARP, ok bool) {
	if len(frame) < 14+arpLen || binary.BigEndian.Uint16(frame[12:]) != etherARP {
		return a, false
	}
	p := frame[14:]
	if binary.BigEndian.Uint16(p[0:]) != 1 || binary.BigEndian.Uint16(p[2:]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		return a, false
	}
	a.Op = binary.BigEndian.Uint16(p[6:])
	a.SenderMAC = net.HardwareAddr(p[8:14:14])
	a.SenderIP = netip.AddrFrom4([4]byte(p[14:18]))
	a.TargetMAC = net.HardwareAddr(p[18:24:24])
	a.TargetIP = netip.AddrFrom4([4]byte(p[24:28]))
	return a, true
}

// AppendFrame appends to buf an Ethernet frame from a.SenderMAC to dst
// carrying a, padded to the Ethernet minimum.
func AppendFrame(buf []byte, dst net.HardwareAddr, a ARP) []byte {
	start := len(buf)
	buf = append(buf, dst[:6]...)
	buf = append(buf, a.SenderMAC[:6]...)
	buf = binary.BigEndian.AppendUint16(buf, etherARP)
	buf = binary.BigEndian.AppendUint16(buf, 1)      // Ethernet
	buf = binary.BigEndian.AppendUint16(buf, 0x0800) // IPv4
	buf = append(buf, 6, 4)
	buf = binary.BigEndian.AppendUint16(buf, a.Op)
	buf = append(buf, a.SenderMAC[:6]...)
	s := a.SenderIP.As4()
	buf = append(buf, s[:]...)
	tmac := a.TargetMAC
	if len(tmac) < 6 {
		tmac = make(net.HardwareAddr, 6)
	}
	buf = append(buf, tmac[:6]...)
	t := a.TargetIP.As4()
	buf = append(buf, t[:]...)
	for len(buf)-start < minFrame {
		buf = append(buf, 0)
	}
	return buf
}

// Request is a broadcast ARP request for target from mac, ip.
func Request(mac net.HardwareAddr, ip, target netip.Addr) []byte {
	return AppendFrame(nil, Broadcast, ARP{Op: OpRequest, SenderMAC: mac, SenderIP: ip, TargetIP: target})
}

// Answer returns, appended to buf, the ARP reply to frame if frame is an
// ARP request for an address owns accepts, as a host owning it answers:
// mac is the answer, sent back to the requester's MAC. Gratuitous requests
// (sender and target address the same) get no answer.
func Answer(frame []byte, mac net.HardwareAddr, owns func(netip.Addr) bool, buf []byte) ([]byte, bool) {
	a, ok := ParseARP(frame)
	if !ok || a.Op != OpRequest || a.SenderIP == a.TargetIP || !owns(a.TargetIP) {
		return buf, false
	}
	return AppendFrame(buf, a.SenderMAC, ARP{Op: OpReply, SenderMAC: mac, SenderIP: a.TargetIP,
		TargetMAC: a.SenderMAC, TargetIP: a.SenderIP}), true
}
