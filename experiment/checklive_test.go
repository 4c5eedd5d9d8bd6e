package experiment

import (
	"strconv"
	"strings"
	"testing"
)

// liveKeys classifies every file key: a value to set it to, and whether a
// live host (testbed run) refuses it. A parameter added to the table
// without a line here fails TestCheckLive, so that its world is decided.
var liveKeys = map[string]struct {
	value   string
	refused bool
}{
	"preset":                        {"thesis", false},
	"nodes":                         {"[{count: 2, speed: 2}]", false},
	"weights":                       {"capacity", false},
	"slowdown":                      {`["0x2@1s-2s"]`, false},
	"cache":                         {"8MiB", false},
	"cache_policy":                  {"lfu", false},
	"front_end":                     {"l4", false},
	"admission":                     {"open", true},
	"speedup":                       {"2", true},
	"low":                           {"10", false},
	"high":                          {"20", false},
	"keep_alive":                    {"5s", false},
	"method":                        {"tun", false},
	"distributors":                  {"2", true},
	"cls_lookup":                    {"20us", true},
	"cls_batch":                     {"4", true},
	"origin_time":                   {"50ms", true},
	"dflb_interval":                 {"2s", false},
	"interval":                      {"5s", false},
	"seed":                          {"3", false},
	"replicates":                    {"3", true},
	"jitter":                        {"0.02", true},
	"start_offset":                  {"0.1", true},
	"failures":                      {`["1@1s-2s"]`, false},
	"health_check_delay":            {"1s", false},
	"connect_timeout":               {"1s", false},
	"clusters":                      {`"1:2,1"`, true},
	"wan_delay":                     {"50ms", true},
	"overflow":                      {"on", true},
	"overflow_high":                 {"1.2", true},
	"overflow_low":                  {"0.5", true},
	"overflow_stop":                 {"0.9", true},
	"overflow_exchange":             {"1m", true},
	"overflow_window":               {"6", true},
	"costs.connect":                 {"100us", false},
	"costs.teardown":                {"100us", false},
	"costs.transmit":                {"30us", false},
	"costs.transmit_block":          {"1KiB", false},
	"costs.disk_access":             {"10ms", false},
	"costs.disk_transfer":           {"200us", false},
	"costs.disk_block":              {"8192", false},
	"costs.dynamic_factor":          {"3", false},
	"options.seed":                  {"42", false},
	"options.set_expiry":            {"30s", false},
	"options.table_expiry":          {"1h", false},
	"options.max_entries":           {"100000", false},
	"options.threshold":             {"1.5", false},
	"options.fallback":              {"true", false},
	"options.port":                  {"true", false},
	"options.table_size":            {"251", false},
	"options.epsilon":               {"0.1", false},
	"options.replicas":              {"50", false},
	"options.classes":               {"{cgi: [0]}", false},
	"options.near":                  {"[{prefix: 10.0.0.0/8, servers: [0]}]", false},
	"options.restart_cycle":         {"true", false},
	"options.inner":                 {"wlc", false},
	"options.dflb.coefficients":     {"[0, 1, 0, 0, 0, 0]", false},
	"options.dflb.a":                {"4", false},
	"options.dflb.scale":            {"8", false},
	"options.dflb.change_threshold": {"0.5", false},
	"options.dflb.target":           {"0.9", false},
}

// TestCheckLive sets each key alone, on line 3 of a file and as a flag,
// and checks that CheckLive refuses exactly the simulator-only ones,
// naming the file, line and key (or the flag) and why; every parameter
// says why it is shared or simulator-only.
func TestCheckLive(t *testing.T) {
	for _, p := range params {
		k := p.FileKey()
		c, ok := liveKeys[k]
		if !ok {
			t.Errorf("key %s: not classified in liveKeys", k)
			continue
		}
		t.Run(k, func(t *testing.T) {
			if p.LiveValue == nil && (p.Live != "") != c.refused {
				t.Errorf("Live %q, want refused = %v", p.Live, c.refused)
			}
			if p.Live == "" && p.Shared == "" {
				t.Error("a shared parameter without its reason (Param.Shared)")
			}
			head := "alg: wrr\nnodes: 2\n"
			if k == "nodes" { // the key under test gives the nodes
				head = "alg: wrr\n# nodes as groups\n"
			}
			e, err := Parse("exp.yaml", strings.NewReader(head+nestedYAML(k, c.value)), "")
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckLive()
			if got := err != nil; got != c.refused {
				t.Fatalf("CheckLive = %v, want refused = %v", err, c.refused)
			}
			if err != nil {
				line := strings.Count(nestedYAML(k, c.value), "\n") + 2 // the value's line
				want := "exp.yaml:" + strconv.Itoa(line) + ": " + k + ": only the simulator"
				if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q, want one line starting %q", err, want)
				}
			}
			if p.Flag {
				f := New()
				v := strings.Trim(c.value, `[]"`)
				if k == "nodes" {
					v = "2:speed=2" // --node-groups's form of the same groups
				}
				if err := f.SetFlag(p.Name, []string{v}); err != nil {
					t.Fatal(err)
				}
				err := f.CheckLive()
				if c.refused && (err == nil || !strings.HasPrefix(err.Error(), "--"+p.Name+": only the simulator")) {
					t.Errorf("--%s: CheckLive = %v", p.Name, err)
				}
				if !c.refused && err != nil {
					t.Errorf("--%s: CheckLive = %v", p.Name, err)
				}
			}
		})
	}
}

// TestLiveWhy checks that every file key says, in a few words, why a live
// host honours it or why only the simulator can.
func TestLiveWhy(t *testing.T) {
	keys := append([]string{}, TopKeys...)
	for _, p := range params {
		keys = append(keys, p.FileKey())
	}
	for _, k := range keys {
		shared, why, ok := LiveWhy(k)
		if !ok || why == "" {
			t.Errorf("%s: no reason (shared %v)", k, shared)
		}
		if c, classified := liveKeys[k]; classified && shared == c.refused && k != "front_end" {
			t.Errorf("%s: shared = %v, but refused = %v", k, shared, c.refused)
		}
	}
	if _, _, ok := LiveWhy("bogus"); ok {
		t.Error("LiveWhy knows an unknown key")
	}
}

// TestCheckLiveFrontEnds checks the key whose support depends on its
// value: l7 and l4 are live front ends, the others simulated only; every
// refused key is named, each on its own line.
func TestCheckLiveFrontEnds(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"front_end: l7\n", nil},
		{"front_end: [l7, L4]\n", nil},
		{"front_end: distributed\n", []string{"exp.yaml:1: front_end: front end distributed is simulated only"}},
		{"front_end:\n  - l7\n  - colocated\n  - cachecluster\n", []string{
			"exp.yaml:3: front_end: front end colocated is simulated only",
			"exp.yaml:4: front_end: front end cachecluster is simulated only"}},
		{"admission: open\nspeedup: 4\nfront_end: l4\nkeep_alive: 0s\n", []string{
			"exp.yaml:1: admission: only the simulator has closed/open admission; testbed run replays with the load generator's own --mode",
			"exp.yaml:2: speedup: only the simulator"}},
		{"front_end: l4\nkeep_alive: [0s, 15s]\nmethod: dr\n", nil},
	} {
		e, err := Parse("exp.yaml", strings.NewReader(tc.yaml), "")
		if err != nil {
			t.Fatal(err)
		}
		err = e.CheckLive()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%q: %v", tc.yaml, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: no error", tc.yaml)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(tc.want) {
			t.Errorf("%q: error\n%v\nwant %d lines", tc.yaml, err, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("%q: line %d %q, want %q", tc.yaml, i+1, lines[i], w)
			}
		}
	}
}
