package workbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReproduceDeterministic runs a tiny reproduction twice, with different
// numbers of workers: every file must be byte-identical, the README must
// quote the measured numbers, and the experiment file written must rerun to
// the same CSV. Reference: thesis Fig. 4.2 and 6.5.
func TestReproduceDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	// SVG only: PNG rendering is slow under the race detector, and its
	// determinism is checked in package workbench.
	o := ReproduceOptions{Traces: []string{"default", "synth:small:5000"}, Nodes: []int{1, 2, 7}, Formats: []string{"svg"},
		Scaled: true, Seed: ReproduceSeed, Replicates: 2, Regimes: "synth:small:3000", Log: io.Discard}
	for _, run := range []struct {
		out     string
		workers int
	}{{a, 1}, {b, 3}} {
		o.Out, o.Workers = run.out, run.workers
		if err := Reproduce(io.Discard, o); err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	err := filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		files = append(files, rel)
		if readFile(t, path) != readFile(t, filepath.Join(b, rel)) {
			t.Errorf("%s differs between runs", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"README.md", "antlr-2003/experiment.yaml", "antlr-2003/results.csv", "antlr-2003/results.json",
		"antlr-2003/fig4.2-throughput_32MiB.svg", "antlr-2003/fig6.5-throughput_32MiB.svg", "antlr-2003/fig6.5-cdf-n7_32MiB.svg",
		"synth-small-5000/fig4.2-throughput_32MiB.svg", "synth-small-5000/fig6.5-hit-ratio_2962KiB.svg",
		"dflb-regimes/experiment.yaml", "dflb-regimes/results.csv", "dflb-regimes/results.json",
		"dflb-regimes/gain-by-regime_dflb-interval=1s_a=5.svg", "dflb-regimes/gain-by-setting.svg",
	} {
		found := false
		for _, f := range files {
			found = found || filepath.ToSlash(f) == want
		}
		if !found {
			t.Errorf("no %s in %v", want, files)
		}
	}

	readme := readFile(t, filepath.Join(a, "README.md"))
	rows := strings.Count(readFile(t, filepath.Join(a, "antlr-2003", "results.csv")), "\n") - 1
	if rows != 5*3*2*2 {
		t.Errorf("%d rows, want 5 algorithms × 3 node counts × 2 caches × 2 replicates", rows)
	}
	// The README quotes LBLC's mean throughput at n = 7, rounded as it
	// rounds (from the exact values in results.json, not the CSV's 6
	// decimals).
	var results []*sim.Result
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(a, "antlr-2003", "results.json"))), &results); err != nil {
		t.Fatal(err)
	}
	var lblc []*sim.Result
	for _, r := range results {
		if r.Config.Algorithm == "lblc" && r.Config.Nodes == 7 && r.Config.CacheBytes == 32<<20 {
			lblc = append(lblc, r)
		}
	}
	if len(lblc) != 2 {
		t.Fatalf("results.json has %d LBLC runs at n = 7 with 32 MiB, want 2 replicates", len(lblc))
	}
	if want := readmeThroughput(meanResult(lblc).ThroughputRPS); !strings.Contains(readme, " | "+want+" ± ") {
		t.Errorf("README does not quote LBLC's mean throughput at n = 7 (%s)", want)
	}
	for _, w := range []string{"Fig. 4.2", "Fig. 6.5", "+62.9%", "relative to WRR", "working set", "## DFLB's regimes (`synth:small:3000`"} {
		if !strings.Contains(readme, w) {
			t.Errorf("README lacks %q", w)
		}
	}

	// Every link of the README leads to a file or folder it wrote.
	for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(readme, -1) {
		if _, err := os.Stat(filepath.Join(a, m[1])); err != nil {
			t.Errorf("README links to %s: %v", m[1], err)
		}
	}

	// The regimes study: 2 clusters × 2 weights × 2 slowdowns × 2 dynamic
	// costs × 2 intervals × 2 gains × 3 schedulers × 2 replicates, and a
	// README row per regime.
	if rows := strings.Count(readFile(t, filepath.Join(a, RegimesDir, "results.csv")), "\n") - 1; rows != 64*3*2 {
		t.Errorf("%s: %d rows, want 384", RegimesDir, rows)
	}
	if n := strings.Count(readme, "\n| 16 | 3:speed=2,4 | capacity | 0x4@1m0s-3m0s | 10 | "); n != 1 {
		t.Errorf("README has %d rows of regime 16", n)
	}

	// The written experiments rerun to the same results.
	for _, d := range []string{"antlr-2003", RegimesDir} {
		e, err := experiment.ReadFile(filepath.Join(a, d, "experiment.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		spec, cells, err := Prepare(e, PrepareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Run(cells, spec.Workloads, RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var csv bytes.Buffer
		if err := WriteResultsTo(&csv, "csv", out.Cells, out.Results); err != nil {
			t.Fatal(err)
		}
		if csv.String() != readFile(t, filepath.Join(a, d, "results.csv")) {
			t.Errorf("%s/experiment.yaml does not rerun to results.csv", d)
		}
	}
}

func TestScaledCache(t *testing.T) {
	if c := scaledCache(thesisWSBytes); c != 0 {
		t.Errorf("the thesis's own working set needs no scaled cache, got %d", c)
	}
	ws := int64(thesisWSBytes / 100)
	c := scaledCache(ws)
	if c%1024 != 0 || float64(ws)/float64(c) < 50 || float64(ws)/float64(c) > 52 {
		t.Errorf("scaledCache(%d) = %d: ratio %.2f, want the thesis's ≈50.9", ws, c, float64(ws)/float64(c))
	}
	if c := scaledCache(1); c != 1024 {
		t.Errorf("scaledCache(1) = %d, want the 1 KiB floor", c)
	}
}

// TestNotebookReadsReproduce checks that notebooks/figures.ipynb is a GoNB
// notebook reading the files reproduce writes (scripts/notebook.sh
// executes it).
func TestNotebookReadsReproduce(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "notebooks", "figures.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType string   `json:"cell_type"`
			Source   []string `json:"source"`
		} `json:"cells"`
		Metadata struct {
			Kernelspec struct {
				Name string `json:"name"`
			} `json:"kernelspec"`
		} `json:"metadata"`
		NBFormat int `json:"nbformat"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	if nb.NBFormat != 4 || nb.Metadata.Kernelspec.Name != "gonb" {
		t.Errorf("nbformat %d, kernel %q: want a v4 notebook for gonb", nb.NBFormat, nb.Metadata.Kernelspec.Name)
	}
	var code string
	for _, c := range nb.Cells {
		if c.CellType == "code" {
			code += strings.Join(c.Source, "")
		}
	}
	for _, want := range []string{`"*", "results.csv"`, "workbench.ReadTable", "workbench.WritePlots", "gonb@v0.11.5"} {
		if !strings.Contains(code, want) {
			t.Errorf("notebook code lacks %q", want)
		}
	}
	if MergedCSV != "results.csv" {
		t.Errorf("reproduce writes %s, the notebook reads results.csv", MergedCSV)
	}
	script, err := os.ReadFile(filepath.Join("..", "scripts", "install-deps.sh"))
	if err != nil || !strings.Contains(string(script), "GONB_VERSION=v0.11.5") {
		t.Errorf("install-deps.sh does not pin the gonb version the notebook requires (%v)", err)
	}
}

// checkMentions fails t unless text (named what) contains every string of
// want and none of not, and then logs text.
func checkMentions(t *testing.T, what, text string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	for _, w := range not {
		if strings.Contains(text, w) {
			t.Errorf("%s says %q", what, w)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// fakeStudy is a study of one workload at one cache with results made up
// for the README's comparisons: every scheduler at n = 1, 7 and 16 with
// throughput 100 req/s and hit ratio 50%, except where set overrides
// ("lblc@7": throughput, hit ratio).
func fakeStudy(set map[string][2]float64) *study {
	return fakeRuns(func(point string) [][2]float64 {
		if v, ok := set[point]; ok {
			return [][2]float64{v}
		}
		return [][2]float64{{100, 0.5}}
	})
}

// fakeRuns is a study of one workload at one cache whose results are made
// up: runs("lblc@7") gives each point's runs as (throughput, hit ratio);
// more than one run are replicates 1, 2, ... of the point.
func fakeRuns(runs func(point string) [][2]float64) *study {
	const cache = 1 << 20
	w := &traces.Workload{Name: "fake", Objects: []traces.Object{{Size: 64 << 20}}}
	w.Requests = make([]traces.Request, 1000)
	st := &study{spec: "fake", dir: "fake", w: w, caches: []int64{cache}}
	for _, alg := range []string{"wrr", "wlc", "dflb", "lblc", "lblcr"} {
		for _, n := range []int{1, 7, 16} {
			rs := runs(fmt.Sprintf("%s@%d", alg, n))
			for k, r := range rs {
				tp, hr := r[0], r[1]
				cfg := sim.Config{Algorithm: alg, Nodes: n, CacheBytes: cache}
				if len(rs) > 1 {
					cfg.Replicates, cfg.Replicate = len(rs), k+1
				}
				st.cells = append(st.cells, Cell{Config: cfg})
				nodes := make([]sim.NodeResult, n)
				for i := range nodes {
					nodes[i] = sim.NodeResult{Node: i, Requests: 1000 / n, HitRatio: hr}
				}
				st.results = append(st.results, &sim.Result{Config: cfg, ThroughputRPS: tp, HitRatio: hr, Nodes: nodes})
			}
		}
	}
	return st
}

// TestReadmeComparisons checks the README's comparison sentences at their
// thresholds: a difference is judged by the number the README prints
// (rounded to 0.1%), so a sentence never contradicts the figure it quotes
// (a +0.0% is not "slightly above"; a +5.0% is "within 5%"). Reference:
// thesis Fig. 4.2 (DFLB +20% at n = 7, growing with n) and Fig. 6.5 (LBLC
// +62.9%, LBLC/R slightly above LBLC).
func TestReadmeComparisons(t *testing.T) {
	tests := []struct {
		name      string
		set       map[string][2]float64
		want, not []string
	}{
		{"LBLC/R identical to LBLC", map[string][2]float64{"lblcr@7": {100, 0.5}},
			[]string{"LBLC/R is +0.0% relative to LBLC: the same as LBLC (the two runs are identical"},
			[]string{"slightly above, as", "below it"}},
		{"LBLC/R above LBLC by less than the printed precision", map[string][2]float64{"lblcr@7": {100.04, 0.5}},
			[]string{"LBLC/R is +0.0% relative to LBLC: the same as LBLC to the precision shown"},
			[]string{"slightly above, as", "runs are identical"}},
		{"LBLC/R below LBLC by less than the printed precision", map[string][2]float64{"lblcr@7": {99.96, 0.5}},
			[]string{"LBLC/R is +0.0% relative to LBLC: the same as LBLC to the precision shown"},
			[]string{"-0.0%", "below it", "slightly above, as"}},
		{"LBLC/R slightly above", map[string][2]float64{"lblcr@7": {103, 0.5}},
			[]string{"LBLC/R is +3.0% relative to LBLC: slightly above, as in the thesis"}, nil},
		{"LBLC/R 10.0% above", map[string][2]float64{"lblcr@7": {110.004, 0.5}},
			[]string{"LBLC/R is +10.0% relative to LBLC: slightly above"}, []string{"more than"}},
		{"LBLC/R below", map[string][2]float64{"lblcr@7": {99.9, 0.5}},
			[]string{"LBLC/R is -0.1% relative to LBLC: below it"}, nil},

		{"WLC 5.0% above WRR", map[string][2]float64{"wlc@7": {105.004, 0.5}},
			[]string{"WRR and WLC are within 5% of each other (+5.0%)"}, []string{"differ by"}},
		{"WLC 5.1% below WRR", map[string][2]float64{"wlc@7": {94.9, 0.5}},
			[]string{"WRR and WLC differ by -5.1%"}, nil},

		{"DFLB a hair above WRR", map[string][2]float64{"dflb@7": {100.004, 0.5}, "dflb@16": {100.004, 0.5}},
			[]string{"Here DFLB is +0.0% relative to WRR", "shows no gain (+0.0%)"},
			[]string{"reproduces the direction", "-0.0%"}},
		{"DFLB a hair below WRR", map[string][2]float64{"dflb@7": {99.996, 0.5}},
			[]string{"Here DFLB is +0.0% relative to WRR", "shows no gain (+0.0%)"}, []string{"-0.0%", "reversed"}},
		{"DFLB below WRR", map[string][2]float64{"dflb@7": {90, 0.5}},
			[]string{"Here DFLB is -10.0% relative to WRR", "reverses the sign of the thesis's gain"}, nil},
		{"DFLB gain the same at 16 as at 7", map[string][2]float64{"dflb@7": {105, 0.5}, "dflb@16": {105.004, 0.5}},
			[]string{"There is no gain growing with n (+5.0% at n = 16, +5.0% at n = 7)"}, []string{"grows with n"}},
		{"DFLB gain growing", map[string][2]float64{"dflb@7": {105, 0.5}, "dflb@16": {110, 0.5}},
			[]string{"The gain grows with n (+10.0% at n = 16, +5.0% at n = 7)"}, nil},

		{"LBLC 5.0 points below the thesis", map[string][2]float64{"lblc@7": {157.896, 0.5}},
			[]string{"LBLC is +57.9% relative to WRR", "agrees with the thesis (within 5 points)"}, []string{"points smaller"}},
		{"LBLC 5.1 points below the thesis", map[string][2]float64{"lblc@7": {157.8, 0.5}},
			[]string{"LBLC is +57.8% relative to WRR", "is 5.1 points smaller than the thesis's"}, nil},
		{"LBLC points rounded from the printed gain", map[string][2]float64{"lblc@7": {110.04, 0.5}},
			[]string{"LBLC is +10.0% relative to WRR", "is 52.9 points smaller"}, nil},
		{"LBLC hit ratio up, throughput equal", map[string][2]float64{"lblc@7": {100.04, 0.7}},
			[]string{"LBLC raises the hit ratio from 50.0% (WRR) to 70.0%, yet its throughput is no higher"},
			[]string{"is where its throughput comes from"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			readme := readmeText([]*study{fakeStudy(tc.set)}, nil, ReproduceOptions{Nodes: []int{1, 7, 16}, Formats: []string{"svg"}, Seed: 1})
			checkMentions(t, "README", readme, tc.want, tc.not)
		})
	}
}

// readmeThroughput is how the README prints a throughput: rounded (not
// truncated) to 0.1 req/s.
func readmeThroughput(tp float64) string {
	return strconv.FormatFloat(tp, 'f', 1, 64)
}

// TestReadmeThroughput checks that readmeThroughput, which
// TestReproduceDeterministic looks for in the README, is what the README
// prints, including where rounding to 0.1 carries (99.96 is 100.0).
func TestReadmeThroughput(t *testing.T) {
	for _, tc := range []struct {
		tp   float64
		want string
	}{{99.96, "100.0"}, {204.902992, "204.9"}, {411.649, "411.6"}, {411.65001, "411.7"}, {0.05, "0.1"}, {1234, "1234.0"}} {
		if got := readmeThroughput(tc.tp); got != tc.want {
			t.Errorf("readmeThroughput(%v) = %s, want %s", tc.tp, got, tc.want)
		}
		tp := tc.tp
		readme := readmeText([]*study{fakeStudy(map[string][2]float64{"lblc@7": {tp, 0.5}})}, nil, ReproduceOptions{Nodes: []int{1, 7, 16}, Formats: []string{"svg"}})
		want := "| throughput | 100.0 | 100.0 | 100.0 | " + readmeThroughput(tp) + " | 100.0 |"
		if !strings.Contains(readme, want) {
			t.Errorf("throughput %v: README lacks %q", tp, want)
		}
	}
}

// fakeReplicatedStudy is fakeStudy with 3 replicates of every point: the
// throughputs 99, 100, 101 req/s, except where set gives other ones
// ("lblc@7": three throughputs).
func fakeReplicatedStudy(set map[string][3]float64) *study {
	return fakeRuns(func(point string) [][2]float64 {
		tps := [3]float64{99, 100, 101}
		if v, ok := set[point]; ok {
			tps = v
		}
		return [][2]float64{{tps[0], 0.5}, {tps[1], 0.5}, {tps[2], 0.5}}
	})
}

// TestReadmeReplicates checks the README of replicated results: means
// with their 95% intervals, every comparison with its interval (a paired
// t-test over the replicates), and "within noise" exactly where the
// interval holds 0.
func TestReadmeReplicates(t *testing.T) {
	// lblc - wrr per replicate: 60, 62, 61: mean 61, sd 1, half-width
	// t(0.975, 2) × 1/√3 = 4.303 × 0.57735 = 2.484 req/s, i.e. ±2.5% of
	// WRR's 100. dflb - wrr: 3, -2, 1: mean 0.667, sd 2.517, half-width
	// 6.252: within noise.
	st := fakeReplicatedStudy(map[string][3]float64{
		"lblc@7": {159, 162, 162},
		"dflb@7": {102, 98, 102},
	})
	readme := readmeText([]*study{st}, nil, ReproduceOptions{Nodes: []int{1, 7, 16}, Formats: []string{"svg"}, Seed: 1, Replicates: 3})
	for _, w := range []string{
		"Every point is the mean of 3 replicates",
		"| throughput | 100.0 ± 2.5 | 100.0 ± 2.5 | 100.7 ± 5.7 | 161.0 ± 4.3 | 100.0 ± 2.5 |",
		"| vs. WRR | | +0.0% | +0.7% ± 6.3 (noise) | +61.0% ± 2.5 | +0.0% |",
		"Here LBLC is +61.0% [95% CI +58.5% to +63.5%] relative to WRR at n = 7",
		"Here DFLB is +0.7% [95% CI -5.6% to +6.9%: within noise] relative to WRR",
		"WRR and WLC are within 5% of each other (+0.0% [in every replicate])",
	} {
		if !strings.Contains(readme, w) {
			t.Errorf("README lacks %q", w)
		}
	}
	same := readmeText([]*study{fakeReplicatedStudy(nil)}, nil, ReproduceOptions{Nodes: []int{1, 7, 16}, Formats: []string{"svg"}, Seed: 1, Replicates: 3})
	if w := "the two runs are identical here: the same throughput, hit ratio and requests per node, in each of the 3 replicates"; !strings.Contains(same, w) {
		t.Errorf("README lacks %q", w)
	}
	if t.Failed() {
		t.Log(readme)
	}
}

// TestVerdictCI checks that a gain whose interval holds 0 is never read as
// reproducing or reversing the thesis's gain unless it agrees with it
// (thesis §6.3.7: LBLC +62.9% over WRR at n = 7).
func TestVerdictCI(t *testing.T) {
	for _, tc := range []struct {
		measured float64
		noise    bool
		want     string
	}{
		{-0.127, true, "cannot be told from no difference"},
		{-0.127, false, "reverses the sign"},
		{0.30, true, "cannot be told from no difference"},
		{0.30, false, "reproduces the direction but is 32.9 points smaller"},
		{0.60, true, "agrees with the thesis"},
		{math.NaN(), true, "not measured"},
	} {
		if got := verdictCI(tc.measured, thesisLBLCGain, tc.noise); !strings.Contains(got, tc.want) {
			t.Errorf("verdictCI(%v, noise %v) = %q, want %q", tc.measured, tc.noise, got, tc.want)
		}
	}
}
