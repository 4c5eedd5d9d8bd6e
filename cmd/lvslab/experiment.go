package main

// Experiments: what "lvslab sim", "lvslab sweep" and "lvslab reproduce" run.
// An experiment comes from flags or from a YAML file (-f); both name the
// same parameters (a flag --cache-policy is the YAML key cache_policy), and
// any parameter given several values becomes a sweep axis.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// param is one configuration parameter settable by a flag and a YAML key.
type param struct {
	flag  string // flag name; the YAML key is the same with '_' for '-'
	usage string
	apply func(c *sim.Config, v string) error
}

func (p param) key() string { return strings.ReplaceAll(p.flag, "-", "_") }

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 5s, 100ms)", v)
	}
	return d, nil
}

// params are the configuration parameters, in the order sweep axes nest
// (the first outermost).
var params = []param{
	{"preset", "model preset (" + strings.Join(sim.Presets(), ", ") + ")", func(c *sim.Config, v string) error {
		c.Preset = v
		return nil
	}},
	{"cache", "cache size per node, e.g. 8MiB (default 32MiB)", func(c *sim.Config, v string) error {
		n, err := traces.ParseBytes(v)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "traces: "))
		}
		if n <= 0 {
			return fmt.Errorf("%q: the cache size must be positive", v)
		}
		c.CacheBytes = n
		return nil
	}},
	{"cache-policy", "cache replacement policy: lru, lfu, gds", func(c *sim.Config, v string) error {
		c.CachePolicy = v
		return nil
	}},
	{"front-end", "front end: l7, l4, distributed, colocated, cachecluster", func(c *sim.Config, v string) error {
		c.FrontEnd = v
		return nil
	}},
	{"admission", "admission: closed (saturation) or open (trace timestamps / speedup)", func(c *sim.Config, v string) error {
		c.Admission = v
		return nil
	}},
	{"speedup", "open admission: divide trace inter-arrival times by this", func(c *sim.Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return fmt.Errorf("%q is not a positive number", v)
		}
		c.Speedup = f
		return nil
	}},
	{"low", "LBLC low threshold per node, in connections (default 30)", func(c *sim.Config, v string) (err error) {
		c.Low, err = parseInt(v)
		return err
	}},
	{"high", "LBLC high threshold per node; closed admission admits nodes×high (default 60)", func(c *sim.Config, v string) (err error) {
		c.High, err = parseInt(v)
		return err
	}},
	{"keep-alive", "l4 front end: HTTP/1.1 keep-alive time (0: HTTP/1.0)", func(c *sim.Config, v string) (err error) {
		c.KeepAlive, err = parseDuration(v)
		return err
	}},
	{"distributors", "distributed front end: number of L7 distributors", func(c *sim.Config, v string) (err error) {
		c.Distributors, err = parseInt(v)
		return err
	}},
	{"dflb-interval", "DFLB load-monitor period (default 5s)", func(c *sim.Config, v string) (err error) {
		c.DFLBInterval, err = parseDuration(v)
		return err
	}},
	{"interval", "time-series bucket width in simulated time (default 10s)", func(c *sim.Config, v string) (err error) {
		c.Interval, err = parseDuration(v)
		return err
	}},
	{"seed", "random seed (workload sampling, scheduler ties)", func(c *sim.Config, v string) error {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
		c.Seed = n
		return nil
	}},
}

// experiment is a sweep before its traces are loaded.
type experiment struct {
	Name       string
	Traces     []string            // trace specs (see loadWorkload)
	Algorithms []string            // registered scheduler names
	Nodes      []int               // node counts
	Values     map[string][]string // param flag name -> values
	Dir        string              // relative trace paths start here
}

// experimentFile is the YAML form of an experiment. Every key but name
// takes one value or a list; a list of several values sweeps.
type experimentFile struct {
	Name         string  `yaml:"name"`
	Trace        strList `yaml:"trace"`
	Alg          strList `yaml:"alg"`
	Nodes        strList `yaml:"nodes"`
	Preset       strList `yaml:"preset"`
	Cache        strList `yaml:"cache"`
	CachePolicy  strList `yaml:"cache_policy"`
	FrontEnd     strList `yaml:"front_end"`
	Admission    strList `yaml:"admission"`
	Speedup      strList `yaml:"speedup"`
	Low          strList `yaml:"low"`
	High         strList `yaml:"high"`
	KeepAlive    strList `yaml:"keep_alive"`
	Distributors strList `yaml:"distributors"`
	DFLBInterval strList `yaml:"dflb_interval"`
	Interval     strList `yaml:"interval"`
	Seed         strList `yaml:"seed"`
}

func (f *experimentFile) values() map[string]strList {
	return map[string]strList{
		"preset": f.Preset, "cache": f.Cache, "cache-policy": f.CachePolicy, "front-end": f.FrontEnd,
		"admission": f.Admission, "speedup": f.Speedup, "low": f.Low, "high": f.High,
		"keep-alive": f.KeepAlive, "distributors": f.Distributors, "dflb-interval": f.DFLBInterval,
		"interval": f.Interval, "seed": f.Seed,
	}
}

// strList is a YAML scalar or a list of scalars, and the line it is on.
type strList struct {
	V    []string
	Line int
}

func (s *strList) UnmarshalYAML(n *yaml.Node) error {
	s.Line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		s.V = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		s.V = make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a value, got a %s", c.Line, kindName(c.Kind))
			}
			s.V = append(s.V, c.Value)
		}
		return nil
	}
	return fmt.Errorf("line %d: want a value or a list of values, got a %s", n.Line, kindName(n.Kind))
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

// yamlKeys lists the keys of experimentFile, for error messages.
func yamlKeys() []string {
	keys := []string{"name", "trace", "alg", "nodes"}
	for _, p := range params {
		keys = append(keys, p.key())
	}
	return keys
}

// parseExperiment reads a YAML experiment. Unknown keys are errors naming
// the key and its line; dir is where relative trace paths start.
func parseExperiment(name string, r io.Reader, dir string) (*experiment, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var f experimentFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty experiment file", name)
		}
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var lines []string
			for _, e := range te.Errors {
				if m := unknownField.FindStringSubmatch(e); m != nil {
					e = fmt.Sprintf("line %s: unknown key %q (known keys: %s)", m[1], m[2], strings.Join(yamlKeys(), ", "))
				}
				lines = append(lines, e)
			}
			msg = strings.Join(lines, "; ")
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document; an experiment file holds one", name)
	}
	e := &experiment{Name: f.Name, Traces: f.Trace.V, Algorithms: f.Alg.V, Dir: dir, Values: map[string][]string{}}
	if f.Trace.Line > 0 && len(f.Trace.V) == 0 {
		return nil, fmt.Errorf("%s: line %d: trace: empty list", name, f.Trace.Line)
	}
	if f.Alg.Line > 0 && len(f.Alg.V) == 0 {
		return nil, fmt.Errorf("%s: line %d: alg: empty list", name, f.Alg.Line)
	}
	if f.Nodes.Line > 0 {
		if e.Nodes, err = parseNodes(f.Nodes.V); err != nil {
			return nil, fmt.Errorf("%s: line %d: nodes: %w", name, f.Nodes.Line, err)
		}
	}
	vals := f.values()
	for _, p := range params {
		v := vals[p.flag]
		if v.Line == 0 {
			continue
		}
		if len(v.V) == 0 {
			return nil, fmt.Errorf("%s: line %d: %s: empty list", name, v.Line, p.key())
		}
		e.Values[p.flag] = v.V
		for _, x := range v.V {
			var c sim.Config
			if err := p.apply(&c, x); err != nil {
				return nil, fmt.Errorf("%s: line %d: %s: %w", name, v.Line, p.key(), err)
			}
		}
	}
	return e, nil
}

// parseNodes parses node counts: numbers and ranges ("1-16"), each item
// possibly a comma list.
func parseNodes(items []string) ([]int, error) {
	var out []int
	for _, item := range items {
		for _, f := range strings.Split(item, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
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
			if b > 4096 {
				return nil, fmt.Errorf("%d: at most 4096 nodes", b)
			}
			for n := a; n <= b; n++ {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no node count")
	}
	return out, nil
}

// experimentFlags are the flags shared by sim and sweep.
type experimentFlags struct {
	file   string
	traces []string
	algs   []string
	nodes  []string
	values map[string]*[]string
}

const (
	defaultAlgs  = "wrr,wlc,dflb,lblc,lblcr"
	defaultNodes = "1,4,7"
)

func addExperimentFlags(cmd *cobra.Command, ef *experimentFlags) {
	fs := cmd.Flags()
	fs.StringVarP(&ef.file, "file", "f", "", "experiment file (YAML); flags given too override its keys")
	fs.StringSliceVar(&ef.traces, "trace", nil, `trace: a log file (CLF/Combined, plain or gzip), "a.log+b.log" to merge logs into one workload,
"default" for the embedded trace, or "synth:PRESET[:REQUESTS]" for a synthetic one; repeat or comma-separate to sweep traces (default "default")`)
	fs.StringSliceVar(&ef.algs, "alg", nil, "schedulers, comma-separated (default "+defaultAlgs+")")
	fs.StringSliceVar(&ef.nodes, "nodes", nil, "node counts: a list and/or ranges, e.g. 1,4,7 or 1-16 (default "+defaultNodes+")")
	ef.values = map[string]*[]string{}
	for _, p := range params {
		v := new([]string)
		ef.values[p.flag] = v
		fs.StringSliceVar(v, p.flag, nil, p.usage+"; several values sweep")
	}
}

// experiment builds the experiment from -f and the flags given.
func (ef *experimentFlags) experiment(cmd *cobra.Command) (*experiment, error) {
	e := &experiment{Values: map[string][]string{}}
	if ef.file != "" {
		f, err := os.Open(ef.file)
		if err != nil {
			return nil, fmt.Errorf("experiment file: %w", err)
		}
		defer f.Close()
		if e, err = parseExperiment(ef.file, f, filepath.Dir(ef.file)); err != nil {
			return nil, err
		}
	}
	fs := cmd.Flags()
	if fs.Changed("trace") {
		e.Traces = ef.traces
		e.Dir = ""
	}
	if fs.Changed("alg") {
		e.Algorithms = ef.algs
	}
	if fs.Changed("nodes") {
		n, err := parseNodes(ef.nodes)
		if err != nil {
			return nil, fmt.Errorf("--nodes: %w", err)
		}
		e.Nodes = n
	}
	for _, p := range params {
		if !fs.Changed(p.flag) {
			continue
		}
		vals := *ef.values[p.flag]
		if len(vals) == 0 {
			return nil, fmt.Errorf("--%s: no value", p.flag)
		}
		for _, v := range vals {
			var c sim.Config
			if err := p.apply(&c, v); err != nil {
				return nil, fmt.Errorf("--%s: %w", p.flag, err)
			}
		}
		e.Values[p.flag] = vals
	}
	return e, nil
}

// spec loads the traces and builds the sweep.
func (e *experiment) spec() (*workbench.Spec, error) {
	s := &workbench.Spec{Algorithms: e.Algorithms, Nodes: e.Nodes}
	if len(s.Algorithms) == 0 {
		s.Algorithms = strings.Split(defaultAlgs, ",")
	}
	for i, a := range s.Algorithms {
		s.Algorithms[i] = strings.ToLower(strings.TrimSpace(a))
	}
	if len(s.Nodes) == 0 {
		s.Nodes, _ = parseNodes([]string{defaultNodes})
	}
	for _, p := range params {
		vals := e.Values[p.flag]
		switch len(vals) {
		case 0:
		case 1:
			if err := p.apply(&s.Base, vals[0]); err != nil {
				return nil, fmt.Errorf("%s: %w", p.flag, err)
			}
		default:
			axis := workbench.Axis{Name: p.flag}
			for _, v := range vals {
				var probe sim.Config
				if err := p.apply(&probe, v); err != nil {
					return nil, fmt.Errorf("%s: %w", p.flag, err)
				}
				axis.Values = append(axis.Values, workbench.AxisValue{
					Label: p.flag + "=" + v,
					Apply: func(c *sim.Config) { _ = p.apply(c, v) },
				})
			}
			s.Axes = append(s.Axes, axis)
		}
	}
	specs := e.Traces
	if len(specs) == 0 {
		specs = []string{"default"}
	}
	seen := map[string]bool{}
	for _, t := range specs {
		t = strings.TrimSpace(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		w, err := loadWorkload(t, e.Dir)
		if err != nil {
			return nil, err
		}
		s.Workloads = append(s.Workloads, w)
	}
	return s, nil
}

// loadWorkload loads a trace spec under the reference filters
// (reference-model.md, workload rule 1):
//
//	default               the trace embedded in the binary
//	synth:PRESET[:N]      a synthetic workload (traces.SynthPreset), N requests
//	a.log[+b.log...]      log files, merged in order into one workload
//
// Relative paths start at dir.
func loadWorkload(spec, dir string) (*traces.Workload, error) {
	var w *traces.Workload
	var err error
	switch {
	case spec == "":
		return nil, errors.New("trace: empty name")
	case spec == "default":
		w, err = traces.LoadDefault(traces.ReferenceFilter())
	case strings.HasPrefix(spec, "synth:"):
		w, err = synthWorkload(strings.TrimPrefix(spec, "synth:"))
	default:
		var paths []string
		for _, p := range strings.Split(spec, "+") {
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if _, serr := os.Stat(p); serr != nil {
				return nil, fmt.Errorf("trace %s: %w", p, unwrapPathError(serr))
			}
			paths = append(paths, p)
		}
		w, err = traces.Load(paths, traces.ReferenceFilter())
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", spec, err)
	}
	if len(w.Requests) == 0 {
		return nil, fmt.Errorf("trace %s: no request left after the reference filters (GET, status 200, bytes > 0, static): %d lines read, dropped %s",
			spec, w.Lines, formatDropped(w.Dropped))
	}
	return w, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func formatDropped(d map[string]int) string {
	if len(d) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, d[k]))
	}
	return strings.Join(parts, ", ")
}

// synthWorkload builds a synthetic workload from "PRESET[:REQUESTS]"
// (traces.SynthPreset; REQUESTS overrides the preset's request count). The
// workload is named after the whole spec ("synth:thesis:200000"), so that
// results name exactly what produced them.
func synthWorkload(spec string) (*traces.Workload, error) {
	name, count, hasCount := strings.Cut(spec, ":")
	m, err := traces.SynthPreset(name)
	if err != nil {
		return nil, err
	}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("request count %q: want a positive integer (synth:PRESET[:REQUESTS])", count)
		}
		m.Requests = n
	}
	m.Name = "synth:" + spec
	return traces.SynthWorkload(m)
}
