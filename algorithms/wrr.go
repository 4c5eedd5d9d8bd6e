package algorithms

import (
	"fmt"
	"time"
)

// WRR is IPVS weighted round-robin (thesis §4.1.2; ip_vs_wrr.c, Linux
// v6.17). A current weight cw starts at the maximum weight and steps down
// by the gcd of the weights each time the walk passes the end of the pool;
// a server is chosen when its weight is at least cw. Weights 4, 3, 2 give
// the cycle A A B A B C A B C.
//
// As in the kernel, the maximum is lowered by gcd-1 (mw = max - (gcd-1)),
// so the last pass of a cycle runs with cw = 1. Overloaded and down servers
// are skipped in the walk; weight-0 servers never reach cw >= 1.
//
// When membership, a weight or a Down flag changes (detected through
// Pool.Generation), WRR reacts as ip_vs_wrr_dest_changed does: the walk
// restarts from the first server, gcd and mw are recomputed, and cw is
// reset to mw if it exceeds it, or else aligned to the new gcd grid. Down
// servers count as weight 0 there (a health checker would quiesce or
// remove them). A change of the OVERLOAD flag alone does not restart the
// cycle, as in the kernel.
//
// With Options.RestartCycle (NewWRRRestart) a change restarts the cycle
// from its beginning instead (cw = mw, walk from the first server), the
// reading of "WRR restarts its cycle when weights change" that
// docs/reference-model.md's thesis preset uses for DFLB.
type WRR struct {
	restart bool   // full cycle restart on change (Options.RestartCycle)
	gen     uint64 // Pool.Generation the state was last checked against
	inited  bool
	sig     []wrrEntry // membership and weights the state was computed for
	cur     int        // position of the last chosen server; -1: the list head
	cw      int        // current weight
	mw      int        // maximum weight - (di - 1)
	di      int        // gcd of the positive weights (1 if none)
}

type wrrEntry struct {
	id     ServerID
	weight int // 0 when the server is down
}

var _ Scheduler = (*WRR)(nil)

var errWRRNoServer = fmt.Errorf("wrr: %w", ErrNoServer)

// NewWRR returns a weighted round-robin scheduler.
func NewWRR() *WRR { return &WRR{cur: -1} }

// NewWRRRestart returns a weighted round-robin scheduler that restarts its
// cycle from the beginning whenever weights or membership change.
func NewWRRRestart() *WRR { return &WRR{cur: -1, restart: true} }

// Name returns "wrr".
func (*WRR) Name() string { return "wrr" }

// Schedule returns the next server of the weighted cycle.
func (w *WRR) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	if g := p.Generation(); g != w.gen || !w.inited {
		w.gen = g
		w.sync(p)
	}
	if w.mw == 0 {
		return 0, errWRRNoServer
	}
	servers := p.Servers()
	n := len(servers)
	pos, last, stop := w.cur, w.cur, -2
	lastPass, restarted := false, false
	for {
		for pos++; pos < n; pos++ {
			s := &servers[pos]
			if !s.Overloaded && !s.Down && s.Weight >= w.cw {
				w.cur = pos
				return s.ID, nil
			}
			if pos == stop {
				w.cur = pos
				return 0, errWRRNoServer
			}
		}
		pos = -1 // back at the list head
		w.cw -= w.di
		if w.cw <= 0 {
			w.cw = w.mw
			// Stop if the last pass (cw <= di) already covered every
			// server, or the walk started at the head.
			if lastPass || last == -1 {
				w.cur = -1
				return 0, errWRRNoServer
			}
			restarted = true
		}
		lastPass = w.cw <= w.di
		if lastPass && restarted && last != -1 {
			// The first traversal at cw = 1 only saw the servers after
			// last; check those up to last, then give up.
			stop = last
		}
	}
}

// sync compares the pool with the state's signature and initialises or
// updates the state as ip_vs_wrr_init_svc / ip_vs_wrr_dest_changed do.
func (w *WRR) sync(p *Pool) {
	servers := p.Servers()
	same := w.inited && len(w.sig) == len(servers)
	if same {
		for i := range servers {
			if w.sig[i] != entryOf(&servers[i]) {
				same = false
				break
			}
		}
	}
	if same {
		return // only OVERLOAD flags changed
	}
	w.sig = w.sig[:0]
	di, maxw := 0, 0
	for i := range servers {
		e := entryOf(&servers[i])
		w.sig = append(w.sig, e)
		if e.weight > 0 {
			di = gcd(e.weight, di)
			maxw = max(maxw, e.weight)
		}
	}
	w.di = max(di, 1)
	w.mw = maxw - (w.di - 1)
	w.cur = -1
	switch {
	case !w.inited || w.restart || w.cw > w.mw || w.cw == 0:
		w.cw = w.mw
	case w.di > 1:
		w.cw = (w.cw/w.di)*w.di + 1
	}
	w.inited = true
}

func entryOf(s *Server) wrrEntry {
	if s.Down {
		return wrrEntry{id: s.ID}
	}
	return wrrEntry{id: s.ID, weight: s.Weight}
}

func init() {
	Register(Info{
		Name:        "wrr",
		Description: "weighted round-robin: servers in turn, each as often as its weight",
		Source:      "thesis §4.1.2; ip_vs_wrr.c",
		New: func(o Options) (Scheduler, error) {
			if o.RestartCycle {
				return NewWRRRestart(), nil
			}
			return NewWRR(), nil
		},
	})
}
