package workbench

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// TestGeoTable checks the table of a multi-cluster run: the "overflow %"
// column and one line per cluster below, with its share and its overflow.
func TestGeoTable(t *testing.T) {
	m, err := traces.SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	m.Requests = 5000
	w, err := traces.SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Nodes: 1, Algorithm: "wlc", Low: 1, High: 2, Speedup: 8, Clusters: []sim.Cluster{{Share: 3}, {Share: 1}},
		WANDelay: 50 * time.Millisecond, Overflow: sim.Overflow{On: true, Exchange: 10 * time.Second}}
	r, err := sim.Run(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	one, err := sim.Run(sim.Config{Nodes: 1, Algorithm: "wlc"}, w)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, nil, []*sim.Result{one}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "overflow") || strings.Contains(b.String(), "clusters") {
		t.Errorf("single-cluster table mentions clusters:\n%s", b.String())
	}
	b.Reset()
	if err := WriteTable(&b, nil, []*sim.Result{one, r}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[0], "overflow %") || len(lines) != 3+2+3 {
		t.Fatalf("table:\n%s", out)
	}
	for k, c := range r.Clusters {
		f := strings.Fields(lines[6+k])
		want := []string{"2", "WLC", strconv.Itoa(k)}
		if f[0] != want[0] || f[1] != want[1] || f[2] != want[2] || f[5] != strconv.Itoa(c.Home) || f[6] != strconv.Itoa(c.OverflowOut) || f[7] != strconv.Itoa(c.OverflowIn) {
			t.Errorf("cluster %d line %q, want run 2, home %d, out %d, in %d", k, lines[6+k], c.Home, c.OverflowOut, c.OverflowIn)
		}
	}
	if r.Overflowed == 0 {
		t.Error("no request overflowed: the test shows nothing")
	}
}

// TestGeoPlot checks that the CSV of a sweep of overflow off and on plots
// one set of figures per value: the multi-cluster columns tell the rows
// apart.
func TestGeoPlot(t *testing.T) {
	m, err := traces.SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	m.Requests = 3000
	w, err := traces.SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*sim.Result
	for _, on := range []bool{false, true} {
		r, err := sim.Run(sim.Config{Nodes: 1, Algorithm: "wlc", Speedup: 8, Clusters: []sim.Cluster{{Share: 3}, {Share: 1}},
			Overflow: sim.Overflow{On: on}}, w)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	var b bytes.Buffer
	if err := sim.WriteCSV(&b, rs); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadTable("geo.csv", &b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.Header, TableFromResults("geo", rs).Header) {
		t.Errorf("TableFromResults header differs from the CSV's")
	}
	files, err := WritePlots(t.TempDir(), tab, nil, PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var off, on bool
	for _, f := range files {
		off = off || strings.Contains(f, "_off.")
		on = on || strings.Contains(f, "_on.")
	}
	if !off || !on {
		t.Errorf("figures %v: want some for overflow off and some for on", files)
	}
}
