package experiment

// Reading experiment files: strict YAML, every error naming the key and
// its line.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/sim"
)

// classesSpec formats a class map canonically.
var classesSpec, _ = algorithms.LookupOption("classes")

// value is one value read from a file and the line it is on; for a
// structured value (a failure schedule), items are the lines of its items
// in order, where known.
type value struct {
	v     string
	line  int
	items []int
}

// fileError is an error at a line of an experiment file.
func fileError(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: "+format, append([]any{line}, args...)...)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (aliases are not supported)"
	case yaml.DocumentNode:
		return "a document"
	}
	return "a value"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scalar reads one value of key.
func scalar(n *yaml.Node, key string) (value, error) {
	if n.Kind != yaml.ScalarNode {
		return value{}, fileError(n.Line, "%s: want a value, got %s", key, kindName(n))
	}
	if isNull(n) {
		return value{}, fileError(n.Line, "%s: no value", key)
	}
	if strings.TrimSpace(n.Value) == "" {
		return value{}, fileError(n.Line, "%s: %w", key, errEmpty)
	}
	return value{v: n.Value, line: n.Line}, nil
}

// scalars reads a value or a list of values.
func scalars(n *yaml.Node, key string) ([]value, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := scalar(n, key)
		return []value{v}, err
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, fileError(n.Line, "%s: empty list", key)
		}
		out := make([]value, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := scalar(c, key)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fileError(n.Line, "%s: want a value or a list of values, got %s", key, kindName(n))
}

// mappingPairs walks a mapping's key/value pairs, rejecting non-scalar
// and repeated keys.
func mappingPairs(n *yaml.Node, section string, f func(k, v *yaml.Node, path string) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fileError(k.Line, "want a key, got %s", kindName(k))
		}
		path := k.Value
		if section != "" {
			path = section + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			return fileError(k.Line, "%s: given twice (first on line %d)", path, first)
		}
		seen[k.Value] = k.Line
		if err := f(k, v, path); err != nil {
			return err
		}
	}
	return nil
}

func unknownKey(k *yaml.Node, path, section string, known []string) error {
	where := "known keys"
	if section != "" {
		where = "known keys in " + section
	}
	return fileError(k.Line, "unknown key %q (%s: %s)", path, where, strings.Join(known, ", "))
}

// values reads the value(s) of parameter p. Several values sweep.
func (p Param) values(n *yaml.Node) ([]value, error) {
	key := p.FileKey()
	switch p.Kind {
	case Failures:
		return structured(n, key, yaml.SequenceNode, true, failureText)
	case Classes:
		return structured(n, key, yaml.MappingNode, false, classText)
	case Near:
		return structured(n, key, yaml.SequenceNode, false, nearText)
	case Numbers:
		return structured(n, key, yaml.SequenceNode, true, numbersText)
	case Clusters:
		return structured(n, key, yaml.SequenceNode, true, clustersText)
	case Groups:
		return structured(n, key, yaml.SequenceNode, true, groupsText)
	case Slowdowns:
		return structured(n, key, yaml.SequenceNode, true, slowdownText)
	case Scalar:
		return scalars(n, key)
	}
	panic("experiment: parameter " + key + " has no value kind")
}

// structured reads a parameter whose one value is a node of kind one (a
// list or a mapping): that node is one value, and a list of such nodes
// sweeps. text turns one value into its canonical text (the form a flag
// would take) and, where it tracks them, the lines of the value's items.
// With scalarOK a value may also be written as that text.
func structured(n *yaml.Node, key string, one yaml.Kind, scalarOK bool, text func(*yaml.Node, string) (string, []int, error)) ([]value, error) {
	read := func(m *yaml.Node) ([]value, error) {
		t, items, err := text(m, key)
		if err != nil {
			return nil, err
		}
		return []value{{t, m.Line, items}}, nil
	}
	switch {
	case n.Kind == yaml.ScalarNode && scalarOK:
		v, err := scalar(n, key)
		return []value{v}, err
	case n.Kind == yaml.MappingNode && one == yaml.MappingNode:
		return read(n)
	case n.Kind == yaml.MappingNode && (key == "failures" || key == "nodes" || key == "slowdown"):
		// failures: {node: 1, at: 30s}, a schedule of one failure (nodes:
		// {count: 4}, a cluster of one group; slowdown: {node: 1, ...})
		return read(&yaml.Node{Kind: yaml.SequenceNode, Line: n.Line, Content: []*yaml.Node{n}})
	case n.Kind != yaml.SequenceNode:
		return nil, fileError(n.Line, "%s: want %s, got %s", key, map[yaml.Kind]string{yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}[one], kindName(n))
	}
	// A list: one value (a list of items), or a sweep (a list of values).
	sweep := len(n.Content) > 0 && n.Content[0].Kind == one
	if one == yaml.SequenceNode && !sweep {
		for _, c := range n.Content {
			if c.Kind == yaml.SequenceNode {
				return nil, fileError(c.Line, "%s: a list mixing values and lists (a list of lists sweeps)", key)
			}
		}
		return read(n)
	}
	if len(n.Content) == 0 {
		return nil, fileError(n.Line, "%s: empty list", key)
	}
	var out []value
	for _, c := range n.Content {
		if c.Kind != one {
			return nil, fileError(c.Line, "%s: a list of %ss sweeps, but this item is %s", key, map[yaml.Kind]string{yaml.SequenceNode: "list", yaml.MappingNode: "mapping"}[one], kindName(c))
		}
		v, err := read(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// failureText reads one failure schedule: a list of {node, at, recover}
// mappings or NODE@AT[-RECOVER] values. The lines returned are the
// failures' (of the node key, for a mapping).
func failureText(n *yaml.Node, key string) (string, []int, error) {
	var fs []sim.Failure
	var lines []int
	for _, c := range n.Content {
		switch c.Kind {
		case yaml.ScalarNode:
			v, err := scalar(c, key)
			if err != nil {
				return "", nil, err
			}
			f, err := parseFailure(v.v)
			if err != nil {
				return "", nil, fileError(c.Line, "%s: %w", key, err)
			}
			fs = append(fs, f)
			lines = append(lines, c.Line)
		case yaml.MappingNode:
			var f sim.Failure
			var have [3]bool
			nodeLine := c.Line
			err := mappingPairs(c, key, func(k, v *yaml.Node, path string) error {
				if !slices.Contains([]string{"node", "at", "recover"}, k.Value) {
					return unknownKey(k, path, key, []string{"node", "at", "recover"})
				}
				x, err := scalar(v, path)
				if err != nil {
					return err
				}
				switch k.Value {
				case "node":
					if f.Node, err = parseInt(x.v); err == nil && f.Node < 0 {
						err = errNegative(x.v)
					}
					have[0] = true
					nodeLine = x.line
				case "at":
					if f.At, err = parseDuration(x.v); err == nil && f.At < 0 {
						err = errNegative(x.v)
					}
					have[1] = true
				case "recover":
					f.Recover, err = parseDuration(x.v)
					have[2] = true
				}
				if err != nil {
					return fileError(x.line, "%s: %w", path, err)
				}
				return nil
			})
			if err != nil {
				return "", nil, err
			}
			switch {
			case !have[0]:
				return "", nil, fileError(c.Line, "%s: no node", key)
			case !have[1]:
				return "", nil, fileError(c.Line, "%s: no time (at)", key)
			case have[2] && f.Recover <= f.At:
				return "", nil, fileError(c.Line, "%s.recover: %v is not after the failure at %v", key, f.Recover, f.At)
			}
			fs = append(fs, f)
			lines = append(lines, nodeLine)
		default:
			return "", nil, fileError(c.Line, "%s: want a failure {node, at, recover}, got %s", key, kindName(c))
		}
	}
	if err := checkFailures(fs); err != nil {
		return "", nil, fileError(n.Line, "%s: %w", key, err)
	}
	return FormatFailures(fs), lines, nil
}

// classText reads a mapping class -> node list (a list or one node).
func classText(n *yaml.Node, key string) (string, []int, error) {
	m := map[string][]algorithms.ServerID{}
	err := mappingPairs(n, key, func(k, v *yaml.Node, path string) error {
		name := strings.TrimSpace(k.Value)
		if name == "" || strings.ContainsAny(name, "=;") {
			return fileError(k.Line, "%s: class name %q: want a non-empty name without '=' or ';'", key, k.Value)
		}
		ids, err := nodeList(v, path)
		if err != nil {
			return err
		}
		m[name] = ids
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	o := algorithms.Options{Classes: m}
	return classesSpec.Format(o), nil, nil
}

// nodeList reads a list of node numbers, or one node number.
func nodeList(n *yaml.Node, key string) ([]algorithms.ServerID, error) {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		items = n.Content
	default:
		return nil, fileError(n.Line, "%s: want a list of nodes, got %s", key, kindName(n))
	}
	var ids []algorithms.ServerID
	for _, c := range items {
		v, err := scalar(c, key)
		if err != nil {
			return nil, err
		}
		more, err := parseIDs(v.v)
		if err != nil {
			return nil, fileError(v.line, "%s: %w", key, err)
		}
		ids = append(ids, more...)
	}
	return ids, nil
}

// nearText reads a list of {prefix, servers}.
func nearText(n *yaml.Node, key string) (string, []int, error) {
	if len(n.Content) == 0 {
		return none, nil, nil
	}
	var parts []string
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			return "", nil, fileError(c.Line, "%s: want {prefix, servers}, got %s", key, kindName(c))
		}
		var prefix string
		var ids []algorithms.ServerID
		err := mappingPairs(c, key, func(k, v *yaml.Node, path string) error {
			switch k.Value {
			case "prefix":
				x, err := scalar(v, path)
				if err != nil {
					return err
				}
				p, err := netip.ParsePrefix(strings.TrimSpace(x.v))
				if err != nil {
					return fileError(x.line, "%s: %q is not an address prefix such as 10.0.0.0/8", path, x.v)
				}
				prefix = p.String()
			case "servers":
				var err error
				if ids, err = nodeList(v, path); err != nil {
					return err
				}
			default:
				return unknownKey(k, path, key, []string{"prefix", "servers"})
			}
			return nil
		})
		if err != nil {
			return "", nil, err
		}
		if prefix == "" || len(ids) == 0 {
			return "", nil, fileError(c.Line, "%s: want both a prefix and servers", key)
		}
		parts = append(parts, prefix+"="+formatIDs(ids))
	}
	return strings.Join(parts, ";"), nil, nil
}

// numbersText reads a list of numbers.
func numbersText(n *yaml.Node, key string) (string, []int, error) {
	parts := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := scalar(c, key)
		if err != nil {
			return "", nil, err
		}
		if strings.Contains(v.v, ",") {
			return "", nil, fileError(v.line, "%s: %q is not a number", key, v.v)
		}
		parts = append(parts, strings.TrimSpace(v.v))
	}
	return strings.Join(parts, ","), nil, nil
}

// Parse reads a YAML experiment from r; name is the file name errors
// start with. Unknown keys and bad values are errors naming the key and
// its line; dir is where relative trace paths start. A sweep of more than
// MaxCells cells is refused.
func Parse(name string, r io.Reader, dir string) (*Experiment, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty experiment file", name)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document; an experiment file holds one", name)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty experiment file", name)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: line %d: an experiment is a mapping of keys to values (alg: wrr, ...), got %s", name, root.Line, kindName(root))
	}
	e := &Experiment{Dir: dir, Values: map[string][]string{}, File: name, lines: map[string][]value{}, flags: map[string]bool{}}
	if err := e.readSection(root, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := e.CheckSize(); err != nil {
		return nil, err
	}
	return e, nil
}

// readSection reads the keys of one mapping: the top level (section "")
// or a nested section such as "costs".
func (e *Experiment) readSection(n *yaml.Node, section string) error {
	return mappingPairs(n, section, func(k, v *yaml.Node, path string) error {
		// nodes: node counts (below), or node groups (the cluster
		// parameter, whose file key is nodes).
		if p, ok := ParamByKey(path); ok && (path != "nodes" || isGroups(v)) {
			vals, err := p.values(v)
			if err != nil {
				return err
			}
			var texts []string
			for _, x := range vals {
				if err := p.Check(x.v); err != nil {
					return fileError(x.line, "%s: %w", path, err)
				}
				texts = append(texts, x.v)
			}
			e.Values[p.Name] = texts
			e.lines[p.Name] = vals
			return nil
		}
		if isSection(path) {
			if v.Kind != yaml.MappingNode {
				return fileError(v.Line, "%s: want a mapping of keys (%s), got %s", path, strings.Join(sectionKeys(path), ", "), kindName(v))
			}
			return e.readSection(v, path)
		}
		if section == "" {
			switch path {
			case "name":
				x, err := scalar(v, path)
				e.Name = x.v
				return err
			case "trace", "alg":
				vals, err := scalars(v, path)
				if err != nil {
					return err
				}
				var list []string
				var lines []int
				for _, x := range vals {
					list = append(list, x.v)
					lines = append(lines, x.line)
				}
				if path == "trace" {
					e.Traces, e.traceLines = list, lines
				} else {
					e.Algorithms = list
				}
				e.lines[path] = vals
				return nil
			case "nodes":
				vals, err := scalars(v, path)
				if err != nil {
					return err
				}
				var list []string
				for _, x := range vals {
					list = append(list, x.v)
				}
				if e.Nodes, err = ParseNodes(list); err != nil {
					return fileError(v.Line, "nodes: %w", err)
				}
				e.nodesFrom = nodesFile
				e.lines[path] = []value{{v: strings.Join(list, ","), line: v.Line}}
				return nil
			case "strict", "keep_dynamic":
				x, err := scalar(v, path)
				if err != nil {
					return err
				}
				b, err := strconv.ParseBool(strings.TrimSpace(x.v))
				if err != nil {
					return fileError(x.line, "%s: %q is not true or false", path, x.v)
				}
				if path == "strict" {
					e.Strict = b
				} else {
					e.KeepDynamic = b
					e.lines[path] = []value{x}
				}
				return nil
			}
		}
		return unknownKey(k, path, section, sectionKeys(section))
	})
}

// MaxNodes is the largest node count a cluster may have.
const MaxNodes = 4096

// ParseNodes parses node counts: numbers and ranges ("1-16"), each item
// possibly a comma list. An empty item and a count given twice are
// errors, so at most MaxNodes counts are ever allocated.
func ParseNodes(items []string) ([]int, error) {
	var out []int
	var seen [MaxNodes + 1]bool
	for _, item := range items {
		for _, f := range strings.Split(item, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				return nil, fmt.Errorf("%q: %w", item, errEmpty)
			}
			lo, hi, isRange := strings.Cut(f, "-")
			a, err := strconv.Atoi(strings.TrimSpace(lo))
			if err != nil {
				return nil, fmt.Errorf("%q is not a node count or a range like 1-16", f)
			}
			b := a
			if isRange {
				if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
					return nil, fmt.Errorf("%q is not a node count or a range like 1-16", f)
				}
			}
			if a < 1 {
				return nil, fmt.Errorf("%d: a cluster needs at least 1 node", a)
			}
			if b > MaxNodes {
				return nil, fmt.Errorf("%d: at most %d nodes", b, MaxNodes)
			}
			for n := a; n <= b; n++ {
				if seen[n] {
					return nil, fmt.Errorf("node count %d given twice", n)
				}
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no node count")
	}
	return out, nil
}

// parseIDs parses a comma-separated list of node numbers.
func parseIDs(v string) ([]algorithms.ServerID, error) {
	var ids []algorithms.ServerID
	if strings.TrimSpace(v) == "" {
		return nil, nil // no node
	}
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("%q: %w", v, errEmpty)
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("node %q is not a number >= 0", s)
		}
		ids = append(ids, algorithms.ServerID(n))
	}
	return ids, nil
}

func formatIDs(ids []algorithms.ServerID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(int(id))
	}
	return strings.Join(parts, ",")
}
