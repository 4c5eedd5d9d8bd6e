package algorithms

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// CHBL is consistent hashing with bounded loads (Mirrokni, Thorup and
// Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018; HAProxy
// `hash-type consistent` with `hash-balance-factor`, lb_chash.c). Every
// usable server owns Options.Replicas points (virtual nodes) on a 64-bit
// hash ring. A request's key is hashed onto the ring, and the ring is walked
// clockwise from there; the request goes to the first server whose load
// would stay within the bound
//
//	ceil((1+ε) · (total + cost) / n)
//
// where total is the sum of Active over the usable servers, cost is
// Request.Units(), n the number of usable servers and ε = Options.Epsilon.
// A server qualifies when Active + cost <= bound. Without load, a key goes
// to the owner of the first point clockwise of it, as in plain consistent
// hashing, so keys stick to their server while it stays under the bound and
// adding or removing a server moves only about 1/n of the keys.
//
// Semantics and choices:
//
//   - Key: Request.Key; if it is empty, the client address (its 4- or
//     16-byte form after unmapping an IPv4-mapped address); if neither is
//     set, the empty key (all such requests hash to one point).
//   - Hash: chblHash, FNV-1a 64 (FNV-1a offset basis and prime) followed
//     by the SplitMix64 finaliser for avalanche. A virtual node's point is
//     the hash of its server's ID and replica number, each as 8 bytes
//     little-endian. It is stable across runs, platforms and Go versions.
//     Ring points are ordered by (point, server ID), so equal points are
//     deterministic.
//   - With cost 1 some server always qualifies (the bound is at least the
//     average after placement). With a larger cost none may; the request
//     then goes to the usable server with the fewest Active, the first
//     reached on the walk on ties.
//   - Down, overloaded and weight-0 servers are not on the ring, and their
//     Active is not part of total. Weights are otherwise ignored.
//   - The bound holds at placement time. Connections are never migrated,
//     so after departures a server may sit above the bound for the smaller
//     total until its own connections end (the paper's dynamic guarantee
//     relies on moving balls, which a connection scheduler cannot do).
//   - The ring is rebuilt whenever the pool or its Generation changes.
type CHBL struct {
	epsilon  float64
	replicas int

	pool *Pool
	gen  uint64
	ring []chblPoint // sorted by (hash, id)
	n    int         // usable servers on the ring

	// seen[i] == stamp marks pool position i as already tried in the
	// current walk; stamp grows by one per Schedule, so seen needs no
	// clearing.
	seen  []uint64
	stamp uint64
}

type chblPoint struct {
	hash uint64
	id   ServerID
	pos  int // position in the pool
}

var _ Scheduler = (*CHBL)(nil)

// CHBL defaults: the balance factor ε and the virtual nodes per server.
const (
	DefaultCHBLEpsilon  = 0.25
	DefaultCHBLReplicas = 100
)

// MaxCHBLReplicas is the largest Options.Replicas NewCHBL accepts. The ring
// holds usable servers × replicas points of 24 bytes, sorted again whenever
// the pool changes: 10,000 replicas of 1,000 servers take 240 MB.
const MaxCHBLReplicas = 10_000

// NewCHBL returns a bounded-load consistent-hashing scheduler. epsilon 0
// selects DefaultCHBLEpsilon and replicas 0 DefaultCHBLReplicas; a negative or
// non-finite epsilon, or a replica count outside 0..MaxCHBLReplicas, is an
// error.
func NewCHBL(epsilon float64, replicas int) (*CHBL, error) {
	if epsilon == 0 {
		epsilon = DefaultCHBLEpsilon
	}
	if !(epsilon > 0) || math.IsInf(epsilon, 0) {
		return nil, fmt.Errorf("algorithms: chbl: Epsilon must be > 0 and finite, got %v", epsilon)
	}
	if replicas == 0 {
		replicas = DefaultCHBLReplicas
	}
	if replicas < 0 || replicas > MaxCHBLReplicas {
		return nil, fmt.Errorf("algorithms: chbl: Replicas must be in 1..%d, got %d", MaxCHBLReplicas, replicas)
	}
	return &CHBL{epsilon: epsilon, replicas: replicas}, nil
}

// Name returns "chbl".
func (c *CHBL) Name() string { return "chbl" }

// Bound returns the load bound ceil((1+ε)·(total+cost)/n) for n usable
// servers. A tiny relative tolerance keeps floating-point noise from
// rounding an exact integer up (1.1·10 is 11.000000000000002 in binary).
func (c *CHBL) Bound(total, cost, n int) int {
	if n <= 0 {
		return 0
	}
	v := (1 + c.epsilon) * float64(total+cost) / float64(n)
	return int(math.Ceil(v - v*1e-12))
}

func (c *CHBL) rebuild(p *Pool) {
	c.ring = c.ring[:0]
	c.n = 0
	var buf [16]byte
	servers := p.Servers()
	for i := range servers {
		s := &servers[i]
		if !s.Usable() {
			continue
		}
		c.n++
		binary.LittleEndian.PutUint64(buf[:8], uint64(s.ID))
		for r := 0; r < c.replicas; r++ {
			binary.LittleEndian.PutUint64(buf[8:], uint64(r))
			c.ring = append(c.ring, chblPoint{hash: chblHash(buf[:]), id: s.ID, pos: i})
		}
	}
	slices.SortFunc(c.ring, func(a, b chblPoint) int {
		if x := cmp.Compare(a.hash, b.hash); x != 0 {
			return x
		}
		return cmp.Compare(a.id, b.id)
	})
	if len(c.seen) < p.Len() {
		c.seen = make([]uint64, p.Len())
		c.stamp = 0
	}
	c.pool, c.gen = p, p.Generation()
}

// chblKeyHash returns the ring point of r's key.
func chblKeyHash(r *Request) uint64 {
	if r.Key != "" || !r.Client.IsValid() {
		return chblHash([]byte(r.Key))
	}
	b := r.Client.Unmap().AsSlice()
	return chblHash(b)
}

// Schedule walks the ring clockwise from r's key and returns the first
// server whose load stays within the bound.
func (c *CHBL) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	if c.pool != p || c.gen != p.Generation() {
		c.rebuild(p)
	}
	if c.n == 0 {
		return 0, ErrNoServer
	}
	total := 0
	servers := p.Servers()
	for i := range servers {
		if s := &servers[i]; s.Usable() {
			total += s.Active
		}
	}
	cost := r.Units()
	bound := c.Bound(total, cost, c.n)

	h := chblKeyHash(r)
	start, _ := slices.BinarySearchFunc(c.ring, h, func(pt chblPoint, h uint64) int { return cmp.Compare(pt.hash, h) })
	c.stamp++
	tried := 0
	fallback := -1
	for k := 0; k < len(c.ring) && tried < c.n; k++ {
		pt := c.ring[(start+k)%len(c.ring)]
		if c.seen[pt.pos] == c.stamp {
			continue
		}
		c.seen[pt.pos] = c.stamp
		tried++
		s := p.At(pt.pos)
		if s.Active+cost <= bound {
			return s.ID, nil
		}
		if fallback < 0 || s.Active < p.At(fallback).Active {
			fallback = pt.pos
		}
	}
	return p.At(fallback).ID, nil
}

// chblHash is FNV-1a 64 followed by the SplitMix64 finaliser.
func chblHash(b []byte) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for _, c := range b {
		h ^= uint64(c)
		h *= prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func init() {
	Register(Info{
		Name:        "chbl",
		Description: "consistent hashing with bounded loads: first server clockwise on the ring with active+cost <= ceil((1+ε)·average)",
		Source:      "Mirrokni, Thorup, Zadimoghaddam, SODA 2018; HAProxy hash-balance-factor (lb_chash.c)",
		New: func(o Options) (Scheduler, error) {
			return NewCHBL(o.Epsilon, o.Replicas)
		},
	})
}
