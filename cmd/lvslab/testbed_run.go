package main

// "lvslab testbed run": an experiment file run live, one testbed per cell.
// The flags it shares with "lvslab validate" are here too.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/dataplane/director"
	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/workbench"
)

// liveFlags are the flags of a live run (testbed run, validate).
type liveFlags struct {
	timeScale float64
	requests  int
	deadline  time.Duration
	ready     time.Duration
	binary    string
}

func addLiveFlags(cmd *cobra.Command, lf *liveFlags) {
	fs := cmd.Flags()
	fs.Float64Var(&lf.timeScale, "time-scale", float64(workbench.DefaultTimeScale),
		"the live run goes this many times faster than the model: the back ends divide every model time by it, and live times × it are model times")
	fs.IntVar(&lf.requests, "requests", 0, "replay only the first N requests of the trace, in both worlds (default: all)")
	fs.DurationVar(&lf.deadline, "deadline", 0, "hard deadline of each live cell's load, wall time (requests still in flight fail, the rest are unsent; default none)")
	fs.DurationVar(&lf.ready, "ready-timeout", workbench.DefaultReadyTimeout, "how long the back ends and the director may take to answer")
	fs.StringVar(&lf.binary, "lvslab", "", "the lvslab executable run in the namespaces (default: this one)")
}

// checkLive refuses an experiment that sets simulator-only keys, naming
// each with its file line (or flag) and why.
func checkLive(e *experiment.Experiment) error {
	if err := e.CheckLive(); err != nil {
		return fmt.Errorf("this experiment cannot run live:\n%w", err)
	}
	return nil
}

// options checks the live flags against the prepared experiment:
// --requests must fit every trace.
func (lf *liveFlags) options(spec *workbench.Spec) (workbench.LiveRunOptions, error) {
	var o workbench.LiveRunOptions
	scale := workbench.TimeScale(lf.timeScale)
	if err := scale.Check(); err != nil {
		return o, fmt.Errorf("--time-scale: %w", err)
	}
	if lf.requests < 0 {
		return o, fmt.Errorf("--requests %d: want a positive count (0: the whole trace)", lf.requests)
	}
	for _, w := range spec.Workloads {
		if n := len(w.Requests); lf.requests > n {
			return o, fmt.Errorf("--requests %d: trace %s has only %d requests (after the reference filters)", lf.requests, w.Name, n)
		}
	}
	if lf.deadline < 0 || lf.ready <= 0 {
		return o, errors.New("--deadline and --ready-timeout must be positive durations")
	}
	o = workbench.LiveRunOptions{
		Binary: lf.binary, TimeScale: scale, Requests: lf.requests, Deadline: lf.deadline, ReadyTimeout: lf.ready,
		CheckServices: func(path string, data []byte) error {
			_, err := director.ReadServices(path, bytes.NewReader(data))
			return err
		},
	}
	return o, nil
}

// interruptContext is cmd's context, cancelled by SIGINT or SIGTERM.
func interruptContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func newTestbedRunCmd(tf *testbedFlags) *cobra.Command {
	var (
		ef     experimentFlags
		lf     liveFlags
		format string
		out    string
	)
	cmd := &cobra.Command{
		Use:   "run -f EXPERIMENT.yaml",
		Short: "Run an experiment live: a testbed per cell, emulated back ends, the director and the load generator",
		Long: `Run an experiment file (or flags, as "lvslab sim" takes them) live, cell by
cell (scheduler × node count × swept values): for each, a testbed of as many
real servers as nodes is built (front_end l7: a layer-7 testbed; l4: the
method key's, nat (default), tun or dr, with "lvslab tunnel-agent" on every
real server for tun), "lvslab backend" runs in every real server's namespace
(the cell's trace, cache, cache policy and costs, at --time-scale), "lvslab
director" in the director's namespace (the layer-7 switch, or the layer-4
director forwarding by the method; the cell's scheduler and options; a TCP
health check on every back end; DFLB's load monitor for schedulers that take
load feedback) and "lvslab load" in the client's namespace: a closed loop of
nodes × high requests over the trace, as the simulator admits them, on
kept-alive connections (l4 with keep_alive 0: HTTP/1.0, one connection per
request). Then the testbed is taken down, and the next cell runs. Needs
root.

Results are written as "lvslab sim" writes them (table, CSV or JSON), in
model time: live req/s ÷ time scale, live response times × time scale, so
that they compare with the simulation figure by figure ("lvslab validate"
runs both). Each result carries the cell's configuration.

The cluster and the scheduler are shared by both worlds; keys only the
simulator has (admission, speedup, distributors, cls_*, origin_time,
keep_dynamic: true, front ends other than l7 and l4) are refused, each with
its file line and why. Failures (failures:, --failure) kill a back end
(SIGKILL) at its time and restart it, empty, at its recovery, counted from the
first request served; the director's health check notices after
health_check_delay. Node groups (nodes: [{count, speed, cache, weight}],
--node-groups) give each back end its node's CPU and disk speeds and cache, and
the director the simulator's weights (weights:, --weights); slowdowns
(slowdown:, --slowdown) slow a back end over the same interval of model time,
counted from the first request it serves.

Time scale: every model time becomes model time ÷ --time-scale on the live
machine: the back ends' CPU and disk jobs, LBLC/R's set expiry, the table
expiry, DFLB's monitor interval, the health-check delay, the connect timeout
and the time series' interval.

Run directories: with --run-dir DIR, each cell's testbed, logs (rs1.log,
dir.log, cl1.log), services file, results (live.json) and per-request
records (records.csv) are kept in DIR/NNN-ALG-nN; otherwise under --root
(ROOT/PREFIX, seen by "testbed status"), removed when the cell succeeds and
kept when it fails. Ctrl-C (SIGINT or SIGTERM) stops the run and takes the
testbed down: no namespace, link or process is left. Should the run itself be
killed (kill -9), "lvslab testbed down" removes its testbed (with --run-dir:
"lvslab testbed down --run-dir DIR/NNN-ALG-nN").`,
		Example: `  lvslab testbed run -f experiments/validate-l7.yaml --format table
  lvslab testbed run -f experiments/validate-dr.yaml --alg wlc --keep-alive 0 --requests 2000
  lvslab testbed run -f experiments/validate-l7.yaml --alg lblc --requests 2000 -o live.json
  lvslab testbed run --trace default --alg wrr,lblc --nodes 4 --cache 2MiB --run-dir /tmp/live`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := ef.experiment(cmd)
			if err != nil {
				return err
			}
			if err := checkLive(e); err != nil {
				return err
			}
			if err := workbench.RefuseOverwrite("testbed run", "-o", out, e.Inputs()); err != nil {
				return err
			}
			f, err := workbench.OutputFormat(format, out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			spec, cells, err := workbench.Prepare(e, workbench.PrepareOptions{Report: errw, Mem: memoryLimit(cmd)})
			if err != nil {
				return err
			}
			ro, err := lf.options(spec)
			if err != nil {
				return err
			}
			ro.Log = errw
			ctx, stop := interruptContext(cmd)
			defer stop()
			runs, err := workbench.RunLiveCells(ctx, e, cells, workbench.LiveCellsOptions{LiveRunOptions: ro, Dir: tf.runDir, Root: tf.root})
			if ctx.Err() != nil {
				return errors.New("testbed run: interrupted; the testbed was taken down")
			}
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := workbench.WriteResultsTo(&buf, f, cells, liveResults(runs)); err != nil {
				return err
			}
			return writeOut(cmd.OutOrStdout(), out, buf.Bytes())
		},
	}
	addExperimentFlags(cmd, &ef)
	addLiveFlags(cmd, &lf)
	cmd.Flags().StringVar(&format, "format", "", "output format: table, csv or json (default: table on a terminal, else csv)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the results to this file instead of standard output")
	return cmd
}

func liveResults(runs []*workbench.LiveRun) []*sim.Result {
	rs := make([]*sim.Result, len(runs))
	for i, r := range runs {
		rs[i] = r.Result
	}
	return rs
}

// writeOut writes data to out, or to stdout for "" and "-".
func writeOut(stdout io.Writer, out string, data []byte) error {
	if out == "" || out == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return atomicfile.WriteFile(out, data)
}
