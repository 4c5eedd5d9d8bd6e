package algorithms

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Errors returned by schedulers. Check them with errors.Is.
var (
	// ErrNoServer means no server in the pool qualifies for new work:
	// every server is down, overloaded or has weight 0, or the pool is empty.
	ErrNoServer = errors.New("algorithms: no available server")

	// ErrBypass means the request should be served by the origin server
	// instead of any server in the pool (cache-oriented LBLL, thesis §7.5.4:
	// non-cacheable requests, or every cache node overloaded).
	ErrBypass = errors.New("algorithms: bypass to origin")
)

// Request is what a scheduler sees of one unit of new work: a connection
// (layer 4) or a request (layer 7).
type Request struct {
	// Key is the locality key: the URL target for layer-7 switching, or a
	// destination key for layer-4 cache clusters. Hash and locality-based
	// schedulers use it when the address they would key on is not set.
	Key string

	// Client is the client's address and ClientPort its port (SH, MH,
	// global server scheduling, persistence).
	Client     netip.Addr
	ClientPort uint16

	// Dest is the destination address (DH, and IPVS's destination-keyed
	// lblc/lblcr); DestPort its port.
	Dest     netip.Addr
	DestPort uint16

	// Cost is the request's weight in connection units: 1 for a static
	// request, 2 for a dynamic one (thesis §6.3.5). Zero means 1.
	Cost int

	// Class is an optional content class ("cgi", "image", ...) used by
	// content-based scheduling (thesis §6.3.6). Empty means the default class.
	Class string

	// NoCache marks a request whose response cannot be cached; the
	// cache-oriented LBLL sends it to the origin (thesis §7.5.4).
	NoCache bool

	// Local is the node on which the asking distributor runs, for the
	// co-located LBLL (thesis §7.3.1). It is meaningful only if HasLocal.
	Local    ServerID
	HasLocal bool
}

// Units returns r.Cost, or 1 if Cost is not positive.
func (r *Request) Units() int {
	if r.Cost <= 0 {
		return 1
	}
	return r.Cost
}

// Scheduler picks a server for each new connection or request.
//
// A Scheduler is a deterministic state machine: it never reads a clock,
// sleeps, starts goroutines or uses global randomness. Time arrives as now,
// the time since the run's origin; randomness comes from a seed given at
// construction. Given the same sequence of calls with the same arguments,
// it returns the same answers.
//
// # Ownership
//
// The host owns the Pool and updates its counters when work starts and ends
// (Pool.Begin, Pool.End, Pool.Adjust), as IPVS does for dest->activeconns.
// Schedule and Feedback only read the pool; they must not modify it, nor
// keep pointers into it across calls. A scheduler that keeps derived state
// (a WRR cycle position, a hash table) keys it on Pool.Generation alone,
// never on the *Pool's address: the generation identifies the pool's
// content, so the host may pass a changed pool, another pool or an
// unchanged Clone (a copy-on-write update) and the scheduler rebuilds
// exactly when the content differs from what it last saw.
//
// # Concurrency
//
// Schedulers are not safe for concurrent use, and neither is Pool. A host
// that serves connections from several goroutines (a live director)
// guards the scheduler and its pool with one lock, and holds it across
// the decision and its bookkeeping:
//
//	mu.Lock()
//	id, err := sched.Schedule(now, req, pool)
//	if err == nil {
//		err = pool.Begin(id, req.Units())
//	}
//	mu.Unlock()
//
// Schedule and the Begin that records its answer form one critical
// section. If the lock were released between them, two goroutines could
// both see the same least-loaded server before either had counted its new
// connection, and least-connection schedulers (LC, WLC, SED, NQ, LBLC)
// would send every concurrent connection to that one server: the herd
// that the counters exist to prevent. Every other use of the pool (End,
// Adjust, SetDown, SetWeight, Add, Remove, SetThresholds, SetLoad) and
// every call of Feedback (LoadFeedback) happens under the same lock.
// algotest.RunConcurrent checks a scheduler under such a host.
//
// # Errors
//
// Schedule returns the chosen server's ID, ErrNoServer when no server
// qualifies, or ErrBypass when the request should go to the origin; check
// them with errors.Is (the error may be wrapped to name the scheduler). It
// returns no other error. It never returns a server that is Down,
// Overloaded or has Weight 0, except where a scheduler's documentation says
// otherwise, and never one that is not in the pool passed in. An error
// leaves the pool as it was; the host counts nothing.
type Scheduler interface {
	// Name returns the registered name of the scheduler ("wrr", "lblc", ...).
	Name() string
	// Schedule picks a server for r at time now from p.
	Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error)
}

// Load is one server's measured load for the last monitoring interval,
// each metric normalised so that 1 means "just loaded", more than 1
// overloaded and less than 1 underloaded (thesis §4.2.2).
//
// Measured says which metrics the report carries. A metric outside
// Measured was not measured: its field must be 0, and DFLB leaves it out of
// AGGREGATE_LOAD instead of reading it as an idle server's 0 (see DFLB,
// "Unmeasured metrics"). The zero Measured is a report that measured
// nothing. Load.Set sets a metric and marks it measured.
type Load struct {
	ID       ServerID
	Measured Metrics // the metrics this report measured
	Input    float64 // INPUT: new connections relative to the mean
	CPU      float64 // LOAD: processor load
	Disk     float64 // DISK: disk utilisation
	Memory   float64 // MEMORY: memory utilisation
	Process  float64 // PROCESS: number of processes
	Response float64 // RESPONSE: response time
	// Responsive is false when the server did not answer the monitor; DFLB
	// then gives it weight 0 until it answers again (thesis §4.2.4).
	Responsive bool
}

// Metrics is a set of Load metrics, one bit per metric. The bits are in
// the order of the thesis's AGGREGATE_LOAD formula (§4.2.3) and of
// DFLBParams.Coefficients: bit k is metric k.
type Metrics uint8

// The Load metrics.
const (
	MetricInput    Metrics = 1 << iota // Load.Input
	MetricCPU                          // Load.CPU
	MetricDisk                         // Load.Disk
	MetricMemory                       // Load.Memory
	MetricProcess                      // Load.Process
	MetricResponse                     // Load.Response

	// AllMetrics is the set of every metric.
	AllMetrics = MetricInput | MetricCPU | MetricDisk | MetricMemory | MetricProcess | MetricResponse
)

// NumMetrics is the number of Load metrics.
const NumMetrics = 6

var metricNames = [NumMetrics]string{"input", "cpu", "disk", "memory", "process", "response"}

// MetricAt returns the metric of index k, 0 (input) to NumMetrics-1
// (response), the index of its coefficient in DFLBParams.Coefficients.
func MetricAt(k int) Metrics { return 1 << k }

// Has reports whether m holds every metric of x.
func (m Metrics) Has(x Metrics) bool { return m&x == x }

// String returns the metrics' names joined by "|" ("cpu|response"), or
// "none" for the empty set.
func (m Metrics) String() string {
	if m == 0 {
		return "none"
	}
	var b []byte
	for k, name := range metricNames {
		if m.Has(MetricAt(k)) {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, name...)
		}
	}
	if rest := m &^ AllMetrics; rest != 0 {
		if len(b) > 0 {
			b = append(b, '|')
		}
		b = append(b, fmt.Sprintf("%#x", uint8(rest))...)
	}
	return string(b)
}

// ParseMetric returns the metric named name ("input", "cpu", "disk",
// "memory", "process" or "response"; case-insensitive).
func ParseMetric(name string) (Metrics, error) {
	for k, n := range metricNames {
		if strings.EqualFold(name, n) {
			return MetricAt(k), nil
		}
	}
	return 0, fmt.Errorf("algorithms: unknown load metric %q (known: %s)", name, strings.Join(metricNames[:], ", "))
}

// field returns the field of metric m, which must be a single metric.
func (l *Load) field(m Metrics) *float64 {
	switch m {
	case MetricInput:
		return &l.Input
	case MetricCPU:
		return &l.CPU
	case MetricDisk:
		return &l.Disk
	case MetricMemory:
		return &l.Memory
	case MetricProcess:
		return &l.Process
	case MetricResponse:
		return &l.Response
	}
	panic(fmt.Sprintf("algorithms: Load: %v is not a single metric", m))
}

// Set sets metric m to v and marks it measured. m must be a single metric.
func (l *Load) Set(m Metrics, v float64) {
	*l.field(m) = v
	l.Measured |= m
}

// Get returns the value of metric m and whether it was measured. m must be
// a single metric.
func (l *Load) Get(m Metrics) (v float64, measured bool) {
	return *l.field(m), l.Measured.Has(m)
}

// values returns the six metric values in index order.
func (l *Load) values() [NumMetrics]float64 {
	return [NumMetrics]float64{l.Input, l.CPU, l.Disk, l.Memory, l.Process, l.Response}
}

// LoadFeedback is implemented by schedulers that adapt to measured load
// (DFLB, thesis §4.2). The host calls Feedback periodically (every 2-10 s of
// real or simulated time) with one Load per server, under the same lock as
// Schedule (see [Scheduler]). An error (an unknown or duplicate server, a
// non-finite metric) names the offending entry and changes no weight.
type LoadFeedback interface {
	Feedback(now time.Duration, loads []Load, p *Pool) error
}
