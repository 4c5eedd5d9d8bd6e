package afpacket

import (
	"errors"
	"fmt"
	"net/netip"
)

// Instruction is one classic BPF instruction (the kernel's struct
// sock_filter).
type Instruction struct {
	Op     uint16
	Jt, Jf uint8
	K      uint32
}

// Classic BPF opcodes and the kernel's ancillary offsets the programs use.
const (
	opLdH    = 0x28           // BPF_LD | BPF_H | BPF_ABS
	opLdW    = 0x20           // BPF_LD | BPF_W | BPF_ABS
	opJeqK   = 0x15           // BPF_JMP | BPF_JEQ | BPF_K
	opRetK   = 0x06           // BPF_RET | BPF_K
	adPktype = 0xfffff000 + 4 // SKF_AD_OFF + SKF_AD_PKTTYPE

	etherARP  = 0x0806
	etherIPv4 = 0x0800

	packetHost = 0          // PACKET_HOST: addressed to this interface's MAC
	acceptAll  = 0xffffffff // return value: keep the whole frame
)

// MaxDst is the most destination addresses a Match may list (classic BPF
// jumps are 8 bits long).
const MaxDst = 64

// Match selects the frames a Link receives; the kernel runs it as a
// classic BPF program before a frame takes a ring slot, so frames the
// forwarder does not want cost no system call and no slot. The zero Match
// accepts nothing; a nil *Match in Config accepts everything.
type Match struct {
	// ARP accepts ARP frames (requests are broadcast, replies unicast).
	ARP bool
	// IPv4 accepts IPv4 frames sent to this interface's MAC address
	// (packet type PACKET_HOST): not broadcasts, multicasts or frames
	// for other hosts seen in promiscuous mode.
	IPv4 bool
	// Dst, if not empty, narrows IPv4 to packets whose destination
	// address is one of these (the VIPs). At most MaxDst IPv4 addresses.
	Dst []netip.Addr
}

// Program returns the classic BPF program of m:
//
//	ldh [12]                  ; EtherType
//	jeq #0x806, arp, next
//	jeq #0x800, next, drop
//	ld  #pkttype
//	jeq #PACKET_HOST, next, drop
//	ld  [30]                  ; IPv4 destination (only with Dst)
//	jeq #dst1, accept, next
//	...
//	ret #0                    ; drop
//	ret #-1                   ; accept (arp: the same, or drop without ARP)
func (m Match) Program() ([]Instruction, error) {
	if len(m.Dst) > MaxDst {
		return nil, fmt.Errorf("afpacket: filter: %d destination addresses, at most %d", len(m.Dst), MaxDst)
	}
	if len(m.Dst) > 0 && !m.IPv4 {
		return nil, errors.New("afpacket: filter: destination addresses without IPv4")
	}
	var dst []uint32
	for _, a := range m.Dst {
		if !a.Is4() {
			return nil, fmt.Errorf("afpacket: filter: %v is not an IPv4 address", a)
		}
		b := a.As4()
		dst = append(dst, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
	}
	// Build the IPv4 part first, then place drop and accept after it and
	// resolve the jumps, which only go forward.
	const drop, accept, arp = -1, -2, -3
	type insn struct {
		Instruction
		jt, jf int // targets: an index, drop, accept or arp; 0: next
	}
	var p []insn
	add := func(op uint16, k uint32, jt, jf int) { p = append(p, insn{Instruction{Op: op, K: k}, jt, jf}) }
	add(opLdH, 12, 0, 0)
	add(opJeqK, etherARP, arp, 0)
	if m.IPv4 {
		add(opJeqK, etherIPv4, 0, drop)
		add(opLdW, adPktype, 0, 0)
		add(opJeqK, packetHost, 0, drop)
		if len(dst) == 0 {
			add(opRetK, acceptAll, 0, 0)
		}
		for i, d := range dst {
			jf := 0
			if i == len(dst)-1 {
				jf = drop
			}
			if i == 0 {
				add(opLdW, 30, 0, 0)
			}
			add(opJeqK, d, accept, jf)
		}
	}
	dropAt := len(p)
	add(opRetK, 0, 0, 0)
	acceptAt := len(p)
	add(opRetK, acceptAll, 0, 0)
	arpAt := dropAt
	if m.ARP {
		arpAt = acceptAt
	}
	target := func(from, t int) (uint8, error) {
		switch t {
		case 0:
			return 0, nil
		case drop:
			t = dropAt
		case accept:
			t = acceptAt
		case arp:
			t = arpAt
		}
		off := t - from - 1
		if off < 0 || off > 255 {
			return 0, fmt.Errorf("afpacket: filter: jump of %d instructions", off)
		}
		return uint8(off), nil
	}
	out := make([]Instruction, len(p))
	for i, in := range p {
		var err error
		out[i] = in.Instruction
		if out[i].Jt, err = target(i, in.jt); err != nil {
			return nil, err
		}
		if out[i].Jf, err = target(i, in.jf); err != nil {
			return nil, err
		}
	}
	return out, nil
}
