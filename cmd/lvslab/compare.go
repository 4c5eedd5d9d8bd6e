package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newCompareCmd) }

func newCompareCmd() *cobra.Command {
	var (
		o      workbench.CompareOptions
		format string
	)
	cmd := &cobra.Command{
		Use:   "compare RESULTS",
		Short: "Say for each pair of schedulers whether their difference is significant",
		Long: `Compare schedulers in a results file of "lvslab sim" or "lvslab sweep" (CSV or
JSON). For every configuration (rows that agree on everything but the
scheduler, the replicate and the measured values: the same trace, node count
and parameters) and every pair of its schedulers A and B, it prints the mean of
--metric for each, the difference A - B relative to B's mean with its
confidence interval at --level, the p-value, and a verdict: "A > B" or "A < B"
when the interval excludes 0, "within noise" when it does not ("identical" when
every replicate gave both the same value).

The runs of a configuration are its replicates (--replicates N in lvslab sim
and sweep). When A and B ran the same replicates the test is a paired t-test
on the per-replicate differences: replicate k of every scheduler runs on the
same perturbation streams (same-instant event order, service-time jitter and
start offset seeded by the seed and k), so what they share cancels. Otherwise
it is Welch's t-test. With one run of a scheduler the difference is printed
but not tested.

Metrics: ` + strings.Join(workbench.SummaryMetrics, ", ") + `.`,
		Example: `  lvslab sim --alg wrr,lblc,lblcr --nodes 7,16 --replicates 10 -o r.csv && lvslab compare r.csv
  lvslab compare results/synth-thesis/results.csv --baseline wrr --level 0.99
  lvslab compare r.json --metric hit_ratio --format csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Baseline = strings.ToLower(strings.TrimSpace(o.Baseline))
			t, err := workbench.ReadTableFile(args[0])
			if err != nil {
				return err
			}
			cs, err := workbench.CompareSchedulers(t, o)
			if err != nil {
				return err
			}
			return workbench.WriteComparisons(cmd.OutOrStdout(), format, cs)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Metric, "metric", "throughput_rps", "the metric compared (a column of the results CSV)")
	fs.Float64Var(&o.Level, "level", stats.DefaultLevel, "confidence level of the intervals and tests, strictly between 0 and 1")
	fs.StringVar(&o.Baseline, "baseline", "", "compare every scheduler with this one only (default: every pair)")
	fs.StringVar(&format, "format", "table", "output format: table or csv")
	return cmd
}
