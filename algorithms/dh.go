package algorithms

import (
	"fmt"
	"time"
)

// DH is IPVS destination hashing (ip_vs_dh.c, Linux v6.17): a static map
// from the request's destination address to a server through a 256-bucket
// table, for cache clusters.
//
// The table is built as ip_vs_dh_reassign builds it: bucket i holds the
// (i mod n)-th server of the pool, weights ignored. It is rebuilt whenever
// Pool.Generation changes. The bucket of a
// request is hash_32(fold(Dest), 8); when Dest is not a valid address the
// 32-bit FNV-1a hash of Request.Key replaces fold(Dest), so a layer-7
// switch can hash URL targets.
//
// If the bucket's server is not usable (down, overloaded or weight 0), DH
// returns ErrNoServer. With Options.Fallback it instead probes the other
// buckets in the order SH's fallback uses (ip_vs_sh_get_fallback); the
// kernel's DH has no fallback, so this is an lvslab extension.
type DH struct {
	fallback bool
	table    bucketTable
}

var _ Scheduler = (*DH)(nil)

var errDHNoServer = fmt.Errorf("dh: %w", ErrNoServer)

// NewDH returns a destination-hashing scheduler reading opts.Fallback.
func NewDH(opts Options) *DH { return &DH{fallback: opts.Fallback} }

// Name returns "dh".
func (*DH) Name() string { return "dh" }

// Schedule returns the server that the destination address hashes to.
func (dh *DH) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	if dh.table.stale(p) {
		dh.table.fill(p, func(*Server) int { return 1 })
	}
	return dh.table.lookup(p, hash32(addrOrKey32(r.Dest, r.Key), hashTabBits), dh.fallback, errDHNoServer)
}

func init() {
	Register(Info{
		Name:        "dh",
		Description: "destination hashing: static 256-bucket map from destination address (or key) to server",
		Source:      "Linux IPVS ip_vs_dh.c",
		New:         func(o Options) (Scheduler, error) { return NewDH(o), nil },
	})
}
