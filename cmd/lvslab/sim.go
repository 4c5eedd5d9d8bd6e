package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newSimCmd) }

func newSimCmd() *cobra.Command {
	var (
		ef      experimentFlags
		format  string
		out     string
		workers int
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate schedulers on a trace: one run per scheduler × node count",
		Long: `Simulate a cluster (thesis §4.3, §6.3.7; docs/reference-model.md) running each
scheduler on each node count, replaying a trace, and print one row per run.

The trace is read under the reference filters (GET, status 200, bytes > 0,
static requests). Without --trace, the trace embedded in the binary is used.
Parameters given several values (--cache 8MiB,32MiB) are swept. An experiment
file (-f) sets the same parameters as YAML keys (cache_policy for
--cache-policy, options.threshold for --threshold); flags given too replace
its values. Durations are Go durations (30s, 100ms, 20us).

Node failures: --failure 1@30s-90s takes node 1 (nodes count from 0) down at
30 s of simulated time and back up, empty, at 90 s; repeat the flag for more
failures in one run. The front end notices after --health-check-delay;
until then a request it sends to the dead node waits --connect-timeout
(default 3s) and fails. Requests lost to failures are counted in the
"failed" column. In a file:

  failures: [{node: 1, at: 30s, recover: 90s}]   # or ["1@30s-90s"]
  health_check_delay: 2s

and a list of such lists sweeps failure schedules ([[], [...]]).

Log lines that do not parse are dropped; their count and the first few
(file:line: reason) go to standard error. --strict (file key strict: true)
makes the first one an error instead.

Every other configuration field has a file key; a dotted key is nested
(costs.connect is connect: under costs:). A list of values sweeps;
options.classes, options.near and options.dflb.coefficients take a
structured value, and a list of those sweeps.

` + keysHelp() + `
` + valuesHelp() + `
Progress goes to standard error: on a terminal a line rewritten after each
run; otherwise, when the simulations last more than 10 s, a plain line
every 10 s and one at the end.
Output (--format): "table" (readable), "csv" (one row per run, stable
columns: sim.CSVHeader) or "json" (full results with time series and
response-time CDFs). The default is a table on a terminal and CSV otherwise,
or the -o file's extension (.csv, .json).`,
		Example: `  lvslab sim --alg wrr,lblc --nodes 1,4,7 --cache 8MiB
  lvslab sim --trace access.log --alg wrr,wlc,dflb --nodes 1-16 --format csv -o fig42.csv
  lvslab sim -f examples/fig6.5.yaml
  lvslab sim -f examples/failover.yaml --health-check-delay 0s,5s
  lvslab sim --alg lblc,wlc --nodes 4 --failure 1@20s-60s --failure 2@40s --format table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := ef.experiment(cmd)
			if err != nil {
				return err
			}
			if err := refuseOverwrite("sim", "-o", out, e.inputs()); err != nil {
				return err
			}
			f, err := outputFormat(format, out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			spec, err := e.spec()
			if err != nil {
				return err
			}
			cells, err := e.sweepCells(spec)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			run, want, err := checkRunMemory(cells, spec.Workloads, workers, e.mem, e.memBlame())
			if err != nil {
				return err
			}
			noteWorkers(errw, "sim", run, want, e.mem)
			opts := workbench.RunOptions{Workers: run}
			if p := simProgress(errw, len(cells)); p != nil {
				p.Start()
				opts.Progress = p.Update
			}
			o, err := workbench.Run(cells, spec.Workloads, opts)
			if err != nil {
				return e.blame(err)
			}
			var buf bytes.Buffer
			if err := writeResults(&buf, f, o.Cells, o.Results); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			return atomicfile.WriteFile(out, buf.Bytes())
		},
	}
	addExperimentFlags(cmd, &ef)
	cmd.Flags().StringVar(&format, "format", "", "output format: table, csv or json (default: table on a terminal, else csv)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the results to this file instead of standard output")
	cmd.Flags().IntVar(&workers, "workers", 0, "simulations run at once (default: all cores)")
	return cmd
}

// simProgress is sim's progress on w (standard error): on a terminal the
// line rewritten after every cell of a run of several; elsewhere a plain
// line every 10 s, for runs that last more than 10 s only.
func simProgress(w io.Writer, cells int) *workbench.Progress {
	if workbench.IsTerminal(w) {
		if cells < 2 {
			return nil
		}
		return &workbench.Progress{W: w, TTY: true, Label: "sim"}
	}
	return &workbench.Progress{W: w, Label: "sim", Every: 10 * time.Second, Quiet: 10 * time.Second}
}

// outputFormat picks the format from --format, the output file's extension
// or whether standard output is a terminal.
func outputFormat(format, out string, stdout io.Writer) (string, error) {
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
	if workbench.IsTerminal(stdout) {
		return "table", nil
	}
	return "csv", nil
}

func writeResults(w io.Writer, format string, cells []workbench.Cell, rs []*sim.Result) error {
	switch format {
	case "csv":
		return sim.WriteCSV(w, rs)
	case "json":
		return sim.WriteJSON(w, rs)
	}
	return writeTable(w, cells, rs)
}

// writeTable prints results for people: one line per run.
func writeTable(w io.Writer, cells []workbench.Cell, rs []*sim.Result) error {
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
	if labels {
		head = append(head, "parameters")
	}
	if len(traces) > 1 {
		head = append(head, "trace")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for i, r := range rs {
		row := []string{
			workbench.DisplayName(r.Config.Algorithm),
			strconv.Itoa(r.Config.Nodes),
			strconv.FormatFloat(r.ThroughputRPS, 'f', 1, 64),
			strconv.FormatFloat(r.ThroughputMBps, 'f', 2, 64),
			strconv.FormatFloat(100*r.HitRatio, 'f', 1, 64),
			ms(r.P50), ms(r.P95), ms(r.MeanResponse),
			strconv.FormatFloat(r.Imbalance, 'f', 3, 64),
			workbench.FormatBytes(r.Config.CacheBytes),
		}
		if failed {
			row = append(row, strconv.Itoa(r.Failed))
		}
		if labels {
			row = append(row, strings.Join(cells[i].Labels, " "))
		}
		if len(traces) > 1 {
			row = append(row, r.Trace)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	return tw.Flush()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}
