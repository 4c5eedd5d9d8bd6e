package algorithms

import (
	"fmt"
	"time"
)

// LC is IPVS least-connection (thesis §4.1.3; ip_vs_lc.c, Linux v6.17):
// the usable server with the smallest overhead (Active<<8)+Inactive
// (Server.Conns, the kernel's ip_vs_dest_conn_overhead). Ties go to the
// first such server in pool order. Weights other than 0 are ignored.
type LC struct{}

var _ Scheduler = (*LC)(nil)

var errLCNoServer = fmt.Errorf("lc: %w", ErrNoServer)

// NewLC returns a least-connection scheduler.
func NewLC() *LC { return &LC{} }

// Name returns "lc".
func (*LC) Name() string { return "lc" }

// Schedule returns the usable server with the fewest connections.
func (*LC) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	servers := p.Servers()
	least, loh := -1, 0
	for i := range servers {
		s := &servers[i]
		if !s.Usable() {
			continue
		}
		if doh := s.Conns(); least < 0 || doh < loh {
			least, loh = i, doh
		}
	}
	if least < 0 {
		return 0, errLCNoServer
	}
	return servers[least].ID, nil
}

func init() {
	Register(Info{
		Name:        "lc",
		Description: "least-connection: the server with the fewest (active<<8)+inactive connections",
		Source:      "thesis §4.1.3; ip_vs_lc.c",
		New:         func(Options) (Scheduler, error) { return NewLC(), nil },
	})
}
