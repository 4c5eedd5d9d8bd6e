package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// The "l4" front end: a layer-4 director (IPVS, thesis ch.3-5) that decides
// once per TCP connection and cannot see the requests inside it.
//
// Connections. A client (traces.Request.Client) has at most one open
// connection. A request of a client whose connection is open goes to that
// connection's node without asking the scheduler: the connection is open
// while requests of it are in the cluster (HTTP/1.1 pipelining: a
// client's requests admitted together share it) and for KeepAlive after
// its last request completed. A request dispatched exactly KeepAlive after
// that completion, or later, opens a new connection. KeepAlive 0 is
// HTTP/1.0: every request opens its own connection, so every request is a
// new scheduling decision and two concurrent requests of one client are two
// connections.
//
// Scheduling a new connection. A layer-4 director sees addresses, never
// URLs, so the scheduler sees what IPVS's would: Request{Dest, DestPort:
// the virtual service l4Service (192.0.2.1:80), Client: clientAddr(client
// index), ClientPort: 0, Cost: 1}, with an empty Key and NoCache false.
// Schedulers keyed by destination (ipvs-lblc, ipvs-lblcr, dh) therefore
// see one destination, the cluster's one virtual service: every connection
// has the same locality key, so the table holds one entry that moves only
// when its server is overloaded, as in a kernel director serving one
// virtual service. URL-keyed schedulers (lblc, lblcr, lbll, content*:
// thesis §6.3.5 keys them by target) see the same empty key for every
// connection and degenerate alike; they belong behind "l7". Client-keyed
// ones (sh, mh, chbl with an empty key, global) hash or route by client.
// ErrNoServer makes the request wait at the head of the admission queue as
// in "l7"; ErrBypass sends this one request to the origin without opening
// a connection.
//
// Connection accounting. A connection is one unit in its node's
// Server.Active: while it carries requests, the engine's per-request
// Pool.Begin/End (1 unit static, 2 dynamic) stands for it; while it is
// idle (keep-alive), the director holds one unit itself (Pool.Begin when
// its last request completes, Pool.End when the keep-alive timer fires or
// the next request reuses it). So with KeepAlive 0 the counts are exactly
// those of "l7", and with keep-alive an idle connection still weighs on
// least-connection choices, as an ESTABLISHED connection does in IPVS.
//
// Admission limit. The limit (Nodes × High) counts requests, not
// connections: every request in the cluster counts one, whatever its
// connection; an idle keep-alive connection counts nothing.
//
// Failures. A connection whose node crashed since it was opened (or whose
// node the health check marked down) is not reused: the next request of
// its client opens a new one. A request lost in a crash resets its
// connection (it is closed once its last request is gone).
type l4Director struct {
	keepAlive time.Duration
	conns     []l4Conn
	freeConns []int32
	byClient  []int32 // client index -> open connection, or -1
	connOf    []int32 // flight slot -> connection, or -1
	gen       uint32  // last keep-alive timer generation handed out
}

// l4Conn is one client connection.
type l4Conn struct {
	client   int32
	node     algorithms.ServerID
	epoch    uint32 // node's crash epoch when the connection opened
	inflight int    // requests of this connection in the cluster
	idle     bool   // open with no request: holds one unit on node
	detached bool   // reset or replaced: close when inflight reaches 0
	expires  time.Duration
	gen      uint32 // generation of the pending keep-alive timer
}

// Sub-kinds of the front ends' evFrontEnd events, carried in event.node
// (which the engine does not read for evFrontEnd). Negative so that they
// can never be mistaken for a node index.
const (
	feKeepAlive int32 = -10 - iota // l4: keep-alive timer (slot: connection, epoch: generation)
	feCLSDone                      // CLS finished a message (slot: distributor)
	feHandoff                      // colocated: handed-off request reaches its node (slot: flight)
	fePoll                         // CLS front ends: re-examine requests the CLS refused
)

func init() { frontEnds[FrontEndL4] = newL4Director }

func newL4Director(e *engine) (frontEnd, error) {
	l := &l4Director{keepAlive: e.cfg.KeepAlive}
	if l.keepAlive == 0 {
		return l, nil
	}
	maxClient := int32(-1)
	for k, r := range e.w.Requests {
		if r.Client < 0 {
			return nil, fmt.Errorf("request %d: negative client index %d", k, r.Client)
		}
		maxClient = max(maxClient, r.Client)
	}
	l.byClient = make([]int32, maxClient+1)
	for i := range l.byClient {
		l.byClient[i] = -1
	}
	l.connOf = make([]int32, len(e.flights))
	for i := range l.connOf {
		l.connOf[i] = -1
	}
	return l, nil
}

// l4Service is the virtual service the "l4" director announces, the
// destination of every connection: an address of TEST-NET-1 (RFC 5737),
// outside clientAddr's ranges, and the HTTP port.
var l4Service = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 1}), 80)

// clientAddr is the address an L4 director sees for client index k: a
// deterministic address derived from the index (trace clients may be host
// names), 10.0.0.1 for client 0 and so on through 10.255.255.255, then
// fd00::/8 for larger indices.
func clientAddr(k int32) netip.Addr {
	n := uint32(k) + 1
	if n < 1<<24 {
		return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
	}
	var b [16]byte
	b[0] = 0xfd
	b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return netip.AddrFrom16(b)
}

func (l *l4Director) dispatch(e *engine, s int32) error {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	if l.keepAlive > 0 {
		if ci := l.byClient[r.Client]; ci >= 0 {
			c := &l.conns[ci]
			if l.reusable(e, c) {
				if c.idle {
					if err := e.pool.End(c.node, 1); err != nil {
						return fmt.Errorf("sim: %w", err)
					}
					c.idle = false
				}
				c.inflight++
				l.connOf[s] = ci
				return e.serve(s, c.node)
			}
			if err := l.close(e, ci); err != nil {
				return err
			}
		}
	}
	q := &e.req
	*q = algorithms.Request{Dest: l4Service.Addr(), DestPort: l4Service.Port(), Client: clientAddr(r.Client), Cost: 1}
	id, err := e.sched.Schedule(e.now, q, e.pool)
	switch {
	case err == nil:
	case errors.Is(err, algorithms.ErrNoServer):
		return errWait
	case errors.Is(err, algorithms.ErrBypass):
		e.bypass(s)
		return nil
	default:
		return fmt.Errorf("sim: scheduler %s at %v, request %d: %w", e.cfg.Algorithm, e.now, f.req, err)
	}
	if l.keepAlive > 0 && id >= 0 && int(id) < len(e.nodes) {
		ci := l.open(r.Client, id, e.nodes[id].epoch)
		l.conns[ci].inflight = 1
		l.connOf[s] = ci
	}
	return e.serve(s, id)
}

// reusable reports whether connection c may carry the next request: it
// has not expired, its node has not crashed since it opened, and the
// director does not see its node down.
func (l *l4Director) reusable(e *engine, c *l4Conn) bool {
	if c.idle && e.now >= c.expires {
		return false
	}
	if e.nodes[c.node].epoch != c.epoch {
		return false
	}
	if s := e.pool.Get(c.node); s == nil || s.Down {
		return false
	}
	return true
}

// open allocates a connection of client to node id.
func (l *l4Director) open(client int32, id algorithms.ServerID, epoch uint32) int32 {
	var ci int32
	if n := len(l.freeConns); n > 0 {
		ci = l.freeConns[n-1]
		l.freeConns = l.freeConns[:n-1]
	} else {
		ci = int32(len(l.conns))
		l.conns = append(l.conns, l4Conn{})
	}
	l.conns[ci] = l4Conn{client: client, node: id, epoch: epoch}
	l.byClient[client] = ci
	return ci
}

// close ends connection ci as seen by new requests: an idle one releases
// its unit and is freed; a busy one is detached and freed when its last
// request leaves.
func (l *l4Director) close(e *engine, ci int32) error {
	c := &l.conns[ci]
	if l.byClient[c.client] == ci {
		l.byClient[c.client] = -1
	}
	if c.inflight > 0 {
		c.detached = true
		return nil
	}
	if c.idle {
		c.idle = false
		if err := e.pool.End(c.node, 1); err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	c.gen = 0
	l.freeConns = append(l.freeConns, ci)
	return nil
}

func (l *l4Director) leave(e *engine, s int32, completed bool) {
	if l.keepAlive == 0 {
		return
	}
	ci := l.connOf[s]
	if ci < 0 {
		return // bypassed: no connection
	}
	l.connOf[s] = -1
	c := &l.conns[ci]
	c.inflight--
	if !completed && l.byClient[c.client] == ci {
		l.byClient[c.client] = -1 // reset by the crash
		c.detached = true
	}
	if c.inflight > 0 {
		return
	}
	if c.detached {
		if err := l.close(e, ci); err != nil {
			e.fail(err)
		}
		return
	}
	// The last request completed: the connection idles for KeepAlive.
	if err := e.pool.Begin(c.node, 1); err != nil {
		e.fail(fmt.Errorf("sim: %w", err))
		return
	}
	c.idle = true
	c.expires = e.now + l.keepAlive
	l.gen++
	if l.gen == 0 {
		l.gen++
	}
	c.gen = l.gen
	e.scheduleEssential(event{at: c.expires, kind: evFrontEnd, node: feKeepAlive, slot: ci, epoch: c.gen})
}

func (l *l4Director) handle(e *engine, ev *event) error {
	if ev.node != feKeepAlive || ev.slot < 0 || int(ev.slot) >= len(l.conns) {
		return fmt.Errorf("sim: l4 front end: unexpected event (sub-kind %d)", ev.node)
	}
	c := &l.conns[ev.slot]
	if c.gen != ev.epoch || !c.idle {
		return nil // reused or closed since the timer was set
	}
	if err := l.close(e, ev.slot); err != nil {
		return err
	}
	// The closed connection's unit may let a waiting request in.
	e.admit()
	return nil
}
