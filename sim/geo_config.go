package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Cluster is one site of a multi-cluster run (Config.Clusters): its own
// front end and nodes, and the share of the clients homed on it.
type Cluster struct {
	// Nodes is the cluster's node count; 0 takes Config.Nodes.
	Nodes int `json:"nodes" yaml:"nodes"`
	// Share is the cluster's relative share of the clients (> 0): a
	// client is homed on cluster c with probability Share_c / Σ Share,
	// as anycast routes each client to its nearest site.
	Share float64 `json:"share" yaml:"share"`
}

// Overflow is the overflow rule of thesis §2.4.3 between the clusters of a
// multi-cluster run: a cluster's director forwards new connections by IP
// tunnel to a remote cluster when its own aggregate load is above High and
// the remote's last reported load is below Low; it stops when the remote's
// reported load exceeds Low or its own falls to Stop. Loads are exchanged
// every Exchange. Zero fields take the thesis's values.
type Overflow struct {
	// On enables the rule; off, every request is served by its client's
	// home cluster (the baseline).
	On bool `json:"on" yaml:"on"`
	// High: a cluster starts overflowing when its aggregate load is above
	// High (default 1.1).
	High float64 `json:"high" yaml:"high"`
	// Low: only to a remote cluster whose reported load is below Low, and
	// it stops when that load exceeds Low (default 0.7).
	Low float64 `json:"low" yaml:"low"`
	// Stop: it stops when its own load falls to Stop or below (default
	// 1.0). Stop < High, so that the rule has hysteresis.
	Stop float64 `json:"stop_local" yaml:"stop_local"`
	// Exchange is the period of the load exchange between clusters
	// (default 2 min, "about every 2 minutes").
	Exchange time.Duration `json:"exchange_ns" yaml:"exchange"`
	// Window smooths each cluster's aggregate load over Window monitor
	// ticks: load = load×(Window−1)/Window + now/Window, the 11/12 average
	// of the thesis's simulated load (§4.3) with the default 12; 1 takes
	// the load at the tick alone.
	Window int `json:"window" yaml:"window"`
}

// Defaults of the overflow rule (thesis §2.4.3) and the largest number of
// clusters Resolve accepts.
const (
	DefaultOverflowHigh     = 1.1
	DefaultOverflowLow      = 0.7
	DefaultOverflowStop     = 1.0
	DefaultOverflowExchange = 2 * time.Minute
	DefaultOverflowWindow   = 12
	MaxClusters             = 64
)

// resolveGeo checks and completes the multi-cluster fields. Without
// Clusters every one of them must be zero.
func (c *Config) resolveGeo() error {
	if len(c.Clusters) == 0 {
		switch {
		case c.WANDelay != 0:
			return configError("wan_delay", "needs clusters (a multi-cluster run)")
		case c.Overflow != Overflow{}:
			return configError("overflow", "needs clusters (a multi-cluster run)")
		}
		return nil
	}
	if len(c.Clusters) < 2 {
		return configError("clusters", "a multi-cluster run needs at least 2 clusters (got %d); leave clusters out for one", len(c.Clusters))
	}
	if len(c.Clusters) > MaxClusters {
		return configError("clusters", "at most %d clusters (got %d)", MaxClusters, len(c.Clusters))
	}
	c.Clusters = append([]Cluster(nil), c.Clusters...)
	for i := range c.Clusters {
		cl := &c.Clusters[i]
		if cl.Nodes < 0 {
			return configError(fmt.Sprintf("clusters[%d].nodes", i), "must be >= 0 (got %d)", cl.Nodes)
		}
		if cl.Nodes == 0 {
			cl.Nodes = c.Nodes
		}
		if !(cl.Share > 0) || math.IsInf(cl.Share, 0) {
			return configError(fmt.Sprintf("clusters[%d].share", i), "must be a finite number > 0 (got %v)", cl.Share)
		}
	}
	if c.Admission != AdmissionOpen {
		return configError("admission/clusters", "a multi-cluster run replays its clients' arrivals: admission must be open (got %s)", c.Admission)
	}
	if len(c.Failures) > 0 {
		return configError("failures/clusters", "node failures are not supported in a multi-cluster run")
	}
	if c.WANDelay < 0 {
		return configError("wan_delay", "must be >= 0 (got %v)", c.WANDelay)
	}
	o := &c.Overflow
	for _, f := range []struct {
		key string
		x   *float64
		def float64
	}{
		{"overflow_high", &o.High, DefaultOverflowHigh},
		{"overflow_low", &o.Low, DefaultOverflowLow},
		{"overflow_stop", &o.Stop, DefaultOverflowStop},
	} {
		if *f.x < 0 || math.IsNaN(*f.x) || math.IsInf(*f.x, 0) {
			return configError(f.key, "must be a finite number > 0 (got %v)", *f.x)
		}
		if *f.x == 0 {
			*f.x = f.def
		}
	}
	if o.Stop >= o.High {
		return configError("overflow_stop/overflow_high", "the stop level %v must be below the start level %v, or the rule would stop as soon as it starts", o.Stop, o.High)
	}
	switch {
	case o.Exchange < 0:
		return configError("overflow_exchange", "must be >= 0 (got %v)", o.Exchange)
	case o.Exchange == 0:
		o.Exchange = DefaultOverflowExchange
	}
	switch {
	case o.Window < 0:
		return configError("overflow_window", "must be >= 1 (got %d)", o.Window)
	case o.Window == 0:
		o.Window = DefaultOverflowWindow
	}
	return nil
}

// nextTarget is the overflow rule of thesis §2.4.3 for one cluster: cur is
// the remote cluster it forwards new connections to (-1: none), local its
// own aggregate load and remote[r] the last load cluster r reported (NaN
// until it has; remote[self] is ignored). It returns the new target:
//
//   - forwarding to cur, it stops when remote[cur] > Low or local <= Stop;
//   - not forwarding (or just stopped), it starts when local > High, to
//     the remote with the lowest reported load below Low (the lowest index
//     on a tie).
//
// A cluster that just stopped because its remote's load exceeded Low may
// so switch at once to another remote that qualifies.
func (o Overflow) nextTarget(self, cur int, local float64, remote []float64) int {
	if cur >= 0 && (remote[cur] > o.Low || local <= o.Stop) {
		cur = -1
	}
	if cur >= 0 || !(local > o.High) {
		return cur
	}
	best := -1
	for r, l := range remote {
		if r != self && l < o.Low && (best < 0 || l < remote[best]) {
			best = r
		}
	}
	return best
}

// GeoCSVHeader are the columns WriteCSV appends to CSVHeader when one of
// the results is of a multi-cluster run (empty in the rows of the others),
// so that the CSV of single-cluster runs keeps its columns. "clusters" is
// the layout, SHARE:NODES for each cluster ("3:2,1:2"); the cluster_*
// columns list one value per cluster, separated by ';'.
var GeoCSVHeader = []string{
	"clusters", "overflow", "wan_delay_ms", "overflowed", "overflow_share",
	"cluster_nodes", "cluster_home", "cluster_served", "cluster_overflow_out",
	"cluster_rps", "cluster_p50_ms", "cluster_p95_ms", "cluster_mean_ms",
}

// GeoCSVRow returns r's values under GeoCSVHeader: empty for a
// single-cluster run.
func (r *Result) GeoCSVRow() []string {
	row := make([]string, len(GeoCSVHeader))
	if len(r.Config.Clusters) == 0 {
		return row
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	ms := func(d time.Duration) string { return f(float64(d) / 1e6) }
	list := func(g func(ClusterResult) string) string {
		parts := make([]string, len(r.Clusters))
		for i, c := range r.Clusters {
			parts[i] = g(c)
		}
		return strings.Join(parts, ";")
	}
	on := "off"
	if r.Config.Overflow.On {
		on = "on"
	}
	copy(row, []string{
		ClusterLayout(r.Config.Clusters), on, ms(r.Config.WANDelay),
		strconv.Itoa(r.Overflowed), f(r.OverflowShare),
		list(func(c ClusterResult) string { return strconv.Itoa(c.Nodes) }),
		list(func(c ClusterResult) string { return strconv.Itoa(c.Home) }),
		list(func(c ClusterResult) string { return strconv.Itoa(c.Served) }),
		list(func(c ClusterResult) string { return strconv.Itoa(c.OverflowOut) }),
		list(func(c ClusterResult) string { return f(c.ThroughputRPS) }),
		list(func(c ClusterResult) string { return ms(c.P50) }),
		list(func(c ClusterResult) string { return ms(c.P95) }),
		list(func(c ClusterResult) string { return ms(c.MeanResponse) }),
	})
	return row
}

// ClusterLayout writes clusters as the CSV's clusters column does:
// SHARE:NODES for each cluster, comma-separated ("3:2,1:2").
func ClusterLayout(clusters []Cluster) string {
	parts := make([]string, len(clusters))
	for i, c := range clusters {
		parts[i] = strconv.FormatFloat(c.Share, 'g', -1, 64) + ":" + strconv.Itoa(c.Nodes)
	}
	return strings.Join(parts, ",")
}
