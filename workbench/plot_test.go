package workbench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// TestWritePlots draws the figures of a two-cache sweep and checks the
// files: one set per cache size, suffixed, PNG and SVG, not empty.
// Reference: thesis Fig. 4.2 and 6.5.
func TestWritePlots(t *testing.T) {
	w := workload(t, 3000)
	s := &Spec{Workloads: []*traces.Workload{w}, Algorithms: []string{"wrr", "lblc"}, Nodes: []int{1, 2, 7}, Axes: []Axis{cacheAxis(1<<20, 8<<20)}}
	cells, err := s.Cells()
	if err != nil {
		t.Fatal(err)
	}
	o, err := Run(cells, s.Workloads, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WritePlots(dir, TableFromResults("sweep", o.Results), o.Results, PlotOptions{Title: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 2000 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	want := []string{
		"throughput_1MiB.png", "throughput_1MiB.svg", "hit-ratio_1MiB.png", "hit-ratio_1MiB.svg", "cdf-n7_1MiB.png", "cdf-n7_1MiB.svg",
		"throughput_8MiB.png", "throughput_8MiB.svg", "hit-ratio_8MiB.png", "hit-ratio_8MiB.svg", "cdf-n7_8MiB.png", "cdf-n7_8MiB.svg",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files:\n%v\nwant:\n%v", names, want)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "throughput_1MiB.svg"))
	for _, text := range []string{"Test: Throughput vs. cluster size", "cache 1MiB/node", "Throughput (requests/s)", "Back-end nodes", "WRR", "LBLC"} {
		if !bytes.Contains(svg, []byte(text)) {
			t.Errorf("throughput SVG lacks %q", text)
		}
	}

	// Drawing twice gives the same bytes.
	dir2 := t.TempDir()
	if _, err := WritePlots(dir2, TableFromResults("sweep", o.Results), o.Results, PlotOptions{Title: "Test"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range want {
		a, _ := os.ReadFile(filepath.Join(dir, n))
		b, _ := os.ReadFile(filepath.Join(dir2, n))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two drawings", n)
		}
	}
}

func TestWritePlotsErrors(t *testing.T) {
	dir := t.TempDir()
	read := func(text string) *Table {
		tb, err := ReadTable("t.csv", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	tests := []struct {
		name string
		t    *Table
		o    PlotOptions
		want string
	}{
		{"no rows", read("alg,nodes,throughput_rps\n"), PlotOptions{}, "no rows"},
		{"duplicate point", read("alg,nodes,throughput_rps\nwrr,1,5\nwrr,1,6\n"), PlotOptions{}, "a second wrr row for 1 nodes"},
		{"not a number", read("alg,nodes,throughput_rps\nwrr,1,x\n"), PlotOptions{}, "line 2: column throughput_rps"},
		{"no throughput column", read("alg,nodes\nwrr,1\n"), PlotOptions{}, `no "throughput_rps" column`},
		{"unknown algorithm", read("alg,nodes,throughput_rps\nwrr,1,5\n"), PlotOptions{Algorithms: []string{"lblc"}}, "no rows for algorithms lblc"},
		{"bad format", read("alg,nodes,throughput_rps\nwrr,1,5\n"), PlotOptions{Formats: []string{"gif"}}, "gif"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WritePlots(dir, tc.t, nil, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ReadTable("e.csv", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "e.csv: empty") {
		t.Errorf("empty CSV: %v", err)
	}
}

func TestTableFromResults(t *testing.T) {
	r := &sim.Result{Trace: "x", Config: sim.Config{Algorithm: "wrr", Nodes: 2}, ThroughputRPS: 12.5}
	tb := TableFromResults("r", []*sim.Result{r})
	if tb.Get(0, "alg") != "wrr" || tb.Get(0, "trace") != "x" {
		t.Errorf("row: %v", tb.Rows[0])
	}
	if v, err := tb.Float(0, "throughput_rps"); err != nil || v != 12.5 {
		t.Errorf("throughput = %v, %v", v, err)
	}
}

func TestTicks(t *testing.T) {
	ticks := plainTicks{}.Ticks(0, 830)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "0 200 400 600 800" {
		t.Errorf("labels %v", labels)
	}
	n := 0
	for _, tk := range (intTicks{}).Ticks(0.5, 16.5) {
		if tk.Label != "" {
			n++
		}
	}
	if n != 16 {
		t.Errorf("%d node labels for 1..16, want 16", n)
	}
}

// FuzzReadTable checks that no CSV makes the table reader or the plotter
// panic.
func FuzzReadTable(f *testing.F) {
	f.Add("alg,nodes,throughput_rps,hit_ratio\nwrr,1,10,0.5\nwrr,2,20,0.6\n")
	f.Add("alg,nodes\n\"unterminated\n")
	f.Add("alg,nodes,throughput_rps\nwrr,NaN,Inf\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		tb, err := ReadTable("f.csv", strings.NewReader(s))
		if err != nil {
			return
		}
		_, _ = WritePlots(dir, tb, nil, PlotOptions{Formats: []string{"svg"}})
	})
}
