package tunnel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Agent decapsulates IP-in-IP packets into a TUN device. Its methods are
// safe for concurrent use.
type Agent struct {
	cfg  Config
	raw  *os.File // raw socket, protocol 4 (read through the runtime's poller)
	tun  int      // the TUN device's file descriptor
	dev  string
	nl   *netlink.Handle
	vips []netip.Addr

	// rpAll is net.ipv4.conf.all.rp_filter, opened in the namespace so
	// Close restores it there; rpOld is the value to restore ("" if
	// untouched).
	rpAll *os.File
	rpOld string

	localMu   sync.Mutex
	local     []netip.Addr
	refreshed time.Time

	counts [numReasons]atomic.Uint64
	runMu  sync.Mutex // held by Run; Close takes it to wait for Run's end
	once   sync.Once
	closed atomic.Bool
}

// Start sets the agent up in the calling thread's network namespace: the
// raw socket, the TUN device (up, rp_filter 0, the VIPs on it), and all's
// rp_filter loosened if strict. It needs CAP_NET_ADMIN and CAP_NET_RAW. On
// error nothing is left behind.
func Start(cfg Config) (*Agent, error) {
	if len(cfg.VIPs) == 0 {
		return nil, errors.New("tunnel: no VIP")
	}
	for _, v := range cfg.VIPs {
		if !v.Is4() {
			return nil, fmt.Errorf("tunnel: VIP %v is not an IPv4 address", v)
		}
	}
	if cfg.Dev == "" {
		cfg.Dev = DefaultDev
	}
	if len(cfg.Dev) >= unix.IFNAMSIZ || strings.ContainsAny(cfg.Dev, "/ %") {
		return nil, fmt.Errorf("tunnel: device name %q: want at most %d characters, no '/', ' ' or '%%'", cfg.Dev, unix.IFNAMSIZ-1)
	}
	if cfg.MTU != 0 && (cfg.MTU < 576 || cfg.MTU > 65515) {
		return nil, fmt.Errorf("tunnel: MTU %d: want 576 to 65515", cfg.MTU)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	a := &Agent{cfg: cfg, tun: -1, dev: cfg.Dev, vips: slices.Clone(cfg.VIPs)}
	if err := a.setup(); err != nil {
		a.teardown()
		return nil, err
	}
	return a, nil
}

// rawRcvBuf is the receive buffer asked for the raw socket, in bytes.
const rawRcvBuf = 8 << 20

func (a *Agent) setup() error {
	var err error
	if a.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("tunnel: netlink: %w", err)
	}
	if _, err := a.nl.LinkByName(a.dev); err == nil {
		return fmt.Errorf("tunnel: device %s exists already (another agent?)", a.dev)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, protoIPIP)
	if err != nil {
		return fmt.Errorf("tunnel: raw socket for IP protocol 4: %w", err)
	}
	// A receive buffer for bursts: the default (net.core.rmem_default,
	// about 200 KB: some 90 small datagrams) overflows whenever the agent
	// is off the CPU for a moment on a busy machine, and each datagram
	// dropped there is a client's packet lost (a SYN: a connect that
	// waits for a retransmission, or times out). Without CAP_NET_ADMIN the
	// kernel caps it at net.core.rmem_max.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rawRcvBuf); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rawRcvBuf)
	}
	a.raw = os.NewFile(uintptr(fd), "ipip") // non-blocking: reads park in the runtime's poller
	if err := a.openTUN(); err != nil {
		return err
	}
	if err := a.configure(); err != nil {
		return err
	}
	return a.refreshLocal()
}

// openTUN creates the TUN device through /dev/net/tun. It is not
// persistent: it goes away when the descriptor is closed, addresses and
// routes with it.
func (a *Agent) openTUN() error {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tunnel: /dev/net/tun: %w", err)
	}
	a.tun = fd
	ifr, err := unix.NewIfreq(a.dev)
	if err != nil {
		return fmt.Errorf("tunnel: device %s: %w", a.dev, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fmt.Errorf("tunnel: creating TUN device %s: %w", a.dev, err)
	}
	return nil
}

// configure sets the device's MTU, rp_filter and addresses, and brings it
// up.
func (a *Agent) configure() error {
	l, err := a.nl.LinkByName(a.dev)
	if err != nil {
		return fmt.Errorf("tunnel: %s: %w", a.dev, err)
	}
	mtu := a.cfg.MTU
	if mtu == 0 {
		mtu = a.defaultMTU()
	}
	if err := a.nl.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("tunnel: %s: MTU %d: %w", a.dev, mtu, err)
	}
	if err := writeSysctl("net/ipv4/conf/"+a.dev+"/rp_filter", "0"); err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	// The effective rp_filter is the larger of all's and the device's.
	a.rpAll, err = os.OpenFile("/proc/sys/net/ipv4/conf/all/rp_filter", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	old, err := readAll(a.rpAll)
	if err != nil {
		return fmt.Errorf("tunnel: net.ipv4.conf.all.rp_filter: %w", err)
	}
	if old == "1" {
		if _, err := a.rpAll.WriteAt([]byte("2"), 0); err != nil {
			return fmt.Errorf("tunnel: net.ipv4.conf.all.rp_filter: %w", err)
		}
		a.rpOld = old
		a.cfg.Logf("net.ipv4.conf.all.rp_filter 1 -> 2 (strict filtering drops decapsulated packets); restored on exit")
	}
	// The VIPs go on the device as /32s, also when they are on lo
	// already: the kernel's reverse-path check drops, even in loose mode,
	// every packet that arrives on a device without an address
	// (net/ipv4/fib_frontend.c, __fib_validate_source: no_addr).
	for _, v := range a.vips {
		if err := a.nl.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: v.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
			return fmt.Errorf("tunnel: VIP %v on %s: %w", v, a.dev, err)
		}
	}
	if err := a.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("tunnel: %s up: %w", a.dev, err)
	}
	return nil
}

// defaultMTU is the largest MTU of the other up interfaces less 20.
func (a *Agent) defaultMTU() int {
	best := 0
	links, _ := a.nl.LinkList()
	for _, l := range links {
		at := l.Attrs()
		if at.Name != a.dev && at.Flags&net.FlagLoopback == 0 && at.Flags&net.FlagUp != 0 {
			best = max(best, at.MTU)
		}
	}
	if best <= 20 {
		return 1480
	}
	return min(best-20, 65515)
}

func writeSysctl(key, value string) error {
	path := "/proc/sys/" + key
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func readAll(f *os.File) (string, error) {
	b := make([]byte, 16)
	n, err := f.ReadAt(b, 0)
	if n == 0 && err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// refreshLocal reads the host's IPv4 addresses.
func (a *Agent) refreshLocal() error {
	addrs, err := a.nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("tunnel: listing addresses: %w", err)
	}
	var local []netip.Addr
	for _, ad := range addrs {
		if ip, ok := netip.AddrFromSlice(ad.IP.To4()); ok {
			local = append(local, ip)
		}
	}
	a.localMu.Lock()
	a.local, a.refreshed = local, time.Now()
	a.localMu.Unlock()
	return nil
}

// isLocal says whether ip is an address of this host; on a miss it reads
// the addresses again, at most once a second.
func (a *Agent) isLocal(ip netip.Addr) bool {
	a.localMu.Lock()
	found := slices.Contains(a.local, ip)
	stale := time.Since(a.refreshed) > time.Second
	a.localMu.Unlock()
	if found || !stale || a.refreshLocal() != nil {
		return found
	}
	a.localMu.Lock()
	defer a.localMu.Unlock()
	return slices.Contains(a.local, ip)
}

func (a *Agent) isVIP(ip netip.Addr) bool { return slices.Contains(a.vips, ip) }

// Dev is the TUN device's name.
func (a *Agent) Dev() string { return a.dev }

// Run decapsulates until Close, then returns nil; it returns early only on
// a receive error.
func (a *Agent) Run() error {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	if a.closed.Load() {
		return nil
	}
	buf := make([]byte, 1<<16)
	for {
		n, err := a.raw.Read(buf)
		if err != nil {
			if a.closed.Load() || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("tunnel: receiving: %w", err)
		}
		inner, r := Decap(buf[:n], a.isLocal, a.isVIP)
		if r == Decapsulated {
			if _, err := unix.Write(a.tun, inner); err != nil {
				r = WriteError
			}
		}
		a.counts[r].Add(1)
	}
}

// Count returns the number of packets that met reason r.
func (a *Agent) Count(r Reason) uint64 {
	if r < 0 || r >= numReasons {
		return 0
	}
	return a.counts[r].Load()
}

// Counts returns every counter by name (Reason.String), in Reasons order.
func (a *Agent) Counts() []Counter {
	out := make([]Counter, numReasons)
	for i := range out {
		out[i] = Counter{Name: Reason(i).String(), Value: a.counts[i].Load()}
	}
	return out
}

// Close stops Run, removes the TUN device (and the VIPs on it), and
// restores net.ipv4.conf.all.rp_filter. It may be called from any thread:
// nothing it undoes depends on the caller's namespace.
func (a *Agent) Close() error {
	var err error
	a.once.Do(func() {
		a.closed.Store(true)
		if a.raw != nil {
			a.raw.Close() // wakes Run
		}
		a.runMu.Lock() // Run has returned, or will return at once
		defer a.runMu.Unlock()
		err = a.teardown()
	})
	return err
}

func (a *Agent) teardown() error {
	var errs []error
	if a.raw != nil && !a.closed.Load() {
		a.raw.Close()
	}
	if a.tun >= 0 {
		errs = append(errs, unix.Close(a.tun)) // the device goes with it
		a.tun = -1
	}
	if a.rpAll != nil {
		if a.rpOld != "" {
			if _, err := a.rpAll.WriteAt([]byte(a.rpOld), 0); err != nil {
				errs = append(errs, fmt.Errorf("restoring net.ipv4.conf.all.rp_filter: %w", err))
			}
		}
		a.rpAll.Close()
		a.rpAll = nil
	}
	if a.nl != nil {
		a.nl.Close()
		a.nl = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tunnel: %w", err)
	}
	return nil
}
