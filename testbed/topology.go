package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mode is the forwarding method a topology is laid out for.
type Mode string

// The modes. Each fixes where the virtual IP lives, which routes the real
// servers get and which sysctls the tool writes (see Topology).
const (
	// L7: the director is a layer-7 proxy that owns the VIP; clients and
	// real servers sit on separate segments (or share one).
	L7 Mode = "l7"
	// NAT: real servers' default route points to the director; clients are
	// on another segment, so replies must pass the director.
	NAT Mode = "nat"
	// DR: one shared segment; real servers hold the VIP on lo as a /32 and
	// do not answer ARP for it (arp_ignore=1, arp_announce=2).
	DR Mode = "dr"
	// TUN: for now DR's layout plus rp_filter=0 on the real servers, so that
	// decapsulated packets (a TUN device added later) are accepted.
	TUN Mode = "tun"
)

// Modes lists the modes in documentation order.
var Modes = []Mode{L7, NAT, DR, TUN}

// Limits of a topology.
const (
	MaxClients = 64
	MaxServers = 64
	MinMTU     = 1280
	MaxMTU     = 65535
)

// Defaults of a topology. Every address is in 198.18.0.0/15, the range RFC
// 2544 reserves for benchmarking.
var (
	DefaultClientNet = netip.MustParsePrefix("198.18.0.0/24")
	DefaultServerNet = netip.MustParsePrefix("198.18.1.0/24")
	benchmarkNet     = netip.MustParsePrefix("198.18.0.0/15")
)

const (
	defaultClients = 1
	defaultServers = 2
	defaultMTU     = 1500
	// Host numbers inside a segment: the director is host 1, real server i
	// is host serverHost+i, client i is host clientHost+i, and the VIP is
	// host vipHost of the client segment unless set.
	serverHost = 10
	clientHost = 100
	vipHost    = 254
)

// Topology describes a testbed: clients, one director and real servers, each
// in its own network namespace, joined by one or two bridged segments. It is
// read from YAML (ParseTopology) or derived from a cluster size (Derive). The
// zero value of every field selects its default; Resolve fills them in.
//
// Segment 1 ("client segment", ClientNet) joins the clients and the
// director's eth0; segment 2 ("server segment", ServerNet) joins the
// director's eth1 and the real servers. With one segment, everyone is on
// ClientNet. The director is host .1 of each segment, real server i is host
// 10+i, client i is host 100+i, and the VIP defaults to host .254 of
// ClientNet.
type Topology struct {
	// Name is a free label shown by status.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Prefix starts every namespace name of the testbed ("<prefix>-dir",
	// "-rs1", "-cl1", "-sw") and every link name outside the nodes: "lt"
	// followed by up to 6 lowercase letters or digits. Empty: "lt" and 6
	// random hex digits, so that several testbeds coexist.
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Mode is l7, nat, dr or tun. Required.
	Mode Mode `yaml:"mode" json:"mode"`
	// Clients is the number of client namespaces (default 1, at most 64).
	Clients int `yaml:"clients,omitempty" json:"clients,omitempty"`
	// Servers is the number of real servers (default 2, at most 64).
	Servers int `yaml:"servers,omitempty" json:"servers,omitempty"`
	// Segments is 1 (one bridge for everyone) or 2 (clients and real servers
	// apart, the director on both). Default: 2 for l7 and nat, 1 for dr and
	// tun; nat needs 2, dr and tun need 1.
	Segments int `yaml:"segments,omitempty" json:"segments,omitempty"`
	// ClientNet is the client segment's IPv4 network, /16 to /24, inside
	// 198.18.0.0/15 (default 198.18.0.0/24).
	ClientNet string `yaml:"client_net,omitempty" json:"client_net,omitempty"`
	// ServerNet is the server segment's network (default 198.18.1.0/24);
	// unused with one segment.
	ServerNet string `yaml:"server_net,omitempty" json:"server_net,omitempty"`
	// VIP is the virtual service address, inside ClientNet (default its
	// host .254).
	VIP string `yaml:"vip,omitempty" json:"vip,omitempty"`
	// VIPOnDirector puts the VIP on the director's eth0, so its kernel owns
	// it and answers ARP for it. Default: true for l7 (the proxy listens on
	// it; false is refused), false otherwise: a user-space director must
	// not have its kernel also answer (or reset) the VIP's connections, so
	// each client gets a permanent neighbour entry VIP -> director's MAC
	// instead, which sends the VIP's frames to the director.
	VIPOnDirector *bool `yaml:"vip_on_director,omitempty" json:"vip_on_director,omitempty"`
	// MTU of every link (default 1500, 1280 to 65535).
	MTU int `yaml:"mtu,omitempty" json:"mtu,omitempty"`
	// Offloads turns offloads back on; all are off by default on every veth
	// end and bridge (see Offloads).
	Offloads Offloads `yaml:"offloads,omitempty" json:"offloads,omitzero"`
	// XDPPeer attaches an XDP program that passes every frame to the
	// switch end of each of the director's links: on veth, the director's
	// XDP fast path (lvslab director --xdp) transmits only to a peer that
	// has one.
	XDPPeer bool `yaml:"xdp_peer,omitempty" json:"xdp_peer,omitempty"`
	// Sysctls adds or overrides sysctls per role: keys "all", "director",
	// "servers", "clients", "switch"; each maps a dotted sysctl name under
	// net. to its value. A "*" in a name stands for all, default, lo and
	// each of the node's interfaces (net.ipv4.conf.*.rp_filter).
	Sysctls map[string]map[string]string `yaml:"sysctls,omitempty" json:"sysctls,omitempty"`
}

// Offloads are the offload settings of every link; false (the default) is
// off, like `ethtool -K DEV tx off tso off gso off gro off`. Off is what a
// packet-socket dataplane needs: with transmit checksum offload a namespace's
// frames carry partial checksums, and with segmentation offloads frames
// exceed the MTU.
type Offloads struct {
	TX  bool `yaml:"tx,omitempty" json:"tx,omitempty"`
	TSO bool `yaml:"tso,omitempty" json:"tso,omitempty"`
	GSO bool `yaml:"gso,omitempty" json:"gso,omitempty"`
	GRO bool `yaml:"gro,omitempty" json:"gro,omitempty"`
}

// FieldError is a topology error about one key; ParseTopology adds its line.
type FieldError struct {
	Key string // dotted key: "vip", "offloads.tx", "sysctls.director"
	Err error
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(key, format string, args ...any) error {
	return &FieldError{Key: key, Err: fmt.Errorf(format, args...)}
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

var prefixRE = regexp.MustCompile(`^lt[a-z0-9]{0,6}$`)

// ValidPrefix reports whether p can prefix a testbed's names.
func ValidPrefix(p string) error {
	if !prefixRE.MatchString(p) {
		return fmt.Errorf("%q: want \"lt\" followed by up to 6 lowercase letters or digits", p)
	}
	return nil
}

// Roles that take sysctls.
var sysctlRoles = []string{"all", "switch", "director", "servers", "clients"}

var sysctlKeyRE = regexp.MustCompile(`^net(\.([a-z0-9_-]+|\*))+$`)

// Resolve returns t with every default filled in, or an error naming the
// first bad key.
func (t Topology) Resolve() (Topology, error) {
	if t.Prefix != "" {
		if err := ValidPrefix(t.Prefix); err != nil {
			return t, &FieldError{Key: "prefix", Err: err}
		}
	}
	switch t.Mode {
	case L7, NAT, DR, TUN:
	case "":
		return t, fieldErr("mode", "missing: want one of %s", modeList())
	default:
		return t, fieldErr("mode", "unknown mode %q: want one of %s", t.Mode, modeList())
	}
	if t.Clients == 0 {
		t.Clients = defaultClients
	}
	if t.Clients < 0 || t.Clients > MaxClients {
		return t, fieldErr("clients", "%d: want 1 to %d", t.Clients, MaxClients)
	}
	if t.Servers == 0 {
		t.Servers = defaultServers
	}
	if t.Servers < 0 || t.Servers > MaxServers {
		return t, fieldErr("servers", "%d: want 1 to %d", t.Servers, MaxServers)
	}
	if t.Segments == 0 {
		t.Segments = 1
		if t.Mode == L7 || t.Mode == NAT {
			t.Segments = 2
		}
	}
	switch {
	case t.Segments != 1 && t.Segments != 2:
		return t, fieldErr("segments", "%d: want 1 or 2", t.Segments)
	case t.Mode == NAT && t.Segments != 2:
		return t, fieldErr("segments", "nat needs 2 segments (replies must pass the director)")
	case (t.Mode == DR || t.Mode == TUN) && t.Segments != 1:
		return t, fieldErr("segments", "%s needs 1 segment (the director and real servers share the clients' link)", t.Mode)
	}
	cnet, err := segmentNet("client_net", t.ClientNet, DefaultClientNet)
	if err != nil {
		return t, err
	}
	t.ClientNet = cnet.String()
	if t.Segments == 2 {
		snet, err := segmentNet("server_net", t.ServerNet, DefaultServerNet)
		if err != nil {
			return t, err
		}
		if snet.Overlaps(cnet) {
			return t, fieldErr("server_net", "%s overlaps client_net %s", snet, cnet)
		}
		t.ServerNet = snet.String()
	} else if t.ServerNet != "" {
		return t, fieldErr("server_net", "set, but the topology has one segment")
	}
	vip := hostAddr(cnet, vipHost)
	if t.VIP != "" {
		if vip, err = netip.ParseAddr(t.VIP); err != nil || !vip.Is4() {
			return t, fieldErr("vip", "%q: want an IPv4 address", t.VIP)
		}
		if !cnet.Contains(vip) || vip == cnet.Addr() || vip == lastAddr(cnet) {
			return t, fieldErr("vip", "%s is not a host address of client_net %s", vip, cnet)
		}
	}
	t.VIP = vip.String()
	onDir := t.Mode == L7
	if t.VIPOnDirector != nil {
		if t.Mode == L7 && !*t.VIPOnDirector {
			return t, fieldErr("vip_on_director", "l7 needs the VIP on the director (its proxy listens there)")
		}
		onDir = *t.VIPOnDirector
	}
	t.VIPOnDirector = &onDir
	if t.MTU == 0 {
		t.MTU = defaultMTU
	}
	if t.MTU < MinMTU || t.MTU > MaxMTU {
		return t, fieldErr("mtu", "%d: want %d to %d", t.MTU, MinMTU, MaxMTU)
	}
	for _, role := range sortedKeys(t.Sysctls) {
		if !slices.Contains(sysctlRoles, role) {
			return t, fieldErr("sysctls."+role, "unknown role: want one of %s", strings.Join(sysctlRoles, ", "))
		}
		for _, k := range sortedKeys(t.Sysctls[role]) {
			if !sysctlKeyRE.MatchString(k) {
				return t, fieldErr("sysctls."+role+"."+k, "not a sysctl name under net. (dotted, letters, digits, _ and -)")
			}
			if v := t.Sysctls[role][k]; v == "" || strings.ContainsAny(v, "\n\x00") {
				return t, fieldErr("sysctls."+role+"."+k, "value %q: want one line", v)
			}
		}
	}
	// The address plan must fit: every host number inside its network.
	l := t.layout()
	seen := map[netip.Addr]string{vip: "vip"}
	for _, n := range l.Nodes {
		for _, ifc := range n.Ifaces {
			a, segNet := ifc.Addr.Addr(), l.segmentNet(ifc.Segment)
			if ifc.Addr.Masked() != segNet || a == lastAddr(segNet) {
				return t, fieldErr(netKey(ifc.Segment), "%s is too small for %d hosts", segNet, t.Clients+t.Servers)
			}
			if other, dup := seen[a]; dup {
				return t, fieldErr("vip", "%s is both %s and %s's address", a, other, n.Name)
			}
			seen[a] = n.Name
		}
	}
	for _, name := range l.LinkNames() {
		if len(name) > IFNameSize {
			return t, fieldErr("prefix", "link name %q is longer than %d bytes", name, IFNameSize)
		}
	}
	return t, nil
}

func netKey(segment int) string {
	if segment == 2 {
		return "server_net"
	}
	return "client_net"
}

func modeList() string {
	s := make([]string, len(Modes))
	for i, m := range Modes {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

func segmentNet(key, s string, def netip.Prefix) (netip.Prefix, error) {
	if s == "" {
		return def, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return p, fieldErr(key, "%q: want an IPv4 network such as %s", s, def)
	}
	if p.Bits() < 16 || p.Bits() > 24 {
		return p, fieldErr(key, "%s: want a /16 to /24 network", p)
	}
	if p != p.Masked() {
		return p, fieldErr(key, "%s has host bits set: did you mean %s?", p, p.Masked())
	}
	if !benchmarkNet.Contains(p.Addr()) {
		return p, fieldErr(key, "%s is outside %s (testbeds use the benchmarking range only)", p, benchmarkNet)
	}
	return p, nil
}

// hostAddr is host number h of network p.
func hostAddr(p netip.Prefix, h uint32) netip.Addr {
	b := p.Masked().Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += h
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// lastAddr is p's broadcast address.
func lastAddr(p netip.Prefix) netip.Addr {
	return hostAddr(p, 1<<(32-p.Bits())-1)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Derive builds the topology for a cluster of servers real servers behind a
// director in mode m, with one client and every other default: what a live
// run of an experiment file uses.
func Derive(m Mode, servers int) (Topology, error) {
	if servers < 1 {
		return Topology{}, fmt.Errorf("testbed: %d real servers: want at least 1", servers)
	}
	return Topology{Mode: m, Servers: servers}.Resolve()
}

// ReadTopologyFile reads the topology file at path (see ParseTopology);
// errors name the file.
func ReadTopologyFile(path string) (Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Topology{}, err
	}
	t, err := ParseTopology(data)
	if err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTopology reads a topology from YAML. Unknown keys, wrong types and
// invalid values are errors naming the key and its line. The result is
// resolved (defaults filled in).
func ParseTopology(data []byte) (Topology, error) {
	var t Topology
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return t, fmt.Errorf("topology: %w", err)
	}
	if len(root.Content) == 0 {
		return t, errors.New("topology: empty file: want a mapping with at least mode")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownFieldRE.ReplaceAllString(m, `unknown key "$1"`)
			}
			return t, fmt.Errorf("topology: %s", strings.Join(msgs, "; "))
		}
		return t, fmt.Errorf("topology: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return t, errors.New("topology: more than one YAML document")
	}
	r, err := t.Resolve()
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			if line := keyLine(root.Content[0], fe.Key); line > 0 {
				return t, fmt.Errorf("topology: line %d: %w", line, err)
			}
		}
		return t, fmt.Errorf("topology: %w", err)
	}
	return r, nil
}

// keyLine is the line of the dotted key in the mapping n, or of its closest
// present parent, or 0. Sysctl names contain dots themselves, so a key is
// matched greedily.
func keyLine(n *yaml.Node, key string) int {
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if k == key {
			return n.Content[i].Line
		}
		if rest, ok := strings.CutPrefix(key, k+"."); ok {
			if l := keyLine(n.Content[i+1], rest); l > 0 {
				return l
			}
			return n.Content[i].Line
		}
	}
	return 0
}

// String renders the resolved topology as YAML.
func (t Topology) String() string {
	type plain Topology // without this method
	b, err := yaml.Marshal(plain(t))
	if err != nil {
		return fmt.Sprintf("%+v", plain(t))
	}
	return string(b)
}

// itoa is strconv.Itoa, short.
func itoa(i int) string { return strconv.Itoa(i) }
