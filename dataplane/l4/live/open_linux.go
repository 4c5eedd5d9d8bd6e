package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/xdp"
	"github.com/lvslab/lvslab/dataplane/link/afpacket"
	"github.com/lvslab/lvslab/dataplane/neigh"
)

// Open opens the director on cfg's interfaces, in the calling thread's
// network namespace (run it inside testbed.Do for a testbed's director, or
// in a process started there): one packet socket per interface, the
// namespace's routes and neighbour tables, an ARP resolver per interface.
// The sockets stay in that namespace; Run and the management methods may
// then be called from any goroutine. It needs CAP_NET_RAW and
// CAP_NET_ADMIN.
//
// Each socket receives ARP and the IPv4 frames addressed to its
// interface's MAC (PACKET_HOST), whatever their destination: the VIPs'
// (also those of services added later) and NAT real servers' replies to
// clients. The director's own traffic, also addressed to that MAC, is
// passed by the core and handled by the kernel as usual.
func Open(cfg Config) (_ *Director, err error) {
	if len(cfg.Interfaces) == 0 {
		if cfg.Interfaces, err = upInterfaces(); err != nil {
			return nil, err
		}
	}
	var closers []io.Closer
	defer func() {
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
		}
	}()
	rt, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("live: netlink: %w", err)
	}
	nb := &routeNeighbors{rt: rt, ports: map[int]int{}, inflight: map[netip.Addr]bool{}, timeout: 2 * time.Second}
	closers = append(closers, closerFunc(nb.close))
	var ports []l4.Port
	var links []LinkInfo
	lc := cfg.Link
	lc.Filter = &afpacket.Match{ARP: true, IPv4: true}
	for i, name := range cfg.Interfaces {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("live: interface %q: %w", name, err)
		}
		if _, dup := nb.ports[ifi.Index]; dup {
			return nil, fmt.Errorf("live: interface %q named twice", name)
		}
		addr, err := firstIPv4(ifi)
		if err != nil {
			return nil, err
		}
		l, err := afpacket.Open(name, lc)
		if err != nil {
			return nil, err
		}
		closers = append(closers, l)
		kt, err := neigh.OpenKernelTable(ifi.Index)
		if err != nil {
			return nil, err
		}
		closers = append(closers, closerFunc(func() error { // after which lookups fail
			nb.mu.Lock()
			defer nb.mu.Unlock()
			return kt.Close()
		}))
		src := addr
		if !src.IsValid() {
			src = netip.IPv4Unspecified() // an ARP probe's sender
		}
		res, err := neigh.NewResolver(neigh.Config{Link: l, Addr: src, Kernel: nb.locked(kt.Lookup)})
		if err != nil {
			return nil, err
		}
		nb.ports[ifi.Index] = i
		nb.res = append(nb.res, res)
		port := l4.Port{Link: neigh.Tap(l, res), Addr: addr}
		info := LinkInfo{Name: name, Stats: l.Stats}
		if cfg.XDP == XDPOn || cfg.XDP == XDPAuto {
			fp, err := attachXDP(name, cfg.XDPFlows)
			switch {
			case err == nil:
				closers = append(closers, fp)
				port.FastPath, info.XDP = fp, true
				logf(cfg.Logf, "live: %s: XDP fast path attached: established DR connections are forwarded in the kernel", name)
			case cfg.XDP == XDPOn:
				return nil, err
			default:
				logf(cfg.Logf, "live: %s: no XDP fast path, every packet is forwarded in user space: %v", name, err)
			}
		}
		ports = append(ports, port)
		links = append(links, info)
	}
	core, err := l4.New(l4.Config{Ports: ports, Neighbors: nb, Now: cfg.Now, MaxConns: cfg.MaxConns, Timeouts: cfg.Timeouts})
	if err != nil {
		return nil, err
	}
	nb.mu.Lock()
	nb.learned = core.Resolve
	nb.mu.Unlock()
	return newDirector(core, cfg.Options, closers, links), nil
}

// attachXDP loads the fast path and attaches it to the interface.
func attachXDP(name string, flows int) (*xdp.FastPath, error) {
	fp, err := xdp.Load(flows)
	if err != nil {
		return nil, fmt.Errorf("live: %s: %w", name, err)
	}
	if err := fp.Attach(name); err != nil {
		fp.Close()
		return nil, fmt.Errorf("live: %w", err)
	}
	return fp, nil
}

func logf(f func(string, ...any), format string, args ...any) {
	if f != nil {
		f(format, args...)
	}
}

// upInterfaces lists the namespace's Ethernet interfaces that are up and
// have an IPv4 address, by index.
func upInterfaces() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	var names []string
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 || len(ifi.HardwareAddr) != 6 {
			continue
		}
		if a, err := firstIPv4(&ifi); err == nil && a.IsValid() {
			names = append(names, ifi.Name)
		}
	}
	if len(names) == 0 {
		return nil, errors.New("live: no Ethernet interface is up with an IPv4 address; name the director's interfaces")
	}
	return names, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// firstIPv4 returns the interface's first IPv4 address, or the zero Addr
// if it has none (then it cannot be a tunnel's source).
func firstIPv4(ifi *net.Interface) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("live: interface %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, nil
}

// routeNeighbors is the core's Neighbors on a live namespace: the route
// to a real server names the interface (a port of the director) and the
// next hop (the server itself on its segment, else the route's gateway),
// whose MAC comes from that port's Resolver. On a miss the Resolver looks
// in the kernel's neighbour table or sends ARP requests, in the
// background; when it learns the address the core is told to ask again
// (l4.Director.Resolve), so that the server gets traffic at once rather
// than at the core's next one-second tick.
type routeNeighbors struct {
	mu       sync.Mutex // serialises the netlink handles; guards inflight
	rt       *netlink.Handle
	ports    map[int]int // interface index -> port
	res      []*neigh.Resolver
	inflight map[netip.Addr]bool
	learned  func() // the core's Resolve
	timeout  time.Duration
	closed   bool
}

var _ l4.Neighbors = (*routeNeighbors)(nil)

// locked serialises a kernel table lookup with the route lookups: the
// Resolver calls it from its own goroutines too.
func (n *routeNeighbors) locked(f neigh.Lookup) neigh.Lookup {
	return func(a netip.Addr) (net.HardwareAddr, bool) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.closed {
			return nil, false
		}
		return f(a)
	}
}

// close closes the route handle; lookups fail after it.
func (n *routeNeighbors) close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rt.Close()
	n.closed = true
	return nil
}

func (n *routeNeighbors) Neighbor(a netip.Addr) (l4.Hop, bool) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return l4.Hop{}, false
	}
	routes, err := n.rt.RouteGet(a.AsSlice())
	n.mu.Unlock()
	if err != nil || len(routes) == 0 {
		return l4.Hop{}, false
	}
	port, ok := n.ports[routes[0].LinkIndex]
	if !ok { // a local address, or an interface the director does not use
		return l4.Hop{}, false
	}
	hop := a
	if gw, ok := netip.AddrFromSlice(routes[0].Gw); ok && gw.Unmap().Is4() && !gw.IsUnspecified() {
		hop = gw.Unmap()
	}
	if mac, ok := n.res[port].Lookup(hop); ok {
		return l4.Hop{Port: port, MAC: mac}, true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.inflight[hop] {
		n.inflight[hop] = true
		go n.resolve(n.res[port], hop)
	}
	return l4.Hop{}, false
}

// resolve looks hop up in the kernel's table or asks ARP, and tells the
// core when it has the answer.
func (n *routeNeighbors) resolve(r *neigh.Resolver, hop netip.Addr) {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	_, err := r.Resolve(ctx, hop)
	cancel()
	n.mu.Lock()
	delete(n.inflight, hop)
	learned := n.learned
	n.mu.Unlock()
	if err == nil && learned != nil {
		learned()
	}
}
