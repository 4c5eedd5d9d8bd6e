package live

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/health"
	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/monitor"
)

// ServiceConfig is a virtual service of the layer-4 director (ipvsadm -A
// with its real servers, health checks and load monitor).
type ServiceConfig struct {
	Key  l4.ServiceKey
	Name string // for logs; default the key's text
	// Scheduler is a registered scheduler's name (ipvsadm -s), built with
	// Options; edit-service builds a new one with the same Options.
	Scheduler string
	Options   algorithms.Options
	// Persistence and PersistMask are ipvsadm -p and -M (as a prefix
	// length; 0 means 32).
	Persistence time.Duration
	PersistMask int
	// Method is the forwarding method of a real server added without one:
	// the service's mode (nat, tun or dr). Zero means DR, ipvsadm's -g
	// default.
	Method l4.Method
	// Health is the default health check of the real servers (refined per
	// server by ctl.ServerSpec.Health); nil checks only the servers that
	// have their own.
	Health *health.Config
	// Monitor, if not nil, runs DFLB's load monitor on the service (its
	// scheduler must take load feedback).
	Monitor *monitor.Config
	// Servers are added at start, in order.
	Servers []ctl.ServerSpec
}

// Service is one virtual service of a running Director: the l4 core's
// service, its real servers behind a ctl.Host (named by address, health
// checked, counted) and its load monitor. It is the ctl.Service that
// "lvslab ctl" drives; its methods are safe for concurrent use.
type Service struct {
	d    *Director
	key  l4.ServiceKey
	name string
	opts algorithms.Options
	host *ctl.Host

	stopMonitor context.CancelFunc
	monitorDone chan struct{}

	mu          sync.Mutex
	sched       algorithms.Scheduler
	method      l4.Method
	persistence time.Duration
	mask        int
	closed      bool
}

var _ ctl.Service = (*Service)(nil)

func (c *ServiceConfig) resolve() error {
	if c.Name == "" {
		c.Name = c.Key.String()
	}
	if c.Method == 0 {
		c.Method = l4.DR
	}
	if c.Method < l4.NAT || c.Method > l4.DR {
		return fmt.Errorf("live: service %v: unknown forwarding method %d", c.Key, c.Method)
	}
	if c.Scheduler == "" {
		c.Scheduler = "wlc"
	}
	if c.Monitor != nil {
		if _, err := c.Monitor.Resolve(); err != nil {
			return fmt.Errorf("live: service %v: monitor: %w", c.Key, err)
		}
	}
	if c.Health != nil {
		if _, err := c.Health.Resolve(); err != nil {
			return fmt.Errorf("live: service %v: health: %w", c.Key, err)
		}
	}
	return nil
}

// AddService adds a virtual service and its real servers, starts their
// health checks and the load monitor. The caller registers the returned
// Service in its ctl.Table, if it has one.
func (d *Director) AddService(c ServiceConfig) (*Service, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	sched, err := algorithms.New(c.Scheduler, c.Options)
	if err != nil {
		return nil, fmt.Errorf("live: service %v: %w", c.Key, err)
	}
	if c.Monitor != nil {
		if _, ok := sched.(algorithms.LoadFeedback); !ok {
			return nil, fmt.Errorf("live: service %v: monitor: scheduler %s takes no load feedback (the monitor feeds dflb)", c.Key, c.Scheduler)
		}
	}
	if err := d.core.AddService(l4.ServiceConfig{Key: c.Key, Scheduler: sched, Persistence: c.Persistence, PersistMask: c.PersistMask}); err != nil {
		return nil, err
	}
	svc, _ := d.core.Service(c.Key)
	s := &Service{d: d, key: c.Key, name: c.Name, opts: c.Options, sched: sched, method: c.Method, persistence: c.Persistence, mask: c.PersistMask}
	forwards := []string{c.Method.String()}
	for _, m := range []l4.Method{l4.DR, l4.TUN, l4.NAT} {
		if m != c.Method {
			forwards = append(forwards, m.String())
		}
	}
	host, err := ctl.NewHost(svc, ctl.HostConfig{
		Forwards:      forwards,
		Health:        c.Health,
		HealthOptions: health.Options{Name: c.Name, Now: d.opt.Now, Dial: d.opt.Dial, Logf: d.opt.Logf},
		Counters:      s.counters,
		Members:       members{s},
	})
	if err != nil {
		_ = d.core.DeleteService(c.Key)
		return nil, err
	}
	s.host = host
	for _, spec := range c.Servers {
		if err := s.AddServer(spec); err != nil {
			_ = s.Close(context.Background())
			return nil, err
		}
	}
	if c.Monitor != nil {
		m, err := monitor.New(svc, *c.Monitor, monitor.Options{Name: c.Name, Now: d.opt.Now, Dial: d.opt.Dial, Logf: d.opt.Logf})
		if err != nil {
			_ = s.Close(context.Background())
			return nil, err
		}
		mctx, cancel := context.WithCancel(context.Background())
		s.stopMonitor, s.monitorDone = cancel, make(chan struct{})
		go func() {
			defer close(s.monitorDone)
			m.Run(mctx)
		}()
	}
	d.track(s)
	d.logf("%s: %s %v, scheduler %s, %d servers", c.Name, c.Method, c.Key, sched.Name(), len(c.Servers))
	return s, nil
}

// Key returns the service's key.
func (s *Service) Key() l4.ServiceKey { return s.key }

// Host returns the service's real servers, health checks and counters.
func (s *Service) Host() *ctl.Host { return s.host }

// counters maps a server's pool statistics to ipvsadm's counters: the
// packets and bytes the core counted for it.
func (s *Service) counters(st dataplane.ServerStats) ctl.Counters {
	c, _ := s.d.core.ServerCounters(s.key, st.ID)
	return ctl.Counters{Conns: c.Conns, InPkts: c.InPkts, OutPkts: c.OutPkts, InBytes: c.InBytes, OutBytes: c.OutBytes}
}

// CtlKey is the service's key as the admin API spells it.
func CtlKey(k l4.ServiceKey) ctl.Key {
	return ctl.Key{Proto: strings.ToLower(k.Proto.String()), Addr: k.VIP}
}

// Info returns the service as "lvslab ctl list" shows it.
func (s *Service) Info() ctl.ServiceInfo {
	servers, total := s.host.Servers()
	s.mu.Lock()
	defer s.mu.Unlock()
	info := ctl.ServiceInfo{Key: CtlKey(s.key), Name: s.name, Mode: s.method.String(),
		Scheduler: s.host.Service().Scheduler(), Stats: total, Servers: servers}
	if s.persistence > 0 {
		info.Persistence = s.persistence
		info.Netmask = MaskString(s.mask)
	}
	return info
}

// Edit changes the scheduler and persistence (ipvsadm -E): an empty
// scheduler and nil persistence keep theirs, as does an empty netmask.
func (s *Service) Edit(spec ctl.ServiceSpec) error {
	if spec.Health != nil {
		return errors.New("edit-service cannot change the health checks; set them in the services file")
	}
	if spec.Mode != "" {
		return errors.New("edit-service cannot change the mode; edit each real server's method (-g, -i, -m)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	persistence, mask := s.persistence, s.mask
	if spec.Persistence != nil {
		persistence = *spec.Persistence
	}
	if spec.Netmask != "" {
		var err error
		if mask, err = ParseMask(spec.Netmask); err != nil {
			return err
		}
	}
	// The same scheduler keeps its state (a WRR cycle, DFLB's weights);
	// another name makes a new one.
	sched := s.sched
	if spec.Scheduler != "" && !strings.EqualFold(spec.Scheduler, sched.Name()) {
		var err error
		if sched, err = algorithms.New(spec.Scheduler, s.opts); err != nil {
			return err
		}
	}
	if err := s.d.core.EditService(l4.ServiceConfig{Key: s.key, Scheduler: sched, Persistence: persistence, PersistMask: mask}); err != nil {
		return err
	}
	if sched != s.sched {
		s.d.logf("%s: scheduler %s", s.name, sched.Name())
	}
	s.sched, s.persistence, s.mask = sched, persistence, mask
	return nil
}

// normalize gives a DR or TUN server without a port the service's: such
// a server listens on the VIP's port, and the core names it so.
func (s *Service) normalize(spec *ctl.ServerSpec) {
	if spec.Addr.Port() != 0 {
		return
	}
	m := s.method
	if spec.Forward != "" {
		if pm, err := l4.ParseMethod(spec.Forward); err == nil {
			m = pm
		}
	}
	if m != l4.NAT {
		spec.Addr = netip.AddrPortFrom(spec.Addr.Addr(), s.key.VIP.Port())
	}
}

// AddServer adds a real server (ipvsadm -a) and starts its health check.
func (s *Service) AddServer(spec ctl.ServerSpec) error {
	s.normalize(&spec)
	if err := s.host.AddServer(spec); err != nil {
		return err
	}
	s.d.logf("%s: server %s added", s.name, spec.Addr)
	return nil
}

// EditServer changes a real server's weight, thresholds or method
// (ipvsadm -e).
func (s *Service) EditServer(spec ctl.ServerSpec) error {
	s.normalize(&spec)
	return s.host.EditServer(spec)
}

// DeleteServer removes a real server (ipvsadm -d); its connections end
// at their next packet.
func (s *Service) DeleteServer(a netip.AddrPort) error {
	spec := ctl.ServerSpec{Addr: a}
	s.normalize(&spec)
	if err := s.host.DeleteServer(spec.Addr); err != nil {
		return err
	}
	s.d.logf("%s: server %s deleted", s.name, spec.Addr)
	return nil
}

// Zero clears the service's and its servers' counters (ipvsadm -Z -t).
func (s *Service) Zero() {
	s.host.Zero()
	_ = s.d.core.ZeroService(s.key)
}

// Close stops the health checks and the load monitor and deletes the
// service from the core: its connections are dropped at their next packet
// and forgotten at their timeout (or at once by the Director's Close).
func (s *Service) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stopChecks()
	s.d.untrack(s)
	if err := s.d.core.DeleteService(s.key); err != nil && !errors.Is(err, l4.ErrNotFound) {
		return err
	}
	return nil
}

// stopChecks stops the load monitor and the health checks.
func (s *Service) stopChecks() {
	if s.stopMonitor != nil {
		s.stopMonitor()
		<-s.monitorDone
	}
	s.host.Close()
}

// members put a service's real servers into the core, which adds them to
// the service's dataplane.Service and keeps their forwarding state.
type members struct{ s *Service }

func (m members) AddServer(srv dataplane.Server, forward string) error {
	meth, err := l4.ParseMethod(forward)
	if err != nil {
		return err
	}
	return m.s.d.core.AddServer(m.s.key, l4.RealServer{Server: srv, Method: meth})
}

func (m members) addr(id algorithms.ServerID) (netip.AddrPort, error) {
	srv, ok := m.s.host.Service().Server(id)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("live: service %v: no server %d", m.s.key, id)
	}
	return srv.Addr, nil
}

func (m members) RemoveServer(id algorithms.ServerID) error {
	a, err := m.addr(id)
	if err != nil {
		return err
	}
	return m.s.d.core.DeleteServer(m.s.key, a)
}

func (m members) SetForward(id algorithms.ServerID, forward string) error {
	meth, err := l4.ParseMethod(forward)
	if err != nil {
		return err
	}
	a, err := m.addr(id)
	if err != nil {
		return err
	}
	return m.s.d.core.SetMethod(m.s.key, a, meth)
}

// ParseMask reads ipvsadm -M's persistence netmask, dotted
// ("255.255.255.0") or as a prefix length ("24" or "/24"), and returns
// the prefix length.
func ParseMask(s string) (int, error) {
	t := strings.TrimPrefix(s, "/")
	if a, err := netip.ParseAddr(t); err == nil && a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n := 0
		for v&(1<<31) != 0 {
			v <<= 1
			n++
		}
		if v != 0 || n == 0 {
			return 0, fmt.Errorf("netmask %s: the ones must be contiguous and at least one (-M)", s)
		}
		return n, nil
	}
	var n int
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || fmt.Sprint(n) != t || n < 1 || n > 32 {
		return 0, fmt.Errorf("netmask %q: want a dotted IPv4 mask or a prefix length from 1 to 32 (-M)", s)
	}
	return n, nil
}

// MaskString returns a prefix length (0 meaning 32) as a dotted netmask,
// as ipvsadm prints it.
func MaskString(bits int) string {
	if bits <= 0 || bits > 32 {
		bits = 32
	}
	v := ^uint32(0) << (32 - bits)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// Factory returns ctl's add-service for the layer-4 modes: a service whose
// mode (nat, tun or dr) is its real servers' default method, with the
// given scheduler options.
func (d *Director) Factory(opts algorithms.Options) ctl.Factory {
	return func(spec ctl.ServiceSpec) (ctl.Service, error) {
		c, err := ConfigFromSpec(spec)
		if err != nil {
			return nil, err
		}
		c.Options = opts
		return d.AddService(c)
	}
}

// ConfigFromSpec turns add-service's request into a ServiceConfig.
func ConfigFromSpec(spec ctl.ServiceSpec) (ServiceConfig, error) {
	var c ServiceConfig
	proto, err := l4.ParseProtocol(spec.Proto)
	if err != nil {
		return c, fmt.Errorf("add-service: %w", err)
	}
	c.Key = l4.ServiceKey{Proto: proto, VIP: spec.Addr}
	if spec.Mode == "" {
		c.Method = l4.DR
	} else if c.Method, err = l4.ParseMethod(spec.Mode); err != nil {
		return c, fmt.Errorf("add-service: mode %q: want nat, tun or dr", spec.Mode)
	}
	c.Name, c.Scheduler, c.Health = spec.Name, spec.Scheduler, spec.Health
	if spec.Persistence != nil {
		c.Persistence = *spec.Persistence
	}
	if spec.Netmask != "" {
		if c.PersistMask, err = ParseMask(spec.Netmask); err != nil {
			return c, fmt.Errorf("add-service: %w", err)
		}
	}
	return c, nil
}
