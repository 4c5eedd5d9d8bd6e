package algotest

import (
	"math/big"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// The reference schedulers below are written for obviousness, not speed:
// each is the thesis's pseudo-code (or the IPVS module's loop) with no
// caching, no gcd tricks and exact arithmetic, so that an optimised
// scheduler can be checked against it with [Compare]. Where the thesis is
// silent (pool changes, unusable servers) they follow Linux IPVS and say so.
//
// Common rules: a server is a candidate only if it is usable (not Down, not
// Overloaded, Weight > 0; IPVS skips IP_VS_DEST_F_OVERLOAD and weight 0,
// and a failed server is quiesced or removed); servers are walked in pool
// order and ties go to the first.

var (
	_ algorithms.Scheduler = (*RefRR)(nil)
	_ algorithms.Scheduler = (*RefWRR)(nil)
	_ algorithms.Scheduler = (*RefLC)(nil)
	_ algorithms.Scheduler = (*RefWLC)(nil)
	_ algorithms.Scheduler = (*RefSED)(nil)
	_ algorithms.Scheduler = (*RefNQ)(nil)
	_ algorithms.Scheduler = (*RefLBLC)(nil)
)

// RefRR is round-robin (thesis §4.1.1): the next usable server after the
// one chosen last, wrapping around; the first request goes to the first
// usable server. If the last chosen server has left the pool, the walk
// resumes at the position it held, which its successor now occupies (as
// ip_vs_rr_del_dest moves the cursor to the previous entry). The zero
// value is ready to use.
type RefRR struct {
	last  algorithms.ServerID
	has   bool // last is a server to continue after
	start int  // where the next walk begins when !has
}

// Name returns "ref-rr".
func (*RefRR) Name() string { return "ref-rr" }

// Schedule implements [algorithms.Scheduler].
func (r *RefRR) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if r.has {
		if i, ok := p.Index(r.last); ok {
			r.start = i + 1
		} else {
			r.has = false // r.start still holds the removed server's position
		}
	}
	n := p.Len()
	if r.start >= n {
		r.start = 0
	}
	for k := 0; k < n; k++ {
		i := (r.start + k) % n
		if s := p.At(i); s.Usable() {
			r.last, r.has, r.start = s.ID, true, i
			return s.ID, nil
		}
	}
	return 0, algorithms.ErrNoServer
}

// RefWRR is weighted round-robin exactly as the loop of thesis §4.1.2,
// with the current weight cw stepping down by 1:
//
//	i = -1, cw = 0
//	loop {
//	    i = (i + 1) mod n
//	    if i == 0 {
//	        cw = cw - 1
//	        if cw <= 0 {
//	            cw = max weight of S
//	            if cw == 0 { return NULL }
//	        }
//	    }
//	    if W(Si) >= cw { return Si }
//	}
//
// IPVS (ip_vs_wrr.c) steps cw by the gcd g of the weights from
// max-(g-1). When g is 1 the two are the same loop. When g > 1 both give
// each server its weight's share of a cycle but interleave differently:
// weights 4, 2 give AAABAB here and AABAAB in IPVS, because IPVS visits
// only the levels 1+k·g where the thesis visits every level.
//
// An unusable server is passed over as if its weight were below cw. When
// membership, a weight or a Down flag changes, the cycle restarts (i = -1,
// cw = 0), as the thesis's reference simulation does ("WRR restarts its
// cycle when weights change"); IPVS instead keeps cw where it can
// (ip_vs_wrr_dest_changed), so the two agree only while the pool's
// weights stand still. An OVERLOAD flip does not restart the cycle, as in
// IPVS. The zero value is ready to use.
type RefWRR struct {
	i, cw  int
	seen   []algorithms.ServerID
	weight []int
	inited bool
}

// Name returns "ref-wrr".
func (*RefWRR) Name() string { return "ref-wrr" }

// Schedule implements [algorithms.Scheduler].
func (w *RefWRR) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if !w.inited || w.changed(p) {
		w.i, w.cw, w.inited = -1, 0, true
		w.seen, w.weight = w.seen[:0], w.weight[:0]
		for _, s := range p.Servers() {
			w.seen = append(w.seen, s.ID)
			w.weight = append(w.weight, effectiveWeight(s))
		}
	}
	n := p.Len()
	if n == 0 {
		return 0, algorithms.ErrNoServer
	}
	// The thesis's loop never ends when every server with a positive
	// weight is unusable. Like ip_vs_wrr.c, the reference gives up once
	// this call has checked every server at the lowest level, cw = 1,
	// and keeps its place in the cycle.
	checkedAtOne := 0
	for {
		w.i = (w.i + 1) % n
		if w.i == 0 {
			w.cw = w.cw - 1
			if w.cw <= 0 {
				w.cw = 0
				for _, s := range p.Servers() {
					w.cw = max(w.cw, effectiveWeight(s))
				}
				if w.cw == 0 {
					return 0, algorithms.ErrNoServer
				}
			}
		}
		if s := p.At(w.i); s.Usable() && s.Weight >= w.cw {
			return s.ID, nil
		}
		if w.cw == 1 {
			if checkedAtOne++; checkedAtOne == n {
				return 0, algorithms.ErrNoServer
			}
		}
	}
}

// effectiveWeight is a server's weight, 0 while it is down (a health
// checker quiesces a failed server).
func effectiveWeight(s algorithms.Server) int {
	if s.Down {
		return 0
	}
	return s.Weight
}

func (w *RefWRR) changed(p *algorithms.Pool) bool {
	if p.Len() != len(w.seen) {
		return true
	}
	for i, s := range p.Servers() {
		if s.ID != w.seen[i] || effectiveWeight(s) != w.weight[i] {
			return true
		}
	}
	return false
}

// RefLC is least-connection (thesis §4.1.3; ip_vs_lc.c): the usable
// server with the fewest connections, counted as IPVS's overhead
// (Active<<8)+Inactive ([algorithms.Server.Conns]).
type RefLC struct{}

// Name returns "ref-lc".
func (RefLC) Name() string { return "ref-lc" }

// Schedule implements [algorithms.Scheduler].
func (RefLC) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	best := -1
	for i, s := range p.Servers() {
		if s.Usable() && (best < 0 || s.Conns() < p.At(best).Conns()) {
			best = i
		}
	}
	if best < 0 {
		return 0, algorithms.ErrNoServer
	}
	return p.At(best).ID, nil
}

// leastRat returns the usable server minimising ratio, compared exactly
// with rationals (the first on ties), or ErrNoServer.
func leastRat(p *algorithms.Pool, ratio func(s algorithms.Server) *big.Rat) (algorithms.ServerID, error) {
	var best *big.Rat
	var id algorithms.ServerID
	for _, s := range p.Servers() {
		if !s.Usable() {
			continue
		}
		if q := ratio(s); best == nil || q.Cmp(best) < 0 {
			best, id = q, s.ID
		}
	}
	if best == nil {
		return 0, algorithms.ErrNoServer
	}
	return id, nil
}

// RefWLC is weighted least-connection (thesis §4.1.4; ip_vs_wlc.c): the
// usable server minimising C_i / W_i, with C_i the IPVS overhead
// (Active<<8)+Inactive, divided exactly with math/big rationals rather
// than compared by cross-multiplication.
type RefWLC struct{}

// Name returns "ref-wlc".
func (RefWLC) Name() string { return "ref-wlc" }

// Schedule implements [algorithms.Scheduler].
func (RefWLC) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	return leastRat(p, func(s algorithms.Server) *big.Rat {
		return big.NewRat(int64(s.Conns()), int64(s.Weight))
	})
}

// RefSED is shortest expected delay (ip_vs_sed.c): the usable server
// minimising (Active+1) / Weight, divided exactly. Inactive connections do
// not count.
type RefSED struct{}

// Name returns "ref-sed".
func (RefSED) Name() string { return "ref-sed" }

// Schedule implements [algorithms.Scheduler].
func (RefSED) Schedule(_ time.Duration, _ *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	return leastRat(p, func(s algorithms.Server) *big.Rat {
		return big.NewRat(int64(s.Active)+1, int64(s.Weight))
	})
}

// RefNQ is never queue (ip_vs_nq.c): the first usable server with no
// active connection; if every usable server is busy, the SED choice.
type RefNQ struct{}

// Name returns "ref-nq".
func (RefNQ) Name() string { return "ref-nq" }

// Schedule implements [algorithms.Scheduler].
func (RefNQ) Schedule(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	for _, s := range p.Servers() {
		if s.Usable() && s.Active == 0 {
			return s.ID, nil
		}
	}
	return RefSED{}.Schedule(now, r, p)
}

// RefLBLC is locality-based least-connection, the pseudo-code of thesis
// §6.3.5 for one request:
//
//	if server[r.target] == NULL {
//	    n = least connection node; server[r.target] = n
//	} else {
//	    n = server[r.target]
//	    if (n.conns > n.high && a node with node.conns < node.low) || n.conns >= 2*n.high {
//	        n = least connection node; server[r.target] = n
//	    }
//	}
//
// The target is Request.Key (the host extracts the URL path; see
// Request.Key); n.conns is Server.Active, which the host keeps in cost
// units (the thesis's "n.conns += 2" for a dynamic request). n.low and
// n.high are the server's Low and High, or the RefLBLC's, or 30 and 60
// ("对于一般结点,我们选择高低阀值分别为 30 和 60"). Only usable servers
// are nodes, and a target whose server became unusable or left the pool is
// treated as unmapped (the thesis is silent; ip_vs_lblc.c does the same).
type RefLBLC struct {
	Low, High int // defaults for servers whose own are 0; 0 means 30, 60
	server    map[string]algorithms.ServerID
}

// Name returns "ref-lblc".
func (*RefLBLC) Name() string { return "ref-lblc" }

// Schedule implements [algorithms.Scheduler].
func (l *RefLBLC) Schedule(_ time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
	if l.server == nil {
		l.server = make(map[string]algorithms.ServerID)
	}
	target := r.Key
	id, mapped := l.server[target]
	var n *algorithms.Server
	if mapped {
		n = p.Get(id)
		if n != nil && !n.Usable() {
			n = nil
		}
	}
	if n != nil {
		lowDefault, highDefault := l.defaults()
		high := n.High
		if high == 0 {
			high = highDefault
		}
		someIdle := false
		for _, m := range p.Servers() {
			low := m.Low
			if low == 0 {
				low = lowDefault
			}
			if m.Usable() && m.Active < low {
				someIdle = true
			}
		}
		if (n.Active > high && someIdle) || n.Active >= 2*high {
			n = nil
		}
	}
	if n == nil {
		for i, m := range p.Servers() {
			if m.Usable() && (n == nil || m.Active < n.Active) {
				n = p.At(i)
			}
		}
		if n == nil {
			return 0, algorithms.ErrNoServer
		}
		l.server[target] = n.ID
	}
	return n.ID, nil
}

func (l *RefLBLC) defaults() (low, high int) {
	low, high = l.Low, l.High
	if low == 0 {
		low = 30
	}
	if high == 0 {
		high = 60
	}
	return low, high
}
