package algorithms

import (
	"fmt"
	"time"
)

// RR is IPVS round-robin (thesis §4.1.1; ip_vs_rr.c, Linux v6.17): each
// new connection goes to the next usable server after the one chosen last,
// in pool order, wrapping around.
//
// Like ip_vs_rr, RR keeps a cursor on the last chosen server rather than a
// counter. When the pool changes it finds that server again by ID; if it
// was removed, the cursor moves to its predecessor, as ip_vs_rr_del_dest
// does, so the removed server's successor is next in turn. Added servers
// join the walk where they stand in pool order.
type RR struct {
	gen  uint64 // Pool.Generation pos was last checked against
	pos  int    // position of the last chosen server; -1: before the first
	last ServerID
	has  bool // last is set
}

var _ Scheduler = (*RR)(nil)

var errRRNoServer = fmt.Errorf("rr: %w", ErrNoServer)

// NewRR returns a round-robin scheduler.
func NewRR() *RR { return &RR{pos: -1} }

// Name returns "rr".
func (*RR) Name() string { return "rr" }

// Schedule returns the next usable server after the last chosen one.
func (rr *RR) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	servers := p.Servers()
	n := len(servers)
	if g := p.Generation(); g != rr.gen {
		rr.gen = g
		rr.revalidate(p, n)
	}
	for k := 1; k <= n; k++ {
		i := (rr.pos + k) % n
		if s := &servers[i]; s.Usable() {
			rr.pos, rr.last, rr.has = i, s.ID, true
			return s.ID, nil
		}
	}
	return 0, errRRNoServer
}

// revalidate re-anchors the cursor after a pool change.
func (rr *RR) revalidate(p *Pool, n int) {
	if !rr.has {
		rr.pos = min(rr.pos, n-1)
		return
	}
	if i, ok := p.Index(rr.last); ok {
		rr.pos = i
		return
	}
	// The last chosen server is gone: its successor now sits at (or, if
	// more servers left, before) its old position. Point at the slot
	// before it, like ip_vs_rr_del_dest's move to the previous entry.
	rr.pos = min(rr.pos, n) - 1
	rr.has = false
}

func init() {
	Register(Info{
		Name:        "rr",
		Description: "round-robin: the next usable server in turn",
		Source:      "thesis §4.1.1; ip_vs_rr.c",
		New:         func(Options) (Scheduler, error) { return NewRR(), nil },
	})
}
