package experiment

import (
	"cmp"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
)

// badExperiment is an experiment file that must be refused with an error
// that starts with the file name and mentions every string of want.
type badExperiment struct {
	name, yaml string
	want       []string
}

func checkBadExperiments(t *testing.T, tests []badExperiment) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("exp.yaml", strings.NewReader(tc.yaml), "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "exp.yaml: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestExperimentStrict checks that experiment files are strict: unknown
// keys and bad values are errors naming the key and its line.
func TestExperimentStrict(t *testing.T) {
	tests := []badExperiment{
		{"unknown key", "alg: wrr\nnodes: 1\ncahce: 8MiB\n", []string{"line 3", `unknown key "cahce"`, "cache_policy"}},
		{"unknown key after a list", "alg: [wrr]\nbogus:\n  - 1\n", []string{"line 2", `"bogus"`}},
		{"bad cache", "cache: lots\n", []string{"line 1", "cache", `"lots"`}},
		{"bad nodes", "nodes: [1, 0]\n", []string{"line 1", "nodes", "at least 1 node"}},
		{"bad low", "alg: wrr\nlow: many\n", []string{"line 2", "low", `"many"`}},
		{"bad duration", "keep_alive: 5\n", []string{"line 1", "keep_alive", "duration"}},
		{"bad method", "front_end: l4\nmethod: masq\n", []string{"line 2", "method", `"masq"`, "nat, tun, dr"}},
		{"mapping value", "cache:\n  size: 8MiB\n", []string{"line 2", "mapping"}},
		{"nested list", "alg: [[wrr]]\n", []string{"line 1", "list"}},
		{"empty list", "alg: []\n", []string{"line 1", "alg", "empty"}},
		{"two documents", "alg: wrr\n---\nalg: wlc\n", []string{"one"}},
		{"not a mapping", "- wrr\n", []string{"line 1"}},
		{"empty file", "", []string{"empty"}},
	}
	checkBadExperiments(t, tests)

}

// TestExperimentKeysMatchFlags keeps the YAML keys and the flags in step:
// every parameter has a distinct YAML key the parser knows, every flag
// parameter a flag of sim and sweep, and every sim.Config field a key.
func TestExperimentKeysMatchFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range params {
		k := p.FileKey()
		if seen[k] || seen[p.Name] && p.Name != k {
			t.Errorf("parameter %s/%s given twice", p.Name, k)
		}
		seen[k], seen[p.Name] = true, true
		if got, ok := ParamByKey(k); !ok || got.Name != p.Name {
			t.Errorf("ParamByKey(%q) = %v, %v", k, got.Name, ok)
		}
		if !p.Flag && p.Name != k {
			t.Errorf("file-only parameter %s: its name must be its key %s", p.Name, k)
		}
		// The key, written nested, is a known key.
		y := nestedYAML(k, "x")
		_, err := Parse("e.yaml", strings.NewReader(y), "")
		if err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("YAML key %s is unknown to the parser: %v", k, err)
		}
	}
	// Every field of sim.Config (through Costs, Options and Options.DFLB)
	// has exactly one parameter, except those set otherwise; and a value
	// of each parameter sets its field and no other.
	count := map[string]int{}
	for _, p := range params {
		count[p.Field]++
	}
	for _, f := range configFields(reflect.TypeFor[sim.Config](), "") {
		if other, ok := fieldsSetOtherwise[f]; ok {
			if count[f] != 0 {
				t.Errorf("field %s is set by %s and by a parameter", f, other)
			}
			continue
		}
		if count[f] != 1 {
			t.Errorf("field %s has %d parameters, want 1", f, count[f])
		}
		delete(count, f)
	}
	for f := range count {
		t.Errorf("parameters set %q, not a field of sim.Config", f)
	}
	for _, p := range params {
		e, err := Parse("e.yaml", strings.NewReader(nestedYAML(p.FileKey(), liveKeys[p.FileKey()].value)), "")
		if err != nil {
			t.Errorf("%s: %v", p.FileKey(), err)
			continue
		}
		base, _, err := e.Configs()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range configFields(reflect.TypeFor[sim.Config](), "") {
			v := reflect.ValueOf(base)
			for name := range strings.SplitSeq(f, ".") {
				v = v.FieldByName(name)
			}
			if v.IsZero() == (f == p.Field) {
				t.Errorf("%s: %s sets field %s = %v", p.FileKey(), liveKeys[p.FileKey()].value, f, v)
			}
		}
	}
}

// fieldsSetOtherwise are the fields of sim.Config no parameter sets, and
// what sets them: the cell (scheduler, node count), or Resolve (the
// scheduler's thresholds are the cluster's low and high), or the sweep
// (one cell per replicate).
var fieldsSetOtherwise = map[string]string{"Nodes": "nodes", "Algorithm": "alg", "Options.Low": "low", "Options.High": "high", "Replicate": "replicates"}

// configFields lists the leaf fields of typ by dotted path, through Costs,
// Options and Options.DFLB.
func configFields(typ reflect.Type, prefix string) []string {
	var out []string
	for f := range typ.Fields() {
		name := prefix + f.Name
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[netip.Prefix]() && (f.Name == "Costs" || f.Name == "Options" || f.Name == "DFLB" || f.Name == "Overflow") {
			out = append(out, configFields(f.Type, name+".")...)
			continue
		}
		out = append(out, name)
	}
	return out
}

// nestedYAML writes the dotted key k with value v as nested YAML.
func nestedYAML(k, v string) string {
	parts := strings.Split(k, ".")
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestExperimentNewKeys parses every key beyond the basic ones and checks
// the configuration it makes. Reference: §4.3 (cost constants), §4.2.4
// (DFLB), §6.3.5 (LBLC/R's K), §6.3.6 (classes), §7.3.1 (LBLL's T).
func TestExperimentNewKeys(t *testing.T) {
	ids := func(n ...int) []algorithms.ServerID {
		out := make([]algorithms.ServerID, len(n))
		for i, x := range n {
			out[i] = algorithms.ServerID(x)
		}
		return out
	}
	tests := []struct {
		name, yaml string
		got        func(c sim.Config) any
		want       any
	}{
		{"failures as mappings", "failures:\n  - {node: 1, at: 30s, recover: 90s}\n  - node: 2\n    at: 1m\n",
			func(c sim.Config) any { return c.Failures },
			[]sim.Failure{{Node: 1, At: 30 * time.Second, Recover: 90 * time.Second}, {Node: 2, At: time.Minute}}},
		{"failures as text", `failures: ["1@30s-90s", "0@20us"]`,
			func(c sim.Config) any { return c.Failures },
			[]sim.Failure{{Node: 1, At: 30 * time.Second, Recover: 90 * time.Second}, {Node: 0, At: 20 * time.Microsecond}}},
		{"one failure as a mapping", "failures: {node: 0, at: 5s}",
			func(c sim.Config) any { return c.Failures }, []sim.Failure{{Node: 0, At: 5 * time.Second}}},
		{"a node failing twice", `failures: ["1@1s-2s", "1@3s"]`,
			func(c sim.Config) any { return len(c.Failures) }, 2},
		{"no failure", "failures: []", func(c sim.Config) any { return c.Failures }, []sim.Failure(nil)},
		{"no failure by name", "failures: none", func(c sim.Config) any { return c.Failures }, []sim.Failure(nil)},
		{"health_check_delay", "health_check_delay: 250ms", func(c sim.Config) any { return c.HealthCheckDelay }, 250 * time.Millisecond},
		{"health_check_delay 0", "health_check_delay: 0s", func(c sim.Config) any { return c.HealthCheckDelay }, time.Duration(0)},
		{"cls_lookup", "cls_lookup: 20us", func(c sim.Config) any { return c.CLSLookup }, 20 * time.Microsecond},
		{"cls_batch", "cls_batch: 8", func(c sim.Config) any { return c.CLSBatch }, 8},
		{"origin_time", "origin_time: 50ms", func(c sim.Config) any { return c.OriginTime }, 50 * time.Millisecond},
		{"costs", "costs:\n  connect: 100us\n  teardown: 90us\n  transmit: 30us\n  transmit_block: 1KiB\n" +
			"  disk_access: 10ms\n  disk_transfer: 200us\n  disk_block: 8192\n  dynamic_factor: 3.5\n",
			func(c sim.Config) any { return c.Costs },
			models.Costs{Connect: 100 * time.Microsecond, Teardown: 90 * time.Microsecond, Transmit: 30 * time.Microsecond,
				TransmitBlock: 1024, DiskAccess: 10 * time.Millisecond, DiskTransfer: 200 * time.Microsecond, DiskBlock: 8192, DynamicFactor: 3.5}},
		{"threshold", "options: {threshold: 1.5}", func(c sim.Config) any { return c.Options.Threshold }, 1.5},
		{"set_expiry", "options: {set_expiry: 30s}", func(c sim.Config) any { return c.Options.SetExpiry }, 30 * time.Second},
		{"table_expiry", "options: {table_expiry: 1h}", func(c sim.Config) any { return c.Options.TableExpiry }, time.Hour},
		{"epsilon", "options: {epsilon: 0.1}", func(c sim.Config) any { return c.Options.Epsilon }, 0.1},
		{"replicas", "options: {replicas: 50}", func(c sim.Config) any { return c.Options.Replicas }, 50},
		{"inner", "options: {inner: WLC}", func(c sim.Config) any { return c.Options.Inner }, "wlc"},
		{"fallback", "options: {fallback: true}", func(c sim.Config) any { return c.Options.Fallback }, true},
		{"port", "options: {port: true}", func(c sim.Config) any { return c.Options.Port }, true},
		{"table_size", "options: {table_size: 251}", func(c sim.Config) any { return c.Options.TableSize }, 251},
		{"restart_cycle", "options: {restart_cycle: true}", func(c sim.Config) any { return c.Options.RestartCycle }, true},
		{"options seed", "options: {seed: 42}", func(c sim.Config) any { return c.Options.Seed }, uint64(42)},
		{"classes", "options:\n  classes:\n    cgi: [0, 1]\n    img: 2\n    none: []\n",
			func(c sim.Config) any { return c.Options.Classes },
			map[string][]algorithms.ServerID{"cgi": ids(0, 1), "img": ids(2), "none": nil}},
		{"near", "options:\n  near:\n    - {prefix: 10.0.0.0/8, servers: [1, 0]}\n    - {prefix: \"::/0\", servers: 2}\n",
			func(c sim.Config) any { return c.Options.Near },
			[]algorithms.NearServers{{Prefix: netip.MustParsePrefix("10.0.0.0/8"), Servers: ids(1, 0)}, {Prefix: netip.MustParsePrefix("::/0"), Servers: ids(2)}}},
		{"dflb", "options:\n  dflb:\n    coefficients: [0.1, 0.3, 0.1, 0.1, 0.1, 0.3]\n    a: 4\n    scale: 8\n    change_threshold: 0.5\n    target: 0.9\n",
			func(c sim.Config) any { return c.Options.DFLB },
			algorithms.DFLBParams{Coefficients: [6]float64{0.1, 0.3, 0.1, 0.1, 0.1, 0.3}, A: 4, Scale: 8, ChangeThreshold: 0.5, Target: 0.9}},
		{"change_threshold 0", "options: {dflb: {change_threshold: 0}}", func(c sim.Config) any { return c.Options.DFLB.ChangeThreshold }, 0.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse("exp.yaml", strings.NewReader(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			base, axes, err := e.Configs()
			if err != nil {
				t.Fatal(err)
			}
			if len(axes) != 0 {
				t.Errorf("%d sweep axes, want none", len(axes))
			}
			if got := tc.got(base); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			// The resolved configuration keeps it (it is in the results).
			base.Nodes, base.Algorithm = 4, "wrr"
			res, err := base.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.got(res); tc.name != "costs" && !strings.HasPrefix(tc.name, "dflb") && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resolved: got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// TestExperimentSweepNewKeys checks that lists sweep: a list of scalars
// for a scalar key, a list of lists (or mappings) for a structured one.
func TestExperimentSweepNewKeys(t *testing.T) {
	tests := []struct {
		name, yaml string
		labels     []string
	}{
		{"nested scalar", "costs:\n  disk_access: [10ms, 28ms]\n", []string{"costs.disk_access=10ms", "costs.disk_access=28ms"}},
		{"flag key", "options:\n  threshold: [0.5, 2]\n", []string{"threshold=0.5", "threshold=2"}},
		{"failure schedules", "failures:\n  - []\n  - [{node: 1, at: 30s, recover: 1m30s}, \"2@1s\"]\n",
			[]string{"failure=none", "failure=1@30s-1m30s,2@1s"}},
		{"class maps", "options:\n  classes: [{a: [0]}, {a: [1], b: [0, 2]}]\n",
			[]string{"options.classes=a=0", "options.classes=a=1;b=0,2"}},
		{"coefficient lists", "options:\n  dflb:\n    coefficients: [[0, 1, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0, 0]]\n",
			[]string{"options.dflb.coefficients=0,1,0,0,0,0", "options.dflb.coefficients=0.5,0.5,0,0,0,0"}},
		{"near lists", "options:\n  near: [[], [{prefix: 10.0.0.0/8, servers: [1]}]]\n",
			[]string{"options.near=none", "options.near=10.0.0.0/8=1"}},
		{"health checks", "health_check_delay: [0s, 2s]\n", []string{"health-check-delay=0s", "health-check-delay=2s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse("exp.yaml", strings.NewReader(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			_, axes, err := e.Configs()
			if err != nil {
				t.Fatal(err)
			}
			if len(axes) != 1 {
				t.Fatalf("%d axes, want 1", len(axes))
			}
			var labels []string
			var configs []sim.Config
			for _, v := range axes[0].Values {
				labels = append(labels, v.Label)
				var c sim.Config
				v.Apply(&c)
				configs = append(configs, c)
			}
			if !slices.Equal(labels, tc.labels) {
				t.Errorf("labels %q, want %q", labels, tc.labels)
			}
			if reflect.DeepEqual(configs[0], configs[1]) {
				t.Error("the swept values make the same configuration")
			}
		})
	}
}

// TestExperimentStrictNewKeys checks bad values and unknown nested keys:
// errors name the key (dotted) and its line.
func TestExperimentStrictNewKeys(t *testing.T) {
	tests := []badExperiment{
		{"unknown costs key", "alg: wrr\ncosts:\n  disk_acess: 10ms\n", []string{"line 3", `unknown key "costs.disk_acess"`, "disk_access"}},
		{"unknown dflb key", "options:\n  dflb:\n    alpha: 1\n", []string{"line 3", `"options.dflb.alpha"`, "change_threshold"}},
		{"unknown failure key", "failures:\n  - {node: 1, at: 30s, recvoer: 90s}\n", []string{"line 2", `"failures.recvoer"`, "recover"}},
		{"unknown near key", "options:\n  near: [{prefix: 10.0.0.0/8, server: [1]}]\n", []string{"line 2", `"options.near.server"`}},
		{"option at the top level", "threshold: 2\n", []string{"line 1", `unknown key "threshold"`, "options"}},
		{"bad failure node", "failures:\n  - node: x\n    at: 1s\n", []string{"line 2", "failures.node", `"x"`}},
		{"negative failure node", "failures: [{node: -1, at: 1s}]\n", []string{"line 1", "failures.node", ">= 0"}},
		{"bad failure time", "failures:\n  - {node: 1, at: soon}\n", []string{"line 2", "failures.at", "duration"}},
		{"failure without time", "failures:\n  - {node: 1}\n", []string{"line 2", "failures", "no time"}},
		{"failure without node", "failures: [{at: 1s}]\n", []string{"line 1", "failures", "no node"}},
		{"recovery before failure", "failures:\n\n  - {node: 1, at: 30s, recover: 10s}\n", []string{"line 3", "failures.recover", "not after"}},
		{"bad failure text", "failures: [\"1-30s\"]\n", []string{"line 1", "failures", "no @"}},
		{"failure text recovering early", "failures: 1@30s-10s\n", []string{"line 1", "failures", "after the failure time"}},
		{"failing while down", "failures: [\"1@10s-30s\", \"1@20s\"]\n", []string{"line 1", "failures", "while down"}},
		{"failing again without recovery", "failures: [\"1@10s\", \"1@20s\"]\n", []string{"line 1", "failures", "never recovers"}},
		{"mixed failure lists", "failures:\n  - [\"1@1s\"]\n  - \"2@1s\"\n", []string{"line 3", "failures", "a list of lists sweeps"}},
		{"mixed failure items", "failures:\n  - \"2@1s\"\n  - [\"1@1s\"]\n", []string{"line 3", "failures", "mixing"}},
		{"failure as a number list", "failures: [[1, 2]]\n", []string{"line 1", "failures", "no @"}},
		{"negative health check", "health_check_delay: -1s\n", []string{"line 1", "health_check_delay", ">= 0"}},
		{"zero cls_lookup", "cls_lookup: 0s\n", []string{"line 1", "cls_lookup", "> 0", "default"}},
		{"bad cls_batch", "cls_batch: many\n", []string{"line 1", "cls_batch", `"many"`}},
		{"unitless origin_time", "origin_time: 5\n", []string{"line 1", "origin_time", "duration"}},
		{"costs not a mapping", "costs: 5\n", []string{"line 1", "costs", "mapping", "disk_access"}},
		{"bad cost", "costs:\n  connect: fast\n", []string{"line 2", "costs.connect", `"fast"`}},
		{"bad block", "costs:\n  disk_block: -1\n", []string{"line 2", "costs.disk_block"}},
		{"bad factor", "costs:\n  dynamic_factor: .nan\n", []string{"line 2", "costs.dynamic_factor", "finite"}},
		{"swept bad cost", "costs:\n  disk_access:\n    - 10ms\n    - 1x\n", []string{"line 4", "costs.disk_access", `"1x"`}},
		{"negative threshold", "options:\n  threshold: -1\n", []string{"line 2", "options.threshold", ">"}},
		{"inner dflb", "options: {inner: dflb}\n", []string{"line 1", "options.inner", "dflb"}},
		{"inner unknown", "options: {inner: nosuch}\n", []string{"line 1", "options.inner", "nosuch"}},
		{"bad bool", "options:\n  fallback: maybe\n", []string{"line 2", "options.fallback", "true or false"}},
		{"zero scheduler seed", "options: {seed: 0}\n", []string{"line 1", "options.seed", "> 0"}},
		{"classes list of numbers", "options:\n  classes: [1, 2]\n", []string{"line 2", "options.classes"}},
		{"bad class node", "options:\n  classes:\n    cgi: [x]\n", []string{"line 3", "options.classes.cgi", `"x"`}},
		{"bad prefix", "options:\n  near: [{prefix: nope, servers: [0]}]\n", []string{"line 2", "options.near.prefix", `"nope"`}},
		{"near without servers", "options:\n  near: [{prefix: 10.0.0.0/8}]\n", []string{"line 2", "options.near", "servers"}},
		{"five coefficients", "options:\n  dflb:\n    coefficients: [1, 0, 0, 0, 0]\n", []string{"line 3", "options.dflb.coefficients", "6 numbers"}},
		{"coefficients not summing to 1", "options:\n  dflb:\n    coefficients: [0.5, 0.6, 0, 0, 0, 0]\n", []string{"line 3", "sum to 1"}},
		{"negative coefficient", "options:\n  dflb:\n    coefficients: [-1, 2, 0, 0, 0, 0]\n", []string{"line 3", ">= 0"}},
		{"coefficients as a mapping", "options:\n  dflb:\n    coefficients: {a: 1}\n", []string{"line 3", "coefficients", "mapping"}},
		{"repeated key", "cache: 8MiB\nseed: 1\ncache: 16MiB\n", []string{"line 3", "cache", "twice", "line 1"}},
		{"repeated nested key", "options:\n  threshold: 1\n  threshold: 2\n", []string{"line 3", "options.threshold", "twice"}},
		{"repeated section", "options: {epsilon: 0.1}\noptions: {replicas: 3}\n", []string{"line 2", "options", "twice"}},
		{"null value", "cls_batch:\nseed: 1\n", []string{"line 1", "cls_batch", "no value"}},
		{"alias", "seed: &s 1\ncls_batch: *s\n", []string{"line 2", "cls_batch", "alias"}},
		{"key that is a list", "[a]: 1\n", []string{"line 1", "key"}},
		{"name list", "name: [a, b]\n", []string{"line 1", "name", "list"}},
	}
	checkBadExperiments(t, tests)
}

// TestExperimentRoundTrip checks that every structured value's canonical
// text parses back to the same configuration, so that a sweep label can
// be pasted into a flag or file.
func TestExperimentRoundTrip(t *testing.T) {
	fs := []sim.Failure{{Node: 3, At: 1500 * time.Millisecond, Recover: 2 * time.Minute}, {Node: 0, At: 0}}
	got, err := ParseFailures(FormatFailures(fs))
	if err != nil || !reflect.DeepEqual(got, fs) {
		t.Errorf("failures: %v, %v", got, err)
	}
}

func TestParseNodes(t *testing.T) {
	tests := []struct {
		in   []string
		want []int
		err  string
	}{
		{[]string{"1,4,7"}, []int{1, 4, 7}, ""},
		{[]string{"1-3", "7"}, []int{1, 2, 3, 7}, ""},
		{[]string{" 2 - 4 "}, []int{2, 3, 4}, ""},
		{[]string{"0"}, nil, "at least 1 node"},
		{[]string{"4-2"}, nil, "range"},
		{[]string{"-1"}, nil, "node count"},
		{[]string{"a"}, nil, "node count"},
		{[]string{""}, nil, "empty value"},
		{[]string{"1,,2"}, nil, "empty value"},
		{[]string{"1-3", "2"}, nil, "node count 2 given twice"},
		{nil, nil, "no node count"},
		{[]string{"1-5000"}, nil, "at most"},
	}
	for _, tc := range tests {
		got, err := ParseNodes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseNodes(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseNodes(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseExperiment checks that no input makes the experiment parser
// panic or allocate beyond a bound linear in the input (an alias bomb, a
// huge node range, a sweep of too many cells are refused before anything
// is expanded), that its errors name the file, and that what it accepts has
// distinct valid node counts, no empty value, and at most MaxCells cells.
func FuzzParseExperiment(f *testing.F) {
	f.Add("alg: [wrr, lblc]\nnodes: 1-16\ncache: [8MiB, 32MiB]\n")
	f.Add("trace: default\nseed: 1\nkeep_alive: 5s\n")
	f.Add("nodes: [1, 2, 3]\nbogus: 1\n")
	f.Add("cache: {a: 1}\n")
	f.Add("failures: [{node: 1, at: 30s, recover: 90s}, \"2@1s\"]\nhealth_check_delay: [0s, 1s]\n")
	f.Add("costs:\n  disk_access: [1ms, 2ms]\noptions:\n  dflb: {coefficients: [0, 1, 0, 0, 0, 0]}\n  classes: {a: [1]}\n")
	f.Add("options:\n  near: [[], [{prefix: 10.0.0.0/8, servers: [1]}]]\n")
	f.Add("nodes: [{count: 3, speed: 2}, {count: 4, cache: 8MiB, weight: 2}]\nweights: [given, capacity]\n")
	f.Add("nodes: [[{count: 7}], [\"3:speed=2\", {count: 4}]]\nslowdown: [[], [{node: 1, factor: 3, from: 10s, to: 1m}, \"2x1.5@0s-5s\"]]\n")
	f.Add("nodes: {count: 4000}\nslowdown: {node: 9999, factor: 1e9, from: 1s, to: 0s}\n")
	// Zeros, empty items, out-of-range values.
	f.Add("low: 0\nhigh: [0, 60]\ninterval: 0s\ndistributors: 0\ndflb_interval: 0s\n")
	f.Add("alg: \"\"\nnodes: \"1,,2\"\ntrace: \"a.log+\"\n")
	f.Add("failures: [\"0@999999999h\"]\ncls_lookup: 1000h\ncls_batch: 99999999999999999999\n")
	// A billion laughs: nine aliases of nine aliases of ...
	lol := "trace: &a [x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, k := range []string{"alg", "nodes", "cache", "seed", "low", "high"} {
		lol += k + ": &" + k + " [" + strings.Repeat("*"+prev+", ", 8) + "*" + prev + "]\n"
		prev = k
	}
	f.Add(lol)
	// Huge sweeps.
	f.Add("nodes: 1-1000000000\n")
	f.Add("nodes: [" + strings.Repeat("1-4096, ", 100) + "1]\n")
	f.Add("nodes: 1-4096\nalg: [wrr, wlc, lblc]\ncache: [1MiB, 2MiB, 3MiB, 4MiB, 5MiB, 6MiB, 7MiB, 8MiB, 9MiB]\n")
	f.Add("seed: [" + strings.Repeat("1, ", 5000) + "1]\ncache_policy: [" + strings.Repeat("lru, ", 5000) + "lru]\n")
	f.Add("options:\n  classes: [" + strings.Repeat("{a: [0, 1]}, ", 2000) + "{}]\n")
	f.Add("alg: " + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		e, err := Parse("f.yaml", strings.NewReader(s), "")
		runtime.ReadMemStats(&m1)
		if alloc, bound := m1.TotalAlloc-m0.TotalAlloc, uint64(1<<20+2048*len(s)); alloc > bound {
			t.Errorf("%d bytes of input allocated %d bytes, more than %d", len(s), alloc, bound)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		seen := map[int]bool{}
		for _, n := range e.Nodes {
			if n < 1 || n > MaxNodes || seen[n] {
				t.Errorf("accepted node count %d (one of %d)", n, len(e.Nodes))
				break
			}
			seen[n] = true
		}
		distinct := func(list []string, def int) int {
			m := map[string]bool{}
			for _, v := range list {
				m[strings.ToLower(strings.TrimSpace(v))] = true
			}
			return cmp.Or(len(m), def)
		}
		cells := distinct(e.Traces, 1) * distinct(e.Algorithms, 5) * len(e.NodeCounts())
		for _, vals := range e.Values {
			cells *= len(vals)
			for _, v := range vals {
				if strings.TrimSpace(v) == "" {
					t.Errorf("accepted an empty value in %v", e.Values)
				}
			}
		}
		if cells > MaxCells {
			t.Errorf("accepted a sweep of %d cells", cells)
		}
		for _, v := range append(slices.Clone(e.Traces), e.Algorithms...) {
			if strings.TrimSpace(v) == "" {
				t.Errorf("accepted an empty trace or algorithm: %q, %q", e.Traces, e.Algorithms)
			}
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	for _, s := range []string{"1,4,7", "1-16", "3-1", "0", "x", "1-2,5-6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, err := ParseNodes([]string{s})
		if err != nil {
			return
		}
		if len(ns) == 0 {
			t.Error("no error and no node count")
		}
		for _, n := range ns {
			if n < 1 || n > 4096 {
				t.Errorf("accepted %d", n)
			}
		}
	})
}

func TestNodesString(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{[]int{1, 2, 3, 4}, "1-4"},
		{[]int{1, 4, 7}, "1,4,7"},
		{[]int{1, 2, 7, 8, 9}, "1,2,7-9"},
		{[]int{5}, "5"},
	}
	for _, tc := range tests {
		if got := NodesString(tc.in); got != tc.want {
			t.Errorf("NodesString(%v) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseNodes([]string{NodesString(tc.in)}); err != nil || len(back) != len(tc.in) {
			t.Errorf("ParseNodes(NodesString(%v)) = %v, %v", tc.in, back, err)
		}
	}
}

// TestSweepKeysUnchanged checks that an experiment using none of the
// newer keys resolves to exactly the configuration built by hand, so the
// cell keys of earlier sweeps stay valid.
func TestSweepKeysUnchanged(t *testing.T) {
	e, err := Parse("e.yaml", strings.NewReader("cache: 8MiB\nlow: 10\nhigh: 20\nkeep_alive: 5s\nseed: 3\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	base, axes, err := e.Configs()
	if err != nil || len(axes) != 0 {
		t.Fatal(err, axes)
	}
	want := sim.Config{CacheBytes: 8 << 20, Low: 10, High: 20, KeepAlive: 5 * time.Second, Seed: 3}
	if !reflect.DeepEqual(base, want) {
		t.Errorf("base config\n%+v, want\n%+v", base, want)
	}
}
