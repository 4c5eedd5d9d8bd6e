package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

// Files of "lvslab validate -o DIR".
const (
	validateSimCSV   = "sim.csv"
	validateSimJSON  = "sim.json"
	validateLiveCSV  = "live.csv"
	validateLiveJSON = "live.json"
	validateReport   = "report.txt"
	validateRuns     = "runs"
)

func newValidateCmd() *cobra.Command {
	var (
		ef        experimentFlags
		lf        liveFlags
		out, root string
		tolerance float64
		tieMargin float64
	)
	cmd := &cobra.Command{
		Use:   "validate -f EXPERIMENT.yaml",
		Short: "Run an experiment in simulation and live, and check that they agree",
		Long: `Run every cell of an experiment (scheduler × node count × swept values) twice:
in the simulator ("lvslab sim") and live on a testbed ("lvslab testbed run":
emulated back ends, the layer-7 switch or the layer-4 director (front_end l4,
forwarding by the method key: nat, tun or dr), the load generator, in
network namespaces), on the same trace, nodes, model and schedulers, and
compare them. Needs root.

For each cell the report gives the simulated and live throughput, hit ratio
and 95th-percentile response time, and each ratio live / simulated (1.000:
perfect agreement). Live figures are in model time: live req/s ÷ time scale,
live response times × time scale. The target: every cell's live throughput
within ±--tolerance (default 15%) of the simulated one, and, per node count,
the schedulers ranked in the same order by throughput in both worlds, where
two schedulers whose simulated throughputs are within --tie-margin (default
5%) of each other are ties, either order accepted. validate exits with an
error naming every miss when the target is missed.

With -o DIR, both result sets are written: sim.csv and sim.json, live.csv
and live.json (the schema of "lvslab sim -o", one row per cell in the same
order), report.txt (the report), and runs/ with each live cell's logs,
services file and per-request records. Flags override the file's keys as
for "lvslab sim" (--trace replays another log); --requests N replays the
first N requests of the trace in both worlds. Ctrl-C stops and takes the
testbed down.`,
		Example: `  lvslab validate -f experiments/validate-l7.yaml -o /tmp/validate
  lvslab validate -f experiments/validate-l7.yaml --requests 6000 --time-scale 2
  lvslab validate -f experiments/validate-tun.yaml --requests 3000
  lvslab validate -f experiments/validate-l7.yaml --trace access.log --cache 8MiB --tolerance 0.2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := ef.experiment(cmd)
			if err != nil {
				return err
			}
			if err := checkLive(e); err != nil {
				return err
			}
			agree, err := workbench.Agreement{Tolerance: tolerance, TieMargin: tieMargin}.Resolve()
			if err != nil {
				return fmt.Errorf("--tolerance, --tie-margin: %w", err)
			}
			if out != "" {
				for _, f := range []string{validateSimCSV, validateSimJSON, validateLiveCSV, validateLiveJSON, validateReport} {
					if err := workbench.RefuseOverwrite("validate", "-o", filepath.Join(out, f), e.Inputs()); err != nil {
						return err
					}
				}
				if err := os.MkdirAll(out, 0o755); err != nil {
					return fmt.Errorf("-o: %w", err)
				}
			}
			errw, mem := cmd.ErrOrStderr(), memoryLimit(cmd)
			spec, cells, err := workbench.Prepare(e, workbench.PrepareOptions{Report: errw, Mem: mem})
			if err != nil {
				return err
			}
			ro, err := lf.options(spec)
			if err != nil {
				return err
			}
			ro.Log = errw

			// The simulation, on the same prefix of each trace.
			ws := make([]*traces.Workload, len(spec.Workloads))
			for i, w := range spec.Workloads {
				ws[i] = workbench.TraceWithRequests(w, lf.requests)
			}
			run, want, err := workbench.CheckRunMemory(cells, ws, 0, mem, workbench.ExperimentBlame(e))
			if err != nil {
				return err
			}
			workbench.NoteWorkers(errw, "validate", run, want, mem)
			simOut, err := workbench.Run(cells, ws, workbench.RunOptions{Workers: run})
			if err != nil {
				return e.Blame(err)
			}
			fmt.Fprintf(errw, "validate: %d cells simulated; running them live\n", len(cells))

			// The live runs.
			ctx, stop := interruptContext(cmd)
			defer stop()
			lo := workbench.LiveCellsOptions{LiveRunOptions: ro, Root: root}
			if out != "" {
				lo.Dir = filepath.Join(out, validateRuns)
			}
			runs, err := workbench.RunLiveCells(ctx, e, cells, lo)
			if ctx.Err() != nil {
				return errors.New("validate: interrupted; the testbed was taken down")
			}
			if err != nil {
				return err
			}
			live := liveResults(runs)

			v, err := workbench.Compare(cells, simOut.Results, live, agree)
			if err != nil {
				return err
			}
			var report bytes.Buffer
			requests := lf.requests
			if requests == 0 {
				requests = len(ws[0].Requests)
			}
			if err := v.WriteReport(&report, workbench.ReportInfo{TimeScale: ro.TimeScale, Requests: requests}); err != nil {
				return err
			}
			if out != "" {
				files := []struct {
					name, format string
					rs           []*sim.Result
				}{
					{validateSimCSV, "csv", simOut.Results}, {validateSimJSON, "json", simOut.Results},
					{validateLiveCSV, "csv", live}, {validateLiveJSON, "json", live},
				}
				for _, f := range files {
					if err := workbench.WriteResults(filepath.Join(out, f.name), f.format, f.rs); err != nil {
						return err
					}
				}
				if err := atomicfile.WriteFile(filepath.Join(out, validateReport), report.Bytes()); err != nil {
					return err
				}
			}
			if _, err := cmd.OutOrStdout().Write(report.Bytes()); err != nil {
				return err
			}
			return v.Err()
		},
	}
	addExperimentFlags(cmd, &ef)
	addLiveFlags(cmd, &lf)
	fs := cmd.Flags()
	fs.StringVarP(&out, "output", "o", "", "write sim.csv, sim.json, live.csv, live.json, report.txt and the live runs' logs (runs/) to this directory")
	fs.StringVar(&root, "root", defaultTestbedRoot, "without -o: where the live cells' run directories are made (removed when a cell succeeds)")
	fs.Float64Var(&tolerance, "tolerance", workbench.DefaultTolerance, "live throughput must be within ± this fraction of the simulated one")
	fs.Float64Var(&tieMargin, "tie-margin", workbench.DefaultTieMargin, "schedulers whose simulated throughputs are within this fraction of each other rank as ties")
	return cmd
}
