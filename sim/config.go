package sim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/models"
)

// Config is one simulation: a cluster, a front end, a scheduler and how
// requests are admitted. The zero value of every field selects its default
// (the thesis preset of docs/reference-model.md); Resolve fills the defaults in
// and Validate rejects impossible values. Results carry the resolved Config.
//
// A zero field cannot be told from one left unset: where 0 is a value of
// its own (KeepAlive, HealthCheckDelay, Seed, Failures) it is also the
// default, and elsewhere a caller that means a value gives one above 0.
// A parser of user input should refuse the zeros that would only select
// the default, as cmd/lvslab does.
type Config struct {
	// Preset names a model preset. "thesis" (the default) is the reference
	// model of docs/reference-model.md, implemented to the letter.
	Preset string `json:"preset" yaml:"preset"`

	// Nodes is the number of back-end nodes (>= 1), identical unless
	// Groups says otherwise. With Groups, 0 means the sum of their counts.
	Nodes int `json:"nodes" yaml:"nodes"`

	// Groups, if not empty, describes the nodes group by group in node
	// order (the first Count nodes are group 0's, and so on): a
	// heterogeneous cluster. Their counts add up to Nodes. Empty: Nodes
	// identical nodes of speed 1, cache CacheBytes, weight 1.
	Groups []NodeGroup `json:"node_groups,omitempty" yaml:"node_groups"`

	// Weights says where the nodes' static weights (WRR, WLC, and DFLB's
	// default weights) come from: "" or "given" (each group's Weight,
	// default 1; resolved to "") or "capacity" (proportional to each
	// node's CPU speed). See NodeWeight.
	Weights string `json:"weights,omitempty" yaml:"weights"`

	// Slowdowns slow nodes down for intervals of simulated time: another
	// job on the node multiplies the service times of its CPU and disk
	// (models.Pace says how a job straddling a boundary is served).
	Slowdowns []Slowdown `json:"slowdowns,omitempty" yaml:"slowdown"`

	// Algorithm is a registered scheduler name (algorithms.Names()).
	Algorithm string `json:"alg" yaml:"alg"`

	// Options configures the scheduler (thresholds, K, seed, ...).
	Options algorithms.Options `json:"options" yaml:"-"`

	// CacheBytes is each node's main-memory cache size. Default 32 MiB.
	CacheBytes int64 `json:"cache_bytes" yaml:"cache_bytes"`

	// CachePolicy is the replacement policy: "lru" (default), "lfu", "gds".
	CachePolicy string `json:"cache_policy" yaml:"cache_policy"`

	// Costs are the CPU and disk service-time constants. Zero fields take
	// the thesis's values (thesis §4.3, from the LARD paper).
	Costs models.Costs `json:"costs" yaml:"costs"`

	// FrontEnd selects the front end: "l7" (default: a content-aware switch
	// that decides per request, KTCPVS), "l4" (per-connection director with
	// keep-alive, keyed by destination and client address, no URL),
	// "distributed" (L4 director -> distributors -> CLS, ch.7),
	// "colocated" (a distributor on every node, ch.7), "cachecluster"
	// (cache nodes with origin bypass, §7.5).
	FrontEnd string `json:"front_end" yaml:"front_end"`

	// Admission is "closed" (default: at most Nodes×High requests in the
	// cluster, a completion admits the next) or "open" (replay trace
	// timestamps divided by Speedup).
	Admission string  `json:"admission" yaml:"admission"`
	Speedup   float64 `json:"speedup" yaml:"speedup"`

	// Low and High are each node's locality thresholds; the closed-loop
	// limit is Nodes×High. Defaults 30 and 60.
	Low  int `json:"low" yaml:"low"`
	High int `json:"high" yaml:"high"`

	// DFLBInterval is the period of DFLB's load monitor. Default 5 s.
	DFLBInterval time.Duration `json:"dflb_interval_ns" yaml:"dflb_interval"`

	// KeepAlive is how long an L4 client connection stays open for the same
	// client's next request (HTTP/1.1). 0 means HTTP/1.0: one request per
	// connection.
	KeepAlive time.Duration `json:"keep_alive_ns" yaml:"keep_alive"`

	// Method is the live layer-4 director's forwarding method for the l4
	// front end: "nat" (VS/NAT), "tun" (VS/TUN) or "dr" (VS/DR), ipvsadm's
	// words; empty means nat. The simulator ignores it (its front end
	// forwards in no time whatever the method); a live run (testbed run,
	// validate) builds the method's testbed. Resolve refuses it for front
	// ends other than l4, and leaves it empty when unset so that results
	// of other experiments do not change.
	Method string `json:"method,omitempty" yaml:"method,omitempty"`

	// Distributors is the number of L7 distributors of the "distributed"
	// front end (at most MaxDistributors); CLSLookup is the Content Location Service's cost per
	// lookup message and CLSBatch the number of lookups per message.
	Distributors int           `json:"distributors" yaml:"distributors"`
	CLSLookup    time.Duration `json:"cls_lookup_ns" yaml:"cls_lookup"`
	CLSBatch     int           `json:"cls_batch" yaml:"cls_batch"`

	// OriginTime is the origin server's service time per request for the
	// cache cluster's bypassed requests.
	OriginTime time.Duration `json:"origin_time_ns" yaml:"origin_time"`

	// Failures takes nodes down and up at given times; HealthCheckDelay is
	// how long the front end takes to notice.
	Failures         []Failure     `json:"failures,omitempty" yaml:"failures"`
	HealthCheckDelay time.Duration `json:"health_check_delay_ns" yaml:"health_check_delay"`

	// ConnectTimeout is how long a request sent to a crashed node that the
	// front end still thinks is up holds its place (and its connection
	// units on that node) before it fails: a dead host answers no SYN, so
	// the client waits out its connect timeout. Default 3 s, the initial
	// retransmission timeout of RFC 2988 (one unanswered SYN).
	ConnectTimeout time.Duration `json:"connect_timeout_ns" yaml:"connect_timeout"`

	// Interval is the width of one time-series bucket in the result.
	// Default 10 s of simulated time.
	Interval time.Duration `json:"interval_ns" yaml:"interval"`

	// Seed seeds every random stream (workload sampling, scheduler ties).
	Seed uint64 `json:"seed" yaml:"seed"`

	// Clusters, when set, makes the run a multi-cluster (geographic)
	// simulation of thesis §2.4.3: several clusters, each with its own
	// front end and nodes, clients homed on one cluster each, WANDelay
	// between clusters and, if Overflow.On, the thesis's overflow rule
	// (geo.go). Empty: one cluster of Nodes nodes, as always.
	Clusters []Cluster `json:"clusters,omitempty" yaml:"clusters"`
	// WANDelay is the one-way network delay between any two clusters
	// (multi-cluster runs only; 0: none).
	WANDelay time.Duration `json:"wan_delay_ns,omitempty" yaml:"wan_delay"`
	// Overflow is the inter-cluster overflow rule (multi-cluster runs).
	Overflow Overflow `json:"overflow,omitzero" yaml:"overflow"`

	// Replicates is how many times a sweep runs this configuration, each
	// run a replicate with its own seeded perturbations (see Replicate); 0
	// and 1 both mean one unperturbed run. The simulator only records it;
	// the workbench expands a cell into replicates 1..Replicates and
	// summarises them (mean, standard deviation, confidence interval).
	Replicates int `json:"replicates,omitempty" yaml:"replicates"`

	// Replicate is the run's replicate index. 0 is the reference run: the
	// model exactly as docs/reference-model.md states it. A replicate k >= 1
	// perturbs the run in ways that keep the model's meaning, each drawn
	// from its own random stream seeded by (Seed, k), so that replicate k
	// of every scheduler sees the same perturbation streams:
	//
	//   - ties: events of one simulated instant run in a random order
	//     instead of their scheduling order (both are valid readings of
	//     the model, which does not fix how simultaneous events interleave);
	//   - jitter: if Jitter > 0, every CPU job, disk read and origin
	//     service time is multiplied by a factor drawn uniformly in
	//     [1-Jitter, 1+Jitter];
	//   - start offset: if StartOffset > 0, the trace is replayed from a
	//     request drawn uniformly among its first StartOffset fraction and
	//     wraps around to its beginning, so every request is still served
	//     once.
	Replicate int `json:"replicate,omitempty" yaml:"-"`

	// Jitter is the relative service-time jitter of replicates (0 <= Jitter
	// <= MaxJitter; default 0: none). It needs Replicates >= 2.
	Jitter float64 `json:"jitter,omitempty" yaml:"jitter"`

	// StartOffset is the fraction of the trace (0 <= StartOffset <= 1)
	// among whose first requests each replicate draws its starting point
	// (default 0: every replicate starts at the first request). It needs
	// Replicates >= 2.
	StartOffset float64 `json:"start_offset,omitempty" yaml:"start_offset"`
}

// Failure takes node Node down at At and, if Recover > At, back up at Recover.
type Failure struct {
	Node    int           `json:"node" yaml:"node"`
	At      time.Duration `json:"at_ns" yaml:"at"`
	Recover time.Duration `json:"recover_ns" yaml:"recover"`
}

// NodeGroup is Count nodes alike. A zero field selects its default.
type NodeGroup struct {
	// Count is the number of nodes in the group (>= 1).
	Count int `json:"count" yaml:"count"`
	// CPUSpeed and DiskSpeed divide the service times of the nodes' CPU
	// and disk: 2 serves twice as fast as the reference model. Default 1;
	// each in [models.MinSpeed, models.MaxSpeed].
	CPUSpeed  float64 `json:"cpu_speed" yaml:"cpu_speed"`
	DiskSpeed float64 `json:"disk_speed" yaml:"disk_speed"`
	// CacheBytes is each node's cache size. Default Config.CacheBytes.
	CacheBytes int64 `json:"cache_bytes" yaml:"cache"`
	// Weight is each node's static weight, 1..MaxWeight, with Weights
	// "given" (default 1). With Weights "capacity" it must be left 0.
	Weight int `json:"weight,omitempty" yaml:"weight"`
}

// Slowdown multiplies the service times of node Node by Factor from From
// to To (simulated time; To > From).
type Slowdown struct {
	Node   int           `json:"node" yaml:"node"`
	Factor float64       `json:"factor" yaml:"factor"`
	From   time.Duration `json:"from_ns" yaml:"from"`
	To     time.Duration `json:"to_ns" yaml:"to"`
}

// Names accepted by Config fields.
const (
	PresetThesis = "thesis"

	WeightsGiven    = ""
	WeightsCapacity = "capacity"

	FrontEndL7           = "l7"
	FrontEndL4           = "l4"
	FrontEndDistributed  = "distributed"
	FrontEndColocated    = "colocated"
	FrontEndCacheCluster = "cachecluster"

	MethodNAT = "nat"
	MethodTUN = "tun"
	MethodDR  = "dr"

	AdmissionClosed = "closed"
	AdmissionOpen   = "open"
)

// Defaults of the thesis preset (docs/reference-model.md).
const (
	DefaultCacheBytes   = 32 << 20
	DefaultLow          = 30
	DefaultHigh         = 60
	DefaultDFLBInterval = 5 * time.Second
	DefaultInterval     = 10 * time.Second
	DefaultOriginTime   = 100 * time.Millisecond

	// MinDFLBInterval is the shortest load-monitor period Resolve accepts.
	MinDFLBInterval = time.Millisecond

	// DefaultConnectTimeout is Config.ConnectTimeout's default.
	DefaultConnectTimeout = 3 * time.Second

	// MaxWeight is the largest NodeGroup.Weight.
	MaxWeight = 100

	// CapacityScale is the static weight of a node of CPU speed 1 with
	// Weights "capacity" (see NodeWeight).
	CapacityScale = 10

	// MaxDistributors is the largest Distributors Resolve accepts: each
	// distributor has its own queues, allocated when the run starts.
	MaxDistributors = 1 << 16

	// MaxReplicates is the largest Replicates Resolve accepts.
	MaxReplicates = 1000

	// MaxJitter is the largest Jitter Resolve accepts: a service time
	// stays within half and one and a half times its model value.
	MaxJitter = 0.5
)

// A ConfigError is a Config value that Resolve or Run rejects. Keys names
// the parameters at fault by their experiment-file keys ("cls_lookup",
// "failures[0].node"), the first the likeliest culprit, so that a command
// line can say which flag or file line to change.
type ConfigError struct {
	Keys []string
	Err  error
}

func (e *ConfigError) Error() string {
	return "sim: " + strings.Join(e.Keys, "/") + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// configError returns a *ConfigError for key (or keys, "low/high").
func configError(key, format string, args ...any) error {
	return &ConfigError{Keys: strings.Split(key, "/"), Err: fmt.Errorf(format, args...)}
}

// Presets returns the model presets Config.Preset accepts.
func Presets() []string { return []string{PresetThesis} }

// FrontEnds returns every front end name, implemented or not. Resolve
// rejects the ones that are not implemented yet (see doc.go, "Front ends").
func FrontEnds() []string {
	return []string{FrontEndL7, FrontEndL4, FrontEndDistributed, FrontEndColocated, FrontEndCacheCluster}
}

// Methods returns the l4 front end's forwarding methods (Config.Method).
func Methods() []string { return []string{MethodNAT, MethodTUN, MethodDR} }

// ErrNotImplemented is returned (wrapped) by Resolve for a front end that
// is planned but not implemented yet.
var ErrNotImplemented = errors.New("not implemented yet")

// thesisDFLB is the DFLB configuration of the thesis preset
// (docs/reference-model.md, last paragraph): the aggregate load is the CPU
// metric alone (the thesis's simulated load), A = 5, SCALE = 10,
// change threshold 0, target 0.95.
var thesisDFLB = algorithms.DFLBParams{Coefficients: [6]float64{0, 1, 0, 0, 0, 0}, A: 5, Scale: 10, Target: 0.95}

// Resolve returns c with every zero field replaced by its default and
// checks every field. The error names the offending field by its
// configuration key. Resolve is idempotent.
//
// Defaults (thesis preset): cache_bytes 32 MiB, cache_policy lru, costs
// of thesis §4.3, front_end l7, admission closed, speedup 1, low 30,
// high 60, dflb_interval 5 s, origin_time 100 ms, interval 10 s. The
// scheduler options inherit low/high, and options.seed is derived from
// seed (stream streamScheduler) when it is 0. In the thesis preset,
// options.dflb with all-zero coefficients becomes {0,1,0,0,0,0}, A 5,
// Scale 10 (the CPU load alone drives DFLB), and options.restart_cycle is
// set (WRR restarts its cycle when weights change). A health_check_delay of 0
// means the front end notices failures at once.
func (c Config) Resolve() (Config, error) {
	if c.Preset == "" {
		c.Preset = PresetThesis
	}
	c.Preset = strings.ToLower(c.Preset)
	if !slices.Contains(Presets(), c.Preset) {
		return c, configError("preset", "unknown preset %q (known: %s)", c.Preset, strings.Join(Presets(), ", "))
	}
	if err := c.resolveNodes(); err != nil {
		return c, err
	}
	if c.Algorithm == "" {
		return c, configError("alg", "no scheduler given (known: %s)", strings.Join(algorithms.Names(), ", "))
	}
	c.Algorithm = strings.ToLower(c.Algorithm)
	if _, ok := algorithms.Lookup(c.Algorithm); !ok {
		return c, configError("alg", "unknown scheduler %q (known: %s)", c.Algorithm, strings.Join(algorithms.Names(), ", "))
	}
	switch {
	case c.CacheBytes < 0:
		return c, configError("cache_bytes", "must be >= 0 (got %d)", c.CacheBytes)
	case c.CacheBytes == 0:
		c.CacheBytes = DefaultCacheBytes
	}
	if c.CachePolicy == "" {
		c.CachePolicy = models.PolicyLRU
	}
	c.CachePolicy = strings.ToLower(c.CachePolicy)
	if !slices.Contains(models.Policies(), c.CachePolicy) {
		return c, configError("cache_policy", "unknown policy %q (known: %s)", c.CachePolicy, strings.Join(models.Policies(), ", "))
	}
	if err := c.Costs.Validate(); err != nil {
		return c, fmt.Errorf("sim: %w", err)
	}
	c.Costs = c.Costs.WithDefaults()

	if c.FrontEnd == "" {
		c.FrontEnd = FrontEndL7
	}
	c.FrontEnd = strings.ToLower(c.FrontEnd)
	if _, ok := frontEnds[c.FrontEnd]; !ok {
		if slices.Contains(FrontEnds(), c.FrontEnd) {
			return c, configError("front_end", "%q is %w (implemented: %s)", c.FrontEnd, ErrNotImplemented, strings.Join(implementedFrontEnds(), ", "))
		}
		return c, configError("front_end", "unknown front end %q (known: %s)", c.FrontEnd, strings.Join(FrontEnds(), ", "))
	}
	c.Method = strings.ToLower(c.Method)
	if c.Method != "" {
		if !slices.Contains(Methods(), c.Method) {
			return c, configError("method", "unknown forwarding method %q (known: %s)", c.Method, strings.Join(Methods(), ", "))
		}
		if c.FrontEnd != FrontEndL4 {
			return c, configError("method/front_end", "forwarding method %s is for the l4 front end (this cell's is %s)", c.Method, c.FrontEnd)
		}
	}
	if c.Admission == "" {
		c.Admission = AdmissionClosed
		if len(c.Clusters) > 0 {
			c.Admission = AdmissionOpen // clients arrive at their trace times (geo.go)
		}
	}
	c.Admission = strings.ToLower(c.Admission)
	if c.Admission != AdmissionClosed && c.Admission != AdmissionOpen {
		return c, configError("admission", "unknown admission %q (known: closed, open)", c.Admission)
	}
	switch {
	case c.Speedup < 0 || math.IsNaN(c.Speedup) || math.IsInf(c.Speedup, 0):
		return c, configError("speedup", "must be a finite number > 0 (got %v)", c.Speedup)
	case c.Speedup == 0:
		c.Speedup = 1
	}
	if c.Low < 0 {
		return c, configError("low", "must be >= 0 (got %d)", c.Low)
	}
	if c.High < 0 {
		return c, configError("high", "must be >= 0 (got %d)", c.High)
	}
	if c.Low == 0 {
		c.Low = DefaultLow
	}
	if c.High == 0 {
		c.High = DefaultHigh
	}
	if c.Low > c.High {
		return c, configError("low/high", "low threshold %d above high threshold %d", c.Low, c.High)
	}
	durations := []struct {
		key string
		d   *time.Duration
		def time.Duration
	}{
		{"dflb_interval", &c.DFLBInterval, DefaultDFLBInterval},
		{"interval", &c.Interval, DefaultInterval},
		{"origin_time", &c.OriginTime, DefaultOriginTime},
		{"health_check_delay", &c.HealthCheckDelay, 0},
		{"connect_timeout", &c.ConnectTimeout, DefaultConnectTimeout},
		{"keep_alive", &c.KeepAlive, 0},
		{"cls_lookup", &c.CLSLookup, 0},
	}
	for _, f := range durations {
		if *f.d < 0 {
			return c, configError(f.key, "must be >= 0 (got %v)", *f.d)
		}
		if *f.d == 0 {
			*f.d = f.def
		}
	}
	// Periodic events: a monitor every nanosecond would take billions of
	// events to cross a run; the thesis's monitor runs every 2-10 s.
	if c.DFLBInterval < MinDFLBInterval {
		return c, configError("dflb_interval", "must be at least %v (got %v)", MinDFLBInterval, c.DFLBInterval)
	}
	if c.Distributors < 0 {
		return c, configError("distributors", "must be >= 0 (got %d)", c.Distributors)
	}
	if c.CLSBatch < 0 {
		return c, configError("cls_batch", "must be >= 0 (got %d)", c.CLSBatch)
	}
	if c.Distributors > MaxDistributors {
		return c, fmt.Errorf("sim: distributors: at most %d (got %d)", MaxDistributors, c.Distributors)
	}
	if c.FrontEnd == FrontEndDistributed || c.FrontEnd == FrontEndColocated || c.FrontEnd == FrontEndCacheCluster {
		// The ch.7 front ends' defaults, written into the resolved config
		// so that results show the values used.
		if c.Distributors == 0 && c.FrontEnd != FrontEndColocated {
			c.Distributors = defaultDistributors
		}
		if c.CLSBatch == 0 {
			c.CLSBatch = defaultCLSBatch
		}
		if c.CLSLookup == 0 {
			c.CLSLookup = defaultCLSLookup
		}
	}
	if c.Groups != nil {
		// Per-group caches default to the cluster's.
		c.Groups = slices.Clone(c.Groups)
		for i := range c.Groups {
			g := &c.Groups[i]
			g.CacheBytes = cmp.Or(g.CacheBytes, c.CacheBytes)
		}
	}
	for i, f := range c.Failures {
		switch {
		case f.Node < 0 || f.Node >= c.Nodes:
			return c, configError(fmt.Sprintf("failures[%d].node", i), "node %d outside 0..%d", f.Node, c.Nodes-1)
		case f.At < 0:
			return c, configError(fmt.Sprintf("failures[%d].at", i), "must be >= 0 (got %v)", f.At)
		case f.Recover < 0:
			return c, configError(fmt.Sprintf("failures[%d].recover", i), "must be >= 0 (got %v)", f.Recover)
		}
	}

	if err := c.resolveGeo(); err != nil {
		return c, err
	}
	if err := c.resolveReplicates(); err != nil {
		return c, err
	}

	o := &c.Options
	if o.Low == 0 {
		o.Low = c.Low
	}
	if o.High == 0 {
		o.High = c.High
	}
	if o.Seed == 0 {
		o.Seed = newStream(c.Seed, streamScheduler).Uint64()
	}
	if c.Preset == PresetThesis {
		// "WRR, which restarts its cycle when weights change".
		o.RestartCycle = true
	}
	if c.Preset == PresetThesis && o.DFLB.Coefficients == ([6]float64{}) {
		o.DFLB.Coefficients = thesisDFLB.Coefficients
		if o.DFLB.A == 0 {
			o.DFLB.A = thesisDFLB.A
		}
		if o.DFLB.Scale == 0 {
			o.DFLB.Scale = thesisDFLB.Scale
		}
		if o.DFLB.Target == 0 {
			o.DFLB.Target = thesisDFLB.Target
		}
	}
	return c, nil
}

// resolveNodes checks Nodes, Groups, Weights and Slowdowns and fills the
// groups' speed and weight defaults (their caches need CacheBytes, filled
// later).
func (c *Config) resolveNodes() error {
	c.Weights = strings.ToLower(c.Weights)
	if c.Weights == "given" {
		c.Weights = WeightsGiven // its only spelling in a resolved Config
	}
	if c.Weights != WeightsGiven && c.Weights != WeightsCapacity {
		return configError("weights", "unknown weights %q (known: given, capacity)", c.Weights)
	}
	if len(c.Groups) > 0 {
		c.Groups = slices.Clone(c.Groups)
		sum := 0
		for i := range c.Groups {
			g := &c.Groups[i]
			key := func(k string) string { return fmt.Sprintf("nodes[%d].%s", i, k) }
			if g.Count < 1 {
				return configError(key("count"), "need at least 1 node (got %d)", g.Count)
			}
			if sum += g.Count; sum > MaxNodes {
				return configError(key("count"), "the groups hold more than %d nodes", MaxNodes)
			}
			for _, f := range []struct {
				k string
				v *float64
			}{{"cpu_speed", &g.CPUSpeed}, {"disk_speed", &g.DiskSpeed}} {
				if *f.v == 0 {
					*f.v = 1
				}
				if err := models.CheckSpeed(*f.v); err != nil {
					return configError(key(f.k), "%w", err)
				}
			}
			if g.CacheBytes < 0 {
				return configError(key("cache"), "must be >= 0 (got %d)", g.CacheBytes)
			}
			switch {
			case c.Weights == WeightsCapacity && g.Weight != 0:
				return configError(key("weight")+"/weights", "weight %d given, but weights: capacity derives every weight from the CPU speed", g.Weight)
			case g.Weight < 0 || g.Weight > MaxWeight:
				return configError(key("weight"), "must be in 1..%d (got %d)", MaxWeight, g.Weight)
			case g.Weight == 0 && c.Weights == WeightsGiven:
				g.Weight = 1
			}
		}
		if c.Nodes == 0 {
			c.Nodes = sum
		}
		if c.Nodes != sum {
			return configError("nodes", "%d nodes, but the groups hold %d", c.Nodes, sum)
		}
	}
	if c.Nodes < 1 {
		return configError("nodes", "need at least 1 node (got %d)", c.Nodes)
	}
	for i, s := range c.Slowdowns {
		key := func(k string) string { return fmt.Sprintf("slowdown[%d].%s", i, k) }
		switch {
		case s.Node < 0 || s.Node >= c.Nodes:
			return configError(key("node"), "node %d outside 0..%d", s.Node, c.Nodes-1)
		case s.From < 0:
			return configError(key("from"), "must be >= 0 (got %v)", s.From)
		case s.To <= s.From:
			return configError(key("to"), "%v is not after from (%v)", s.To, s.From)
		}
		if err := models.CheckSpeed(s.Factor); err != nil {
			return configError(key("factor"), "%w", err)
		}
	}
	return nil
}

// MaxNodes is the largest cluster Resolve accepts as groups.
const MaxNodes = 1 << 16

// Node returns the description of node i of a resolved configuration (a
// group of Count 1).
func (c *Config) Node(i int) NodeGroup {
	for _, g := range c.Groups {
		if i < g.Count {
			return NodeGroup{Count: 1, CPUSpeed: g.CPUSpeed, DiskSpeed: g.DiskSpeed, CacheBytes: g.CacheBytes, Weight: g.Weight}
		}
		i -= g.Count
	}
	return NodeGroup{Count: 1, CPUSpeed: 1, DiskSpeed: 1, CacheBytes: c.CacheBytes, Weight: 1}
}

// NodeWeight returns the static weight of node i of a resolved
// configuration. With weights given it is the node's group Weight (1
// without groups); with weights "capacity" it is CapacityScale × the
// node's CPU speed, rounded (at least 1). A scheduler with load feedback
// (DFLB, whose weights move around a default of 10 = SCALE) gets 10 ×
// the given weight, or the capacity weight as it is (10 at speed 1), so
// that identical nodes keep the thesis's default weight 10.
func (c *Config) NodeWeight(i int, feedback bool) int {
	n := c.Node(i)
	if c.Weights == WeightsCapacity {
		return max(1, int(math.Round(CapacityScale*n.CPUSpeed)))
	}
	if feedback {
		return dflbDefaultWeight * n.Weight
	}
	return n.Weight
}

// longService returns the per-request time of c (a cost, or a front-end
// service time its front end uses) that exceeds its default by the largest
// factor, if one does: the likeliest reason a run lasts long.
func (c Config) longService() (key string, d, def time.Duration, ok bool) {
	type serviceTime struct {
		key    string
		d, def time.Duration
	}
	times := []serviceTime{
		{"costs.connect", c.Costs.Connect, models.DefaultConnect},
		{"costs.teardown", c.Costs.Teardown, models.DefaultTeardown},
		{"costs.transmit", c.Costs.Transmit, models.DefaultTransmit},
		{"costs.disk_access", c.Costs.DiskAccess, models.DefaultDiskAccess},
		{"costs.disk_transfer", c.Costs.DiskTransfer, models.DefaultDiskTransfer},
	}
	switch c.FrontEnd {
	case FrontEndCacheCluster:
		times = append(times, serviceTime{"origin_time", c.OriginTime, DefaultOriginTime})
		fallthrough
	case FrontEndDistributed, FrontEndColocated:
		times = append(times, serviceTime{"cls_lookup", c.CLSLookup, defaultCLSLookup})
	}
	best := 1.0
	for _, t := range times {
		if r := float64(t.d) / float64(t.def); t.def > 0 && r > best {
			key, d, def, ok, best = t.key, t.d, t.def, true, r
		}
	}
	return key, d, def, ok
}

// resolveReplicates checks the replicate fields; Replicates 1 becomes 0
// (both mean one run), so that results of one run do not depend on which
// was written.
func (c *Config) resolveReplicates() error {
	switch {
	case c.Replicates < 0 || c.Replicates > MaxReplicates:
		return configError("replicates", "must be in 1..%d (got %d)", MaxReplicates, c.Replicates)
	case c.Replicates == 1:
		c.Replicates = 0
	}
	switch {
	case c.Replicate < 0:
		return configError("replicate", "must be >= 0 (got %d)", c.Replicate)
	case c.Replicates > 1 && c.Replicate > c.Replicates:
		return configError("replicate/replicates", "replicate %d of %d", c.Replicate, c.Replicates)
	}
	switch {
	case math.IsNaN(c.Jitter) || c.Jitter < 0 || c.Jitter > MaxJitter:
		return configError("jitter", "must be in [0, %g] (got %v)", MaxJitter, c.Jitter)
	case math.IsNaN(c.StartOffset) || c.StartOffset < 0 || c.StartOffset > 1:
		return configError("start_offset", "must be a fraction of the trace in [0, 1] (got %v)", c.StartOffset)
	}
	if c.Replicates < 2 && c.Replicate == 0 {
		// Perturbations apply to replicates only: refuse them where they
		// would be silently ignored.
		if c.Jitter > 0 {
			return configError("jitter/replicates", "%v perturbs replicates only: set replicates to 2 or more", c.Jitter)
		}
		if c.StartOffset > 0 {
			return configError("start_offset/replicates", "%v perturbs replicates only: set replicates to 2 or more", c.StartOffset)
		}
	}
	return nil
}

// perturbed reports whether the run is a perturbed replicate.
func (c *Config) perturbed() bool { return c.Replicate > 0 }
