package experiment

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// Param is one configuration parameter: a key of experiment files and, for
// the common ones, a flag of "lvslab sim" and "lvslab sweep".
type Param struct {
	// Name names the parameter in Experiment.Values, in sweep labels
	// ("cache=8MiB") and, for a parameter with Flag set, on the command
	// line (--cache). For a file-only parameter it is the file key
	// ("costs.disk_access").
	Name string
	// Key is the file key, a dotted path for nested keys
	// ("options.threshold" is "threshold:" under "options:"). Empty means
	// Name with '_' for '-'.
	Key string
	// Field is the sim.Config field the parameter sets, a dotted path
	// ("Costs.DiskAccess", "Options.SetExpiry").
	Field string
	Flag  bool // a flag of sim and sweep
	Kind  Kind
	// Usage is the one-line help of the flag or key.
	Usage string
	// Zero says what the parameter's zero value (0, 0s, false, none)
	// means, where it is a value of its own; empty, a zero value is
	// refused, since the configuration reads it as "not set" and would
	// use the default instead (see Param.Set).
	Zero string
	// Live says whether a live host (testbed run) can honour the
	// parameter: "" if it can, else why only the simulator can (see
	// Experiment.CheckLive). A parameter whose support depends on the
	// value has LiveValue instead.
	Live string
	// LiveValue, if not nil, returns why only the simulator can run the
	// value v, or "".
	LiveValue func(v string) string
	// Shared says, in a few words, why a live host honours the parameter
	// (for a parameter with Live empty).
	Shared string
	// apply parses one value (as written on the command line, or the
	// canonical text of a structured value) into c. It checks the value's
	// syntax and range, not whether it is zero: use Set.
	apply func(c *sim.Config, v string) error
}

// Kind says how a parameter's file value reads, and what a list of them
// means.
type Kind int

const (
	// Scalar: a value; a list of values sweeps.
	Scalar Kind = iota
	// Failures: a list of failures (mappings {node, at, recover} or
	// "NODE@AT[-RECOVER]"), one schedule; a list of such lists sweeps.
	Failures
	// Classes: a mapping class -> node list; a list of mappings sweeps.
	Classes
	// Near: a list of {prefix, servers}; a list of such lists sweeps.
	Near
	// Numbers: a list of numbers; a list of such lists sweeps.
	Numbers
	// Clusters: a list of clusters (mappings {nodes, share} or
	// "SHARE[:NODES]"), one layout; a list of such lists sweeps.
	Clusters
	// Groups: a list of node groups (mappings {count, speed, ...} or
	// "COUNT[:KEY=VALUE...]"), one cluster; a list of such lists sweeps.
	Groups
	// Slowdowns: a list of slowdowns (mappings {node, factor, from, to}
	// or "NODExFACTOR@FROM-TO"), one schedule; a list of such lists sweeps.
	Slowdowns
)

// FileKey is the parameter's file key.
func (p Param) FileKey() string {
	if p.Key != "" {
		return p.Key
	}
	return strings.ReplaceAll(p.Name, "-", "_")
}

// Set applies one value of p to c. An empty value is refused, and so is a
// value that leaves the configuration as if the parameter were not given
// (0 where zero selects the default), unless p.Zero gives it a meaning:
// sim.Config cannot tell "set to 0" from "not set", so the parser does.
func (p Param) Set(c *sim.Config, v string) error {
	if strings.TrimSpace(v) == "" {
		return errEmpty
	}
	var probe sim.Config
	if err := p.apply(&probe, v); err != nil {
		return err
	}
	if p.Zero == "" && reflect.DeepEqual(probe, sim.Config{}) {
		return errUnset(v)
	}
	return p.apply(c, v)
}

// Check reports whether v is a valid value of p (Set on a scratch
// configuration).
func (p Param) Check(v string) error {
	var c sim.Config
	return p.Set(&c, v)
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

// none is the text of an empty structured value (no failure, no class).
const none = algorithms.OptionNone

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
// range or negative; Param.Set refuses a zero that would only select the
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

// setIntAtMost is setInt with a documented maximum.
func setIntAtMost(f func(*sim.Config) *int, most int, why string) func(*sim.Config, string) error {
	set := setInt(f)
	return func(c *sim.Config, v string) error {
		if err := set(c, v); err != nil {
			return err
		}
		if *f(c) > most {
			return fmt.Errorf("%q: at most %d (%s)", strings.TrimSpace(v), most, why)
		}
		return nil
	}
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

// Why a live host (testbed run) honours a parameter, or why only the
// simulator can.
const (
	sharedCluster   = "the testbed's emulated back ends follow the same models/"
	sharedScheduler = "the live director runs the same scheduler with the same options"
	sharedKeepAlive = "the load generator keeps each trace client's connection alive as long (l4; 0: HTTP/1.0, one connection per request)"
	simCh7          = "only the simulator has the distributed front end's distributors and Content Location Service (ch.7)"
	simReplicates   = "only the simulator runs seeded replicates; a live run is one run"
)

// frontEndLive says which front ends a live host has: the layer-7 switch
// and the layer-4 director.
func frontEndLive(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case sim.FrontEndL7, sim.FrontEndL4, "":
		return ""
	}
	return fmt.Sprintf("front end %s is simulated only; the live director is l7 (the layer-7 switch) or l4", strings.TrimSpace(v))
}

// params are the configuration parameters, in the order sweep axes nest
// (the first outermost).
var params = append([]Param{
	{Name: "preset", Field: "Preset", Flag: true, Usage: "model preset (" + strings.Join(sim.Presets(), ", ") + ")", Shared: sharedCluster,
		apply: setString(func(c *sim.Config) *string { return &c.Preset })},
	{Name: "node-groups", Key: "nodes", Field: "Groups", Flag: true, Kind: Groups,
		Usage:  `heterogeneous nodes, groups COUNT[:KEY=VALUE...] comma-separated: "3:speed=2,4" is 3 nodes twice as fast, then 4 reference nodes (keys speed, cpu_speed, disk_speed, cache, weight); replaces --nodes`,
		Shared: "the testbed's emulated back ends run at the same speeds with the same caches, and the live director uses the same weights",
		apply: func(c *sim.Config, v string) (err error) {
			c.Groups, err = ParseGroups(v)
			return err
		}},
	{Name: "weights", Field: "Weights", Flag: true, Usage: "static weights of WRR, WLC and DFLB's defaults: given (each group's weight, default 1) or capacity (10 × the node's CPU speed)",
		Shared: "the live director uses the same weights",
		apply: func(c *sim.Config, v string) error {
			switch w := strings.ToLower(strings.TrimSpace(v)); w {
			case "given", sim.WeightsCapacity:
				c.Weights = w
			default:
				return fmt.Errorf("%q: want given or capacity", strings.TrimSpace(v))
			}
			return nil
		}},
	{Name: "cache", Field: "CacheBytes", Flag: true, Usage: "cache size per node, e.g. 8MiB (default 32MiB)", Shared: sharedCluster,
		apply: setBytes(func(c *sim.Config) *int64 { return &c.CacheBytes })},
	{Name: "cache-policy", Field: "CachePolicy", Flag: true, Usage: "cache replacement policy: lru, lfu, gds", Shared: sharedCluster,
		apply: setString(func(c *sim.Config) *string { return &c.CachePolicy })},
	{Name: "front-end", Field: "FrontEnd", Flag: true, Usage: "front end: l7, l4, distributed, colocated, cachecluster",
		Shared: "l7 and l4 are the live director's modes", LiveValue: frontEndLive,
		apply: setString(func(c *sim.Config) *string { return &c.FrontEnd })},
	{Name: "admission", Field: "Admission", Flag: true, Usage: "admission: closed (saturation) or open (trace timestamps / speedup)",
		Live:  "only the simulator has closed/open admission; testbed run replays with the load generator's own --mode",
		apply: setString(func(c *sim.Config) *string { return &c.Admission })},
	{Name: "speedup", Field: "Speedup", Flag: true, Usage: "open admission: divide trace inter-arrival times by this (default 1)",
		Live:  "only the simulator's open admission has a speed-up; testbed run replays at the load generator's own rate",
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Speedup })},
	{Name: "low", Field: "Low", Flag: true, Usage: "LBLC low threshold per node, in connections (default 30)", Shared: sharedScheduler,
		apply: setInt(func(c *sim.Config) *int { return &c.Low })},
	{Name: "high", Field: "High", Flag: true, Usage: "LBLC high threshold per node; closed admission admits nodes×high (default 60)", Shared: sharedScheduler,
		apply: setInt(func(c *sim.Config) *int { return &c.High })},
	{Name: "keep-alive", Field: "KeepAlive", Flag: true, Usage: "l4 front end: HTTP/1.1 keep-alive time (default 0: HTTP/1.0)",
		Zero: "HTTP/1.0, one request per connection", Shared: sharedKeepAlive,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.KeepAlive })},
	{Name: "method", Field: "Method", Flag: true, Usage: "l4 front end: the live director's forwarding method, nat, tun or dr (default nat; the simulator ignores it)",
		Shared: "a live run builds that method's testbed and director",
		apply: func(c *sim.Config, v string) error {
			v = strings.ToLower(strings.TrimSpace(v))
			if !slices.Contains(sim.Methods(), v) {
				return fmt.Errorf("%q: want one of %s", v, strings.Join(sim.Methods(), ", "))
			}
			c.Method = v
			return nil
		}},
	{Name: "distributors", Field: "Distributors", Flag: true, Usage: "distributed front end: number of L7 distributors (at most " + strconv.Itoa(sim.MaxDistributors) + ")",
		Live:  simCh7,
		apply: setIntAtMost(func(c *sim.Config) *int { return &c.Distributors }, sim.MaxDistributors, "each distributor has its own queues")},
	{Name: "cls-lookup", Field: "CLSLookup", Flag: true, Usage: "distributed, colocated and cachecluster front ends: Content Location Service time per lookup message, e.g. 20us",
		Live:  simCh7,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.CLSLookup })},
	{Name: "cls-batch", Field: "CLSBatch", Flag: true, Usage: "distributed, colocated and cachecluster front ends: CLS lookups per message",
		Live:  simCh7,
		apply: setInt(func(c *sim.Config) *int { return &c.CLSBatch })},
	{Name: "origin-time", Field: "OriginTime", Flag: true, Usage: "cachecluster front end: the origin server's time per bypassed request (default 100ms)",
		Live:  "only the simulator has the cache cluster's origin server (§7.5)",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.OriginTime })},
	{Name: "dflb-interval", Field: "DFLBInterval", Flag: true, Usage: "DFLB load-monitor period (default 5s)",
		Shared: "the live load monitor ticks at this period",
		apply:  setDuration(func(c *sim.Config) *time.Duration { return &c.DFLBInterval })},
	{Name: "interval", Field: "Interval", Flag: true, Usage: "time-series bucket width in simulated time (default 10s)",
		Shared: "live results use the simulator's result schema, time series included",
		apply:  setDuration(func(c *sim.Config) *time.Duration { return &c.Interval })},
	{Name: "seed", Field: "Seed", Flag: true, Usage: "random seed (workload sampling, scheduler ties; default 0)", Zero: "a seed like any other",
		Shared: "it seeds the scheduler and the workload sampling in both worlds",
		apply: func(c *sim.Config, v string) (err error) {
			c.Seed, err = parseUint(v)
			return err
		}},
	{Name: "replicates", Field: "Replicates", Flag: true,
		Usage: "runs of each cell, each a replicate with its own seeded perturbations (same-instant events in random order, plus jitter and start-offset if set); results gain mean, standard deviation and a confidence interval (default 1: one unperturbed run)",
		Live:  simReplicates,
		apply: setIntAtMost(func(c *sim.Config) *int { return &c.Replicates }, sim.MaxReplicates, "each replicate is a simulation")},
	{Name: "jitter", Field: "Jitter", Flag: true,
		Usage: "replicates: multiply every CPU, disk and origin service time by a uniform factor in [1-jitter, 1+jitter], e.g. 0.02 (at most " + strconv.FormatFloat(sim.MaxJitter, 'g', -1, 64) + "; default 0: none)",
		Live:  simReplicates,
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Jitter })},
	{Name: "start-offset", Field: "StartOffset", Flag: true,
		Usage: "replicates: start each replicate's replay at a random request among the first start-offset fraction of the trace, wrapping around, e.g. 0.1 (at most 1; default 0: from the first request)",
		Live:  simReplicates,
		apply: setFloat(func(c *sim.Config) *float64 { return &c.StartOffset })},
	{Name: "failure", Field: "Failures", Key: "failures", Flag: true, Kind: Failures, Zero: "no failure",
		Usage:  `node failure NODE@AT[-RECOVER], nodes numbered from 0: "1@30s-90s" takes node 1 down at 30 s and back up at 90 s, "1@30s" for good; "none" for no failure`,
		Shared: "a testbed stops and restarts an emulated back end at the same times",
		apply: func(c *sim.Config, v string) (err error) {
			c.Failures, err = ParseFailures(v)
			return err
		}},
	{Name: "slowdown", Field: "Slowdowns", Flag: true, Kind: Slowdowns, Zero: "no slowdown",
		Usage:  `node slowdown NODExFACTOR@FROM-TO, nodes numbered from 0: "2x3@60s-2m" multiplies node 2's CPU and disk times by 3 from 60 s to 2 min (another job on it); "none" for no slowdown`,
		Shared: "a testbed's emulated back end slows down over the same interval, time-scaled",
		apply: func(c *sim.Config, v string) (err error) {
			c.Slowdowns, err = ParseSlowdowns(v)
			return err
		}},
	{Name: "health-check-delay", Field: "HealthCheckDelay", Flag: true, Usage: "how long the front end takes to notice a node failing or recovering (default 0: at once)",
		Zero: "the front end notices at once", Shared: "the live director's health check has the same delay",
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.HealthCheckDelay })},
	{Name: "connect-timeout", Field: "ConnectTimeout", Flag: true, Usage: "how long a request sent to a crashed, not yet noticed node waits before it fails (default 3s)",
		Shared: "the live director's connect timeout to a back end",
		apply:  setDuration(func(c *sim.Config) *time.Duration { return &c.ConnectTimeout })},

	// models.Costs (thesis §4.3): the service-time constants.
	{Name: "costs.connect", Field: "Costs.Connect", Usage: "CPU time of connection setup (default 140us)", Shared: sharedCluster,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Connect })},
	{Name: "costs.teardown", Field: "Costs.Teardown", Usage: "CPU time of connection teardown (default 140us)", Shared: sharedCluster,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Teardown })},
	{Name: "costs.transmit", Field: "Costs.Transmit", Usage: "CPU time to send one transmit_block (default 40us)", Shared: sharedCluster,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.Transmit })},
	{Name: "costs.transmit_block", Field: "Costs.TransmitBlock", Usage: "unit of transmit, in bytes (default 512)", Shared: sharedCluster,
		apply: setBytes(func(c *sim.Config) *int64 { return &c.Costs.TransmitBlock })},
	{Name: "costs.disk_access", Field: "Costs.DiskAccess", Usage: "disk positioning time per read (default 28ms)", Shared: sharedCluster,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.DiskAccess })},
	{Name: "costs.disk_transfer", Field: "Costs.DiskTransfer", Usage: "disk time to transfer one disk_block (default 410us)", Shared: sharedCluster,
		apply: setDuration(func(c *sim.Config) *time.Duration { return &c.Costs.DiskTransfer })},
	{Name: "costs.disk_block", Field: "Costs.DiskBlock", Usage: "unit of disk_transfer, in bytes (default 4096)", Shared: sharedCluster,
		apply: setBytes(func(c *sim.Config) *int64 { return &c.Costs.DiskBlock })},
	{Name: "costs.dynamic_factor", Field: "Costs.DynamicFactor", Usage: "multiplier of every CPU and disk time of a dynamic request (default 2)", Shared: sharedCluster,
		apply: setFloat(func(c *sim.Config) *float64 { return &c.Costs.DynamicFactor })},
}, slices.Concat(geoParams(), optionParams())...)

// optionFlags are the scheduler options that are flags of sim and sweep
// (the others are file keys only).
var optionFlags = []string{"threshold", "set_expiry", "epsilon", "inner"}

// optionsElsewhere are the scheduler options an experiment sets with
// another key: sim.Config.Resolve gives the scheduler the cluster's low and
// high thresholds, so one key sets both.
var optionsElsewhere = map[string]string{"low": "low", "high": "high"}

// optionParams are the parameters of the scheduler's options, one per
// algorithms.OptionSpecs entry (but optionsElsewhere): the file key is
// options.NAME, spelt as the option codec spells it everywhere.
func optionParams() []Param {
	var ps []Param
	for _, s := range algorithms.OptionSpecs() {
		if _, ok := optionsElsewhere[s.Name]; ok {
			continue
		}
		p := Param{Name: "options." + s.Name, Key: "options." + s.Name, Field: "Options." + s.Field, Zero: s.Zero, Shared: sharedScheduler,
			Usage: s.Doc + " (default " + s.Default + ")"}
		if slices.Contains(optionFlags, s.Name) {
			p.Name, p.Flag = s.Flag(), true
		}
		switch s.Kind {
		case algorithms.OptionClasses:
			p.Kind = Classes
			p.Usage += ", e.g. {cgi: [0, 1]}"
		case algorithms.OptionNear:
			p.Kind = Near
			p.Usage += ", e.g. [{prefix: 10.0.0.0/8, servers: [0, 1]}]"
		case algorithms.OptionNumbers:
			p.Kind = Numbers
			p.Usage += ", e.g. [0, 1, 0, 0, 0, 0]"
		}
		p.apply = func(c *sim.Config, v string) error { return s.Set(&c.Options, v) }
		ps = append(ps, p)
	}
	return ps
}

// Params returns the configuration parameters, in the order sweep axes
// nest (the first outermost).
func Params() []Param { return slices.Clone(params) }

// ParamByName finds a parameter by its name (Param.Name).
func ParamByName(name string) (Param, bool) {
	for _, p := range params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ParamByKey finds a parameter by its file key.
func ParamByKey(key string) (Param, bool) {
	for _, p := range params {
		if p.FileKey() == key {
			return p, true
		}
	}
	return Param{}, false
}

// TopKeys are the file keys that are not parameters.
var TopKeys = []string{"name", "trace", "alg", "nodes", "strict", "keep_dynamic"}

// topLive says why a live host honours each of TopKeys.
var topLive = map[string]string{
	"name":   "it names the run",
	"trace":  "the load generator replays the same trace",
	"alg":    "the live director runs the same registered schedulers",
	"nodes":  "a testbed has that many real servers",
	"strict": "the trace is read the same way",
	// keep_dynamic: true is refused by CheckLive (simKeepDynamic).
	"keep_dynamic": "false reads the trace the same way; true is simulated only",
}

// LiveWhy says whether a live host honours the file key key (a TopKeys
// entry or a parameter's key) and why, in a few words; for a key whose
// support depends on its value (front_end) it says which values it
// honours. ok is false for an unknown key.
func LiveWhy(key string) (shared bool, why string, ok bool) {
	if why, ok := topLive[key]; ok {
		return true, why, true
	}
	p, ok := ParamByKey(key)
	if !ok {
		return false, "", false
	}
	if p.Live != "" {
		return false, p.Live, true
	}
	return true, p.Shared, true
}

// isSection reports whether path is a key holding a mapping of nested keys.
func isSection(path string) bool {
	for _, p := range params {
		if strings.HasPrefix(p.FileKey(), path+".") {
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
		keys = slices.Clone(TopKeys)
	} else {
		prefix = section + "."
	}
	for _, p := range params {
		k, ok := strings.CutPrefix(p.FileKey(), prefix)
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

// ValuesHelp says which values the parameters refuse, and what the zero
// values that some of them accept mean, for the commands' help.
func ValuesHelp() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Numbers and durations must be >= 0 (a duration at most %v,
the largest Go duration). A zero value (0, 0s, false) reads as "not set" and
would select the default, so it is refused: leave the parameter out for the
default. These parameters take their zero value as a value of its own:

`, time.Duration(math.MaxInt64))
	for _, p := range params {
		if p.Zero == "" {
			continue
		}
		z := "0"
		switch {
		case p.Kind == Classes:
			z = "{}"
		case p.Kind == Near:
			z = "[]"
		case p.Kind != Scalar:
			z = none
		case strings.Contains(p.Usage, "true/false") || p.isBool():
			z = "false"
		}
		k := p.FileKey() + ": " + z
		if p.Flag {
			k += ", --" + p.Name + " " + z
		}
		fmt.Fprintf(&b, "  %-46s %s\n", k, p.Zero)
	}
	fmt.Fprintf(&b, `
An empty value or list item (--alg wrr,,wlc) is an error, as is a node count
given twice; a sweep has at most %d cells (traces × swept values ×
schedulers × node counts).
`, MaxCells)
	return b.String()
}

// isBool reports whether p takes true or false.
func (p Param) isBool() bool {
	name, ok := strings.CutPrefix(p.FileKey(), "options.")
	if !ok {
		return false
	}
	s, ok := algorithms.LookupOption(name)
	return ok && s.Kind == algorithms.OptionBool
}

// KeysHelp lists the file keys that have no flag, for the commands' help.
func KeysHelp() string {
	var b strings.Builder
	for _, p := range params {
		if !p.Flag {
			fmt.Fprintf(&b, "  %-32s %s\n", p.FileKey()+":", p.Usage)
		}
	}
	return b.String()
}
