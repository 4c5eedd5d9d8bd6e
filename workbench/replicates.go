package workbench

// Replicates and swept parameters in results: the columns a results table
// gains beyond sim.CSVHeader, and the summaries (mean, standard deviation,
// confidence interval) of a cell's replicates.

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
)

// ReplicateColumn is the CSV column of a run's replicate index
// (sim.Config.Replicate), present when some run is a replicate.
const ReplicateColumn = "replicate"

// LevelColumn is the CSV column of the confidence level of the summary
// columns.
const LevelColumn = "ci_level"

// SummaryMetrics are the result columns summarised over a cell's
// replicates. Each gains four columns: METRIC_mean, METRIC_sd (sample
// standard deviation), METRIC_ci_lo and METRIC_ci_hi (Student-t
// confidence interval of the mean at ci_level).
var SummaryMetrics = []string{
	"throughput_rps", "throughput_mbps", "hit_ratio", "p50_ms", "p95_ms", "p99_ms", "mean_ms",
	"imbalance_cov", "cpu_util_mean", "disk_util_mean", "makespan_s", "failed",
}

// summarySuffixes are the suffixes of a metric's summary columns.
var summarySuffixes = []string{"_mean", "_sd", "_ci_lo", "_ci_hi"}

// fixedParamFields are the configuration fields that have a column of
// sim.CSVHeader already.
var fixedParamFields = []string{"Preset", "CacheBytes", "CachePolicy", "FrontEnd", "Admission", "Seed"}

// SweptParams returns the experiment parameters whose values differ
// between rs (other than those sim.CSVHeader has a column for), in the
// order sweep axes nest: the parameters a results table gains a column
// for, named by its experiment file key. The scheduler's seed
// (options.seed) counts only when the runs' seed does not differ, since
// it is derived from it.
func SweptParams(rs []*sim.Result) []experiment.Param {
	return sweptParams(rs, fixedParamFields)
}

// sweptParams is SweptParams skipping the parameters of the fields skip.
func sweptParams(rs []*sim.Result, skip []string) []experiment.Param {
	if len(rs) < 2 {
		return nil
	}
	seeds := false
	for _, r := range rs[1:] {
		seeds = seeds || r.Config.Seed != rs[0].Config.Seed
	}
	var out []experiment.Param
	for _, p := range experiment.Params() {
		if slices.Contains(skip, p.Field) || p.Field == "Options.Seed" && seeds {
			continue
		}
		first := ParamValue(rs[0].Config, p)
		for _, r := range rs[1:] {
			if ParamValue(r.Config, p) != first {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// SweptColumn is the column of swept parameter p in results tables: its
// experiment file key, or, where that key names a column sim.CSVHeader
// has already ("nodes", the key of node groups as of the node count), its
// name in the results' configuration ("node_groups"), so that no two
// columns share a name.
func SweptColumn(p experiment.Param) string {
	k := p.FileKey()
	if !slices.Contains(sim.CSVHeader, k) {
		return k
	}
	t := reflect.TypeFor[sim.Config]()
	var names []string
	for name := range strings.SplitSeq(p.Field, ".") {
		f, ok := t.FieldByName(name)
		if !ok {
			return k
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" || tag == "-" {
			tag = f.Name
		}
		names = append(names, tag)
		t = f.Type
	}
	return strings.Join(names, ".")
}

// sweptColumnParam is the parameter whose swept column (SweptColumn) is c.
func sweptColumnParam(c string) (experiment.Param, bool) {
	if slices.Contains(sim.CSVHeader, c) {
		return experiment.Param{}, false
	}
	for _, p := range experiment.Params() {
		if SweptColumn(p) == c {
			return p, true
		}
	}
	return experiment.Param{}, false
}

// ParamValue is configuration c's value of parameter p, written as an
// experiment file or flag takes it ("2s", "0.02", "1@10s-25s"); structured
// values are compact JSON.
func ParamValue(c sim.Config, p experiment.Param) string {
	v := reflect.ValueOf(c)
	for name := range strings.SplitSeq(p.Field, ".") {
		v = v.FieldByName(name)
		if !v.IsValid() {
			return ""
		}
	}
	return leafParam(p.FileKey(), v).text
}

// resultTable builds the table of rs at confidence level: sim.CSVHeader,
// one column per swept parameter (SweptParams) and, if some run is a
// replicate, the replicate index, the summary columns of SummaryMetrics
// and ci_level. It returns the summary of each row's cell (nil without
// replicates).
func resultTable(name string, rs []*sim.Result, level float64) (*Table, []*CellSummary) {
	t := &Table{Name: name, Header: slices.Clone(sim.CSVHeader)}
	// Multi-cluster runs: the layout and per-cluster columns, which also
	// name the clusters, overflow and wan_delay parameters.
	geo := slices.ContainsFunc(rs, func(r *sim.Result) bool { return len(r.Config.Clusters) > 0 })
	if geo {
		t.Header = append(t.Header, sim.GeoCSVHeader...)
	}
	var swept []experiment.Param
	for _, p := range SweptParams(rs) {
		if !geo || !geoParam(p.FileKey()) {
			swept = append(swept, p)
		}
	}
	for _, p := range swept {
		t.Header = append(t.Header, SweptColumn(p))
	}
	replicated := slices.ContainsFunc(rs, func(r *sim.Result) bool { return r.Config.Replicate > 0 })
	if replicated {
		t.Header = append(t.Header, ReplicateColumn)
	}
	for _, r := range rs {
		row := r.CSVRow()
		if geo {
			row = append(row, r.GeoCSVRow()...)
		}
		for _, p := range swept {
			row = append(row, ParamValue(r.Config, p))
		}
		if replicated {
			row = append(row, strconv.Itoa(r.Config.Replicate))
		}
		t.Rows = append(t.Rows, row)
	}
	t.index()
	if !replicated {
		return t, nil
	}
	sums := t.summaries(level)
	for _, m := range SummaryMetrics {
		for _, s := range summarySuffixes {
			t.Header = append(t.Header, m+s)
		}
	}
	t.Header = append(t.Header, LevelColumn)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	for i, s := range sums {
		for _, m := range s.Metrics {
			t.Rows[i] = append(t.Rows[i], f(m.Mean), f(m.SD), f(m.Lo), f(m.Hi))
		}
		t.Rows[i] = append(t.Rows[i], strconv.FormatFloat(level, 'f', -1, 64))
	}
	t.index()
	return t, sums
}

// CellSummary summarises the replicates of one cell.
type CellSummary struct {
	Runs    int             `json:"runs"`  // replicates summarised
	Level   float64         `json:"level"` // confidence level of the intervals
	Metrics []MetricSummary `json:"metrics"`
}

// MetricSummary is one metric over a cell's replicates: the mean, the
// sample standard deviation and the Student-t confidence interval of the
// mean (df = runs - 1).
type MetricSummary struct {
	Metric string  `json:"metric"`
	Mean   float64 `json:"mean"`
	SD     float64 `json:"sd"`
	Lo     float64 `json:"ci_lo"`
	Hi     float64 `json:"ci_hi"`
}

// Get returns the summary of metric m.
func (s *CellSummary) Get(m string) (MetricSummary, bool) {
	for _, x := range s.Metrics {
		if x.Metric == m {
			return x, true
		}
	}
	return MetricSummary{}, false
}

// cellKey returns the key of row i's cell: the row without its replicate
// index, its metrics, its summary columns and its version. The config
// column is compared without its "replicate" key.
func (t *Table) cellKey(i int) string {
	var b strings.Builder
	for j, h := range t.Header {
		if j >= len(t.Rows[i]) || !t.identifies(h) {
			continue
		}
		v := t.Rows[i][j]
		if h == "config" {
			v = configWithout(v, ReplicateColumn)
		}
		b.WriteString(h + "=" + v + "\x00")
	}
	return b.String()
}

// identifies reports whether column h says which cell a row belongs to.
func (t *Table) identifies(h string) bool {
	switch h {
	case ReplicateColumn, LevelColumn, "version", "requests", "completed", "bypassed", "failed", "makespan_s":
		return false
	}
	if slices.Contains(SummaryMetrics, h) {
		return false
	}
	for _, m := range SummaryMetrics {
		for _, s := range summarySuffixes {
			if h == m+s {
				return false
			}
		}
	}
	return true
}

// cells groups the rows of t by cell (cellKey), in order of first row.
func (t *Table) cells() [][]int {
	var out [][]int
	index := map[string]int{}
	for i := range t.Rows {
		k := t.cellKey(i)
		c, ok := index[k]
		if !ok {
			c = len(out)
			index[k] = c
			out = append(out, nil)
		}
		out[c] = append(out[c], i)
	}
	return out
}

// summaries returns, for each row, the summary of its cell's rows at
// level, from the values the table shows. A value that does not parse
// counts as missing.
func (t *Table) summaries(level float64) []*CellSummary {
	out := make([]*CellSummary, len(t.Rows))
	for _, rows := range t.cells() {
		s := &CellSummary{Runs: len(rows), Level: level}
		for _, m := range SummaryMetrics {
			var xs []float64
			for _, i := range rows {
				if v, err := t.Float(i, m); err == nil {
					xs = append(xs, v)
				}
			}
			sum := stats.Summarize(xs, level)
			s.Metrics = append(s.Metrics, MetricSummary{Metric: m, Mean: sum.Mean, SD: sum.SD, Lo: sum.Lo, Hi: sum.Hi})
		}
		for _, i := range rows {
			out[i] = s
		}
	}
	return out
}

// WriteCSV writes rs as a results CSV: sim.CSVHeader's columns, then one
// column per swept parameter and, for replicates, the replicate index and
// the summary columns at confidence level (see resultTable). Results of
// one unswept, unreplicated run are exactly sim.WriteCSV's.
func WriteCSV(w io.Writer, rs []*sim.Result, level float64) error {
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("write csv: result %d is nil", i)
		}
	}
	t, _ := resultTable("", rs, level)
	return t.WriteCSV(w)
}

// WriteJSON writes rs as sim.WriteJSON does, each replicate with a
// "summary" of its cell at confidence level (CellSummary).
func WriteJSON(w io.Writer, rs []*sim.Result, level float64) error {
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("write json: result %d is nil", i)
		}
	}
	_, sums := resultTable("", rs, level)
	type withSummary struct {
		*sim.Result
		Summary *CellSummary `json:"summary,omitempty"`
	}
	out := make([]withSummary, len(rs))
	for i, r := range rs {
		out[i].Result = r
		if sums != nil {
			out[i].Summary = sums[i]
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// geoParam reports whether a parameter, named by its file key, has a
// column of sim.GeoCSVHeader already (clusters, overflow, wan_delay_ms).
func geoParam(key string) bool {
	switch key {
	case "clusters", "overflow", "wan_delay":
		return true
	}
	return false
}
