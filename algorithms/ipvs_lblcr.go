package algorithms

import (
	"fmt"
	"slices"
	"time"
)

// IPVSLBLCR is Linux IPVS's lblcr scheduler (net/netfilter/ipvs/ip_vs_lblcr.c),
// the layer-4 form of locality-based least-connection with replication:
// each destination address has a server set,
//
//	if serverSet[dest] is null { n = weighted least-connection node; serverSet[dest] = {n} }
//	else {
//	    n = weighted least-connection usable member of serverSet[dest]
//	    if |set| > 1 and now - set.lastMod > expiry {
//	        remove the weighted most-connection member (weight > 0) }
//	    if n is null or (n.active > n.weight and some node m has m.active*2 < m.weight) {
//	        n = weighted least-connection node; add n to the set }
//	}
//
// in the kernel's order: the shrink happens before the overload test and
// may remove the n about to be returned. Adding a server not yet in the
// set and removing one set lastMod to now. The set's expiry is
// Options.SetExpiry when set, else the table expiry (the kernel uses the
// lblcr_expiration sysctl, default 24 h, for both); the shrink needs now
// strictly later than lastMod + expiry (time_after).
//
// Keys, the weighted least-connection pick, the overload test, tie-breaking
// by pool position, the refusal of overloaded servers and the table's
// entry expiry and size bound are as in [IPVSLBLC]. Members that have left
// the pool are dropped silently when their destination is next scheduled
// (the kernel keeps them in the trash until the shrink removes them).
type IPVSLBLCR struct {
	tab       ipvsLocTable
	setExpiry time.Duration
}

var _ Scheduler = (*IPVSLBLCR)(nil)

var errIPVSLBLCRNoServer = fmt.Errorf("ipvs-lblcr: %w", ErrNoServer)

// NewIPVSLBLCR returns an IPVS lblcr scheduler. It reads Options.TableExpiry,
// Options.MaxEntries and Options.SetExpiry.
func NewIPVSLBLCR(opts Options) (*IPVSLBLCR, error) {
	limit, exp, err := resolveTableBounds("ipvs-lblcr", opts)
	if err != nil {
		return nil, err
	}
	if opts.SetExpiry < 0 {
		return nil, fmt.Errorf("algorithms: ipvs-lblcr: set expiry must be >= 0, got %v", opts.SetExpiry)
	}
	setExp := opts.SetExpiry
	if setExp == 0 {
		setExp = exp
	}
	return &IPVSLBLCR{tab: newIPVSLocTable(exp, limit), setExpiry: setExp}, nil
}

// Name returns "ipvs-lblcr".
func (*IPVSLBLCR) Name() string { return "ipvs-lblcr" }

// Schedule returns the least-loaded member of r's destination's server
// set, growing the set when that member is overloaded and shrinking it
// when it has not changed for the set expiry.
func (s *IPVSLBLCR) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	now = s.tab.advance(now)
	k := ipvsLocKeyOf(r)
	e := s.tab.get(k)
	if e == nil {
		i, ok := ipvsLocWLC(p)
		if !ok {
			return 0, errIPVSLBLCRNoServer
		}
		e = s.tab.insert(k, now)
		e.set = append(e.set, p.At(i).ID)
		e.lastMod = now
		return e.set[0], nil
	}
	s.tab.touch(e, now)
	e.set = slices.DeleteFunc(e.set, func(id ServerID) bool {
		_, ok := p.Index(id)
		return !ok
	})
	d, dok := ipvsLocSetMin(e.set, p)
	if len(e.set) > 1 && now-e.lastMod > s.setExpiry {
		if m, ok := ipvsLocSetMax(e.set, p); ok {
			e.set = slices.DeleteFunc(e.set, func(id ServerID) bool { return id == p.At(m).ID })
			e.lastMod = now
		}
	}
	if dok && !ipvsLocOverloaded(p.At(d), p) {
		return p.At(d).ID, nil
	}
	i, ok := ipvsLocWLC(p)
	if !ok {
		return 0, errIPVSLBLCRNoServer
	}
	id := p.At(i).ID
	if !slices.Contains(e.set, id) {
		e.set = append(e.set, id)
		e.lastMod = now
	}
	return id, nil
}

// Set returns a copy of the server set of r's destination key, in the
// order the members were added, or nil.
func (s *IPVSLBLCR) Set(r *Request) []ServerID {
	if e := s.tab.get(ipvsLocKeyOf(r)); e != nil {
		return slices.Clone(e.set)
	}
	return nil
}

// Len returns the number of entries in the table.
func (s *IPVSLBLCR) Len() int { return len(s.tab.entries) }

func init() {
	Register(Info{
		Name:        "ipvs-lblcr",
		Description: "IPVS locality-based least-connection with replication: a weighted server set per destination IP, with expiry",
		Source:      "ip_vs_lblcr.c; thesis §6.3.5",
		New:         func(o Options) (Scheduler, error) { return NewIPVSLBLCR(o) },
	})
}

// ipvsLocSetMin is ip_vs_dest_set_min: the usable member with the least
// Conns()/Weight, the first in pool order on ties.
func ipvsLocSetMin(set []ServerID, p *Pool) (int, bool) {
	best := -1
	var loh, lw int64
	for _, id := range set {
		i, ok := p.Index(id)
		if !ok || !p.At(i).Usable() {
			continue
		}
		d := p.At(i)
		doh, dw := int64(d.Conns()), int64(d.Weight)
		if best < 0 || loh*dw > doh*lw || (loh*dw == doh*lw && i < best) {
			best, loh, lw = i, doh, dw
		}
	}
	return best, best >= 0
}

// ipvsLocSetMax is ip_vs_dest_set_max: the member with a positive weight
// and the greatest Conns()/Weight, whatever its state, the first in pool
// order on ties.
func ipvsLocSetMax(set []ServerID, p *Pool) (int, bool) {
	best := -1
	var moh, mw int64
	for _, id := range set {
		i, ok := p.Index(id)
		if !ok || p.At(i).Weight <= 0 {
			continue
		}
		d := p.At(i)
		doh, dw := int64(d.Conns()), int64(d.Weight)
		if best < 0 || moh*dw < doh*mw || (moh*dw == doh*mw && i < best) {
			best, moh, mw = i, doh, dw
		}
	}
	return best, best >= 0
}
