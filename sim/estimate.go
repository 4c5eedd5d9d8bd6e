package sim

import (
	"math"
	"net/netip"
	"time"
	"unsafe"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

// MaxRequests is the largest workload Run accepts: requests are numbered
// with 32 bits.
const MaxRequests = 1<<31 - 1

// MemoryEstimate is an estimate of the memory one Run allocates, in bytes,
// split by what it grows with. It does not count the workload itself
// (traces.WorkloadBytes) nor the time series, which MaxSeries and
// MaxSeriesNodeValues bound.
type MemoryEstimate struct {
	// Responses: one response time (8 bytes) per request of the
	// workload, kept for the exact percentiles and CDF of the Result.
	Responses int64
	// Caches: every node's cache tables, nodes × objects entries
	// (models.CacheTableBytes).
	Caches int64
	// Other: the in-flight slots (at most Nodes×High, at most one per
	// request), the clients' addresses, the nodes and the front end.
	Other int64
}

// Total is the sum of the parts.
func (m MemoryEstimate) Total() int64 { return addSat(addSat(m.Responses, m.Caches), m.Other) }

// Per-item costs of a run, in bytes.
const (
	responseBytes = int64(unsafe.Sizeof(time.Duration(0)))
	// an in-flight slot: the flight, its free-list entry, its place in a
	// node's CPU or disk queue (a ring of int32 that grows by doubling),
	// and the front end's per-slot tables (two int32 for the ch.7 front
	// ends, one for l4 with keep-alive, none for l7).
	slotBytes   = int64(unsafe.Sizeof(flight{})) + 4 + 8 + 4
	clientBytes = int64(unsafe.Sizeof(netip.Addr{})) + 4 // parsed address; l4 keep-alive's table
	nodeBytes   = int64(unsafe.Sizeof(node{}))
)

// EstimateMemory estimates what Run(c, w) allocates for a workload w of
// requests requests, objects distinct objects and clients clients, so that
// a caller can refuse a run that cannot fit before starting it. It
// resolves c first and returns Resolve's error. Measured runs stay within
// a quarter of the estimate (estimate_test.go).
func EstimateMemory(c Config, requests, objects, clients int) (MemoryEstimate, error) {
	c, err := c.Resolve()
	if err != nil {
		return MemoryEstimate{}, err
	}
	requests, objects, clients = max(requests, 0), max(objects, 0), max(clients, 0)
	nodes := int64(c.Nodes)
	slots := int64(requests)
	if limit := nodes * int64(c.High); limit/nodes == int64(c.High) && limit < slots {
		slots = limit
	}
	var m MemoryEstimate
	m.Responses = mulSat(int64(requests), responseBytes)
	if len(c.Clusters) > 0 {
		// A multi-cluster run (geo.go): every cluster is a run of its
		// own, with its nodes, slots and front end; the requests are
		// copied into the cluster they reach, and every response time is
		// kept twice (by the serving and by the home cluster).
		nodes, slots = 0, 0
		for _, cl := range c.Clusters {
			n := int64(cl.Nodes)
			nodes = addSat(nodes, n)
			s := int64(requests)
			if limit := n * int64(c.High); limit/n == int64(c.High) && limit < s {
				s = limit
			}
			slots = addSat(slots, s)
		}
		m.Responses = mulSat(m.Responses, 2)
		m.Other = mulSat(int64(requests), geoRequestBytes)
		m.Other = addSat(m.Other, mulSat(int64(len(c.Clusters)), mulSat(int64(clients), clientBytes)))
		m.Other = addSat(m.Other, mulSat(int64(len(c.Clusters)), mulSat(int64(c.Distributors), int64(unsafe.Sizeof(distributor{})))))
	} else {
		m.Other = mulSat(int64(c.Distributors), int64(unsafe.Sizeof(distributor{})))
		m.Other = addSat(m.Other, mulSat(int64(clients), clientBytes))
	}
	m.Caches = mulSat(nodes, models.CacheTableBytes(c.CachePolicy, objects))
	m.Other = addSat(m.Other, addSat(mulSat(slots, slotBytes), mulSat(nodes, nodeBytes)))
	return m, nil
}

// geoRequestBytes is a multi-cluster run's cost per request: its copy in
// the cluster it reaches.
const geoRequestBytes = int64(unsafe.Sizeof(traces.Request{}))

// mulSat and addSat are a*b and a+b for a, b >= 0, saturating at
// math.MaxInt64 instead of overflowing.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
