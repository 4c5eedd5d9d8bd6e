package workbench

import (
	"strings"
	"testing"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/traces"
)

// TestClusterCells expands a sweep over clusters of node groups: each
// cell has its cluster's nodes (the node count 0 of such an experiment
// resolves to the groups' sum), and an error Resolve finds in a group
// names the file line.
func TestClusterCells(t *testing.T) {
	w, err := traces.LoadDefault(traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	e, err := experiment.Parse("exp.yaml", strings.NewReader(
		"alg: [wrr, dflb]\nnodes: [[{count: 7}], [{count: 3, speed: 2}, {count: 2}]]\nslowdown: [{node: 4, factor: 2, from: 1s, to: 2s}]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ExperimentSpec(e, []*traces.Workload{w})
	if err != nil {
		t.Fatal(err)
	}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		alg    string
		nodes  int
		groups int
	}{{"wrr", 7, 1}, {"dflb", 7, 1}, {"wrr", 5, 2}, {"dflb", 5, 2}}
	if len(cells) != len(want) {
		t.Fatalf("%d cells, want %d", len(cells), len(want))
	}
	for i, c := range cells {
		if c.Config.Algorithm != want[i].alg || c.Config.Nodes != want[i].nodes || len(c.Config.Groups) != want[i].groups || len(c.Config.Slowdowns) != 1 {
			t.Errorf("cell %d: %s, %d nodes, groups %+v, slowdowns %+v; want %+v", i, c.Config.Algorithm, c.Config.Nodes, c.Config.Groups, c.Config.Slowdowns, want[i])
		}
	}

	e, err = experiment.Parse("exp.yaml", strings.NewReader("alg: wrr\nweights: capacity\nnodes:\n  - {count: 2, weight: 2}\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = ExperimentSpec(e, []*traces.Workload{w}); err != nil {
		t.Fatal(err)
	}
	_, err = s.Cells()
	if err == nil {
		t.Fatal("weights: capacity with a group's weight accepted")
	}
	if got := e.Blame(err).Error(); !strings.HasPrefix(got, "exp.yaml: line 4: nodes: ") || strings.Contains(got, "nodes 0") {
		t.Errorf("error %q, want it to name line 4's nodes and no node count 0", got)
	}
}
