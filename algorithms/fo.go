package algorithms

import (
	"fmt"
	"time"
)

// FO is IPVS weighted failover (ip_vs_fo.c, Linux v6.17): all new work
// goes to the usable server with the highest weight; ties go to the first
// in pool order. When it fails (down, overloaded or quiesced to weight 0),
// work fails over to the next-highest weight.
type FO struct{}

var _ Scheduler = (*FO)(nil)

var errFONoServer = fmt.Errorf("fo: %w", ErrNoServer)

// NewFO returns a weighted failover scheduler.
func NewFO() *FO { return &FO{} }

// Name returns "fo".
func (*FO) Name() string { return "fo" }

// Schedule returns the usable server with the highest weight.
func (*FO) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	servers := p.Servers()
	best := -1
	for i := range servers {
		s := &servers[i]
		if s.Usable() && (best < 0 || s.Weight > servers[best].Weight) {
			best = i
		}
	}
	if best < 0 {
		return 0, errFONoServer
	}
	return servers[best].ID, nil
}

func init() {
	Register(Info{
		Name:        "fo",
		Description: "weighted failover: the available server with the highest weight",
		Source:      "ip_vs_fo.c",
		New:         func(Options) (Scheduler, error) { return NewFO(), nil },
	})
}
