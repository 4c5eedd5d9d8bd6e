package algorithms

import (
	"fmt"
	"time"
)

// SED is IPVS shortest expected delay (ip_vs_sed.c, Linux v6.17; Weinrib
// and Shenker, INFOCOM'88): the usable server minimising
// (Active+1)/Weight, the expected delay of the new job if it joins that
// server. Only active connections count (unlike WLC's overhead). Ratios
// are compared by cross-multiplication; ties go to the first server in
// pool order.
type SED struct{}

var _ Scheduler = (*SED)(nil)

var errSEDNoServer = fmt.Errorf("sed: %w", ErrNoServer)

// NewSED returns a shortest-expected-delay scheduler.
func NewSED() *SED { return &SED{} }

// Name returns "sed".
func (*SED) Name() string { return "sed" }

// Schedule returns the usable server with the shortest expected delay.
func (*SED) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	i := leastRatio(p.Servers(), sedOverhead)
	if i < 0 {
		return 0, errSEDNoServer
	}
	return p.Servers()[i].ID, nil
}

// sedOverhead is ip_vs_sed_dest_overhead: active connections plus one.
func sedOverhead(s *Server) int { return s.Active + 1 }

func init() {
	Register(Info{
		Name:        "sed",
		Description: "shortest expected delay: the server minimising (active+1)/weight",
		Source:      "ip_vs_sed.c (Weinrib & Shenker, INFOCOM'88)",
		New:         func(Options) (Scheduler, error) { return NewSED(), nil },
	})
}
