package experiment

// Heterogeneous clusters (node groups) and slowdowns: their text form (the
// flags' and the canonical text of a file's structured value) and their
// YAML form.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// groupKeys are the keys of one node group, in canonical order.
var groupKeys = []string{"count", "speed", "cpu_speed", "disk_speed", "cache", "weight"}

// ParseGroups parses a cluster of node groups: comma-separated groups
// COUNT[:KEY=VALUE...] ("3:speed=2,4" is three nodes twice as fast and
// four reference nodes). Keys: speed (CPU and disk), cpu_speed,
// disk_speed, cache (bytes, e.g. 8MiB), weight (1..sim.MaxWeight).
func ParseGroups(v string) ([]sim.NodeGroup, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, errors.New(`no node group (want COUNT[:KEY=VALUE...], comma-separated, e.g. 3:speed=2,4)`)
	}
	var gs []sim.NodeGroup
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		parts := strings.Split(item, ":")
		g := groupSetter{}
		if err := g.set("count", parts[0]); err != nil {
			return nil, fmt.Errorf("%q: %w (want COUNT[:KEY=VALUE...], e.g. 3:speed=2)", item, err)
		}
		for _, kv := range parts[1:] {
			k, x, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("%q: %q is not KEY=VALUE (keys: %s)", item, kv, strings.Join(groupKeys[1:], ", "))
			}
			if err := g.set(strings.TrimSpace(k), x); err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
		}
		gs = append(gs, g.g)
	}
	return gs, checkGroups(gs)
}

// groupSetter reads the keys of one group, refusing a key given twice
// and speed given with cpu_speed or disk_speed.
type groupSetter struct {
	g    sim.NodeGroup
	seen []string
}

func (s *groupSetter) set(k, v string) error {
	if !slices.Contains(groupKeys, k) {
		return fmt.Errorf("unknown key %q (keys: %s)", k, strings.Join(groupKeys, ", "))
	}
	if slices.Contains(s.seen, k) {
		return fmt.Errorf("%s given twice", k)
	}
	for _, pair := range [][2]string{{"speed", "cpu_speed"}, {"speed", "disk_speed"}} {
		if other := pair[0]; k == pair[1] && slices.Contains(s.seen, other) || k == other && slices.Contains(s.seen, pair[1]) {
			return fmt.Errorf("speed sets both cpu_speed and disk_speed: give either speed or those two")
		}
	}
	s.seen = append(s.seen, k)
	bad := func(err error) error { return fmt.Errorf("%s: %w", k, err) }
	switch k {
	case "count":
		n, err := parseInt(v)
		if err != nil {
			return bad(err)
		}
		if n < 1 || n > MaxNodes {
			return bad(fmt.Errorf("%q: want 1..%d nodes", strings.TrimSpace(v), MaxNodes))
		}
		s.g.Count = n
	case "speed", "cpu_speed", "disk_speed":
		f, err := parseFloat(v)
		if err == nil {
			err = models.CheckSpeed(f)
		}
		if err != nil {
			return bad(err)
		}
		if k != "disk_speed" {
			s.g.CPUSpeed = f
		}
		if k != "cpu_speed" {
			s.g.DiskSpeed = f
		}
	case "cache":
		n, err := traces.ParseBytes(strings.TrimSpace(v))
		if err != nil {
			return bad(errors.New(strings.TrimPrefix(err.Error(), "traces: ")))
		}
		if n <= 0 {
			return bad(fmt.Errorf("%q: must be > 0 (leave it out for the cluster's cache)", strings.TrimSpace(v)))
		}
		s.g.CacheBytes = n
	case "weight":
		n, err := parseInt(v)
		if err != nil {
			return bad(err)
		}
		if n < 1 || n > sim.MaxWeight {
			return bad(fmt.Errorf("%q: want 1..%d", strings.TrimSpace(v), sim.MaxWeight))
		}
		s.g.Weight = n
	}
	return nil
}

// checkGroups refuses a cluster of more than MaxNodes nodes.
func checkGroups(gs []sim.NodeGroup) error {
	sum := 0
	for _, g := range gs {
		if sum += g.Count; sum > MaxNodes {
			return fmt.Errorf("the groups hold more than %d nodes", MaxNodes)
		}
	}
	return nil
}

// FormatGroups is the canonical text of a cluster (ParseGroups).
func FormatGroups(gs []sim.NodeGroup) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		s := strconv.Itoa(g.Count)
		f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
		switch {
		case g.CPUSpeed == g.DiskSpeed && g.CPUSpeed != 0:
			s += ":speed=" + f(g.CPUSpeed)
		default:
			if g.CPUSpeed != 0 {
				s += ":cpu_speed=" + f(g.CPUSpeed)
			}
			if g.DiskSpeed != 0 {
				s += ":disk_speed=" + f(g.DiskSpeed)
			}
		}
		if g.CacheBytes != 0 {
			s += ":cache=" + traces.FormatBytes(g.CacheBytes)
		}
		if g.Weight != 0 {
			s += ":weight=" + strconv.Itoa(g.Weight)
		}
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

// GroupsSize is the number of nodes of a cluster (ParseGroups), or 0 if
// v does not parse.
func GroupsSize(v string) int {
	gs, err := ParseGroups(v)
	if err != nil {
		return 0
	}
	n := 0
	for _, g := range gs {
		n += g.Count
	}
	return n
}

// groupsText reads one cluster: a list of groups, each a mapping {count,
// speed, cpu_speed, disk_speed, cache, weight} or a COUNT[:KEY=VALUE...]
// value. The lines returned are the groups'.
func groupsText(n *yaml.Node, key string) (string, []int, error) {
	var gs []sim.NodeGroup
	var lines []int
	for i, c := range n.Content {
		switch c.Kind {
		case yaml.ScalarNode:
			v, err := scalar(c, key)
			if err != nil {
				return "", nil, err
			}
			if !strings.Contains(v.v, ":") {
				// nodes: [4, {count: 2}]: a node count (a sweep) or a
				// group of 4? Groups are written as groups.
				return "", nil, fileError(c.Line, `%s[%d]: %q in a list of node groups: write a group as {count: N, ...} or "N:KEY=VALUE" (a list of node counts holds no group)`, key, i, v.v)
			}
			more, err := ParseGroups(v.v)
			if err != nil {
				return "", nil, fileError(c.Line, "%s[%d]: %w", key, i, err)
			}
			for range more {
				lines = append(lines, c.Line)
			}
			gs = append(gs, more...)
		case yaml.MappingNode:
			var g groupSetter
			path := fmt.Sprintf("%s[%d]", key, i)
			err := mappingPairs(c, path, func(k, v *yaml.Node, kpath string) error {
				if !slices.Contains(groupKeys, k.Value) {
					return unknownKey(k, kpath, path, groupKeys)
				}
				x, err := scalar(v, kpath)
				if err != nil {
					return err
				}
				if err := g.set(k.Value, x.v); err != nil {
					return fileError(x.line, "%s: %w", path, err)
				}
				return nil
			})
			if err != nil {
				return "", nil, err
			}
			if g.g.Count == 0 {
				return "", nil, fileError(c.Line, "%s: no count", path)
			}
			gs = append(gs, g.g)
			lines = append(lines, c.Line)
		default:
			return "", nil, fileError(c.Line, "%s: want a node group {count, speed, cache, weight}, got %s", key, kindName(c))
		}
	}
	if len(gs) == 0 {
		return "", nil, fileError(n.Line, "%s: empty list", key)
	}
	if err := checkGroups(gs); err != nil {
		return "", nil, fileError(n.Line, "%s: %w", key, err)
	}
	return FormatGroups(gs), lines, nil
}

// isGroups reports whether a nodes value is in the form of groups (a
// mapping, a group's text COUNT:KEY=VALUE, or a list holding one of them
// or a list) rather than node counts.
func isGroups(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode:
		return true
	case yaml.ScalarNode:
		return strings.Contains(n.Value, ":")
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || isGroups(c) {
				return true
			}
		}
	}
	return false
}

// ParseSlowdowns parses slowdowns: "none", or comma-separated
// NODExFACTOR@FROM-TO ("2x3@60s-2m" slows node 2 three times from 60 s
// to 2 min).
func ParseSlowdowns(v string) ([]sim.Slowdown, error) {
	v = strings.TrimSpace(v)
	if v == none {
		return nil, nil
	}
	if v == "" {
		return nil, errors.New(`no slowdown (want NODExFACTOR@FROM-TO, e.g. 2x3@60s-2m, or "none")`)
	}
	var ss []sim.Slowdown
	for _, item := range strings.Split(v, ",") {
		s, err := parseSlowdown(item)
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
	return ss, nil
}

// parseSlowdown parses NODExFACTOR@FROM-TO.
func parseSlowdown(item string) (sim.Slowdown, error) {
	item = strings.TrimSpace(item)
	const form = "NODExFACTOR@FROM-TO, e.g. 2x3@60s-2m"
	node, rest, ok := strings.Cut(item, "x")
	if !ok {
		return sim.Slowdown{}, fmt.Errorf("%q: no x between the node and the factor (want %s)", item, form)
	}
	n, err := slowNode(node)
	if err != nil {
		return sim.Slowdown{}, fmt.Errorf("%q: the node: %v (want %s)", item, err, form)
	}
	s, err := parseFactorTimes(item, rest, form)
	return sim.Slowdown{Node: n, Factor: s.Factor, From: s.From, To: s.To}, err
}

// parseFactorTimes parses FACTOR@FROM-TO, the rest of item; form is the
// form errors ask for.
func parseFactorTimes(item, rest, form string) (models.Slowdown, error) {
	bad := func(why string) (models.Slowdown, error) {
		return models.Slowdown{}, fmt.Errorf("%q: %s (want %s)", item, why, form)
	}
	factor, times, ok := strings.Cut(rest, "@")
	if !ok {
		return bad("no @")
	}
	from, to, ok := strings.Cut(times, "-")
	if !ok {
		return bad("no - between from and to")
	}
	var s models.Slowdown
	for _, f := range []struct {
		what string
		set  func() error
	}{
		{"the factor", func() (err error) { s.Factor, err = slowFactor(factor); return }},
		{"from", func() (err error) { s.From, err = slowTime(from); return }},
		{"to", func() (err error) { s.To, err = slowTime(to); return }},
	} {
		if err := f.set(); err != nil {
			return bad(f.what + ": " + err.Error())
		}
	}
	if s.To <= s.From {
		return bad("to must be after from")
	}
	return s, nil
}

// ParseBackendSlowdowns parses the slowdowns of one back end (lvslab
// backend --slowdown): comma-separated FACTOR@FROM-TO, in model time.
func ParseBackendSlowdowns(v string) ([]models.Slowdown, error) {
	var ss []models.Slowdown
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		s, err := parseFactorTimes(item, item, "FACTOR@FROM-TO, e.g. 3@60s-2m")
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
	}
	return ss, nil
}

func slowNode(v string) (int, error) {
	n, err := parseInt(v)
	if err == nil && n < 0 {
		err = errNegative(v)
	}
	return n, err
}

func slowFactor(v string) (float64, error) {
	f, err := parseFloat(v)
	if err == nil {
		err = models.CheckSpeed(f)
	}
	return f, err
}

func slowTime(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err == nil && d < 0 {
		err = errNegative(v)
	}
	return d, err
}

// FormatSlowdowns is the canonical text of slowdowns (ParseSlowdowns).
func FormatSlowdowns(ss []sim.Slowdown) string {
	if len(ss) == 0 {
		return none
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%dx%s@%v-%v", s.Node, strconv.FormatFloat(s.Factor, 'g', -1, 64), s.From, s.To)
	}
	return strings.Join(parts, ",")
}

// slowdownText reads a list of slowdowns: mappings {node, factor, from,
// to} or NODExFACTOR@FROM-TO values. The lines returned are the
// slowdowns' (of the node key, for a mapping).
func slowdownText(n *yaml.Node, key string) (string, []int, error) {
	var ss []sim.Slowdown
	var lines []int
	keys := []string{"node", "factor", "from", "to"}
	for i, c := range n.Content {
		path := fmt.Sprintf("%s[%d]", key, i)
		switch c.Kind {
		case yaml.ScalarNode:
			v, err := scalar(c, key)
			if err != nil {
				return "", nil, err
			}
			s, err := parseSlowdown(v.v)
			if err != nil {
				return "", nil, fileError(c.Line, "%s: %w", path, err)
			}
			ss = append(ss, s)
			lines = append(lines, c.Line)
		case yaml.MappingNode:
			var s sim.Slowdown
			var have []string
			nodeLine := c.Line
			err := mappingPairs(c, path, func(k, v *yaml.Node, kpath string) error {
				if !slices.Contains(keys, k.Value) {
					return unknownKey(k, kpath, path, keys)
				}
				x, err := scalar(v, kpath)
				if err != nil {
					return err
				}
				switch k.Value {
				case "node":
					s.Node, err = slowNode(x.v)
					nodeLine = x.line
				case "factor":
					s.Factor, err = slowFactor(x.v)
				case "from":
					if s.From, err = parseDuration(x.v); err == nil && s.From < 0 {
						err = errNegative(x.v)
					}
				case "to":
					s.To, err = parseDuration(x.v)
				}
				if err != nil {
					return fileError(x.line, "%s: %w", kpath, err)
				}
				have = append(have, k.Value)
				return nil
			})
			if err != nil {
				return "", nil, err
			}
			for _, k := range keys {
				if !slices.Contains(have, k) {
					return "", nil, fileError(c.Line, "%s: no %s (want {node, factor, from, to})", path, k)
				}
			}
			if s.To <= s.From {
				return "", nil, fileError(c.Line, "%s.to: %v is not after from (%v)", path, s.To, s.From)
			}
			ss = append(ss, s)
			lines = append(lines, nodeLine)
		default:
			return "", nil, fileError(c.Line, "%s: want a slowdown {node, factor, from, to}, got %s", key, kindName(c))
		}
	}
	return FormatSlowdowns(ss), lines, nil
}
