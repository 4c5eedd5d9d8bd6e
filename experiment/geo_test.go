package experiment

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
)

// TestGeoExperiment reads a multi-cluster experiment: clusters as
// mappings, the overflow levels, and overflow [off, on] as a sweep axis.
func TestGeoExperiment(t *testing.T) {
	y := `alg: wlc
nodes: 3
clusters:
  - {nodes: 4, share: 3}
  - {share: 1}
wan_delay: 40ms
overflow: [off, on]
overflow_high: 1.2
overflow_low: 0.6
overflow_stop: 0.9
overflow_exchange: 1m
overflow_window: 6
`
	e, err := Parse("exp.yaml", strings.NewReader(y), "")
	if err != nil {
		t.Fatal(err)
	}
	base, axes, err := e.Configs()
	if err != nil {
		t.Fatal(err)
	}
	want := sim.Config{Clusters: []sim.Cluster{{Nodes: 4, Share: 3}, {Share: 1}}, WANDelay: 40 * time.Millisecond,
		Overflow: sim.Overflow{High: 1.2, Low: 0.6, Stop: 0.9, Exchange: time.Minute, Window: 6}}
	if !reflect.DeepEqual(base, want) {
		t.Errorf("base %+v, want %+v", base, want)
	}
	if len(axes) != 1 || axes[0].Name != "overflow" || len(axes[0].Values) != 2 {
		t.Fatalf("axes %+v, want overflow off, on", axes)
	}
	var labels []string
	for _, v := range axes[0].Values {
		c := base
		v.Apply(&c)
		labels = append(labels, v.Label)
		if c.Overflow.On != (v.Label == "overflow=on") {
			t.Errorf("%s gives On = %v", v.Label, c.Overflow.On)
		}
	}
	if !slices.Equal(labels, []string{"overflow=off", "overflow=on"}) {
		t.Errorf("labels %v", labels)
	}

	// A list of layouts sweeps; a cluster may be written as text.
	e, err = Parse("exp.yaml", strings.NewReader("clusters: [[1, 1], [\"2:3\", 1]]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Values["clusters"]; !slices.Equal(got, []string{"1,1", "2:3,1"}) {
		t.Errorf("swept layouts %q", got)
	}

	// The flag is one layout, however many commas.
	f := New()
	if err := f.SetFlag("clusters", []string{"3:4", "1"}); err != nil {
		t.Fatal(err)
	}
	if base, _, err = f.Configs(); err != nil || !slices.Equal(base.Clusters, []sim.Cluster{{Nodes: 4, Share: 3}, {Share: 1}}) {
		t.Errorf("--clusters 3:4,1: %+v, %v", base.Clusters, err)
	}
	if err := f.SetFlag("overflow", []string{"maybe"}); err == nil || !strings.Contains(err.Error(), "--overflow") {
		t.Errorf("--overflow maybe: %v", err)
	}
}

// TestGeoExperimentStrict checks that bad multi-cluster values are errors
// naming the file, the line and the key.
func TestGeoExperimentStrict(t *testing.T) {
	checkBadExperiments(t, []badExperiment{
		{"one cluster", "alg: wrr\nclusters: [{share: 1}]\n", []string{"line 2", "clusters", "at least 2"}},
		{"zero share", "clusters:\n  - {share: 1}\n  - {share: 0}\n", []string{"line 3", "clusters[1].share", "> 0"}},
		{"no share", "clusters:\n  - {share: 1}\n  - {nodes: 2}\n", []string{"line 3", "clusters[1]", "no share"}},
		{"zero nodes", "clusters:\n  - {share: 1, nodes: 0}\n  - {share: 1}\n", []string{"line 2", "clusters[0].nodes"}},
		{"unknown cluster key", "clusters:\n  - {share: 1, size: 2}\n  - {share: 1}\n", []string{"line 2", `"clusters[0].size"`, "nodes, share"}},
		{"bad text", "clusters: \"1,x\"\n", []string{"line 1", "clusters", `"x"`}},
		{"bad overflow", "overflow: maybe\n", []string{"line 1", "overflow", "on, off"}},
		{"zero high", "overflow_high: 0\n", []string{"line 1", "overflow_high", "default"}},
		{"bad exchange", "overflow_exchange: soon\n", []string{"line 1", "overflow_exchange", "duration"}},
	})
}

// TestGeoBlame checks that a multi-cluster value sim refuses is blamed on
// the file line that set it.
func TestGeoBlame(t *testing.T) {
	e, err := resolveFails(t, "alg: wlc\nnodes: 2\nclusters: \"1,1\"\noverflow_stop: 1.5\n", func(c *sim.Config) { c.Nodes, c.Algorithm = 2, "wlc" })
	if got := e.Blame(err).Error(); !strings.HasPrefix(got, "exp.yaml: line 4: overflow_stop: ") {
		t.Errorf("blamed %q", got)
	}
	if err := e.CheckLive(); err == nil || !strings.Contains(err.Error(), "exp.yaml:3: clusters: only the simulator") {
		t.Errorf("CheckLive: %v", err)
	}
}

// resolveFails parses the experiment file text, sets in its base
// configuration what a sweep cell would (fix), and returns the experiment
// and the ConfigError that sim.Config.Resolve gives; anything else fails t.
func resolveFails(t *testing.T, text string, fix func(*sim.Config)) (*Experiment, error) {
	t.Helper()
	e, err := Parse("exp.yaml", strings.NewReader(text), "")
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := e.Configs()
	if err != nil {
		t.Fatal(err)
	}
	fix(&base)
	_, err = base.Resolve()
	var ce *sim.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Resolve: %v, want a ConfigError", err)
	}
	return e, err
}

// FuzzParseClusters checks that ParseClusters never panics and that
// FormatClusters is its inverse.
func FuzzParseClusters(f *testing.F) {
	for _, s := range []string{"none", "1,1", "3:4,1:2", "0.5,0.25:8,1e3", "1:", ":1", "1,,2", "-1,2", "NaN,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseClusters(s)
		if err != nil {
			return
		}
		again, err := ParseClusters(FormatClusters(cs))
		if err != nil || !slices.Equal(again, cs) {
			t.Fatalf("%q -> %q -> %v, %v", s, FormatClusters(cs), again, err)
		}
		for _, c := range cs {
			if !(c.Share > 0) || c.Nodes < 0 {
				t.Fatalf("%q: cluster %+v", s, c)
			}
		}
	})
}
