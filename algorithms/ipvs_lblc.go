package algorithms

import (
	"fmt"
	"net/netip"
	"time"
)

// Constants of the expiry machinery of ip_vs_lblc.c and ip_vs_lblcr.c.
const (
	ipvsLocCheckInterval = 60 * time.Second // CHECK_EXPIRE_INTERVAL: timer period
	ipvsLocEntryTimeout  = 6 * time.Minute  // ENTRY_TIMEOUT: age collectable when the table is over-full
	ipvsLocFullEvery     = 30               // COUNT_FOR_FULL_EXPIRATION: ticks between full checks
	ipvsLocMaxEntries    = 1024 * 16        // max_size: IP_VS_LBLC_TAB_SIZE*16
)

// IPVSLBLC is Linux IPVS's lblc scheduler (net/netfilter/ipvs/ip_vs_lblc.c),
// the layer-4 form of locality-based least-connection used for cache
// clusters: each destination address is mapped to one server,
//
//	if cachenode[dest] is null { n = weighted least-connection node; cachenode[dest] = n }
//	else { n = cachenode[dest]
//	       if n is unusable or (n.active > n.weight and some node m has m.active*2 < m.weight) {
//	           n = weighted least-connection node; cachenode[dest] = n } }
//
// The key is Request.Dest, or Request.Key when Dest is not a valid address.
// The weighted least-connection pick minimises Server.Conns()/Weight (IPVS
// overhead activeconns*256 + inactconns) over usable servers by
// cross-multiplication, as __ip_vs_lblc_schedule does; ties go to the
// server earliest in the pool (the kernel walks its destination list, in
// which later-added servers come first). The "some node m" test reads
// every server that is not Down, including overloaded and quiescing ones
// (which never pass it with weight 0), as is_overloaded walks all of the
// service's destinations. Unlike the kernel, which only checks that the
// cached server is available with a positive weight, a cached server with
// the OVERLOAD flag set is also replaced, so that Schedule never returns
// an overloaded server.
//
// Entries expire as in the kernel, driven by Schedule's now instead of a
// timer: a check runs at every multiple of 60 s that now has reached
// (time never runs backwards: an earlier now counts as the latest seen).
// Every 30th check is a full check, removing entries unused for
// Options.TableExpiry (default 24 h); in between, while the table holds
// more than 16,384 entries, a check removes entries unused for 6 minutes,
// at most 4/3 of the excess and at most 8,192. The kernel walks its hash
// buckets from a rover in that case; this implementation removes the least
// recently used entries first, which keeps it deterministic and O(removed).
//
// Those checks let the table grow without bound between them (a flood of
// new destinations, or of URL keys in layer-7 use, within six minutes).
// Beyond the kernel, the table never holds more than Options.MaxEntries
// entries (default 262,144, sixteen times the kernel's max_size): a new
// destination arriving at a full table first removes the least recently
// used entry.
type IPVSLBLC struct {
	tab ipvsLocTable
}

var _ Scheduler = (*IPVSLBLC)(nil)

var errIPVSLBLCNoServer = fmt.Errorf("ipvs-lblc: %w", ErrNoServer)

// NewIPVSLBLC returns an IPVS lblc scheduler. It reads Options.TableExpiry
// and Options.MaxEntries.
func NewIPVSLBLC(opts Options) (*IPVSLBLC, error) {
	limit, exp, err := resolveTableBounds("ipvs-lblc", opts)
	if err != nil {
		return nil, err
	}
	return &IPVSLBLC{tab: newIPVSLocTable(exp, limit)}, nil
}

// Name returns "ipvs-lblc".
func (*IPVSLBLC) Name() string { return "ipvs-lblc" }

// Schedule returns the server cached for r's destination, or a new
// weighted least-connection pick when there is none or it is unusable or
// overloaded.
func (s *IPVSLBLC) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	now = s.tab.advance(now)
	k := ipvsLocKeyOf(r)
	e := s.tab.get(k)
	if e != nil {
		s.tab.touch(e, now)
		if i, ok := p.Index(e.dest); ok {
			if d := p.At(i); d.Usable() && !ipvsLocOverloaded(d, p) {
				return e.dest, nil
			}
		}
	}
	i, ok := ipvsLocWLC(p)
	if !ok {
		return 0, errIPVSLBLCNoServer
	}
	if e == nil {
		e = s.tab.insert(k, now)
	}
	e.dest = p.At(i).ID
	return e.dest, nil
}

// Lookup returns the server cached for r's destination key, if any.
func (s *IPVSLBLC) Lookup(r *Request) (ServerID, bool) {
	if e := s.tab.get(ipvsLocKeyOf(r)); e != nil {
		return e.dest, true
	}
	return 0, false
}

// Len returns the number of entries in the table.
func (s *IPVSLBLC) Len() int { return len(s.tab.entries) }

func init() {
	Register(Info{
		Name:        "ipvs-lblc",
		Description: "IPVS locality-based least-connection: one server per destination IP, weighted, with table expiry",
		Source:      "ip_vs_lblc.c; thesis §6.3.5",
		New:         func(o Options) (Scheduler, error) { return NewIPVSLBLC(o) },
	})
}

// ipvsLocKey is the table key: the destination address, or the request key.
type ipvsLocKey struct {
	addr netip.Addr
	key  string
}

func ipvsLocKeyOf(r *Request) ipvsLocKey {
	switch {
	case r == nil:
		return ipvsLocKey{}
	case r.Dest.IsValid():
		return ipvsLocKey{addr: r.Dest}
	}
	return ipvsLocKey{key: r.Key}
}

// ipvsLocWLC is the weighted least-connection pick of __ip_vs_lblc_schedule
// and __ip_vs_lblcr_schedule over usable servers: least Conns()/Weight,
// compared as loh*dw > doh*lw, the first in pool order on ties.
func ipvsLocWLC(p *Pool) (int, bool) {
	best := -1
	var loh, lw int64
	for i := range p.Servers() {
		d := p.At(i)
		if !d.Usable() {
			continue
		}
		doh, dw := int64(d.Conns()), int64(d.Weight)
		if best < 0 || loh*dw > doh*lw {
			best, loh, lw = i, doh, dw
		}
	}
	return best, best >= 0
}

// ipvsLocOverloaded is is_overloaded of ip_vs_lblc.c and ip_vs_lblcr.c:
// d has more active connections than its weight and some server (not
// down) has fewer than half its weight.
func ipvsLocOverloaded(d *Server, p *Pool) bool {
	if d.Active <= d.Weight {
		return false
	}
	for i := range p.Servers() {
		if s := p.At(i); !s.Down && s.Active*2 < s.Weight {
			return true
		}
	}
	return false
}

// ipvsLocEntry is one table entry: a destination's server (lblc) or server
// set (lblcr). Entries sit on a list ordered by last use, oldest first.
type ipvsLocEntry struct {
	key        ipvsLocKey
	lastUse    time.Duration
	prev, next *ipvsLocEntry

	dest    ServerID      // lblc
	set     []ServerID    // lblcr, in the order added
	lastMod time.Duration // lblcr
}

// ipvsLocTable is the lblc/lblcr table with the kernel's periodic expiry,
// run from Schedule's now.
type ipvsLocTable struct {
	expire     time.Duration
	maxSize    int // the kernel's max_size: over it, unused entries go sooner
	limit      int // hard bound (Options.MaxEntries): LRU eviction on insert
	entries    map[ipvsLocKey]*ipvsLocEntry
	head, tail *ipvsLocEntry // least and most recently used

	now       time.Duration // latest now seen
	nextCheck time.Duration // time of the next timer tick
	counter   int           // tbl->counter, 1..ipvsLocFullEvery
}

func newIPVSLocTable(expire time.Duration, limit int) ipvsLocTable {
	return ipvsLocTable{
		expire:    expire,
		maxSize:   ipvsLocMaxEntries,
		limit:     limit,
		entries:   make(map[ipvsLocKey]*ipvsLocEntry),
		nextCheck: ipvsLocCheckInterval,
		counter:   1,
	}
}

func (t *ipvsLocTable) get(k ipvsLocKey) *ipvsLocEntry { return t.entries[k] }

func (t *ipvsLocTable) unlink(e *ipvsLocEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *ipvsLocTable) pushBack(e *ipvsLocEntry) {
	e.prev = t.tail
	if t.tail != nil {
		t.tail.next = e
	} else {
		t.head = e
	}
	t.tail = e
}

// touch records a use of e at now.
func (t *ipvsLocTable) touch(e *ipvsLocEntry, now time.Duration) {
	e.lastUse = now
	if t.tail != e {
		t.unlink(e)
		t.pushBack(e)
	}
}

// insert adds an entry for k, used at now. A full table (limit entries)
// first removes its least recently used entry, whose memory, and set
// array, the new entry reuses.
func (t *ipvsLocTable) insert(k ipvsLocKey, now time.Duration) *ipvsLocEntry {
	var e *ipvsLocEntry
	if len(t.entries) >= t.limit && t.head != nil {
		e = t.head
		t.del(e)
		*e = ipvsLocEntry{set: e.set[:0]}
	} else {
		e = &ipvsLocEntry{}
	}
	e.key, e.lastUse = k, now
	t.entries[k] = e
	t.pushBack(e)
	return e
}

func (t *ipvsLocTable) del(e *ipvsLocEntry) {
	t.unlink(e)
	delete(t.entries, e.key)
}

// advance runs the timer ticks due by now and returns now, raised to the
// latest time seen if it is earlier.
func (t *ipvsLocTable) advance(now time.Duration) time.Duration {
	if now < t.now {
		now = t.now
	}
	t.now = now
	for t.nextCheck <= now {
		if len(t.entries) > t.maxSize && t.counter%ipvsLocFullEvery != 0 {
			t.collect(t.nextCheck)
			t.nextCheck += ipvsLocCheckInterval
			continue
		}
		// Not over-full: the ticks before the next full check only count.
		// Skip them in one step; the table cannot change in between.
		idle := ipvsLocFullEvery - t.counter // ticks that just count up
		if due := int64((now-t.nextCheck)/ipvsLocCheckInterval) + 1; due <= int64(idle) {
			t.counter += int(due)
			t.nextCheck += time.Duration(due) * ipvsLocCheckInterval
			break
		}
		t.nextCheck += time.Duration(idle) * ipvsLocCheckInterval
		t.fullCheck(t.nextCheck)
		t.counter = 1
		t.nextCheck += ipvsLocCheckInterval
	}
	return now
}

// fullCheck is ip_vs_lblc_full_check: remove entries unused for the
// expiration time at tick time at.
func (t *ipvsLocTable) fullCheck(at time.Duration) {
	for t.head != nil && at-t.head.lastUse >= t.expire {
		t.del(t.head)
	}
}

// collect is the over-full branch of ip_vs_lblc_check_expire: remove up to
// goal entries unused for ENTRY_TIMEOUT, oldest first.
func (t *ipvsLocTable) collect(at time.Duration) {
	goal := (len(t.entries) - t.maxSize) * 4 / 3
	goal = min(goal, t.maxSize/2)
	for ; goal > 0 && t.head != nil && at-t.head.lastUse >= ipvsLocEntryTimeout; goal-- {
		t.del(t.head)
	}
}
