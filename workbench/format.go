package workbench

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
)

// SimProgress is sim's progress on w (standard error): on a terminal the
// line rewritten after every cell of a run of several; elsewhere a plain
// line every 10 s, for runs that last more than 10 s only.
func SimProgress(w io.Writer, cells int) *Progress {
	if IsTerminal(w) {
		if cells < 2 {
			return nil
		}
		return &Progress{W: w, TTY: true, Label: "sim"}
	}
	return &Progress{W: w, Label: "sim", Every: 10 * time.Second, Quiet: 10 * time.Second}
}

// OutputFormat picks the format from --format, the output file's extension
// or whether standard output is a terminal.
func OutputFormat(format, out string, stdout io.Writer) (string, error) {
	switch format {
	case "table", "csv", "json":
		return format, nil
	case "":
	default:
		return "", fmt.Errorf("--format: unknown format %q (want table, csv or json)", format)
	}
	if out != "" && out != "-" {
		if strings.EqualFold(filepath.Ext(out), ".json") {
			return "json", nil
		}
		return "csv", nil
	}
	if IsTerminal(stdout) {
		return "table", nil
	}
	return "csv", nil
}

// WriteResultsTo writes results to w as format: "csv" (WriteCSV), "json"
// (WriteJSON) or "table" (WriteTable; cells may be nil), replicates
// summarised at the default confidence level (95%).
func WriteResultsTo(w io.Writer, format string, cells []Cell, rs []*sim.Result) error {
	switch format {
	case "csv":
		return WriteCSV(w, rs, stats.DefaultLevel)
	case "json":
		return WriteJSON(w, rs, stats.DefaultLevel)
	}
	return WriteTable(w, cells, rs)
}

// WriteResultsOutput writes results as format (see WriteResultsTo) to out:
// stdout for "" or "-", otherwise the file, atomically (internal/atomicfile:
// a failed write leaves the previous file as it was).
func WriteResultsOutput(stdout io.Writer, out, format string, cells []Cell, rs []*sim.Result) error {
	var buf bytes.Buffer
	if err := WriteResultsTo(&buf, format, cells, rs); err != nil {
		return err
	}
	if out == "" || out == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return atomicfile.WriteFile(out, buf.Bytes())
}

// WriteTable prints results for people: one line per run, with one
// column per swept parameter (named by its experiment key). Replicates
// of a cell are one line: the mean of each metric, the 95% confidence
// interval's half-width of the throughput and hit ratio (± columns) and
// the number of runs. cells is unused (the results carry their
// configurations) and may be nil.
func WriteTable(w io.Writer, cells []Cell, rs []*sim.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	traces := map[string]bool{}
	failed := false
	for _, r := range rs {
		traces[r.Trace] = true
		failed = failed || r.Failed > 0 || len(r.Config.Failures) > 0
	}
	swept := sweptParams(rs, []string{"CacheBytes"})
	t, sums := resultTable("", rs, stats.DefaultLevel)
	replicated := sums != nil
	head := []string{"alg", "nodes", "req/s"}
	if replicated {
		head = append(head, "±95%")
	}
	head = append(head, "MB/s", "hit %")
	if replicated {
		head = append(head, "±95%")
	}
	head = append(head, "p50 ms", "p95 ms", "mean ms", "imbalance", "cache/node")
	if failed {
		head = append(head, "failed")
	}
	geo := slices.ContainsFunc(rs, func(r *sim.Result) bool { return len(r.Clusters) > 0 })
	if geo {
		head = append(head, "overflow %")
	}
	for _, p := range swept {
		head = append(head, SweptColumn(p))
	}
	if replicated {
		head = append(head, "runs")
	}
	if len(traces) > 1 {
		head = append(head, "trace")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	f := func(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }
	rows := [][]int{}
	if replicated {
		rows = t.cells()
	} else {
		for i := range rs {
			rows = append(rows, []int{i})
		}
	}
	for _, cell := range rows {
		r := rs[cell[0]]
		mean := func(m string, scale float64, prec int) string {
			if !replicated {
				v, _ := t.Float(cell[0], m)
				return f(v*scale, prec)
			}
			s, _ := sums[cell[0]].Get(m)
			return f(s.Mean*scale, prec)
		}
		half := func(m string, scale float64, prec int) string {
			s, _ := sums[cell[0]].Get(m)
			return f((s.Hi-s.Lo)/2*scale, prec)
		}
		row := []string{DisplayName(r.Config.Algorithm), strconv.Itoa(r.Config.Nodes), mean("throughput_rps", 1, 1)}
		if replicated {
			row = append(row, half("throughput_rps", 1, 1))
		}
		row = append(row, mean("throughput_mbps", 1, 2), mean("hit_ratio", 100, 1))
		if replicated {
			row = append(row, half("hit_ratio", 100, 1))
		}
		row = append(row, mean("p50_ms", 1, 1), mean("p95_ms", 1, 1), mean("mean_ms", 1, 1),
			mean("imbalance_cov", 1, 3), FormatBytes(r.Config.CacheBytes))
		if failed {
			row = append(row, mean("failed", 1, 0))
		}
		if geo {
			row = append(row, mean("overflow_share", 100, 1))
		}
		for _, p := range swept {
			row = append(row, ParamValue(r.Config, p))
		}
		if replicated {
			row = append(row, strconv.Itoa(len(cell)))
		}
		if len(traces) > 1 {
			row = append(row, r.Trace)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if geo {
		return writeClusterTable(w, cells, rs)
	}
	return nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}
