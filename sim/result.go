package sim

import "time"

// Result is the outcome of one simulation. It carries the resolved Config,
// the seed (inside Config) and the lvslab version, so that every figure can
// be traced to exactly what produced it.
type Result struct {
	Version string `json:"version"`
	Trace   string `json:"trace"`
	Config  Config `json:"config"`

	Requests  int `json:"requests"`  // kept requests simulated
	Completed int `json:"completed"` // requests that completed
	Bypassed  int `json:"bypassed"`  // served by the origin (cache cluster)
	Failed    int `json:"failed"`    // lost to node failures (includes Unserved)
	// Unserved counts the requests that were never dispatched because no
	// server could take them until the run ran out of events (every node
	// down and detected). They are included in Failed. Requests =
	// Completed + Failed always holds; Bypassed requests are Completed.
	Unserved int           `json:"unserved"`
	Makespan time.Duration `json:"makespan_ns"` // time of the last completion

	ThroughputRPS  float64       `json:"throughput_rps"`  // completed / makespan
	ThroughputMBps float64       `json:"throughput_mbps"` // bytes sent / makespan, in MB (10^6) per second
	HitRatio       float64       `json:"hit_ratio"`       // cluster cache hits / requests served by nodes
	P50            time.Duration `json:"p50_ns"`
	P95            time.Duration `json:"p95_ns"`
	P99            time.Duration `json:"p99_ns"`
	MeanResponse   time.Duration `json:"mean_response_ns"`
	Imbalance      float64       `json:"imbalance_cov"` // coefficient of variation of per-node requests

	Nodes  []NodeResult `json:"nodes"`
	Series []Sample     `json:"series"`

	// ResponseCDF is the response-time distribution as (time, fraction)
	// points, for CDF plots.
	ResponseCDF []CDFPoint `json:"response_cdf"`

	// Multi-cluster runs (Config.Clusters) only: the requests tunnelled to
	// a remote cluster, their share of Requests, and each cluster's part.
	// Nodes then lists every cluster's nodes in cluster order, numbered
	// on (ClusterResult.FirstNode), and response times include the WAN.
	Overflowed    int             `json:"overflowed,omitempty"`
	OverflowShare float64         `json:"overflow_share,omitempty"`
	Clusters      []ClusterResult `json:"clusters,omitempty"`
}

// ClusterResult is one cluster's share of a multi-cluster run.
type ClusterResult struct {
	Cluster   int `json:"cluster"`
	Nodes     int `json:"nodes"`
	FirstNode int `json:"first_node"` // its first node in Result.Nodes
	// Home counts the requests of the clients homed on the cluster;
	// OverflowOut those of them it tunnelled to a remote cluster,
	// OverflowIn the requests remote clusters tunnelled to it, Served the
	// requests its nodes (or origin) completed, its own and tunnelled.
	Home        int `json:"home"`
	OverflowOut int `json:"overflow_out"`
	OverflowIn  int `json:"overflow_in"`
	Served      int `json:"served"`
	// ThroughputRPS is Served / the run's makespan.
	ThroughputRPS float64 `json:"throughput_rps"`
	HitRatio      float64 `json:"hit_ratio"`
	// Response times of the requests of its home clients, wherever served
	// (a tunnelled request's includes 2 × WANDelay).
	P50          time.Duration `json:"p50_ns"`
	P95          time.Duration `json:"p95_ns"`
	P99          time.Duration `json:"p99_ns"`
	MeanResponse time.Duration `json:"mean_response_ns"`
	// MaxLoad is the highest aggregate load of a monitor tick;
	// OverflowStarts counts the times the cluster started tunnelling and
	// OverflowTime the time it spent doing so (until the last arrival).
	MaxLoad        float64       `json:"max_load"`
	OverflowStarts int           `json:"overflow_starts"`
	OverflowTime   time.Duration `json:"overflow_ns"`
}

// NodeResult is one node's share of a run.
type NodeResult struct {
	Node     int     `json:"node"`
	Requests int     `json:"requests"`
	Hits     int     `json:"hits"`
	HitRatio float64 `json:"hit_ratio"`
	CPUUtil  float64 `json:"cpu_util"`  // CPU busy time / makespan (see doc.go, "Results")
	DiskUtil float64 `json:"disk_util"` // disk busy time / makespan
	Bytes    int64   `json:"bytes"`
}

// Sample is one interval of the time series: the interval [Start,
// Start+Config.Interval), the last one ending at the run's last departure
// (a completion or a loss).
type Sample struct {
	Start     time.Duration `json:"start_ns"`
	Completed int           `json:"completed"`
	Hits      int           `json:"hits"`
	// Failed counts the requests lost in the interval (to a node failure
	// or a connect timeout); the sum over the series is Result.Failed -
	// Result.Unserved (unserved requests are never dispatched, so they
	// fail at no particular time). Omitted when 0.
	Failed   int `json:"failed,omitempty"`
	InFlight int `json:"in_flight"` // requests in the cluster at the interval's end
	// NodeCompleted are the requests each node completed in the interval,
	// in node order (bypassed ones, served by the origin, are in no
	// node's count). Nil in live results, whose load generator does not
	// know which back end served a request.
	NodeCompleted []int `json:"node_completed,omitempty"`
	// Weights are the scheduler's weights at the interval's end, for
	// schedulers that change them (DFLB); nil otherwise.
	Weights []float64 `json:"weights,omitempty"`
}

// CDFPoint is one point of a cumulative distribution.
type CDFPoint struct {
	Time     time.Duration `json:"t_ns"`
	Fraction float64       `json:"fraction"`
}

// CSVHeader is the stable column list of the per-run CSV (one row per
// scheduler × node count × trace × parameters). Columns are only ever
// appended, never renamed or reordered.
var CSVHeader = []string{
	"alg", "nodes", "trace", "preset", "front_end", "admission", "cache_bytes", "cache_policy", "seed",
	"requests", "completed", "bypassed", "failed", "makespan_s",
	"throughput_rps", "throughput_mbps", "hit_ratio", "p50_ms", "p95_ms", "p99_ms", "mean_ms",
	"imbalance_cov", "cpu_util_mean", "disk_util_mean", "version",
	"config", // the resolved Config as compact JSON (the keys of the JSON results' "config")
}
