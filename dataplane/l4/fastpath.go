package l4

import (
	"time"

	"github.com/lvslab/lvslab/dataplane/l4/conntab"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
)

// FastPath forwards a port's established connections without the
// director: an in-kernel program (package xdp) that rewrites a client's
// packets of a connection the director has installed and sends them back
// out by the port they came in by, and passes every other frame up to the
// director. The director stays the sole decider: it schedules every new
// connection and follows every state change (SYN, FIN and RST always come
// up), installs a DR connection when it becomes ESTABLISHED (its next hop
// on the port it came in by), removes it when it leaves ESTABLISHED, ends
// or its real server goes away, and folds the fast path's counters into
// its statistics and its idle timer (a connection whose packets bypass the
// director does not time out while they flow).
//
// The fast path must forward exactly as the director would: rewrite the
// MAC addresses, decrement the TTL, and pass (not forward) anything the
// director would drop, answer or count differently (TTL 1, too big,
// fragments, IP options, bad header checksums, frames not addressed to
// the port's MAC).
type FastPath interface {
	// Install adds or replaces a connection's entry.
	Install(f FastFlow) error
	// Lookup returns a connection's counters; false if it has no entry
	// (never installed, removed, or evicted to make room).
	Lookup(k FastKey) (FastStats, bool, error)
	// Remove deletes a connection's entry and returns its last counters;
	// false if it had none.
	Remove(k FastKey) (FastStats, bool, error)
	// Walk calls fn for every entry.
	Walk(fn func(FastKey, FastStats)) error
}

// FastKey names a connection in a fast path: the client's packets'
// protocol, source and destination (addresses in host order).
type FastKey struct {
	Proto uint8
	CAddr uint32
	CPort uint16
	VAddr uint32
	VPort uint16
}

// FastFlow is a connection's fast-path entry: the client's packets get
// DstMAC (the real server's next hop) and SrcMAC (the port's), and are
// passed up when their IPv4 total length exceeds MTU.
type FastFlow struct {
	FastKey
	DstMAC, SrcMAC [6]byte
	MTU            int
}

// FastStats are an entry's counters since it was installed: packets and
// bytes (IP total lengths) forwarded, and the time since the last one.
type FastStats struct {
	Packets, Bytes uint64
	Idle           time.Duration
}

// FastCounters count the director's use of its ports' fast paths.
type FastCounters struct {
	Installed uint64 // entries installed
	Removed   uint64 // entries removed (connection left ESTABLISHED, ended, server gone)
	Evicted   uint64 // entries found missing (evicted by the kernel's LRU): reinstalled at the next packet
	Errors    uint64 // failed fast-path calls: the connection stays on the director's path
	Packets   uint64 // packets the fast paths forwarded, as folded so far
}

func fastKey(k conntab.Key) FastKey {
	return FastKey{Proto: k.Proto, CAddr: k.CAddr, CPort: k.CPort, VAddr: k.VAddr, VPort: k.VPort}
}

// fastEligible reports whether a connection's next packets may bypass the
// director: a DR connection, ESTABLISHED, whose real server is reached by
// the port its client's packets come in by, which has a fast path.
func (d *Director) fastEligible(e *conntab.Entry[conn]) bool {
	c := &e.Value
	return c.method == DR && e.State == conntab.Established && !e.Template && c.dest.resolved &&
		!c.dest.removed && int(c.cport) == c.dest.hopPort && d.ports[c.cport].fp != nil
}

// fastInstall installs a connection in its port's fast path after the
// director forwarded one of its packets. A packet of a connection already
// installed may still come up (it was queued before the entry was made, or
// needs the director: TTL 1, too big): nothing to do. An entry the kernel
// evicted is noticed by the sweep, and installed again at the next packet.
func (d *Director) fastInstall(e *conntab.Entry[conn], p *packet.Packet) {
	c := &e.Value
	if c.fast || p.Flags&(packet.SYN|packet.FIN|packet.RST) != 0 || p.Flags&packet.ACK == 0 || !d.fastEligible(e) {
		return
	}
	fp := d.ports[c.cport].fp
	k := fastKey(e.Key)
	ds := c.dest
	f := FastFlow{FastKey: k, DstMAC: ds.hopMAC, SrcMAC: d.ports[ds.hopPort].mac, MTU: d.ports[ds.hopPort].mtu}
	if err := fp.Install(f); err != nil {
		d.fast.Errors++
		return
	}
	c.fast, c.fpkts, c.fbytes = true, 0, 0
	ds.fast++
	d.fastN++
	d.fast.Installed++
}

// fastRemove takes a connection out of its port's fast path, folding its
// last counters in.
func (d *Director) fastRemove(e *conntab.Entry[conn]) {
	c := &e.Value
	if !c.fast {
		return
	}
	d.unsetFast(c)
	st, ok, err := d.ports[c.cport].fp.Remove(fastKey(e.Key))
	switch {
	case err != nil:
		d.fast.Errors++
	case ok:
		d.fastFold(e, st)
		d.fast.Removed++
	default:
		d.fast.Evicted++
	}
}

// fastFold adds what the fast path forwarded since the last fold to the
// connection's server and service counters.
func (d *Director) fastFold(e *conntab.Entry[conn], st FastStats) {
	c := &e.Value
	if st.Bytes < c.fbytes { // not the entry installed (cannot happen): count from 0
		c.fpkts, c.fbytes = 0, 0
	}
	dp, db := uint64(uint32(st.Packets)-c.fpkts), st.Bytes-c.fbytes
	if dp == 0 {
		return
	}
	c.fpkts, c.fbytes = uint32(st.Packets), st.Bytes
	for _, s := range []*counters{&c.dest.stats, &c.dest.vs.stats} {
		s.InPkts += dp
		s.InBytes += db
	}
	c.lease.Transferred(0, int(db))
	d.fast.Packets += dp
}

// fastAlive is the timer's check on an installed connection about to time
// out: it folds the counters in and, if the fast path forwarded a packet
// less than the state's timeout ago, restarts the timer from that packet
// and reports true.
func (d *Director) fastAlive(e *conntab.Entry[conn]) bool {
	c := &e.Value
	st, ok, err := d.ports[c.cport].fp.Lookup(fastKey(e.Key))
	if err != nil || !ok {
		return false
	}
	d.fastFold(e, st)
	if st.Packets == 0 {
		return false
	}
	timeout := d.timeouts[e.State]
	idle := uint32(min(st.Idle/time.Second, 1<<31))
	if idle >= timeout {
		return false
	}
	d.tab.Refresh(e, d.tab.Now(), timeout-idle)
	return true
}

// fastSweep folds every port's fast-path counters into the statistics
// (every 2 s, before the rate estimator reads them), and finds the
// installed connections the kernel evicted: their next packet installs
// them again.
func (d *Director) fastSweep() {
	walked := make([]bool, len(d.ports))
	swept := false
	for i := range d.ports {
		fp := d.ports[i].fp
		if fp == nil || d.fastN == 0 {
			continue
		}
		err := fp.Walk(func(k FastKey, st FastStats) {
			e := d.tab.Lookup(conntab.Key{Proto: k.Proto, CAddr: k.CAddr, CPort: k.CPort, VAddr: k.VAddr, VPort: k.VPort})
			if e != nil && e.Value.fast && int(e.Value.cport) == i {
				e.Value.fseen = true
				d.fastFold(e, st)
			}
		})
		if err != nil {
			d.fast.Errors++
			continue
		}
		walked[i], swept = true, true
	}
	if !swept {
		return
	}
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		c := &e.Value
		if c.fast && walked[c.cport] {
			if !c.fseen {
				d.unsetFast(c)
				d.fast.Evicted++
			}
			c.fseen = false
		}
		return true
	})
}

// unsetFast records that a connection is no longer installed.
func (d *Director) unsetFast(c *conn) {
	c.fast = false
	c.dest.fast--
	d.fastN--
}

// fastForget removes from the fast paths every connection to ds (its real
// server was deleted or its next hop changed): their next packets come up
// to the director, which ends them or installs them again.
func (d *Director) fastForget(ds *dest) {
	if ds.fast == 0 {
		return
	}
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		if e.Value.fast && e.Value.dest == ds {
			d.fastRemove(e)
		}
		return true
	})
}
