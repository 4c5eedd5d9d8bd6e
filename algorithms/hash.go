package algorithms

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Hashing helpers shared by the hash schedulers (SH, DH, MH), following
// Linux v6.17 net/netfilter/ipvs/ip_vs_sh.c, ip_vs_dh.c and ip_vs_mh.c and
// include/linux/hash.h.
//
// Addresses are folded to 32 bits as IPVS does: an IPv4 address is its
// value in host order (ntohl); an IPv6 address is the XOR of its four
// 32-bit words, each read big-endian. An IPv4-mapped IPv6 address is
// folded as IPv6, as an AF_INET6 service would see it.
//
// When a request carries no address (a zero netip.Addr, as in layer-7
// use), the schedulers hash Request.Key instead: the 32-bit FNV-1a hash of
// the key's bytes takes the place of the folded address (64-bit FNV-1a for
// MH). FNV-1a is stable across runs, platforms and Go versions.

const (
	// hashTabBits and hashTabSize are CONFIG_IP_VS_SH_TAB_BITS and
	// CONFIG_IP_VS_DH_TAB_BITS (default 8): a 256-bucket table.
	hashTabBits = 8
	hashTabSize = 1 << hashTabBits
	hashTabMask = hashTabSize - 1

	// goldenRatio32 is GOLDEN_RATIO_32 of include/linux/hash.h.
	goldenRatio32 = 0x61C88647

	fnvOffset32 = 2166136261
	fnvPrime32  = 16777619
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// hash32 is the kernel's hash_32(val, bits): the top bits of val times the
// golden ratio.
func hash32(val uint32, bits uint) uint32 { return (val * goldenRatio32) >> (32 - bits) }

// foldAddr folds a valid address to 32 bits as IPVS does (see above).
func foldAddr(a netip.Addr) uint32 {
	if a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	return binary.BigEndian.Uint32(b[0:4]) ^ binary.BigEndian.Uint32(b[4:8]) ^
		binary.BigEndian.Uint32(b[8:12]) ^ binary.BigEndian.Uint32(b[12:16])
}

// fnv1a32 is the 32-bit FNV-1a hash of s.
func fnv1a32(s string) uint32 {
	h := uint32(fnvOffset32)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime32
	}
	return h
}

// fnv1a64 is the 64-bit FNV-1a hash of b.
func fnv1a64(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// fnv1a64String is fnv1a64 of a string's bytes, without converting it.
func fnv1a64String(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// addrOrKey32 returns the folded address a if it is valid, else the
// 32-bit FNV-1a hash of key.
func addrOrKey32(a netip.Addr, key string) uint32 {
	if a.IsValid() {
		return foldAddr(a)
	}
	return fnv1a32(key)
}

// keyedHash64 is a keyed 64-bit hash of x: the splitmix64 finaliser of
// x XOR key. It stands in for the kernel's hsiphash in ip_vs_mh.c.
func keyedHash64(key, x uint64) uint64 {
	z := x ^ key
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// ratioGreater reports whether n1/d1 > n2/d2 for non-negative operands,
// compared as n1*d2 > n2*d1 in 128-bit arithmetic (no division, no
// overflow), as ip_vs_wlc.c and ip_vs_sed.c compare loads.
func ratioGreater(n1, d1, n2, d2 int) bool {
	h1, l1 := bits.Mul64(uint64(n1), uint64(d2))
	h2, l2 := bits.Mul64(uint64(n2), uint64(d1))
	return h1 > h2 || (h1 == h2 && l1 > l2)
}

// gcd returns the greatest common divisor of a, b >= 0.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// bucketTable is the 256-bucket server table of ip_vs_sh.c and
// ip_vs_dh.c. Each bucket holds a position in the pool's server slice (-1:
// empty). Positions are valid for the pool generation the table was built
// for (any pool with that generation: a Clone has the same content).
type bucketTable struct {
	gen     uint64
	built   bool
	buckets [hashTabSize]int32
}

// stale reports whether the table must be rebuilt for p.
func (t *bucketTable) stale(p *Pool) bool { return !t.built || t.gen != p.Generation() }

// fill assigns the buckets in order, walking the pool's servers
// round-robin and giving each server per(s) consecutive buckets (at least
// one), as ip_vs_sh_reassign (per = weight) and ip_vs_dh_reassign (per = 1)
// do. An empty pool leaves every bucket empty.
func (t *bucketTable) fill(p *Pool, per func(*Server) int) {
	servers := p.Servers()
	t.gen, t.built = p.Generation(), true
	if len(servers) == 0 {
		for i := range t.buckets {
			t.buckets[i] = -1
		}
		return
	}
	pos, count := 0, 0
	for i := range t.buckets {
		t.buckets[i] = int32(pos)
		count++
		if count >= per(&servers[pos]) {
			pos, count = (pos+1)%len(servers), 0
		}
	}
}

// lookup returns the server in bucket h (h < 256). If that server is not
// usable and fallback is set, it probes the other buckets in the order of
// ip_vs_sh_get_fallback: for offset 0..255, bucket
// (h + (offset+h) mod 256) mod 256. noServer is returned when no usable
// server is found.
func (t *bucketTable) lookup(p *Pool, h uint32, fallback bool, noServer error) (ServerID, error) {
	servers := p.Servers()
	i := t.buckets[h&hashTabMask]
	if i < 0 {
		return 0, noServer
	}
	if s := &servers[i]; s.Usable() {
		return s.ID, nil
	}
	if !fallback {
		return 0, noServer
	}
	for off := uint32(0); off < hashTabSize; off++ {
		roff := (off + h) & hashTabMask
		j := t.buckets[(roff+h)&hashTabMask]
		if j < 0 {
			break
		}
		if s := &servers[j]; s.Usable() {
			return s.ID, nil
		}
	}
	return 0, noServer
}
