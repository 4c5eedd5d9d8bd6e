package workbench

// Reproducing the thesis's figures: "lvslab reproduce" regenerates
// results/ with the experiment files, results, figures and a README that
// compares them with the thesis's published numbers (thesis.go).

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// Defaults of Reproduce.
const (
	// ReproduceSeed is the seed of the committed results.
	ReproduceSeed = 1
	// ReproduceReplicates is the number of replicates of every point of
	// the committed results: enough for a confidence interval that tells
	// the schedulers apart, few enough for reproduce to run in about two
	// minutes on two cores (BENCHMARKS.md).
	ReproduceReplicates = 3
	// The workloads: the embedded trace and the synthetic thesis-like one.
	defaultTraceSpec = "default"
	defaultSynthSpec = "synth:thesis"
)

// ReproduceTraces are the workloads Reproduce runs by default.
var ReproduceTraces = []string{defaultTraceSpec, defaultSynthSpec}

// ReproduceOptions configure Reproduce.
type ReproduceOptions struct {
	Out     string   // output directory
	Traces  []string // workloads (trace specs, see experiment.LoadWorkload)
	Nodes   []int    // node counts
	Workers int      // simulations at once (0: all cores)
	Scaled  bool     // also run at a cache scaled to the thesis's working-set ratio
	Seed    uint64
	// Replicates runs each point that many times, replicates 1..N with
	// same-instant events in a seeded random order (sim.Config.Replicate),
	// and reports means with confidence intervals; 0 or 1: one
	// unperturbed run per point.
	Replicates int
	// Regimes is the workload of the DFLB-regimes study (RegimesTrace by
	// default in the CLI; "": no such study).
	Regimes string
	Formats []string  // image formats of the figures
	Log     io.Writer // progress and timings
	TTY     bool      // Log is a terminal
	Mem     *MemLimit // memory limit (nil: none)
}

// study is one workload's reproduction.
type study struct {
	spec    string
	dir     string // folder under the output directory
	w       *traces.Workload
	caches  []int64
	cells   []Cell
	results []*sim.Result
	elapsed time.Duration
}

// Reproduce regenerates the reference results (Fig. 4.2 and Fig. 6.5 of
// the thesis on each workload of o.Traces) under o.Out: per workload a
// folder with the experiment file, the results and the figures, and a
// README.md comparing them with the thesis's published numbers. With
// o.Regimes it also runs the DFLB-regimes study (examples/dflb-regimes.yaml)
// on that workload into RegimesDir, and the README reads its gains. It
// prints what it wrote on stdout and its progress on o.Log.
func Reproduce(stdout io.Writer, o ReproduceOptions) error {
	for _, spec := range o.Traces {
		if err := CheckSynthTrace("--trace "+spec, spec, o.Mem); err != nil {
			return err
		}
	}
	var regimes *regimesStudy
	if o.Regimes != "" {
		if err := CheckSynthTrace("--regimes-trace "+o.Regimes, o.Regimes, o.Mem); err != nil {
			return err
		}
		regimes = &regimesStudy{spec: o.Regimes}
	}
	start := time.Now()
	var studies []*study
	used := map[string]bool{RegimesDir: regimes != nil} // a workload's folder is never the regimes study's
	for _, spec := range o.Traces {
		w, err := experiment.LoadWorkload(spec, "", experiment.LoadOptions{Report: o.Log})
		if err != nil {
			return err
		}
		st := &study{spec: spec, w: w, dir: studyDir(spec, w, used)}
		st.caches = []int64{thesisCacheBytes}
		if o.Scaled {
			if c := scaledCache(w.WorkingSet()); c > 0 {
				st.caches = append(st.caches, c)
			}
		}
		studies = append(studies, st)
	}
	if err := refuseReproduceOverwrite(o, studies, regimes != nil); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	for _, st := range studies {
		t0 := time.Now()
		if err := st.run(o); err != nil {
			return err
		}
		st.elapsed = time.Since(t0)
		if err := st.write(o); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "reproduce: %s: %d simulations in %s\n", st.spec, len(st.results), st.elapsed.Round(time.Millisecond))
	}
	folders := len(studies)
	if regimes != nil {
		t0 := time.Now()
		if err := regimes.run(o); err != nil {
			return err
		}
		regimes.elapsed = time.Since(t0)
		if err := regimes.write(o); err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "reproduce: %s (%s): %d simulations in %s\n", RegimesDir, regimes.spec, len(regimes.results), regimes.elapsed.Round(time.Millisecond))
		folders++
	}
	readme := filepath.Join(o.Out, "README.md")
	if err := atomicfile.WriteFile(readme, []byte(readmeText(studies, regimes, o))); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s in %s\n", readme, plural(folders, "folder"), time.Since(start).Round(time.Millisecond))
	return nil
}

// refuseReproduceOverwrite refuses, before anything is written, a trace
// file that reproduce would replace: the README of the output directory or
// a file in a workload's folder, all of which it writes.
func refuseReproduceOverwrite(o ReproduceOptions, studies []*study, regimes bool) error {
	readme := filepath.Join(o.Out, "README.md")
	var dirs []string
	for _, st := range studies {
		dirs = append(dirs, filepath.Join(o.Out, st.dir))
	}
	inputs := experiment.TraceInputs("the --trace file %s", o.Traces, "")
	if regimes {
		dirs = append(dirs, filepath.Join(o.Out, RegimesDir))
		inputs = append(inputs, experiment.TraceInputs("the --regimes-trace file %s", []string{o.Regimes}, "")...)
	}
	for _, in := range inputs {
		if err := RefuseOverwrite("reproduce", "-o", readme, []Input{in}); err != nil {
			return err
		}
		for _, dir := range dirs {
			if SameFile(filepath.Dir(in.Path), dir) {
				return fmt.Errorf("reproduce: -o %s: folder %s, which reproduce rewrites, holds %s; choose another output", o.Out, dir, fmt.Sprintf(in.What, in.Path))
			}
		}
	}
	return nil
}

// studyDir names a workload's folder after its trace, uniquely.
func studyDir(spec string, w *traces.Workload, used map[string]bool) string {
	name := w.Name
	if spec == defaultTraceSpec {
		name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".log")
	}
	name = strings.TrimPrefix(name, "synth:")
	if strings.HasPrefix(spec, "synth:") {
		name = "synth-" + name
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	dir := b.String()
	for i := 2; used[dir]; i++ {
		dir = fmt.Sprintf("%s-%d", b.String(), i)
	}
	used[dir] = true
	return dir
}

func (st *study) algorithms() []string {
	var algs []string
	for _, a := range slices.Concat(fig42Algs, fig65Algs) {
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

func (st *study) experimentYAML(o ReproduceOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by lvslab reproduce (lvslab %s). From this folder,\n", version.Version)
	fmt.Fprintf(&b, "#   lvslab sim -f experiment.yaml -o results.csv\n")
	fmt.Fprintf(&b, "# reruns it and writes the same results.csv.\n")
	fmt.Fprintf(&b, "name: %s\n", st.dir)
	fmt.Fprintf(&b, "trace: %q\n", st.spec)
	fmt.Fprintf(&b, "alg: [%s]\n", strings.Join(st.algorithms(), ", "))
	fmt.Fprintf(&b, "nodes: %q\n", experiment.NodesString(o.Nodes))
	fmt.Fprintf(&b, "preset: %s\n", sim.PresetThesis)
	var caches []string
	for _, c := range st.caches {
		caches = append(caches, traces.FormatBytes(c))
	}
	if len(caches) == 1 {
		fmt.Fprintf(&b, "cache: %s\n", caches[0])
	} else {
		fmt.Fprintf(&b, "cache: [%s]\n", strings.Join(caches, ", "))
	}
	fmt.Fprintf(&b, "seed: %d\n", o.Seed)
	if o.Replicates > 1 {
		fmt.Fprintf(&b, "replicates: %d\n", o.Replicates)
	}
	return b.String()
}

// run builds the experiment from its own YAML, so that the file written
// is exactly what produced the results, and runs it.
func (st *study) run(o ReproduceOptions) error {
	e, err := experiment.Parse(st.dir+"/experiment.yaml", strings.NewReader(st.experimentYAML(o)), "")
	if err != nil {
		return err
	}
	s, err := ExperimentSpec(e, []*traces.Workload{st.w})
	if err != nil {
		return err
	}
	if st.cells, err = s.Cells(); err != nil {
		return err
	}
	label := "reproduce " + st.spec
	run, want, err := CheckRunMemory(st.cells, s.Workloads, o.Workers, o.Mem, FlagBlame)
	if err != nil {
		return err
	}
	NoteWorkers(o.Log, label, run, want, o.Mem)
	prog := &Progress{W: o.Log, TTY: o.TTY, Label: label, Every: 10 * time.Second}
	out, err := Run(st.cells, s.Workloads, RunOptions{Workers: run, Progress: prog.Update})
	if err != nil {
		return err
	}
	st.results = out.Results
	return nil
}

func (st *study) write(o ReproduceOptions) error {
	dir := filepath.Join(o.Out, st.dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "experiment.yaml"), []byte(st.experimentYAML(o))); err != nil {
		return err
	}
	if err := WriteResults(filepath.Join(dir, MergedCSV), "csv", st.results); err != nil {
		return err
	}
	if err := WriteResults(filepath.Join(dir, MergedJSON), "json", st.results); err != nil {
		return err
	}
	figs := []struct {
		prefix, title string
		algs          []string
	}{
		{"fig4.2-", "Fig. 4.2 (reproduction)", fig42Algs},
		{"fig6.5-", "Fig. 6.5 (reproduction)", fig65Algs},
	}
	for _, f := range figs {
		if _, err := WriteResultPlots(dir, st.dir, st.results, PlotOptions{
			Algorithms: f.algs, Prefix: f.prefix, Title: f.title, CDFNodes: []int{st.cdfNodes()}, Formats: o.Formats,
		}); err != nil {
			return err
		}
	}
	return nil
}

// cdfNodes is the node count the CDFs are drawn at: the thesis's 7 if run.
func (st *study) cdfNodes() int {
	return st.refNodes()
}

// refNodes is the node count comparisons are made at: 7 if run, else the
// nearest run.
func (st *study) refNodes() int {
	best := -1
	for _, c := range st.cells {
		n := c.Config.Nodes
		if best < 0 || abs(n-thesisN) < abs(best-thesisN) {
			best = n
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// runs returns the results of alg at n nodes and cache c: one, or its
// replicates in replicate order.
func (st *study) runs(alg string, n int, cache int64) []*sim.Result {
	var rs []*sim.Result
	for _, r := range st.results {
		if r.Config.Algorithm == alg && r.Config.Nodes == n && r.Config.CacheBytes == cache {
			rs = append(rs, r)
		}
	}
	return rs
}

// get returns the result of alg at n nodes and cache c: the run, or the
// mean of its replicates (meanResult).
func (st *study) get(alg string, n int, cache int64) *sim.Result {
	return meanResult(st.runs(alg, n, cache))
}

// meanResult is rs[0] with the means over rs of the throughput, hit
// ratio, imbalance and every node's CPU and disk utilisation, the numbers
// the README quotes; nil for no results.
func meanResult(rs []*sim.Result) *sim.Result {
	if len(rs) == 0 {
		return nil
	}
	if len(rs) == 1 {
		return rs[0]
	}
	m := *rs[0]
	m.ThroughputRPS, m.ThroughputMBps, m.HitRatio, m.Imbalance = 0, 0, 0, 0
	m.Nodes = slices.Clone(rs[0].Nodes)
	for i := range m.Nodes {
		m.Nodes[i].CPUUtil, m.Nodes[i].DiskUtil = 0, 0
	}
	k := float64(len(rs))
	for _, r := range rs {
		m.ThroughputRPS += r.ThroughputRPS / k
		m.ThroughputMBps += r.ThroughputMBps / k
		m.HitRatio += r.HitRatio / k
		m.Imbalance += r.Imbalance / k
		for i := range min(len(m.Nodes), len(r.Nodes)) {
			m.Nodes[i].CPUUtil += r.Nodes[i].CPUUtil / k
			m.Nodes[i].DiskUtil += r.Nodes[i].DiskUtil / k
		}
	}
	return &m
}

// same reports whether a and b at n nodes and cache c ran identically in
// every replicate.
func (st *study) same(a, b string, n int, cache int64) bool {
	ra, rb := st.runs(a, n, cache), st.runs(b, n, cache)
	if len(ra) == 0 || len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if !identical(ra[i], rb[i]) {
			return false
		}
	}
	return true
}

// test is the paired t-test of a's throughput against b's over their
// replicates at n nodes and cache c (ok false for single runs).
func (st *study) test(a, b string, n int, cache int64) (d stats.Diff, meanB float64, ok bool) {
	ra, rb := st.runs(a, n, cache), st.runs(b, n, cache)
	if len(ra) < 2 || len(ra) != len(rb) {
		return d, 0, false
	}
	xa, xb := make([]float64, len(ra)), make([]float64, len(rb))
	for i := range ra {
		xa[i], xb[i] = ra[i].ThroughputRPS, rb[i].ThroughputRPS
	}
	d, err := stats.PairedTest(xa, xb, stats.DefaultLevel)
	if err != nil {
		return d, 0, false
	}
	return d, stats.Summarize(xb, stats.DefaultLevel).Mean, true
}

// interval is the 95% confidence interval of a's throughput gain over b's
// for prose: " [95% CI +3.1% to +5.4%]", with ": within noise" when it
// holds 0, " [in every replicate]" when the difference does not vary; ""
// for single runs.
func (st *study) interval(a, b string, n int, cache int64) string {
	d, mb, ok := st.test(a, b, n, cache)
	switch {
	case !ok || mb == 0:
		return ""
	case d.Lo == d.Hi:
		return " [in every replicate]"
	}
	s := fmt.Sprintf(" [95%% CI %s to %s", pct(d.Lo/mb), pct(d.Hi/mb))
	if !d.Significant() {
		s += ": within noise"
	}
	return s + "]"
}

// noise reports whether a's difference from b at n nodes is within the
// noise of the replicates: a confidence interval that holds 0.
func (st *study) noise(a, b string, n int, cache int64) bool {
	d, mb, ok := st.test(a, b, n, cache)
	return ok && mb != 0 && d.Lo != d.Hi && !d.Significant()
}

// verdictCI is verdict for a gain whose interval may hold 0 (noise): a
// gain that does not agree with the thesis's and cannot be told from no
// difference neither reproduces nor reverses it.
func verdictCI(measured, thesis float64, noise bool) string {
	v := verdict(measured, thesis)
	if noise && !strings.HasPrefix(v, "agrees") && !math.IsNaN(measured) {
		return "cannot be told from no difference with these replicates, so it neither reproduces nor reverses the thesis's gain"
	}
	return v
}

// cell is the README table's cell of a's gain over b: the gain, with its
// 95% confidence interval's half-width for replicates and "(noise)" when
// the interval holds 0.
func (st *study) cell(a, b string, n int, cache int64) string {
	s := pct(gain(st.get(a, n, cache), st.get(b, n, cache)))
	d, mb, ok := st.test(a, b, n, cache)
	if !ok || mb == 0 || d.Lo == d.Hi {
		return s // one run, or the same difference in every replicate
	}
	s += fmt.Sprintf(" ± %.1f", shownPct((d.Hi-d.Lo)/2/mb))
	if !d.Significant() {
		s += " (noise)"
	}
	return s
}

// spread is the 95% confidence interval's half-width of alg's mean
// throughput, for the README's table ("" for a single run).
func (st *study) spread(alg string, n int, cache int64) string {
	rs := st.runs(alg, n, cache)
	if len(rs) < 2 {
		return ""
	}
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = r.ThroughputRPS
	}
	return " ± " + strconv.FormatFloat(stats.Summarize(xs, stats.DefaultLevel).HalfWidth(), 'f', 1, 64)
}

// replicates is the number of runs per point of the study.
func (st *study) replicates() int {
	if len(st.cells) == 0 {
		return 1
	}
	return max(st.cells[0].Config.Replicates, 1)
}

func (st *study) maxNodes() int {
	m := 0
	for _, c := range st.cells {
		m = max(m, c.Config.Nodes)
	}
	return m
}

// gain is a's throughput relative to b's, minus 1.
func gain(a, b *sim.Result) float64 {
	if a == nil || b == nil || b.ThroughputRPS == 0 {
		return math.NaN()
	}
	return a.ThroughputRPS/b.ThroughputRPS - 1
}

// shown is x as the README prints it with prec decimals, read back (and
// -0 made 0). The README's comparisons are made on the numbers it shows,
// so that no sentence contradicts a number it quotes: a gain printed
// +0.0% is no gain, one printed +5.0% is within 5%.
func shown(x float64, prec int) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', prec, 64), 64)
	if err != nil || v == 0 { // NaN and ±Inf parse back; -0 becomes 0
		return v + 0
	}
	return v
}

// shownPct is the percentage pct prints for the fraction x.
func shownPct(x float64) float64 { return shown(100*x, 1) }

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", shownPct(x))
}

func rps(r *sim.Result) string {
	if r == nil {
		return "n/a"
	}
	return strconv.FormatFloat(r.ThroughputRPS, 'f', 1, 64)
}

func hit(r *sim.Result) string {
	if r == nil {
		return "n/a"
	}
	return strconv.FormatFloat(100*r.HitRatio, 'f', 1, 64) + "%"
}

// verdict compares a measured gain with the thesis's (a positive one), as
// both are printed (0.1%).
func verdict(measured, thesis float64) string {
	m, th := shownPct(measured), shownPct(thesis)
	switch d := shown(m-th, 1); {
	case math.IsNaN(measured):
		return "not measured"
	case math.Abs(d) <= 5:
		return "agrees with the thesis (within 5 points)"
	case m == 0:
		return "shows no gain (+0.0%), where the thesis has one"
	case m < 0:
		return "reverses the sign of the thesis's gain"
	case d < 0:
		return fmt.Sprintf("reproduces the direction but is %.1f points smaller than the thesis's", -d)
	default:
		return fmt.Sprintf("reproduces the direction and is %.1f points larger than the thesis's", d)
	}
}

// identical reports whether two runs have the same results: throughput,
// hit ratio and every node's requests and hits.
func identical(a, b *sim.Result) bool {
	if a == nil || b == nil || a.ThroughputRPS != b.ThroughputRPS || a.HitRatio != b.HitRatio || len(a.Nodes) != len(b.Nodes) {
		return false
	}
	for i := range a.Nodes {
		if a.Nodes[i].Requests != b.Nodes[i].Requests || a.Nodes[i].Hits != b.Nodes[i].Hits {
			return false
		}
	}
	return true
}

// formatList names image formats for prose: "PNG and SVG".
func formatList(formats []string) string {
	up := make([]string, len(formats))
	for i, f := range formats {
		up[i] = strings.ToUpper(f)
	}
	return strings.Join(up, " and ")
}

func readmeText(studies []*study, regimes *regimesStudy, o ReproduceOptions) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Reproduced results\n\n")
	p("Generated by `lvslab reproduce` (lvslab %s) from the numbers in this folder; do not edit by hand.\n", version.Version)
	if o.Replicates > 1 {
		p("Every point is the mean of %d replicates of the **thesis preset** (docs/reference-model.md: closed admission of\n", o.Replicates)
		p("n × 60 requests, LRU caches, the LARD cost constants of thesis §4.3), seed %d, n = %s. Replicate k runs the\n", o.Seed, experiment.NodesString(o.Nodes))
		p("events that fall on the same simulated instant in a random order drawn from the seed and k (every order is a\n")
		p("valid reading of the model, which does not fix how simultaneous events interleave; `replicates` in\n")
		p("`experiment.yaml`). Every comparison gives its 95%% confidence interval (a paired t-test over the replicates,\n")
		p("which share their random streams across schedulers); a difference whose interval holds 0 is **within noise**.\n")
		p("Throughputs are given ± the half-width of their 95%% confidence interval; the figures draw the means with 95%%\n")
		p("error bars, and the response-time CDFs are those of replicate 1.\n")
	} else {
		p("Every point is one simulation of the **thesis preset** (docs/reference-model.md: closed admission of\n")
		p("n × 60 requests, LRU caches, the LARD cost constants of thesis §4.3), seed %d, n = %s.\n", o.Seed, experiment.NodesString(o.Nodes))
	}
	p("Each folder holds the exact experiment (`experiment.yaml`, rerun it with `lvslab sim -f`), the results\n")
	p("(`results.csv`: one row per scheduler × node count × cache%s; `results.json`: full results with time series and\n", replicateRows(o))
	p("response-time CDFs) and the figures as %s (`fig4.2-*`, `fig6.5-*`: throughput, hit ratio, CDF at n = %d).\n\n",
		formatList(o.Formats), studies[0].refNodes())
	img := "png"
	if len(o.Formats) > 0 {
		img = o.Formats[0]
	}

	p("The thesis (§4.3, §6.3.7) simulated a merged two-month log of its lab's servers: 37,804 targets covering\n")
	p("1,629 MB, against 32 MiB of cache per node, i.e. a working set %.0f× one node's cache and %.1f× the\n",
		float64(thesisWSBytes)/thesisCacheBytes, float64(thesisWSBytes)/(thesisN*thesisCacheBytes))
	p("aggregate cache of 7 nodes. That log is not available; the workloads here are:\n\n")
	p("| folder | workload | requests kept | targets | working set | cache per node | working set / cache | simulations |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, st := range studies {
		for _, c := range st.caches {
			p("| [%s](%s/) | `%s` | %s | %s | %s | %s | %.1f | %d |\n", st.dir, st.dir, st.spec, thousands(len(st.w.Requests)), thousands(len(st.w.Objects)),
				traces.HumanBytes(st.w.WorkingSet()), traces.FormatBytes(c), float64(st.w.WorkingSet())/float64(c), len(st.results)/len(st.caches))
		}
	}
	for _, st := range studies {
		if name, ok := strings.CutPrefix(st.spec, "synth:"); ok {
			preset, _, _ := strings.Cut(name, ":")
			if m, err := traces.SynthPreset(preset); err == nil {
				if st.w.Lines == m.Requests {
					p("\n`%s` is the synthetic preset %q at its full size, %s requests (no scaling down was needed).\n", st.spec, preset, thousands(st.w.Lines))
				} else {
					p("\n`%s` is the synthetic preset %q scaled to %s requests (the preset has %s).\n", st.spec, preset, thousands(st.w.Lines), thousands(m.Requests))
				}
			}
		}
	}
	p("\nThe second cache size of a workload, where there is one, is scaled so that working set / cache equals the\n")
	p("thesis's; it tests whether the ratio, rather than the absolute sizes, drives the comparison.\n")

	for _, st := range studies {
		n := st.refNodes()
		nmax := st.maxNodes()
		p("\n## %s (`%s`)\n", st.dir, st.spec)
		for _, c := range st.caches {
			cs := traces.FormatBytes(c)
			wrr, wlc, dflb := st.get("wrr", n, c), st.get("wlc", n, c), st.get("dflb", n, c)
			lblc, lblcr := st.get("lblc", n, c), st.get("lblcr", n, c)
			suffix := ""
			if len(st.caches) > 1 {
				suffix = "_" + cs
			}
			p("\n### Cache %s per node\n\n", cs)
			p("Throughput (requests/s) and cluster hit ratio at n = %d:\n\n", n)
			p("| | WRR | WLC | DFLB | LBLC | LBLC/R |\n|---|---:|---:|---:|---:|---:|\n")
			p("| throughput | %s%s | %s%s | %s%s | %s%s | %s%s |\n", rps(wrr), st.spread("wrr", n, c), rps(wlc), st.spread("wlc", n, c),
				rps(dflb), st.spread("dflb", n, c), rps(lblc), st.spread("lblc", n, c), rps(lblcr), st.spread("lblcr", n, c))
			p("| vs. WRR | | %s | %s | %s | %s |\n", st.cell("wlc", "wrr", n, c), st.cell("dflb", "wrr", n, c), st.cell("lblc", "wrr", n, c), st.cell("lblcr", "wrr", n, c))
			p("| hit ratio | %s | %s | %s | %s | %s |\n\n", hit(wrr), hit(wlc), hit(dflb), hit(lblc), hit(lblcr))

			p("**Fig. 4.2** ([throughput](%s/fig4.2-throughput%s.%s), [hit ratio](%s/fig4.2-hit-ratio%s.%s)). ", st.dir, suffix, img, st.dir, suffix, img)
			p("Thesis: WRR and WLC close, DFLB about +20%% over both at n = 7, the gap widening with n.\n")
			gd, gdw := gain(dflb, wrr), gain(dflb, wlc)
			p("Here DFLB is %s%s relative to WRR and %s%s relative to WLC at n = %d: this %s.", pct(gd), st.interval("dflb", "wrr", n, c),
				pct(gdw), st.interval("dflb", "wlc", n, c), n, verdictCI(gd, thesisDFLBGain, st.noise("dflb", "wrr", n, c)))
			if d := gain(wlc, wrr); !math.IsNaN(d) {
				if math.Abs(shownPct(d)) <= 5 {
					p(" WRR and WLC are within 5%% of each other (%s%s), as in the thesis.", pct(d), st.interval("wlc", "wrr", n, c))
				} else {
					p(" WRR and WLC differ by %s%s, unlike the thesis's close curves.", pct(d), st.interval("wlc", "wrr", n, c))
				}
			}
			if g16 := gain(st.get("dflb", nmax, c), st.get("wrr", nmax, c)); nmax > n && !math.IsNaN(g16) && !math.IsNaN(gd) {
				if s16 := shownPct(g16); s16 > shownPct(gd) && s16 > 2 {
					p(" The gain grows with n (%s%s at n = %d, %s at n = %d), as in the thesis.", pct(g16), st.interval("dflb", "wrr", nmax, c), nmax, pct(gd), n)
				} else {
					p(" There is no gain growing with n (%s%s at n = %d, %s at n = %d), unlike the thesis.", pct(g16), st.interval("dflb", "wrr", nmax, c), nmax, pct(gd), n)
				}
			}
			p("\n\n")

			p("**Fig. 6.5** ([throughput](%s/fig6.5-throughput%s.%s), [hit ratio](%s/fig6.5-hit-ratio%s.%s), [response-time CDF](%s/fig6.5-cdf-n%d%s.%s)). ",
				st.dir, suffix, img, st.dir, suffix, img, st.dir, n, suffix, img)
			p("Thesis: LBLC +62.9%% over WRR at n = 7, LBLC/R slightly above LBLC.\n")
			gl := gain(lblc, wrr)
			p("Here LBLC is %s%s relative to WRR at n = %d: this %s.", pct(gl), st.interval("lblc", "wrr", n, c), n, verdictCI(gl, thesisLBLCGain, st.noise("lblc", "wrr", n, c)))
			if lr := gain(lblcr, lblc); !math.IsNaN(lr) {
				ci := st.interval("lblcr", "lblc", n, c)
				switch s := shownPct(lr); {
				case s == 0 && st.same("lblcr", "lblc", n, c):
					p(" LBLC/R is %s relative to LBLC: the same as LBLC (the two runs are identical here: the same throughput, hit ratio and requests per node%s); the thesis has LBLC/R slightly above LBLC.", pct(lr), sameEvery(st))
				case s == 0:
					p(" LBLC/R is %s%s relative to LBLC: the same as LBLC to the precision shown; the thesis has LBLC/R slightly above LBLC.", pct(lr), ci)
				case strings.Contains(ci, "within noise"):
					p(" LBLC/R is %s%s relative to LBLC: no different from LBLC within the noise of the replicates; the thesis has LBLC/R slightly above LBLC.", pct(lr), ci)
				case s > 0 && s <= 10:
					p(" LBLC/R is %s%s relative to LBLC: slightly above, as in the thesis.", pct(lr), ci)
				case s > 10:
					p(" LBLC/R is %s%s relative to LBLC: above, by more than the thesis's \"slightly\".", pct(lr), ci)
				default:
					p(" LBLC/R is %s%s relative to LBLC: below it, unlike the thesis.", pct(lr), ci)
				}
			}
			p("\n\n")
			p("%s\n", explain(st, c, n, wrr, lblc, dflb))
		}
	}
	if regimes != nil && regimes.sum != nil {
		p("%s", regimesReadme(regimes.sum, regimes.spec, o.Seed, img))
	}
	p("\n## Run time\n\nThe simulations are deterministic; their run time is not. `lvslab reproduce` prints it on standard error.\n")
	return b.String()
}

// explain says, from the measured numbers, why a workload's results differ
// from the thesis's: how its working set compares with the caches, how long
// the run is compared with the number of requests in flight, and how far
// locality moved the hit ratio.
func explain(st *study, cache int64, n int, wrr, lblc, dflb *sim.Result) string {
	var s []string
	ws := st.w.WorkingSet()
	agg := int64(n) * cache
	one := st.get("wrr", 1, cache)
	switch {
	case ws <= cache:
		s = append(s, fmt.Sprintf("The working set (%s) fits in one node's cache (%s): once the caches are warm every scheduler hits, so locality has little to add.",
			traces.HumanBytes(ws), traces.FormatBytes(cache)))
	case ws <= agg:
		s = append(s, fmt.Sprintf("The working set (%s) exceeds one node's cache (%s) but fits in the aggregate cache of %d nodes (%s): a scheduler that partitions targets across nodes can keep it all in memory, one that spreads them cannot.",
			traces.HumanBytes(ws), traces.FormatBytes(cache), n, traces.HumanBytes(agg)))
	default:
		s = append(s, fmt.Sprintf("The working set (%s) is %.1f× the aggregate cache of %d nodes (%s), as in the thesis (%.1f×): no scheduler can keep it all in memory, so the hit ratio depends on how well targets are partitioned.",
			traces.HumanBytes(ws), float64(ws)/float64(agg), n, traces.HumanBytes(agg), float64(thesisWSBytes)/(thesisN*thesisCacheBytes)))
	}
	if one != nil && shown(100*one.HitRatio, 1) >= 80 {
		s = append(s, fmt.Sprintf("Even one node reaches a %.1f%% hit ratio.", 100*one.HitRatio))
	}
	inFlight := n * sim.DefaultHigh
	if reqs := len(st.w.Requests); reqs < 100*inFlight {
		s = append(s, fmt.Sprintf("The trace is short for this model: %s requests against %d admitted at once at n = %d (%.0f per slot), so the first wave of compulsory misses and the start-up transient weigh heavily.",
			thousands(reqs), inFlight, n, float64(reqs)/float64(inFlight)))
	}
	if wrr != nil && lblc != nil {
		d := shown(shown(100*lblc.HitRatio, 1)-shown(100*wrr.HitRatio, 1), 1)
		g := shownPct(gain(lblc, wrr))
		switch {
		case d > 5 && g > 0:
			s = append(s, fmt.Sprintf("LBLC raises the hit ratio from %.1f%% (WRR) to %.1f%%, which is where its throughput comes from: a miss costs a disk read of at least 28 ms.",
				100*wrr.HitRatio, 100*lblc.HitRatio))
		case d > 5 && g == 0:
			s = append(s, fmt.Sprintf("LBLC raises the hit ratio from %.1f%% (WRR) to %.1f%%, yet its throughput is no higher: the load imbalance of assigning targets to nodes (coefficient of variation of requests per node %.3f vs %.3f) costs as much as the disk reads it saves.",
				100*wrr.HitRatio, 100*lblc.HitRatio, lblc.Imbalance, wrr.Imbalance))
		case d > 5:
			s = append(s, fmt.Sprintf("LBLC raises the hit ratio from %.1f%% (WRR) to %.1f%%, yet its throughput is lower: the load imbalance of assigning targets to nodes (coefficient of variation of requests per node %.3f vs %.3f) costs more than the disk reads it saves.",
				100*wrr.HitRatio, 100*lblc.HitRatio, lblc.Imbalance, wrr.Imbalance))
		default:
			s = append(s, fmt.Sprintf("LBLC's hit ratio (%.1f%%) is not clearly above WRR's (%.1f%%), so its locality buys no disk reads here; what remains is its load imbalance (coefficient of variation %.3f vs %.3f).",
				100*lblc.HitRatio, 100*wrr.HitRatio, lblc.Imbalance, wrr.Imbalance))
		}
	}
	if wrr != nil && dflb != nil {
		switch g := shownPct(gain(dflb, wrr)); {
		case math.Abs(g) <= 2:
			s = append(s, "DFLB stays within 2% of WRR: with identical nodes in a closed loop, the connection counts it feeds back are nearly equal, so its weights barely move. The thesis's gain may come from load differences between its nodes that this model, with identical nodes, does not have.")
		case g < 0:
			_, dw := meanUtil(wrr)
			_, dd := meanUtil(dflb)
			balance := fmt.Sprintf("although its requests per node are about as balanced over the whole run (coefficient of variation %.3f vs %.3f)", dflb.Imbalance, wrr.Imbalance)
			if shown(shown(dflb.Imbalance, 3)-shown(wrr.Imbalance, 3), 3) >= 0.05 {
				balance = fmt.Sprintf("and its requests per node are less balanced (coefficient of variation %.3f vs %.3f)", dflb.Imbalance, wrr.Imbalance)
			}
			s = append(s, fmt.Sprintf("DFLB is below WRR %s; the mean disk utilisation is %.0f%% against WRR's %.0f%%: while its weights move, some nodes hold more of the admitted requests than they can serve and others idle. With identical nodes there is no capacity difference for the feedback to find.",
				balance, 100*dd, 100*dw))
		}
	}
	return strings.Join(s, " ")
}

// replicateRows says how results.csv counts its rows: "" for single
// runs, ", replicate" for replicates.
func replicateRows(o ReproduceOptions) string {
	if o.Replicates > 1 {
		return " × replicate"
	}
	return ""
}

// sameEvery qualifies "the two runs are identical" for replicates.
func sameEvery(st *study) string {
	if k := st.replicates(); k > 1 {
		return fmt.Sprintf(", in each of the %d replicates", k)
	}
	return ""
}

// meanUtil returns the mean CPU and disk utilisation over the nodes.
func meanUtil(r *sim.Result) (cpu, disk float64) {
	for _, n := range r.Nodes {
		cpu += n.CPUUtil
		disk += n.DiskUtil
	}
	if len(r.Nodes) > 0 {
		cpu /= float64(len(r.Nodes))
		disk /= float64(len(r.Nodes))
	}
	return cpu, disk
}

// thousands formats n with thousands separators ("1,000,000").
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && r != '-' && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
