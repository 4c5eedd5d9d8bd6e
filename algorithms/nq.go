package algorithms

import (
	"fmt"
	"time"
)

// NQ is IPVS never queue (ip_vs_nq.c, Linux v6.17): the first usable
// server in pool order with no active connection wins at once; when every
// usable server is busy, the SED rule applies (minimal (Active+1)/Weight,
// cross-multiplied, first on ties).
type NQ struct{}

var _ Scheduler = (*NQ)(nil)

var errNQNoServer = fmt.Errorf("nq: %w", ErrNoServer)

// NewNQ returns a never-queue scheduler.
func NewNQ() *NQ { return &NQ{} }

// Name returns "nq".
func (*NQ) Name() string { return "nq" }

// Schedule returns the first idle usable server, or else the SED choice.
func (*NQ) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	servers := p.Servers()
	least, loh := -1, 0
	for i := range servers {
		s := &servers[i]
		if !s.Usable() {
			continue
		}
		if s.Active == 0 {
			return s.ID, nil
		}
		doh := sedOverhead(s)
		if least < 0 || ratioGreater(loh, servers[least].Weight, doh, s.Weight) {
			least, loh = i, doh
		}
	}
	if least < 0 {
		return 0, errNQNoServer
	}
	return servers[least].ID, nil
}

func init() {
	Register(Info{
		Name:        "nq",
		Description: "never queue: an idle server if any, else shortest expected delay",
		Source:      "ip_vs_nq.c (Weinrib & Shenker, INFOCOM'88)",
		New:         func(Options) (Scheduler, error) { return NewNQ(), nil },
	})
}
