package algorithms

import (
	"fmt"
	"slices"
	"time"
)

// LBLCR is locality-based least-connection with replication (thesis
// §6.3.5): every request target (Request.Key) has a server set, and a
// target that overloads its servers gets another one:
//
//	if serverSet[target] == ∅ { n = least-connection node; add n to the set }
//	else {
//	    n = least-connection node in serverSet[target]
//	    if (n.conns > n.high && some node.conns < node.low) || n.conns >= 2*n.high {
//	        n = least-connection node; add n to the set }
//	    if |serverSet[target]| > 1 && now - serverSet[target].lastMod > K {
//	        remove the most-connection node from the set }
//	}
//	if the set changed { serverSet[target].lastMod = now }
//
// Connections, thresholds, ties and usability are as in [LBLC]. K is
// Options.SetExpiry (default 60 s), measured in Schedule's now.
//
// As in the pseudo-code, the shrink test reads lastMod as it was before
// this request, so a set that has not changed for K may both gain the
// least-connection node and lose its most-loaded one in the same call.
// Points where the thesis is silent, resolved as IPVS's ip_vs_lblcr.c
// does: only usable members are candidates for n, and a set with no
// usable member is treated as overloaded (the least-connection node is
// added); the most-connection node is chosen among all members still in
// the pool. Members that have left the pool are dropped when their target
// is next scheduled, which counts as a change of the set.
//
// The table of server sets is bounded as [LBLC]'s map is: at most
// Options.MaxEntries targets (the least recently used goes first) and none
// unused for Options.TableExpiry. A dropped target starts again from an
// empty set.
type LBLCR struct {
	th   locThresholds
	view locView
	sets locSets
}

var _ Scheduler = (*LBLCR)(nil)

var errLBLCRNoServer = fmt.Errorf("lblcr: %w", ErrNoServer)

// NewLBLCR returns an LBLC/R scheduler. It reads Options.Low, Options.High,
// Options.SetExpiry, Options.MaxEntries and Options.TableExpiry.
func NewLBLCR(opts Options) (*LBLCR, error) {
	th, err := newLocThresholds("lblcr", opts)
	if err != nil {
		return nil, err
	}
	sets, err := newLocSets("lblcr", opts)
	if err != nil {
		return nil, err
	}
	return &LBLCR{th: th, sets: sets}, nil
}

// Name returns "lblcr".
func (*LBLCR) Name() string { return "lblcr" }

// Schedule returns the least-connection member of r.Key's server set,
// growing and shrinking the set as thesis §6.3.5 prescribes.
func (s *LBLCR) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	id, ok := locSchedule(&s.sets, now, locKey(r), p, s.view.usable(p), s.th)
	if !ok {
		return 0, errLBLCRNoServer
	}
	return id, nil
}

// Set returns a copy of the server set of target key, in the order the
// members were added, or nil.
func (s *LBLCR) Set(key string) []ServerID { return s.sets.members(key) }

// Len returns the number of targets with a server set.
func (s *LBLCR) Len() int { return s.sets.tab.Len() }

func init() {
	Register(Info{
		Name:        "lblcr",
		Description: "locality-based least-connection with replication: a server set per URL target, grown on imbalance, shrunk after K",
		Source:      "thesis §6.3.5",
		New:         func(o Options) (Scheduler, error) { return NewLBLCR(o) },
	})
}

// locSetExpiry resolves Options.SetExpiry (K).
func locSetExpiry(name string, o Options) (time.Duration, error) {
	switch {
	case o.SetExpiry < 0:
		return 0, fmt.Errorf("algorithms: %s: set expiry must be >= 0, got %v", name, o.SetExpiry)
	case o.SetExpiry == 0:
		return DefaultSetExpiry, nil
	}
	return o.SetExpiry, nil
}

// locSet is one target's server set with its last modification time.
type locSet struct {
	members []ServerID // in the order they were added
	lastMod time.Duration
	// first backs members while the set has its one initial member, so
	// that a new set needs no array of its own; the first append beyond
	// it moves members to a new array, as for any slice.
	first [1]ServerID
}

func (s *locSet) has(id ServerID) bool { return slices.Contains(s.members, id) }

// add adds id and reports whether the set changed.
func (s *locSet) add(id ServerID) bool {
	if s.has(id) {
		return false
	}
	s.members = append(s.members, id)
	return true
}

func (s *locSet) remove(id ServerID) {
	if i := slices.Index(s.members, id); i >= 0 {
		s.members = slices.Delete(s.members, i, i+1)
	}
}

// prune drops members that are no longer in p and reports whether it
// dropped any.
func (s *locSet) prune(p *Pool) bool {
	n := len(s.members)
	s.members = slices.DeleteFunc(s.members, func(id ServerID) bool {
		_, ok := p.Index(id)
		return !ok
	})
	return len(s.members) != n
}

// least returns the position of the usable member with the least load
// (the first in pool order on ties), or false if no member is usable.
func locSetLeast[M locMetric](s *locSet, p *Pool, m M) (int, bool) {
	best, bl := -1, 0.0
	for _, id := range s.members {
		i, ok := p.Index(id)
		if !ok || !p.At(i).Usable() {
			continue
		}
		if l := m.load(p.At(i)); best < 0 || l < bl || (l == bl && i < best) {
			best, bl = i, l
		}
	}
	return best, best >= 0
}

// locSetMost returns the position of the member in p with the greatest
// load (the first in pool order on ties), or false if none is in p.
func locSetMost[M locMetric](s *locSet, p *Pool, m M) (int, bool) {
	best, bl := -1, 0.0
	for _, id := range s.members {
		i, ok := p.Index(id)
		if !ok {
			continue
		}
		if l := m.load(p.At(i)); best < 0 || l > bl || (l == bl && i < best) {
			best, bl = i, l
		}
	}
	return best, best >= 0
}

// locSets is the serverSet table of LBLC/R and its relatives (content-based
// LBLC/R, LBLL), bounded by Options.MaxEntries and Options.TableExpiry (see
// [LBLC]). Sets live in the table's blocks (64 at a time), so that a run
// with many targets allocates them in blocks rather than one by one, and
// the set of a dropped target is reused, with its member array, by the
// next new one.
type locSets struct {
	k   time.Duration
	tab keyTable[locSet]
}

// newLocSets returns the table of scheduler name, reading
// Options.SetExpiry, Options.MaxEntries and Options.TableExpiry.
func newLocSets(name string, o Options) (locSets, error) {
	k, err := locSetExpiry(name, o)
	if err != nil {
		return locSets{}, err
	}
	size, expire, err := resolveTableBounds(name, o)
	if err != nil {
		return locSets{}, err
	}
	return locSets{k: k, tab: newKeyTable[locSet](size, expire)}, nil
}

func (t *locSets) members(key string) []ServerID {
	if s := t.tab.peek(key); s != nil {
		return slices.Clone(s.members)
	}
	return nil
}

// open drops the sets unused for the table expiry by now and returns
// key's set after dropping members that left p, and whether it dropped
// any; nil if key has no set.
func (t *locSets) open(key string, now time.Duration, p *Pool) (*locSet, bool) {
	t.tab.advance(now)
	s := t.tab.use(key)
	if s == nil {
		return nil, false
	}
	return s, s.prune(p)
}

// create gives key the set {id}, modified at now. The table may drop its
// least recently used set to make room; that set's storage is reused.
func (t *locSets) create(key string, id ServerID, now time.Duration) {
	s := t.tab.insert(key)
	if cap(s.members) > len(s.first) {
		s.members = append(s.members[:0], id) // a dropped set's own array
	} else {
		s.first[0] = id
		s.members = s.first[:]
	}
	s.lastMod = now
}

// shrink removes the most-loaded member of s if s has more than one member
// and was last modified more than K before now, and reports whether it did.
func locShrink[M locMetric](t *locSets, s *locSet, now time.Duration, p *Pool, m M) bool {
	if len(s.members) <= 1 || now-s.lastMod <= t.k {
		return false
	}
	i, ok := locSetMost(s, p, m)
	if !ok {
		return false
	}
	s.remove(p.At(i).ID)
	return true
}

// locSchedule runs the LBLC/R loop body of thesis §6.3.5 (and, with the
// load metric, LBLL of §7.3.1) on table t for key, choosing among cands,
// the usable servers the key may use, in pool order. It returns false when
// no server qualifies. It is generic in the metric, not a method taking a
// locMetric interface, so that the metric is not boxed (a heap allocation)
// on every call.
func locSchedule[M locMetric](t *locSets, now time.Duration, key string, p *Pool, cands []int, m M) (ServerID, bool) {
	s, changed := t.open(key, now, p)
	if s == nil || len(s.members) == 0 {
		i, ok := locLeast(p, cands, m)
		if !ok {
			if changed {
				s.lastMod = now
			}
			return 0, false
		}
		id := p.At(i).ID
		if s == nil {
			t.create(key, id, now)
		} else {
			s.add(id)
			s.lastMod = now
		}
		return id, true
	}
	n, ok := locSetLeast(s, p, m)
	if !ok || m.imbalanced(p.At(n), p, cands) {
		g, gok := locLeast(p, cands, m)
		if !gok {
			if changed {
				s.lastMod = now
			}
			return 0, false
		}
		n = g
		if s.add(p.At(g).ID) {
			changed = true
		}
	}
	if locShrink(t, s, now, p, m) {
		changed = true
	}
	if changed {
		s.lastMod = now
	}
	return p.At(n).ID, true
}
