package main

import (
	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
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

Several clusters (thesis §2.4.3): --clusters 3,1 runs two clusters of --nodes
nodes each, 75% and 25% of the clients homed on them (3:4,1 gives the first 4
nodes), in open admission; --overflow on lets an overloaded cluster (aggregate
load above --overflow-high 1.1) tunnel new connections to one that last
reported below --overflow-low 0.7, until that one reports above 0.7 or its own
load falls to --overflow-stop 1.0; loads are exchanged every
--overflow-exchange (2m) and a tunnelled request pays --wan-delay each way.
A table then lists each cluster below the runs. In a file:

  clusters: [{share: 3}, {share: 1, nodes: 4}]
  overflow: [off, on]

Log lines that do not parse are dropped; their count and the first few
(file:line: reason) go to standard error. --strict (file key strict: true)
makes the first one an error instead.

Every other configuration field has a file key; a dotted key is nested
(costs.connect is connect: under costs:). A list of values sweeps;
options.classes, options.near and options.dflb.coefficients take a
structured value, and a list of those sweeps.

` + experiment.KeysHelp() + `
` + experiment.ValuesHelp() + `
Progress goes to standard error: on a terminal a line rewritten after each
run; otherwise, when the simulations last more than 10 s, a plain line
every 10 s and one at the end.
Output (--format): "table" (readable), "csv" (one row per run, stable
columns: sim.CSVHeader, then one column per swept parameter named by its
file key) or "json" (full results with time series and response-time CDFs).
The default is a table on a terminal and CSV otherwise, or the -o file's
extension (.csv, .json).

Replicates: --replicates N runs every cell N times, each replicate with its
own seeded perturbations (same-instant events in a random order; --jitter
and --start-offset add service-time jitter and a random start into the
trace). The table shows each cell's means with 95% confidence intervals;
the CSV adds a replicate column and each metric's _mean, _sd, _ci_lo and
_ci_hi; the JSON a summary with each replicate. "lvslab compare" tests the
differences between schedulers.`,
		Example: `  lvslab sim --alg wrr,lblc --nodes 1,4,7 --cache 8MiB
  lvslab sim --trace access.log --alg wrr,wlc,dflb --nodes 1-16 --format csv -o fig42.csv
  lvslab sim -f examples/fig6.5.yaml
  lvslab sim -f examples/failover.yaml --health-check-delay 0s,5s
  lvslab sim -f examples/geo-overflow.yaml --format table
  lvslab sim --alg lblc,wlc --nodes 4 --failure 1@20s-60s --failure 2@40s --format table
  lvslab sim --alg wrr,lblc --nodes 7,16 --replicates 8 --format table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := ef.experiment(cmd)
			if err != nil {
				return err
			}
			if err := workbench.RefuseOverwrite("sim", "-o", out, e.Inputs()); err != nil {
				return err
			}
			f, err := workbench.OutputFormat(format, out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			errw, mem := cmd.ErrOrStderr(), memoryLimit(cmd)
			spec, cells, err := workbench.Prepare(e, workbench.PrepareOptions{Report: errw, Mem: mem})
			if err != nil {
				return err
			}
			run, want, err := workbench.CheckRunMemory(cells, spec.Workloads, workers, mem, workbench.ExperimentBlame(e))
			if err != nil {
				return err
			}
			workbench.NoteWorkers(errw, "sim", run, want, mem)
			opts := workbench.RunOptions{Workers: run}
			if p := workbench.SimProgress(errw, len(cells)); p != nil {
				p.Start()
				opts.Progress = p.Update
			}
			o, err := workbench.Run(cells, spec.Workloads, opts)
			if err != nil {
				return e.Blame(err)
			}
			return workbench.WriteResultsOutput(cmd.OutOrStdout(), out, f, o.Cells, o.Results)
		},
	}
	addExperimentFlags(cmd, &ef)
	cmd.Flags().StringVar(&format, "format", "", "output format: table, csv or json (default: table on a terminal, else csv)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the results to this file instead of standard output")
	cmd.Flags().IntVar(&workers, "workers", 0, "simulations run at once (default: all cores)")
	return cmd
}
