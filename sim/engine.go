package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/internal/target"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

// step is where an in-flight request is in "Serving one request".
type step uint8

const (
	stepSetup  step = iota // CPU job 1: connection setup
	stepDisk               // disk read after a cache miss
	stepSend               // CPU job 2: transmit + teardown
	stepOrigin             // bypassed to the origin server
)

// flight is one request in the cluster. Flights live in a fixed table of
// Config.Nodes × High slots (the admission limit) and are recycled.
type flight struct {
	admitted time.Duration // admission time: response time = completion - admitted
	req      int32         // index into Workload.Requests
	node     int32         // serving node, -1 before dispatch or at the origin
	units    int32         // connection units (1 static, 2 dynamic)
	step     step
	hit      bool
}

// fifo is a single first-come first-served server (a node's CPU or disk)
// with its queue as a ring of flight slots. A request holds the server
// only while in service; the end of a job is scheduled when the job
// starts.
type fifo struct {
	buf   []int32 // ring, length a power of two
	head  int
	n     int
	cur   int32 // slot in service, -1 when idle
	start time.Duration
	busy  time.Duration
	pace  models.Pace // the server's speed and slowdowns
}

func (f *fifo) push(s int32) {
	if f.n == len(f.buf) {
		buf := make([]int32, max(8, 2*len(f.buf)))
		for i := range f.n {
			buf[i] = f.buf[(f.head+i)&(len(f.buf)-1)]
		}
		f.buf, f.head = buf, 0
	}
	f.buf[(f.head+f.n)&(len(f.buf)-1)] = s
	f.n++
}

func (f *fifo) pop() int32 {
	s := f.buf[f.head]
	f.head = (f.head + 1) & (len(f.buf) - 1)
	f.n--
	return s
}

// node is one back-end server: a CPU, a disk and a cache.
type node struct {
	cache     models.Cache
	cpu, disk fifo
	down      bool   // crashed (the front end may not know yet)
	epoch     uint32 // bumped on every crash; events of older epochs are void
	served    int    // requests completed
	hits      int    // of which cache hits
	bytes     int64  // bytes sent
}

// errWait is returned by frontEnd.dispatch when the request cannot be
// placed now; admission keeps it at the head of the queue.
var errWait = errors.New("sim: request must wait")

type engine struct {
	cfg   Config
	w     *traces.Workload
	costs models.Costs

	now    time.Duration
	seq    *uint64 // scheduling order; shared by the clusters of a multi-cluster run
	events eventHeap

	// A perturbed replicate's random streams (Config.Replicate); nil
	// in the reference run.
	ties, jitter *rand.Rand

	nodes    []node
	pool     *algorithms.Pool
	sched    algorithms.Scheduler
	feedback algorithms.LoadFeedback // nil unless the scheduler adapts to load
	weigher  interface {             // schedulers that expose real weights (DFLB)
		Weights() map[algorithms.ServerID]float64
	}
	fe      frontEnd
	req     algorithms.Request // reused for every Schedule call
	clients []netip.Addr       // parsed Workload.Clients (invalid if not an address)
	mon     *algorithms.Monitor
	samples []algorithms.Load // reused monitor buffer: each node's connection count

	flights []flight
	free    []int32

	// Admission: requests [0, arrived) have arrived; [0, next) have been
	// dispatched (or failed or bypassed); at most limit are in the cluster.
	limit, inCluster int
	arrived, next    int
	arrScan          time.Duration // running max of arrival times, arrival scan
	arrDisp          time.Duration // running max of arrival times, dispatch
	tried            int           // closed admission: request whose first try was at triedAt
	triedAt          time.Duration
	essential        int // pending events other than periodic ones

	completed, bypassed, failed, hits int
	bytes                             int64
	lastDone                          time.Duration // last completion: the makespan
	lastLeave                         time.Duration // last departure (completion or loss)
	responses                         []time.Duration
	series                            []Sample
	nextSample                        time.Duration
	sampled                           int
	err                               error

	// observe, if set (tests, multi-cluster runs), sees every completion:
	// request index, time, node (-1: origin) and whether it was a cache hit.
	observe func(k int, at time.Duration, node int32, hit bool)

	// feeding is set while a multi-cluster run may still inject requests
	// (inject): the engine is not done, and its monitor keeps ticking,
	// even when nothing is in the cluster (geo.go).
	feeding bool
}

// Run simulates w on the cluster described by cfg and returns the result.
// cfg is resolved first (Config.Resolve). The same cfg and w always give
// the same Result.
func Run(cfg Config, w *traces.Workload) (*Result, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if err := checkWorkload(w); err != nil {
		return nil, err
	}
	w = startOffset(cfg, w)
	if len(cfg.Clusters) > 0 {
		return runGeo(cfg, w)
	}
	e, err := newEngine(cfg, w)
	if err != nil {
		return nil, err
	}
	if err := e.run(); err != nil {
		return nil, err
	}
	return e.result(), nil
}

func checkWorkload(w *traces.Workload) error {
	if w == nil {
		return errors.New("sim: workload: nil workload")
	}
	if len(w.Requests) == 0 {
		return fmt.Errorf("sim: workload %q: no requests (after filters: %d lines read, dropped %v)", w.Name, w.Lines, w.Dropped)
	}
	if len(w.Requests) > MaxRequests || len(w.Objects) > MaxRequests {
		return fmt.Errorf("sim: workload %q: too large (%d requests, %d objects)", w.Name, len(w.Requests), len(w.Objects))
	}
	for i, o := range w.Objects {
		if o.Size < 0 {
			return fmt.Errorf("sim: workload %q: object %d (%q): negative size %d", w.Name, i, o.Target, o.Size)
		}
	}
	for i, r := range w.Requests {
		if r.Object < 0 || int(r.Object) >= len(w.Objects) {
			return fmt.Errorf("sim: workload %q: request %d: object index %d outside 0..%d", w.Name, i, r.Object, len(w.Objects)-1)
		}
	}
	return nil
}

// startOffset returns w as replicate cfg.Replicate replays it: from a
// request drawn uniformly among the first StartOffset fraction of the
// trace, wrapping around to its beginning. Request times are shifted so
// that the replay starts at 0 and the wrapped head follows the tail
// (open admission keeps the trace's gaps). The reference run and a
// replicate without StartOffset get w itself.
func startOffset(cfg Config, w *traces.Workload) *traces.Workload {
	if !cfg.perturbed() || cfg.StartOffset == 0 || len(w.Requests) < 2 {
		return w
	}
	n := len(w.Requests)
	span := int(cfg.StartOffset * float64(n))
	if span < 1 {
		return w
	}
	k := newStream(replicateSeed(cfg.Seed, cfg.Replicate), streamOffset).IntN(min(span, n))
	if k == 0 {
		return w
	}
	rot := *w
	rot.Requests = make([]traces.Request, 0, n)
	// The rotated replay starts when the trace does (its first request's
	// time), as replicates drawing k = 0 do.
	first, t0, tEnd := w.Requests[0].Time, w.Requests[k].Time, w.Requests[n-1].Time
	for _, r := range w.Requests[k:] {
		r.Time = max(r.Time-t0+first, 0)
		rot.Requests = append(rot.Requests, r)
	}
	for _, r := range w.Requests[:k] {
		r.Time = max(r.Time+tEnd-t0+first, 0)
		rot.Requests = append(rot.Requests, r)
	}
	return &rot
}

func newEngine(cfg Config, w *traces.Workload) (*engine, error) {
	e := &engine{cfg: cfg, w: w, costs: cfg.Costs, tried: -1, seq: new(uint64)}
	if cfg.perturbed() {
		seed := replicateSeed(cfg.Seed, cfg.Replicate)
		e.ties = newStream(seed, streamTies)
		if cfg.Jitter > 0 {
			e.jitter = newStream(seed, streamJitter)
		}
	}
	sched, err := algorithms.New(cfg.Algorithm, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("sim: alg: %w", err)
	}
	e.sched = sched
	e.feedback, _ = sched.(algorithms.LoadFeedback)
	if d, ok := sched.(*algorithms.DFLB); ok && d.Params().Coefficients[1] == 0 {
		// Coefficients[1] weighs algorithms.MetricCPU, the only metric the
		// monitor measures: DFLB would find nothing to weigh.
		return nil, configError("options.dflb.coefficients",
			"%v gives the CPU load (the second coefficient) no weight, but the simulator measures only the CPU load: DFLB would never change a weight",
			d.Params().Coefficients)
	}
	if wg, ok := sched.(interface {
		Weights() map[algorithms.ServerID]float64
	}); ok {
		e.weigher = wg
	}
	servers := make([]algorithms.Server, cfg.Nodes)
	e.nodes = make([]node, cfg.Nodes)
	slow := make([][]models.Slowdown, cfg.Nodes)
	for _, s := range cfg.Slowdowns {
		slow[s.Node] = append(slow[s.Node], models.Slowdown{From: s.From, To: s.To, Factor: s.Factor})
	}
	for i := range servers {
		spec := cfg.Node(i)
		servers[i] = algorithms.Server{ID: algorithms.ServerID(i), Weight: cfg.NodeWeight(i, e.feedback != nil), Low: cfg.Low, High: cfg.High}
		c, err := models.NewCache(cfg.CachePolicy, spec.CacheBytes, len(w.Objects))
		if err != nil {
			return nil, fmt.Errorf("sim: cache_policy: %w", err)
		}
		e.nodes[i] = node{cache: c,
			cpu:  fifo{cur: -1, pace: models.Pace{Speed: spec.CPUSpeed, Slowdowns: slow[i]}},
			disk: fifo{cur: -1, pace: models.Pace{Speed: spec.DiskSpeed, Slowdowns: slow[i]}},
		}
	}
	if e.pool, err = algorithms.NewPool(servers...); err != nil {
		return nil, fmt.Errorf("sim: pool: %w", err)
	}
	e.clients = make([]netip.Addr, len(w.Clients))
	for i, c := range w.Clients {
		e.clients[i], _ = netip.ParseAddr(c) // host names stay invalid addresses
	}
	e.limit = cfg.Nodes * cfg.High
	// Never more requests are in the cluster than the trace has, so a
	// huge limit (--high 2147483647) costs no memory.
	slots := min(e.limit, len(w.Requests))
	e.flights = make([]flight, slots)
	e.free = make([]int32, slots)
	for i := range e.free {
		e.free[i] = int32(slots - 1 - i) // pop order 0, 1, 2, ...
	}
	if e.mon, err = algorithms.NewMonitor(monitorConfig); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	e.samples = make([]algorithms.Load, cfg.Nodes)
	e.responses = make([]time.Duration, 0, len(w.Requests))
	if e.fe, err = frontEnds[cfg.FrontEnd](e); err != nil {
		return nil, fmt.Errorf("sim: front_end %s: %w", cfg.FrontEnd, err)
	}
	return e, nil
}

// monitorConfig is the load monitor of docs/reference-model.md: a 12-tick
// moving average of each node's connection count, normalised to 0.95 at
// the mean.
var monitorConfig = algorithms.MonitorConfig{Window: 12, Target: 0.95}

// dflbDefaultWeight is the pool weight of every node under a scheduler
// that takes load feedback: DFLB's DEFAULT_WEIGHT (docs/reference-model.md).
const dflbDefaultWeight = 10

// order returns the next event's ordering key among the events of its
// instant: the scheduling order, or a random key in a perturbed replicate.
func (e *engine) order() uint64 {
	if e.ties != nil {
		return e.ties.Uint64()
	}
	*e.seq++
	return *e.seq
}

func (e *engine) schedule(at time.Duration, kind evKind, nodeIdx, slot int32) {
	ev := event{at: at, seq: e.order(), kind: kind, node: nodeIdx, slot: slot}
	if nodeIdx >= 0 && (kind == evCPUDone || kind == evDiskDone) {
		ev.epoch = e.nodes[nodeIdx].epoch
	}
	e.events.push(ev)
}

// scheduleEssential schedules an event that keeps the run alive even when
// nothing is in the cluster (arrivals, failures, health checks).
func (e *engine) scheduleEssential(ev event) {
	ev.seq = e.order()
	e.essential++
	e.events.push(ev)
}

func (e *engine) run() error {
	e.begin()
	for e.events.len() > 0 && !e.done() {
		e.step(e.events.pop())
		if e.err != nil {
			return e.err
		}
	}
	// Requests still waiting can never be served: every node is down and
	// detected, or the scheduler refuses them and nothing is left that
	// could change its mind. They count as failed (Result.Unserved).
	return nil
}

// begin schedules the run's first events: failures, the first arrival
// (none while the engine is fed by a multi-cluster run) and the monitor.
func (e *engine) begin() {
	for _, f := range e.cfg.Failures {
		e.scheduleEssential(event{at: f.At, kind: evNodeDown, node: int32(f.Node), slot: -1})
		if f.Recover > f.At {
			e.scheduleEssential(event{at: f.Recover, kind: evNodeUp, node: int32(f.Node), slot: -1})
		}
	}
	switch {
	case e.feeding:
	case e.cfg.Admission == AdmissionClosed:
		e.scheduleEssential(event{at: 0, kind: evArrival, node: -1, slot: -1})
	default:
		e.scheduleEssential(event{at: e.arrivalTime(0, 0), kind: evArrival, node: -1, slot: -1})
	}
	e.schedule(e.cfg.DFLBInterval, evMonitor, -1, -1)
	e.nextSample = e.cfg.Interval
}

// advance moves the clock to t, first closing the time-series intervals
// that end at or before t.
func (e *engine) advance(t time.Duration) {
	for t >= e.nextSample {
		e.sample()
	}
	e.now = t
}

// step runs event ev; a failure is left in e.err.
func (e *engine) step(ev event) {
	e.advance(ev.at)
	switch ev.kind {
	case evCPUDone:
		e.cpuDone(ev.node, ev.epoch)
	case evDiskDone:
		e.diskDone(ev.node, ev.epoch)
	case evOriginDone:
		e.complete(ev.slot)
	case evArrival:
		e.arrival()
	case evMonitor:
		e.monitor()
	case evNodeDown:
		e.nodeDown(ev.node)
	case evNodeUp:
		e.nodeUp(ev.node)
	case evDetect:
		e.essential--
		e.detect(ev.node, ev.flag)
		e.admit()
	case evRefused:
		e.essential--
		e.refused(ev.node, ev.slot)
	case evFrontEnd:
		e.essential--
		fev := ev // only this copy escapes (interface call)
		if err := e.fe.handle(e, &fev); err != nil {
			e.fail(err)
		}
	}
}

func (e *engine) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// done reports whether every request has left the cluster.
func (e *engine) done() bool {
	return !e.feeding && e.next == len(e.w.Requests) && e.inCluster == 0
}

// arrivalTime returns request k's open-loop arrival time: its trace time
// divided by Speedup, never before prev, the previous request's arrival
// (trace timestamps may step back a little; arrivals keep trace order).
func (e *engine) arrivalTime(k int, prev time.Duration) time.Duration {
	t := max(e.w.Requests[k].Time, 0)
	if e.cfg.Speedup != 1 {
		x := float64(t) / e.cfg.Speedup
		if x > maxClock {
			e.fail(fmt.Errorf("sim: speedup: request %d's trace time %v divided by speedup %g is beyond the simulator's clock (%v)",
				k, t, e.cfg.Speedup, time.Duration(maxClock)))
			return prev
		}
		t = time.Duration(x)
	}
	return max(t, prev)
}

// maxClock is the latest virtual time an arrival may have (about 146
// years), far from time.Duration's overflow.
const maxClock = float64(1 << 62)

func (e *engine) arrival() {
	e.essential--
	n := len(e.w.Requests)
	if e.cfg.Admission == AdmissionClosed {
		e.arrived = n
	} else {
		for e.arrived < n {
			t := e.arrivalTime(e.arrived, e.arrScan)
			if t > e.now {
				e.scheduleEssential(event{at: t, kind: evArrival, node: -1, slot: -1})
				break
			}
			e.arrScan = t
			e.arrived++
		}
	}
	e.admit()
}

// admit dispatches waiting requests in trace order while the cluster has
// room. A request the front end cannot place (errWait: the scheduler found
// no server) stays at the head of the queue and is retried after the next
// completion, health-check change or monitor tick.
func (e *engine) admit() {
	for e.next < e.arrived && e.inCluster < e.limit {
		k := e.next
		if e.tried != k {
			e.tried, e.triedAt = k, e.now
		}
		admitted := e.triedAt
		if e.cfg.Admission == AdmissionOpen {
			admitted = e.arrivalTime(k, e.arrDisp)
		}
		s := e.free[len(e.free)-1]
		e.free = e.free[:len(e.free)-1]
		r := &e.w.Requests[k]
		units := int32(target.Cost(r.Dynamic))
		e.flights[s] = flight{admitted: admitted, req: int32(k), node: -1, units: units}
		e.inCluster++
		err := e.fe.dispatch(e, s)
		if err == errWait {
			e.free = append(e.free, s) // never dispatched: not a departure
			e.inCluster--
			return
		}
		if err != nil {
			e.fail(err)
			return
		}
		if e.cfg.Admission == AdmissionOpen {
			e.arrDisp = admitted
		}
		e.next++
	}
}

// release frees slot s: its request has left the cluster (completed,
// lost or given up).
func (e *engine) release(s int32) {
	e.free = append(e.free, s)
	e.inCluster--
	e.lastLeave = e.now
}

// serve starts request s on node id (the front end's choice). A request
// sent to a node that has crashed fails after Config.ConnectTimeout.
func (e *engine) serve(s int32, id algorithms.ServerID) error {
	if id < 0 || int(id) >= len(e.nodes) {
		return fmt.Errorf("sim: scheduler %s chose server %d, not in the pool of %d nodes", e.cfg.Algorithm, id, len(e.nodes))
	}
	f := &e.flights[s]
	n := &e.nodes[id]
	if err := e.pool.Begin(id, int(f.units)); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	f.node = int32(id)
	if n.down {
		// A dead host answers nothing: the request holds its place and
		// its units on the node until the client's connect timeout.
		e.scheduleEssential(event{at: e.now + e.cfg.ConnectTimeout, kind: evRefused, node: int32(id), slot: s})
		return nil
	}
	f.step = stepSetup
	e.toCPU(int32(id), s)
	return nil
}

// refused ends request s, sent to crashed node i, when the client's
// connect timeout expires: its units leave the node, it counts as failed
// and its place admits the next request.
func (e *engine) refused(i, s int32) {
	f := &e.flights[s]
	if err := e.pool.End(algorithms.ServerID(i), int(f.units)); err != nil {
		e.fail(fmt.Errorf("sim: %w", err))
		return
	}
	e.lost()
	e.fe.leave(e, s, false)
	e.release(s)
	e.admit()
}

// bypass sends request s to the origin server, which answers after
// OriginTime. It still counts against the admission limit.
func (e *engine) bypass(s int32) {
	e.bypassed++
	f := &e.flights[s]
	f.step = stepOrigin
	e.schedule(e.now+e.perturb(e.cfg.OriginTime), evOriginDone, -1, s)
}

// jobTime is the service time of s's current step.
func (e *engine) jobTime(s int32) time.Duration {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	switch f.step {
	case stepSetup:
		return e.costs.SetupTime(r.Dynamic)
	case stepDisk:
		return e.costs.DiskTime(e.w.Objects[r.Object].Size, r.Dynamic)
	default:
		return e.costs.SendTime(e.w.Objects[r.Object].Size, r.Dynamic)
	}
}

func (e *engine) toCPU(i, s int32)  { e.enqueue(&e.nodes[i].cpu, evCPUDone, i, s) }
func (e *engine) toDisk(i, s int32) { e.enqueue(&e.nodes[i].disk, evDiskDone, i, s) }

// enqueue gives request s to node i's FIFO server q (its CPU or its disk):
// served at once if q is idle, else queued. done is q's job-end event.
func (e *engine) enqueue(q *fifo, done evKind, i, s int32) {
	if q.cur >= 0 {
		q.push(s)
		return
	}
	e.start(q, done, i, s)
}

// start puts request s in service on q and schedules the end of its job:
// its service time at speed 1 (jobTime) is its work, which q does at its
// pace (models.Pace: its speed, slowed while a slowdown is in force).
func (e *engine) start(q *fifo, done evKind, i, s int32) {
	q.cur, q.start = s, e.now
	e.schedule(q.pace.Finish(e.now, e.perturb(e.jobTime(s))), done, i, s)
}

// perturb returns service time d, jittered in a perturbed replicate with
// Config.Jitter > 0: d × a factor drawn uniformly in [1-Jitter, 1+Jitter].
func (e *engine) perturb(d time.Duration) time.Duration {
	if e.jitter == nil {
		return d
	}
	f := 1 + e.cfg.Jitter*(2*e.jitter.Float64()-1)
	return time.Duration(math.Round(float64(d) * f))
}

// cpuDone ends the CPU job in service on node i. The CPU first takes
// its next queued job, then the finished request moves on: after setup it
// looks its target up in the cache (hit: queue for send; miss: queue for
// the disk); after send it completes.
func (e *engine) cpuDone(i int32, epoch uint32) {
	n := &e.nodes[i]
	if epoch != n.epoch {
		return // the node crashed while this job was in service
	}
	s := n.cpu.cur
	n.cpu.busy += e.now - n.cpu.start
	n.cpu.cur = -1
	if n.cpu.n > 0 {
		e.start(&n.cpu, evCPUDone, i, n.cpu.pop())
	}
	f := &e.flights[s]
	if f.step == stepSend {
		e.complete(s)
		return
	}
	r := &e.w.Requests[f.req]
	if !r.Dynamic && n.cache.Lookup(r.Object) {
		f.hit = true
		f.step = stepSend
		e.toCPU(i, s)
		return
	}
	f.step = stepDisk
	e.toDisk(i, s)
}

// diskDone ends the disk read in service on node i: the disk takes
// its next queued read, the object is inserted into the cache (or, if
// another request inserted it meanwhile, moved to the most-recently-used
// end: Insert does both), and the request queues for the CPU to send.
// Dynamic responses are never cached.
func (e *engine) diskDone(i int32, epoch uint32) {
	n := &e.nodes[i]
	if epoch != n.epoch {
		return
	}
	s := n.disk.cur
	n.disk.busy += e.now - n.disk.start
	n.disk.cur = -1
	if n.disk.n > 0 {
		e.start(&n.disk, evDiskDone, i, n.disk.pop())
	}
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	if !r.Dynamic {
		n.cache.Insert(r.Object, e.w.Objects[r.Object].Size)
	}
	f.step = stepSend
	e.toCPU(i, s)
}

// complete records the completion of request s, releases its node (the
// connection count drops) and then admits the next requests: completion
// first, then dispatch, in the same instant (docs/reference-model.md).
func (e *engine) complete(s int32) {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	size := e.w.Objects[r.Object].Size
	if f.node >= 0 {
		n := &e.nodes[f.node]
		n.served++
		n.bytes += size
		if f.hit {
			n.hits++
			e.hits++
		}
		if err := e.pool.End(algorithms.ServerID(f.node), int(f.units)); err != nil {
			e.fail(fmt.Errorf("sim: %w", err))
		}
	}
	e.bytes += size
	e.completed++
	e.lastDone = e.now
	e.responses = append(e.responses, e.now-f.admitted)
	b := e.bucket(int(e.now / e.cfg.Interval))
	if b == nil {
		return
	}
	b.Completed++
	if f.node >= 0 {
		b.NodeCompleted[f.node]++
	}
	if f.hit {
		b.Hits++
	}
	if e.observe != nil {
		e.observe(int(f.req), e.now, f.node, f.hit)
	}
	e.fe.leave(e, s, true)
	e.release(s)
	e.admit()
}

// nodeDown crashes node i: every request on it (in service or queued, at
// the CPU or the disk) is lost and counted as failed, its cache is emptied,
// and the front end will notice after HealthCheckDelay.
func (e *engine) nodeDown(i int32) {
	e.essential--
	n := &e.nodes[i]
	if n.down {
		return
	}
	n.down = true
	n.epoch++
	lose := func(s int32) {
		if err := e.pool.End(algorithms.ServerID(i), int(e.flights[s].units)); err != nil {
			e.fail(fmt.Errorf("sim: %w", err))
		}
		e.lost()
		e.fe.leave(e, s, false)
		e.release(s)
	}
	for _, q := range []*fifo{&n.cpu, &n.disk} {
		if q.cur >= 0 {
			q.busy += e.now - q.start
			lose(q.cur)
			q.cur = -1
		}
		for q.n > 0 {
			lose(q.pop())
		}
	}
	n.cache.Reset()
	e.detectLater(i, true)
	e.admit()
}

// detectLater makes the front end see node i's new state (down or up)
// after HealthCheckDelay; with no delay it sees it at once, before any
// request is dispatched again.
func (e *engine) detectLater(i int32, down bool) {
	if e.cfg.HealthCheckDelay == 0 {
		e.detect(i, down)
		return
	}
	e.scheduleEssential(event{at: e.now + e.cfg.HealthCheckDelay, kind: evDetect, flag: down, node: i, slot: -1})
}

func (e *engine) detect(i int32, down bool) {
	if err := e.pool.SetDown(algorithms.ServerID(i), down); err != nil {
		e.fail(fmt.Errorf("sim: %w", err))
	}
}

// nodeUp brings node i back (empty cache); the front end notices after
// HealthCheckDelay.
func (e *engine) nodeUp(i int32) {
	e.essential--
	n := &e.nodes[i]
	if !n.down {
		return
	}
	n.down = false
	e.detectLater(i, false)
	e.admit()
}

// monitor is the periodic load monitor (every DFLBInterval, first at
// DFLBInterval), the shared algorithms.Monitor fed with each node's
// connection count in units (Server.Active) as its CPU metric: each
// node's load becomes load×11/12 + conns/12 (thesis §4.3), a scheduler
// with load feedback gets Load{CPU: 0.95 × load / mean load} (0.95 when
// the mean is 0), Responsive unless the node is down, and every node's
// Server.Load (for LBLL) is set to conns/High at the tick. The monitor
// stops when nothing is left in the cluster and no arrival, failure or
// health-check event is pending.
func (e *engine) monitor() {
	for i := range e.nodes {
		e.samples[i] = algorithms.Load{ID: algorithms.ServerID(i), Responsive: !e.nodes[i].down}
		e.samples[i].Set(algorithms.MetricCPU, float64(e.pool.At(i).Active))
	}
	loads, err := e.mon.Tick(e.samples, e.pool)
	if err != nil {
		e.fail(fmt.Errorf("sim: load monitor at %v: %w", e.now, err))
		return
	}
	if e.feedback != nil {
		if err := e.feedback.Feedback(e.now, loads, e.pool); err != nil {
			e.fail(fmt.Errorf("sim: load feedback at %v: %w", e.now, err))
			return
		}
	}
	e.admit()
	if !e.done() && (e.inCluster > 0 || e.essential > 0 || e.feeding) {
		e.schedule(e.now+e.cfg.DFLBInterval, evMonitor, -1, -1)
	}
}

// sample closes the time-series interval that ends at nextSample: the
// requests in the cluster and the scheduler's weights at that instant
// (before the events of the instant itself run).
func (e *engine) sample() {
	b := e.bucket(e.sampled)
	if b == nil {
		return
	}
	b.InFlight = e.inCluster
	b.Weights = e.weights()
	e.sampled++
	e.nextSample += e.cfg.Interval
}

// lost counts a request lost now (to a node failure or a connect
// timeout), in the totals and in the time series.
func (e *engine) lost() {
	e.failed++
	if b := e.bucket(int(e.now / e.cfg.Interval)); b != nil {
		b.Failed++
	}
}

// bucket returns the time series' bucket b, growing the series up to it,
// or nil if it does not fit (seriesRoom has failed the run).
func (e *engine) bucket(b int) *Sample {
	if !e.seriesRoom(b) {
		return nil
	}
	for len(e.series) <= b {
		e.series = append(e.series, Sample{
			Start:         time.Duration(len(e.series)) * e.cfg.Interval,
			NodeCompleted: make([]int, len(e.nodes)),
		})
	}
	return &e.series[b]
}

// MaxSeries bounds the time series: a run whose makespan spans more
// Config.Interval buckets than this fails with an error naming the
// interval, instead of exhausting memory. Every bucket holds one count per
// node (Sample.NodeCompleted), and one weight per node more if the
// scheduler reports weights (DFLB): the series holds at most
// MaxSeriesNodeValues of these per-node values (fewer buckets with many
// nodes).
const (
	MaxSeries           = 1 << 20
	MaxSeriesNodeValues = 1 << 24 // 128 MiB of 8-byte values
)

// seriesRoom reports whether bucket b fits in the time series, and fails
// the run if it does not.
func (e *engine) seriesRoom(b int) bool {
	perBucket := len(e.nodes)
	if e.weigher != nil {
		perBucket *= 2
	}
	limit, per := MaxSeries, ""
	if l := MaxSeriesNodeValues / perBucket; l < limit {
		limit, per = l, fmt.Sprintf(" holding %d per-node values each", perBucket)
	}
	if b < limit {
		return true
	}
	if key, d, def, ok := e.cfg.longService(); ok {
		// The run is long because a service time is: blame it, not the
		// interval the user may not even have set.
		e.fail(&ConfigError{Keys: []string{key, "interval"}, Err: fmt.Errorf(
			"%v (default %v) makes the run pass %v of simulated time, more than %d time-series buckets%s of interval %v: lower it, or use a larger interval",
			d, def, e.now, limit, per, e.cfg.Interval)})
	} else {
		e.fail(configError("interval", "%v makes more than %d time-series buckets%s by %v of simulated time; use a larger interval",
			e.cfg.Interval, limit, per, e.now))
	}
	e.nextSample = math.MaxInt64 // no more samples: the run stops at this event
	return false
}

// weights returns the scheduler's current weights in node order, or nil
// for a scheduler that does not change them.
func (e *engine) weights() []float64 {
	if e.weigher == nil {
		return nil
	}
	m := e.weigher.Weights()
	out := make([]float64, len(e.nodes))
	for i := range out {
		out[i] = m[algorithms.ServerID(i)]
	}
	return out
}
