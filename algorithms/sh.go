package algorithms

import (
	"fmt"
	"time"
)

// SH is IPVS source hashing (ip_vs_sh.c, Linux v6.17): a static map from
// the client's address to a server through a 256-bucket table.
//
// The table is built as ip_vs_sh_reassign builds it: walking the pool in
// order, each server fills as many consecutive buckets as its weight (at
// least one, so a weight-0 server keeps one bucket), wrapping around the
// pool until all 256 buckets are assigned. It is rebuilt whenever
// Pool.Generation changes. The bucket of a
// request is hash_32(port + fold(Client), 8), where port is
// Request.ClientPort with Options.Port and 0 otherwise; when Client is not
// a valid address the 32-bit FNV-1a hash of Request.Key replaces
// fold(Client) (layer-7 use).
//
// If the bucket's server is not usable (down, overloaded or weight 0), SH
// returns ErrNoServer, or with Options.Fallback probes the other buckets as
// ip_vs_sh_get_fallback does and returns the first usable server found.
type SH struct {
	fallback, port bool
	table          bucketTable
}

var _ Scheduler = (*SH)(nil)

var errSHNoServer = fmt.Errorf("sh: %w", ErrNoServer)

// NewSH returns a source-hashing scheduler reading opts.Fallback and
// opts.Port.
func NewSH(opts Options) *SH { return &SH{fallback: opts.Fallback, port: opts.Port} }

// Name returns "sh".
func (*SH) Name() string { return "sh" }

// Schedule returns the server that the client's address hashes to.
func (sh *SH) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	if sh.table.stale(p) {
		sh.table.fill(p, func(s *Server) int { return s.Weight })
	}
	return sh.table.lookup(p, sh.bucket(r), sh.fallback, errSHNoServer)
}

// bucket is ip_vs_sh_hashkey with offset 0.
func (sh *SH) bucket(r *Request) uint32 {
	var port uint32
	if sh.port {
		port = uint32(r.ClientPort)
	}
	return hash32(port+addrOrKey32(r.Client, r.Key), hashTabBits)
}

func init() {
	Register(Info{
		Name:        "sh",
		Description: "source hashing: static 256-bucket map from client address (or key) to server",
		Source:      "Linux IPVS ip_vs_sh.c",
		New:         func(o Options) (Scheduler, error) { return NewSH(o), nil },
	})
}
