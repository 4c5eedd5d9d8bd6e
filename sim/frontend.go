package sim

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvslab/lvslab/algorithms"
)

// frontEnd is the seam between admission and the back-end nodes (see
// doc.go, "Front ends"). Admission hands it each admitted request; it
// decides where the request goes and may keep its own state and events.
//
// A front end acts on a request only through the engine:
//
//   - e.serve(s, id) starts request s on node id (Pool.Begin, then the
//     node's step sequence); a crashed node fails it at once;
//   - e.bypass(s) sends it to the origin (served after OriginTime);
//   - e.scheduleEssential(event{kind: evFrontEnd, ...}) schedules one of
//     its own events (a distributor's or CLS's delay, a keep-alive
//     timeout), which the engine hands back to handle at its time; the
//     request stays admitted (in the cluster) meanwhile.
//
// Every method runs inside the single event loop; none may block.
type frontEnd interface {
	// dispatch places admitted request s (e.flights[s]) at e.now. It
	// returns errWait if the request cannot be placed now (it then stays
	// at the head of the admission queue and is offered again after the
	// next completion, health-check change or monitor tick), nil once the
	// request is placed, bypassed, failed or deferred to an own event, and
	// any other error to abort the run.
	dispatch(e *engine, s int32) error

	// leave is called when request s leaves the cluster: completed (true)
	// or lost (false), before its slot is recycled.
	leave(e *engine, s int32, completed bool)

	// handle runs one of the front end's own evFrontEnd events.
	handle(e *engine, ev *event) error
}

// frontEnds maps Config.FrontEnd to a constructor. Front ends listed in
// FrontEnds but not here are rejected by Resolve as not implemented yet.
var frontEnds = map[string]func(e *engine) (frontEnd, error){
	FrontEndL7: func(*engine) (frontEnd, error) { return l7Switch{}, nil },
}

func implementedFrontEnds() []string {
	var names []string
	for n := range frontEnds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// l7Switch is the content-aware switch of docs/reference-model.md (KTCPVS,
// thesis §6): infinitely fast, it sees every request and asks the
// scheduler for a node per request, with the request's target as the
// locality key and 2 cost units for a dynamic request.
type l7Switch struct{}

func (l7Switch) dispatch(e *engine, s int32) error {
	f := &e.flights[s]
	r := &e.w.Requests[f.req]
	q := &e.req
	q.Key = e.w.Objects[r.Object].Target
	q.Cost = int(f.units)
	q.NoCache = r.Dynamic
	q.Client = netip.Addr{}
	if int(r.Client) >= 0 && int(r.Client) < len(e.clients) {
		q.Client = e.clients[r.Client]
	}
	id, err := e.sched.Schedule(e.now, q, e.pool)
	switch {
	case err == nil:
		return e.serve(s, id)
	case errors.Is(err, algorithms.ErrNoServer):
		return errWait
	case errors.Is(err, algorithms.ErrBypass):
		e.bypass(s)
		return nil
	}
	return fmt.Errorf("sim: scheduler %s at %v, request %d: %w", e.cfg.Algorithm, e.now, f.req, err)
}

func (l7Switch) leave(*engine, int32, bool) {}

func (l7Switch) handle(_ *engine, ev *event) error {
	return fmt.Errorf("sim: l7 front end: unexpected event of kind %d", ev.kind)
}
