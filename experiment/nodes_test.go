package experiment

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
)

// TestNodeGroupsFile reads clusters of node groups, slowdowns and weights
// from experiment files: the groups form of nodes, its sweep, and the
// plain node counts it must leave working.
func TestNodeGroupsFile(t *testing.T) {
	for _, tc := range []struct {
		name      string
		yaml      string
		groups    []sim.NodeGroup // base configuration
		slow      []sim.Slowdown
		weights   string
		counts    []int
		axis      []string // labels of the first sweep axis
		resolvedN int      // nodes of the base configuration once resolved (0: not resolved)
	}{
		{
			name:   "list of groups",
			yaml:   "nodes: [{count: 3, speed: 2}, {count: 4}]\n",
			groups: []sim.NodeGroup{{Count: 3, CPUSpeed: 2, DiskSpeed: 2}, {Count: 4}},
			counts: []int{0}, resolvedN: 7,
		},
		{
			name:   "every group key, block style",
			yaml:   "nodes:\n  - count: 2\n    cpu_speed: 1.5\n    disk_speed: 0.5\n    cache: 8MiB\n    weight: 3\n  - {count: 1}\nweights: given\n",
			groups: []sim.NodeGroup{{Count: 2, CPUSpeed: 1.5, DiskSpeed: 0.5, CacheBytes: 8 << 20, Weight: 3}, {Count: 1}}, weights: "given",
			counts: []int{0}, resolvedN: 3,
		},
		{
			name:   "a cluster as text",
			yaml:   "nodes: \"3:speed=2,4\"\n",
			groups: []sim.NodeGroup{{Count: 3, CPUSpeed: 2, DiskSpeed: 2}, {Count: 4}},
			counts: []int{0}, resolvedN: 7,
		},
		{
			name:   "one group as a mapping",
			yaml:   "nodes: {count: 5, cache: 1MiB}\n",
			groups: []sim.NodeGroup{{Count: 5, CacheBytes: 1 << 20}},
			counts: []int{0}, resolvedN: 5,
		},
		{
			name:   "groups as text",
			yaml:   "nodes: [\"3:speed=2\", {count: 4}]\nweights: capacity\n",
			groups: []sim.NodeGroup{{Count: 3, CPUSpeed: 2, DiskSpeed: 2}, {Count: 4}}, weights: "capacity",
			counts: []int{0}, resolvedN: 7,
		},
		{
			name:   "a sweep of clusters",
			yaml:   "nodes: [[{count: 7}], [{count: 3, speed: 2}, {count: 4}]]\n",
			counts: []int{0},
			axis:   []string{"node-groups=7", "node-groups=3:speed=2,4"},
		},
		{
			name:   "node counts still sweep",
			yaml:   "nodes: [1, 4, 7]\n",
			counts: []int{1, 4, 7},
		},
		{
			name:   "slowdowns, mapping and text",
			yaml:   "nodes: 4\nslowdown: [{node: 1, factor: 3, from: 10s, to: 1m}, \"2x1.5@0s-5s\"]\n",
			slow:   []sim.Slowdown{{Node: 1, Factor: 3, From: 10 * time.Second, To: time.Minute}, {Node: 2, Factor: 1.5, To: 5 * time.Second}},
			counts: []int{4}, resolvedN: 4,
		},
		{
			name:   "a sweep of slowdowns, none first",
			yaml:   "nodes: 4\nslowdown: [[], [{node: 0, factor: 2, from: 1s, to: 2s}]]\n",
			counts: []int{4},
			axis:   []string{"slowdown=none", "slowdown=0x2@1s-2s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse("exp.yaml", strings.NewReader("alg: wrr\n"+tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := e.NodeCounts(); !slices.Equal(got, tc.counts) {
				t.Errorf("NodeCounts = %v, want %v", got, tc.counts)
			}
			base, axes, err := e.Configs()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(base.Groups, tc.groups) || !reflect.DeepEqual(base.Slowdowns, tc.slow) || base.Weights != tc.weights {
				t.Errorf("groups %+v slowdowns %+v weights %q\nwant %+v %+v %q", base.Groups, base.Slowdowns, base.Weights, tc.groups, tc.slow, tc.weights)
			}
			var labels []string
			if len(axes) > 0 {
				for _, v := range axes[0].Values {
					labels = append(labels, v.Label)
				}
			}
			if !slices.Equal(labels, tc.axis) {
				t.Errorf("axis %v, want %v", labels, tc.axis)
			}
			if err := e.CheckFailureNodes(); err != nil {
				t.Error(err)
			}
			if tc.resolvedN > 0 {
				base.Algorithm, base.Nodes = "wrr", tc.counts[0]
				r, err := base.Resolve()
				if err != nil {
					t.Fatal(err)
				}
				if r.Nodes != tc.resolvedN {
					t.Errorf("resolved nodes %d, want %d", r.Nodes, tc.resolvedN)
				}
			}
		})
	}
}

func TestNodeGroupsStrict(t *testing.T) {
	checkBadExperiments(t, []badExperiment{
		{"unknown group key", "nodes:\n  - {count: 2, sped: 2}\n", []string{"line 2", `unknown key "nodes[0].sped"`, "cpu_speed"}},
		{"no count", "nodes:\n  - {count: 2}\n  - {speed: 2}\n", []string{"line 3", "nodes[1]: no count"}},
		{"zero count", "nodes: [{count: 0}]\n", []string{"line 1", "nodes[0]: count", "1..4096"}},
		{"speed too high", "nodes:\n  - count: 2\n    speed: 5000\n", []string{"line 3", "nodes[0]: speed", "not a number in"}},
		{"speed and cpu_speed", "nodes: [{count: 2, speed: 2, cpu_speed: 3}]\n", []string{"line 1", "give either speed"}},
		{"zero cache", "nodes: [{count: 2, cache: 0}]\n", []string{"line 1", "cache", "> 0"}},
		{"weight 0", "nodes: [{count: 2, weight: 0}]\n", []string{"line 1", "weight", "1..100"}},
		{"bad text group", "nodes: [\"3:fast=1\"]\n", []string{"line 1", "nodes[0]", `unknown key "fast"`}},
		{"mixing counts and groups", "nodes: [{count: 2}, 3]\n", []string{"line 1", `nodes[1]: "3" in a list of node groups`}},
		{"a group in a count list", "nodes: [3, {count: 2}]\n", []string{"line 1", `nodes[0]: "3" in a list of node groups`}},
		{"too many nodes", "nodes: [{count: 4000}, {count: 97}]\n", []string{"line 1", "more than 4096"}},
		{"bad weights", "weights: fair\n", []string{"line 1", "weights", "given or capacity"}},
		{"slowdown without to", "slowdown:\n  - {node: 1, factor: 2, from: 1s}\n", []string{"line 2", "slowdown[0]: no to"}},
		{"slowdown ends before it starts", "slowdown: [{node: 1, factor: 2, from: 5s, to: 1s}]\n", []string{"line 1", "slowdown[0].to", "not after"}},
		{"slowdown factor", "slowdown:\n  - node: 1\n    factor: 0\n    from: 1s\n    to: 2s\n", []string{"line 3", "slowdown[0].factor", "not a number in"}},
		{"slowdown text", "slowdown: [\"1x2@5s\"]\n", []string{"line 1", "slowdown[0]", "no - between"}},
		{"slowdown unknown key", "slowdown: [{node: 1, factor: 2, from: 1s, to: 2s, cpu: true}]\n", []string{"line 1", `unknown key "slowdown[0].cpu"`}},
	})
}

// TestSlowdownNodes checks slowdown nodes against the cluster, as
// failures are: with node counts and with groups, naming the line.
func TestSlowdownNodes(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // "" = no error
	}{
		{"inside the groups", "nodes: [{count: 3}, {count: 4}]\nslowdown: [{node: 6, factor: 2, from: 0s, to: 1s}]\n", nil},
		{"outside the groups", "nodes: [{count: 3}, {count: 4}]\nslowdown:\n  - {node: 0, factor: 2, from: 0s, to: 1s}\n  - {node: 7, factor: 2, from: 0s, to: 1s}\n",
			[]string{"exp.yaml: line 4: slowdown[1].node: node 7 does not exist with the node groups of 7 nodes (nodes are numbered 0..6)"}},
		{"outside a count", "nodes: [2, 4]\nslowdown: \"3x2@0s-1s\"\n", []string{"line 2", "node 3 does not exist with nodes: 2"}},
		{"failure outside the groups", "nodes: {count: 2}\nfailures: [\"2@1s\"]\n", []string{"line 2", "failures[0].node: node 2", "node groups of 2 nodes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse("exp.yaml", strings.NewReader(tc.yaml), "")
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckFailureNodes()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestClusterFlags checks that --nodes replaces the file's groups,
// --node-groups the file's counts, and that the two flags exclude each other.
func TestClusterFlags(t *testing.T) {
	e, err := Parse("exp.yaml", strings.NewReader("nodes: [{count: 3, speed: 2}]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetFlag("nodes", []string{"4"}); err != nil {
		t.Fatal(err)
	}
	if got := e.NodeCounts(); !slices.Equal(got, []int{4}) || len(e.Values["node-groups"]) > 0 {
		t.Errorf("after --nodes 4: counts %v, cluster %v", got, e.Values["node-groups"])
	}
	if err := e.SetFlag("node-groups", []string{"2:speed=2", "1"}); err == nil || !strings.HasPrefix(err.Error(), "--node-groups: --nodes") {
		t.Errorf("--node-groups after --nodes: %v", err)
	}

	e, err = Parse("exp.yaml", strings.NewReader("nodes: [1, 4]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetFlag("node-groups", []string{"2:speed=2", "1"}); err != nil {
		t.Fatal(err)
	}
	if got := e.NodeCounts(); !slices.Equal(got, []int{0}) || !slices.Equal(e.Values["node-groups"], []string{"2:speed=2,1"}) {
		t.Errorf("after --node-groups: counts %v, cluster %v", got, e.Values["node-groups"])
	}
	if err := e.SetFlag("nodes", []string{"4"}); err == nil || !strings.HasPrefix(err.Error(), "--nodes: --node-groups") {
		t.Errorf("--nodes after --node-groups: %v", err)
	}
}

// TestBlameGroups checks that an error sim.Config.Resolve finds in a
// group (weights: capacity with a group's weight) names the nodes line.
func TestBlameGroups(t *testing.T) {
	e, err := resolveFails(t, "alg: wrr\nweights: capacity\nnodes:\n  - {count: 2, weight: 3}\n", func(c *sim.Config) { c.Algorithm = "wrr" })
	got := e.Blame(err).Error()
	if want := "exp.yaml: line 4: nodes: sim: nodes[0].weight/weights:"; !strings.HasPrefix(got, want) {
		t.Errorf("Blame: %q, want it to start %q", got, want)
	}
	// Without groups, a nodes error still names the nodes line.
	e, err = Parse("exp.yaml", strings.NewReader("alg: wrr\nnodes: 2\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Blame(&sim.ConfigError{Keys: []string{"nodes"}, Err: errors.New("x")}).Error(); !strings.HasPrefix(got, "exp.yaml: line 2: nodes:") {
		t.Errorf("Blame of a nodes error: %q", got)
	}
}

func TestGroupsSlowdownsText(t *testing.T) {
	for _, s := range []string{"7", "3:speed=2,4", "1:cpu_speed=2:disk_speed=0.5:cache=8MiB:weight=3", "2:disk_speed=3"} {
		gs, err := ParseGroups(s)
		if err != nil {
			t.Fatalf("ParseGroups(%q): %v", s, err)
		}
		if got := FormatGroups(gs); got != s {
			t.Errorf("FormatGroups(ParseGroups(%q)) = %q", s, got)
		}
	}
	for _, s := range []string{"none", "0x2@0s-1s", "3x1.5@1m0s-2m0s,1x4@10ms-20ms"} {
		ss, err := ParseSlowdowns(s)
		if err != nil {
			t.Fatalf("ParseSlowdowns(%q): %v", s, err)
		}
		if got := FormatSlowdowns(ss); got != s {
			t.Errorf("FormatSlowdowns(ParseSlowdowns(%q)) = %q", s, got)
		}
	}
	for _, s := range []string{"", "0", "3:speed", "3:speed=0", "3:speed=2:speed=2", "x", "3:cache=-1"} {
		if _, err := ParseGroups(s); err == nil {
			t.Errorf("ParseGroups(%q) accepted", s)
		}
	}
	for _, s := range []string{"", "1x2", "1@1s-2s", "-1x2@1s-2s", "1x2@2s-1s", "1x2@-1s-2s", "1xNaN@1s-2s"} {
		if _, err := ParseSlowdowns(s); err == nil {
			t.Errorf("ParseSlowdowns(%q) accepted", s)
		}
	}
	ss, err := ParseBackendSlowdowns("3@1s-1m, 1.5@2m-3m")
	if want := []models.Slowdown{{Factor: 3, From: time.Second, To: time.Minute}, {Factor: 1.5, From: 2 * time.Minute, To: 3 * time.Minute}}; err != nil || !reflect.DeepEqual(ss, want) {
		t.Errorf("ParseBackendSlowdowns = %+v, %v; want %+v", ss, err, want)
	}
	for _, s := range []string{"", "3", "0x3@1s-2s", "3@2s-1s", "0@1s-2s", "3@1s-2s,"} {
		if _, err := ParseBackendSlowdowns(s); err == nil {
			t.Errorf("ParseBackendSlowdowns(%q) accepted", s)
		}
	}
}

// FuzzParseGroups checks that an accepted cluster is valid for the
// simulator and that its canonical text reads back the same.
func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{"3:speed=2,4", "1:cpu_speed=2:disk_speed=0.5:cache=8MiB:weight=3", "0", "2:weight=101", "1:speed=1e-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gs, err := ParseGroups(s)
		if err != nil {
			return
		}
		if _, err := (sim.Config{Groups: gs, Algorithm: "wrr"}).Resolve(); err != nil {
			t.Errorf("ParseGroups(%q) accepted %+v: %v", s, gs, err)
		}
		again, err := ParseGroups(FormatGroups(gs))
		if err != nil || !reflect.DeepEqual(again, gs) {
			t.Errorf("%q: canonical %q reads back as %+v, %v", s, FormatGroups(gs), again, err)
		}
	})
}

// FuzzParseSlowdowns: likewise for slowdowns (on a cluster holding the
// nodes they name).
func FuzzParseSlowdowns(f *testing.F) {
	for _, s := range []string{"none", "0x2@0s-1s", "3x1.5@1m-2m,1x4@10ms-20ms", "1x0@1s-2s", "1x2@2s-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := ParseSlowdowns(s)
		if err != nil {
			return
		}
		n := 1
		for _, x := range ss {
			n = max(n, x.Node+1)
		}
		if n > MaxNodes {
			return
		}
		if _, err := (sim.Config{Nodes: n, Slowdowns: ss, Algorithm: "wrr"}).Resolve(); err != nil {
			t.Errorf("ParseSlowdowns(%q) accepted %+v: %v", s, ss, err)
		}
		again, err := ParseSlowdowns(FormatSlowdowns(ss))
		if err != nil || !reflect.DeepEqual(again, ss) {
			t.Errorf("%q: canonical %q reads back as %+v, %v", s, FormatSlowdowns(ss), again, err)
		}
	})
}
