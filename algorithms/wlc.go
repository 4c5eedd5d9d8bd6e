package algorithms

import (
	"fmt"
	"time"
)

// WLC is IPVS weighted least-connection (thesis §4.1.4; ip_vs_wlc.c, Linux
// v6.17): the usable server minimising Conns/Weight, where Conns is the
// overhead (Active<<8)+Inactive. As in the kernel the ratios are compared
// by cross-multiplication, Conns_j*W_i > Conns_i*W_j, here in 128-bit
// arithmetic so it cannot overflow; ties go to the first server in pool
// order.
type WLC struct{}

var _ Scheduler = (*WLC)(nil)

var errWLCNoServer = fmt.Errorf("wlc: %w", ErrNoServer)

// NewWLC returns a weighted least-connection scheduler.
func NewWLC() *WLC { return &WLC{} }

// Name returns "wlc".
func (*WLC) Name() string { return "wlc" }

// Schedule returns the usable server with the least connections per weight.
func (*WLC) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	i := leastRatio(p.Servers(), (*Server).Conns)
	if i < 0 {
		return 0, errWLCNoServer
	}
	return p.Servers()[i].ID, nil
}

// leastRatio returns the position of the usable server minimising
// overhead(s)/s.Weight (first on ties), or -1 if none is usable. It is the
// loop shared by ip_vs_wlc.c and ip_vs_sed.c.
func leastRatio(servers []Server, overhead func(*Server) int) int {
	least, loh := -1, 0
	for i := range servers {
		s := &servers[i]
		if !s.Usable() {
			continue
		}
		doh := overhead(s)
		if least < 0 || ratioGreater(loh, servers[least].Weight, doh, s.Weight) {
			least, loh = i, doh
		}
	}
	return least
}

func init() {
	Register(Info{
		Name:        "wlc",
		Description: "weighted least-connection: the server with the fewest connections per unit of weight",
		Source:      "thesis §4.1.4; ip_vs_wlc.c",
		New:         func(Options) (Scheduler, error) { return NewWLC(), nil },
	})
}
