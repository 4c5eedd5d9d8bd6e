package algorithms

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Global is global server scheduling (thesis §4.1.5): servers are spread
// over several places, and a client should be served by a server near it.
// A client-prefix table (Options.Near) maps a client address to the ordered
// list of servers near it; the director picks the least-loaded usable
// server of that list and forwards the connection to it (by IP tunnel in the
// thesis).
//
// Semantics:
//
//   - The table is searched longest prefix first on Request.Client (an
//     IPv4-mapped IPv6 client address is matched as IPv4, and so is an
//     IPv4-mapped prefix ::ffff:a.b.c.d/n with n >= 96). An IPv4 client
//     never matches an IPv6 prefix and vice versa. Only the longest
//     matching prefix is used.
//   - "Least loaded" is IPVS's WLC measure (ip_vs_wlc.c): the overhead
//     Active<<8 + Inactive divided by the weight, compared by cross
//     multiplication; ties go to the server listed first. Near servers that
//     are not in the pool or not usable are skipped.
//   - Fallback (the thesis does not say; this follows IPVS's habit of
//     serving rather than refusing): if no prefix matches, the client
//     address is not set, or none of the matched near servers is usable, the
//     request is scheduled by WLC over the whole pool (first in pool order on
//     ties). ErrNoServer only when no server of the pool is usable.
//
// Global keeps no state derived from the pool, so it needs no rebuild on
// pool changes.
type Global struct {
	near map[netip.Prefix][]ServerID // masked prefix -> near servers
	lens []int                       // distinct prefix lengths, longest first
}

var _ Scheduler = (*Global)(nil)

// NewGlobal returns a global server scheduler for the client-prefix table
// near. Prefixes must be valid and distinct (after masking) and each must
// list at least one server; the table is copied.
func NewGlobal(near []NearServers) (*Global, error) {
	g := &Global{near: make(map[netip.Prefix][]ServerID, len(near))}
	seen := make(map[netip.Prefix]int, len(near))
	for i, e := range near {
		if !e.Prefix.IsValid() {
			return nil, fmt.Errorf("algorithms: global: Near[%d]: invalid prefix %q", i, e.Prefix)
		}
		pfx := e.Prefix.Masked()
		if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
			// ::ffff:a.b.c.d/n is the IPv4 prefix a.b.c.d/(n-96): clients
			// are matched unmapped.
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		if j, dup := seen[pfx]; dup {
			return nil, fmt.Errorf("algorithms: global: Near[%d]: prefix %s duplicates Near[%d]", i, pfx, j)
		}
		if len(e.Servers) == 0 {
			return nil, fmt.Errorf("algorithms: global: Near[%d]: prefix %s lists no servers", i, pfx)
		}
		seen[pfx] = i
		g.near[pfx] = slices.Clone(e.Servers)
		if !slices.Contains(g.lens, pfx.Bits()) {
			g.lens = append(g.lens, pfx.Bits())
		}
	}
	slices.SortFunc(g.lens, func(a, b int) int { return cmp.Compare(b, a) })
	return g, nil
}

// Name returns "global".
func (g *Global) Name() string { return "global" }

// Near returns the near-server list for client (longest prefix match), or
// nil if no prefix matches. The slice is the scheduler's own. It costs one
// map lookup per distinct prefix length in the table.
func (g *Global) Near(client netip.Addr) []ServerID {
	if !client.IsValid() {
		return nil
	}
	client = client.Unmap()
	for _, bits := range g.lens {
		if bits > client.BitLen() {
			continue
		}
		pfx, err := client.Prefix(bits)
		if err != nil {
			continue
		}
		if servers, ok := g.near[pfx]; ok {
			return servers
		}
	}
	return nil
}

// Schedule picks the least-loaded usable near server of r.Client, or falls
// back to WLC over the whole pool.
func (g *Global) Schedule(_ time.Duration, r *Request, p *Pool) (ServerID, error) {
	var best *Server
	for _, id := range g.Near(r.Client) {
		s := p.Get(id)
		if s == nil || !s.Usable() {
			continue
		}
		if best == nil || globalLess(s, best) {
			best = s
		}
	}
	if best == nil {
		servers := p.Servers()
		for i := range servers {
			s := &servers[i]
			if !s.Usable() {
				continue
			}
			if best == nil || globalLess(s, best) {
				best = s
			}
		}
	}
	if best == nil {
		return 0, ErrNoServer
	}
	return best.ID, nil
}

// globalLess reports whether s is strictly less loaded than best by WLC's
// measure: s.Conns()/s.Weight < best.Conns()/best.Weight, cross-multiplied
// as ip_vs_wlc.c does (both weights are positive for usable servers).
func globalLess(s, best *Server) bool {
	return int64(s.Conns())*int64(best.Weight) < int64(best.Conns())*int64(s.Weight)
}

func init() {
	Register(Info{
		Name:        "global",
		Description: "global server scheduling: least-loaded (WLC) of the client's near servers by longest prefix, else WLC over all",
		Source:      "thesis §4.1.5; load measure from ip_vs_wlc.c",
		New: func(o Options) (Scheduler, error) {
			return NewGlobal(o.Near)
		},
	})
}
