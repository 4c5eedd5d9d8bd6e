package algorithms

import (
	"fmt"
	"math"
	"time"
)

// DefaultThreshold is LBLL's default load threshold T in units of
// Server.Load (1 = just loaded).
const DefaultThreshold = 1.0

// LBLL is locality-based least-loaded scheduling (thesis §7.3.1), the
// algorithm of the content location service (CLS) that dedicated
// distributors ask: LBLC/R ([LBLCR]) with each node's measured load
// (Server.Load, set by the host's resource monitor with Pool.SetLoad) in
// place of its connections and one threshold T (Options.Threshold,
// default 1) in place of the per-node pair:
//
//	if serverSet[target] == ∅ { n = least loaded node; add n to the set }
//	else {
//	    n = least loaded node in serverSet[target]
//	    if (n.load > T && some node.load < T/2) || n.load >= 2T {
//	        n = least loaded node; add n to the set }
//	    if |serverSet[target]| > 1 && now - lastMod > K {
//	        remove the most loaded node from the set }
//	}
//	if the set changed { lastMod = now }
//
// K is Options.SetExpiry (default 60 s). Usability, ties, the handling
// of departed or unusable members and the bounds of the table
// (Options.MaxEntries, Options.TableExpiry) are as in [LBLCR].
type LBLL struct {
	m    locLoad
	view locView
	sets locSets
}

// LBLLLocal is the LBLL variant of thesis §7.3.1 for distributors
// co-located with the servers, where serving a request on the
// distributor's own node (Request.Local) is much cheaper than handing it
// off:
//
//	if serverSet[target] == ∅ {
//	    n = local node if local.load < T, else least loaded node; add n to the set
//	} else {
//	    if local ∈ serverSet[target] && local.load < T { n = local }
//	    else {
//	        n = least loaded node in serverSet[target]
//	        if n.load > T {
//	            n = local node if local.load < T, else least loaded node
//	            add n to the set }
//	    }
//	    if |serverSet[target]| > 1 && now - lastMod > K { remove the most loaded node }
//	}
//	if the set changed { lastMod = now }
//
// Note that this variant's overload test is only n.load > T, without the
// T/2 and 2T clauses of [LBLL]. "local.load < T" also requires the local
// node to be in the pool and usable. A request without a local node
// (HasLocal false) comes from a dedicated distributor and is scheduled
// exactly as by [LBLL], sharing the same server sets.
type LBLLLocal struct {
	LBLL
}

// LBLLCache is the cache-oriented LBLL of thesis §7.5.4, for a cluster of
// cache servers in front of origin servers. Non-cacheable requests
// (Request.NoCache) and requests whose cache nodes are all overloaded go
// to the origin, which Schedule reports as ErrBypass:
//
//	if r is non-cacheable { fetch from the origin }
//	if serverSet[target] == ∅ { n = least loaded node; add n to the set }
//	else {
//	    n = least loaded node in serverSet[target]
//	    if n.load > T {
//	        if some node.load ≤ T/2 { n = least loaded node; add n to the set }
//	        else { n = the origin server }
//	    }
//	    if |serverSet[target]| > 1 && now - lastMod > K { remove the most loaded node }
//	}
//	if the set changed { lastMod = now }
//
// The thesis's §7.5.4 pseudo-code reads "node.load ≤ T/2" here (§7.3.1
// has "<"); this implementation follows the text. As in the pseudo-code,
// the set is still maintained (the shrink) when the request bypasses the
// caches. There is no 2T clause. A set whose members are all unusable
// gets the least loaded node, as in [LBLL]. When no cache node is usable
// at all the answer is ErrNoServer; a host may send such requests to the
// origin too.
type LBLLCache struct {
	LBLL
}

var (
	_ Scheduler = (*LBLL)(nil)
	_ Scheduler = (*LBLLLocal)(nil)
	_ Scheduler = (*LBLLCache)(nil)

	errLBLLNoServer      = fmt.Errorf("lbll: %w", ErrNoServer)
	errLBLLLocalNoServer = fmt.Errorf("lbll-local: %w", ErrNoServer)
	errLBLLCacheNoServer = fmt.Errorf("lbll-cache: %w", ErrNoServer)
	errLBLLCacheNoCache  = fmt.Errorf("lbll-cache: non-cacheable request: %w", ErrBypass)
	errLBLLCacheOverload = fmt.Errorf("lbll-cache: cache nodes overloaded: %w", ErrBypass)
)

// NewLBLL returns an LBLL scheduler. It reads Options.Threshold,
// Options.SetExpiry, Options.MaxEntries and Options.TableExpiry.
func NewLBLL(opts Options) (*LBLL, error) { return newLBLL("lbll", opts) }

// NewLBLLLocal returns the co-located LBLL scheduler. It reads
// Options.Threshold, Options.SetExpiry, Options.MaxEntries and
// Options.TableExpiry.
func NewLBLLLocal(opts Options) (*LBLLLocal, error) {
	l, err := newLBLL("lbll-local", opts)
	if err != nil {
		return nil, err
	}
	return &LBLLLocal{LBLL: *l}, nil
}

// NewLBLLCache returns the cache-oriented LBLL scheduler. It reads
// Options.Threshold, Options.SetExpiry, Options.MaxEntries and
// Options.TableExpiry.
func NewLBLLCache(opts Options) (*LBLLCache, error) {
	l, err := newLBLL("lbll-cache", opts)
	if err != nil {
		return nil, err
	}
	return &LBLLCache{LBLL: *l}, nil
}

func newLBLL(name string, opts Options) (*LBLL, error) {
	t := opts.Threshold
	switch {
	case math.IsNaN(t) || math.IsInf(t, 0) || t < 0:
		return nil, fmt.Errorf("algorithms: %s: threshold must be a finite number >= 0, got %v", name, t)
	case t == 0:
		t = DefaultThreshold
	}
	sets, err := newLocSets(name, opts)
	if err != nil {
		return nil, err
	}
	return &LBLL{m: locLoad{t: t}, sets: sets}, nil
}

// Name returns "lbll".
func (*LBLL) Name() string { return "lbll" }

// Name returns "lbll-local".
func (*LBLLLocal) Name() string { return "lbll-local" }

// Name returns "lbll-cache".
func (*LBLLCache) Name() string { return "lbll-cache" }

// Threshold returns T.
func (s *LBLL) Threshold() float64 { return s.m.t }

// Set returns a copy of the server set of target key, in the order the
// members were added, or nil.
func (s *LBLL) Set(key string) []ServerID { return s.sets.members(key) }

// Schedule returns the least loaded member of r.Key's server set, growing
// and shrinking the set as thesis §7.3.1 prescribes.
func (s *LBLL) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	id, ok := locSchedule(&s.sets, now, locKey(r), p, s.view.usable(p), s.m)
	if !ok {
		return 0, errLBLLNoServer
	}
	return id, nil
}

// Schedule prefers the distributor's own node (r.Local) while its load is
// below T, as the co-located LBLL of thesis §7.3.1 does.
func (s *LBLLLocal) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	if r == nil || !r.HasLocal {
		id, err := s.LBLL.Schedule(now, r, p)
		if err != nil {
			return 0, errLBLLLocalNoServer
		}
		return id, nil
	}
	cands := s.view.usable(p)
	local, localOK := -1, false
	if i, ok := p.Index(r.Local); ok && p.At(i).Usable() && p.At(i).Load < s.m.t {
		local, localOK = i, true
	}
	// pick returns the local node if its load is below T, else the least
	// loaded node.
	pick := func() (int, bool) {
		if localOK {
			return local, true
		}
		return locLeast(p, cands, s.m)
	}

	set, changed := s.sets.open(r.Key, now, p)
	if set == nil || len(set.members) == 0 {
		n, ok := pick()
		if !ok {
			if changed {
				set.lastMod = now
			}
			return 0, errLBLLLocalNoServer
		}
		if set == nil {
			s.sets.create(r.Key, p.At(n).ID, now)
		} else {
			set.add(p.At(n).ID)
			set.lastMod = now
		}
		return p.At(n).ID, nil
	}
	var n int
	if localOK && set.has(r.Local) {
		n = local
	} else {
		var ok bool
		n, ok = locSetLeast(set, p, s.m)
		if !ok || p.At(n).Load > s.m.t {
			if n, ok = pick(); !ok {
				if changed {
					set.lastMod = now
				}
				return 0, errLBLLLocalNoServer
			}
			if set.add(p.At(n).ID) {
				changed = true
			}
		}
	}
	if locShrink(&s.sets, set, now, p, s.m) {
		changed = true
	}
	if changed {
		set.lastMod = now
	}
	return p.At(n).ID, nil
}

// Schedule sends non-cacheable requests to the origin and otherwise runs
// the cache-oriented LBLL of thesis §7.5.4, answering ErrBypass when the
// request's cache nodes are overloaded and no node is lightly loaded.
func (s *LBLLCache) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	if r != nil && r.NoCache {
		return 0, errLBLLCacheNoCache
	}
	key := locKey(r)
	cands := s.view.usable(p)
	set, changed := s.sets.open(key, now, p)
	if set == nil || len(set.members) == 0 {
		n, ok := locLeast(p, cands, s.m)
		if !ok {
			if changed {
				set.lastMod = now
			}
			return 0, errLBLLCacheNoServer
		}
		if set == nil {
			s.sets.create(key, p.At(n).ID, now)
		} else {
			set.add(p.At(n).ID)
			set.lastMod = now
		}
		return p.At(n).ID, nil
	}
	bypass := false
	n, ok := locSetLeast(set, p, s.m)
	if !ok || p.At(n).Load > s.m.t {
		if ok && !s.m.someAtMost(p, cands, s.m.t/2) {
			bypass = true
		} else {
			if n, ok = locLeast(p, cands, s.m); !ok {
				if changed {
					set.lastMod = now
				}
				return 0, errLBLLCacheNoServer
			}
			if set.add(p.At(n).ID) {
				changed = true
			}
		}
	}
	if locShrink(&s.sets, set, now, p, s.m) {
		changed = true
	}
	if changed {
		set.lastMod = now
	}
	if bypass {
		return 0, errLBLLCacheOverload
	}
	return p.At(n).ID, nil
}

func init() {
	Register(Info{
		Name:        "lbll",
		Description: "locality-based least-loaded (CLS): LBLC/R on measured load with one threshold T",
		Source:      "thesis §7.3.1",
		New:         func(o Options) (Scheduler, error) { return NewLBLL(o) },
	})
	Register(Info{
		Name:        "lbll-local",
		Description: "LBLL for distributors co-located with servers: prefer the local node while its load < T",
		Source:      "thesis §7.3.1",
		New:         func(o Options) (Scheduler, error) { return NewLBLLLocal(o) },
	})
	Register(Info{
		Name:        "lbll-cache",
		Description: "cache-oriented LBLL: non-cacheable requests and overloaded caches bypass to the origin",
		Source:      "thesis §7.5.4",
		New:         func(o Options) (Scheduler, error) { return NewLBLLCache(o) },
	})
}

// locLoad is LBLL's metric: measured load with one threshold T.
type locLoad struct{ t float64 }

func (locLoad) load(s *Server) float64 { return s.Load }

// imbalanced is the test of thesis §7.3.1:
// (n.load > T && some node.load < T/2) || n.load >= 2T.
func (m locLoad) imbalanced(n *Server, p *Pool, cands []int) bool {
	if n.Load >= 2*m.t {
		return true
	}
	if !(n.Load > m.t) {
		return false
	}
	for _, i := range cands {
		if p.At(i).Load < m.t/2 {
			return true
		}
	}
	return false
}

// someAtMost reports whether some server in cands has load <= x.
func (locLoad) someAtMost(p *Pool, cands []int, x float64) bool {
	for _, i := range cands {
		if p.At(i).Load <= x {
			return true
		}
	}
	return false
}
