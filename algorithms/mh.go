package algorithms

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"
)

// MH is IPVS Maglev hashing (ip_vs_mh.c, Linux v6.17; Eisenbud et al.,
// "Maglev", NSDI'16 §3.4): a consistent hash from the client's address to
// a server through a lookup table of prime size M (Options.TableSize,
// default 4093), so that a pool change moves few clients.
//
// Each server has a preference list of table slots, offset + j*skip mod M,
// with offset and skip drawn from two keyed hashes of its identity (its
// Addr if valid, else its ID). Servers take turns in pool order claiming
// their next free preferred slot until the table is full; per turn a
// server claims (lw/gcd)>>rshift slots (at least one), where lw is its
// last non-zero weight (the kernel's last_weight: quiescing a server to
// weight 0 keeps its slots, so its clients do not move elsewhere), gcd is
// the gcd of those weights and rshift keeps the largest count within
// IP_VS_MH_TAB_BITS bits, as ip_vs_mh_permutate and ip_vs_mh_populate do.
// Servers whose last weight is 0 get no slots. Down servers keep their
// slots and are treated as unavailable at lookup. On a Pool.Generation
// change the table is rebuilt only if membership, an identity or a last
// weight changed.
//
// A request's slot is hash(port + fold(Client)) mod M, port being
// Request.ClientPort with Options.Port and 0 otherwise; without a valid
// Client the 64-bit FNV-1a hash of Request.Key replaces fold(Client). If
// the slot's server is not usable MH returns ErrNoServer, or with
// Options.Fallback rehashes with offsets as ip_vs_mh_get_fallback does.
//
// The kernel keys its hsiphash with fixed constants; MH uses a keyed
// splitmix64 finaliser with fixed keys instead, so tables are identical
// across runs and hosts but not bit-compatible with the kernel's. Unlike
// the kernel, which refuses more than M servers, MH fills the table with
// the first M server turns.
type MH struct {
	fallback, port bool
	size           int // M
	tabBits        int // IP_VS_MH_TAB_BITS for this M

	gen        uint64 // Pool.Generation the table was last checked against
	built      bool
	lastWeight map[ServerID]int
	sig        []mhMember
	table      []int32 // slot -> position in the pool (-1: empty)
}

type mhMember struct {
	id    ServerID
	ident uint64 // identity hash (address or ID)
	lw    int    // last non-zero weight
}

var _ Scheduler = (*MH)(nil)

var errMHNoServer = fmt.Errorf("mh: %w", ErrNoServer)

// mhPrimes are the table sizes ip_vs_mh.c accepts; index i corresponds to
// CONFIG_IP_VS_MH_TAB_INDEX i+8.
var mhPrimes = [...]int{251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071}

// Fixed keys of the MH hashes (the kernel's generate_hash_secret uses
// fixed keys too).
const (
	mhKey1  = 0x9e3779b185ebca87
	mhKey2  = 0xc2b2ae3d27d4eb4f
	mhIDTag = 0x165667b19e3779f9
)

// DefaultMHTableSize is the default Maglev table size M
// (CONFIG_IP_VS_MH_TAB_INDEX 12).
const DefaultMHTableSize = 4093

// NewMH returns a Maglev scheduler reading opts.TableSize, opts.Fallback
// and opts.Port. TableSize must be 0 (default 4093) or one of the primes
// IPVS accepts: 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521,
// 131071.
func NewMH(opts Options) (*MH, error) {
	size := opts.TableSize
	if size == 0 {
		size = DefaultMHTableSize
	}
	idx := -1
	for i, p := range mhPrimes {
		if p == size {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("mh: table size %d is not one of %v", opts.TableSize, mhPrimes)
	}
	return &MH{
		fallback:   opts.Fallback,
		port:       opts.Port,
		size:       size,
		tabBits:    (idx + 8) / 2,
		lastWeight: make(map[ServerID]int),
	}, nil
}

// Name returns "mh".
func (*MH) Name() string { return "mh" }

// TableSize returns the lookup table size M.
func (m *MH) TableSize() int { return m.size }

// Schedule returns the server that the client's address hashes to.
func (m *MH) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	if g := p.Generation(); g != m.gen || !m.built {
		m.gen = g
		m.sync(p)
	}
	servers := p.Servers()
	base := m.base(r)
	size := uint64(m.size)
	ihash := keyedHash64(mhKey1, base) % size
	i := m.table[ihash]
	if i < 0 {
		return 0, errMHNoServer
	}
	if s := &servers[i]; s.Usable() {
		return s.ID, nil
	}
	if !m.fallback {
		return 0, errMHNoServer
	}
	for off := uint64(0); off < size; off++ {
		roff := (off + ihash) % size
		j := m.table[keyedHash64(mhKey1, base+roff)%size]
		if j < 0 {
			break
		}
		if s := &servers[j]; s.Usable() {
			return s.ID, nil
		}
	}
	return 0, errMHNoServer
}

// base is the hashed value of the request before the offset is added:
// ip_vs_mh_hashkey's port + fold(addr).
func (m *MH) base(r *Request) uint64 {
	var port uint64
	if m.port {
		port = uint64(r.ClientPort)
	}
	if r.Client.IsValid() {
		return uint64(uint32(port) + foldAddr(r.Client))
	}
	return fnv1a64String(r.Key) + port
}

// sync updates last weights and rebuilds the table if the members changed.
func (m *MH) sync(p *Pool) {
	servers := p.Servers()
	sig := make([]mhMember, len(servers))
	for i := range servers {
		s := &servers[i]
		lw, seen := m.lastWeight[s.ID]
		if !seen || s.Weight != 0 {
			lw = s.Weight // on add, or the latest non-zero weight
		}
		m.lastWeight[s.ID] = lw
		sig[i] = mhMember{id: s.ID, ident: mhIdent(s), lw: lw}
	}
	for id := range m.lastWeight {
		if _, ok := p.Index(id); !ok {
			delete(m.lastWeight, id) // a later re-add counts as an add
		}
	}
	if m.built && equalMembers(sig, m.sig) {
		return
	}
	m.sig = sig
	m.populate()
	m.built = true
}

func equalMembers(a, b []mhMember) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mhIdent hashes a server's identity: its address if valid, else its ID.
func mhIdent(s *Server) uint64 {
	if s.Addr.IsValid() {
		a := s.Addr.As16()
		return fnv1a64(a[:])
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(s.ID))
	return fnv1a64(b[:]) ^ mhIDTag
}

// populate fills the table from m.sig as ip_vs_mh_permutate and
// ip_vs_mh_populate do.
func (m *MH) populate() {
	if len(m.table) != m.size {
		m.table = make([]int32, m.size)
	}
	for i := range m.table {
		m.table[i] = -1
	}
	g, maxw := 0, 0
	for _, mb := range m.sig {
		if mb.lw > 0 {
			g = gcd(mb.lw, g)
			maxw = max(maxw, mb.lw)
		}
	}
	if g < 1 {
		return // no server with a positive last weight: empty table
	}
	rshift := max(bits.Len(uint(maxw/g))-m.tabBits, 0)
	size := uint64(m.size)
	n := len(m.sig)
	perm := make([]uint64, n)
	skip := make([]uint64, n)
	turns := make([]int, n)
	for i, mb := range m.sig {
		perm[i] = keyedHash64(mhKey1, mb.ident) % size
		skip[i] = keyedHash64(mhKey2, mb.ident)%(size-1) + 1
		turns[i] = (mb.lw / g) >> rshift
		if turns[i] == 0 && mb.lw != 0 {
			turns[i] = 1
		}
	}
	taken := make([]bool, m.size)
	filled, dt := 0, 0
	for {
		for i := 0; i < n; {
			if turns[i] < 1 {
				i++
				continue
			}
			c := perm[i]
			for taken[c] {
				perm[i] += skip[i]
				if perm[i] >= size {
					perm[i] -= size
				}
				c = perm[i]
			}
			taken[c] = true
			m.table[c] = int32(i)
			if filled++; filled == m.size {
				return
			}
			if dt++; dt >= turns[i] {
				dt = 0
				i++
			}
		}
	}
}

func init() {
	Register(Info{
		Name:        "mh",
		Description: "Maglev hashing: consistent hash of client address (or key) over a prime-sized lookup table",
		Source:      "ip_vs_mh.c (Maglev, NSDI'16 §3.4)",
		New: func(o Options) (Scheduler, error) {
			m, err := NewMH(o)
			if err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}
