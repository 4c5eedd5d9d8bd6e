package l4

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/link"
)

// Method is how a real server is reached: IPVS's forwarding methods
// (thesis ch.3).
type Method uint8

// Forwarding methods.
const (
	// NAT rewrites the destination of requests to the real server and the
	// source of its replies back to the virtual service (ipvsadm -m, Masq).
	NAT Method = iota + 1
	// TUN encapsulates requests in IPIP to the real server, which answers
	// the client directly (ipvsadm -i, Tunnel).
	TUN
	// DR rewrites only the destination MAC address: the real server is on
	// the director's segment and answers the client directly (ipvsadm -g,
	// Route).
	DR
)

var methodNames = [...]string{NAT: "nat", TUN: "tun", DR: "dr"}

// String returns "nat", "tun" or "dr".
func (m Method) String() string {
	if m >= NAT && m <= DR {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", uint8(m))
}

// Forward returns ipvsadm's name of the method: Masq, Tunnel or Route.
func (m Method) Forward() string {
	switch m {
	case NAT:
		return "Masq"
	case TUN:
		return "Tunnel"
	case DR:
		return "Route"
	}
	return m.String()
}

// ParseMethod reads "nat", "tun" or "dr" (any case; ipvsadm's masq,
// tunnel/ipip, route/gatewaying and gate too).
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(s) {
	case "nat", "masq", "masquerading":
		return NAT, nil
	case "tun", "tunnel", "ipip":
		return TUN, nil
	case "dr", "route", "gate", "gatewaying", "direct":
		return DR, nil
	}
	return 0, fmt.Errorf("l4: unknown forwarding method %q (want nat, tun or dr)", s)
}

// Protocol is a virtual service's transport protocol.
type Protocol uint8

// Protocols, numbered as in the IPv4 header.
const (
	TCP Protocol = 6
	UDP Protocol = 17
)

// String returns "TCP" or "UDP", as ipvsadm prints them.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	}
	return fmt.Sprintf("proto(%d)", uint8(p))
}

// ParseProtocol reads "tcp" or "udp" (any case).
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return 0, fmt.Errorf("l4: unknown protocol %q (want tcp or udp)", s)
}

// ServiceKey names a virtual service: protocol, VIP and port (ipvsadm -t
// or -u VIP:port).
type ServiceKey struct {
	Proto Protocol
	VIP   netip.AddrPort
}

func (k ServiceKey) String() string { return k.Proto.String() + " " + k.VIP.String() }

func (k ServiceKey) validate() error {
	if k.Proto != TCP && k.Proto != UDP {
		return fmt.Errorf("l4: service %v: protocol must be tcp or udp", k)
	}
	if !k.VIP.Addr().Is4() || k.VIP.Addr().IsUnspecified() {
		return fmt.Errorf("l4: service %v: the VIP must be an IPv4 unicast address", k)
	}
	if k.VIP.Port() == 0 {
		return fmt.Errorf("l4: service %v: the port must not be 0", k)
	}
	return nil
}

// DefaultPersistence is ipvsadm -p's default persistence timeout.
const DefaultPersistence = 300 * time.Second

// ServiceConfig configures a virtual service (ipvsadm -A/-E).
type ServiceConfig struct {
	Key ServiceKey

	// Scheduler picks a real server for every new connection. Required.
	// Locality schedulers keyed by address see the packet's destination
	// (ipvs-lblc, ipvs-lblcr, dh) and source (sh, mh) in the Request.
	Scheduler algorithms.Scheduler

	// Persistence, when positive, makes a client's connections go to the
	// same real server for this long after its last connection ended
	// (ipvsadm -p; persistence templates of ip_vs_core.c
	// ip_vs_sched_persist). 0 turns persistence off.
	Persistence time.Duration

	// PersistMask is the prefix length that groups clients for
	// persistence (ipvsadm -M): 24 makes a /24 share one real server.
	// 0 means 32 (one client address).
	PersistMask int
}

func (c *ServiceConfig) validate() error {
	if err := c.Key.validate(); err != nil {
		return err
	}
	if c.Scheduler == nil {
		return fmt.Errorf("l4: service %v: no scheduler", c.Key)
	}
	if c.Persistence < 0 {
		return fmt.Errorf("l4: service %v: negative persistence timeout %v", c.Key, c.Persistence)
	}
	if c.Persistence > 0 && c.Persistence < time.Second {
		return fmt.Errorf("l4: service %v: persistence timeout %v is below the 1 s timer resolution", c.Key, c.Persistence)
	}
	if c.PersistMask < 0 || c.PersistMask > 32 {
		return fmt.Errorf("l4: service %v: persistence netmask /%d is not between /1 and /32", c.Key, c.PersistMask)
	}
	return nil
}

// RealServer is a real server of a virtual service (ipvsadm -a/-e): the
// live host's server record and the way it is reached. For NAT the
// server's port may differ from the service's; DR and TUN deliver to the
// service's port (the real server listens on the VIP), so Addr's port
// must equal it or be 0.
type RealServer struct {
	dataplane.Server
	Method Method
}

func (r *RealServer) validate(k ServiceKey) error {
	if r.Method < NAT || r.Method > DR {
		return fmt.Errorf("l4: service %v: real server %v: unknown forwarding method", k, r.Addr)
	}
	if !r.Addr.Addr().Is4() || r.Addr.Addr().IsUnspecified() {
		return fmt.Errorf("l4: service %v: real server %v: the address must be IPv4 unicast", k, r.Addr)
	}
	if r.Method == NAT && r.Addr.Port() == 0 {
		return fmt.Errorf("l4: service %v: real server %v: NAT needs a port", k, r.Addr)
	}
	if r.Method != NAT && r.Addr.Port() != 0 && r.Addr.Port() != k.VIP.Port() {
		return fmt.Errorf("l4: service %v: real server %v: %v delivers to the service's port %d; port mapping needs nat",
			k, r.Addr, r.Method, k.VIP.Port())
	}
	if r.Weight < 0 || r.Weight > algorithms.MaxWeight {
		return fmt.Errorf("l4: service %v: real server %v: weight %d out of range", k, r.Addr, r.Weight)
	}
	return nil
}

// Hop is where frames to an IPv4 address go: the director's port (an
// index into Config.Ports) and the next hop's MAC address.
type Hop struct {
	Port int
	MAC  net.HardwareAddr
}

// Neighbors resolves the next hop toward an address. The live
// implementation reads the namespace's routes and neighbour table (and
// asks ARP for a missing entry); tests use a StaticNeighbors. The
// director asks when a real server is added, again every second, and
// when told a new entry is known (Director.Resolve), never per packet; a server without a next hop has its packets dropped
// (DropNoNeighbor).
type Neighbors interface {
	Neighbor(addr netip.Addr) (Hop, bool)
}

// StaticNeighbors is a fixed neighbour table.
type StaticNeighbors map[netip.Addr]Hop

// Neighbor returns the table's entry for addr.
func (s StaticNeighbors) Neighbor(addr netip.Addr) (Hop, bool) {
	h, ok := s[addr]
	return h, ok
}

// Port is one of the director's network interfaces.
type Port struct {
	// Link carries the port's frames. Its MAC is the source of every
	// frame the director sends on it; its MTU bounds them.
	Link link.Link
	// Addr is the director's own IPv4 address on the port: the source of
	// IPIP tunnels to real servers reached through it (required for TUN)
	// and the address ICMP errors about tunnelled packets come back to.
	Addr netip.Addr
	// FastPath, if not nil, forwards the port's established DR
	// connections in the kernel (package xdp); the director installs and
	// removes them.
	FastPath FastPath
}

// Timeouts are the connection table's idle timeouts per state. Zero
// fields take IPVS's defaults (ip_vs_proto_tcp.c tcp_timeouts,
// ip_vs_proto_udp.c udp_timeouts); every timeout is rounded up to the
// timer's 1 s resolution.
type Timeouts struct {
	Established time.Duration // 900 s
	SynSent     time.Duration // 120 s
	SynRecv     time.Duration // 60 s
	FinWait     time.Duration // 120 s
	TimeWait    time.Duration // 120 s
	Close       time.Duration // 10 s
	CloseWait   time.Duration // 60 s
	LastAck     time.Duration // 30 s
	Listen      time.Duration // 120 s
	SynAck      time.Duration // 120 s
	UDP         time.Duration // 300 s
}

// DefaultMaxConns is the default size of the connection table.
const DefaultMaxConns = 1 << 20

// Config configures a Director.
type Config struct {
	// Ports are the director's interfaces; frames arrive on and leave by
	// them. At least one.
	Ports []Port

	// Neighbors resolves real servers' next hops. Required.
	Neighbors Neighbors

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// MaxConns bounds the connection table (connections and persistence
	// templates): the memory budget. When it is full a new connection is
	// dropped and counted (DropTableFull); established ones are never
	// evicted. 0 means DefaultMaxConns.
	MaxConns int

	// Timeouts overrides IPVS's per-state timeouts.
	Timeouts Timeouts

	// Batch is the number of frames Run asks a link for at once. 0 means 64.
	Batch int

	// Seed keys the connection table's hash (against chosen-collision
	// floods). 0 draws a random seed.
	Seed uint64
}
