package algorithms

import (
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
)

// ServerID identifies a real server. IDs are chosen by the host and stay
// the same across pool changes; they need not be dense.
type ServerID int

// Server is the host-maintained state of one real server as schedulers see
// it. The host changes it only through Pool methods.
type Server struct {
	ID   ServerID
	Name string     // label for output ("A", "rs1", "10.0.0.2:80"); may be empty
	Addr netip.Addr // the server's address, if it has one (reporting, tunnels)

	// Weight is the server's capacity relative to the others, 0 to
	// MaxWeight. 0 means quiescing: no new work, existing connections keep
	// running.
	Weight int

	// Active and Inactive count the server's connections. A layer-7 host
	// counts in-service requests in cost units in Active (the thesis's
	// n.conns); a layer-4 host counts as IPVS does (a new TCP connection is
	// inactive until ESTABLISHED).
	Active   int
	Inactive int

	// Down is set by the host when a health check fails.
	Down bool

	// Overloaded is IPVS's OVERLOAD flag. The pool sets it when a counter
	// update grows Active+Inactive to UpperThreshold or beyond, and clears
	// it when an update shrinks the total below LowerThreshold (or below
	// 3/4 of UpperThreshold when LowerThreshold is 0, or at once when
	// there is no threshold), as ip_vs_bind_dest and ip_vs_unbind_dest do.
	// An update that leaves the total unchanged (a connection moving
	// between Inactive and Active) leaves the flag alone, as IPVS's
	// set_tcp_state does. SetThresholds re-evaluates it.
	Overloaded bool
	// UpperThreshold and LowerThreshold are IPVS's connection thresholds
	// (ipvsadm -x and -y): 0 means no upper threshold, and a lower
	// threshold of 0 means 3/4 of the upper one. Lower may not exceed
	// upper (ip_vs_add_dest refuses it with ERANGE).
	UpperThreshold int
	LowerThreshold int

	// Low and High are the locality thresholds of thesis §6.3.5 in
	// connection units (an ordinary node: 30 and 60). 0 means the
	// scheduler's default.
	Low, High int

	// Load is the server's last measured normalised load (1 = just loaded),
	// used by LBLL (thesis §7.3.1). The host sets it with Pool.SetLoad.
	Load float64
}

// Conns returns the IPVS overhead (Active<<8)+Inactive used by LC and WLC.
func (s *Server) Conns() int { return s.Active<<8 + s.Inactive }

// Usable reports whether s may be given new work: it is up, not
// overloaded and has a positive weight.
func (s *Server) Usable() bool { return !s.Down && !s.Overloaded && s.Weight > 0 }

// Label returns s.Name, or a letter (A, B, ..., Z, AA, ...) derived from
// the server's position i when it has no name.
func (s *Server) Label(i int) string {
	if s.Name != "" {
		return s.Name
	}
	return Letters(i)
}

// Letters returns the spreadsheet-style label of index i: A..Z, AA, AB, ...
func Letters(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// Pool is the set of real servers behind one virtual service. The host owns
// it; schedulers only read it. The order of Servers is the order in which
// servers were added (removal keeps the order of the rest), and schedulers
// that walk servers "in index order" walk this slice.
//
// Generation identifies the pool's content as schedulers see it:
// membership and order, weights, availability (Down, OVERLOAD) and
// thresholds. Every change of that content gives the pool a new generation
// that no pool in the process has had before, and Clone keeps it (the
// copy's content is the same), so a scheduler that caches derived state
// keyed on the generation alone rebuilds it exactly when the content
// changed, whichever of several clones the host passes. Counter updates
// (Begin, End, Adjust) and SetLoad do not change it, except that a counter
// update that flips the OVERLOAD flag does.
//
// A Pool is not safe for concurrent use; see [Scheduler] for how a
// concurrent host serialises its use.
type Pool struct {
	servers []Server
	index   map[ServerID]int
	gen     uint64
}

// Pool errors.
var (
	ErrDuplicateServer = errors.New("algorithms: duplicate server ID")
	ErrUnknownServer   = errors.New("algorithms: unknown server ID")
	ErrBadWeight       = errors.New("algorithms: weight must be between 0 and 2147483647")
)

// generations hands out pool generations. Values are unique in the
// process: two pools share one only when one is an unchanged Clone of the
// other. It is atomic because pools in different goroutines (parallel
// tests, one pool per service in a live host) draw from it at the same
// time; the values never reach any output, so the order in which
// goroutines draw them does not affect determinism.
var generations atomic.Uint64

// nextGeneration returns a generation no pool has had yet.
func nextGeneration() uint64 { return generations.Add(1) }

// touch records a change of the pool's content.
func (p *Pool) touch() { p.gen = nextGeneration() }

// MaxWeight is the largest server weight, that of IPVS's 32-bit weight
// field; it keeps every product a scheduler forms from weights (WLC's
// cross-multiplication, DFLB's Scale × weight) far from overflow.
const MaxWeight = 1<<31 - 1

// NewPool returns a pool holding servers, in order.
func NewPool(servers ...Server) (*Pool, error) {
	p := &Pool{index: make(map[ServerID]int, len(servers))}
	for _, s := range servers {
		if err := p.Add(s); err != nil {
			return nil, err
		}
	}
	p.touch()
	return p, nil
}

// NewWeighted returns a pool of len(weights) servers with IDs 0..n-1 and the
// given weights. It is a convenience for tests, the simulator and the
// playground.
func NewWeighted(weights ...int) (*Pool, error) {
	servers := make([]Server, len(weights))
	for i, w := range weights {
		servers[i] = Server{ID: ServerID(i), Weight: w}
	}
	return NewPool(servers...)
}

// Len returns the number of servers.
func (p *Pool) Len() int { return len(p.servers) }

// Servers returns the servers in pool order. The slice is the pool's own:
// callers must not modify it or keep it across pool changes.
func (p *Pool) Servers() []Server { return p.servers }

// At returns the server at position i.
func (p *Pool) At(i int) *Server { return &p.servers[i] }

// Index returns the position of the server with the given ID.
func (p *Pool) Index(id ServerID) (int, bool) {
	i, ok := p.index[id]
	return i, ok
}

// Get returns the server with the given ID, or nil.
func (p *Pool) Get(id ServerID) *Server {
	i, ok := p.index[id]
	if !ok {
		return nil
	}
	return &p.servers[i]
}

// Generation returns the identity of the pool's content (see [Pool]): it
// changes whenever membership, weights, availability or thresholds change,
// to a value no other pool has had, and a Clone has its original's. The
// zero Pool has generation 0; every other value is positive.
func (p *Pool) Generation() uint64 { return p.gen }

// Add appends s to the pool. Its fields are taken as given (a host may
// restore a server with connections in flight), but counters must not be
// negative and thresholds must be valid (see SetThresholds).
func (p *Pool) Add(s Server) error {
	if _, ok := p.index[s.ID]; ok {
		return fmt.Errorf("%w: %d", ErrDuplicateServer, s.ID)
	}
	if s.Weight < 0 || s.Weight > MaxWeight {
		return fmt.Errorf("%w: server %d has weight %d", ErrBadWeight, s.ID, s.Weight)
	}
	if s.Active < 0 || s.Inactive < 0 {
		return fmt.Errorf("algorithms: server %d: counters must be >= 0 (active %d, inactive %d)", s.ID, s.Active, s.Inactive)
	}
	if err := checkThresholds(s.ID, s.UpperThreshold, s.LowerThreshold); err != nil {
		return err
	}
	if p.index == nil {
		p.index = make(map[ServerID]int)
	}
	p.index[s.ID] = len(p.servers)
	p.servers = append(p.servers, s)
	p.touch()
	return nil
}

// Remove deletes the server with the given ID, keeping the order of the rest.
func (p *Pool) Remove(id ServerID) error {
	i, ok := p.index[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownServer, id)
	}
	p.servers = append(p.servers[:i], p.servers[i+1:]...)
	delete(p.index, id)
	for j := i; j < len(p.servers); j++ {
		p.index[p.servers[j].ID] = j
	}
	p.touch()
	return nil
}

func (p *Pool) get(id ServerID) (*Server, error) {
	i, ok := p.index[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownServer, id)
	}
	return &p.servers[i], nil
}

// SetWeight changes a server's weight.
func (p *Pool) SetWeight(id ServerID, w int) error {
	s, err := p.get(id)
	if err != nil {
		return err
	}
	if w < 0 || w > MaxWeight {
		return fmt.Errorf("%w: server %d weight %d", ErrBadWeight, id, w)
	}
	if s.Weight != w {
		s.Weight = w
		p.touch()
	}
	return nil
}

// SetDown marks a server down (true) or up (false).
func (p *Pool) SetDown(id ServerID, down bool) error {
	s, err := p.get(id)
	if err != nil {
		return err
	}
	if s.Down != down {
		s.Down = down
		p.touch()
	}
	return nil
}

// SetThresholds sets a server's IPVS upper and lower connection thresholds
// (0 = none) and re-evaluates its OVERLOAD flag: it is set exactly when
// there is an upper threshold and Active+Inactive has reached it. Negative
// thresholds, and a lower threshold above the upper one, are refused, as
// ip_vs_add_dest and ip_vs_edit_dest refuse them.
func (p *Pool) SetThresholds(id ServerID, upper, lower int) error {
	s, err := p.get(id)
	if err != nil {
		return err
	}
	if err := checkThresholds(id, upper, lower); err != nil {
		return err
	}
	s.UpperThreshold, s.LowerThreshold = upper, lower
	s.Overloaded = false
	bindOverload(s)
	p.touch()
	return nil
}

func checkThresholds(id ServerID, upper, lower int) error {
	if upper < 0 || lower < 0 {
		return fmt.Errorf("algorithms: server %d: thresholds must be >= 0 (upper %d, lower %d)", id, upper, lower)
	}
	if lower > upper {
		return fmt.Errorf("algorithms: server %d: lower threshold %d is above upper threshold %d", id, lower, upper)
	}
	return nil
}

// SetLoad records a server's measured normalised load.
func (p *Pool) SetLoad(id ServerID, load float64) error {
	s, err := p.get(id)
	if err != nil {
		return err
	}
	s.Load = load
	return nil
}

// Begin records that new work of cost units started on server id
// (Active += cost), and sets OVERLOAD if the upper threshold is reached.
func (p *Pool) Begin(id ServerID, cost int) error { return p.Adjust(id, cost, 0) }

// End records that work of cost units finished on server id
// (Active -= cost), and clears OVERLOAD below the lower threshold.
func (p *Pool) End(id ServerID, cost int) error { return p.Adjust(id, -cost, 0) }

// Adjust adds dActive and dInactive to a server's counters and maintains
// the OVERLOAD flag: a net increase applies the upper threshold, a net
// decrease the lower one, and no net change (a layer-4 host moving a
// connection from inactive to active with Adjust(id, 1, -1) when it is
// ESTABLISHED) leaves the flag alone. Counters never go below zero; an
// update that would make one negative is an error and changes nothing.
// A change of the flag changes the pool's generation.
func (p *Pool) Adjust(id ServerID, dActive, dInactive int) error {
	s, err := p.get(id)
	if err != nil {
		return err
	}
	if s.Active+dActive < 0 || s.Inactive+dInactive < 0 {
		return fmt.Errorf("algorithms: server %d: counters would go negative (active %d%+d, inactive %d%+d)",
			id, s.Active, dActive, s.Inactive, dInactive)
	}
	s.Active += dActive
	s.Inactive += dInactive
	before := s.Overloaded
	switch net := dActive + dInactive; {
	case net > 0:
		bindOverload(s)
	case net < 0:
		unbindOverload(s)
	}
	if s.Overloaded != before {
		p.touch()
	}
	return nil
}

// bindOverload is the threshold rule of ip_vs_bind_dest: set the flag when
// the total reaches the upper threshold.
func bindOverload(s *Server) {
	if s.UpperThreshold != 0 && s.Active+s.Inactive >= s.UpperThreshold {
		s.Overloaded = true
	}
}

// unbindOverload is the threshold rule of ip_vs_unbind_dest: clear the
// flag below the lower threshold, below 3/4 of the upper one when there is
// no lower threshold, and at once when there is neither.
func unbindOverload(s *Server) {
	total := s.Active + s.Inactive
	switch {
	case s.LowerThreshold != 0:
		if total < s.LowerThreshold {
			s.Overloaded = false
		}
	case s.UpperThreshold != 0:
		if total*4 < s.UpperThreshold*3 {
			s.Overloaded = false
		}
	default:
		s.Overloaded = false
	}
}

// Clone returns a deep copy of the pool. It has the same generation: its
// content is the same, so a scheduler's state derived from one stays valid
// for the other. A later change to either gives that one a new generation.
func (p *Pool) Clone() *Pool {
	q := &Pool{servers: append([]Server(nil), p.servers...), index: make(map[ServerID]int, len(p.index)), gen: p.gen}
	for id, i := range p.index {
		q.index[id] = i
	}
	return q
}
