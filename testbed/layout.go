package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// IFNameSize is the kernel's IFNAMSIZ less the terminating NUL: the longest
// link name.
const IFNameSize = 15

// Role is what a namespace is in a testbed.
type Role string

// The roles.
const (
	RoleSwitch   Role = "switch"   // holds the bridges; no addresses
	RoleDirector Role = "director" // the L4 director or L7 switch
	RoleServer   Role = "server"   // a real server
	RoleClient   Role = "client"   // a load generator
)

// Layout is a resolved topology's concrete plan: namespace and link names,
// addresses and routes. It is a pure function of the resolved topology.
type Layout struct {
	Prefix  string
	Mode    Mode
	VIP     netip.Addr
	Switch  string   // the switch namespace's name
	Bridges []string // bridge names in the switch namespace, one per segment
	Nodes   []Node   // director, servers, clients (in that order)
	nets    []netip.Prefix
}

// Node is one namespace holding a director, real server or client.
type Node struct {
	Name   string // short name: "dir", "rs1", "cl1"
	NS     string // namespace name: prefix + "-" + Name
	Role   Role
	Index  int // 1-based for servers and clients, 0 for the director
	Ifaces []Iface
	// Gateway is the node's default route (NAT real servers: the
	// director's server-side address); invalid if none.
	Gateway netip.Addr
	// VIPOnLo: the VIP is on lo as a /32 (DR and TUN real servers).
	VIPOnLo bool
}

// Iface is a node's end of a veth pair whose other end is a bridge port in
// the switch namespace.
type Iface struct {
	Name    string       // inside the node: eth0, eth1
	Port    string       // the bridge port in the switch namespace
	Bridge  string       // the bridge the port belongs to
	Segment int          // 1 (client segment) or 2 (server segment)
	Addr    netip.Prefix // address with the segment's prefix length
}

// NewPrefix returns a fresh random prefix: "lt" and 6 hex digits.
func NewPrefix() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("testbed: crypto/rand: " + err.Error()) // never fails on Linux
	}
	return "lt" + hex.EncodeToString(b[:])
}

// nsSuffixRE matches the part of a namespace name after the prefix.
var nsSuffixRE = regexp.MustCompile(`^(sw|dir|rs[1-9][0-9]*|cl[1-9][0-9]*)$`)

// SplitNS splits a namespace name made by a testbed into its prefix and
// node name; ok is false for any other name.
func SplitNS(ns string) (prefix, node string, ok bool) {
	prefix, node, found := strings.Cut(ns, "-")
	if !found || ValidPrefix(prefix) != nil || !nsSuffixRE.MatchString(node) {
		return "", "", false
	}
	return prefix, node, true
}

// linkSuffixRE matches the part of a switch link name after the prefix.
var linkSuffixRE = regexp.MustCompile(`^(br[01]|dir[01]|rs[1-9][0-9]*|cl[1-9][0-9]*)$`)

// SplitLink splits a link name a testbed gives its bridges and bridge
// ports into its prefix and the rest; ok is false for any other name.
func SplitLink(name string) (prefix, rest string, ok bool) {
	prefix, rest, found := strings.Cut(name, "-")
	if !found || ValidPrefix(prefix) != nil || !linkSuffixRE.MatchString(rest) {
		return "", "", false
	}
	return prefix, rest, true
}

// Layout returns the plan of a resolved topology. Without a prefix, names
// carry the placeholder "ltxxxxxx" (Up draws a real one). It panics if t is
// not resolved: call Resolve first.
func (t Topology) Layout() Layout {
	if t.VIPOnDirector == nil {
		panic("testbed: Layout of an unresolved topology")
	}
	return t.layout()
}

func (t Topology) layout() Layout {
	p := t.Prefix
	if p == "" {
		p = "ltxxxxxx" // Resolve checks names with the longest prefix
	}
	l := Layout{Prefix: p, Mode: t.Mode, Switch: p + "-sw"}
	l.VIP, _ = netip.ParseAddr(t.VIP)
	cnet, _ := netip.ParsePrefix(t.ClientNet)
	l.nets = []netip.Prefix{cnet}
	if t.Segments == 2 {
		snet, _ := netip.ParsePrefix(t.ServerNet)
		l.nets = append(l.nets, snet)
	}
	for i := range l.nets {
		l.Bridges = append(l.Bridges, fmt.Sprintf("%s-br%d", p, i))
	}
	iface := func(node string, i, segment int, host uint32) Iface {
		n := l.segmentNet(segment)
		return Iface{
			Name:    fmt.Sprintf("eth%d", i),
			Port:    p + "-" + node + suffix(i, node),
			Bridge:  l.Bridges[segment-1],
			Segment: segment,
			Addr:    netip.PrefixFrom(hostAddr(n, host), n.Bits()),
		}
	}
	dir := Node{Name: "dir", NS: p + "-dir", Role: RoleDirector}
	for seg := 1; seg <= len(l.nets); seg++ {
		dir.Ifaces = append(dir.Ifaces, iface("dir", seg-1, seg, 1))
	}
	l.Nodes = append(l.Nodes, dir)
	srvSeg := len(l.nets)
	for i := 1; i <= t.Servers; i++ {
		name := "rs" + itoa(i)
		n := Node{Name: name, NS: p + "-" + name, Role: RoleServer, Index: i,
			Ifaces: []Iface{iface(name, 0, srvSeg, serverHost+uint32(i))}}
		switch t.Mode {
		case NAT:
			n.Gateway = dir.Ifaces[srvSeg-1].Addr.Addr()
		case DR, TUN:
			n.VIPOnLo = true
		}
		l.Nodes = append(l.Nodes, n)
	}
	for i := 1; i <= t.Clients; i++ {
		name := "cl" + itoa(i)
		l.Nodes = append(l.Nodes, Node{Name: name, NS: p + "-" + name, Role: RoleClient, Index: i,
			Ifaces: []Iface{iface(name, 0, 1, clientHost+uint32(i))}})
	}
	return l
}

// suffix tells a node's ports apart when it has several (the director).
func suffix(i int, node string) string {
	if node == "dir" {
		return itoa(i)
	}
	return ""
}

func (l Layout) segmentNet(segment int) netip.Prefix { return l.nets[segment-1] }

// Namespaces lists every namespace of the layout, the switch first.
func (l Layout) Namespaces() []string {
	ns := []string{l.Switch}
	for _, n := range l.Nodes {
		ns = append(ns, n.NS)
	}
	return ns
}

// Node returns the node with the short name ("dir", "rs1") or namespace
// name ("lt1a2b3c-rs1").
func (l Layout) Node(name string) (Node, bool) {
	for _, n := range l.Nodes {
		if n.Name == name || n.NS == name {
			return n, true
		}
	}
	return Node{}, false
}

// Director returns the director node.
func (l Layout) Director() Node { return l.Nodes[0] }

// Servers returns the real-server nodes.
func (l Layout) Servers() []Node { return l.byRole(RoleServer) }

// Clients returns the client nodes.
func (l Layout) Clients() []Node { return l.byRole(RoleClient) }

func (l Layout) byRole(r Role) []Node {
	var out []Node
	for _, n := range l.Nodes {
		if n.Role == r {
			out = append(out, n)
		}
	}
	return out
}

// LinkNames lists every link name the layout creates in the switch
// namespace (bridges and ports); Resolve checks they fit IFNameSize.
func (l Layout) LinkNames() []string {
	names := append([]string(nil), l.Bridges...)
	for _, n := range l.Nodes {
		for _, ifc := range n.Ifaces {
			names = append(names, ifc.Port)
		}
	}
	return names
}
