package workbench

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// fakeCmp is DFLB (a) against a scheduler whose throughput is 100 req/s
// in every replicate, DFLB's being 100 + d per replicate: one d is a
// single run, several are paired replicates.
func fakeCmp(d ...float64) Comparison {
	a, b, reps := make([]float64, len(d)), make([]float64, len(d)), make([]string, len(d))
	for i, x := range d {
		a[i], b[i], reps[i] = 100+x, 100, strconv.Itoa(i+1)
	}
	c := Comparison{A: "dflb", B: "wrr", Metric: "throughput_rps"}
	c.test(reps, reps, a, b, stats.DefaultLevel)
	return c
}

// Hand-made comparisons: DFLB significantly above (+11% ± 2.5), below
// (-11% ± 2.5), within noise (+1% ± 9.9), the same in every replicate,
// the same difference in every replicate, and one run.
var (
	cmpAbove     = fakeCmp(10, 11, 12)
	cmpBelow     = fakeCmp(-10, -11, -12)
	cmpNoise     = fakeCmp(5, -3, 1)
	cmpIdentical = fakeCmp(0, 0, 0)
	cmpConstant  = fakeCmp(4, 4, 4)
	cmpOneRun    = fakeCmp(7)
)

// fakeRegimes is a summary of two regimes (nodes=a and nodes=b) at two
// DFLB settings (a=1, a=5), with the given comparisons against WRR and
// WLC, [regime][setting].
func fakeRegimes(vsWRR, vsWLC [][]Comparison, sameAs ...int) *regimeSummary {
	s := &regimeSummary{
		RegimeAxes: []string{"nodes"}, SettingAxes: []string{"options.dflb.a"},
		Settings: [][]string{{"1"}, {"5"}}, VsWRR: vsWRR, VsWLC: vsWLC, Replicates: 3,
	}
	for r := range vsWRR {
		s.Regimes = append(s.Regimes, []string{string(rune('a' + r))})
		s.SameAs = append(s.SameAs, -1)
	}
	copy(s.SameAs, sameAs)
	return s
}

// TestRegimesReading checks the README's reading of the regimes study on
// hand-made comparisons: a gain is "above" or "below" only where its 95%
// interval excludes 0, "within noise" where it holds 0, "the same" where
// every replicate gave DFLB the other scheduler's throughput.
func TestRegimesReading(t *testing.T) {
	tests := []struct {
		name      string
		s         *regimeSummary
		want, not []string
	}{
		{"significant gain at every setting",
			fakeRegimes([][]Comparison{{cmpAbove, fakeCmp(20, 21, 22)}}, [][]Comparison{{cmpBelow, cmpBelow}}),
			[]string{
				"| 1 | a | +11.0% ± 2.5 | -11.0% ± 2.5 | +21.0% ± 2.5 | -11.0% ± 2.5 |",
				"DFLB is above WRR at every setting: from +11.0% [95% CI +8.5% to +13.5%] at a=1 to +21.0% [95% CI +18.5% to +23.5%] at a=5; below WLC at every setting",
				"DFLB is significantly above WRR at one setting at least in 1 of the 1 distinct regimes (#1), at every setting in 1 (#1).",
				"DFLB is significantly above WLC in none of the 1 distinct regimes, at any setting.",
				"DFLB's mean gain over WRR is highest at a=5 in 1 of the 1 distinct regimes.",
			},
			[]string{"(noise) |", "within noise of"}},
		{"within noise",
			fakeRegimes([][]Comparison{{cmpNoise, cmpBelow}}, [][]Comparison{{cmpNoise, cmpNoise}}),
			[]string{
				"| 1 | a | +1.0% ± 9.9 (noise) | +1.0% ± 9.9 (noise) | -11.0% ± 2.5 | +1.0% ± 9.9 (noise) |",
				"DFLB is within noise of WRR: +1.0% [95% CI -8.9% to +10.9%] at a=1; below WRR: -11.0% [95% CI -13.5% to -8.5%] at a=5;",
				"within noise of WLC at every setting: from +1.0% [95% CI -8.9% to +10.9%] at a=1 to +1.0% [95% CI -8.9% to +10.9%] at a=5.",
				"DFLB is significantly above WRR in none of the 1 distinct regimes",
			},
			[]string{"above WRR:", "DFLB is above"}},
		{"identical and constant",
			fakeRegimes([][]Comparison{{cmpIdentical, cmpIdentical}}, [][]Comparison{{cmpConstant, cmpOneRun}}),
			[]string{
				"| 1 | a | +0.0% (same) | +4.0% | +0.0% (same) | +7.0% |",
				"DFLB is the same as WRR at every setting, in every replicate;",
				"above WLC: +4.0% [in every replicate] at a=1; untested against WLC: +7.0% [one run] at a=5.",
			},
			[]string{"within noise of WRR", "(noise) |"}},
		{"a regime that repeats another",
			fakeRegimes([][]Comparison{{cmpAbove, cmpBelow}, {cmpAbove, cmpBelow}}, [][]Comparison{{cmpBelow, cmpBelow}, {cmpBelow, cmpBelow}}, -1, 0),
			[]string{
				"- **#2** (nodes=b): every run the same as #1's",
				"in 1 of the 1 distinct regimes (#1), at every setting in none.",
			},
			[]string{"(#1, #2)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := regimesReadme(tc.s, "synth:x", 1, "png")
			checkMentions(t, "reading", got, tc.want, tc.not)
		})
	}
}

// TestEffectText checks the sentence on one of DFLB's parameters: its
// comparisons counted by class, with the range of the differences.
func TestEffectText(t *testing.T) {
	e := settingEffect{Axis: "options.dflb.a", Value: "5", Base: "1", Cmps: []Comparison{cmpBelow, cmpBelow, cmpNoise, cmpIdentical}}
	want := "DFLB's throughput with options.dflb.a=5 against options.dflb.a=1 (the same regime and other settings) is significantly lower in 2, within noise in 1, the same in 1 of 4 comparisons (from -11.0% to +1.0%)."
	if got := effectText(e); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestRegimeBars checks the figures' data: per regime, DFLB's gain over
// WRR and WLC in percent with its interval (NaN for a single run), and per
// setting its gain over WRR.
func TestRegimeBars(t *testing.T) {
	s := fakeRegimes([][]Comparison{{cmpAbove, cmpNoise}, {cmpOneRun, cmpBelow}}, [][]Comparison{{cmpBelow, cmpIdentical}, {cmpNoise, cmpNoise}})
	near := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-9 }
	check := func(what string, g gainSeries, name string, y, lo, hi []float64) {
		t.Helper()
		if g.Name != name {
			t.Errorf("%s: name %q, want %q", what, g.Name, name)
		}
		for i := range y {
			if !near(g.Y[i], y[i]) || !near(g.Lo[i], lo[i]) || !near(g.Hi[i], hi[i]) {
				t.Errorf("%s[%d] = %v [%v, %v], want %v [%v, %v]", what, i, g.Y[i], g.Lo[i], g.Hi[i], y[i], lo[i], hi[i])
			}
		}
	}
	_, aLo, aHi := cmpAbove.Relative()
	_, bLo, bHi := cmpBelow.Relative()
	_, nLo, nHi := cmpNoise.Relative()
	nan := math.NaN()
	bars := regimeBars(s, 0)
	if len(bars) != 2 {
		t.Fatalf("%d series, want 2", len(bars))
	}
	check("vs WRR", bars[0], "DFLB vs. WRR", []float64{11, 7}, []float64{100 * aLo, nan}, []float64{100 * aHi, nan})
	check("vs WLC", bars[1], "DFLB vs. WLC", []float64{-11, 1}, []float64{100 * bLo, 100 * nLo}, []float64{100 * bHi, 100 * nHi})
	set := settingBars(s)
	if len(set) != 2 {
		t.Fatalf("%d series, want 2", len(set))
	}
	check("a=5", set[1], "a=5", []float64{1, -11}, []float64{100 * nLo, 100 * bLo}, []float64{100 * nHi, 100 * bHi})
	if l := regimeLabels(s); !slices.Equal(l, []string{"1", "2"}) {
		t.Errorf("labels %v", l)
	}
	if f := regimeFigure(s, 1); f != "gain-by-regime_a=5" {
		t.Errorf("figure %s", f)
	}
	p, err := gainBarPlot(regimeLabels(s), bars, defaultWidth)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min > 100*bLo || p.Y.Max < 100*aHi {
		t.Errorf("y axis [%v, %v] cuts the error bars [%v, %v]", p.Y.Min, p.Y.Max, 100*bLo, 100*aHi)
	}
	if _, err := gainBarPlot([]string{"1"}, bars, defaultWidth); err == nil {
		t.Error("2 values for 1 category: no error")
	}
}

// TestSummarizeRegimes runs summarizeRegimes on made-up results: two
// regimes (the second a repeat of the first) × two DFLB gains × WRR, WLC,
// DFLB × 3 replicates.
func TestSummarizeRegimes(t *testing.T) {
	axes := []Axis{{Name: "weights"}, {Name: "options.dflb.a"}}
	var cells []Cell
	var rs []*sim.Result
	// Throughput per scheduler and gain, replicate k adds k.
	tp := map[string]float64{"wrr@1": 100, "wlc@1": 120, "dflb@1": 110, "wrr@5": 100, "wlc@5": 120, "dflb@5": 90}
	for _, w := range []string{"given", "capacity"} {
		for _, a := range []string{"1", "5"} {
			for _, alg := range regimesAlgs {
				for k := 1; k <= 3; k++ {
					cfg := sim.Config{Algorithm: alg, Nodes: 7, Replicates: 3, Replicate: k}
					cells = append(cells, Cell{Labels: []string{"weights=" + w, "options.dflb.a=" + a}, Config: cfg})
					v := tp[alg+"@"+a] + float64(k*k)
					if alg == "dflb" {
						v += float64(k) // DFLB's gain varies by replicate
					}
					rs = append(rs, &sim.Result{Config: cfg, ThroughputRPS: v})
				}
			}
		}
	}
	s, err := summarizeRegimes(axes, cells, rs, stats.DefaultLevel)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.RegimeAxes, []string{"weights"}) || !slices.Equal(s.SettingAxes, []string{"options.dflb.a"}) {
		t.Errorf("axes %v, %v", s.RegimeAxes, s.SettingAxes)
	}
	if len(s.Regimes) != 2 || s.Regimes[1][0] != "capacity" || len(s.Settings) != 2 || s.Settings[1][0] != "5" {
		t.Errorf("regimes %v, settings %v", s.Regimes, s.Settings)
	}
	if !slices.Equal(s.SameAs, []int{-1, 0}) {
		t.Errorf("SameAs %v, want [-1 0]", s.SameAs)
	}
	want, _ := stats.PairedTest([]float64{110 + 1 + 1, 110 + 4 + 2, 110 + 9 + 3}, []float64{101, 104, 109}, stats.DefaultLevel)
	if c := s.VsWRR[0][0]; c.Diff != want || c.MeanB != 100+14.0/3 || c.A != "dflb" || c.B != "wrr" {
		t.Errorf("DFLB vs WRR at a=1: %+v, want %+v", c, want)
	}
	if c := s.VsWLC[0][1]; gainClass(c) != gainBelow {
		t.Errorf("DFLB vs WLC at a=5: %s, want below", c.Verdict())
	}
	if len(s.Effects) != 1 || s.Effects[0].Value != "5" || s.Effects[0].Base != "1" || len(s.Effects[0].Cmps) != 1 {
		t.Fatalf("effects %+v, want a=5 against a=1 in the one distinct regime", s.Effects)
	}
	if c := s.Effects[0].Cmps[0]; c.Diff.Mean != -20 || gainClass(c) != gainBelow {
		t.Errorf("a=5 against a=1: %+v", c.Diff)
	}

	// A missing scheduler is an error that names the cell.
	if _, err := summarizeRegimes(axes, cells[3:], rs[3:], stats.DefaultLevel); err == nil || !strings.Contains(err.Error(), "no wrr run at weights=given options.dflb.a=1") {
		t.Errorf("err = %v", err)
	}
}

// TestRegimesExample checks that examples/dflb-regimes.yaml is the
// experiment reproduce runs: both expand to the same configurations.
func TestRegimesExample(t *testing.T) {
	cellsOf := func(e *experiment.Experiment) []sim.Config {
		t.Helper()
		s, err := ExperimentSpec(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := &traces.Workload{Name: "w", Objects: []traces.Object{{Size: 1}}, Requests: make([]traces.Request, 10)}
		s.Workloads = []*traces.Workload{w}
		cs, err := s.Cells()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]sim.Config, len(cs))
		for i, c := range cs {
			out[i] = c.Config
		}
		return out
	}
	ex, err := experiment.ReadFile(filepath.Join("..", "examples", "dflb-regimes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := experiment.Parse("gen.yaml", strings.NewReader(regimesYAML(RegimesTrace, ReproduceSeed, ReproduceReplicates)), "")
	if err != nil {
		t.Fatal(err)
	}
	if x, _ := ex.TraceSpecs(); !slices.Equal(x, []string{RegimesTrace}) || !ex.KeepDynamic || !gen.KeepDynamic {
		t.Errorf("the example runs %v (keep_dynamic %v), reproduce %s (%v)", x, ex.KeepDynamic, RegimesTrace, gen.KeepDynamic)
	}
	a, b := cellsOf(ex), cellsOf(gen)
	if len(a) != len(b) {
		t.Fatalf("the example has %d cells, reproduce's study %d", len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("cell %d: the example has %+v, reproduce %+v", i, a[i], b[i])
		}
	}
}
