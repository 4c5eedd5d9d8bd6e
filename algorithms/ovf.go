package algorithms

import (
	"fmt"
	"time"
)

// OVF is IPVS weighted overflow (ip_vs_ovf.c, Linux v6.17): new work goes
// to the usable server with the highest weight (first in pool order on
// ties) among those whose active connections do not exceed their weight,
// so the weight acts as a connection limit and work overflows to the next
// server once it is passed. Only Active counts, not Inactive.
//
// The kernel skips a server when activeconns > weight, so a server of
// weight w still qualifies at Active == w and may reach w+1 active
// connections; OVF follows the kernel here.
type OVF struct{}

var _ Scheduler = (*OVF)(nil)

var errOVFNoServer = fmt.Errorf("ovf: %w", ErrNoServer)

// NewOVF returns a weighted overflow scheduler.
func NewOVF() *OVF { return &OVF{} }

// Name returns "ovf".
func (*OVF) Name() string { return "ovf" }

// Schedule returns the highest-weight usable server not over its limit.
func (*OVF) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	servers := p.Servers()
	best := -1
	for i := range servers {
		s := &servers[i]
		if !s.Usable() || s.Active > s.Weight {
			continue
		}
		if best < 0 || s.Weight > servers[best].Weight {
			best = i
		}
	}
	if best < 0 {
		return 0, errOVFNoServer
	}
	return servers[best].ID, nil
}

func init() {
	Register(Info{
		Name:        "ovf",
		Description: "weighted overflow: the highest-weight server whose active connections do not exceed its weight",
		Source:      "ip_vs_ovf.c",
		New:         func(Options) (Scheduler, error) { return NewOVF(), nil },
	})
}
