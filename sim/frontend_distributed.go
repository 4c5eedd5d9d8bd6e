package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// The large-scale front ends of thesis ch.7 share one model, clsFrontEnd:
// an L4 director (VS/DR or VS/TUN) spreads requests over KTCPVS
// distributors, and each distributor asks the central Content Location
// Service (CLS) which node serves the request's target.
//
// "distributed" (§7.3, fig. 7.3): Distributors dedicated distributors
// (default 4) on their own machines. The L4 director is infinitely fast
// and hands requests to the distributors round-robin in dispatch order
// (every request is its own connection to the director, as with HTTP/1.0;
// KeepAlive does not apply). The distributors are infinitely fast too; the
// only front-end cost is the CLS.
//
// The CLS is one FIFO server running the configured scheduler (intended:
// "lbll", thesis §7.3.1). Each lookup message costs CLSLookup (default
// 20 µs: the thesis measured about 50,000 lookups/s on a Pentium III 500,
// fig. 7.5) whatever the number of lookups it carries, up to CLSBatch
// (default 1). Batching rule (thesis §7.3.2): a distributor has at most one
// message outstanding at the CLS. A request reaching a distributor with no
// message outstanding is sent at once, alone; requests reaching it while a
// message is outstanding wait at the distributor, and when the answer
// comes back the distributor sends the next message with up to CLSBatch of
// them, oldest first. So a busy CLS, answering slowly, gets fuller
// messages, and an idle one answers single lookups at once. Messages of
// different distributors wait FIFO at the CLS.
//
// The CLS answers every lookup of a message when the message's service
// ends, in the message's order, each Schedule call seeing the nodes as
// the previous answers left them; the request reaches its node at that
// instant (the distributor-to-node hop is free) and starts there as under
// "l7". The key is the target string: the thesis's content ID is the MD5
// of the target, which only shortens messages and, being one-to-one in
// practice, changes no decision. The scheduler sees Request{Key: target,
// Cost: units, NoCache: dynamic, Client: the trace client's address}.
//
// Load. The CLS's resource monitor sees exact loads: Server.Load is set to
// Active/High after every dispatch to a node and every departure from one
// (the engine's monitor writes the same value every DFLBInterval), so
// "lbll" (T = 1) reads a node at its High threshold as just loaded.
//
// Refusals. ErrBypass sends the request to the origin. ErrNoServer (no
// usable node) cannot make the request wait at admission, since it was
// admitted when it reached its distributor: the distributor holds it and
// asks the CLS again (a new lookup, at CLS cost) when the pool has changed
// (Pool.Generation: a node up or down, a weight, an OVERLOAD flag) at the
// next departure or at a poll every DFLBInterval. When nothing else is
// left in the run (no other request in the cluster, no pending event), a
// poll that finds the pool unchanged, or the fourth such poll in a row,
// fails the held requests (Result.Failed), so a run always ends. Held
// requests keep their admission slots; later requests are not blocked
// behind them (unlike ErrNoServer under "l7").
//
// "colocated" and "cachecluster" are variants (frontend_colocated.go,
// frontend_cachecluster.go).
type clsFrontEnd struct {
	name      string
	colocated bool // a distributor on every node; local preference, handoff cost
	cache     bool // cache cluster: non-cacheable requests skip the CLS, no server -> origin
	syncLoad  bool
	batch     int
	lookup    time.Duration
	handoff   time.Duration // colocated: delay of a handoff to another node

	dist    []distributor
	rr      int     // next distributor (round-robin)
	distOf  []int32 // flight slot -> distributor
	handTo  []int32 // flight slot -> node it is being handed off to, or -1
	cls     fifoInts
	clsBusy bool
	scratch []int32

	held     []int32 // requests the CLS refused (ErrNoServer), oldest first
	heldGen  uint64  // pool generation when the last one was refused
	pollNext bool    // a poll event is pending
	// quietPolls counts consecutive polls that found nothing but held
	// requests in the run; after maxQuietPolls of them the held requests
	// fail even if the pool keeps changing (DFLB adjusting weights of
	// nodes that are all down, say).
	quietPolls int
}

// maxQuietPolls bounds the retries of held requests when nothing else is
// left in the run (see clsFrontEnd.quietPolls).
const maxQuietPolls = 3

// distributor is one KTCPVS distributor's lookup state.
type distributor struct {
	pending fifoInts // requests waiting for the next message
	msg     []int32  // lookups of the outstanding message
	out     bool     // a message is outstanding at the CLS
}

// fifoInts is a FIFO queue of int32 (flight slots or distributors).
type fifoInts struct {
	buf  []int32
	head int
}

func (q *fifoInts) len() int     { return len(q.buf) - q.head }
func (q *fifoInts) push(v int32) { q.buf = append(q.buf, v) }
func (q *fifoInts) pop() int32 {
	v := q.buf[q.head]
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	} else if q.head >= 64 && q.head*2 >= len(q.buf) {
		n := copy(q.buf, q.buf[q.head:])
		q.buf, q.head = q.buf[:n], 0
	}
	return v
}

// Defaults of the ch.7 front ends, applied by their constructors when
// Config leaves the field 0.
const (
	defaultDistributors = 4
	defaultCLSLookup    = 20 * time.Microsecond
	defaultCLSBatch     = 1
)

func init() { frontEnds[FrontEndDistributed] = newDistributed }

func newDistributed(e *engine) (frontEnd, error) {
	return newCLSFrontEnd(e, FrontEndDistributed, e.cfg.Distributors)
}

// newCLSFrontEnd builds a CLS front end with d distributors (0: default).
func newCLSFrontEnd(e *engine, name string, d int) (*clsFrontEnd, error) {
	if d < 0 {
		return nil, fmt.Errorf("distributors: must be >= 0 (got %d)", d)
	}
	if d == 0 {
		d = defaultDistributors
	}
	c := &clsFrontEnd{name: name, syncLoad: true, batch: e.cfg.CLSBatch, lookup: e.cfg.CLSLookup}
	if c.batch == 0 {
		c.batch = defaultCLSBatch
	}
	if c.batch < 0 {
		return nil, fmt.Errorf("cls_batch: must be >= 0 (got %d)", c.batch)
	}
	if c.lookup == 0 {
		c.lookup = defaultCLSLookup
	}
	c.dist = make([]distributor, d)
	c.distOf = make([]int32, len(e.flights))
	c.handTo = make([]int32, len(e.flights))
	for i := range c.handTo {
		c.handTo[i] = -1
	}
	return c, nil
}

// dispatch hands admitted request s to a distributor, which queues its
// lookup.
func (c *clsFrontEnd) dispatch(e *engine, s int32) error {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	if c.cache && r.Dynamic {
		// §7.5.4: the distributor fetches non-cacheable objects from the
		// origin itself, without asking the CLS.
		e.bypass(s)
		return nil
	}
	d := c.rr
	if c.colocated {
		var ok bool
		if d, ok = c.pickNode(e); !ok {
			return errWait // every distributor's node is down
		}
		if e.nodes[d].down {
			// The director does not know yet: the connection is refused.
			e.lost()
			c.leave(e, s, false)
			e.release(s)
			return nil
		}
	} else {
		c.rr = (c.rr + 1) % len(c.dist)
	}
	c.distOf[s] = int32(d)
	c.dist[d].pending.push(s)
	c.send(e, d)
	return nil
}

// send makes distributor d send its next message if it has none
// outstanding and lookups are pending.
func (c *clsFrontEnd) send(e *engine, d int) {
	ds := &c.dist[d]
	if ds.out || ds.pending.len() == 0 {
		return
	}
	ds.msg = ds.msg[:0]
	for ds.pending.len() > 0 && len(ds.msg) < c.batch {
		ds.msg = append(ds.msg, ds.pending.pop())
	}
	ds.out = true
	if c.clsBusy {
		c.cls.push(int32(d))
		return
	}
	c.startCLS(e, int32(d))
}

func (c *clsFrontEnd) startCLS(e *engine, d int32) {
	c.clsBusy = true
	e.scheduleEssential(event{at: e.now + c.lookup, kind: evFrontEnd, node: feCLSDone, slot: d})
}

func (c *clsFrontEnd) handle(e *engine, ev *event) error {
	switch ev.node {
	case feCLSDone:
		return c.clsDone(e, ev.slot)
	case feHandoff:
		return c.handoffDone(e, ev.slot)
	case fePoll:
		return c.poll(e)
	}
	return fmt.Errorf("sim: %s front end: unexpected event (sub-kind %d)", c.name, ev.node)
}

// clsDone answers the message of distributor d: the CLS starts its next
// message, then every lookup of d's message is scheduled in order, then d
// sends its next message.
func (c *clsFrontEnd) clsDone(e *engine, d int32) error {
	c.clsBusy = false
	if c.cls.len() > 0 {
		c.startCLS(e, c.cls.pop())
	}
	ds := &c.dist[d]
	c.scratch = append(c.scratch[:0], ds.msg...)
	ds.msg = ds.msg[:0]
	ds.out = false
	for _, s := range c.scratch {
		if err := c.answer(e, s); err != nil {
			return err
		}
	}
	c.send(e, int(d))
	return nil
}

// answer runs the scheduler for request s and sends it on.
func (c *clsFrontEnd) answer(e *engine, s int32) error {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	q := &e.req
	*q = algorithms.Request{Key: e.w.Objects[r.Object].Target, Cost: int(f.units), NoCache: r.Dynamic}
	if int(r.Client) >= 0 && int(r.Client) < len(e.clients) {
		q.Client = e.clients[r.Client]
	}
	local := c.distOf[s]
	if c.colocated {
		q.Local, q.HasLocal = algorithms.ServerID(local), true
	}
	id, err := e.sched.Schedule(e.now, q, e.pool)
	switch {
	case err == nil:
	case errors.Is(err, algorithms.ErrBypass):
		e.bypass(s)
		return nil
	case errors.Is(err, algorithms.ErrNoServer):
		if c.cache {
			e.bypass(s) // a cache cluster can always fall back on the origin
			return nil
		}
		c.hold(e, s)
		return nil
	default:
		return fmt.Errorf("sim: scheduler %s at %v, request %d: %w", e.cfg.Algorithm, e.now, f.req, err)
	}
	if id < 0 || int(id) >= len(e.nodes) {
		return fmt.Errorf("sim: scheduler %s chose server %d, not in the pool of %d nodes", e.cfg.Algorithm, id, len(e.nodes))
	}
	if c.colocated && int32(id) != local && c.handoff > 0 {
		// Handed off to another node: it arrives there after the handoff
		// delay. Its units count on that node from now, as the CLS
		// assigned it (reserved here, moved to the engine's Begin on
		// arrival).
		if err := e.pool.Begin(id, int(f.units)); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		c.setLoad(e, id)
		c.handTo[s] = int32(id)
		e.scheduleEssential(event{at: e.now + c.handoff, kind: evFrontEnd, node: feHandoff, slot: s})
		return nil
	}
	return c.serve(e, s, id)
}

func (c *clsFrontEnd) serve(e *engine, s int32, id algorithms.ServerID) error {
	if err := e.serve(s, id); err != nil {
		return err
	}
	c.setLoad(e, id)
	return nil
}

// handoffDone: handed-off request s reaches its node.
func (c *clsFrontEnd) handoffDone(e *engine, s int32) error {
	id := algorithms.ServerID(c.handTo[s])
	c.handTo[s] = -1
	if err := e.pool.End(id, int(e.flights[s].units)); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	return c.serve(e, s, id)
}

// setLoad keeps Server.Load = Active/High for the CLS (see above).
func (c *clsFrontEnd) setLoad(e *engine, id algorithms.ServerID) {
	if !c.syncLoad {
		return
	}
	if sv := e.pool.Get(id); sv != nil {
		if err := e.pool.SetLoad(id, algorithms.ConnLoad(sv)); err != nil {
			e.fail(fmt.Errorf("sim: %w", err))
		}
	}
}

// hold keeps request s, refused by the CLS, at its distributor until the
// pool changes (see "Refusals").
func (c *clsFrontEnd) hold(e *engine, s int32) {
	c.held = append(c.held, s)
	c.heldGen = e.pool.Generation()
	if !c.pollNext {
		c.pollNext = true
		e.scheduleEssential(event{at: e.now + e.cfg.DFLBInterval, kind: evFrontEnd, node: fePoll, slot: -1})
	}
}

// retry sends the held requests' lookups again if the pool has changed.
func (c *clsFrontEnd) retry(e *engine) bool {
	if len(c.held) == 0 || e.pool.Generation() == c.heldGen {
		return false
	}
	held := c.held
	c.held = nil
	for _, s := range held {
		d := c.distOf[s]
		c.dist[d].pending.push(s)
	}
	for _, s := range held {
		c.send(e, int(c.distOf[s]))
	}
	return true
}

func (c *clsFrontEnd) poll(e *engine) error {
	c.pollNext = false
	if len(c.held) == 0 {
		return nil
	}
	// quiet: nothing but the held requests is left in the run.
	quiet := e.essential == 0 && e.inCluster == len(c.held)
	if quiet {
		c.quietPolls++
	} else {
		c.quietPolls = 0
	}
	changed := e.pool.Generation() != c.heldGen
	if !quiet || (changed && c.quietPolls <= maxQuietPolls) {
		if !c.retry(e) {
			c.pollNext = true
			e.scheduleEssential(event{at: e.now + e.cfg.DFLBInterval, kind: evFrontEnd, node: fePoll, slot: -1})
		}
		return nil
	}
	// Nothing can change the CLS's answer any more: the held requests fail.
	held := c.held
	c.held = nil
	for _, s := range held {
		e.lost()
		e.release(s)
	}
	e.admit()
	return nil
}

func (c *clsFrontEnd) leave(e *engine, s int32, completed bool) {
	if n := e.flights[s].node; n >= 0 {
		c.setLoad(e, algorithms.ServerID(n))
	}
	c.retry(e)
}
