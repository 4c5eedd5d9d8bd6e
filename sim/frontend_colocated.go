package sim

import "github.com/lvslab/lvslab/algorithms"

// The "colocated" front end (thesis §7.3, fig. 7.4): a KTCPVS distributor
// runs on every node, next to the server. It is the CLS model of
// "distributed" (frontend_distributed.go: CLS cost, batching rule, load,
// refusals) with these differences:
//
//   - There is one distributor per node (Config.Distributors is ignored).
//     The L4 director hands requests to the distributor nodes round-robin
//     in dispatch order, skipping nodes its health check marks down; with
//     every node marked down the request waits at admission. A request
//     handed to a node that has crashed but is not yet marked down is lost
//     (connection refused, Result.Failed).
//   - The CLS is asked with Request.Local = the distributor's node
//     (HasLocal), so "lbll-local" (the intended scheduler, thesis §7.3.1)
//     can prefer the local node.
//   - If the CLS picks the local node, the distributor passes the
//     connection to the local server in the kernel at no cost. If it picks
//     another node, the distributor opens a TCP connection to it and
//     relays: the request reaches that node after a handoff delay equal to
//     one connection establishment (Costs.Connect, 140 µs in the thesis
//     preset). During the delay its units already count on the chosen
//     node (Server.Active and Load), as the CLS assigned it. The
//     distributor's relaying of the response is not charged to the local
//     node's CPU (the engine has no such job).
//
// Distributors are infinitely fast apart from that; distributor processes
// do not fail separately from their nodes.

func init() { frontEnds[FrontEndColocated] = newColocated }

func newColocated(e *engine) (frontEnd, error) {
	c, err := newCLSFrontEnd(e, FrontEndColocated, len(e.nodes))
	if err != nil {
		return nil, err
	}
	c.colocated = true
	c.handoff = e.costs.Connect
	return c, nil
}

// pickNode returns the next distributor node in round-robin order that
// the director does not see down, or false if every node is down.
func (c *clsFrontEnd) pickNode(e *engine) (int, bool) {
	n := len(c.dist)
	for k := range n {
		d := (c.rr + k) % n
		if s := e.pool.Get(algorithms.ServerID(d)); s != nil && !s.Down {
			c.rr = (d + 1) % n
			return d, true
		}
	}
	return 0, false
}
