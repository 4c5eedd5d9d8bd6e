package ctl

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/health"
)

// Host is the part of a virtual service that the layer-7 switch and the
// layer-4 director share: the real servers of one dataplane.Service, named
// by address, with their forwarding method, their health checks (one
// health.Group) and their counters. A director's Service implementation
// embeds or wraps a Host and adds what is its own (the listener, the
// scheduler's construction, shutting down). It is safe for concurrent use.
type Host struct {
	svc     *dataplane.Service
	checks  *health.Group
	cfg     HostConfig
	members Members

	mu      sync.Mutex // serialises server changes; guards the fields below
	servers map[netip.AddrPort]*hostServer
	byID    map[algorithms.ServerID]*hostServer
	nextID  algorithms.ServerID
	retired Counters // counters of deleted servers: they stay in the service's totals
}

type hostServer struct {
	id      algorithms.ServerID
	name    string
	forward string
}

// HostConfig configures a Host.
type HostConfig struct {
	// Forwards lists the forwarding methods the service accepts; the first
	// is the default of a server added without one. Default {"dr", "tun",
	// "nat"} (dr first, as ipvsadm's -g default); the layer-7 switch gives
	// {"proxy"}.
	Forwards []string
	// Health is the service's health check, refined per server by
	// ServerSpec.Health; nil checks only the servers that have their own.
	Health *health.Config
	// HealthOptions are the checks' clock, dialer and log.
	HealthOptions health.Options
	// ID, if not nil, fixes the ID of each server by its name (or its
	// address's text when it has none): content rules name the servers
	// they may pick at start, so a service with rules takes only those
	// servers. Nil allocates IDs in order.
	ID func(name string) (algorithms.ServerID, bool)
	// Counters maps a server's counters to ipvsadm's; nil is the layer-7
	// mapping (see RequestCounters).
	Counters func(dataplane.ServerStats) Counters
	// Observed says the host reports its traffic to Health().Observe (the
	// layer-7 switch does); without it a health check with observe is
	// refused, as it would never see an error.
	Observed bool
	// Members adds the real servers to the service and removes them; nil
	// adds them to the dataplane.Service alone. The layer-4 director gives
	// its own: a server it forwards to needs its forwarding state (method,
	// next hop) besides its place in the same dataplane.Service.
	Members Members
}

// Members is where a Host puts its service's real servers. AddServer
// must add srv to the Host's dataplane.Service (and may do more);
// RemoveServer must remove it; SetForward changes a server's forwarding
// method (one of HostConfig.Forwards).
type Members interface {
	AddServer(srv dataplane.Server, forward string) error
	RemoveServer(id algorithms.ServerID) error
	SetForward(id algorithms.ServerID, forward string) error
}

// serviceMembers are the Members of a service whose servers need nothing
// besides their place in the dataplane.Service.
type serviceMembers struct{ svc *dataplane.Service }

func (m serviceMembers) AddServer(srv dataplane.Server, _ string) error { return m.svc.AddServer(srv) }
func (m serviceMembers) RemoveServer(id algorithms.ServerID) error      { return m.svc.RemoveServer(id) }
func (m serviceMembers) SetForward(algorithms.ServerID, string) error   { return nil }

// RequestCounters maps the counters of a service that schedules requests
// (the layer-7 switch) to ipvsadm's: Conns are the requests scheduled,
// InBytes the bytes relayed to the server (client to server), OutBytes the
// bytes received from it; packets are not measured and stay 0.
func RequestCounters(st dataplane.ServerStats) Counters {
	return Counters{Conns: st.Scheduled, InBytes: st.BytesOut, OutBytes: st.BytesIn}
}

// NewHost returns a Host for svc, which must have no servers yet (add
// them with AddServer so that the Host knows them).
func NewHost(svc *dataplane.Service, cfg HostConfig) (*Host, error) {
	if len(svc.Stats()) != 0 {
		return nil, fmt.Errorf("ctl: the service already has servers; add them through the Host")
	}
	if len(cfg.Forwards) == 0 {
		cfg.Forwards = []string{ForwardDR, ForwardTun, ForwardNAT}
	}
	if cfg.Counters == nil {
		cfg.Counters = RequestCounters
	}
	if cfg.Health != nil {
		if _, err := cfg.Health.Resolve(); err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
		if err := cfg.Health.CheckObserver(cfg.Observed); err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
	}
	members := cfg.Members
	if members == nil {
		members = serviceMembers{svc}
	}
	return &Host{
		svc: svc, checks: health.NewGroup(svc, cfg.HealthOptions), cfg: cfg, members: members,
		servers: map[netip.AddrPort]*hostServer{}, byID: map[algorithms.ServerID]*hostServer{},
	}, nil
}

// Service returns the live host.
func (h *Host) Service() *dataplane.Service { return h.svc }

// Health returns the health checks.
func (h *Host) Health() *health.Group { return h.checks }

// AddServer adds a real server and starts its health check. A server whose
// check starts down (Initial "down") gets no work before it passes.
func (h *Host) AddServer(spec ServerSpec) error {
	if !spec.Addr.IsValid() {
		return fmt.Errorf("add-server: want -r ADDRESS:PORT")
	}
	fwd, err := h.forward(spec.Forward)
	if err != nil {
		return err
	}
	weight, upper, lower := 1, 0, 0
	if spec.Weight != nil {
		weight = *spec.Weight
	}
	if spec.Upper != nil {
		upper = *spec.Upper
	}
	if spec.Lower != nil {
		lower = *spec.Lower
	}
	if err := checkServerNumbers(weight, upper, lower); err != nil {
		return err
	}
	var check *health.Config
	switch {
	case h.cfg.Health != nil && spec.Health != nil:
		c := h.cfg.Health.Merge(*spec.Health)
		check = &c
	case h.cfg.Health != nil:
		check = h.cfg.Health
	case spec.Health != nil:
		check = spec.Health
	}
	if check != nil {
		if _, err := check.Resolve(); err != nil {
			return fmt.Errorf("server %s: health: %w", spec.Addr, err)
		}
		if err := check.CheckObserver(h.cfg.Observed); err != nil {
			return fmt.Errorf("server %s: health: %w", spec.Addr, err)
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.servers[spec.Addr]; dup {
		return fmt.Errorf("server %s already exists in the service", spec.Addr)
	}
	id := h.nextID
	if h.cfg.ID != nil {
		name := spec.Name
		if name == "" {
			name = spec.Addr.String()
		}
		var ok bool
		if id, ok = h.cfg.ID(name); !ok {
			return fmt.Errorf("server %q is not named in the service's content rules, which fix its servers at start", name)
		}
		if other, used := h.byID[id]; used {
			return fmt.Errorf("server %q of the content rules is already in the service (as %s)", name, h.addrOf(other))
		}
	}
	// A checked server enters with weight 0 and gets its weight through
	// the checks once its initial state is applied, so that a server that
	// starts down never receives work.
	first := weight
	if check != nil {
		first = 0
	}
	if err := h.members.AddServer(dataplane.Server{ID: id, Name: spec.Name, Addr: spec.Addr, Weight: first, Upper: upper, Lower: lower}, fwd); err != nil {
		return err
	}
	if check != nil {
		if err := h.checks.Add(id, spec.Addr, weight, *check); err != nil {
			_ = h.members.RemoveServer(id)
			return fmt.Errorf("server %s: health: %w", spec.Addr, err)
		}
		if err := h.checks.SetWeight(id, weight); err != nil {
			h.checks.Remove(id)
			_ = h.members.RemoveServer(id)
			return err
		}
	}
	s := &hostServer{id: id, name: spec.Name, forward: fwd}
	h.servers[spec.Addr] = s
	h.byID[id] = s
	if id >= h.nextID {
		h.nextID = id + 1
	}
	return nil
}

func (h *Host) addrOf(s *hostServer) netip.AddrPort {
	for a, x := range h.servers {
		if x == s {
			return a
		}
	}
	return netip.AddrPort{}
}

func (h *Host) forward(f string) (string, error) {
	if f == "" {
		return h.cfg.Forwards[0], nil
	}
	if !slices.Contains(h.cfg.Forwards, f) {
		return "", fmt.Errorf("forwarding method %s: this service takes %v", f, h.cfg.Forwards)
	}
	return f, nil
}

func checkServerNumbers(weight, upper, lower int) error {
	switch {
	case weight < 0 || weight > algorithms.MaxWeight:
		return fmt.Errorf("weight %d: want 0 to %d (-w)", weight, algorithms.MaxWeight)
	case upper < 0 || lower < 0:
		return fmt.Errorf("thresholds %d, %d: must be >= 0 (-x, -y)", upper, lower)
	}
	return nil
}

// EditServer changes a server's weight (through the health checks, so an
// inhibited server gets it when it comes back), thresholds or forwarding
// method; nil fields are kept.
func (h *Host) EditServer(spec ServerSpec) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.servers[spec.Addr]
	if !ok {
		return fmt.Errorf("no server %s in the service", spec.Addr)
	}
	cur, _ := h.svc.Server(s.id)
	fwd := s.forward
	if spec.Forward != "" {
		var err error
		if fwd, err = h.forward(spec.Forward); err != nil {
			return err
		}
	}
	upper, lower := cur.Upper, cur.Lower
	if spec.Upper != nil {
		upper = *spec.Upper
	}
	if spec.Lower != nil {
		lower = *spec.Lower
	}
	weight := 0
	if spec.Weight != nil {
		weight = *spec.Weight
	}
	if err := checkServerNumbers(weight, upper, lower); err != nil {
		return err
	}
	if spec.Name != "" && spec.Name != s.name {
		return fmt.Errorf("edit-server cannot rename %s; delete it and add it again", spec.Addr)
	}
	if fwd != s.forward {
		if err := h.members.SetForward(s.id, fwd); err != nil {
			return err
		}
	}
	if spec.Upper != nil || spec.Lower != nil {
		if err := h.svc.SetThresholds(s.id, upper, lower); err != nil {
			return err
		}
	}
	if spec.Weight != nil {
		if err := h.checks.SetWeight(s.id, weight); err != nil {
			return err
		}
	}
	s.forward = fwd
	return nil
}

// DeleteServer stops a server's health check and removes it; its counters
// stay in the service's totals.
func (h *Host) DeleteServer(addr netip.AddrPort) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.servers[addr]
	if !ok {
		return fmt.Errorf("no server %s in the service", addr)
	}
	h.checks.Remove(s.id)
	for _, st := range h.svc.Stats() {
		if st.ID == s.id {
			h.retired = h.retired.Add(h.cfg.Counters(st))
		}
	}
	if err := h.members.RemoveServer(s.id); err != nil {
		return err
	}
	delete(h.servers, addr)
	delete(h.byID, s.id)
	return nil
}

// Servers returns the real servers with their counters and health, and
// the service's totals (the servers' and those of deleted servers).
func (h *Host) Servers() ([]ServerInfo, Counters) {
	h.mu.Lock()
	defer h.mu.Unlock()
	checks := map[algorithms.ServerID]health.Status{}
	for _, st := range h.checks.Status() {
		checks[st.ID] = st
	}
	total := h.retired
	stats := h.svc.Stats()
	out := make([]ServerInfo, 0, len(stats))
	for _, st := range stats {
		s := h.byID[st.ID]
		if s == nil {
			continue
		}
		c := h.cfg.Counters(st)
		total = total.Add(c)
		info := ServerInfo{
			Addr: st.Addr, Name: s.name, Forward: s.forward, Weight: st.Weight, Active: st.Active, Inactive: st.Inactive,
			Upper: st.Upper, Lower: st.Lower, Down: st.Down, Overloaded: st.Overloaded, Stats: c,
		}
		if hs, ok := checks[st.ID]; ok {
			info.Health = &hs
		}
		out = append(out, info)
	}
	return out, total
}

// Zero resets the counters of the servers and the service.
func (h *Host) Zero() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.svc.Zero()
	h.retired = Counters{}
}

// Close stops the health checks.
func (h *Host) Close() { h.checks.Close() }
