package main

import (
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/workbench"
)

func init() { subcommands = append(subcommands, newLoadCmd) }

func newLoadCmd() *cobra.Command {
	var (
		cfg                        load.Config
		target, trace, format, out string
		records, alg, frontEnd     string
		nodes, high                int
		http10, keepAlive, strict  bool
		timeScale                  float64
		wait                       time.Duration
		loadURLs                   []string
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Replay a trace against a live URL (a VIP or a back end) and record every request",
		Long: `Replay a trace over live TCP connections against --target (a director's VIP
or a back end), and write the results in the schema of "lvslab sim", so that
"lvslab plot" and "lvslab sweep merge" read them unchanged.

--mode closed (default) is the simulator's closed admission: --concurrency
requests are sent at once, in trace order, and each outcome sends the next.
The default concurrency is the reference model's limit, --nodes × --high
(60 per node). --mode open sends each request at its trace time divided by
--speedup, waiting in order for one of --concurrency connections when all
are busy. Requests are HTTP/1.1 on kept-alive connections (--keep-alive, the
default) or HTTP/1.0, one connection each (--http10). Kept-alive connections
belong to the concurrency slots, or, with --client-keep-alive D, to the
trace's clients, as the simulator's l4 front end models them: a request goes
on its client's idle connection if it has one, else on a new one, and an idle
connection is closed after D (wall time).

The run ends when every request has finished, or at --duration, a hard
deadline: requests in flight then fail ("deadline") and the rest are
counted unsent. Ctrl-C ends it the same way ("cancelled") and still writes the
results. Every request is accounted for: requests = completed + failed, and
failed counts, by reason, connect_refused, connect_timeout, connect_error,
reset, closed, timeout, deadline, cancelled, bad_response, io_error and
status_NNN, plus the unsent ones. --records writes every request's outcome
as CSV (target, times, status, bytes, hit, outcome, error).

Results are in model time: wall times × the back ends' time scale (read from
the --backend-load reports, or --time-scale), as the simulator's. The hit
ratio comes from the back ends' X-Lvslab-Cache headers; per-node requests,
hits, bytes and CPU/disk utilisation from the --backend-load reports (read
before and after the run). --alg, --front-end and --nodes say what stood
behind --target, for the results' configuration. A summary of the run in
wall time goes to standard error.

Output (--format): "table", "csv" (sim.CSVHeader) or "json"; the default is
a table on a terminal and CSV otherwise, or the -o file's extension.`,
		Example: `  lvslab load --target http://127.0.0.1:8080 --trace default --requests 2000 --backend-load http://127.0.0.1:8080/lvslab/load --format table
  lvslab load --target http://198.18.0.254 --trace access.log --mode open --speedup 50 --http10 --duration 60s -o live.json --records requests.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			if http10 && fs.Changed("keep-alive") && keepAlive {
				return fmt.Errorf("--http10 and --keep-alive: choose one")
			}
			cfg.HTTP10 = http10 || (fs.Changed("keep-alive") && !keepAlive)
			if cfg.ClientKeepAlive < 0 || cfg.HTTP10 && cfg.ClientKeepAlive > 0 {
				return fmt.Errorf("--client-keep-alive %v: want a duration > 0, with HTTP/1.1 (not --http10)", cfg.ClientKeepAlive)
			}
			cfg.URL, cfg.LoadURLs = target, loadURLs
			if nodes < 0 || high < 1 {
				return fmt.Errorf("--nodes and --high must be positive (got %d, %d)", nodes, high)
			}
			n := nodes
			if n == 0 {
				n = max(len(loadURLs), 1)
			}
			if !fs.Changed("concurrency") {
				cfg.Concurrency = n * high
			} else if cfg.Concurrency < 1 {
				return fmt.Errorf("--concurrency: %d is not a positive number", cfg.Concurrency)
			}
			if fs.Changed("time-scale") && !(timeScale > 0) {
				return fmt.Errorf("--time-scale: %v is not a positive number", timeScale)
			}
			in := experiment.TraceInputs("the --trace file %s", []string{trace}, "")
			for _, o := range []struct{ flag, path string }{{"-o", out}, {"--records", records}} {
				if err := workbench.RefuseOverwrite("load", o.flag, o.path, in); err != nil {
					return err
				}
			}
			if out != "" && out == records {
				return fmt.Errorf("load: -o and --records are the same file %s", out)
			}
			f, err := workbench.OutputFormat(format, out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if cfg.Workload, err = experiment.LoadWorkload(trace, "", experiment.LoadOptions{Strict: strict, Report: cmd.ErrOrStderr()}); err != nil {
				return err
			}
			if _, err := cfg.Resolve(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if wait > 0 {
				if err := load.WaitReady(ctx, cfg.URL, wait, nil); err != nil {
					return fmt.Errorf("--wait: %w", err)
				}
			}
			lr, err := workbench.RunLoad(ctx, cfg, workbench.LoadOptions{Summary: cmd.ErrOrStderr(), Records: records})
			if err != nil {
				return err
			}
			res, err := workbench.LiveResult(lr, workbench.LiveOptions{Algorithm: alg, FrontEnd: frontEnd, Nodes: nodes, TimeScale: timeScale})
			if err != nil {
				return fmt.Errorf("--time-scale: %w", err)
			}
			return workbench.WriteResultsOutput(cmd.OutOrStdout(), out, f, make([]workbench.Cell, 1), []*sim.Result{res})
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&target, "target", "", "where requests go: http://HOST[:PORT] (required)")
	fs.StringVar(&trace, "trace", "default", `trace to replay: a log, "a.log+b.log", "default" or "synth:PRESET[:REQUESTS]"`)
	fs.BoolVar(&strict, "strict", false, "fail on the first trace line that does not parse")
	fs.StringVar(&cfg.Mode, "mode", load.Closed, "admission: closed (each outcome sends the next request) or open (trace times / --speedup)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "requests in flight at most (default --nodes × --high)")
	fs.Float64Var(&cfg.Speedup, "speedup", 1, "open mode: divide trace times by this")
	fs.BoolVar(&keepAlive, "keep-alive", true, "HTTP/1.1, connections kept alive and reused (the default)")
	fs.BoolVar(&http10, "http10", false, "HTTP/1.0, one connection per request")
	fs.DurationVar(&cfg.ClientKeepAlive, "client-keep-alive", 0, "kept-alive connections per trace client, each closed once idle this long (default: per concurrency slot)")
	fs.IntVar(&cfg.Requests, "requests", 0, "requests to send (default: the trace's; more replays it again)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "hard deadline of the run (default: none)")
	fs.DurationVar(&wait, "wait", 0, "first wait up to this long for --target to accept connections (a back end starting)")
	fs.DurationVar(&cfg.Timeout, "timeout", load.DefaultTimeout, "time limit of one request")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", load.DefaultConnectTimeout, "time limit of one connection attempt")
	fs.DurationVar(&cfg.Interval, "interval", load.DefaultInterval, "time-series bucket width (wall time)")
	fs.StringSliceVar(&loadURLs, "backend-load", nil, "back ends' load report URLs (http://HOST:PORT/lvslab/load), comma-separated or repeated")
	fs.Float64Var(&timeScale, "time-scale", 0, "the back ends' time scale, to convert to model time (default: from --backend-load, else 1)")
	fs.StringVar(&alg, "alg", "direct", "the director's scheduler, for the results (direct: no director)")
	fs.StringVar(&frontEnd, "front-end", sim.FrontEndL7, "the front end, for the results")
	fs.IntVar(&nodes, "nodes", 0, "back ends behind --target (default: the number of --backend-load URLs, or 1)")
	fs.IntVar(&high, "high", 60, "per-node limit: the default concurrency is nodes × high")
	fs.StringVar(&format, "format", "", "output format: table, csv or json (default: table on a terminal, else csv)")
	fs.StringVarP(&out, "output", "o", "", "write the results to this file instead of standard output")
	fs.StringVar(&records, "records", "", "write every request's outcome to this CSV file")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}
