package experiment

// The parameters of multi-cluster (geographic) runs, thesis §2.4.3:
// clusters, wan_delay and the overflow rule.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/sim"
)

// simGeo says why a live host cannot run a multi-cluster parameter.
const simGeo = "only the simulator runs several clusters: multi-cluster runs (thesis §2.4.3) are simulated only, a testbed has one director"

// geoParams are the parameters of multi-cluster runs (sim.Config.Clusters,
// WANDelay, Overflow).
func geoParams() []Param {
	level := func(f func(*sim.Config) *float64) func(*sim.Config, string) error {
		return setFloat(f)
	}
	return []Param{
		{Name: "clusters", Field: "Clusters", Flag: true, Kind: Clusters, Zero: "one cluster", Live: simGeo,
			Usage: `multi-cluster run (thesis §2.4.3): clusters SHARE[:NODES], e.g. "3:4,1:2" (client shares 3 and 1, 4 and 2 nodes; NODES defaults to --nodes); "none" for one cluster`,
			apply: func(c *sim.Config, v string) (err error) {
				c.Clusters, err = ParseClusters(v)
				return err
			}},
		{Name: "wan-delay", Field: "WANDelay", Flag: true, Zero: "no delay between clusters", Live: simGeo,
			Usage: "multi-cluster runs: one-way delay between clusters, paid by load reports and twice by a tunnelled request (default 0)",
			apply: setDuration(func(c *sim.Config) *time.Duration { return &c.WANDelay })},
		{Name: "overflow", Field: "Overflow.On", Flag: true, Zero: "every request is served by its home cluster", Live: simGeo,
			Usage: "multi-cluster runs: the overflow rule of thesis §2.4.3, on or off (true/false)",
			apply: func(c *sim.Config, v string) (err error) {
				c.Overflow.On, err = parseOnOff(v)
				return err
			}},
		{Name: "overflow-high", Field: "Overflow.High", Flag: true, Live: simGeo,
			Usage: "overflow rule: start tunnelling when the cluster's aggregate load is above this (default 1.1)",
			apply: level(func(c *sim.Config) *float64 { return &c.Overflow.High })},
		{Name: "overflow-low", Field: "Overflow.Low", Flag: true, Live: simGeo,
			Usage: "overflow rule: only to a remote cluster whose reported load is below this; stop when it is above (default 0.7)",
			apply: level(func(c *sim.Config) *float64 { return &c.Overflow.Low })},
		{Name: "overflow-stop", Field: "Overflow.Stop", Flag: true, Live: simGeo,
			Usage: "overflow rule: stop when the cluster's own load falls to this (default 1.0)",
			apply: level(func(c *sim.Config) *float64 { return &c.Overflow.Stop })},
		{Name: "overflow-exchange", Field: "Overflow.Exchange", Flag: true, Live: simGeo,
			Usage: "overflow rule: period of the clusters' load exchange (default 2m)",
			apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Overflow.Exchange })},
		{Name: "overflow-window", Field: "Overflow.Window", Flag: true, Live: simGeo,
			Usage: "overflow rule: load-monitor ticks the aggregate load is averaged over (default 12: load×11/12 + now/12; 1: no smoothing)",
			apply: setInt(func(c *sim.Config) *int { return &c.Overflow.Window })},
	}
}

// parseOnOff reads on/off, true/false.
func parseOnOff(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not on, off, true or false", strings.TrimSpace(v))
}

// ParseClusters parses a cluster layout: "none", or comma-separated
// SHARE[:NODES] ("3:4,1:2"); NODES 0 or left out takes the run's node
// count.
func ParseClusters(v string) ([]sim.Cluster, error) {
	v = strings.TrimSpace(v)
	if v == none {
		return nil, nil
	}
	if v == "" {
		return nil, errors.New(`no cluster (want SHARE[:NODES],..., e.g. 3:4,1:2, or "none")`)
	}
	var cs []sim.Cluster
	for _, item := range strings.Split(v, ",") {
		c, err := parseCluster(item)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if len(cs) < 2 {
		return nil, fmt.Errorf("%q: a multi-cluster run needs at least 2 clusters", v)
	}
	if len(cs) > sim.MaxClusters {
		return nil, fmt.Errorf("%q: at most %d clusters", v, sim.MaxClusters)
	}
	return cs, nil
}

func parseCluster(s string) (sim.Cluster, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (sim.Cluster, error) {
		return sim.Cluster{}, fmt.Errorf("%q: %s (want SHARE[:NODES], e.g. 3:4)", s, why)
	}
	share, nodes, hasNodes := strings.Cut(s, ":")
	var c sim.Cluster
	var err error
	if c.Share, err = parseFloat(share); err != nil {
		return bad("the share: " + err.Error())
	}
	if c.Share <= 0 {
		return bad("the share must be > 0")
	}
	if hasNodes {
		if c.Nodes, err = parseInt(nodes); err != nil {
			return bad("the node count: " + err.Error())
		}
		if c.Nodes < 0 || c.Nodes > MaxNodes {
			return bad(fmt.Sprintf("the node count must be in 0..%d", MaxNodes))
		}
	}
	return c, nil
}

// FormatClusters is the canonical text of a layout (ParseClusters).
func FormatClusters(cs []sim.Cluster) string {
	if len(cs) == 0 {
		return none
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = strconv.FormatFloat(c.Share, 'g', -1, 64)
		if c.Nodes != 0 {
			parts[i] += ":" + strconv.Itoa(c.Nodes)
		}
	}
	return strings.Join(parts, ",")
}

// clustersText reads one cluster layout: a list of {nodes, share}
// mappings or SHARE[:NODES] values. The lines returned are the clusters'.
func clustersText(n *yaml.Node, key string) (string, []int, error) {
	var cs []sim.Cluster
	var lines []int
	for i, c := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		switch c.Kind {
		case yaml.ScalarNode:
			v, err := scalar(c, path)
			if err != nil {
				return "", nil, err
			}
			cl, err := parseCluster(v.v)
			if err != nil {
				return "", nil, fileError(c.Line, "%s: %w", path, err)
			}
			cs = append(cs, cl)
		case yaml.MappingNode:
			var cl sim.Cluster
			hasShare := false
			err := mappingPairs(c, path, func(k, v *yaml.Node, sub string) error {
				x, err := scalar(v, sub)
				if err != nil {
					return err
				}
				switch k.Value {
				case "share":
					if cl.Share, err = parseFloat(x.v); err == nil && cl.Share <= 0 {
						err = fmt.Errorf("%q: must be > 0", strings.TrimSpace(x.v))
					}
					hasShare = true
				case "nodes":
					if cl.Nodes, err = parseInt(x.v); err == nil && (cl.Nodes < 1 || cl.Nodes > MaxNodes) {
						err = fmt.Errorf("%q: must be in 1..%d (leave nodes out for the run's node count)", strings.TrimSpace(x.v), MaxNodes)
					}
				default:
					return unknownKey(k, sub, path, []string{"nodes", "share"})
				}
				if err != nil {
					return fileError(x.line, "%s: %w", sub, err)
				}
				return nil
			})
			if err != nil {
				return "", nil, err
			}
			if !hasShare {
				return "", nil, fileError(c.Line, "%s: no share", path)
			}
			cs = append(cs, cl)
		default:
			return "", nil, fileError(c.Line, "%s: want a cluster {nodes, share}, got %s", path, kindName(c))
		}
		lines = append(lines, c.Line)
	}
	switch {
	case len(cs) < 2:
		return "", nil, fileError(n.Line, "%s: a multi-cluster run needs at least 2 clusters (got %d); leave clusters out for one", key, len(cs))
	case len(cs) > sim.MaxClusters:
		return "", nil, fileError(n.Line, "%s: at most %d clusters (got %d)", key, sim.MaxClusters, len(cs))
	}
	return FormatClusters(cs), lines, nil
}
