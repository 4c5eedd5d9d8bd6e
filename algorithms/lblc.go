package algorithms

import (
	"fmt"
	"time"
)

// Defaults of the locality-based schedulers.
const (
	// DefaultLow and DefaultHigh are the connection thresholds of an
	// ordinary node (thesis §6.3.5: "对于一般结点,我们选择高低阀值分别为
	// 30 和 60").
	DefaultLow  = 30
	DefaultHigh = 60

	// DefaultSetExpiry is LBLC/R's K: a server set with more than one
	// member that was not modified for this long sheds its most-loaded
	// member (thesis §6.3.5, "K 的缺省值为 60 秒").
	DefaultSetExpiry = 60 * time.Second
)

// LBLC is locality-based least-connection scheduling as the thesis defines
// it for a layer-7 switch (§6.3.5): every request target (Request.Key, the
// URL path) is mapped to one server, so that a target's requests hit the
// same server's memory cache, and the mapping changes only on a serious
// load imbalance:
//
//	n = server[target]
//	if n == nil { n = least-connection node; server[target] = n }
//	else if (n.conns > n.high && some node.conns < node.low) || n.conns >= 2*n.high {
//	    n = least-connection node; server[target] = n }
//
// n.conns is Server.Active, which the host keeps in cost units (1 for a
// static request, 2 for a dynamic one, Request.Units). n.low and n.high
// are Server.Low and Server.High, or Options.Low and Options.High when the
// server's are 0, or 30 and 60. "Some node" and "least-connection node"
// range over the usable servers (Server.Usable) only; ties go to the
// server earliest in the pool.
//
// The thesis is silent on a mapped server that fails or leaves the pool.
// LBLC then reassigns the target as if the imbalance test had fired, as
// IPVS's ip_vs_lblc.c does for a destination that is unavailable or has
// weight 0.
//
// The thesis keeps an entry for every target ever seen (37,804 in its
// trace). A live switch sees arbitrary URLs, so the map is bounded as
// ip_vs_lblc.c bounds its table: at most Options.MaxEntries targets
// (default 262,144; when full, the least recently used target is
// dropped), and a target not requested for Options.TableExpiry (default
// 24 h) is dropped. A dropped target is scheduled as a new one when it
// comes back. Neither bound is reached by the thesis's workloads. The
// layer-4 IPVS form is [IPVSLBLC].
type LBLC struct {
	th    locThresholds
	view  locView
	table keyTable[ServerID]
}

var _ Scheduler = (*LBLC)(nil)

var errLBLCNoServer = fmt.Errorf("lblc: %w", ErrNoServer)

// NewLBLC returns an LBLC scheduler. It reads Options.Low, Options.High,
// Options.MaxEntries and Options.TableExpiry and fails if they are
// negative or the resolved low exceeds high.
func NewLBLC(opts Options) (*LBLC, error) {
	th, err := newLocThresholds("lblc", opts)
	if err != nil {
		return nil, err
	}
	size, expire, err := resolveTableBounds("lblc", opts)
	if err != nil {
		return nil, err
	}
	return &LBLC{th: th, table: newKeyTable[ServerID](size, expire)}, nil
}

// Name returns "lblc".
func (*LBLC) Name() string { return "lblc" }

// Schedule returns the server r.Key is mapped to, remapping the key to the
// least-connection usable server when it is new, when its server is no
// longer usable, or when the imbalance rule of thesis §6.3.5 fires.
func (s *LBLC) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	s.table.advance(now)
	key := locKey(r)
	cands := s.view.usable(p)
	mapped := s.table.use(key)
	if mapped != nil {
		if i, ok := p.Index(*mapped); ok {
			if n := p.At(i); n.Usable() && !s.th.imbalanced(n, p, cands) {
				return *mapped, nil
			}
		}
	}
	i, ok := locLeast(p, cands, s.th)
	if !ok {
		return 0, errLBLCNoServer
	}
	if mapped == nil {
		mapped = s.table.insert(key)
	}
	*mapped = p.At(i).ID
	return *mapped, nil
}

// Lookup returns the server the target key is mapped to, if any.
func (s *LBLC) Lookup(key string) (ServerID, bool) {
	if id := s.table.peek(key); id != nil {
		return *id, true
	}
	return 0, false
}

// Len returns the number of mapped targets.
func (s *LBLC) Len() int { return s.table.Len() }

func init() {
	Register(Info{
		Name:        "lblc",
		Description: "locality-based least-connection: one server per URL target, remapped only on serious imbalance",
		Source:      "thesis §6.3.5",
		New:         func(o Options) (Scheduler, error) { return NewLBLC(o) },
	})
}

// ---- helpers shared by the locality-based schedulers (lblc*.go, content.go, lbll.go) ----

// locKey returns the locality key of r (the empty key for a nil request).
func locKey(r *Request) string {
	if r == nil {
		return ""
	}
	return r.Key
}

// locView caches the pool positions of the usable servers, in pool order,
// for one pool generation.
type locView struct {
	gen   uint64
	valid bool
	pos   []int
}

// usable returns the positions of p's usable servers in pool order. The
// slice is owned by the view and valid until the next call.
func (v *locView) usable(p *Pool) []int {
	if v.valid && v.gen == p.Generation() {
		return v.pos
	}
	v.gen, v.valid = p.Generation(), true
	v.pos = locPositions(v.pos, p)
	for i := range p.Servers() {
		if p.At(i).Usable() {
			v.pos = append(v.pos, i)
		}
	}
	return v.pos
}

// locPositions returns buf emptied, with room for every server of p, so
// that refilling it after a pool change (a server crossing a threshold
// changes the generation) allocates only when the pool has grown.
func locPositions(buf []int, p *Pool) []int {
	if cap(buf) < p.Len() {
		return make([]int, 0, p.Len())
	}
	return buf[:0]
}

// locMetric is the load measure of a locality-based scheduler: connection
// units with per-node thresholds (thesis §6.3.5) or measured load with one
// threshold T (§7.3.1).
type locMetric interface {
	// load returns the quantity the scheduler balances.
	load(s *Server) float64
	// imbalanced reports whether n is so loaded that its target should get
	// another server; cands are the usable servers n's target may use.
	imbalanced(n *Server, p *Pool, cands []int) bool
}

// locThresholds is the connection metric of thesis §6.3.5 with the
// default thresholds for servers whose own Low/High are 0.
type locThresholds struct{ low, high int }

func newLocThresholds(name string, o Options) (locThresholds, error) {
	if o.Low < 0 || o.High < 0 {
		return locThresholds{}, fmt.Errorf("algorithms: %s: thresholds must be >= 0 (low %d, high %d)", name, o.Low, o.High)
	}
	t := locThresholds{low: o.Low, high: o.High}
	if t.low == 0 {
		t.low = DefaultLow
	}
	if t.high == 0 {
		t.high = DefaultHigh
	}
	if t.low > t.high {
		return locThresholds{}, fmt.Errorf("algorithms: %s: low threshold %d exceeds high threshold %d", name, t.low, t.high)
	}
	return t, nil
}

// of returns s's thresholds.
func (t locThresholds) of(s *Server) (low, high int) {
	low, high = s.Low, s.High
	if low == 0 {
		low = t.low
	}
	if high == 0 {
		high = t.high
	}
	return low, high
}

func (locThresholds) load(s *Server) float64 { return float64(s.Active) }

// imbalanced is the test of thesis §6.3.5:
// (n.conns > n.high && some node.conns < node.low) || n.conns >= 2*n.high.
// The scan for an idle node runs only when n is above its high threshold.
func (t locThresholds) imbalanced(n *Server, p *Pool, cands []int) bool {
	_, high := t.of(n)
	if n.Active >= 2*high {
		return true
	}
	if n.Active <= high {
		return false
	}
	for _, i := range cands {
		s := p.At(i)
		if low, _ := t.of(s); s.Active < low {
			return true
		}
	}
	return false
}

// locLeast returns the position of the least-loaded server among cands
// (the first in pool order on ties), or false if cands is empty.
func locLeast[M locMetric](p *Pool, cands []int, m M) (int, bool) {
	best, bl := -1, 0.0
	for _, i := range cands {
		if l := m.load(p.At(i)); best < 0 || l < bl {
			best, bl = i, l
		}
	}
	return best, best >= 0
}
