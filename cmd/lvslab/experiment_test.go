package main

import (
	"cmp"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExperimentFile runs an experiment file, with relative trace paths
// and flags that override its keys.
func TestExperimentFile(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, "x.log", clf("h1", "GET", "/a", 200, 1000), clf("h1", "GET", "/b", 200, 3000), clf("h2", "GET", "/a", 200, 1000))
	exp := writeFile(t, dir, "exp.yaml", `# a sweep of two cache sizes
name: small
trace: x.log            # relative to this file
alg: [wrr, lblc]
nodes: 1-2
cache: [1MiB, 2MiB]
cache_policy: lru
low: 10
high: 20
seed: 3
`)
	out, _, err := execLab(t, "sim", "-f", exp)
	if err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, out)
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 2 caches × 2 algorithms × 2 node counts", len(rows))
	}
	if rows[0]["cache_bytes"] != "1048576" || rows[7]["cache_bytes"] != "2097152" || rows[0]["seed"] != "3" || rows[0]["requests"] != "3" {
		t.Errorf("rows: %v ... %v", rows[0], rows[7])
	}

	out, _, err = execLab(t, "sim", "-f", exp, "--alg", "wlc", "--cache", "4MiB")
	if err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, out)
	if len(rows) != 2 || rows[0]["alg"] != "wlc" || rows[0]["cache_bytes"] != "4194304" {
		t.Errorf("flags do not override the file: %v", rows)
	}
}

// TestExperimentStrict checks that experiment files are strict: unknown
// keys and bad values are errors naming the key and its line.
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
			_, err := parseExperiment("exp.yaml", strings.NewReader(tc.yaml), "")
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

func TestExperimentStrict(t *testing.T) {
	tests := []badExperiment{
		{"unknown key", "alg: wrr\nnodes: 1\ncahce: 8MiB\n", []string{"line 3", `unknown key "cahce"`, "cache_policy"}},
		{"unknown key after a list", "alg: [wrr]\nbogus:\n  - 1\n", []string{"line 2", `"bogus"`}},
		{"bad cache", "cache: lots\n", []string{"line 1", "cache", `"lots"`}},
		{"bad nodes", "nodes: [1, 0]\n", []string{"line 1", "nodes", "at least 1 node"}},
		{"bad low", "alg: wrr\nlow: many\n", []string{"line 2", "low", `"many"`}},
		{"bad duration", "keep_alive: 5\n", []string{"line 1", "keep_alive", "duration"}},
		{"mapping value", "cache:\n  size: 8MiB\n", []string{"line 2", "mapping"}},
		{"nested list", "alg: [[wrr]]\n", []string{"line 1", "list"}},
		{"empty list", "alg: []\n", []string{"line 1", "alg", "empty"}},
		{"two documents", "alg: wrr\n---\nalg: wlc\n", []string{"one"}},
		{"not a mapping", "- wrr\n", []string{"line 1"}},
		{"empty file", "", []string{"empty"}},
	}
	checkBadExperiments(t, tests)

	// The same through the command.
	dir := t.TempDir()
	exp := writeFile(t, dir, "bad.yaml", "alg: wrr\nnodes: 1\nfrontend: l4\n")
	_, _, err := execLab(t, "sim", "-f", exp)
	if err == nil || !strings.Contains(err.Error(), `unknown key "frontend"`) || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("sim -f with an unknown key: %v", err)
	}
}

// TestExperimentKeysMatchFlags keeps the YAML keys and the flags in step:
// every parameter has a distinct YAML key the parser knows, every flag
// parameter a flag of sim and sweep, and every sim.Config field a key.
func TestExperimentKeysMatchFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range params {
		k := p.yamlKey()
		if seen[k] || seen[p.flag] && p.flag != k {
			t.Errorf("parameter %s/%s given twice", p.flag, k)
		}
		seen[k], seen[p.flag] = true, true
		if got, ok := paramByKey(k); !ok || got.flag != p.flag {
			t.Errorf("paramByKey(%q) = %v, %v", k, got.flag, ok)
		}
		if !p.cli && p.flag != k {
			t.Errorf("file-only parameter %s: its name must be its key %s", p.flag, k)
		}
		// The key, written nested, is a known key.
		y := nestedYAML(k, "x")
		_, err := parseExperiment("e.yaml", strings.NewReader(y), "")
		if err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("YAML key %s is unknown to the parser: %v", k, err)
		}
	}
	for _, cmd := range []*cobra.Command{newSimCmd(), newSweepCmd()} {
		for _, p := range params {
			if got := cmd.Flags().Lookup(p.flag) != nil; got != p.cli {
				t.Errorf("%s: flag --%s exists = %v, want %v", cmd.Name(), p.flag, got, p.cli)
			}
		}
	}
	// Every field of sim.Config, models.Costs, algorithms.Options and
	// algorithms.DFLBParams has a parameter, except those set otherwise.
	covered := configFieldKeys
	var fields func(typ reflect.Type, prefix string)
	fields = func(typ reflect.Type, prefix string) {
		for f := range typ.Fields() {
			name := prefix + f.Name
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[netip.Prefix]() && (f.Name == "Costs" || f.Name == "Options" || f.Name == "DFLB") {
				fields(f.Type, name+".")
				continue
			}
			key, ok := covered[name]
			if !ok {
				t.Errorf("field %s has no experiment key", name)
				continue
			}
			if _, ok := paramByKey(key); !ok && !slices.Contains(topKeys, key) {
				t.Errorf("field %s: key %s is not a parameter", name, key)
			}
		}
	}
	fields(reflect.TypeFor[sim.Config](), "")
}

// configFieldKeys maps every field of sim.Config (dotted through Costs,
// Options and Options.DFLB) to the experiment key that sets it.
var configFieldKeys = map[string]string{
	"Preset": "preset", "Nodes": "nodes", "Algorithm": "alg", "CacheBytes": "cache", "CachePolicy": "cache_policy",
	"FrontEnd": "front_end", "Admission": "admission", "Speedup": "speedup", "Low": "low", "High": "high",
	"DFLBInterval": "dflb_interval", "KeepAlive": "keep_alive", "Distributors": "distributors",
	"CLSLookup": "cls_lookup", "CLSBatch": "cls_batch", "OriginTime": "origin_time", "Failures": "failures",
	"HealthCheckDelay": "health_check_delay", "ConnectTimeout": "connect_timeout", "Interval": "interval", "Seed": "seed",
	"Costs.Connect": "costs.connect", "Costs.Teardown": "costs.teardown", "Costs.Transmit": "costs.transmit",
	"Costs.TransmitBlock": "costs.transmit_block", "Costs.DiskAccess": "costs.disk_access",
	"Costs.DiskTransfer": "costs.disk_transfer", "Costs.DiskBlock": "costs.disk_block",
	"Costs.DynamicFactor": "costs.dynamic_factor",
	"Options.Seed":        "options.seed", "Options.SetExpiry": "options.set_expiry", "Options.TableExpiry": "options.table_expiry", "Options.MaxEntries": "options.max_entries",
	"Options.Threshold": "options.threshold", "Options.Fallback": "options.fallback", "Options.Port": "options.port",
	"Options.TableSize": "options.table_size", "Options.Epsilon": "options.epsilon", "Options.Replicas": "options.replicas",
	"Options.Classes": "options.classes", "Options.Near": "options.near", "Options.RestartCycle": "options.restart_cycle",
	"Options.Inner": "options.inner", "Options.DFLB.Coefficients": "options.dflb.coefficients", "Options.DFLB.A": "options.dflb.a",
	"Options.DFLB.Scale": "options.dflb.scale", "Options.DFLB.ChangeThreshold": "options.dflb.change_threshold",
	"Options.DFLB.Target": "options.dflb.target",
	// Options.Low and Options.High are low and high (sim.Config.Resolve copies them).
	"Options.Low": "low", "Options.High": "high",
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
			e, err := parseExperiment("exp.yaml", strings.NewReader(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			base, axes, err := e.configs()
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
			e, err := parseExperiment("exp.yaml", strings.NewReader(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			_, axes, err := e.configs()
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

// TestExperimentFailureNodes checks that a failure of a node the cluster
// does not have is reported where it was given (the file and the line of
// that failure, or the --failure flag) with the node count it does not fit,
// before any trace is loaded or simulation run. Reference: thesis §5.2 (a
// failed real server leaves the cluster); reference-model.md numbers nodes
// from 0.
func TestExperimentFailureNodes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml string
		args       []string
		want       string
	}{
		{"one node", "alg: wrr\nnodes: 1\nfailures: [{node: 5, at: 1s}]\n", nil,
			"x.yaml: line 3: failures[0].node: node 5 does not exist with nodes: 1 (nodes are numbered 0..0)"},
		{"second failure, block style", "alg: wrr\nnodes: 2\nfailures:\n  - {node: 1, at: 1s}\n  - at: 2s\n    node: 2\n", nil,
			"x.yaml: line 6: failures[1].node: node 2 does not exist with nodes: 2 (nodes are numbered 0..1)"},
		{"text items", "nodes: 3\nfailures:\n  - 0@1s\n  - \"3@2s-4s\"\n", nil,
			"x.yaml: line 4: failures[1].node: node 3 does not exist with nodes: 3 (nodes are numbered 0..2)"},
		{"one text value", "nodes: 3\nfailures: 0@1s,4@2s\n", nil,
			"x.yaml: line 2: failures[1].node: node 4 does not exist with nodes: 3 (nodes are numbered 0..2)"},
		{"swept node counts", "alg: wrr\nnodes: [1, 2, 4, 7]\nfailures: [{node: 3, at: 1s}]\n", nil,
			"x.yaml: line 3: failures[0].node: node 3 does not exist with nodes: 1,2 (n nodes are numbered 0..n-1)"},
		{"swept schedules", "nodes: 4\nfailures:\n  - []\n  - [{node: 1, at: 1s}]\n  - [{node: 0, at: 1s}, {node: 9, at: 2s}]\n", nil,
			"x.yaml: line 5: failures[1].node: node 9 does not exist with nodes: 4 (nodes are numbered 0..3)"},
		{"default node counts", "failures: [{node: 4, at: 1s}]\n", nil,
			"x.yaml: line 1: failures[0].node: node 4 does not exist with nodes 1,4 (the default node counts, 1,4,7; n nodes are numbered 0..n-1)"},
		{"node counts from the flag", "failures: [{node: 4, at: 1s}]\nnodes: 8\n", []string{"--nodes", "2"},
			"x.yaml: line 1: failures[0].node: node 4 does not exist with --nodes 2 (nodes are numbered 0..1)"},
		{"failure from the flag", "nodes: 2\nfailures: [{node: 0, at: 1s}]\n", []string{"--failure", "1@1s", "--failure", "2@1s"},
			"--failure: failures[1].node: node 2 does not exist with nodes: 2 (nodes are numbered 0..1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, "x.yaml", tc.yaml)
			// A trace that does not exist: the check must come before
			// traces are loaded.
			args := append([]string{"sim", "-f", path, "--trace", filepath.Join(dir, "missing.log")}, tc.args...)
			_, _, err := execLab(t, args...)
			if err == nil {
				t.Fatal("no error")
			}
			want := strings.ReplaceAll(tc.want, "x.yaml", path)
			if err.Error() != want {
				t.Errorf("error\n%s\nwant\n%s", err, want)
			}
		})
	}
	// Failures that exist at every node count run.
	path := writeFile(t, dir, "ok.yaml", "alg: wrr\nnodes: [2, 3]\nfailures: [{node: 1, at: 1s}]\n")
	if _, _, err := execLab(t, "sim", "-f", path); err != nil {
		t.Errorf("node 1 with nodes 2, 3: %v", err)
	}
}

// TestExperimentRoundTrip checks that every structured value's canonical
// text parses back to the same configuration, so that a sweep label can
// be pasted into a flag or file.
func TestExperimentRoundTrip(t *testing.T) {
	fs := []sim.Failure{{Node: 3, At: 1500 * time.Millisecond, Recover: 2 * time.Minute}, {Node: 0, At: 0}}
	got, err := parseFailures(formatFailures(fs))
	if err != nil || !reflect.DeepEqual(got, fs) {
		t.Errorf("failures: %v, %v", got, err)
	}
	cl := map[string][]algorithms.ServerID{"b": {2, 0}, "a": {1}}
	gotCl, err := parseClasses(formatClasses(cl))
	if err != nil || !reflect.DeepEqual(gotCl, cl) {
		t.Errorf("classes: %v, %v", gotCl, err)
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
		got, err := parseNodes(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseNodes(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseNodes(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseExperiment checks that no input makes the experiment parser
// panic or allocate beyond a bound linear in the input (an alias bomb, a
// huge node range, a sweep of too many cells are refused before anything
// is expanded), that its errors name the file, and that what it accepts has
// distinct valid node counts, no empty value, and at most maxCells cells.
func FuzzParseExperiment(f *testing.F) {
	f.Add("alg: [wrr, lblc]\nnodes: 1-16\ncache: [8MiB, 32MiB]\n")
	f.Add("trace: default\nseed: 1\nkeep_alive: 5s\n")
	f.Add("nodes: [1, 2, 3]\nbogus: 1\n")
	f.Add("cache: {a: 1}\n")
	f.Add("failures: [{node: 1, at: 30s, recover: 90s}, \"2@1s\"]\nhealth_check_delay: [0s, 1s]\n")
	f.Add("costs:\n  disk_access: [1ms, 2ms]\noptions:\n  dflb: {coefficients: [0, 1, 0, 0, 0, 0]}\n  classes: {a: [1]}\n")
	f.Add("options:\n  near: [[], [{prefix: 10.0.0.0/8, servers: [1]}]]\n")
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
		e, err := parseExperiment("f.yaml", strings.NewReader(s), "")
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
			if n < 1 || n > maxNodes || seen[n] {
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
		cells := distinct(e.Traces, 1) * distinct(e.Algorithms, 5) * len(e.nodeCounts())
		for _, vals := range e.Values {
			cells *= len(vals)
			for _, v := range vals {
				if strings.TrimSpace(v) == "" {
					t.Errorf("accepted an empty value in %v", e.Values)
				}
			}
		}
		if cells > maxCells {
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
		ns, err := parseNodes([]string{s})
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

// TestExamples keeps examples/ working: every experiment file parses and
// names known algorithms, the Kubernetes Job's shard count matches its
// completions, and the Slurm script is valid shell.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "k8s-") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, err := parseExperiment(f, strings.NewReader(string(b)), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Algorithms) == 0 || len(e.Nodes) == 0 || len(e.Traces) == 0 {
				t.Errorf("incomplete experiment: %+v", e)
			}
			// Run it on one small node count, with small traces.
			args := []string{"sim", "-f", f, "--nodes", "2", "--trace", "default"}
			if _, _, err := execLab(t, args...); err != nil {
				t.Error(err)
			}
		})
	}

	b, err := os.ReadFile(filepath.Join(dir, "k8s-indexed-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Kind string `yaml:"kind"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	if job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("not an Indexed Job: %+v", job)
	}
	cmd := job.Spec.Template.Spec.Containers[0].Command
	i := slices.Index(cmd, "--shards")
	if i < 0 || i+1 >= len(cmd) || cmd[i+1] != strconv.Itoa(job.Spec.Completions) {
		t.Errorf("--shards in %v does not match completions %d", cmd, job.Spec.Completions)
	}
	if j := slices.Index(cmd, "-f"); j < 0 || j+1 >= len(cmd) {
		t.Errorf("no experiment file in %v", cmd)
	} else if _, err := os.Stat(filepath.Join(dir, filepath.Base(cmd[j+1]))); err != nil {
		t.Errorf("the Job runs %s, not in examples/: %v", cmd[j+1], err)
	}

	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", filepath.Join(dir, "slurm-array.sh")).CombinedOutput(); err != nil {
			t.Errorf("slurm-array.sh: %v\n%s", err, out)
		}
	}
}
