package workbench

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/internal/stats"
)

// compareCSV builds a results CSV from rows "alg,nodes,replicate,throughput".
func compareCSV(t *testing.T, rows ...string) *Table {
	t.Helper()
	csv := "alg,nodes,trace,replicate,throughput_rps\n"
	for _, r := range rows {
		f := strings.Split(r, ",")
		csv += f[0] + "," + f[1] + ",x," + f[2] + "," + f[3] + "\n"
	}
	tab, err := ReadTable("c.csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestCompareSchedulers(t *testing.T) {
	paired := compareCSV(t,
		"wrr,4,1,100", "wrr,4,2,110", "wrr,4,3,120",
		"lblc,4,1,104", "lblc,4,2,113", "lblc,4,3,125",
		"wlc,4,1,90", "wlc,4,2,130", "wlc,4,3,111")
	wantPaired, _ := stats.PairedTest([]float64{104, 113, 125}, []float64{100, 110, 120}, 0.95)
	wantWelch, _ := stats.WelchTest([]float64{104, 113, 125, 140}, []float64{100, 110, 120}, 0.95)
	tests := []struct {
		name    string
		tab     *Table
		o       CompareOptions
		want    []string // "A B verdict" per comparison
		check   func(t *testing.T, cs []Comparison)
		wantErr string
	}{
		{"paired, every pair", paired, CompareOptions{}, []string{
			"wrr lblc WRR < LBLC", "wrr wlc within noise", "lblc wlc within noise",
		}, func(t *testing.T, cs []Comparison) {
			// wrr - lblc is the opposite of lblc - wrr.
			if d := cs[0].Diff; d.Test != stats.Paired || math.Abs(d.Mean+wantPaired.Mean) > 1e-12 || math.Abs(d.Lo+wantPaired.Hi) > 1e-9 {
				t.Errorf("wrr - lblc = %+v, want the opposite of %+v", d, wantPaired)
			}
		}, ""},
		{"baseline", paired, CompareOptions{Baseline: "wrr"}, []string{"lblc wrr LBLC > WRR", "wlc wrr within noise"},
			func(t *testing.T, cs []Comparison) {
				if d := cs[0].Diff; d.Mean != wantPaired.Mean || d.Lo != wantPaired.Lo || d.P != wantPaired.P {
					t.Errorf("lblc - wrr = %+v, want %+v", d, wantPaired)
				}
				mean, lo, _ := cs[0].Relative()
				if math.Abs(mean-wantPaired.Mean/110) > 1e-12 || math.Abs(lo-wantPaired.Lo/110) > 1e-12 {
					t.Errorf("relative %v from %v, want %v from %v", mean, lo, wantPaired.Mean/110, wantPaired.Lo/110)
				}
			}, ""},
		{"a stricter level", paired, CompareOptions{Baseline: "wrr", Level: 0.999}, []string{"lblc wrr within noise", "wlc wrr within noise"}, nil, ""},
		{"other replicates: Welch", compareCSV(t,
			"wrr,4,1,100", "wrr,4,2,110", "wrr,4,3,120",
			"lblc,4,1,104", "lblc,4,2,113", "lblc,4,3,125", "lblc,4,4,140"), CompareOptions{Baseline: "wrr"}, []string{"lblc wrr within noise"},
			func(t *testing.T, cs []Comparison) {
				if d := cs[0].Diff; d.Test != stats.Welch || d.DF != wantWelch.DF || d.P != wantWelch.P {
					t.Errorf("Welch: %+v, want %+v", d, wantWelch)
				}
			}, ""},
		{"identical replicates", compareCSV(t, "wrr,4,1,100", "wrr,4,2,110", "lblc,4,1,100", "lblc,4,2,110"), CompareOptions{}, []string{"wrr lblc identical"}, nil, ""},
		{"one run each", compareCSV(t, "wrr,4,0,100", "lblc,4,0,150"), CompareOptions{}, []string{"wrr lblc untested (one run)"}, nil, ""},
		{"cells by node count", compareCSV(t, "wrr,2,1,1", "wrr,2,2,2", "lblc,2,1,3", "lblc,2,2,4", "wrr,8,1,5", "wrr,8,2,6", "lblc,8,1,6", "lblc,8,2,5"),
			CompareOptions{}, []string{"wrr lblc WRR < LBLC", "wrr lblc within noise"}, func(t *testing.T, cs []Comparison) {
				if cs[0].Nodes != 2 || cs[1].Nodes != 8 || strings.Join(cs[1].Cell, " ") != "n=8" {
					t.Errorf("cells %v %v", cs[0].Cell, cs[1].Cell)
				}
			}, ""},
		{"one run twice", compareCSV(t, "wrr,4,0,100", "wrr,4,0,101"), CompareOptions{}, nil, nil, "c.csv: line 3: wrr at 4 nodes a second time"},
		{"a replicate twice", compareCSV(t, "wrr,4,1,100", "wrr,4,1,101"), CompareOptions{}, nil, nil, "line 3"},
		{"unknown metric", paired, CompareOptions{Metric: "nodes"}, nil, nil, `--metric: c.csv has no metric "nodes"`},
		{"bad level", paired, CompareOptions{Level: 1.5}, nil, nil, "--level"},
		{"unknown baseline", paired, CompareOptions{Baseline: "dflb"}, nil, nil, "--baseline: c.csv has no runs of dflb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := CompareSchedulers(tt.tab, tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, c.A+" "+c.B+" "+c.Verdict())
			}
			if strings.Join(got, "; ") != strings.Join(tt.want, "; ") {
				t.Errorf("comparisons %q, want %q", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, cs)
			}
			for _, format := range []string{"table", "csv"} {
				var b bytes.Buffer
				if err := WriteComparisons(&b, format, cs); err != nil {
					t.Fatal(err)
				}
				if lines := strings.Count(b.String(), "\n"); lines != len(cs)+1 {
					t.Errorf("%s: %d lines for %d comparisons:\n%s", format, lines, len(cs), b.String())
				}
			}
		})
	}
}

// TestCompareSweep compares real replicates of a sweep: cells are told
// apart by node count, every pair is paired (common replicates), and the
// comparisons read from the JSON equal those from the CSV.
func TestCompareSweep(t *testing.T) {
	w := workload(t, 3000)
	_, rs := replicatedRun(t, w, 2)
	var csvB, jsB bytes.Buffer
	if err := WriteCSV(&csvB, rs, 0.95); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&jsB, rs, 0.95); err != nil {
		t.Fatal(err)
	}
	fromCSV, err := ReadTable("r.csv", &csvB)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults("r.json", &jsB)
	if err != nil {
		t.Fatal(err)
	}
	a, err := CompareSchedulers(fromCSV, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompareSchedulers(TableFromResults("r.json", back), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[0].Nodes != 3 || a[1].Nodes != 6 {
		t.Fatalf("comparisons %+v, want wrr vs lblc at 3 and 6 nodes", a)
	}
	for i := range a {
		if !a[i].Tested || a[i].Diff.Test != stats.Paired || a[i].RunsA != 4 || a[i].Diff != b[i].Diff {
			t.Errorf("comparison %d: %+v (CSV) vs %+v (JSON), want paired over 4 replicates, equal", i, a[i], b[i])
		}
	}
}

// FuzzCompareSchedulers feeds arbitrary CSV to ReadTable and
// CompareSchedulers: either may refuse it with an error, neither may
// panic, and the comparisons found can be written.
func FuzzCompareSchedulers(f *testing.F) {
	f.Add("alg,nodes,trace,replicate,throughput_rps\nwrr,4,x,1,100\nwrr,4,x,2,110\nlblc,4,x,1,104\nlblc,4,x,2,120\n", "")
	f.Add("alg,nodes,throughput_rps,config\nwrr,2,5,{}\nlblc,2,NaN,\"{\"\"alg\"\":1}\"\n", "wrr")
	f.Add("alg,nodes,throughput_rps,replicate\nwrr,1,1e308,1\nwrr,1,-1e308,2\nlblc,1,0,1\nlblc,1,0,3\n", "lblc")
	f.Fuzz(func(t *testing.T, text, baseline string) {
		tab, err := ReadTable("f.csv", strings.NewReader(text))
		if err != nil {
			return
		}
		cs, err := CompareSchedulers(tab, CompareOptions{Baseline: baseline})
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteComparisons(&b, "csv", cs); err != nil {
			t.Fatal(err)
		}
	})
}
