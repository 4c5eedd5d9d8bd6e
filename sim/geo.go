package sim

// Multi-cluster (geographic) runs, thesis §2.4.3.

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/traces"
)

// Events of the multi-cluster coordinator, in the same heap order (at,
// seq) as the clusters' own events: one sequence counter is shared by all.
const (
	geoArrival evKind = 100 + iota // the next trace request arrives at its home cluster
	geoTick                        // load update (every DFLBInterval), exchange when due, rule
	geoReport                      // a load report reaches a cluster (node: to, slot: report)
	geoTunnel                      // a tunnelled request reaches its remote cluster (node: to, slot: request)
)

// site is one cluster of a multi-cluster run: an engine of its own (nodes,
// pool, scheduler, front end, admission) fed with the requests routed to it.
type site struct {
	e *engine // its requests (e.w.Requests) are those routed to it, Time their arrival there

	load   float64       // aggregate load, smoothed over Overflow.Window ticks
	known  []float64     // the last load each cluster reported to this one (NaN: none yet)
	target int           // cluster it tunnels new connections to, -1 if none
	since  time.Duration // when it started tunnelling to target

	incoming      int // tunnelled requests on their way here
	home, out, in int
	starts        int
	overflowTime  time.Duration
	maxLoad       float64
	resp          []time.Duration // its home clients' response times, WAN included
}

// report is a load report in flight.
type report struct {
	from int
	load float64
}

// transition is one change of a cluster's overflow target (tests).
type transition struct {
	At      time.Duration
	Cluster int
	Target  int // -1: stopped
}

// geo runs the clusters of Config.Clusters in one event loop.
type geo struct {
	cfg    Config
	w      *traces.Workload
	seq    uint64
	ties   *rand.Rand // a perturbed replicate's order of same-instant events
	jitter *rand.Rand // a perturbed replicate's service-time jitter
	events eventHeap
	now    time.Duration
	sites  []*site
	home   []int32 // client index -> home cluster

	arrived      int           // requests [0, arrived) have arrived
	lastArrival  time.Duration // arrival time of request arrived-1
	nextExchange time.Duration
	reports      []report
	overflowed   int
	transitions  []transition
	err          error
}

// runGeo runs a multi-cluster simulation; cfg is resolved and w checked.
//
// # Model (thesis §2.4.3)
//
// Clients reach the cluster nearest to them (BGP anycast): client c is
// homed on cluster k with probability Share_k / Σ Share, by a hash of its
// name keyed by Config.Seed, so that every request of a client goes to the
// same cluster whatever the other parameters. Requests arrive at their
// trace time / Speedup (open admission) at the home cluster's front end.
// Each cluster is a whole cluster of this package (its own nodes, pool,
// scheduler, front end and admission limit Nodes×High); all clusters run
// in one event loop.
//
// The thesis's "aggregate load" of a cluster (§2.4.3) is the cluster-wide
// counterpart of DFLB's normalised per-server load (§4.2.3, 1 = just
// loaded). Here, every DFLBInterval (the load monitor's period) each
// cluster computes x = (requests in the cluster + requests waiting at its
// front end) / (Nodes × High), in requests over its admission limit: for
// static requests, the mean over its nodes of conns/High (the
// normalisation the monitor gives Server.Load, 1 = every node at its high
// threshold) plus the front-end backlog per node, which a real director
// would have left in its nodes' queues. It is smoothed as the thesis's simulated load is
// (§4.3): load = load × (W−1)/W + x/W, W = Overflow.Window (12). At the
// first update at or after each multiple of Overflow.Exchange, every
// cluster sends its load to every other; a report arrives WANDelay later.
//
// With Overflow.On, after each update and each report received, a
// cluster applies the rule (Overflow.nextTarget) to its load and the last
// loads reported to it: start forwarding new connections when local >
// High and a remote < Low; stop when that remote > Low or local <= Stop.
// A forwarded request travels through the IP tunnel to the remote
// director (WANDelay), which schedules it on its own nodes; it is never
// forwarded again (the thesis lets the TTL drop a request forwarded back
// and forth; here the remote director serves what it is sent). The reply
// goes from the remote node straight to the client (VS/TUN), across the
// same distance: a forwarded request's response time is its completion −
// its arrival at the home cluster + WANDelay, that is its time in the
// remote cluster plus 2 × WANDelay. A request served at home pays no WAN
// delay (the client-to-site delay is not modelled).
//
// Decisions stop with the last arrival: the rule only routes new
// connections.
func runGeo(cfg Config, w *traces.Workload) (*Result, error) {
	g, err := newGeo(cfg, w)
	if err != nil {
		return nil, err
	}
	if err := g.run(); err != nil {
		return nil, err
	}
	return g.result(), nil
}

// newGeo builds the clusters of a multi-cluster run.
func newGeo(cfg Config, w *traces.Workload) (*geo, error) {
	g := &geo{cfg: cfg, w: w}
	if err := g.homes(); err != nil {
		return nil, err
	}
	for i, cl := range cfg.Clusters {
		c := cfg
		c.Nodes, c.Clusters, c.WANDelay, c.Overflow = cl.Nodes, nil, 0, Overflow{}
		c.Speedup = 1 // the coordinator divides trace times; the engine sees arrival times
		e, err := newEngine(c, w)
		if err != nil {
			return nil, fmt.Errorf("%w (cluster %d)", err, i)
		}
		local := *w
		local.Requests = nil
		e.w = &local
		e.responses = nil
		e.seq = &g.seq
		// A perturbed replicate: one random stream for the order of
		// same-instant events and one for jitter, shared by the clusters
		// and the coordinator, as one engine's would be.
		if i == 0 {
			g.ties, g.jitter = e.ties, e.jitter
		}
		e.ties, e.jitter = g.ties, g.jitter
		e.feeding = true
		s := &site{e: e, target: -1, known: make([]float64, len(cfg.Clusters))}
		for j := range s.known {
			s.known[j] = math.NaN()
		}
		e.observe = func(k int, at time.Duration, _ int32, _ bool) { g.completed(i, k, at) }
		g.sites = append(g.sites, s)
	}
	return g, nil
}

// homes homes every client on a cluster (see runGeo).
func (g *geo) homes() error {
	var cum []float64
	var sum float64
	for _, c := range g.cfg.Clusters {
		sum += c.Share
		cum = append(cum, sum)
	}
	key := newStream(g.cfg.Seed, streamHome).Uint64()
	g.home = make([]int32, len(g.w.Clients))
	for i, name := range g.w.Clients {
		g.home[i] = int32(homeOf(key, name, cum))
	}
	for k, r := range g.w.Requests {
		if r.Client < 0 || int(r.Client) >= len(g.w.Clients) {
			return fmt.Errorf("sim: workload %q: request %d: client index %d outside 0..%d", g.w.Name, k, r.Client, len(g.w.Clients)-1)
		}
	}
	return nil
}

// homeOf returns the cluster of client name: a hash of the name keyed by
// key, uniform in [0, 1), scaled by the total share and looked up in cum,
// the clusters' cumulative shares.
func homeOf(key uint64, name string, cum []float64) int {
	h := fnv.New64a()
	h.Write([]byte(name))
	u := float64(mix64(h.Sum64()^key)>>11) / (1 << 53)
	x := u * cum[len(cum)-1]
	for j, c := range cum {
		if x < c {
			return j
		}
	}
	return len(cum) - 1
}

// mix64 is the finaliser of SplitMix64: it spreads a hash's bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (g *geo) schedule(at time.Duration, kind evKind, node, slot int32) {
	var seq uint64
	if g.ties != nil {
		seq = g.ties.Uint64()
	} else {
		g.seq++
		seq = g.seq
	}
	g.events.push(event{at: at, seq: seq, kind: kind, node: node, slot: slot})
}

func (g *geo) run() error {
	for _, s := range g.sites {
		s.e.begin()
	}
	g.schedule(g.arrivalTime(0), geoArrival, -1, -1)
	g.schedule(g.cfg.DFLBInterval, geoTick, -1, -1)
	for g.err == nil {
		best, from := (*eventHeap)(nil), -1
		if g.events.len() > 0 {
			best = &g.events
		}
		for i, s := range g.sites {
			if s.e.done() || s.e.events.len() == 0 {
				continue
			}
			if best == nil || s.e.events.ev[0].before(&best.ev[0]) {
				best, from = &s.e.events, i
			}
		}
		if best == nil {
			break
		}
		ev := best.pop()
		if from >= 0 {
			g.sites[from].e.step(ev)
		} else {
			g.now = ev.at
			g.handle(ev)
		}
		for i, s := range g.sites {
			if s.e.err != nil && g.err == nil {
				g.err = fmt.Errorf("%w (cluster %d)", s.e.err, i)
			}
		}
	}
	return g.err
}

func (g *geo) handle(ev event) {
	switch ev.kind {
	case geoArrival:
		n := len(g.w.Requests)
		for g.arrived < n {
			t := g.arrivalTime(g.arrived)
			if t > g.now {
				g.schedule(t, geoArrival, -1, -1)
				break
			}
			g.lastArrival = t
			g.route(int32(g.arrived))
			g.arrived++
		}
		g.feed()
	case geoTick:
		g.tick()
	case geoReport:
		r := g.reports[ev.slot]
		s := g.sites[ev.node]
		s.known[r.from] = r.load
		if g.arrived < len(g.w.Requests) {
			g.decide(int(ev.node))
		}
	case geoTunnel:
		g.sites[ev.node].incoming--
		g.deliver(int(ev.node), ev.slot)
		g.feed()
	}
}

// arrivalTime is request k's arrival: its trace time / Speedup, never
// before the previous arrival (as the open admission of one cluster).
func (g *geo) arrivalTime(k int) time.Duration {
	t := max(g.w.Requests[k].Time, 0)
	if g.cfg.Speedup != 1 {
		x := float64(t) / g.cfg.Speedup
		if x > maxClock {
			g.err = fmt.Errorf("sim: speedup: request %d's trace time %v divided by speedup %g is beyond the simulator's clock (%v)",
				k, t, g.cfg.Speedup, time.Duration(maxClock))
			return g.lastArrival
		}
		t = time.Duration(x)
	}
	return max(t, g.lastArrival)
}

// route sends request k, arriving now, to its home cluster or, if that
// cluster is overflowing, through the tunnel to its remote cluster.
func (g *geo) route(k int32) {
	h := int(g.home[g.w.Requests[k].Client])
	s := g.sites[h]
	s.home++
	if t := s.target; t >= 0 {
		s.out++
		g.overflowed++
		g.sites[t].in++
		g.sites[t].incoming++
		g.schedule(g.now+g.cfg.WANDelay, geoTunnel, int32(t), k)
		return
	}
	g.deliver(h, k)
}

// deliver hands request k to cluster c's front end now.
func (g *geo) deliver(c int, k int32) {
	s := g.sites[c]
	e := s.e
	e.advance(g.now)
	r := g.w.Requests[k]
	r.Time = g.now // the engine's open admission: arrival time, speedup 1
	e.w.Requests = append(e.w.Requests, r)
	e.arrived = len(e.w.Requests)
	e.admit()
}

// feed tells each cluster whether more requests may still reach it.
func (g *geo) feed() {
	more := g.arrived < len(g.w.Requests)
	for _, s := range g.sites {
		s.e.feeding = more || s.incoming > 0
	}
}

// completed records the completion at time at of cluster c's request k.
func (g *geo) completed(c, k int, at time.Duration) {
	s := g.sites[c]
	local := s.e.w.Requests[k].Time // arrival at cluster c
	d := at - local
	h := int(g.home[s.e.w.Requests[k].Client])
	if h != c {
		d += 2 * g.cfg.WANDelay // the tunnel there, the reply back
	}
	g.sites[h].resp = append(g.sites[h].resp, d)
}

// tick updates every cluster's aggregate load, sends the reports when an
// exchange is due and applies the rule.
func (g *geo) tick() {
	win := float64(g.cfg.Overflow.Window)
	for _, s := range g.sites {
		e := s.e
		x := float64(e.inCluster+e.arrived-e.next) / float64(e.limit)
		s.load = s.load*(win-1)/win + x/win
		s.maxLoad = max(s.maxLoad, s.load)
	}
	if g.now >= g.nextExchange {
		for from, s := range g.sites {
			for to := range g.sites {
				if to == from {
					continue
				}
				g.reports = append(g.reports, report{from: from, load: s.load})
				g.schedule(g.now+g.cfg.WANDelay, geoReport, int32(to), int32(len(g.reports)-1))
			}
		}
		for g.nextExchange <= g.now {
			g.nextExchange += g.cfg.Overflow.Exchange
		}
	}
	for c := range g.sites {
		g.decide(c)
	}
	if g.arrived < len(g.w.Requests) {
		g.schedule(g.now+g.cfg.DFLBInterval, geoTick, -1, -1)
	}
}

// decide applies the overflow rule at cluster c.
func (g *geo) decide(c int) {
	if !g.cfg.Overflow.On {
		return
	}
	s := g.sites[c]
	t := g.cfg.Overflow.nextTarget(c, s.target, s.load, s.known)
	if t == s.target {
		return
	}
	if s.target >= 0 {
		s.overflowTime += g.now - s.since
	} else {
		s.starts++
	}
	if t >= 0 {
		s.since = g.now
	}
	s.target = t
	g.transitions = append(g.transitions, transition{At: g.now, Cluster: c, Target: t})
}

// result assembles the Result of a finished multi-cluster run: totals over
// the clusters, every cluster's nodes in cluster order and its part.
func (g *geo) result() *Result {
	r := &Result{Version: version.Version, Trace: g.w.Name, Config: g.cfg, Requests: len(g.w.Requests)}
	var bytes int64
	hits, nodeServed := 0, 0
	for _, s := range g.sites {
		e := s.e
		r.Completed += e.completed
		r.Bypassed += e.bypassed
		r.Failed += e.failed + len(e.w.Requests) - e.next
		r.Unserved += len(e.w.Requests) - e.next
		r.Makespan = max(r.Makespan, e.lastDone)
		bytes += e.bytes
		hits += e.hits
		nodeServed += e.completed - e.bypassed
	}
	// Requests still in the WAN or never arrived (a run cut short) are unserved.
	if lost := r.Requests - r.Completed - r.Failed; lost > 0 {
		r.Failed += lost
		r.Unserved += lost
	}
	secs := r.Makespan.Seconds()
	if secs > 0 {
		r.ThroughputRPS = float64(r.Completed) / secs
		r.ThroughputMBps = float64(bytes) / 1e6 / secs
	}
	if nodeServed > 0 {
		r.HitRatio = float64(hits) / float64(nodeServed)
	}
	r.Overflowed = g.overflowed
	r.OverflowShare = float64(g.overflowed) / float64(r.Requests)

	var all []time.Duration
	var counts []float64
	buckets := int(r.Makespan/g.cfg.Interval) + 1
	series := make([]Sample, buckets)
	for i := range series {
		series[i].Start = time.Duration(i) * g.cfg.Interval
	}
	for c, s := range g.sites {
		e := s.e
		cr := ClusterResult{Cluster: c, Nodes: len(e.nodes), FirstNode: len(r.Nodes), Home: s.home,
			OverflowOut: s.out, OverflowIn: s.in, Served: e.completed,
			MaxLoad: s.maxLoad, OverflowStarts: s.starts, OverflowTime: s.overflowTime}
		if s.target >= 0 && g.lastArrival > s.since {
			cr.OverflowTime += g.lastArrival - s.since
		}
		if secs > 0 {
			cr.ThroughputRPS = float64(e.completed) / secs
		}
		if n := e.completed - e.bypassed; n > 0 {
			cr.HitRatio = float64(e.hits) / float64(n)
		}
		slices.Sort(s.resp)
		if len(s.resp) > 0 {
			cr.P50, cr.P95, cr.P99 = quantile(s.resp, 0.50), quantile(s.resp, 0.95), quantile(s.resp, 0.99)
			cr.MeanResponse = mean(s.resp)
		}
		all = append(all, s.resp...)
		span := max(r.Makespan, e.lastLeave)
		for i := range e.nodes {
			nd := &e.nodes[i]
			nr := NodeResult{Node: len(r.Nodes), Requests: nd.served, Hits: nd.hits, Bytes: nd.bytes}
			if nd.served > 0 {
				nr.HitRatio = float64(nd.hits) / float64(nd.served)
			}
			if span > 0 {
				nr.CPUUtil = float64(nd.cpu.busy) / float64(span)
				nr.DiskUtil = float64(nd.disk.busy) / float64(span)
			}
			r.Nodes = append(r.Nodes, nr)
			counts = append(counts, float64(nd.served))
		}
		for e.sampled < buckets {
			e.sample()
		}
		for b := range min(buckets, len(e.series)) {
			x := &e.series[b]
			series[b].Completed += x.Completed
			series[b].Hits += x.Hits
			series[b].InFlight += x.InFlight
			series[b].Failed += x.Failed
			// Each cluster's nodes, in the result's node order.
			nc := x.NodeCompleted
			if len(nc) != len(e.nodes) {
				nc = make([]int, len(e.nodes))
			}
			series[b].NodeCompleted = append(series[b].NodeCompleted, nc...)
			if x.Weights != nil {
				series[b].Weights = append(series[b].Weights, x.Weights...)
			}
		}
		r.Clusters = append(r.Clusters, cr)
	}
	r.Imbalance = cov(counts)
	r.Series = series
	slices.Sort(all)
	if len(all) > 0 {
		r.P50, r.P95, r.P99 = quantile(all, 0.50), quantile(all, 0.95), quantile(all, 0.99)
		r.MeanResponse = mean(all)
		r.ResponseCDF = make([]CDFPoint, cdfPoints)
		for k := range cdfPoints {
			p := float64(k+1) / cdfPoints
			r.ResponseCDF[k] = CDFPoint{Time: quantile(all, p), Fraction: p}
		}
	}
	return r
}

// mean is the mean of ds, rounded to the nanosecond.
func mean(ds []time.Duration) time.Duration {
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return time.Duration(math.Round(sum / float64(len(ds))))
}
