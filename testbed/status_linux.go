package testbed

import (
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Status reports the testbed recorded in runDir: its namespaces (present
// or not), their links, addresses, routes and permanent neighbours, and its
// processes (alive or not).
func Status(runDir string) (*Report, error) {
	st, err := LoadState(runDir)
	if err != nil {
		return nil, err
	}
	r := &Report{RunDir: runDir, Prefix: st.Prefix, Name: st.Topology.Name, Mode: st.Topology.Mode,
		VIP: st.Topology.VIP, Ready: st.Ready, Created: st.Created}
	if err := r.fill(st.Namespaces); err != nil {
		return r, err
	}
	for _, p := range st.Procs {
		v := victim{pid: p.PID, start: p.Start}
		r.Procs = append(r.Procs, ProcReport{PID: p.PID, NS: p.NS, Argv: p.Argv, Log: p.Log, Alive: p.PID > 0 && v.alive()})
	}
	return r, nil
}

// StatusPrefix reports a testbed found by its prefix alone (no run
// directory): its namespaces.
func StatusPrefix(prefix string) (*Report, error) {
	if err := ValidPrefix(prefix); err != nil {
		return nil, fmt.Errorf("testbed: prefix %w", err)
	}
	r := &Report{Prefix: prefix}
	return r, r.fill(nil)
}

func (r *Report) fill(known []string) error {
	names, err := listNS()
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	all := slices.Clone(known)
	for _, ns := range names {
		if p, _, ok := SplitNS(ns); ok && p == r.Prefix && !slices.Contains(all, ns) {
			all = append(all, ns)
		}
	}
	for _, ns := range all {
		nr := NSReport{Name: ns}
		if nsInode(ns) != 0 {
			nr.Exists = true
			if err := nr.read(); err != nil {
				return fmt.Errorf("testbed: %s: %w", ns, err)
			}
		}
		r.Namespaces = append(r.Namespaces, nr)
	}
	return nil
}

func (nr *NSReport) read() error {
	h, err := handleAt(nr.Name)
	if err != nil {
		return err
	}
	defer h.Close()
	links, err := retryDump(h.LinkList)
	if err != nil {
		return err
	}
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		lr := LinkReport{Name: a.Name, Kind: l.Type(), Up: a.Flags&unix.IFF_UP != 0, MTU: a.MTU,
			Master: byIndex[a.MasterIndex]}
		if len(a.HardwareAddr) > 0 && a.Name != "lo" {
			lr.MAC = a.HardwareAddr.String()
		}
		addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(l, unix.AF_INET) })
		if err != nil {
			return err
		}
		for _, ad := range addrs {
			lr.Addrs = append(lr.Addrs, ad.IPNet.String())
		}
		nr.Links = append(nr.Links, lr)
	}
	routes, err := retryDump(func() ([]netlink.Route, error) { return h.RouteList(nil, unix.AF_INET) })
	if err != nil {
		return err
	}
	for _, rt := range routes {
		dst := "default"
		if rt.Dst != nil && !(rt.Dst.IP.IsUnspecified() && rt.Dst.Mask != nil && isZeroMask(rt.Dst.Mask)) {
			dst = rt.Dst.String()
		}
		s := dst
		if rt.Gw != nil {
			s += " via " + rt.Gw.String()
		}
		nr.Routes = append(nr.Routes, s+" dev "+byIndex[rt.LinkIndex])
	}
	neighs, err := retryDump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_INET) })
	if err != nil {
		return err
	}
	for _, n := range neighs {
		if n.State&netlink.NUD_PERMANENT != 0 {
			nr.Neighbours = append(nr.Neighbours, fmt.Sprintf("%s lladdr %s dev %s permanent", n.IP, n.HardwareAddr, byIndex[n.LinkIndex]))
		}
	}
	return inNS(nr.Name, func() error {
		return withEthtool(func(fd int) error {
			for i := range nr.Links {
				if nr.Links[i].Name == "lo" {
					continue
				}
				o, err := getOffloads(fd, nr.Links[i].Name)
				if err != nil {
					return err
				}
				nr.Links[i].Offloads = &o
			}
			return nil
		})
	})
}

func isZeroMask(m []byte) bool {
	return !slices.ContainsFunc(m, func(b byte) bool { return b != 0 })
}
