package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newPlotCmd) }

func newPlotCmd() *cobra.Command {
	var (
		dir      string
		algs     []string
		prefix   string
		title    string
		cdfNodes []string
		formats  []string
		kind     string
	)
	cmd := &cobra.Command{
		Use:   "plot RESULTS",
		Short: "Draw throughput against nodes or over time, failures, per-node load and response-time CDFs",
		Long: `Draw figures from a results file of "lvslab sim", "lvslab sweep" or "lvslab
load" (CSV or JSON), as PNG and SVG. Against cluster size (--kind size):

  throughput   throughput (requests/s) against the number of back-end nodes,
               one line per scheduler (the thesis's Fig. 4.2 and Fig. 6.5)
  hit-ratio    the cluster cache hit ratio against nodes

Over time (--kind series), from the time series of the JSON results, at each
node count (files suffixed -nN when there are several):

  throughput-time  completions per second, one line per scheduler
  hit-ratio-time   the cluster cache hit ratio in each interval
  failed-time      requests lost per second (when a run lost any or has
                   failures); failures and recoveries are marked on every
                   time chart
  nodes-time-ALG   each node's completions per second under scheduler ALG
                   (simulations of 2 nodes or more)

Each point is a rate over one interval of the series (the experiment's
"interval"; consecutive ones merged to keep at most 1000 points). Lines have
their own colour, dashes and markers, the markers of different lines on
different points; a line that coincides with an earlier one (the same times,
values within 0.5% of the larger line's peak everywhere) is named so in the
legend: "LBLC (= WLC)".

By default (--kind auto) a configuration run at a single node count, or with
node failures, is drawn over time, and one run at several node counts against
cluster size (both for failures at several node counts); --kind size draws a
single node count as a column of points. Always:

  cdf-nN       the response-time CDF at N nodes (needs the JSON results: given
               a CSV, the JSON of the same name beside it is used if present)

From JSON results, runs that differ in anything but the scheduler and the node
count (the trace or any parameter of the configuration: cache, failures,
health_check_delay, costs, scheduler options...) are drawn in separate
figures, the file names and titles naming the parameters that differ
("throughput_health_check_delay=1s.png"; cache sizes and other CSV columns by
their value alone: "throughput_8MiB.png"). A CSV records the trace, preset,
front end, admission, cache size and policy, seed, and one column per swept
parameter (named by its experiment key): rows that agree on all of them are
drawn together, and two such rows of one scheduler and node count are an error
(plot the JSON instead), unless they are replicates of one cell.

Replicates (--replicates in sim and sweep) are drawn as their mean with a 95%
confidence interval as an error bar; the CDFs are those of the first replicate.

When a configuration was run at a single node count, throughput-bars compares
the schedulers' throughput across the configurations as a bar chart (not
with --kind series).

A file that is not lvslab results (JSON without the keys every result has,
a CSV without the alg, nodes and throughput_rps columns) is an error.`,
		Example: `  lvslab sim --alg wrr,wlc,lblc,lblcr --nodes 1-16 -o results.json && lvslab plot results.json -o figs
  lvslab sim -f examples/failover.yaml -o failover.json && lvslab plot failover.json -o failover-figs
  lvslab plot sweep-out/results.csv -o figs --alg wrr,lblc --cdf-nodes 4,16`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := workbench.PlotOptions{Prefix: prefix, Title: title, Formats: formats}
			switch kind {
			case "auto":
			case workbench.KindSize, workbench.KindSeries:
				o.Kind = kind
			default:
				return fmt.Errorf("--kind: unknown kind %q (want %s)", kind, strings.Join(workbench.Kinds, ", "))
			}
			for _, a := range algs {
				o.Algorithms = append(o.Algorithms, strings.ToLower(strings.TrimSpace(a)))
			}
			if len(cdfNodes) > 0 {
				var err error
				if o.CDFNodes, err = experiment.ParseNodes(cdfNodes); err != nil {
					return fmt.Errorf("--cdf-nodes: %w", err)
				}
			}
			in := workbench.InputFiles("", args[0])
			if !strings.EqualFold(filepath.Ext(args[0]), ".json") {
				in = append(in, workbench.InputFiles("", workbench.SideJSON(args[0]))...) // read for the CDFs, if present
			}
			o.Check = func(path string) error { return workbench.RefuseOverwrite("plot", "-o "+dir+": figure", path, in) }
			files, err := workbench.PlotResultsFile(args[0], dir, o)
			if errors.Is(err, workbench.ErrNoCDF) {
				return fmt.Errorf("--cdf-nodes: %w", err)
			}
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&dir, "output", "o", "figures", "output directory")
	fs.StringSliceVar(&algs, "alg", nil, "schedulers to draw, in legend order (default: all in the file)")
	fs.StringVar(&prefix, "prefix", "", "file name prefix")
	fs.StringVar(&title, "title", "", "title prefix of every figure")
	fs.StringSliceVar(&cdfNodes, "cdf-nodes", nil, "node counts to draw response-time CDFs for (default 7 if present, else the largest); a count no result has a CDF at is an error")
	fs.StringSliceVar(&formats, "image-format", []string{"png", "svg"}, "image formats: png, svg")
	fs.StringVar(&kind, "kind", "auto", "figures: size (against cluster size), series (over time) or auto (series for a configuration run at one node count or with failures, size otherwise)")
	return cmd
}
