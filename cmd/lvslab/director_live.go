package main

// The live side of "lvslab director": health checks, the DFLB load
// monitor and the admin socket of "lvslab ctl", around the services that
// director.go reads and builds.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/health"
	"github.com/lvslab/lvslab/dataplane/l7"
	"github.com/lvslab/lvslab/dataplane/monitor"
	"github.com/lvslab/lvslab/dataplane/rules"
)

// serviceLive holds a service's health, monitor and admin settings.
type serviceLive struct {
	health  *health.Config   // the service's check (health:), or nil
	servers []*health.Config // each server's refinement (servers[k].health), or nil
	monitor *monitor.Config  // the load monitor (monitor:), or nil

	// Set by build.
	ruleSet *rules.Set
	ruleIDs map[string]algorithms.ServerID
	host    *ctl.Host
}

// readLive checks and keeps the health and monitor blocks of services[i].
func readLive(svc *service, sy *serviceYAML, path string, i int) error {
	line := func(key string) int {
		if l, ok := sy.keyLines[key]; ok {
			return l
		}
		return sy.line
	}
	if sy.Health != nil {
		if _, err := sy.Health.Resolve(); err != nil {
			return fmt.Errorf("%s:%d: services[%d].health: %w", path, line("health"), i, err)
		}
		svc.live.health = sy.Health
	}
	svc.live.servers = make([]*health.Config, len(sy.Servers))
	for k, s := range sy.Servers {
		if s.Health == nil {
			continue
		}
		merged := *s.Health
		if sy.Health != nil {
			merged = sy.Health.Merge(*s.Health)
		}
		if _, err := merged.Resolve(); err != nil {
			return fmt.Errorf("%s:%d: services[%d].servers[%d].health: %w", path, s.line, i, k, err)
		}
		svc.live.servers[k] = s.Health
	}
	if sy.Monitor != nil {
		if _, err := sy.Monitor.Resolve(); err != nil {
			return fmt.Errorf("%s:%d: services[%d].monitor: %w", path, line("monitor"), i, err)
		}
		sched, err := algorithms.New(sy.Scheduler, sy.Options.options())
		if err == nil {
			if _, ok := sched.(algorithms.LoadFeedback); !ok {
				return fmt.Errorf("%s:%d: services[%d].monitor: scheduler %s takes no load feedback (the monitor feeds dflb)", path, line("monitor"), i, sy.Scheduler)
			}
		}
		svc.live.monitor = sy.Monitor
	}
	return nil
}

// newScheduler builds scheduler alg for the service, behind its content
// rules if it has any.
func (s *service) newScheduler(alg string) (algorithms.Scheduler, error) {
	if s.live.ruleSet == nil {
		return algorithms.New(alg, s.opts)
	}
	ids := s.live.ruleIDs
	return rules.NewScheduler(s.live.ruleSet, func(n string) (algorithms.ServerID, bool) { id, ok := ids[n]; return id, ok }, alg, s.opts)
}

// addServers makes the service's Host on svc and adds its servers through
// it, so that they are health-checked and named by address for ctl.
func (s *service) addServers(svc *dataplane.Service, logf func(string, ...any)) error {
	cfg := ctl.HostConfig{
		Forwards:      []string{ctl.ForwardProxy},
		Health:        s.live.health,
		HealthOptions: health.Options{Name: s.name, Logf: logf},
	}
	if ids := s.live.ruleIDs; ids != nil {
		cfg.ID = func(n string) (algorithms.ServerID, bool) { id, ok := ids[n]; return id, ok }
	}
	host, err := ctl.NewHost(svc, cfg)
	if err != nil {
		return err
	}
	for k, srv := range s.servers {
		spec := ctl.ServerSpec{Addr: srv.Addr, Name: srv.Name, Weight: &srv.Weight, Upper: &srv.Upper, Lower: &srv.Lower}
		if k < len(s.live.servers) {
			spec.Health = s.live.servers[k]
		}
		if err := host.AddServer(spec); err != nil {
			host.Close()
			return err
		}
	}
	s.live.host = host
	return nil
}

// liveOptions are the director's flags for the live side.
type liveOptions struct {
	ctl   string // admin socket path; "" for none
	loops int    // listeners of the services added by ctl; 0: 1
}

// defaultCtlPath is the admin socket's default path: /run/lvslab for
// root, else the user's runtime directory, else a per-user directory under
// the temporary directory.
func defaultCtlPath() string {
	if os.Geteuid() == 0 {
		return "/run/lvslab/director.sock"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "lvslab", "director.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("lvslab-%d", os.Geteuid()), "director.sock")
}

// director runs the services and the admin table.
type director struct {
	ctx   context.Context
	logf  func(string, ...any)
	loops int
	table *ctl.Table
	wg    sync.WaitGroup
	errc  chan error

	mu   sync.Mutex
	runs []*l7Service // every service started, in order, for the final counters
}

// runLive runs the services until ctx ends, then shuts them down. ready,
// if not nil, is called with the listen addresses once every service
// accepts connections (and the admin socket, if any, is open).
func runLive(ctx context.Context, svcs []service, stderr io.Writer, ready func([]string), opt liveOptions) error {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "lvslab director: "+format+"\n", args...)
	}
	d := &director{ctx: ctx, logf: logf, loops: max(opt.loops, 1), errc: make(chan error, 1)}
	d.table = ctl.NewTable(ctl.TableConfig{Add: d.addService})
	var addrs []string
	for i := range svcs {
		ls, err := d.start(&svcs[i])
		if err == nil {
			if err = d.table.Register(ls); err != nil {
				_ = ls.Close(context.Background())
				err = fmt.Errorf("%s: %w", svcs[i].where, err)
			}
		}
		if err != nil {
			d.shutdown()
			return err
		}
		addrs = append(addrs, ls.addr)
	}
	tctx, stopTable := context.WithCancel(context.Background())
	d.wg.Go(func() { d.table.Run(tctx) })
	var srv *ctl.Server
	if opt.ctl != "" {
		var err error
		if srv, err = ctl.Listen(opt.ctl, d.table, logf); err != nil {
			stopTable()
			d.shutdown()
			return fmt.Errorf("--ctl: %w", err)
		}
		d.wg.Go(func() {
			if err := srv.Serve(); err != nil {
				d.fail(err)
			}
		})
		logf("admin socket %s", opt.ctl)
	}
	if ready != nil {
		ready(addrs)
	}
	var err error
	select {
	case <-ctx.Done():
		logf("stopping")
	case err = <-d.errc:
	}
	if srv != nil {
		srv.Close()
	}
	stopTable()
	d.shutdown()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.runs {
		st := r.sw.Stats()
		var parts []string
		for _, e := range l7.Events() {
			if n := st.Count(e); n > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", e, n))
			}
		}
		logf("%s: %s", r.svc.name, cmpOr(strings.Join(parts, " "), "no connections"))
	}
	return err
}

func (d *director) fail(err error) {
	select {
	case d.errc <- err:
	default:
	}
}

// shutdown closes every service (in-flight requests get 10 s) and waits
// for the goroutines.
func (d *director) shutdown() {
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = d.table.Close(sctx) // each service logs its own failure
	d.wg.Wait()
}

// start builds and opens one service; the caller registers it in the
// table (add-service's table does it itself).
func (d *director) start(s *service) (*l7Service, error) {
	sw, err := s.build(d.logf)
	if err != nil {
		return nil, err
	}
	host := s.live.host
	lns, err := l7.Listen(d.ctx, s.listen, s.loops)
	if err != nil {
		host.Close()
		return nil, err
	}
	addr := lns[0].Addr().String()
	vip, err := netip.ParseAddrPort(addr)
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		host.Close()
		return nil, fmt.Errorf("%s: listen address %s: %w", s.name, addr, err)
	}
	ls := &l7Service{svc: s, sw: sw, host: host, key: ctl.Key{Proto: ctl.TCP, Addr: vip}, addr: addr, logf: d.logf}
	for _, ln := range lns {
		d.wg.Go(func() {
			if err := sw.Serve(ln); err != nil && !errors.Is(err, l7.ErrClosed) {
				d.fail(fmt.Errorf("%s: %w", s.name, err))
			}
		})
	}
	if s.live.monitor != nil {
		m, err := monitor.New(host.Service(), *s.live.monitor, monitor.Options{Name: s.name, Logf: d.logf})
		if err != nil { // checked when the file was read
			_ = ls.Close(context.Background())
			return nil, fmt.Errorf("%s: %w", s.where, err)
		}
		mctx, cancel := context.WithCancel(context.Background())
		ls.stopMonitor = cancel
		d.wg.Go(func() { m.Run(mctx) })
	}
	d.mu.Lock()
	d.runs = append(d.runs, ls)
	d.mu.Unlock()
	extra := ""
	if n := len(host.Health().Status()); n > 0 {
		extra += fmt.Sprintf(", %d health-checked", n)
	}
	if s.live.monitor != nil {
		c, _ := s.live.monitor.Resolve()
		extra += fmt.Sprintf(", load monitor every %v", c.Interval)
	}
	d.logf("%s: l7 on %s, scheduler %s, %d servers, %d listeners%s", s.name, addr, sw.Service().Scheduler(), len(s.servers), len(lns), extra)
	return ls, nil
}

// addService is ctl's add-service: a new layer-7 service with no servers.
func (d *director) addService(spec ctl.ServiceSpec) (ctl.Service, error) {
	switch spec.Mode {
	case "", "l7":
	case "nat", "tun", "dr":
		return nil, fmt.Errorf("add-service: mode %s is not implemented yet (only l7)", spec.Mode)
	default:
		return nil, fmt.Errorf("add-service: unknown mode %q; want %s", spec.Mode, directorModes)
	}
	if spec.Proto != ctl.TCP {
		return nil, errors.New("add-service: a layer-7 service is TCP (-t)")
	}
	if spec.Addr.Port() == 0 {
		return nil, errors.New("add-service: -t needs a port other than 0")
	}
	if err := noPersistence(spec); err != nil {
		return nil, err
	}
	alg := cmpOr(spec.Scheduler, "wlc")
	if _, ok := algorithms.Lookup(alg); !ok {
		return nil, fmt.Errorf("add-service: unknown scheduler %q (known: %s)", alg, strings.Join(algorithms.Names(), ", "))
	}
	s := &service{name: cmpOr(spec.Name, spec.Addr.String()), listen: spec.Addr.String(), alg: alg, loops: d.loops,
		where: "add-service " + spec.Key.Flag()}
	s.live.health = spec.Health
	ls, err := d.start(s)
	if err != nil {
		return nil, err
	}
	return ls, nil
}

func noPersistence(spec ctl.ServiceSpec) error {
	if (spec.Persistence != nil && *spec.Persistence != 0) || spec.Netmask != "" {
		return errors.New("a layer-7 service schedules every request on its own: persistence (-p, -M) does not apply")
	}
	return nil
}

// l7Service is one running layer-7 service as the admin table sees it.
type l7Service struct {
	svc         *service
	sw          *l7.Switch
	host        *ctl.Host
	key         ctl.Key
	addr        string
	logf        func(string, ...any)
	stopMonitor context.CancelFunc

	mu     sync.Mutex
	closed bool
}

var _ ctl.Service = (*l7Service)(nil)

func (ls *l7Service) Info() ctl.ServiceInfo {
	servers, total := ls.host.Servers()
	return ctl.ServiceInfo{Key: ls.key, Name: ls.svc.name, Mode: "l7", Scheduler: ls.host.Service().Scheduler(), Stats: total, Servers: servers}
}

func (ls *l7Service) Edit(spec ctl.ServiceSpec) error {
	if err := noPersistence(spec); err != nil {
		return err
	}
	if spec.Health != nil {
		return errors.New("edit-service cannot change the health checks; set them in the services file")
	}
	if spec.Scheduler == "" {
		return nil
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	sched, err := ls.svc.newScheduler(spec.Scheduler)
	if err != nil {
		return err
	}
	if err := ls.host.Service().SetScheduler(sched); err != nil {
		return err
	}
	ls.logf("%s: scheduler %s", ls.svc.name, sched.Name())
	return nil
}

func (ls *l7Service) AddServer(spec ctl.ServerSpec) error {
	if err := ls.host.AddServer(spec); err != nil {
		return err
	}
	ls.logf("%s: server %s added", ls.svc.name, spec.Addr)
	return nil
}

func (ls *l7Service) EditServer(spec ctl.ServerSpec) error { return ls.host.EditServer(spec) }

func (ls *l7Service) DeleteServer(addr netip.AddrPort) error {
	if err := ls.host.DeleteServer(addr); err != nil {
		return err
	}
	ls.logf("%s: server %s deleted", ls.svc.name, addr)
	return nil
}

func (ls *l7Service) Zero() { ls.host.Zero() }

// Close stops the service: the monitor and the checks at once, the
// switch gracefully (requests in flight get until ctx ends, at most 10 s).
func (ls *l7Service) Close(ctx context.Context) error {
	ls.mu.Lock()
	if ls.closed {
		ls.mu.Unlock()
		return nil
	}
	ls.closed = true
	ls.mu.Unlock()
	if ls.stopMonitor != nil {
		ls.stopMonitor()
	}
	ls.host.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ls.sw.Shutdown(ctx); err != nil {
		ls.logf("%s: shutdown: %v (connections cut)", ls.svc.name, err)
		return err
	}
	return nil
}
