package packet

import "encoding/binary"

// Sum adds b to the running one's-complement sum acc (RFC 1071), as
// 16-bit big-endian words; an odd final byte is padded with zero. Sums of
// several pieces may be chained as long as only the last one has an odd
// length. Fold the result with Fold.
func Sum(b []byte, acc uint64) uint64 {
	// 32-bit words summed in 64 bits: 2^16 = 1 in one's-complement
	// arithmetic modulo 0xffff, so the high and low halves of each word
	// fold to the same result as two 16-bit words, and no carry is lost
	// before 2^32 words.
	for len(b) >= 16 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:])) +
			uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:]))
		b = b[16:]
	}
	for len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// Fold folds a running sum to 16 bits.
func Fold(acc uint64) uint16 {
	acc = (acc & 0xffffffff) + acc>>32
	acc = (acc & 0xffffffff) + acc>>32
	acc = (acc & 0xffff) + acc>>16
	acc = (acc & 0xffff) + acc>>16
	return uint16(acc)
}

// Checksum returns the Internet checksum of b: the complement of its
// folded sum.
func Checksum(b []byte) uint16 { return ^Fold(Sum(b, 0)) }

// PseudoSum returns the running sum of the IPv4 pseudo-header of a TCP or
// UDP segment of length n (RFC 793, RFC 768).
func PseudoSum(src, dst uint32, proto uint8, n int) uint64 {
	return uint64(src>>16) + uint64(src&0xffff) + uint64(dst>>16) + uint64(dst&0xffff) +
		uint64(proto) + uint64(n)
}

// Update16 returns checksum hc updated for a 16-bit word of the summed
// data changing from old to new: RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m').
func Update16(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = (s & 0xffff) + s>>16
	s = (s & 0xffff) + s>>16
	return ^uint16(s)
}

// Update32 is Update16 for a 32-bit field (an IPv4 address).
func Update32(hc uint16, old, new uint32) uint16 {
	s := uint32(^hc) + (^old >> 16) + (^old & 0xffff) + new>>16 + new&0xffff
	s = (s & 0xffff) + s>>16
	s = (s & 0xffff) + s>>16
	return ^uint16(s)
}
