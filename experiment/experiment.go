package experiment

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lvslab/lvslab/sim"
)

// Experiment is a sweep before its traces are loaded: the traces,
// schedulers and node counts to run, and the values of the parameters
// given (one value: every cell; several: a sweep axis).
type Experiment struct {
	Name       string
	Traces     []string            // trace specs (see LoadWorkload)
	Algorithms []string            // registered scheduler names
	Nodes      []int               // node counts
	Values     map[string][]string // Param.Name -> values
	Dir        string              // relative trace paths start here
	Strict     bool                // a log line that does not parse is an error (else dropped and reported)
	// KeepDynamic keeps the traces' dynamic requests (LoadOptions).
	KeepDynamic bool

	// File is the experiment file ("" without one).
	File string

	// lines holds, for the values that come from File, where each is
	// (Param.Name, or trace, alg, nodes -> values, in Values order).
	// nodesFrom says where Nodes comes from: nodesFile, nodesFlag or ""
	// (the default).
	lines     map[string][]value
	nodesFrom string
	// flags holds the names (Param.Name, or trace, alg, nodes) given by
	// flags, which replace the file's.
	flags map[string]bool
	// traceLines are the lines of Traces in File (nil when they come from
	// --trace).
	traceLines []int
}

// Defaults of an experiment that does not name them.
const (
	DefaultAlgorithms = "wrr,wlc,dflb,lblc,lblcr"
	DefaultNodes      = "1,4,7"
)

// MaxCells bounds a sweep: an experiment expanding to more cells (traces ×
// swept values × schedulers × node counts) is refused before any of them
// is built. Every cell's configuration and result stay in memory until the
// sweep ends (a few KiB each, more with long time series), and each is a
// simulation to run.
const MaxCells = 100_000

// New returns an empty experiment: every parameter at its default.
func New() *Experiment {
	return &Experiment{Values: map[string][]string{}, lines: map[string][]value{}, flags: map[string]bool{}}
}

// ReadFile reads the experiment file path (see Parse); relative trace
// paths start at the file's folder.
func ReadFile(path string) (*Experiment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("experiment file: %w", err)
	}
	defer f.Close()
	return Parse(path, f, filepath.Dir(path))
}

// SetFlag sets name (a Param.Name with Flag set, or trace, alg or nodes)
// from a command-line flag's values, replacing what the file gave: vals
// are the flag's items (comma-separated and repeated flags, in order);
// several values sweep, but repeated failures are one schedule. Errors
// name the flag.
func (e *Experiment) SetFlag(name string, vals []string) error {
	if len(vals) == 0 {
		return fmt.Errorf("--%s: no value", name)
	}
	for i, v := range vals {
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("--%s: item %d of %d: %w", name, i+1, len(vals), errEmpty)
		}
	}
	switch name {
	case "trace":
		e.Traces, e.traceLines = vals, nil
		e.Dir = ""
	case "alg":
		e.Algorithms = vals
	case "nodes":
		if e.flags["node-groups"] {
			return errors.New("--nodes: --node-groups gives the nodes already; give one of them")
		}
		n, err := ParseNodes(vals)
		if err != nil {
			return fmt.Errorf("--nodes: %w", err)
		}
		e.Nodes = n
		e.nodesFrom = nodesFlag
		// The flag replaces the file's nodes, counts or groups.
		delete(e.Values, "node-groups")
		delete(e.lines, "node-groups")
	default:
		p, ok := ParamByName(name)
		if !ok || !p.Flag {
			return fmt.Errorf("--%s: not a parameter flag", name)
		}
		if p.Kind == Failures || p.Kind == Clusters || p.Kind == Groups || p.Kind == Slowdowns {
			// Repeated --failure flags are one schedule, not a sweep;
			// --clusters 3:4,1:2 is one layout (and --node-groups's groups
			// one cluster).
			vals = []string{strings.Join(vals, ",")}
		}
		if name == "node-groups" {
			if e.flags["nodes"] {
				return errors.New("--node-groups: --nodes gives the nodes already; give one of them")
			}
			e.Nodes, e.nodesFrom = nil, ""
			delete(e.lines, "nodes")
		}
		for _, v := range vals {
			if err := p.Check(v); err != nil {
				return fmt.Errorf("--%s: %w", name, err)
			}
		}
		e.Values[name] = vals
	}
	delete(e.lines, name)
	e.flags[name] = true
	return nil
}

// CheckSize refuses an experiment of more than MaxCells cells, naming the
// factors and where each was given.
func (e *Experiment) CheckSize() error {
	type factor struct {
		name string
		n    int
	}
	dedup := func(list []string, def int) int {
		if len(list) == 0 {
			return def
		}
		seen := map[string]bool{}
		for _, v := range list {
			seen[strings.ToLower(strings.TrimSpace(v))] = true
		}
		return len(seen)
	}
	fs := []factor{
		{"trace", dedup(e.Traces, 1)},
		{"alg", dedup(e.Algorithms, len(strings.Split(DefaultAlgorithms, ",")))},
		{"nodes", len(e.NodeCounts())},
	}
	for _, p := range params {
		if vals := e.Values[p.Name]; len(vals) > 1 {
			fs = append(fs, factor{p.Name, len(vals)})
		}
	}
	cells := 1
	for _, f := range fs {
		cells *= f.n
		if cells <= MaxCells {
			continue
		}
		var parts []string
		for _, f := range fs {
			if f.n > 1 {
				part := fmt.Sprintf("%s %d", e.name(f.name), f.n)
				if vals := e.lines[f.name]; !e.flags[f.name] && len(vals) > 0 {
					part += fmt.Sprintf(" (line %d)", vals[0].line)
				}
				parts = append(parts, part)
			}
		}
		msg := fmt.Sprintf("the sweep has more than %d cells (%s): split it into smaller experiments", MaxCells, strings.Join(parts, " × "))
		if e.File != "" {
			return fmt.Errorf("%s: %s", e.File, msg)
		}
		return errors.New(msg)
	}
	return nil
}

// name is how errors name parameter name (Param.Name, trace, alg or nodes):
// "--flag" if a flag gave it, else its file key.
func (e *Experiment) name(name string) string {
	if e.flags[name] {
		return "--" + name
	}
	if p, ok := ParamByName(name); ok {
		return p.FileKey()
	}
	return name
}

// Blame prefixes an error about configuration keys (a *sim.ConfigError,
// from resolving or running a cell) with where the experiment set the
// first of those keys it sets: "--flag: ..." or "file: line N: key: ...".
// Other errors are returned as they are.
func (e *Experiment) Blame(err error) error {
	var ce *sim.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	for _, key := range ce.Keys {
		key, _, _ = strings.Cut(key, "[") // failures[1].node
		name := key
		if p, ok := ParamByKey(key); ok && (key != "nodes" || len(e.Values[p.Name]) > 0) {
			name = p.Name // nodes given as groups: the cluster parameter
		} else if !slices.Contains(TopKeys, key) {
			continue
		}
		if e.flags[name] || len(e.lines[name]) > 0 {
			return e.at(name, err)
		}
	}
	return err
}

// at prefixes err with where the experiment sets name (Param.Name, trace,
// alg or nodes): "--flag: " or "file: line N: key: ", the line of the
// value whose sweep label err shows, or else of the first value.
func (e *Experiment) at(name string, err error) error {
	vals := e.lines[name]
	if e.flags[name] || len(vals) == 0 {
		return fmt.Errorf("--%s: %w", name, err)
	}
	line := vals[0].line
	for _, v := range vals {
		if msg := err.Error(); strings.Contains(msg, name+"="+v.v) || strings.Contains(msg, strconv.Quote(v.v)) {
			line = v.line
			break
		}
	}
	key := name
	if p, ok := ParamByName(name); ok {
		key = p.FileKey()
	}
	return fmt.Errorf("%s: %w", e.File, fileError(line, "%s: %w", key, err))
}

// Where experiment.Nodes comes from, as error messages name it.
const (
	nodesFile = "nodes: "
	nodesFlag = "--nodes "
)

// TraceWhere names where trace i of the experiment was given, as a prefix
// of the trace: "exp.yaml: line 3: trace " or "--trace ".
func (e *Experiment) TraceWhere(i int) string {
	if i < len(e.traceLines) {
		return fmt.Sprintf("%s: line %d: trace ", e.File, e.traceLines[i])
	}
	return "--trace "
}

// TracesWhere names where the traces were given, as a prefix of a trace:
// "exp.yaml: trace: " or "--trace ".
func (e *Experiment) TracesWhere() string {
	if e.traceLines != nil {
		return e.File + ": trace: "
	}
	return "--trace "
}

// NodesWhere names where the node counts were given, as a prefix of a
// count: "exp.yaml: nodes: " or "--nodes ".
func (e *Experiment) NodesWhere() string {
	if e.nodesFrom == nodesFile {
		return e.File + ": " + nodesFile
	}
	return nodesFlag
}

// NodeCounts returns the node counts run: Nodes, or the default ones; or,
// when the experiment gives its nodes as groups (the cluster parameter),
// the single count 0, which sim.Config reads as "the sum of the groups'
// counts": a cluster of groups fixes its size, and a sweep over clusters
// is a sweep of the cluster parameter.
func (e *Experiment) NodeCounts() []int {
	if len(e.Values["node-groups"]) > 0 {
		return []int{0}
	}
	if len(e.Nodes) > 0 {
		return e.Nodes
	}
	n, _ := ParseNodes([]string{DefaultNodes})
	return n
}

// AlgorithmNames returns the schedulers run, lower case: Algorithms, or
// the default ones.
func (e *Experiment) AlgorithmNames() []string {
	algs := slices.Clone(e.Algorithms)
	if len(algs) == 0 {
		algs = strings.Split(DefaultAlgorithms, ",")
	}
	for i, a := range algs {
		algs[i] = strings.ToLower(strings.TrimSpace(a))
	}
	return algs
}

// TraceSpecs returns the traces run, trimmed and without repeats: Traces,
// or the embedded trace ("default"). Index i of the result was given as
// trace TraceIndex(i) (see TraceWhere).
func (e *Experiment) TraceSpecs() (specs []string, index []int) {
	list := e.Traces
	if len(list) == 0 {
		list = []string{"default"}
	}
	seen := map[string]bool{}
	for i, t := range list {
		t = strings.TrimSpace(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		specs = append(specs, t)
		index = append(index, i)
	}
	return specs, index
}

// Axis is one swept parameter besides the algorithm, the node count and the
// trace: a cache size, a cache policy, thresholds...
type Axis struct {
	Name   string // "cache"
	Values []AxisValue
}

// AxisValue is one value of an Axis: a label for people and the change it
// makes to the configuration.
type AxisValue struct {
	Label string
	Apply func(*sim.Config)
}

// Configs returns the base configuration (the parameters given one value)
// and the sweep axes (those given several, in Params order). An error
// names where the bad value was given.
func (e *Experiment) Configs() (sim.Config, []Axis, error) {
	var base sim.Config
	var axes []Axis
	for _, p := range params {
		vals := e.Values[p.Name]
		switch len(vals) {
		case 0:
		case 1:
			if err := p.Set(&base, vals[0]); err != nil {
				return base, nil, e.at(p.Name, err)
			}
		default:
			axis := Axis{Name: p.Name}
			for _, v := range vals {
				if err := p.Check(v); err != nil {
					return base, nil, e.at(p.Name, err)
				}
				axis.Values = append(axis.Values, AxisValue{
					Label: p.Name + "=" + v,
					Apply: func(c *sim.Config) { _ = p.apply(c, v) },
				})
			}
			axes = append(axes, axis)
		}
	}
	return base, axes, nil
}

// CheckFailureNodes rejects a failure of a node that does not exist at a
// node count run (nodes are numbered 0..n-1), naming where the failure was
// given (the file and the line of that failure, or --failure) and the node
// counts it does not fit. sim.Config.Resolve would reject it too, but
// later and without saying where it came from.
//
// It checks the slowdowns' nodes the same way, and with nodes given as
// groups, the nodes of every cluster.
func (e *Experiment) CheckFailureNodes() error {
	counts := e.NodeCounts()
	if vals := e.Values["node-groups"]; len(vals) > 0 {
		counts = nil
		for _, v := range vals {
			if n := GroupsSize(v); !slices.Contains(counts, n) {
				counts = append(counts, n)
			}
		}
		slices.Sort(counts)
	}
	for _, name := range []string{"failure", "slowdown"} {
		for vi, v := range e.Values[name] {
			var nodes []int
			if name == "failure" {
				fs, err := ParseFailures(v)
				if err != nil {
					return fmt.Errorf("failure: %w", err)
				}
				for _, f := range fs {
					nodes = append(nodes, f.Node)
				}
			} else {
				ss, err := ParseSlowdowns(v)
				if err != nil {
					return fmt.Errorf("slowdown: %w", err)
				}
				for _, s := range ss {
					nodes = append(nodes, s.Node)
				}
			}
			if err := e.checkNodes(name, vi, nodes, counts); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkNodes checks the nodes of value vi of parameter name (failure or
// slowdown) against the node counts run.
func (e *Experiment) checkNodes(name string, vi int, nodes, counts []int) error {
	p, _ := ParamByName(name)
	key := p.FileKey()
	for i, node := range nodes {
		var bad []int
		for _, n := range counts {
			if node >= n {
				bad = append(bad, n)
			}
		}
		if len(bad) == 0 {
			continue
		}
		// "with nodes: 1 (nodes are numbered 0..0)", "with nodes 1,4
		// (the default node counts, 1,4,7; n nodes are numbered 0..n-1)"
		where := e.nodesFrom + NodesString(bad) + " ("
		switch {
		case len(e.Values["node-groups"]) > 0:
			where = fmt.Sprintf("the node groups of %s nodes (", NodesString(bad))
		case e.nodesFrom == "":
			where = fmt.Sprintf("nodes %s (the default node counts, %s; ", NodesString(bad), DefaultNodes)
		}
		numbering := "n nodes are numbered 0..n-1"
		if len(bad) == 1 {
			numbering = fmt.Sprintf("nodes are numbered 0..%d", bad[0]-1)
		}
		msg := fmt.Sprintf("%s[%d].node: node %d does not exist with %s%s)", key, i, node, where, numbering)
		if vals := e.lines[name]; vi < len(vals) && !e.flags[name] {
			line := vals[vi].line
			if i < len(vals[vi].items) {
				line = vals[vi].items[i]
			}
			return fmt.Errorf("%s: %w", e.File, fileError(line, "%s", msg))
		}
		return fmt.Errorf("--%s: %s", name, msg)
	}
	return nil
}

// NodesString writes node counts compactly: "1-16", "1,4,7".
func NodesString(ns []int) string {
	var parts []string
	for i := 0; i < len(ns); {
		j := i
		for j+1 < len(ns) && ns[j+1] == ns[j]+1 {
			j++
		}
		if j > i+1 {
			parts = append(parts, fmt.Sprintf("%d-%d", ns[i], ns[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, strconv.Itoa(ns[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Input is a file a command reads, as the user named it: What says how
// errors name it ("the --trace file %s", with %s for the path).
type Input struct {
	What string
	Path string
}

// TraceInputs lists the files of trace specs (see LoadWorkload): the parts
// of "a.log+b.log", relative to dir; "default" and "synth:..." read none.
// what names them in errors.
func TraceInputs(what string, specs []string, dir string) []Input {
	var in []Input
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		if spec == "" || spec == "default" || strings.HasPrefix(spec, "synth:") {
			continue
		}
		for _, p := range strings.Split(spec, "+") {
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			in = append(in, Input{what, p})
		}
	}
	return in
}

// Inputs lists the files the experiment reads: its file and its traces
// (--trace, or the file's trace key, relative to the file).
func (e *Experiment) Inputs() []Input {
	var in []Input
	if e.File != "" {
		in = append(in, Input{"the -f file %s", e.File})
	}
	if e.File != "" && e.Dir != "" { // traces from the file (a --trace flag clears Dir)
		return append(in, TraceInputs("the trace file %s (trace: in "+e.File+")", e.Traces, e.Dir)...)
	}
	return append(in, TraceInputs("the --trace file %s", e.Traces, "")...)
}

// List is a list flag's value (it implements pflag.Value):
// comma-separated values, a repeated flag adding to the list. Unlike
// pflag's string slices it keeps empty items (--alg "" and --alg wrr,,wlc),
// for SetFlag to refuse.
type List []string

func (l *List) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

func (l *List) String() string { return strings.Join(*l, ",") }

// Type names the flag's kind in help.
func (l *List) Type() string { return "strings" }

// FlagUsage is the help of the flag of parameter p.
func (p Param) FlagUsage() string {
	usage := p.Usage + "; several values sweep"
	switch p.Kind {
	case Failures:
		usage = p.Usage + "; repeat for several failures in one run"
	case Clusters:
		usage = p.Usage + "; one layout per run (a file's list of layouts sweeps)"
	case Slowdowns:
		usage = p.Usage + "; repeat for several slowdowns in one run"
	case Groups:
		usage = p.Usage + "; repeat for more groups of the one cluster (a file's list of lists sweeps clusters)"
	}
	if k := p.FileKey(); k != strings.ReplaceAll(p.Name, "-", "_") {
		usage += " (file key " + k + ")"
	}
	return usage
}

// ParseFailures parses a failure schedule: "none", or comma-separated
// NODE@AT[-RECOVER] ("1@30s-1m30s,2@10s"). A node fails again only after
// it recovered.
func ParseFailures(v string) ([]sim.Failure, error) {
	v = strings.TrimSpace(v)
	if v == none {
		return nil, nil
	}
	if v == "" {
		return nil, errors.New(`no failure (want NODE@AT[-RECOVER], e.g. 1@30s-90s, or "none")`)
	}
	var fs []sim.Failure
	for _, item := range strings.Split(v, ",") {
		f, err := parseFailure(item)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, checkFailures(fs)
}

// parseFailure parses NODE@AT[-RECOVER].
func parseFailure(s string) (sim.Failure, error) {
	s = strings.TrimSpace(s)
	bad := func(why string) (sim.Failure, error) {
		return sim.Failure{}, fmt.Errorf("%q: %s (want NODE@AT[-RECOVER], e.g. 1@30s-90s)", s, why)
	}
	node, times, ok := strings.Cut(s, "@")
	if !ok {
		return bad("no @")
	}
	var f sim.Failure
	var err error
	if f.Node, err = parseInt(node); err != nil {
		return bad("the node: " + err.Error())
	}
	if f.Node < 0 {
		return bad("the node must be >= 0")
	}
	at, rec, hasRec := strings.Cut(times, "-")
	if f.At, err = parseDuration(at); err != nil {
		return bad("the failure time: " + err.Error())
	}
	if f.At < 0 {
		return bad("the failure time must be >= 0")
	}
	if hasRec {
		if f.Recover, err = parseDuration(rec); err != nil {
			return bad("the recovery time: " + err.Error())
		}
		if f.Recover <= f.At {
			return bad("the recovery time must be after the failure time")
		}
	}
	return f, nil
}

// FormatFailures is the canonical text of a schedule (ParseFailures).
func FormatFailures(fs []sim.Failure) string {
	if len(fs) == 0 {
		return none
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%d@%v", f.Node, f.At)
		if f.Recover > f.At {
			parts[i] += fmt.Sprintf("-%v", f.Recover)
		}
	}
	return strings.Join(parts, ",")
}

// checkFailures rejects a node failing while it is down: the engine's
// down and up events of one node must alternate.
func checkFailures(fs []sim.Failure) error {
	byNode := map[int][]sim.Failure{}
	for _, f := range fs {
		byNode[f.Node] = append(byNode[f.Node], f)
	}
	for _, f := range fs { // in input order, for a deterministic message
		list := byNode[f.Node]
		slices.SortStableFunc(list, func(a, b sim.Failure) int { return cmp.Compare(a.At, b.At) })
		for i := 1; i < len(list); i++ {
			prev, cur := list[i-1], list[i]
			if prev.Recover <= prev.At {
				return fmt.Errorf("node %d fails at %v, but it never recovers from its failure at %v", cur.Node, cur.At, prev.At)
			}
			if cur.At <= prev.Recover {
				return fmt.Errorf("node %d fails at %v, while down from %v to %v", cur.Node, cur.At, prev.At, prev.Recover)
			}
		}
	}
	return nil
}
