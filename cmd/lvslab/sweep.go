package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newSweepCmd) }

func newSweepCmd() *cobra.Command {
	var (
		ef            experimentFlags
		dir           string
		workers       int
		shard         string
		shards        int
		progressEvery time.Duration
		progressCells int
		force         bool
	)
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run schedulers × node counts × traces × parameters on all cores, resumably",
		Long: `Run a sweep: every combination of trace, swept parameter values, scheduler and
node count (the same flags and experiment files as "lvslab sim"; see
"lvslab sim --help" for the file keys), on all cores.

Results go to the output directory: manifest.json (the cells), cells/KEY.json
(one file per finished cell, KEY a hash of the lvslab version, the trace's
content and the resolved configuration) and, once every cell is there,
results.csv and results.json (all cells in sweep order). Rerunning skips the
finished cells. Output bytes do not depend on the number of workers or shards.

Large sweeps split into shards: --shard i/n runs the cells whose index mod n is
i. Under a Slurm array job the shard comes from SLURM_ARRAY_TASK_ID (minus
SLURM_ARRAY_TASK_MIN) and SLURM_ARRAY_TASK_COUNT; under a Kubernetes Indexed
Job from JOB_COMPLETION_INDEX with --shards n. Shards may share one output
directory or write their own; "lvslab sweep merge" joins them (see
examples/slurm-array.sh and examples/k8s-indexed-job.yaml).

An output directory that holds another sweep (a manifest of other cells: another
experiment, or the same one changed) is refused, naming that sweep, unless
--force: then this sweep's manifest replaces the other's and the other's
results.csv and results.json are removed (its cell files stay, unused). The
same sweep (another shard, or a rerun) is always resumed.

Progress goes to standard error: one line rewritten in place on a terminal,
otherwise a plain line every --progress-every or --progress-cells.`,
		Example: `  lvslab sweep --trace access.log --alg wrr,wlc,lblc,lblcr --nodes 1-16 --cache 8MiB,32MiB -o sweep-out
  lvslab sweep -f examples/cache-sweep.yaml -o sweep-out --shard 0/4
  lvslab sweep merge sweep-out -o all.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			i, n, err := workbench.ResolveShard(shard, shards, cmd.Flags().Changed("shards"), os.Getenv)
			if err != nil {
				return err
			}
			e, err := ef.experiment(cmd)
			if err != nil {
				return err
			}
			if err := workbench.RefuseSweepOverwrite(dir, e.Inputs()); err != nil {
				return err
			}
			errw, mem := cmd.ErrOrStderr(), memoryLimit(cmd)
			spec, cells, err := workbench.Prepare(e, workbench.PrepareOptions{Report: errw, Mem: mem})
			if err != nil {
				return err
			}
			label := "sweep"
			if n > 1 {
				label = fmt.Sprintf("sweep shard %d/%d", i, n)
			}
			mine, err := workbench.Shard(cells, i, n)
			if err != nil {
				return err
			}
			run, want, err := workbench.CheckRunMemory(mine, spec.Workloads, workers, mem, workbench.ExperimentBlame(e))
			if err != nil {
				return err
			}
			workbench.NoteWorkers(errw, label, run, want, mem)
			p := &workbench.Progress{W: errw, TTY: workbench.IsTerminal(errw), Label: label,
				Every: progressEvery, EveryCells: progressCells}
			p.Start()
			o, err := workbench.Run(cells, spec.Workloads, workbench.RunOptions{
				Workers: run, Dir: dir, Shard: i, Shards: n, Progress: p.Update,
				Name: e.Name, Experiment: e.File, Force: force,
			})
			var other *workbench.OtherSweepError
			if errors.As(err, &other) {
				return fmt.Errorf("sweep: -o %s holds another sweep %s: %v; use another -o directory, or --force to replace it", dir, other.Other, other.Err)
			}
			if err != nil {
				return e.Blame(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d cells in this %s: %d run, %d already done\n",
				dir, len(o.Cells), map[bool]string{true: "shard", false: "sweep"}[n > 1], o.Ran, o.Skipped)
			if o.Complete {
				for _, f := range o.Merged {
					fmt.Fprintf(out, "wrote %s\n", f)
				}
			} else {
				fmt.Fprintf(out, "other shards' cells are not all in %s yet; when every shard has finished: lvslab sweep merge DIR... -o all.csv\n", dir)
			}
			return nil
		},
	}
	addExperimentFlags(cmd, &ef)
	fs := cmd.Flags()
	fs.StringVarP(&dir, "output", "o", "sweep-out", "output directory (created; finished cells in it are skipped)")
	fs.BoolVar(&force, "force", false, "replace the manifest of another sweep in the output directory (and remove its merged results)")
	fs.IntVar(&workers, "workers", 0, "simulations run at once (default: all cores)")
	fs.StringVar(&shard, "shard", "", `run only shard i of n ("i/n", 0 <= i < n)`)
	fs.IntVar(&shards, "shards", 0, "number of shards, the shard index coming from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	fs.DurationVar(&progressEvery, "progress-every", 10*time.Second, "when not on a terminal: print progress at least this often")
	fs.IntVar(&progressCells, "progress-cells", 0, "when not on a terminal: also print progress every this many cells")
	cmd.AddCommand(newSweepMergeCmd())
	return cmd
}

func newSweepMergeCmd() *cobra.Command {
	var out, format string
	cmd := &cobra.Command{
		Use:   "merge DIR...",
		Short: "Merge the output directories of a sweep's shards into one results file",
		Long: `Merge the cells of a sweep from one or more output directories (the shards
of one sweep) into one results file, in sweep order: byte-identical to the
results.csv of the same sweep run unsharded. Every cell must be present.`,
		Example: `  lvslab sweep merge shard-0 shard-1 shard-2 -o all.csv
  lvslab sweep merge sweep-out -o all.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if err := workbench.RefuseMergeOverwrite(out, dirs); err != nil {
				return err
			}
			rs, err := workbench.Merge(dirs)
			if err != nil {
				return err
			}
			f := format
			if f == "" {
				f = "csv"
				if strings.EqualFold(filepath.Ext(out), ".json") {
					f = "json"
				}
			}
			if f != "csv" && f != "json" {
				return fmt.Errorf("--format: unknown format %q (want csv or json)", f)
			}
			if out == "" || out == "-" {
				var buf bytes.Buffer
				if err := workbench.WriteResultsTo(&buf, f, nil, rs); err != nil {
					return err
				}
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := workbench.WriteResults(out, f, rs); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "merged %d cells into %s\n", len(rs), out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (.csv or .json; default standard output as CSV)")
	cmd.Flags().StringVar(&format, "format", "", "csv or json (default: from the -o extension, else csv)")
	return cmd
}
