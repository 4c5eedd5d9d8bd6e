package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newReproduceCmd) }

func newReproduceCmd() *cobra.Command {
	var (
		o      workbench.ReproduceOptions
		nodes  []string
		noScal bool
	)
	cmd := &cobra.Command{
		Use:   "reproduce",
		Short: "Regenerate results/: the thesis's Fig. 4.2 and Fig. 6.5 with CSV, JSON, plots and a README",
		Long: `Regenerate the reference results: the thesis's Fig. 4.2 (WRR, WLC, DFLB) and
Fig. 6.5 (WRR, WLC, LBLC, LBLC/R), throughput against n = 1..16 nodes under the
thesis preset (docs/reference-model.md), on

  default         the trace embedded in the binary, at the preset's 32 MiB cache
                  per node and at a cache scaled so that working set / cache is
                  the thesis's (1,629 MB / 32 MiB)
  synth:thesis    the synthetic thesis-like workload (traces.SynthPreset
                  "thesis": 37,804 targets, 1,629 MiB, 1,000,000 requests)

For every workload it writes, under the output directory, a folder with the
exact experiment (experiment.yaml, rerunnable with "lvslab sim -f"), the
results (results.csv, results.json) and the figures (PNG and SVG), and a
README.md that compares each figure with the thesis's published numbers.

It also runs the DFLB-regimes study (examples/dflb-regimes.yaml, on
--regimes-trace, default synth:small:150000 with its dynamic requests kept):
WRR, WLC and DFLB on identical vs heterogeneous nodes, given vs capacity
weights, a node slowed mid-run or not, dynamic requests costing 1x vs 10x,
DFLB at monitor intervals 1s/5s and A 1/5. Its folder dflb-regimes/ has the
experiment, results and figures of DFLB's gain over WRR and WLC, and the
README states, per regime, each gain with its 95% interval and a reading
derived from them (--regimes-trace none skips the study).

Every point is the mean of --replicates runs (default 3) whose same-instant
events run in a seeded random order (sim.Config.Replicate); the README gives
every comparison with its 95% confidence interval (a paired t-test over the
replicates) and says when a difference is within noise, and the figures draw
95% error bars. --replicates 1 runs each point once, unperturbed.
Everything is deterministic: two runs write identical files.`,
		Example: `  lvslab reproduce
  lvslab reproduce -o /tmp/results --trace default --nodes 1-4 --regimes-trace none`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Nodes, err = experiment.ParseNodes(nodes); err != nil {
				return fmt.Errorf("--nodes: %w", err)
			}
			if o.Replicates < 1 || o.Replicates > sim.MaxReplicates {
				return fmt.Errorf("--replicates: %d: must be in 1..%d", o.Replicates, sim.MaxReplicates)
			}
			if strings.EqualFold(o.Regimes, "none") {
				o.Regimes = ""
			}
			o.Scaled = !noScal
			o.Mem = memoryLimit(cmd)
			o.Log = cmd.ErrOrStderr()
			o.TTY = workbench.IsTerminal(o.Log)
			return workbench.Reproduce(cmd.OutOrStdout(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Out, "output", "o", "results", "output directory")
	fs.StringSliceVar(&o.Traces, "trace", workbench.ReproduceTraces, "workloads (trace specs as in lvslab sim)")
	fs.StringSliceVar(&nodes, "nodes", []string{"1-" + strconv.Itoa(workbench.ThesisMaxNodes)}, "node counts")
	fs.IntVar(&o.Workers, "workers", 0, "simulations run at once (default: all cores)")
	fs.BoolVar(&noScal, "no-scaled-cache", false, "skip the runs at a cache scaled to the thesis's working-set ratio")
	fs.Uint64Var(&o.Seed, "seed", workbench.ReproduceSeed, "random seed")
	fs.IntVar(&o.Replicates, "replicates", workbench.ReproduceReplicates, "runs of every point, same-instant events in a seeded random order (1: one unperturbed run)")
	fs.StringVar(&o.Regimes, "regimes-trace", workbench.RegimesTrace, `workload of the DFLB-regimes study (a trace spec; "none": skip the study)`)
	fs.StringSliceVar(&o.Formats, "image-format", []string{"png", "svg"}, "image formats of the figures: png, svg")
	return cmd
}
