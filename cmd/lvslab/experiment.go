package main

// Experiments: what "lvslab sim", "lvslab sweep" and "lvslab reproduce" run.
// An experiment comes from flags or from a YAML file (-f); both name the
// same parameters (a flag --cache-policy is the YAML key cache_policy, the
// flag --threshold the nested key options.threshold), and any parameter
// given several values becomes a sweep axis. Every sim.Config field has a
// YAML key; the common ones have a flag too.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// param is one configuration parameter: a YAML key of experiment files
// and, for the common ones, a flag of sim and sweep.
type param struct {
	// flag names the parameter in experiment.Values and in sweep labels
	// ("cache=8MiB"). For a parameter with cli set it is the flag's name;
	// otherwise it is the YAML key ("costs.disk_access").
	flag string
	// key is the YAML key, a dotted path for nested keys
	// ("options.threshold" is "threshold:" under "options:"). Empty means
	// flag with '_' for '-'.
	key   string
	cli   bool // a flag of sim and sweep
	kind  valueKind
	usage string
	// zero says what the parameter's zero value (0, 0s, false, none)
	// means, where it is a value of its own; empty, a zero value is
	// refused, since the configuration reads it as "not set" and would
	// use the default instead (see param.set).
	zero string
	// apply parses one value (as written on the command line, or the
	// canonical text of a structured YAML value) into c. It checks the
	// value's syntax and range, not whether it is zero: use set.
	apply func(c *sim.Config, v string) error
}

// set applies one value of p to c. An empty value is refused, and so is a
// value that leaves the configuration as if the parameter were not given
// (0 where zero selects the default), unless p.zero gives it a meaning:
// sim.Config cannot tell "set to 0" from "not set", so the parser does.
func (p param) set(c *sim.Config, v string) error {
	if strings.TrimSpace(v) == "" {
		return errEmpty
	}
	var probe sim.Config
	if err := p.apply(&probe, v); err != nil {
		return err
	}
	if p.zero == "" && reflect.DeepEqual(probe, sim.Config{}) {
		return errUnset(v)
	}
	return p.apply(c, v)
}

// errEmpty is the error for an empty value or list item.
var errEmpty = errors.New("empty value")

// errUnset is the error for a value the configuration would read as "not
// set".
func errUnset(v string) error {
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v[:1], "+-.0123456789") {
		return fmt.Errorf("%q: must be > 0 (0 would select the default: leave the parameter out for it)", v)
	}
	return fmt.Errorf("%q would select the default: leave the parameter out for it", v)
}

// yamlKey is the parameter's YAML key.
func (p param) yamlKey() string {
	if p.key != "" {
		return p.key
	}
	return strings.ReplaceAll(p.flag, "-", "_")
}

// valueKind says how a parameter's YAML value reads, and what a list of
// them means.
type valueKind int

const (
	// scalarKind: a value; a list of values sweeps.
	scalarKind valueKind = iota
	// failureKind: a list of failures (mappings {node, at, recover} or
	// "NODE@AT[-RECOVER]"), one schedule; a list of such lists sweeps.
	failureKind
	// classKind: a mapping class -> node list; a list of mappings sweeps.
	classKind
	// nearKind: a list of {prefix, servers}; a list of such lists sweeps.
	nearKind
	// numbersKind: a list of numbers; a list of such lists sweeps.
	numbersKind
)

// none is the text of an empty structured value (no failure, no class).
const none = "none"

// errRange is the error for a number too large for its type.
func errRange(v string, max any) error {
	return fmt.Errorf("%q is out of range (max %v)", strings.TrimSpace(v), max)
}

func parseInt(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if errors.Is(err, strconv.ErrRange) {
		return 0, errRange(v, math.MaxInt)
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	return n, nil
}

func parseUint(v string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, errRange(v, uint64(math.MaxUint64))
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative integer", v)
	}
	return n, nil
}

// durationSyntax matches what time.ParseDuration accepts, whatever the
// magnitude: an optional sign and numbers with units, or a bare 0.
var durationSyntax = regexp.MustCompile(`^[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$`)

func parseDuration(v string) (time.Duration, error) {
	t := strings.TrimSpace(v)
	d, err := time.ParseDuration(t)
	if err != nil {
		if durationSyntax.MatchString(t) {
			// Well formed, so too large for time.Duration's nanoseconds.
			return 0, errRange(v, time.Duration(math.MaxInt64))
		}
		return 0, fmt.Errorf("%q is not a duration (e.g. 5s, 100ms, 20us)", v)
	}
	return d, nil
}

func parseFloat(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0) {
		return 0, errRange(v, math.MaxFloat64)
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", v)
	}
	return f, nil
}

// errNegative is the error for a value below 0.
func errNegative(v string) error {
	return fmt.Errorf("%q: must be >= 0", strings.TrimSpace(v))
}

// Setters for the parameter table. They refuse what is malformed, out of
// range or negative; param.set refuses a zero that would only select the
// default.

func setString(f func(*sim.Config) *string) func(*sim.Config, string) error {
	return func(c *sim.Config, v string) error {
		*f(c) = strings.TrimSpace(v)
		return nil
	}
}

// setNumber returns an apply function that parses a value with parse and
// stores it in the field f selects; negative values are refused.
func setNumber[T int | int64 | float64 | time.Duration](parse func(string) (T, error), f func(*sim.Config) *T) func(*sim.Config, string) error {
	return func(c *sim.Config, v string) error {
		x, err := parse(v)
		if err != nil {
			return err
		}
		if x < 0 {
			return errNegative(v)
		}
		*f(c) = x
		return nil
	}
}

func setDuration(f func(*sim.Config) *time.Duration) func(*sim.Config, string) error {
	return setNumber(parseDuration, f)
}

func setInt(f func(*sim.Config) *int) func(*sim.Config, string) error {
	return setNumber(parseInt, f)
}

func setFloat(f func(*sim.Config) *float64) func(*sim.Config, string) error {
	return setNumber(parseFloat, f)
}

// setBytes sets a byte size such as 8MiB or 4096.
func setBytes(f func(*sim.Config) *int64) func(*sim.Config, string) error {
	return setNumber(func(v string) (int64, error) {
		n, err := traces.ParseBytes(v)
		if err != nil {
			return 0, errors.New(strings.TrimPrefix(err.Error(), "traces: "))
		}
		return n, nil
	}, f)
}

func setBool(f func(*sim.Config) *bool) func(*sim.Config, string) error {
	return func(c *sim.Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(c) = b
		return nil
	}
}

// params are the configuration parameters, in the order sweep axes nest
// (the first outermost).
var params = []param{
	{flag: "preset", cli: true, usage: "model preset (" + strings.Join(sim.Presets(), ", ") + ")",
		apply: setString(func(c *sim.Config) *string { return &c.Preset })},
	{flag: "cache", cli: true, usage: "cache size per node, e.g. 8MiB (default 32MiB)",
		apply: setBytes(func(c *sim.Config) *int64 { return &c.CacheBytes })},
	{flag: "cache-policy", cli: true, usage: "cache replacement policy: lru, lfu, gds",
		apply: setString(func(c *sim.Config) *string { return &c.CachePolicy })},
	{flag: "front-end", cli: true, usage: "front end: l7, l4, distributed, colocated, cachecluster",
		apply: setString(func(c *sim.Config) *string { return &c.FrontEnd })},
	{flag: "admission", cli: true, usage: "admission: closed (saturation) or open (trace timestamps / speedup)",
		apply: setString(func(c *sim.Config) *string { return &c.Admission })},
	{flag: "speedup", cli: true, usage: "open admission: divide trace inter-arrival times by this (default 1)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Speedup })},
	{flag: "low", cli: true, usage: "LBLC low threshold per node, in connections (default 30)",
		apply: setInt(func(c *sim.Config) *int { return &c.Low })},
	{flag: "high", cli: true, usage: "LBLC high threshold per node; closed admission admits nodes×high (default 60)",
		apply: setInt(func(c *sim.Config) *int { return &c.High })},
	{flag: "keep-alive", cli: true, usage: "l4 front end: HTTP/1.1 keep-alive time (default 0: HTTP/1.0)",
		zero:  "HTTP/1.0, one request per connection",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.KeepAlive })},
	{flag: "distributors", cli: true, usage: "distributed front end: number of L7 distributors (at most " + strconv.Itoa(sim.MaxDistributors) + ")",
		apply: setIntAtMost(func(c *sim.Config) *int { return &c.Distributors }, sim.MaxDistributors, "each distributor has its own queues")},
	{flag: "cls-lookup", cli: true, usage: "distributed, colocated and cachecluster front ends: Content Location Service time per lookup message, e.g. 20us",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.CLSLookup })},
	{flag: "cls-batch", cli: true, usage: "distributed, colocated and cachecluster front ends: CLS lookups per message",
		apply: setInt(func(c *sim.Config) *int { return &c.CLSBatch })},
	{flag: "origin-time", cli: true, usage: "cachecluster front end: the origin server's time per bypassed request (default 100ms)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.OriginTime })},
	{flag: "dflb-interval", cli: true, usage: "DFLB load-monitor period (default 5s)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.DFLBInterval })},
	{flag: "interval", cli: true, usage: "time-series bucket width in simulated time (default 10s)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Interval })},
	{flag: "seed", cli: true, usage: "random seed (workload sampling, scheduler ties; default 0)", zero: "a seed like any other",
		apply: func(c *sim.Config, v string) (err error) {
			c.Seed, err = parseUint(v)
			return err
		}},
	{flag: "failure", key: "failures", cli: true, kind: failureKind, zero: "no failure",
		usage: `node failure NODE@AT[-RECOVER], nodes numbered from 0: "1@30s-90s" takes node 1 down at 30 s and back up at 90 s, "1@30s" for good; "none" for no failure`,
		apply: func(c *sim.Config, v string) (err error) {
			c.Failures, err = parseFailures(v)
			return err
		}},
	{flag: "health-check-delay", cli: true, usage: "how long the front end takes to notice a node failing or recovering (default 0: at once)",
		zero:  "the front end notices at once",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.HealthCheckDelay })},
	{flag: "connect-timeout", cli: true, usage: "how long a request sent to a crashed, not yet noticed node waits before it fails (default 3s)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.ConnectTimeout })},

	// models.Costs (thesis §4.3): the service-time constants.
	{flag: "costs.connect", usage: "CPU time of connection setup (default 140us)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Connect })},
	{flag: "costs.teardown", usage: "CPU time of connection teardown (default 140us)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Teardown })},
	{flag: "costs.transmit", usage: "CPU time to send one transmit_block (default 40us)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Transmit })},
	{flag: "costs.transmit_block", usage: "unit of transmit, in bytes (default 512)",
		apply: setBytes(func(c *sim.Config) *int64 { return &c.Costs.TransmitBlock })},
	{flag: "costs.disk_access", usage: "disk positioning time per read (default 28ms)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.DiskAccess })},
	{flag: "costs.disk_transfer", usage: "disk time to transfer one disk_block (default 410us)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.DiskTransfer })},
	{flag: "costs.disk_block", usage: "unit of disk_transfer, in bytes (default 4096)",
		apply: setBytes(func(c *sim.Config) *int64 { return &c.Costs.DiskBlock })},
	{flag: "costs.dynamic_factor", usage: "multiplier of every CPU and disk time of a dynamic request (default 2)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Costs.DynamicFactor })},

	// algorithms.Options: the scheduler's parameters.
	{flag: "threshold", key: "options.threshold", cli: true, usage: "lbll*: load threshold T (thesis §7.3.1; default 1)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.Threshold })},
	{flag: "set-expiry", key: "options.set_expiry", cli: true, usage: "LBLC/R's set expiry K (lblcr and its relatives): an unmodified set sheds a member after this (thesis §6.3.5; default 60s)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Options.SetExpiry })},
	{flag: "options.table_expiry", usage: "lblc, lblcr, content-lblcr, lbll*, ipvs-lblc, ipvs-lblcr: an entry of the URL/destination table unused this long is dropped (default 24h)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Options.TableExpiry })},
	{flag: "options.max_entries", usage: "lblc, lblcr, content-lblcr, lbll*, ipvs-lblc, ipvs-lblcr: entries of each URL/destination table, least recently used dropped first (default 262144)",
		apply: setInt(func(c *sim.Config) *int { return &c.Options.MaxEntries })},
	{flag: "epsilon", key: "options.epsilon", cli: true, usage: "chbl: consistent hashing with bounded loads, balance factor epsilon (default 0.25)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.Epsilon })},
	{flag: "options.replicas", usage: "chbl: virtual nodes per server on the ring (default 100, at most " + strconv.Itoa(algorithms.MaxCHBLReplicas) + ")",
		apply: setIntAtMost(func(c *sim.Config) *int { return &c.Options.Replicas }, algorithms.MaxCHBLReplicas, "the ring holds nodes × replicas points")},
	{flag: "inner", key: "options.inner", cli: true, usage: "dflb: the scheduler DFLB adjusts weights for, wrr (default) or wlc", apply: func(c *sim.Config, v string) error {
		v = strings.ToLower(strings.TrimSpace(v))
		if _, ok := algorithms.Lookup(v); !ok || strings.HasPrefix(v, "dflb") {
			return fmt.Errorf("%q is not a scheduler DFLB can run over (wrr, wlc)", v)
		}
		c.Options.Inner = v
		return nil
	}},
	{flag: "options.fallback", usage: "sh, dh: probe other buckets when the hashed server is unusable (true/false; default false)",
		zero:  "no probing",
		apply: setBool(func(c *sim.Config) *bool { return &c.Options.Fallback })},
	{flag: "options.port", usage: "sh, mh: hash the client port too (true/false; default false)", zero: "the address alone",
		apply: setBool(func(c *sim.Config) *bool { return &c.Options.Port })},
	{flag: "options.table_size", usage: "mh: Maglev lookup table size, a prime (default 4093)",
		apply: setInt(func(c *sim.Config) *int { return &c.Options.TableSize })},
	{flag: "options.restart_cycle", usage: "wrr: restart the cycle when weights change (preset thesis: always true, so false is refused)",
		apply: setBool(func(c *sim.Config) *bool { return &c.Options.RestartCycle })},
	{flag: "options.seed", usage: "the scheduler's own seed (default: derived from seed)", apply: func(c *sim.Config, v string) (err error) {
		c.Options.Seed, err = parseUint(v)
		return err
	}},
	{flag: "options.classes", kind: classKind, zero: "no class", usage: "content, content-lblcr: class -> node list (thesis §6.3.6), e.g. {cgi: [0, 1]}",
		apply: func(c *sim.Config, v string) (err error) {
			c.Options.Classes, err = parseClasses(v)
			return err
		}},
	{flag: "options.near", kind: nearKind, zero: "no prefix table", usage: "global: client prefixes -> nearest nodes (thesis §4.1.5), e.g. [{prefix: 10.0.0.0/8, servers: [0, 1]}]",
		apply: func(c *sim.Config, v string) (err error) {
			c.Options.Near, err = parseNear(v)
			return err
		}},
	{flag: "options.dflb.coefficients", kind: numbersKind, usage: "DFLB R1..R6 for input, CPU, disk, memory, process, response, summing to 1 (preset thesis: [0, 1, 0, 0, 0, 0])",
		apply: func(c *sim.Config, v string) (err error) {
			c.Options.DFLB.Coefficients, err = parseCoefficients(v)
			return err
		}},
	{flag: "options.dflb.a", usage: "DFLB step scale A (thesis §4.2.4; default 5)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.DFLB.A })},
	{flag: "options.dflb.scale", usage: "DFLB weight bound SCALE (default 10)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.DFLB.Scale })},
	{flag: "options.dflb.change_threshold", usage: "DFLB: write a weight only if it changes by more than this (default 0)",
		zero:  "write every change",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.DFLB.ChangeThreshold })},
	{flag: "options.dflb.target", usage: "DFLB target aggregate load (default 0.95)",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Options.DFLB.Target })},
}

// paramByFlag finds a parameter by its flag name (param.flag).
func paramByFlag(name string) (param, bool) {
	for _, p := range params {
		if p.flag == name {
			return p, true
		}
	}
	return param{}, false
}

// paramByKey finds a parameter by its YAML key.
func paramByKey(key string) (param, bool) {
	for _, p := range params {
		if p.yamlKey() == key {
			return p, true
		}
	}
	return param{}, false
}

// topKeys are the YAML keys that are not parameters.
var topKeys = []string{"name", "trace", "alg", "nodes", "strict"}

// sections are the YAML keys that hold a mapping of nested keys.
func isSection(path string) bool {
	for _, p := range params {
		if strings.HasPrefix(p.yamlKey(), path+".") {
			return true
		}
	}
	return false
}

// sectionKeys lists the keys directly under section ("" for the top level),
// in table order, for error messages.
func sectionKeys(section string) []string {
	var keys []string
	prefix := ""
	if section == "" {
		keys = slices.Clone(topKeys)
	} else {
		prefix = section + "."
	}
	for _, p := range params {
		k, ok := strings.CutPrefix(p.yamlKey(), prefix)
		if !ok {
			continue
		}
		k, _, _ = strings.Cut(k, ".")
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// parseFailures parses a failure schedule: "none", or comma-separated
// NODE@AT[-RECOVER] ("1@30s-1m30s,2@10s"). A node fails again only after
// it recovered.
func parseFailures(v string) ([]sim.Failure, error) {
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

// formatFailures is the canonical text of a schedule (parseFailures).
func formatFailures(fs []sim.Failure) string {
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

// parseClasses parses "none" or "CLASS=N,N;CLASS=N" (classes sorted).
func parseClasses(v string) (map[string][]algorithms.ServerID, error) {
	v = strings.TrimSpace(v)
	if v == none {
		return nil, nil
	}
	out := map[string][]algorithms.ServerID{}
	for _, item := range strings.Split(v, ";") {
		name, list, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want CLASS=NODE,NODE", item)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("class %q given twice", name)
		}
		ids, err := parseIDs(list)
		if err != nil {
			return nil, fmt.Errorf("class %s: %w", name, err)
		}
		out[name] = ids
	}
	return out, nil
}

func formatClasses(m map[string][]algorithms.ServerID) string {
	if len(m) == 0 {
		return none
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + formatIDs(m[n])
	}
	return strings.Join(parts, ";")
}

// parseNear parses "none" or "PREFIX=N,N;PREFIX=N" (in the order given).
func parseNear(v string) ([]algorithms.NearServers, error) {
	v = strings.TrimSpace(v)
	if v == none {
		return nil, nil
	}
	var out []algorithms.NearServers
	for _, item := range strings.Split(v, ";") {
		prefix, list, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want PREFIX=NODE,NODE", item)
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(prefix))
		if err != nil {
			return nil, fmt.Errorf("prefix %q is not an address prefix such as 10.0.0.0/8", strings.TrimSpace(prefix))
		}
		ids, err := parseIDs(list)
		if err != nil {
			return nil, fmt.Errorf("prefix %s: %w", p, err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("prefix %s: no server", p)
		}
		out = append(out, algorithms.NearServers{Prefix: p, Servers: ids})
	}
	return out, nil
}

// parseCoefficients parses DFLB's six coefficients "R1,...,R6": finite,
// >= 0, summing to 1 (thesis §4.2.4).
func parseCoefficients(v string) ([6]float64, error) {
	var r [6]float64
	parts := strings.Split(v, ",")
	if len(parts) != len(r) {
		return r, fmt.Errorf("%q: want 6 numbers (input, CPU, disk, memory, process, response), got %d", v, len(parts))
	}
	sum := 0.0
	for i, s := range parts {
		x, err := parseFloat(s)
		if err != nil {
			return r, err
		}
		if x < 0 {
			return r, fmt.Errorf("%q: must be >= 0", s)
		}
		r[i] = x
		sum += x
	}
	if math.Abs(sum-1) > 1e-9 {
		return r, fmt.Errorf("%q: the coefficients must sum to 1 (they sum to %v)", v, sum)
	}
	return r, nil
}

// experiment is a sweep before its traces are loaded.
type experiment struct {
	Name       string
	Traces     []string            // trace specs (see loadWorkload)
	Algorithms []string            // registered scheduler names
	Nodes      []int               // node counts
	Values     map[string][]string // param.flag -> values
	Dir        string              // relative trace paths start here
	Strict     bool                // a log line that does not parse is an error (else dropped and reported)
	Report     io.Writer           // where dropped log lines are reported (nil: nowhere)

	// File is the experiment file ("" without -f); lines holds, for the
	// values that come from it, where each is (param.flag -> values, in
	// Values order). nodesFrom says where Nodes comes from: nodesFile,
	// nodesFlag or "" (the default).
	File      string
	lines     map[string][]value
	nodesFrom string
	// flags holds the names (param.flag, or trace, alg, nodes) given by
	// flags, which replace the file's.
	flags map[string]bool

	// traceLines are the lines of Traces in File (nil when they come from
	// --trace); mem is the memory limit (--memory-limit).
	traceLines []int
	mem        *memLimit
}

// maxCells bounds a sweep: an experiment expanding to more cells (traces ×
// swept values × schedulers × node counts) is refused before any of them
// is built.
const maxCells = workbench.MaxCells

// checkSize refuses an experiment of more than maxCells cells, naming the
// factors.
func (e *experiment) checkSize() error {
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
		{"alg", dedup(e.Algorithms, len(strings.Split(defaultAlgs, ",")))},
		{"nodes", len(e.nodeCounts())},
	}
	for _, p := range params {
		if vals := e.Values[p.flag]; len(vals) > 1 {
			fs = append(fs, factor{p.flag, len(vals)})
		}
	}
	cells := 1
	for _, f := range fs {
		cells *= f.n
		if cells <= maxCells {
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
		msg := fmt.Sprintf("the sweep has more than %d cells (%s): split it into smaller experiments", maxCells, strings.Join(parts, " × "))
		if e.File != "" {
			return fmt.Errorf("%s: %s", e.File, msg)
		}
		return errors.New(msg)
	}
	return nil
}

// name is how errors name parameter name (param.flag, trace, alg or nodes):
// "--flag" if a flag gave it, else its file key.
func (e *experiment) name(name string) string {
	if e.flags[name] {
		return "--" + name
	}
	if p, ok := paramByFlag(name); ok {
		return p.yamlKey()
	}
	return name
}

// blame prefixes an error about configuration keys (a *sim.ConfigError,
// from resolving or running a cell) with where the experiment set the
// first of those keys it sets: "--flag: ..." or "file: line N: key: ...".
// Other errors are returned as they are.
func (e *experiment) blame(err error) error {
	var ce *sim.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	for _, key := range ce.Keys {
		key, _, _ = strings.Cut(key, "[") // failures[1].node
		name := key
		if p, ok := paramByKey(key); ok {
			name = p.flag
		} else if !slices.Contains(topKeys, key) {
			continue
		}
		if e.flags[name] || len(e.lines[name]) > 0 {
			return e.at(name, err)
		}
	}
	return err
}

// at prefixes err with where the experiment sets name (param.flag, trace,
// alg or nodes): "--flag: " or "file: line N: key: ", the line of the
// value whose sweep label err shows, or else of the first value.
func (e *experiment) at(name string, err error) error {
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
	if p, ok := paramByFlag(name); ok {
		key = p.yamlKey()
	}
	return fmt.Errorf("%s: %w", e.File, fileError(line, "%s: %w", key, err))
}

// Where experiment.Nodes comes from, as error messages name it.
const (
	nodesFile = "nodes: "
	nodesFlag = "--nodes "
)

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
func (p param) values(n *yaml.Node) ([]value, error) {
	key := p.yamlKey()
	switch p.kind {
	case failureKind:
		return structured(n, key, yaml.SequenceNode, true, failureText)
	case classKind:
		return structured(n, key, yaml.MappingNode, false, classText)
	case nearKind:
		return structured(n, key, yaml.SequenceNode, false, nearText)
	case numbersKind:
		return structured(n, key, yaml.SequenceNode, true, numbersText)
	case scalarKind:
		return scalars(n, key)
	}
	panic("lvslab: parameter " + key + " has no value kind")
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
	case n.Kind == yaml.MappingNode && key == "failures":
		// failures: {node: 1, at: 30s}, a schedule of one failure
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
	return formatFailures(fs), lines, nil
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
	return formatClasses(m), nil, nil
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

// parseExperiment reads a YAML experiment. Unknown keys and bad values
// are errors naming the key and its line; dir is where relative trace
// paths start.
func parseExperiment(name string, r io.Reader, dir string) (*experiment, error) {
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
	e := &experiment{Dir: dir, Values: map[string][]string{}, File: name, lines: map[string][]value{}, flags: map[string]bool{}}
	if err := e.readSection(root, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := e.checkSize(); err != nil {
		return nil, err
	}
	return e, nil
}

// readSection reads the keys of one mapping: the top level (section "")
// or a nested section such as "costs".
func (e *experiment) readSection(n *yaml.Node, section string) error {
	return mappingPairs(n, section, func(k, v *yaml.Node, path string) error {
		if p, ok := paramByKey(path); ok {
			vals, err := p.values(v)
			if err != nil {
				return err
			}
			var texts []string
			for _, x := range vals {
				var probe sim.Config
				if err := p.set(&probe, x.v); err != nil {
					return fileError(x.line, "%s: %w", path, err)
				}
				texts = append(texts, x.v)
			}
			e.Values[p.flag] = texts
			e.lines[p.flag] = vals
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
				if e.Nodes, err = parseNodes(list); err != nil {
					return fileError(v.Line, "nodes: %w", err)
				}
				e.nodesFrom = nodesFile
				e.lines[path] = []value{{v: strings.Join(list, ","), line: v.Line}}
				return nil
			case "strict":
				x, err := scalar(v, path)
				if err != nil {
					return err
				}
				if e.Strict, err = strconv.ParseBool(strings.TrimSpace(x.v)); err != nil {
					return fileError(x.line, "strict: %q is not true or false", x.v)
				}
				return nil
			}
		}
		return unknownKey(k, path, section, sectionKeys(section))
	})
}

// maxNodes is the largest node count a cluster may have.
const maxNodes = 4096

// parseNodes parses node counts: numbers and ranges ("1-16"), each item
// possibly a comma list. An empty item and a count given twice are
// errors, so at most maxNodes counts are ever allocated.
func parseNodes(items []string) ([]int, error) {
	var out []int
	var seen [maxNodes + 1]bool
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
			if b > maxNodes {
				return nil, fmt.Errorf("%d: at most %d nodes", b, maxNodes)
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

// experimentFlags are the flags shared by sim and sweep.
type experimentFlags struct {
	file   string
	traces []string
	algs   []string
	nodes  []string
	strict bool
	values map[string]*[]string
}

const (
	defaultAlgs  = "wrr,wlc,dflb,lblc,lblcr"
	defaultNodes = "1,4,7"
)

// listFlag is a list flag: comma-separated values, a repeated flag adding
// to the list. Unlike pflag's string slices it keeps empty items (--alg ""
// and --alg wrr,,wlc), for experimentFlags.experiment to refuse.
type listFlag []string

func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Type() string { return "strings" }

func addExperimentFlags(cmd *cobra.Command, ef *experimentFlags) {
	fs := cmd.Flags()
	fs.StringVarP(&ef.file, "file", "f", "", "experiment file (YAML); flags given too override its keys")
	fs.Var((*listFlag)(&ef.traces), "trace", `trace: a log file (CLF/Combined, plain or gzip), "a.log+b.log" to merge logs into one workload,
"default" for the embedded trace, or "synth:PRESET[:REQUESTS]" for a synthetic one; repeat or comma-separate to sweep traces (default "default")`)
	fs.Var((*listFlag)(&ef.algs), "alg", "schedulers, comma-separated (default "+defaultAlgs+")")
	fs.Var((*listFlag)(&ef.nodes), "nodes", "node counts: a list and/or ranges, e.g. 1,4,7 or 1-16 (default "+defaultNodes+")")
	fs.BoolVar(&ef.strict, "strict", false, "fail on the first trace line that does not parse (default: drop it and report the first few on stderr; file key strict)")
	ef.values = map[string]*[]string{}
	for _, p := range params {
		if !p.cli {
			continue
		}
		v := new([]string)
		ef.values[p.flag] = v
		usage := p.usage + "; several values sweep"
		if p.kind == failureKind {
			usage = p.usage + "; repeat for several failures in one run"
		}
		if k := p.yamlKey(); k != strings.ReplaceAll(p.flag, "-", "_") {
			usage += " (file key " + k + ")"
		}
		fs.Var((*listFlag)(v), p.flag, usage)
	}
}

// experiment builds the experiment from -f and the flags given. A flag
// replaces the file's values of its key.
func (ef *experimentFlags) experiment(cmd *cobra.Command) (*experiment, error) {
	e := &experiment{Values: map[string][]string{}, flags: map[string]bool{}}
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
	e.Report = cmd.ErrOrStderr()
	e.mem = memoryLimit(cmd)
	fs := cmd.Flags()
	// given records a list flag: its values are not the file's.
	given := func(name string, vals []string) error {
		if len(vals) == 0 {
			return fmt.Errorf("--%s: no value", name)
		}
		for i, v := range vals {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("--%s: item %d of %d: %w", name, i+1, len(vals), errEmpty)
			}
		}
		delete(e.lines, name)
		e.flags[name] = true
		return nil
	}
	if fs.Changed("trace") {
		if err := given("trace", ef.traces); err != nil {
			return nil, err
		}
		e.Traces, e.traceLines = ef.traces, nil
		e.Dir = ""
	}
	if fs.Changed("strict") {
		e.Strict = ef.strict
	}
	if fs.Changed("alg") {
		if err := given("alg", ef.algs); err != nil {
			return nil, err
		}
		e.Algorithms = ef.algs
	}
	if fs.Changed("nodes") {
		if err := given("nodes", ef.nodes); err != nil {
			return nil, err
		}
		n, err := parseNodes(ef.nodes)
		if err != nil {
			return nil, fmt.Errorf("--nodes: %w", err)
		}
		e.Nodes = n
		e.nodesFrom = nodesFlag
	}
	for _, p := range params {
		if !p.cli || !fs.Changed(p.flag) {
			continue
		}
		vals := *ef.values[p.flag]
		if err := given(p.flag, vals); err != nil {
			return nil, err
		}
		if p.kind == failureKind {
			// Repeated --failure flags are one schedule, not a sweep.
			vals = []string{strings.Join(vals, ",")}
		}
		for _, v := range vals {
			var c sim.Config
			if err := p.set(&c, v); err != nil {
				return nil, fmt.Errorf("--%s: %w", p.flag, err)
			}
		}
		e.Values[p.flag] = vals
	}
	if err := e.checkSize(); err != nil {
		return nil, err
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
	s.Nodes = e.nodeCounts()
	var err error
	if s.Base, s.Axes, err = e.configs(); err != nil {
		return nil, err
	}
	if err := e.checkFailureNodes(); err != nil {
		return nil, err
	}
	specs := e.Traces
	if len(specs) == 0 {
		specs = []string{"default"}
	}
	seen := map[string]bool{}
	for i, t := range specs {
		t = strings.TrimSpace(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		if err := checkSynthTrace(e.traceWhere(i)+t, t, e.mem); err != nil {
			return nil, err
		}
		w, err := loadWorkload(t, e.Dir, traceLoad{strict: e.Strict, report: e.Report})
		if err != nil {
			return nil, err
		}
		s.Workloads = append(s.Workloads, w)
	}
	return s, nil
}

// nodeCounts returns the node counts run: Nodes, or the default ones.
func (e *experiment) nodeCounts() []int {
	if len(e.Nodes) > 0 {
		return e.Nodes
	}
	n, _ := parseNodes([]string{defaultNodes})
	return n
}

// configs returns the base configuration (the parameters given one value)
// and the sweep axes (those given several, in params order).
func (e *experiment) configs() (sim.Config, []workbench.Axis, error) {
	var base sim.Config
	var axes []workbench.Axis
	for _, p := range params {
		vals := e.Values[p.flag]
		switch len(vals) {
		case 0:
		case 1:
			if err := p.set(&base, vals[0]); err != nil {
				return base, nil, e.at(p.flag, err)
			}
		default:
			axis := workbench.Axis{Name: p.flag}
			for _, v := range vals {
				var probe sim.Config
				if err := p.set(&probe, v); err != nil {
					return base, nil, e.at(p.flag, err)
				}
				axis.Values = append(axis.Values, workbench.AxisValue{
					Label: p.flag + "=" + v,
					Apply: func(c *sim.Config) { _ = p.apply(c, v) },
				})
			}
			axes = append(axes, axis)
		}
	}
	return base, axes, nil
}

// checkFailureNodes rejects a failure of a node that does not exist at a
// node count run (nodes are numbered 0..n-1), naming where the failure was
// given (the file and the line of that failure, or --failure) and the node
// counts it does not fit. sim.Config.Resolve would reject it too, but
// later and without saying where it came from.
func (e *experiment) checkFailureNodes() error {
	counts := e.nodeCounts()
	for vi, v := range e.Values["failure"] {
		fs, err := parseFailures(v)
		if err != nil {
			return fmt.Errorf("failure: %w", err)
		}
		for i, f := range fs {
			var bad []int
			for _, n := range counts {
				if f.Node >= n {
					bad = append(bad, n)
				}
			}
			if len(bad) == 0 {
				continue
			}
			// "with nodes: 1 (nodes are numbered 0..0)", "with nodes 1,4
			// (the default node counts, 1,4,7; n nodes are numbered 0..n-1)"
			where := e.nodesFrom + nodesString(bad) + " ("
			if e.nodesFrom == "" {
				where = fmt.Sprintf("nodes %s (the default node counts, %s; ", nodesString(bad), defaultNodes)
			}
			numbering := "n nodes are numbered 0..n-1"
			if len(bad) == 1 {
				numbering = fmt.Sprintf("nodes are numbered 0..%d", bad[0]-1)
			}
			msg := fmt.Sprintf("failures[%d].node: node %d does not exist with %s%s)", i, f.Node, where, numbering)
			if vals := e.lines["failure"]; vi < len(vals) {
				line := vals[vi].line
				if i < len(vals[vi].items) {
					line = vals[vi].items[i]
				}
				return fmt.Errorf("%s: %w", e.File, fileError(line, "%s", msg))
			}
			return errors.New("--failure: " + msg)
		}
	}
	return nil
}

// sweepCells expands the sweep and checks that every cell's scheduler can be
// built with its options (a Maglev table size that is not one of the
// primes, say), so that a bad option fails before any simulation runs. An
// error about a configuration key names the flag or file line that set it.
func (e *experiment) sweepCells(s *workbench.Spec) ([]workbench.Cell, error) {
	cs, err := s.Cells()
	if err != nil {
		return nil, e.blame(err)
	}
	for _, c := range cs {
		if _, err := algorithms.New(c.Config.Algorithm, c.Config.Options); err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
	}
	return cs, nil
}

// valuesHelp says which values the parameters refuse, and what the zero
// values that some of them accept mean, for the commands' help.
func valuesHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Numbers and durations must be >= 0 (a duration at most %v,
the largest Go duration). A zero value (0, 0s, false) reads as "not set" and
would select the default, so it is refused: leave the parameter out for the
default. These parameters take their zero value as a value of its own:

`, time.Duration(math.MaxInt64))
	for _, p := range params {
		if p.zero == "" {
			continue
		}
		z := "0"
		switch {
		case p.kind == classKind:
			z = "{}"
		case p.kind == nearKind:
			z = "[]"
		case p.kind != scalarKind:
			z = none
		case strings.Contains(p.usage, "true/false"):
			z = "false"
		}
		k := p.yamlKey() + ": " + z
		if p.cli {
			k += ", --" + p.flag + " " + z
		}
		fmt.Fprintf(&b, "  %-46s %s\n", k, p.zero)
	}
	fmt.Fprintf(&b, `
An empty value or list item (--alg wrr,,wlc) is an error, as is a node count
given twice; a sweep has at most %d cells (traces × swept values ×
schedulers × node counts).
`, maxCells)
	return b.String()
}

// keysHelp lists the experiment-file keys that have no flag, for the
// commands' help.
func keysHelp() string {
	var b strings.Builder
	for _, p := range params {
		if !p.cli {
			fmt.Fprintf(&b, "  %-32s %s\n", p.yamlKey()+":", p.usage)
		}
	}
	return b.String()
}

// loadWorkload loads a trace spec under the reference filters
// (reference-model.md, workload rule 1):
//
//	default               the trace embedded in the binary
//	synth:PRESET[:N]      a synthetic workload (traces.SynthPreset), N requests
//	a.log[+b.log...]      log files, merged in order into one workload
//
// Relative paths start at dir; o says how to treat lines that do not parse.
func loadWorkload(spec, dir string, o traceLoad) (*traces.Workload, error) {
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
			if strings.TrimSpace(p) == "" {
				return nil, fmt.Errorf("trace %s: an empty file name in a+b", spec)
			}
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if _, serr := os.Stat(p); serr != nil {
				return nil, fmt.Errorf("trace %s: %w", p, unwrapPathError(serr))
			}
			paths = append(paths, p)
		}
		f := traces.ReferenceFilter()
		f.Strict = o.strict
		te := &traceErrors{max: maxReportedLines}
		f.OnError = te.add
		w, err = traces.Load(paths, f)
		if o.report != nil && te.total > 0 {
			te.report(o.report)
			if err == nil {
				fmt.Fprintf(o.report, "trace %s: %d of %d lines do not parse and were dropped (--strict or strict: true makes the first an error)\n",
					traces.Escape(spec), te.total, w.Lines)
			}
		}
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

// traceLoad says how loadWorkload treats log lines that do not parse:
// with strict the first is an error; otherwise they are dropped (counted
// under "malformed") and their count and the first few, as file:line:
// reason, go to report (nil: nowhere), as "lvslab trace stats" reports them.
type traceLoad struct {
	strict bool
	report io.Writer
}

// maxReportedLines is how many unparsable lines loadWorkload shows.
const maxReportedLines = 5

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
	m, err := synthModel(spec)
	if err != nil {
		return nil, err
	}
	return traces.SynthWorkload(m)
}
