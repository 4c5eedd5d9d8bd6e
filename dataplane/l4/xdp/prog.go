package xdp

import (
	"encoding/binary"

	"github.com/cilium/ebpf/asm"

	"github.com/lvslab/lvslab/dataplane/l4"
)

// XDP verdicts.
const (
	verdictPass = 2 // XDP_PASS
	verdictTX   = 3 // XDP_TX
)

// The map's key: the client's packet's source and destination as they
// are on the wire, and the protocol.
const (
	keySize  = 16
	kSrcAddr = 0
	kDstAddr = 4
	kSrcPort = 8
	kDstPort = 10
	kProto   = 12
)

// The map's value. MTU and counters are in the host's byte order.
const (
	valueSize = 40
	vDstMAC   = 0  // the real server's next hop
	vSrcMAC   = 6  // the director's port
	vMTU      = 12 // largest IPv4 total length forwarded
	vPackets  = 16
	vBytes    = 24
	vLast     = 32 // bpf_ktime_get_ns of the last packet
)

// Frame offsets (IPv4 without options, TCP).
const (
	ethType = 12
	ipOff   = 14
	ipTotal = ipOff + 2
	ipFrag  = ipOff + 6
	ipTTL   = ipOff + 8
	ipProto = ipOff + 9
	ipCsum  = ipOff + 10
	ipSrc   = ipOff + 12
	ipDst   = ipOff + 16
	tcpOff  = ipOff + 20
	tcpDOff = tcpOff + 12
	tcpFlag = tcpOff + 13
	minLen  = tcpOff + 20
)

// be16 returns the value a 16-bit load of v's big-endian bytes gives on
// this host.
func be16(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// program returns the XDP program, its flows map referred to by the
// file descriptor mapFD. Registers: R6 the frame's start, R7 its end, R8
// the IPv4 total length, R9 the map value.
func program(mapFD int) asm.Instructions {
	const pass = "pass"
	insns := asm.Instructions{
		asm.LoadMem(asm.R6, asm.R1, 0, asm.Word), // xdp_md.data
		asm.LoadMem(asm.R7, asm.R1, 4, asm.Word), // xdp_md.data_end
		asm.Mov.Reg(asm.R2, asm.R6),
		asm.Add.Imm(asm.R2, minLen),
		asm.JGT.Reg(asm.R2, asm.R7, pass),
		// Ethernet, IPv4 without options, not a fragment, TCP, TTL > 1.
		asm.LoadMem(asm.R2, asm.R6, ethType, asm.Half),
		asm.JNE.Imm(asm.R2, be16(0x0800), pass),
		asm.LoadMem(asm.R2, asm.R6, ipOff, asm.Byte),
		asm.JNE.Imm(asm.R2, 0x45, pass),
		asm.LoadMem(asm.R2, asm.R6, ipFrag, asm.Half),
		asm.And.Imm(asm.R2, be16(l4FragMask)),
		asm.JNE.Imm(asm.R2, 0, pass),
		asm.LoadMem(asm.R2, asm.R6, ipProto, asm.Byte),
		asm.JNE.Imm(asm.R2, 6, pass),
		asm.LoadMem(asm.R2, asm.R6, ipTTL, asm.Byte),
		asm.JLE.Imm(asm.R2, 1, pass),
		// ACK without SYN, FIN or RST: the director follows every state change.
		asm.LoadMem(asm.R2, asm.R6, tcpFlag, asm.Byte),
		asm.Mov.Reg(asm.R3, asm.R2),
		asm.And.Imm(asm.R3, 0x07),
		asm.JNE.Imm(asm.R3, 0, pass),
		asm.And.Imm(asm.R2, 0x10),
		asm.JEq.Imm(asm.R2, 0, pass),
		// The total length covers the IPv4 and TCP headers and fits the frame.
		asm.LoadMem(asm.R8, asm.R6, ipTotal, asm.Half),
		asm.HostTo(asm.BE, asm.R8, asm.Half),
		asm.Mov.Reg(asm.R2, asm.R7),
		asm.Sub.Reg(asm.R2, asm.R6),
		asm.Sub.Imm(asm.R2, ipOff),
		asm.JGT.Reg(asm.R8, asm.R2, pass),
		asm.LoadMem(asm.R2, asm.R6, tcpDOff, asm.Byte),
		asm.RSh.Imm(asm.R2, 4),
		asm.LSh.Imm(asm.R2, 2),
		asm.JLT.Imm(asm.R2, 20, pass),
		asm.Add.Imm(asm.R2, 20),
		asm.JGT.Reg(asm.R2, asm.R8, pass),
	}
	// The header checksum verifies: its ten words sum to 0xffff.
	insns = append(insns, asm.Mov.Imm(asm.R2, 0))
	for i := int16(0); i < 10; i++ {
		insns = append(insns,
			asm.LoadMem(asm.R3, asm.R6, ipOff+2*i, asm.Half),
			asm.Add.Reg(asm.R2, asm.R3))
	}
	insns = append(insns, fold(asm.R2, asm.R3)...)
	insns = append(insns,
		asm.JNE.Imm(asm.R2, 0xffff, pass),
		// The key, on the stack.
		asm.StoreImm(asm.RFP, -keySize+kProto, 0, asm.Word),
		asm.StoreImm(asm.RFP, -keySize+kProto, 6, asm.Byte),
		asm.LoadMem(asm.R2, asm.R6, ipSrc, asm.Word),
		asm.StoreMem(asm.RFP, -keySize+kSrcAddr, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R6, ipDst, asm.Word),
		asm.StoreMem(asm.RFP, -keySize+kDstAddr, asm.R2, asm.Word),
		asm.LoadMem(asm.R2, asm.R6, tcpOff, asm.Word), // both ports
		asm.StoreMem(asm.RFP, -keySize+kSrcPort, asm.R2, asm.Word),
		asm.LoadMapPtr(asm.R1, mapFD),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -keySize),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, pass),
		asm.Mov.Reg(asm.R9, asm.R0),
		// Within the MTU.
		asm.LoadMem(asm.R2, asm.R9, vMTU, asm.Half),
		asm.JGT.Reg(asm.R8, asm.R2, pass),
	)
	// Addressed to the director's MAC, and not from it.
	for i := int16(0); i < 6; i += 2 {
		insns = append(insns,
			asm.LoadMem(asm.R2, asm.R6, i, asm.Half),
			asm.LoadMem(asm.R3, asm.R9, vSrcMAC+i, asm.Half),
			asm.JNE.Reg(asm.R2, asm.R3, pass))
	}
	for i := int16(0); i < 6; i += 2 {
		insns = append(insns,
			asm.LoadMem(asm.R2, asm.R6, 6+i, asm.Half),
			asm.LoadMem(asm.R3, asm.R9, vSrcMAC+i, asm.Half),
			asm.JNE.Reg(asm.R2, asm.R3, "foreign"))
	}
	insns = append(insns, asm.Ja.Label(pass))
	// Rewrite: MACs, TTL and header checksum.
	insns = append(insns, asm.Mov.Imm(asm.R0, 0).WithSymbol("foreign"))
	for i := int16(0); i < 12; i += 2 {
		insns = append(insns,
			asm.LoadMem(asm.R2, asm.R9, vDstMAC+i, asm.Half),
			asm.StoreMem(asm.R6, i, asm.R2, asm.Half))
	}
	insns = append(insns,
		asm.LoadMem(asm.R2, asm.R6, ipTTL, asm.Byte),
		asm.Sub.Imm(asm.R2, 1),
		asm.StoreMem(asm.R6, ipTTL, asm.R2, asm.Byte),
		// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), and ~m + m' is
		// 0xffff - 0x0100 when the TTL (the word's high byte) drops by 1.
		asm.LoadMem(asm.R2, asm.R6, ipCsum, asm.Half),
		asm.HostTo(asm.BE, asm.R2, asm.Half),
		asm.Xor.Imm(asm.R2, 0xffff),
		asm.Add.Imm(asm.R2, 0xfeff),
	)
	insns = append(insns, fold(asm.R2, asm.R3)...)
	insns = append(insns,
		asm.Xor.Imm(asm.R2, 0xffff),
		asm.HostTo(asm.BE, asm.R2, asm.Half),
		asm.StoreMem(asm.R6, ipCsum, asm.R2, asm.Half),
		// Counters and last-seen time.
		asm.Mov.Imm(asm.R2, 1),
		asm.AddAtomic.Mem(asm.R9, asm.R2, asm.DWord, vPackets),
		asm.AddAtomic.Mem(asm.R9, asm.R8, asm.DWord, vBytes),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.R9, vLast, asm.R0, asm.DWord),
		asm.Mov.Imm(asm.R0, verdictTX),
		asm.Return(),
		asm.Mov.Imm(asm.R0, verdictPass).WithSymbol(pass),
		asm.Return(),
	)
	return insns
}

// l4FragMask is the IPv4 flags and fragment offset field's MF bit and
// offset: a fragment has one of them set.
const l4FragMask = 0x3fff

// fold folds the 32-bit one's-complement sum in r to 16 bits (twice:
// the first fold may carry), using tmp.
func fold(r, tmp asm.Register) asm.Instructions {
	var out asm.Instructions
	for range 2 {
		out = append(out,
			asm.Mov.Reg(tmp, r),
			asm.RSh.Imm(tmp, 16),
			asm.And.Imm(r, 0xffff),
			asm.Add.Reg(r, tmp))
	}
	return out
}

// marshalKey writes k as the program reads it.
func marshalKey(k l4.FastKey) [keySize]byte {
	var b [keySize]byte
	binary.BigEndian.PutUint32(b[kSrcAddr:], k.CAddr)
	binary.BigEndian.PutUint32(b[kDstAddr:], k.VAddr)
	binary.BigEndian.PutUint16(b[kSrcPort:], k.CPort)
	binary.BigEndian.PutUint16(b[kDstPort:], k.VPort)
	b[kProto] = k.Proto
	return b
}

func unmarshalKey(b []byte) l4.FastKey {
	return l4.FastKey{
		Proto: b[kProto],
		CAddr: binary.BigEndian.Uint32(b[kSrcAddr:]), VAddr: binary.BigEndian.Uint32(b[kDstAddr:]),
		CPort: binary.BigEndian.Uint16(b[kSrcPort:]), VPort: binary.BigEndian.Uint16(b[kDstPort:]),
	}
}

func marshalValue(f l4.FastFlow) [valueSize]byte {
	var b [valueSize]byte
	copy(b[vDstMAC:], f.DstMAC[:])
	copy(b[vSrcMAC:], f.SrcMAC[:])
	binary.NativeEndian.PutUint16(b[vMTU:], uint16(min(max(f.MTU, 0), 0xffff)))
	return b
}
