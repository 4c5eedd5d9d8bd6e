package sim

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The ch.7 front ends' defaults appear in the resolved config, so a
// result file shows the distributor count and CLS costs that were used.
func TestResolveCLSDefaults(t *testing.T) {
	for _, tc := range []struct {
		fe           string
		distributors int
		batch        int
		lookup       time.Duration
	}{
		{FrontEndL7, 0, 0, 0},
		{FrontEndDistributed, defaultDistributors, defaultCLSBatch, defaultCLSLookup},
		{FrontEndCacheCluster, defaultDistributors, defaultCLSBatch, defaultCLSLookup},
		{FrontEndColocated, 0, defaultCLSBatch, defaultCLSLookup}, // one distributor per node
	} {
		c, err := Config{Nodes: 2, Algorithm: "lbll", FrontEnd: tc.fe}.Resolve()
		if err != nil {
			t.Fatalf("%s: %v", tc.fe, err)
		}
		if c.Distributors != tc.distributors || c.CLSBatch != tc.batch || c.CLSLookup != tc.lookup {
			t.Errorf("%s: resolved distributors=%d cls_batch=%d cls_lookup=%v, want %d %d %v",
				tc.fe, c.Distributors, c.CLSBatch, c.CLSLookup, tc.distributors, tc.batch, tc.lookup)
		}
	}
}

// Resolve's errors name the keys at fault (ConfigError.Keys), so that the
// command line can point at the flag or file line the user wrote.
// TestResolveMethod: the forwarding method is lower-cased and kept for the
// l4 front end, and left empty when unset (results of other experiments
// keep their bytes).
func TestResolveMethod(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"", ""}, {"nat", "nat"}, {"TUN", "tun"}, {"dr", "dr"}} {
		c, err := Config{Nodes: 1, Algorithm: "wrr", FrontEnd: FrontEndL4, Method: tc.in}.Resolve()
		if err != nil || c.Method != tc.want {
			t.Errorf("method %q: resolved %q, %v; want %q", tc.in, c.Method, err, tc.want)
		}
	}
}

func TestResolveErrorKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		keys []string
	}{
		{"preset", Config{Preset: "nosuch"}, []string{"preset"}},
		{"nodes", Config{Algorithm: "wrr"}, []string{"nodes"}},
		{"alg", Config{Nodes: 1, Algorithm: "nosuch"}, []string{"alg"}},
		{"cache policy", Config{Nodes: 1, Algorithm: "wrr", CachePolicy: "nosuch"}, []string{"cache_policy"}},
		{"front end", Config{Nodes: 1, Algorithm: "wrr", FrontEnd: "nosuch"}, []string{"front_end"}},
		{"admission", Config{Nodes: 1, Algorithm: "wrr", Admission: "nosuch"}, []string{"admission"}},
		{"method", Config{Nodes: 1, Algorithm: "wrr", FrontEnd: "l4", Method: "masq"}, []string{"method"}},
		{"method for l7", Config{Nodes: 1, Algorithm: "wrr", Method: "dr"}, []string{"method", "front_end"}},
		{"negative low", Config{Nodes: 1, Algorithm: "wrr", Low: -1}, []string{"low"}},
		{"negative high", Config{Nodes: 1, Algorithm: "wrr", High: -1}, []string{"high"}},
		{"low above high", Config{Nodes: 1, Algorithm: "wrr", Low: 70}, []string{"low", "high"}},
		{"negative interval", Config{Nodes: 1, Algorithm: "wrr", Interval: -1}, []string{"interval"}},
		{"short dflb interval", Config{Nodes: 1, Algorithm: "wrr", DFLBInterval: 1}, []string{"dflb_interval"}},
		{"negative distributors", Config{Nodes: 1, Algorithm: "wrr", Distributors: -1}, []string{"distributors"}},
		{"negative cls batch", Config{Nodes: 1, Algorithm: "wrr", CLSBatch: -1}, []string{"cls_batch"}},
		{"failure node", Config{Nodes: 1, Algorithm: "wrr", Failures: []Failure{{}, {Node: 1}}}, []string{"failures[1].node"}},
	} {
		_, err := tc.cfg.Resolve()
		var ce *ConfigError
		if !errors.As(err, &ce) || !slices.Equal(ce.Keys, tc.keys) {
			t.Errorf("%s: error %v, want a ConfigError for %v", tc.name, err, tc.keys)
		}
	}
}
