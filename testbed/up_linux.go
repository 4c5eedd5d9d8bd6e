package testbed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/l4/xdp"
)

// Up creates the testbed of topology topo, recording its state in runDir
// (created if needed; it must not hold a testbed already). Every object is
// recorded before it is made, so Down(runDir) undoes a crashed Up. If Up
// fails, or ctx is cancelled, it removes what it made and returns the
// error. Up needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
func Up(ctx context.Context, topo Topology, runDir string) (*Testbed, error) {
	t, err := topo.Resolve()
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	if runDir == "" {
		return nil, errors.New("testbed: no run directory")
	}
	existing, err := listNS()
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	inUse := func(p string) bool {
		return slices.ContainsFunc(existing, func(ns string) bool { return strings.HasPrefix(ns, p+"-") })
	}
	if t.Prefix == "" {
		for t.Prefix = NewPrefix(); inUse(t.Prefix); t.Prefix = NewPrefix() {
		}
	} else if inUse(t.Prefix) {
		return nil, fmt.Errorf("testbed: prefix %s is in use (namespaces %s-* exist; lvslab testbed down --prefix %s)", t.Prefix, t.Prefix, t.Prefix)
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	if old, err := LoadState(runDir); err == nil {
		return nil, fmt.Errorf("testbed: %s holds testbed %s: take it down first", runDir, old.Prefix)
	} else if !errors.Is(err, ErrNoState) {
		return nil, err
	}
	tb := &Testbed{RunDir: runDir, Topology: t, Layout: t.Layout(),
		state: &State{Format: stateFormat, Prefix: t.Prefix, Created: time.Now().UTC().Truncate(time.Second), Topology: t}}
	if err := tb.state.save(runDir); err != nil {
		return nil, err
	}
	if err := tb.build(ctx); err != nil {
		if _, derr := Down(runDir); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("rolling back: %w", derr))
		}
		return nil, err
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.state.Ready = true
	if err := tb.state.save(runDir); err != nil {
		return nil, err
	}
	return tb, nil
}

// Open attaches to the testbed recorded in runDir, for Start, Do and Down.
func Open(runDir string) (*Testbed, error) {
	st, err := LoadState(runDir)
	if err != nil {
		return nil, err
	}
	t, err := st.Topology.Resolve()
	if err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", runDir, err)
	}
	t.Prefix = st.Prefix
	return &Testbed{RunDir: runDir, Topology: t, Layout: t.Layout(), state: st}, nil
}

// build makes the namespaces, bridges, veth pairs, addresses, routes,
// neighbours, sysctls and offload settings, checking ctx between steps.
func (tb *Testbed) build(ctx context.Context) error {
	l := tb.Layout
	t := tb.Topology
	for _, ns := range l.Namespaces() {
		if err := ctx.Err(); err != nil {
			return err
		}
		tb.mu.Lock()
		tb.state.Namespaces = append(tb.state.Namespaces, ns)
		err := tb.state.save(tb.RunDir)
		tb.mu.Unlock()
		if err != nil {
			return err
		}
		if err := createNS(ns); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sw, err := handleAt(l.Switch)
	if err != nil {
		return err
	}
	defer sw.Close()
	if err := linkUp(sw, "lo"); err != nil {
		return fmt.Errorf("testbed: %s: %w", l.Switch, err)
	}
	bridges := map[string]netlink.Link{}
	for _, name := range l.Bridges {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: t.MTU}}
		if err := sw.LinkAdd(br); err != nil {
			return fmt.Errorf("testbed: %s: adding bridge %s: %w", l.Switch, name, err)
		}
		link, err := sw.LinkByName(name)
		if err != nil {
			return fmt.Errorf("testbed: %s: %w", l.Switch, err)
		}
		if err := sw.LinkSetUp(link); err != nil {
			return fmt.Errorf("testbed: %s: %s up: %w", l.Switch, name, err)
		}
		bridges[name] = link
	}
	for _, n := range l.Nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tb.buildNode(sw, bridges, n); err != nil {
			return fmt.Errorf("testbed: %s: %w", n.NS, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !*t.VIPOnDirector {
		if err := tb.vipNeighbours(); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	// Sysctls and offloads last: "*" covers every link by now.
	if err := tb.configure(l.Switch, RoleSwitch, l.LinkNames()); err != nil {
		return fmt.Errorf("testbed: %s: %w", l.Switch, err)
	}
	for _, n := range l.Nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		var links []string
		for _, ifc := range n.Ifaces {
			links = append(links, ifc.Name)
		}
		if err := tb.configure(n.NS, n.Role, links); err != nil {
			return fmt.Errorf("testbed: %s: %w", n.NS, err)
		}
	}
	return ctx.Err()
}

func linkUp(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// buildNode links a node to its bridges and gives it addresses and routes.
func (tb *Testbed) buildNode(sw *netlink.Handle, bridges map[string]netlink.Link, n Node) error {
	nsh, err := netns.GetFromPath(filepath.Join(NetnsDir, n.NS))
	if err != nil {
		return err
	}
	defer nsh.Close()
	for _, ifc := range n.Ifaces {
		veth := &netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: ifc.Port, MTU: tb.Topology.MTU,
				MasterIndex: bridges[ifc.Bridge].Attrs().Index},
			PeerName:      ifc.Name,
			PeerMTU:       uint32(tb.Topology.MTU),
			PeerNamespace: netlink.NsFd(nsh),
		}
		if err := sw.LinkAdd(veth); err != nil {
			return fmt.Errorf("adding veth %s (switch) - %s: %w", ifc.Port, ifc.Name, err)
		}
		if err := linkUp(sw, ifc.Port); err != nil {
			return err
		}
		if n.Role == RoleDirector && tb.Topology.XDPPeer {
			port, err := sw.LinkByName(ifc.Port)
			if err != nil {
				return err
			}
			err = inNS(tb.Layout.Switch, func() error {
				return xdp.WithPassProgram(func(fd int) error { return netlink.LinkSetXdpFdWithFlags(port, fd, unix.XDP_FLAGS_DRV_MODE) })
			})
			if err != nil {
				return fmt.Errorf("XDP program on %s: %w", ifc.Port, err)
			}
		}
	}
	h, err := handleAt(n.NS)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := linkUp(h, "lo"); err != nil {
		return err
	}
	for _, ifc := range n.Ifaces {
		link, err := h.LinkByName(ifc.Name)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(ifc.Addr)}); err != nil {
			return fmt.Errorf("address %s on %s: %w", ifc.Addr, ifc.Name, err)
		}
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("%s up: %w", ifc.Name, err)
		}
	}
	vip := netip.PrefixFrom(tb.Layout.VIP, 32)
	switch {
	case n.VIPOnLo:
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := h.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(vip)}); err != nil {
			return fmt.Errorf("VIP %s on lo: %w", vip, err)
		}
	case n.Role == RoleDirector && *tb.Topology.VIPOnDirector:
		link, err := h.LinkByName(n.Ifaces[0].Name)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(vip)}); err != nil {
			return fmt.Errorf("VIP %s on %s: %w", vip, n.Ifaces[0].Name, err)
		}
	}
	if n.Gateway.IsValid() {
		link, err := h.LinkByName(n.Ifaces[0].Name)
		if err != nil {
			return err
		}
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: n.Gateway.AsSlice(),
			Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("default route via %s: %w", n.Gateway, err)
		}
	}
	return nil
}

// vipNeighbours gives every client a permanent neighbour entry VIP ->
// the director's client-side MAC.
func (tb *Testbed) vipNeighbours() error {
	dir := tb.Layout.Director()
	h, err := handleAt(dir.NS)
	if err != nil {
		return err
	}
	link, err := h.LinkByName(dir.Ifaces[0].Name)
	h.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", dir.NS, err)
	}
	mac := link.Attrs().HardwareAddr
	for _, c := range tb.Layout.Clients() {
		if err := func() error {
			h, err := handleAt(c.NS)
			if err != nil {
				return err
			}
			defer h.Close()
			link, err := h.LinkByName(c.Ifaces[0].Name)
			if err != nil {
				return err
			}
			return h.NeighSet(&netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_INET,
				State: netlink.NUD_PERMANENT, IP: tb.Layout.VIP.AsSlice(), HardwareAddr: mac})
		}(); err != nil {
			return fmt.Errorf("%s: neighbour %s: %w", c.NS, tb.Layout.VIP, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

// sysctl is one sysctl to write; optional ones are skipped when the kernel
// lacks them.
type sysctl struct {
	key, value string
	optional   bool
}

// Sysctls returns the sysctls the tool writes in a namespace of role r, in
// order (the topology's own last, so they win), with "*" not yet expanded.
func (t Topology) sysctls(r Role) []sysctl {
	s := []sysctl{
		{"net.ipv6.conf.*.disable_ipv6", "1", true}, // no neighbour discovery noise on the segments
		{"net.ipv4.conf.*.accept_redirects", "0", false},
		{"net.ipv4.conf.*.send_redirects", "0", false},
	}
	switch r {
	case RoleSwitch:
		// br_netfilter, where loaded, would pass bridged frames through iptables.
		for _, k := range []string{"iptables", "ip6tables", "arptables"} {
			s = append(s, sysctl{"net.bridge.bridge-nf-call-" + k, "0", true})
		}
	case RoleDirector:
		// A proxy or a user-space forwarder: the kernel must not route too.
		s = append(s, sysctl{"net.ipv4.ip_forward", "0", false}, sysctl{"net.ipv4.conf.*.rp_filter", "0", false})
	case RoleServer:
		if t.Mode == DR || t.Mode == TUN {
			s = append(s, sysctl{"net.ipv4.conf.*.arp_ignore", "1", false}, sysctl{"net.ipv4.conf.*.arp_announce", "2", false})
		}
		if t.Mode == TUN {
			s = append(s, sysctl{"net.ipv4.conf.*.rp_filter", "0", false})
		}
	}
	roleKey := map[Role]string{RoleSwitch: "switch", RoleDirector: "director", RoleServer: "servers", RoleClient: "clients"}[r]
	for _, role := range []string{"all", roleKey} {
		for _, k := range sortedKeys(t.Sysctls[role]) {
			s = append(s, sysctl{k, t.Sysctls[role][k], false})
		}
	}
	return s
}

// configure writes a namespace's sysctls and sets its links' offloads.
func (tb *Testbed) configure(ns string, r Role, links []string) error {
	return inNS(ns, func() error {
		for _, s := range tb.Topology.sysctls(r) {
			keys := []string{s.key}
			if strings.Contains(s.key, "*") {
				keys = nil
				for _, dev := range append([]string{"all", "default", "lo"}, links...) {
					keys = append(keys, strings.ReplaceAll(s.key, "*", dev))
				}
			}
			for _, k := range keys {
				err := writeSysctl(k, s.value)
				if s.optional && errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
			}
		}
		return withEthtool(func(fd int) error {
			for _, dev := range links {
				if err := setOffloads(fd, dev, tb.Topology.Offloads); err != nil {
					return err
				}
			}
			return nil
		})
	})
}
