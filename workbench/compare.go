package workbench

// Comparing schedulers over replicates: "lvslab compare".

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lvslab/lvslab/internal/stats"
)

// CompareOptions configure CompareSchedulers.
type CompareOptions struct {
	// Metric is the column compared (default "throughput_rps").
	Metric string
	// Level is the confidence level (default stats.DefaultLevel, 0.95).
	Level float64
	// Baseline, if set, compares every other scheduler with this one
	// only; otherwise every pair is compared, in the order the schedulers
	// first appear.
	Baseline string
}

// Comparison is the difference A - B of one metric between two schedulers
// in one cell of a results table (the same trace, node count and
// configuration).
type Comparison struct {
	Cell   []string // the cell: nodes, then the trace and parameters that differ between cells ("key=value")
	Nodes  int
	A, B   string
	Metric string
	MeanA  float64
	MeanB  float64
	RunsA  int
	RunsB  int
	// Tested says whether the difference could be tested: at least two
	// runs of each scheduler. Diff is then the t-test of A - B: paired
	// when both schedulers ran the same replicates (replicate k of every
	// scheduler shares its perturbation streams: the same start offset,
	// and tie and jitter draws from the same seeds, so differences are
	// taken within a replicate and the noise they share cancels), Welch's
	// otherwise.
	Tested bool
	Diff   stats.Diff
}

// Relative is the difference relative to B's mean, and its interval (NaN
// when B's mean is 0).
func (c Comparison) Relative() (mean, lo, hi float64) {
	if c.MeanB == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	d := c.MeanA - c.MeanB
	if !c.Tested {
		return d / c.MeanB, math.NaN(), math.NaN()
	}
	return c.Diff.Mean / c.MeanB, c.Diff.Lo / c.MeanB, c.Diff.Hi / c.MeanB
}

// Verdict says, for people, what the comparison shows: "A > B", "A < B"
// (significant at the level), "within noise", "identical" (the same value
// in every replicate) or "untested" (fewer than two runs of a scheduler).
func (c Comparison) Verdict() string {
	switch {
	case !c.Tested:
		return "untested (one run)"
	case c.Diff.Lo == 0 && c.Diff.Hi == 0:
		return "identical"
	case !c.Diff.Significant():
		return "within noise"
	case c.Diff.Mean > 0:
		return DisplayName(c.A) + " > " + DisplayName(c.B)
	default:
		return DisplayName(c.A) + " < " + DisplayName(c.B)
	}
}

// test sets c's means, run counts and t-test from A's values a (of the
// replicates repsA) and B's values b (of repsB) at level: paired when both
// ran the same replicates, Welch's otherwise, untested with fewer than two
// runs of either.
func (c *Comparison) test(repsA, repsB []string, a, b []float64, level float64) {
	c.MeanA, c.MeanB = stats.Summarize(a, level).Mean, stats.Summarize(b, level).Mean
	c.RunsA, c.RunsB = len(a), len(b)
	var err error
	switch {
	case len(a) < 2 || len(b) < 2:
		return
	case slices.Equal(repsA, repsB):
		c.Diff, err = stats.PairedTest(a, b, level)
	default:
		c.Diff, err = stats.WelchTest(a, b, level)
	}
	c.Tested = err == nil
}

// CompareSchedulers compares schedulers cell by cell in t: for each cell (rows that
// agree on everything but the scheduler, the replicate index and the
// measured values) and each pair of its schedulers, the difference of
// o.Metric's means with its confidence interval and whether it is
// significant at o.Level.
func CompareSchedulers(t *Table, o CompareOptions) ([]Comparison, error) {
	if o.Metric == "" {
		o.Metric = "throughput_rps"
	}
	if o.Level == 0 {
		o.Level = stats.DefaultLevel
	}
	if err := stats.CheckLevel(o.Level); err != nil {
		return nil, fmt.Errorf("--level: %w", err)
	}
	if !t.Has(o.Metric) || !slices.Contains(SummaryMetrics, o.Metric) {
		return nil, fmt.Errorf("--metric: %s has no metric %q (metrics: %s)", t.Name, o.Metric, strings.Join(SummaryMetrics, ", "))
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	type sample struct {
		reps []string
		vals []float64
	}
	type cell struct {
		key     string
		first   int
		algs    []string
		samples map[string]*sample
	}
	var cells []*cell
	index := map[string]*cell{}
	for i := range t.Rows {
		k := t.cellKeyWithout(i, "alg")
		c, ok := index[k]
		if !ok {
			c = &cell{key: k, first: i, samples: map[string]*sample{}}
			index[k] = c
			cells = append(cells, c)
		}
		alg := t.Get(i, "alg")
		v, err := t.Float(i, o.Metric)
		if err != nil {
			return nil, err
		}
		s := c.samples[alg]
		if s == nil {
			s = &sample{}
			c.samples[alg] = s
			c.algs = append(c.algs, alg)
		}
		rep := t.Get(i, ReplicateColumn)
		if len(s.reps) > 0 && (rep == "" || rep == "0" || slices.Contains(s.reps, rep)) {
			return nil, fmt.Errorf("%s: line %d: %s at %s nodes a second time in one configuration, not as another replicate (one run recorded twice, or a parameter the CSV has no column for; compare the JSON results instead)",
				t.Name, i+2, alg, t.Get(i, "nodes"))
		}
		s.reps, s.vals = append(s.reps, rep), append(s.vals, v)
	}
	if o.Baseline != "" && !slices.ContainsFunc(cells, func(c *cell) bool { return c.samples[o.Baseline] != nil }) {
		return nil, fmt.Errorf("--baseline: %s has no runs of %s", t.Name, o.Baseline)
	}
	// The columns that tell cells apart name them.
	cols := t.keyColumns()
	differs := make([]bool, len(cols))
	for _, c := range cells[1:] {
		for j, col := range cols {
			differs[j] = differs[j] || t.Get(c.first, col) != t.Get(cells[0].first, col)
		}
	}
	var out []Comparison
	for _, c := range cells {
		n, _ := strconv.Atoi(t.Get(c.first, "nodes"))
		name := []string{"n=" + strconv.Itoa(n)}
		for j, col := range cols {
			if differs[j] {
				name = append(name, col+"="+columnValue(col, t.Get(c.first, col)))
			}
		}
		var pairs [][2]string
		for x, a := range c.algs {
			for _, b := range c.algs[x+1:] {
				switch {
				case o.Baseline == "":
					pairs = append(pairs, [2]string{a, b})
				case b == o.Baseline:
					pairs = append(pairs, [2]string{a, b})
				case a == o.Baseline:
					pairs = append(pairs, [2]string{b, a})
				}
			}
		}
		for _, p := range pairs {
			a, b := c.samples[p[0]], c.samples[p[1]]
			cmp := Comparison{Cell: name, Nodes: n, A: p[0], B: p[1], Metric: o.Metric}
			cmp.test(a.reps, b.reps, a.vals, b.vals, o.Level)
			out = append(out, cmp)
		}
	}
	return out, nil
}

// cellKeyWithout is cellKey without the columns drop (and without their
// keys in the config column).
func (t *Table) cellKeyWithout(i int, drop ...string) string {
	var b strings.Builder
	for j, h := range t.Header {
		if j >= len(t.Rows[i]) || !t.identifies(h) || slices.Contains(drop, h) {
			continue
		}
		v := t.Rows[i][j]
		if h == "config" {
			v = configWithout(v, append(drop, ReplicateColumn)...)
		}
		b.WriteString(h + "=" + v + "\x00")
	}
	return b.String()
}

// configWithout returns a config column's JSON without keys (as compact
// JSON with sorted keys), or as it is if it does not parse.
func configWithout(config string, keys ...string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(config), &m) != nil {
		return config
	}
	for _, k := range keys {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return config
	}
	return string(b)
}

// ReadTableFile reads a results CSV, or results JSON as the table of its
// results (TableFromResults).
func ReadTableFile(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".json") {
		rs, err := ReadResults(path, f)
		if err != nil {
			return nil, err
		}
		return TableFromResults(path, rs), nil
	}
	return ReadTable(path, f)
}

// compareHeader is the CSV header of WriteComparisons.
var compareHeader = []string{"cell", "nodes", "a", "b", "metric", "mean_a", "mean_b", "runs_a", "runs_b",
	"diff", "diff_ci_lo", "diff_ci_hi", "rel", "rel_ci_lo", "rel_ci_hi", "p", "test", "level", "significant", "verdict"}

// WriteComparisons writes cs as "table" (for people) or "csv".
func WriteComparisons(w io.Writer, format string, cs []Comparison) error {
	f := func(x float64, prec int) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', prec, 64)
	}
	pct := func(x float64) string {
		if math.IsNaN(x) {
			return "n/a"
		}
		return fmt.Sprintf("%+.1f%%", 100*x)
	}
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(compareHeader)
		for _, c := range cs {
			rel, rlo, rhi := c.Relative()
			row := []string{strings.Join(c.Cell, " "), strconv.Itoa(c.Nodes), c.A, c.B, c.Metric, f(c.MeanA, 6), f(c.MeanB, 6),
				strconv.Itoa(c.RunsA), strconv.Itoa(c.RunsB)}
			if c.Tested {
				row = append(row, f(c.Diff.Mean, 6), f(c.Diff.Lo, 6), f(c.Diff.Hi, 6), f(rel, 6), f(rlo, 6), f(rhi, 6),
					f(c.Diff.P, 6), string(c.Diff.Test), f(c.Diff.Level, -1), strconv.FormatBool(c.Diff.Significant()))
			} else {
				row = append(row, f(c.MeanA-c.MeanB, 6), "", "", f(rel, 6), "", "", "", "", "", "")
			}
			cw.Write(append(row, c.Verdict()))
		}
		cw.Flush()
		return cw.Error()
	case "table", "":
	default:
		return fmt.Errorf("--format: unknown format %q (want table or csv)", format)
	}
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, "nothing to compare: every configuration has one scheduler")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	level := ""
	for _, c := range cs {
		if c.Tested {
			level = strconv.FormatFloat(100*c.Diff.Level, 'f', -1, 64) + "% "
			break
		}
	}
	fmt.Fprintf(tw, "cell\tA\tB\t%s A\t%s B\tA - B\t%sinterval\tp\ttest\truns\tverdict\n", cs[0].Metric, cs[0].Metric, level)
	for _, c := range cs {
		rel, rlo, rhi := c.Relative()
		interval, p, test := "", "", ""
		if c.Tested {
			interval = fmt.Sprintf("[%s, %s]", pct(rlo), pct(rhi))
			p, test = fmt.Sprintf("%.3g", c.Diff.P), string(c.Diff.Test)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", strings.Join(c.Cell, " "), DisplayName(c.A), DisplayName(c.B),
			f(c.MeanA, 3), f(c.MeanB, 3), pct(rel), interval, p, test, c.RunsA, c.RunsB, c.Verdict())
	}
	return tw.Flush()
}
