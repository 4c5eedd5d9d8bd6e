package l4

import (
	"net/netip"
	"slices"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/conntab"
)

// Counters are IPVS's statistics of a service or a real server (ipvsadm
// -L --stats): connections scheduled, and packets and bytes (IP packet
// lengths) in, from clients, and out, from real servers. DR and TUN
// servers answer clients directly, so their out counters stay 0.
type Counters struct {
	Conns    uint64
	InPkts   uint64
	OutPkts  uint64
	InBytes  uint64
	OutBytes uint64
}

// Rates are the counters' rates per second (ipvsadm -L --rate): IPVS's
// estimator, an exponentially weighted moving average of the rate over
// each 2 s, weight 1/4 (ip_vs_est.c), in the same fixed point.
type Rates struct {
	CPS    uint64 // connections
	InPPS  uint64
	OutPPS uint64
	InBPS  uint64 // bytes
	OutBPS uint64
}

// counters are a service's or a server's counters and their estimator's
// state. The director's mutex guards them.
type counters struct {
	Counters
	last Counters
	// averages scaled as ip_vs_est.c keeps them: connection and packet
	// rates by 2^10, byte rates by 2^5
	cps, inpps, outpps, inbps, outbps int64
}

func (c *counters) in(n int) {
	c.InPkts++
	c.InBytes += uint64(n)
}

func (c *counters) out(n int) {
	c.OutPkts++
	c.OutBytes += uint64(n)
}

// estimate folds the last 2 s into the averages: avg += (rate - avg)/4,
// the rate scaled and divided by the 2 s interval in one shift.
func (c *counters) estimate() {
	step := func(avg *int64, now, last uint64, shift uint) {
		rate := int64((now - last) << shift)
		*avg += (rate - *avg) >> 2
	}
	step(&c.cps, c.Conns, c.last.Conns, 9)
	step(&c.inpps, c.InPkts, c.last.InPkts, 9)
	step(&c.outpps, c.OutPkts, c.last.OutPkts, 9)
	step(&c.inbps, c.InBytes, c.last.InBytes, 4)
	step(&c.outbps, c.OutBytes, c.last.OutBytes, 4)
	c.last = c.Counters
}

// rates decodes the averages with ip_vs_read_estimator's rounding.
func (c *counters) rates() Rates {
	dec := func(v int64, shift uint) uint64 {
		if v <= 0 {
			return 0
		}
		return uint64(v+(1<<(shift-1))-1) >> shift
	}
	return Rates{CPS: dec(c.cps, 10), InPPS: dec(c.inpps, 10), OutPPS: dec(c.outpps, 10),
		InBPS: dec(c.inbps, 5), OutBPS: dec(c.outbps, 5)}
}

// zero clears the counters and the estimator (ip_vs_zero_stats).
func (c *counters) zero() { *c = counters{} }

// estimatorPeriod is IPVS's estimator interval in ticks.
const estimatorPeriod = 2

// estimate runs the estimator once for every 2 s period that ended by
// tick (at most 32 times: by then an average has decayed to nothing).
func (d *Director) estimate(tick uint32) {
	for n := 0; d.estTick+estimatorPeriod <= tick; n++ {
		if n == 32 {
			d.estTick = tick - tick%estimatorPeriod
			break
		}
		d.estTick += estimatorPeriod
		if n == 0 {
			d.fastSweep()
		}
		for _, vs := range d.services {
			vs.stats.estimate()
			for _, ds := range vs.order {
				ds.stats.estimate()
			}
		}
	}
}

// ServerStats is one real server as ipvsadm lists it.
type ServerStats struct {
	ID         algorithms.ServerID
	Name       string
	Addr       netip.AddrPort
	Method     Method
	Weight     int
	Active     int // established connections (ActiveConn)
	Inactive   int // others (InActConn)
	Upper      int
	Lower      int
	Down       bool
	Overloaded bool
	Resolved   bool // its next hop is known
	Counters
	Rates
}

// ServiceStats is one virtual service as ipvsadm lists it.
type ServiceStats struct {
	Key         ServiceKey
	Scheduler   string
	Persistence time.Duration // 0: not persistent
	PersistMask int
	Counters
	Rates
	Servers []ServerStats // in the order added
}

// Stats is a snapshot of a director.
type Stats struct {
	Services    []ServiceStats // by VIP, port and protocol
	Entries     int            // connection table entries: connections and templates
	Templates   int            // persistence templates among them
	MaxConns    int
	Drops       [NumDrops]uint64  // indexed by Drop
	Passes      [NumPasses]uint64 // indexed by Pass
	ARPReplies  uint64
	ICMPSent    uint64
	Established int // connections in ESTABLISHED
	// Fast counts the ports' fast paths: entries installed and removed,
	// packets forwarded (folded into the counters every 2 s and when an
	// entry is removed).
	Fast FastCounters
}

// Drop returns the count of one drop reason.
func (s *Stats) Drop(r Drop) uint64 {
	if r < NumDrops {
		return s.Drops[r]
	}
	return 0
}

// TotalDrops returns the sum of every drop reason.
func (s *Stats) TotalDrops() uint64 {
	var n uint64
	for _, v := range s.Drops {
		n += v
	}
	return n
}

// Stats returns a snapshot of the services, servers and counters.
func (d *Director) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Stats{Entries: d.tab.Len(), MaxConns: d.tab.Max(), Drops: d.drops, Passes: d.passes,
		ARPReplies: d.arpReplies, ICMPSent: d.icmpSent, Fast: d.fast}
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		if e.Template {
			st.Templates++
		} else if e.State == conntab.Established {
			st.Established++
		}
		return true
	})
	for _, vs := range d.sortedServices() {
		ss := ServiceStats{Key: vs.key, Scheduler: vs.svc.Scheduler(), PersistMask: vs.mask,
			Persistence: time.Duration(vs.persist) * time.Second, Counters: vs.stats.Counters, Rates: vs.stats.rates()}
		live := map[algorithms.ServerID]dataplane.ServerStats{}
		for _, s := range vs.svc.Stats() {
			live[s.ID] = s
		}
		for _, ds := range vs.order {
			s := live[ds.id]
			ss.Servers = append(ss.Servers, ServerStats{ID: ds.id, Name: s.Name, Addr: netip.AddrPortFrom(addr(ds.addr), ds.port),
				Method: ds.method, Weight: s.Weight, Active: s.Active, Inactive: s.Inactive, Upper: s.Upper, Lower: s.Lower,
				Down: s.Down, Overloaded: s.Overloaded, Resolved: ds.resolved, Counters: ds.stats.Counters, Rates: ds.stats.rates()})
		}
		st.Services = append(st.Services, ss)
	}
	return st
}

// Zero clears the counters and rates of every service and server and the
// director's drop counts (ipvsadm -Z).
func (d *Director) Zero() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, vs := range d.services {
		vs.stats.zero()
		for _, ds := range vs.order {
			ds.stats.zero()
		}
	}
	d.drops = [NumDrops]uint64{}
	d.passes = [NumPasses]uint64{}
	d.arpReplies, d.icmpSent = 0, 0
}

// ZeroService clears the counters and rates of one virtual service and
// its real servers (ipvsadm -Z -t VIP:port).
func (d *Director) ZeroService(k ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs, err := d.lookupService(k)
	if err != nil {
		return err
	}
	vs.stats.zero()
	for _, ds := range vs.order {
		ds.stats.zero()
	}
	return nil
}

// ServerCounters returns the counters of one real server of a virtual
// service, by its ID.
func (d *Director) ServerCounters(k ServiceKey, id algorithms.ServerID) (Counters, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	vs := d.services[k.internal()]
	if vs == nil || vs.dests[id] == nil {
		return Counters{}, false
	}
	return vs.dests[id].stats.Counters, true
}

// Conn is one entry of the connection table (ipvsadm -L -c).
type Conn struct {
	Proto    Protocol
	Template bool
	Client   netip.AddrPort
	Virtual  netip.AddrPort
	Server   netip.AddrPort
	State    string
	Expires  time.Duration // time left
}

// Conns returns the connection table's entries, sorted by client, then
// virtual address.
func (d *Director) Conns() []Conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Conn
	now := d.tab.Now()
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		c := Conn{Proto: Protocol(e.Proto), Template: e.Template, Client: netip.AddrPortFrom(addr(e.CAddr), e.CPort),
			Virtual: netip.AddrPortFrom(addr(e.VAddr), e.VPort), Server: netip.AddrPortFrom(addr(e.DAddr), e.DPort),
			State: e.State.String(), Expires: time.Duration(e.Expires()-min(now, e.Expires())) * time.Second}
		if e.Template {
			c.State = "NONE"
		}
		out = append(out, c)
		return true
	})
	slices.SortFunc(out, func(a, b Conn) int {
		if c := a.Client.Compare(b.Client); c != 0 {
			return c
		}
		return a.Virtual.Compare(b.Virtual)
	})
	return out
}
