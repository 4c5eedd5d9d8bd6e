package director

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/ctl"
	"github.com/lvslab/lvslab/dataplane/l4/live"
	"github.com/lvslab/lvslab/dataplane/l7"
	"github.com/lvslab/lvslab/dataplane/monitor"
)

// Options are Run's settings beside the services.
type Options struct {
	// Ctl is the admin socket's path (ctl.Listen: mode 0600, a live
	// socket refused, a stale one replaced); "" serves none.
	Ctl string
	// Loops is the listeners of a service that sets none, and of those
	// added by "lvslab ctl add-service"; 0 means 1.
	Loops int
	// Ready, if not nil, is called with the listen addresses once every
	// service accepts connections (and the admin socket, if any, is open;
	// the layer-4 services' real servers are resolved, or ResolveTimeout
	// has passed).
	Ready func(addrs []string)
	// Interfaces are the network interfaces the layer-4 services forward
	// on (packet sockets); empty means every Ethernet interface that is up
	// with an IPv4 address. They are opened with the first layer-4
	// service, in the process's network namespace.
	Interfaces []string
	// XDP chooses the layer-4 fast path for established DR connections
	// (live.Config.XDP); "" is off.
	XDP live.XDPMode
}

// ShutdownTimeout is how long requests in flight get to finish when a
// service stops.
const ShutdownTimeout = 10 * time.Second

// director runs the services and the admin table.
type director struct {
	ctx   context.Context
	opt   Options
	logf  func(string, ...any)
	loops int
	table *ctl.Table
	wg    sync.WaitGroup
	errc  chan error

	mu   sync.Mutex
	runs []*l7Service   // every service started, in order, for the final counters
	l4   *live.Director // the layer-4 services' forwarding, opened with the first
}

// Run runs the services until ctx ends or one of them fails, then shuts
// them down gracefully (requests in flight finish, for at most
// ShutdownTimeout) and logs each service's counters. Logs go to stderr.
func Run(ctx context.Context, svcs []Service, stderr io.Writer, o Options) error {
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "lvslab director: "+format+"\n", args...)
	}
	d := &director{ctx: ctx, opt: o, logf: logf, loops: max(o.Loops, 1), errc: make(chan error, 1)}
	d.table = ctl.NewTable(ctl.TableConfig{Add: d.addService})
	var addrs []string
	for i := range svcs {
		var (
			cs   ctl.Service
			addr string
			err  error
		)
		if Layer4(svcs[i].Mode) {
			var ls *live.Service
			if ls, err = d.startL4(&svcs[i]); err == nil {
				cs, addr = ls, svcs[i].Listen
			}
		} else {
			var ls *l7Service
			if ls, err = d.start(&svcs[i]); err == nil {
				cs, addr = ls, ls.addr
			}
		}
		if err == nil {
			if err = d.table.Register(cs); err != nil {
				_ = cs.Close(context.Background())
				err = fmt.Errorf("%s: %w", svcs[i].Where, err)
			}
		}
		if err != nil {
			d.shutdown()
			return err
		}
		addrs = append(addrs, addr)
	}
	d.waitResolved()
	tctx, stopTable := context.WithCancel(context.Background())
	d.wg.Go(func() { d.table.Run(tctx) })
	var srv *ctl.Server
	if o.Ctl != "" {
		var err error
		if srv, err = ctl.Listen(o.Ctl, d.table, logf); err != nil {
			stopTable()
			d.shutdown()
			return fmt.Errorf("--ctl: %w", err)
		}
		d.wg.Go(func() {
			if err := srv.Serve(); err != nil {
				d.fail(err)
			}
		})
		logf("admin socket %s", o.Ctl)
	}
	if o.Ready != nil {
		o.Ready(addrs)
	}
	var err error
	select {
	case <-ctx.Done():
		logf("stopping")
	case err = <-d.errc:
	}
	d.logL4()
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
		logf("%s: %s", r.svc.Name, cmpOr(strings.Join(parts, " "), "no connections"))
	}
	return err
}

func (d *director) fail(err error) {
	select {
	case d.errc <- err:
	default:
	}
}

// shutdown closes every service (in-flight requests get ShutdownTimeout)
// and waits for the goroutines.
func (d *director) shutdown() {
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	_ = d.table.Close(sctx) // each service logs its own failure
	d.mu.Lock()
	l4d := d.l4
	d.mu.Unlock()
	if l4d != nil {
		_ = l4d.Close() // stops its Run, forgets its connections
	}
	d.wg.Wait()
}

// start builds and opens one service, from the file or added by ctl; the
// caller registers it in the table (add-service's table does it itself).
func (d *director) start(s *Service) (*l7Service, error) {
	if s.Loops == 0 {
		s.Loops = d.loops
	}
	sw, host, err := s.Build(d.logf)
	if err != nil {
		return nil, err
	}
	lns, err := l7.Listen(d.ctx, s.Listen, s.Loops)
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
		return nil, fmt.Errorf("%s: listen address %s: %w", s.Name, addr, err)
	}
	ls := &l7Service{svc: s, sw: sw, host: host, key: ctl.Key{Proto: ctl.TCP, Addr: vip}, addr: addr, logf: d.logf}
	for _, ln := range lns {
		d.wg.Go(func() {
			if err := sw.Serve(ln); err != nil && !errors.Is(err, l7.ErrClosed) {
				d.fail(fmt.Errorf("%s: %w", s.Name, err))
			}
		})
	}
	if s.Monitor != nil {
		m, err := monitor.New(host.Service(), *s.Monitor, monitor.Options{Name: s.Name, Logf: d.logf})
		if err != nil { // checked when the file was read
			_ = ls.Close(context.Background())
			return nil, fmt.Errorf("%s: %w", s.Where, err)
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
	if s.Monitor != nil {
		c, _ := s.Monitor.Resolve()
		extra += fmt.Sprintf(", load monitor every %v", c.Interval)
	}
	d.logf("%s: l7 on %s, scheduler %s, %d servers, %d listeners%s", s.Name, addr, sw.Service().Scheduler(), len(s.Servers), len(lns), extra)
	return ls, nil
}

// addService is ctl's add-service: a new layer-7 service with no servers.
func (d *director) addService(spec ctl.ServiceSpec) (ctl.Service, error) {
	switch spec.Mode {
	case "", "l7":
	case "nat", "tun", "dr":
		return d.addL4Service(spec)
	default:
		return nil, fmt.Errorf("add-service: unknown mode %q; want %s", spec.Mode, Modes)
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
	s := &Service{Name: cmpOr(spec.Name, spec.Addr.String()), Listen: spec.Addr.String(), Alg: alg,
		Where: "add-service " + spec.Key.Flag(), Health: spec.Health}
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
	svc         *Service
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
	return ctl.ServiceInfo{Key: ls.key, Name: ls.svc.Name, Mode: "l7", Scheduler: ls.host.Service().Scheduler(), Stats: total, Servers: servers}
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
	ls.logf("%s: scheduler %s", ls.svc.Name, sched.Name())
	return nil
}

func (ls *l7Service) AddServer(spec ctl.ServerSpec) error {
	if err := ls.host.AddServer(spec); err != nil {
		return err
	}
	ls.logf("%s: server %s added", ls.svc.Name, spec.Addr)
	return nil
}

func (ls *l7Service) EditServer(spec ctl.ServerSpec) error { return ls.host.EditServer(spec) }

func (ls *l7Service) DeleteServer(addr netip.AddrPort) error {
	if err := ls.host.DeleteServer(addr); err != nil {
		return err
	}
	ls.logf("%s: server %s deleted", ls.svc.Name, addr)
	return nil
}

func (ls *l7Service) Zero() { ls.host.Zero() }

// Close stops the service: the monitor and the checks at once, the
// switch gracefully (requests in flight get until ctx ends, at most
// ShutdownTimeout).
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
	ctx, cancel := context.WithTimeout(ctx, ShutdownTimeout)
	defer cancel()
	if err := ls.sw.Shutdown(ctx); err != nil {
		ls.logf("%s: shutdown: %v (connections cut)", ls.svc.Name, err)
		return err
	}
	return nil
}
