package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/link/afpacket"
)

// Config configures a Director.
type Config struct {
	// Interfaces names the director's network interfaces. Each gets a
	// packet socket; its first IPv4 address is the director's address on
	// that segment (the source of IPIP tunnels and of ARP requests). Empty:
	// every Ethernet interface that is up and has an IPv4 address.
	Interfaces []string

	// MaxConns bounds the connection table: the memory budget (l4's
	// default when 0). Timeouts overrides IPVS's per-state timeouts.
	MaxConns int
	Timeouts l4.Timeouts

	// Link configures the packet sockets (ring sizes, qdisc bypass); its
	// Filter is set by Open.
	Link afpacket.Config

	// XDP chooses the fast path for established DR connections: an XDP
	// program on each interface (package xdp) forwards their packets in
	// the kernel; the core still schedules every new connection and sees
	// every SYN, FIN and RST. XDPOff (or "") forwards everything
	// in user space; XDPAuto attaches where it can and logs why it could
	// not elsewhere; XDPOn fails Open if it cannot attach. On veth the
	// program's transmits reach the peer only if the peer has an XDP
	// program too (xdp.WithPassProgram; the testbed's xdp_peer option).
	XDP XDPMode
	// XDPFlows bounds each interface's fast-path map (xdp.DefaultMaxFlows
	// when 0); connections beyond it are forwarded in user space.
	XDPFlows int

	Options
}

// Options are a Director's run-time hooks, shared by its services' health
// checks and load monitors. The zero value uses the real clock and
// network and logs nothing.
type Options struct {
	// Now is the clock of the core, the checks and the monitors; nil
	// means time.Now.
	Now func() time.Time
	// Dial opens health-check and load-monitor connections; nil means a
	// net.Dialer, in the network namespace of whichever thread dials (run
	// the director's process in the director's namespace).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Logf receives one line per event (services, servers, health
	// changes); nil discards them.
	Logf func(format string, args ...any)
}

// Director is the layer-4 director on live interfaces: the l4 core, its
// packet sockets and neighbour resolution, and its virtual services.
type Director struct {
	core    *l4.Director
	opt     Options
	closers []io.Closer // links, netlink handles: closed last
	links   []LinkInfo

	mu       sync.Mutex
	services map[*Service]bool
	running  bool
	closed   bool
	cancel   context.CancelFunc // Run's
	runDone  chan struct{}      // closed when Run's core stops
}

// LinkInfo is one of the director's interfaces and its packet socket's
// counters.
type LinkInfo struct {
	Name  string
	Stats func() afpacket.Stats
	XDP   bool // the XDP fast path is attached
}

// XDPMode says whether the director attaches its XDP fast path.
type XDPMode string

// XDP modes.
const (
	XDPOff  XDPMode = "off"
	XDPAuto XDPMode = "auto"
	XDPOn   XDPMode = "on"
)

// ParseXDPMode reads "auto", "on" or "off".
func ParseXDPMode(s string) (XDPMode, error) {
	switch m := XDPMode(strings.ToLower(s)); m {
	case XDPOff, XDPAuto, XDPOn:
		return m, nil
	}
	return "", fmt.Errorf("live: unknown XDP mode %q (want auto, on or off)", s)
}

// newDirector wraps a core whose ports are already open; closers are
// closed by Close, after the core's links.
func newDirector(core *l4.Director, opt Options, closers []io.Closer, links []LinkInfo) *Director {
	return &Director{core: core, opt: opt, closers: closers, links: links, services: map[*Service]bool{}}
}

// Core returns the forwarding core: its Stats, Conns and management.
func (d *Director) Core() *l4.Director { return d.core }

// Links returns the director's interfaces with their packet sockets'
// counters.
func (d *Director) Links() []LinkInfo { return d.links }

func (d *Director) logf(format string, args ...any) {
	if d.opt.Logf != nil {
		d.opt.Logf(format, args...)
	}
}

func (d *Director) track(s *Service) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.services[s] = true
}

func (d *Director) untrack(s *Service) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.services, s)
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("live: director closed")

// Run forwards frames until ctx ends or a link fails, then stops the
// director as Close does. It returns nil when ctx ended.
func (d *Director) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.closed || d.running {
		d.mu.Unlock()
		return ErrClosed
	}
	d.running = true
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d.cancel, d.runDone = cancel, make(chan struct{})
	d.mu.Unlock()
	err := d.core.Run(ctx) // closes the core's links when it returns
	close(d.runDone)
	return errors.Join(err, d.Close())
}

// Close stops the director: the services' health checks and load
// monitors, then forwarding (the packet sockets close), and forgets every
// connection, so that the pool's counts go back to zero; the counters
// (Core().Stats) stay readable. Services already handed to a ctl.Table
// are closed too; the table's own Close then does nothing more.
func (d *Director) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	svcs := make([]*Service, 0, len(d.services))
	for s := range d.services {
		svcs = append(svcs, s)
	}
	cancel, done := d.cancel, d.runDone
	d.mu.Unlock()
	for _, s := range svcs {
		s.stopChecks()
	}
	if cancel != nil { // Run is forwarding: stop it first
		cancel()
		<-done
	}
	d.core.Flush() // before the fast paths close: it removes their entries
	var errs []error
	for _, c := range d.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// WaitResolved waits until the next hop of every real server is known
// (its MAC address, or its gateway's, resolved), or ctx ends: a director
// that starts forwarding before then drops the first packets to the
// servers still unresolved (l4.DropNoNeighbor). It needs Run to be
// forwarding, which delivers the ARP replies.
func (d *Director) WaitResolved(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var missing []string
		for _, s := range d.core.Stats().Services {
			for _, srv := range s.Servers {
				if !srv.Resolved {
					missing = append(missing, srv.Addr.Addr().String())
				}
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("live: next hop of %s unknown: %w", strings.Join(missing, ", "), ctx.Err())
		case <-tick.C:
		}
	}
}
