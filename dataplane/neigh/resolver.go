package neigh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/lvslab/lvslab/dataplane/link"
)

// ErrNoAnswer is returned by Resolve when no ARP reply came.
var ErrNoAnswer = errors.New("neigh: no ARP reply")

// Lookup finds an IPv4 address's MAC in a neighbour table.
type Lookup func(netip.Addr) (net.HardwareAddr, bool)

// Config configures a Resolver. Link and Addr are required.
type Config struct {
	// Link sends the ARP requests, from the goroutine of Resolve (or a
	// background one of Get): its Send must be safe to call concurrently
	// with the forwarding loop's (afpacket.Link's and link.Mem's are).
	Link link.Link
	// Addr is the director's own address on the Link's segment: the
	// sender address of its requests.
	Addr netip.Addr
	// Kernel looks addresses up in the kernel's neighbour table before
	// any request is sent (KernelTable); nil: not consulted.
	Kernel Lookup
	// Timeout is how long one request waits for its reply (default 200 ms);
	// Tries how many requests Resolve sends (default 3).
	Timeout time.Duration
	Tries   int
}

// Resolver maps real servers' IPv4 addresses to MAC addresses; its
// methods are safe for concurrent use.
type Resolver struct {
	cfg Config

	mu       sync.Mutex
	known    map[netip.Addr]net.HardwareAddr
	pending  map[netip.Addr]chan struct{} // closed when the address is learned
	inflight map[netip.Addr]bool          // background resolutions started by Get
	sent     uint64
}

// NewResolver returns a Resolver for cfg.
func NewResolver(cfg Config) (*Resolver, error) {
	if cfg.Link == nil {
		return nil, errors.New("neigh: no link")
	}
	if !cfg.Addr.Is4() {
		return nil, fmt.Errorf("neigh: address %v is not IPv4", cfg.Addr)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 200 * time.Millisecond
	}
	if cfg.Tries <= 0 {
		cfg.Tries = 3
	}
	return &Resolver{cfg: cfg, known: map[netip.Addr]net.HardwareAddr{}, pending: map[netip.Addr]chan struct{}{},
		inflight: map[netip.Addr]bool{}}, nil
}

// Resolve returns ip's MAC: from the Resolver's table, the kernel's, or an
// ARP exchange (Cfg.Tries requests, Cfg.Timeout apart). The replies reach
// it through Handle, so the Link must be read meanwhile.
func (r *Resolver) Resolve(ctx context.Context, ip netip.Addr) (net.HardwareAddr, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("neigh: %v is not an IPv4 address", ip)
	}
	r.mu.Lock()
	if mac, ok := r.known[ip]; ok {
		r.mu.Unlock()
		return slices.Clone(mac), nil
	}
	r.mu.Unlock()
	if r.cfg.Kernel != nil {
		if mac, ok := r.cfg.Kernel(ip); ok {
			r.learn(ip, mac)
			return slices.Clone(mac), nil
		}
	}
	r.mu.Lock()
	ch, ok := r.pending[ip]
	if !ok {
		ch = make(chan struct{})
		r.pending[ip] = ch
	}
	r.mu.Unlock()
	req := Request(r.cfg.Link.MAC(), r.cfg.Addr, ip)
	for range r.cfg.Tries {
		if err := r.cfg.Link.Send([]link.Frame{{Data: req}}); err != nil {
			return nil, fmt.Errorf("neigh: ARP request for %v: %w", ip, err)
		}
		r.mu.Lock()
		r.sent++
		r.mu.Unlock()
		t := time.NewTimer(r.cfg.Timeout)
		select {
		case <-ch:
			t.Stop()
			r.mu.Lock()
			mac := slices.Clone(r.known[ip])
			r.mu.Unlock()
			return mac, nil
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("neigh: resolving %v: %w", ip, ctx.Err())
		case <-t.C:
		}
	}
	return nil, fmt.Errorf("%w from %v after %d requests", ErrNoAnswer, ip, r.cfg.Tries)
}

// Get returns ip's MAC from the Resolver's table or the kernel's without
// blocking. On a miss it starts resolving ip in the background (one
// resolution per address at a time) and returns false: a caller that asks
// again later (a director retrying unresolved real servers every second)
// finds the answer.
func (r *Resolver) Get(ip netip.Addr) (net.HardwareAddr, bool) {
	if !ip.Is4() {
		return nil, false
	}
	if mac, ok := r.Lookup(ip); ok {
		return mac, true
	}
	if r.cfg.Kernel != nil {
		if mac, ok := r.cfg.Kernel(ip); ok {
			r.learn(ip, mac)
			return slices.Clone(mac), true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inflight[ip] {
		r.inflight[ip] = true
		go func() {
			r.Resolve(context.Background(), ip)
			r.mu.Lock()
			delete(r.inflight, ip)
			r.mu.Unlock()
		}()
	}
	return nil, false
}

// Handle looks at a received frame and reports whether it is ARP. From ARP
// (replies and requests alike) it learns the sender's MAC if that address
// is being resolved or already known; other senders are not recorded, so
// the table holds only the addresses asked for.
func (r *Resolver) Handle(frame []byte) bool {
	a, ok := ParseARP(frame)
	if !ok {
		return false
	}
	if !a.SenderIP.IsUnspecified() && !isZeroMAC(a.SenderMAC) {
		r.mu.Lock()
		_, known := r.known[a.SenderIP]
		_, asked := r.pending[a.SenderIP]
		r.mu.Unlock()
		if known || asked {
			r.learn(a.SenderIP, a.SenderMAC)
		}
	}
	return true
}

func (r *Resolver) learn(ip netip.Addr, mac net.HardwareAddr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known[ip] = slices.Clone(mac)
	if ch, ok := r.pending[ip]; ok {
		close(ch)
		delete(r.pending, ip)
	}
}

// Lookup returns ip's MAC if the Resolver knows it, without asking.
func (r *Resolver) Lookup(ip netip.Addr) (net.HardwareAddr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mac, ok := r.known[ip]
	return slices.Clone(mac), ok
}

// Forget drops ip from the table (a real server removed or moved).
func (r *Resolver) Forget(ip netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.known, ip)
}

// Requests is the number of ARP requests sent so far.
func (r *Resolver) Requests() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

func isZeroMAC(m net.HardwareAddr) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

// Tap returns a Link that is l, except that Recv also hands every frame it
// returns to r.Handle, so that a forwarding loop that knows nothing of the
// Resolver still feeds it ARP replies. The frames are returned unchanged.
func Tap(l link.Link, r *Resolver) link.Link { return &tap{Link: l, r: r} }

type tap struct {
	link.Link
	r *Resolver
}

func (t *tap) Recv(frames []link.Frame) (int, error) {
	n, err := t.Link.Recv(frames)
	for i := range frames[:n] {
		t.r.Handle(frames[i].Data)
	}
	return n, err
}
