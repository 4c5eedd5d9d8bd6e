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

// WriteResultsTo writes results to w as format: "csv" (sim.WriteCSV),
// "json" (sim.WriteJSON) or "table" (WriteTable; cells may be nil).
func WriteResultsTo(w io.Writer, format string, cells []Cell, rs []*sim.Result) error {
	switch format {
	case "csv":
		return sim.WriteCSV(w, rs)
	case "json":
		return sim.WriteJSON(w, rs)
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

// WriteTable prints results for people: one line per run, with the
// sweep labels of cells (if not nil) beside them.
func WriteTable(w io.Writer, cells []Cell, rs []*sim.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	traces := map[string]bool{}
	labels, failed := false, false
	for _, c := range cells {
		traces[c.Trace] = true
		labels = labels || len(c.Labels) > 0
	}
	for _, r := range rs {
		failed = failed || r.Failed > 0 || len(r.Config.Failures) > 0
	}
	head := []string{"alg", "nodes", "req/s", "MB/s", "hit %", "p50 ms", "p95 ms", "mean ms", "imbalance", "cache/node"}
	if failed {
		head = append(head, "failed")
	}
	geo := slices.ContainsFunc(rs, func(r *sim.Result) bool { return len(r.Clusters) > 0 })
	if geo {
		head = append(head, "overflow %")
	}
	if labels {
		head = append(head, "parameters")
	}
	if len(traces) > 1 {
		head = append(head, "trace")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, r := range rs {
		row := []string{
			DisplayName(r.Config.Algorithm),
			strconv.Itoa(r.Config.Nodes),
			strconv.FormatFloat(r.ThroughputRPS, 'f', 1, 64),
			strconv.FormatFloat(r.ThroughputMBps, 'f', 2, 64),
			strconv.FormatFloat(100*r.HitRatio, 'f', 1, 64),
			ms(r.P50), ms(r.P95), ms(r.MeanResponse),
			strconv.FormatFloat(r.Imbalance, 'f', 3, 64),
			FormatBytes(r.Config.CacheBytes),
		}
		if failed {
			row = append(row, strconv.Itoa(r.Failed))
		}
		if geo {
			row = append(row, strconv.FormatFloat(100*r.OverflowShare, 'f', 1, 64))
		}
		if labels {
			row = append(row, strings.Join(cells[i].Labels, " "))
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
