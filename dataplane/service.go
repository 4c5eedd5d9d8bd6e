package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// Counting says how a Service counts the work it schedules in the pool.
type Counting int

const (
	// CountRequests counts each scheduled request's cost units in Active
	// from Pick to Done: the thesis's n.conns of a layer-7 switch (§6.3.5).
	CountRequests Counting = iota
	// CountConnections counts as IPVS does for TCP: a new connection is
	// Inactive until Established moves it to Active.
	CountConnections
)

// Server describes a real server added to a Service.
type Server struct {
	ID   algorithms.ServerID
	Name string         // label ("rs1"); defaults to Addr's text
	Addr netip.AddrPort // where connections go

	// Weight is the scheduler weight, 0 to algorithms.MaxWeight.
	Weight int
	// Upper and Lower are IPVS's connection thresholds (0: none).
	Upper, Lower int
}

// ServerStats is a snapshot of one server's state and counters.
type ServerStats struct {
	ID         algorithms.ServerID
	Name       string
	Addr       netip.AddrPort
	Weight     int
	Down       bool
	Overloaded bool
	Active     int // in the pool's units (see Counting)
	Inactive   int
	Upper      int // IPVS thresholds (0: none)
	Lower      int

	Scheduled uint64 // requests (or connections) scheduled to the server
	Conns     uint64 // connections opened to the server
	BytesIn   uint64 // bytes received from the server
	BytesOut  uint64 // bytes sent to the server
	Errors    uint64 // failed connections and requests
}

// Service is the live host of one virtual service: a pool of real servers
// and a scheduler, safe for concurrent use. It serialises every call into
// the scheduler and the pool with one mutex; scheduling and the counter
// update that follows it are one critical section, so that least-connection
// schedulers see each other's picks (else concurrent picks herd onto the
// same server).
//
// Time reaches the scheduler as the duration since the Service was made,
// read once per call from the injected clock.
type Service struct {
	mu       sync.Mutex
	pool     *algorithms.Pool
	sched    algorithms.Scheduler
	now      func() time.Time
	origin   time.Time
	counting Counting
	members  map[algorithms.ServerID]*member
}

// member is the host-side record of one server. Leases point at it, so a
// lease that outlives its server's removal (or a re-added server with the
// same ID) never touches the wrong counters.
type member struct {
	srv Server

	scheduled atomic.Uint64
	conns     atomic.Uint64
	bytesIn   atomic.Uint64
	bytesOut  atomic.Uint64
	errs      atomic.Uint64
}

// Config configures a Service.
type Config struct {
	// Scheduler picks servers. Required.
	Scheduler algorithms.Scheduler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Counting says how work is counted; the zero value counts requests.
	Counting Counting
}

// NewService returns a service with an empty pool.
func NewService(cfg Config) (*Service, error) {
	if cfg.Scheduler == nil {
		return nil, errors.New("dataplane: a service needs a scheduler")
	}
	if cfg.Counting != CountRequests && cfg.Counting != CountConnections {
		return nil, fmt.Errorf("dataplane: unknown counting mode %d", cfg.Counting)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	pool, err := algorithms.NewPool()
	if err != nil {
		return nil, err
	}
	return &Service{
		pool:     pool,
		sched:    cfg.Scheduler,
		now:      now,
		origin:   now(),
		counting: cfg.Counting,
		members:  make(map[algorithms.ServerID]*member),
	}, nil
}

// Scheduler returns the service's scheduler's name.
func (s *Service) Scheduler() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sched.Name()
}

// SetScheduler replaces the service's scheduler (ipvsadm -E -s): the pool,
// its counters and the work in progress stay; the new scheduler builds its
// derived state from the pool on its first pick.
func (s *Service) SetScheduler(sched algorithms.Scheduler) error {
	if sched == nil {
		return errors.New("dataplane: a service needs a scheduler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sched = sched
	return nil
}

// elapsed is the scheduler's now. Called with s.mu held.
func (s *Service) elapsed() time.Duration { return s.now().Sub(s.origin) }

// Lease is one unit of scheduled work on a server: a request (or a
// connection) from Pick until Done. The zero Lease is not valid. A Lease
// is a value owned by one goroutine at a time; Done ends it exactly once
// (later calls on the same Lease do nothing), so keep one copy.
type Lease struct {
	ID   algorithms.ServerID
	Addr netip.AddrPort

	svc         *Service
	m           *member
	cost        int
	established bool
	done        bool
}

// Pick schedules r: it asks the scheduler for a server and records the
// start of the work in the pool in the same critical section. It returns
// algorithms.ErrNoServer (wrapped) when no server qualifies and
// algorithms.ErrBypass when the scheduler sends the request to an origin
// the service does not have.
func (s *Service) Pick(r *algorithms.Request) (Lease, error) {
	cost := r.Units()
	s.mu.Lock()
	id, err := s.sched.Schedule(s.elapsed(), r, s.pool)
	if err != nil {
		s.mu.Unlock()
		return Lease{}, err
	}
	m := s.members[id]
	if m == nil {
		s.mu.Unlock()
		return Lease{}, fmt.Errorf("dataplane: scheduler %s picked unknown server %d", s.sched.Name(), id)
	}
	if s.counting == CountConnections {
		cost = 1
		err = s.pool.Adjust(id, 0, 1)
	} else {
		err = s.pool.Begin(id, cost)
	}
	s.mu.Unlock()
	if err != nil {
		return Lease{}, err
	}
	m.scheduled.Add(1)
	return Lease{ID: id, Addr: m.srv.Addr, svc: s, m: m, cost: cost}, nil
}

// Bind starts work on a given server without asking the scheduler: the
// connection that a persistence template sends back to the server it chose
// before (IPVS's ip_vs_sched_persist). It is counted as Pick counts. It
// returns an error wrapping algorithms.ErrUnknownServer if the server was
// removed and algorithms.ErrNoServer if it is down; a quiescing (weight 0)
// or overloaded server still takes the work, as IPVS's templates keep
// sending to it (ip_vs_check_template without expire_quiescent_template).
func (s *Service) Bind(id algorithms.ServerID, r *algorithms.Request) (Lease, error) {
	cost := r.Units()
	s.mu.Lock()
	m := s.members[id]
	srv := s.pool.Get(id)
	if m == nil || srv == nil {
		s.mu.Unlock()
		return Lease{}, fmt.Errorf("dataplane: bind: %w: %d", algorithms.ErrUnknownServer, id)
	}
	if srv.Down {
		s.mu.Unlock()
		return Lease{}, fmt.Errorf("dataplane: bind: server %d is down: %w", id, algorithms.ErrNoServer)
	}
	var err error
	if s.counting == CountConnections {
		cost = 1
		err = s.pool.Adjust(id, 0, 1)
	} else {
		err = s.pool.Begin(id, cost)
	}
	s.mu.Unlock()
	if err != nil {
		return Lease{}, err
	}
	m.scheduled.Add(1)
	return Lease{ID: id, Addr: m.srv.Addr, svc: s, m: m, cost: cost}, nil
}

// Established records that the lease's connection reached ESTABLISHED:
// with CountConnections it moves from Inactive to Active (IPVS counting);
// with CountRequests it does nothing. It acts only on a lease that is not
// established already (see Deactivate).
func (l *Lease) Established() {
	if l.svc == nil || l.done || l.established {
		return
	}
	l.established = true
	if l.svc.counting != CountConnections {
		return
	}
	l.svc.mu.Lock()
	if l.svc.members[l.ID] == l.m {
		_ = l.svc.pool.Adjust(l.ID, 1, -1) // cannot fail: the lease holds an inactive unit
	}
	l.svc.mu.Unlock()
}

// Deactivate records that an established connection left ESTABLISHED
// (FIN_WAIT, CLOSE_WAIT, TIME_WAIT, ...): with CountConnections it moves
// from Active back to Inactive, as IPVS's set_tcp_state does
// (ip_vs_proto_tcp.c); with CountRequests it does nothing. It acts only on
// an established lease, so Established and Deactivate alternate.
func (l *Lease) Deactivate() {
	if l.svc == nil || l.done || !l.established {
		return
	}
	l.established = false
	if l.svc.counting != CountConnections {
		return
	}
	l.svc.mu.Lock()
	if l.svc.members[l.ID] == l.m {
		_ = l.svc.pool.Adjust(l.ID, -1, 1) // cannot fail: the lease holds an active unit
	}
	l.svc.mu.Unlock()
}

// Done ends the lease's work: the pool's counters drop by what Pick (and
// Established) added. Only the first call acts. If the server was removed
// meanwhile, nothing is counted.
func (l *Lease) Done() {
	if l.svc == nil || l.done {
		return
	}
	l.done = true
	da, di := -l.cost, 0
	if l.svc.counting == CountConnections && !l.established {
		da, di = 0, -1
	}
	l.svc.mu.Lock()
	if l.svc.members[l.ID] == l.m {
		_ = l.svc.pool.Adjust(l.ID, da, di) // cannot fail: the lease holds these units
	}
	l.svc.mu.Unlock()
}

// Valid reports whether l came from a successful Pick.
func (l *Lease) Valid() bool { return l.svc != nil }

// Ended reports whether Done was called.
func (l *Lease) Ended() bool { return l.done }

// Connected counts a connection opened to the lease's server.
func (l *Lease) Connected() { l.m.conns.Add(1) }

// Transferred adds to the lease's server's byte counters: in bytes
// received from it, out bytes sent to it.
func (l *Lease) Transferred(in, out int) {
	if in > 0 {
		l.m.bytesIn.Add(uint64(in))
	}
	if out > 0 {
		l.m.bytesOut.Add(uint64(out))
	}
}

// Failed counts an error on the lease's server (a refused or reset
// connection, a bad response).
func (l *Lease) Failed() { l.m.errs.Add(1) }

// AddServer adds a real server to the pool.
func (s *Service) AddServer(srv Server) error {
	if !srv.Addr.IsValid() {
		return fmt.Errorf("dataplane: server %d has no address", srv.ID)
	}
	if srv.Name == "" {
		srv.Name = srv.Addr.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pool.Add(algorithms.Server{ID: srv.ID, Name: srv.Name, Addr: srv.Addr.Addr(), Weight: srv.Weight}); err != nil {
		return err
	}
	if err := s.pool.SetThresholds(srv.ID, srv.Upper, srv.Lower); err != nil {
		_ = s.pool.Remove(srv.ID)
		return err
	}
	s.members[srv.ID] = &member{srv: srv}
	return nil
}

// RemoveServer removes a real server. Work in progress on it ends
// normally; its leases no longer touch the pool.
func (s *Service) RemoveServer(id algorithms.ServerID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pool.Remove(id); err != nil {
		return err
	}
	delete(s.members, id)
	return nil
}

// SetWeight changes a server's weight (0 quiesces it).
func (s *Service) SetWeight(id algorithms.ServerID, w int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pool.SetWeight(id, w); err != nil {
		return err
	}
	s.members[id].srv.Weight = w
	return nil
}

// SetThresholds sets a server's upper and lower connection thresholds.
func (s *Service) SetThresholds(id algorithms.ServerID, upper, lower int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.pool.SetThresholds(id, upper, lower); err != nil {
		return err
	}
	m := s.members[id]
	m.srv.Upper, m.srv.Lower = upper, lower
	return nil
}

// SetDown marks a server down (a failed health check) or up.
func (s *Service) SetDown(id algorithms.ServerID, down bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pool.SetDown(id, down)
}

// Feedback passes measured loads to a scheduler that adapts to them
// (algorithms.LoadFeedback, e.g. DFLB); for other schedulers it does
// nothing and returns false.
func (s *Service) Feedback(loads []algorithms.Load) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fb, ok := s.sched.(algorithms.LoadFeedback)
	if !ok {
		return false, nil
	}
	return true, fb.Feedback(s.elapsed(), loads, s.pool)
}

// Zero resets every server's counters (Scheduled, Conns, BytesIn,
// BytesOut, Errors), as ipvsadm -Z does; the pool's state (Active,
// Inactive, weights) is not a counter and is kept.
func (s *Service) Zero() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.members {
		m.scheduled.Store(0)
		m.conns.Store(0)
		m.bytesIn.Store(0)
		m.bytesOut.Store(0)
		m.errs.Store(0)
	}
}

// Server returns the server with the given ID.
func (s *Service) Server(id algorithms.ServerID) (Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[id]
	if !ok {
		return Server{}, false
	}
	return m.srv, true
}

// Stats returns a snapshot of every server, in pool order.
func (s *Service) Stats() []ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ServerStats, 0, s.pool.Len())
	for _, p := range s.pool.Servers() {
		m := s.members[p.ID]
		out = append(out, ServerStats{
			ID: p.ID, Name: m.srv.Name, Addr: m.srv.Addr, Weight: p.Weight,
			Down: p.Down, Overloaded: p.Overloaded, Active: p.Active, Inactive: p.Inactive,
			Upper: p.UpperThreshold, Lower: p.LowerThreshold,
			Scheduled: m.scheduled.Load(), Conns: m.conns.Load(),
			BytesIn: m.bytesIn.Load(), BytesOut: m.bytesOut.Load(), Errors: m.errs.Load(),
		})
	}
	return out
}
