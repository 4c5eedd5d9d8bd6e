package main

import (
	"fmt"
	"log"
	"math"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/traces"
)

func init() { subcommands = append(subcommands, newBackendCmd) }

func newBackendCmd() *cobra.Command {
	var (
		listen, trace, cache, policy, costs, loadPath, name, slowdown string
		timeScale, cpuSpeed, diskSpeed                                float64
		interval, failAfter                                           time.Duration
		strict                                                        bool
	)
	cmd := &cobra.Command{
		Use:   "backend",
		Short: "Run an emulated real server whose CPU, disk and cache follow the reference model",
		Long: `Run an emulated real server: an HTTP/1.1 server (keep-alive, and HTTP/1.0)
that serves every target of a trace at the trace's object size, and whose one
CPU, one disk and LRU cache follow the reference model (docs/reference-model.md
§2-3) in real time: connection set-up on the CPU, cache look-up, a disk read on
a miss, transmit and teardown on the CPU, each a FIFO job whose end is an
absolute deadline, each model time divided by --time-scale.

The trace is read as "lvslab sim" reads it (--trace: a log, "a.log+b.log",
"default" or "synth:PRESET[:N]"; the reference filters): give the back end and
the load generator the same trace: sizes come from it alone (no size parameter:
a query string makes a request dynamic). A target is matched as sent, up to '?' or
'#', without decoding; a query string or "cgi-bin" makes a request dynamic
(twice the cost, never cached). Unknown targets get 404. Responses carry
X-Lvslab-Cache: hit or miss.

GET --load-path (default /lvslab/load) returns the load report as JSON. It
carries the fields a director's DFLB load monitor reads (monitor: in its
services file): active (requests in service), cpu_util and disk_util (over
the last --interval), cpu_queue, disk_queue and served (requests served);
and connections, busy times and utilisation since start (cpu_util_total,
disk_util_total), requests, hits, hit ratio, bytes and the configuration.
Times in it are wall times.

--costs sets the model's constants as KEY=VALUE pairs, the keys of an
experiment file's costs section: connect, teardown, transmit, transmit_block,
disk_access, disk_transfer, disk_block, dynamic_factor.

--cpu-speed and --disk-speed divide the CPU's and the disk's service times (a
node group's speeds in an experiment file); --slowdown multiplies both over
intervals of model time counted from the first request served (another job on
the node): a job straddling a boundary does each part of its work at the rate
then in force, as in the simulator. lvslab testbed run gives each back end its
node's speeds, cache and slowdowns.

The server runs until SIGINT or SIGTERM (a graceful stop). --fail-after
emulates a crash: the listener and every connection close at once, requests in
service get no response, and the command exits with an error.`,
		Example: `  lvslab backend --listen 127.0.0.1:8080 --trace default --time-scale 10
  lvslab backend --listen 198.18.1.11:80 --trace access.log --cache 8MiB --costs disk_access=10ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := backend.Config{LoadPath: loadPath, Interval: interval, Name: name, CachePolicy: policy, TimeScale: timeScale}
			if !(timeScale > 0) || math.IsInf(timeScale, 0) {
				return fmt.Errorf("--time-scale: %v is not a positive number", timeScale)
			}
			if interval <= 0 {
				return fmt.Errorf("--interval: %v is not a positive duration", interval)
			}
			n, err := traces.ParseBytes(cache)
			if err != nil || n <= 0 {
				return fmt.Errorf("--cache: %q is not a positive size (e.g. 32MiB)", cache)
			}
			cfg.CacheBytes = n
			cfg.CPUSpeed, cfg.DiskSpeed = cpuSpeed, diskSpeed
			for _, f := range []struct {
				name string
				v    float64
			}{{"cpu-speed", cpuSpeed}, {"disk-speed", diskSpeed}} {
				if err := models.CheckSpeed(f.v); err != nil {
					return fmt.Errorf("--%s: %w", f.name, err)
				}
			}
			if slowdown != "" {
				if cfg.Slowdowns, err = experiment.ParseBackendSlowdowns(slowdown); err != nil {
					return fmt.Errorf("--slowdown: %w", err)
				}
			}
			if cfg.Costs, err = experiment.ParseCosts(costs); err != nil {
				return fmt.Errorf("--costs: %w", err)
			}
			if cfg.Workload, err = experiment.LoadWorkload(trace, "", experiment.LoadOptions{Strict: strict, Report: cmd.ErrOrStderr()}); err != nil {
				return err
			}
			cfg.ErrorLog = log.New(cmd.ErrOrStderr(), "lvslab backend: ", 0)
			b, err := backend.New(cfg)
			if err != nil {
				return err
			}
			defer b.Close()
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			addr := l.Addr().String()
			fmt.Fprintf(cmd.OutOrStdout(), "lvslab backend: listening on %s: %s, load report at http://%s%s\n", addr, b, addr, b.Config().LoadPath)
			if b.Merged > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "lvslab backend: %d targets of the trace cannot be sent as logged and share their request target with another; each such group is served as one object (see backend.RequestTarget)\n", b.Merged)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = b.Run(ctx, l, failAfter)
			if ctx.Err() != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "lvslab backend: stopped: %s\n", b.Load().Summary())
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on (port 0: any free port, printed)")
	fs.StringVar(&trace, "trace", "default", `trace whose targets and sizes are served: a log, "a.log+b.log", "default" or "synth:PRESET[:REQUESTS]"`)
	fs.BoolVar(&strict, "strict", false, "fail on the first trace line that does not parse")
	fs.StringVar(&cache, "cache", "32MiB", "cache size")
	fs.StringVar(&policy, "cache-policy", models.PolicyLRU, "cache replacement policy: lru, lfu, gds")
	fs.Float64Var(&timeScale, "time-scale", 1, "divide every model time by this (10: ten times faster than the model)")
	fs.StringVar(&costs, "costs", "", "model constants, e.g. connect=140us,disk_access=28ms (default: the thesis's)")
	fs.Float64Var(&cpuSpeed, "cpu-speed", 1, "divide the CPU's service times by this (2: twice as fast as the model)")
	fs.Float64Var(&diskSpeed, "disk-speed", 1, "divide the disk's service times by this")
	fs.StringVar(&slowdown, "slowdown", "", "slow down over intervals of model time counted from the first request: FACTOR@FROM-TO, comma-separated (3@60s-2m: CPU and disk times ×3 from 60 s to 2 min)")
	fs.StringVar(&loadPath, "load-path", backend.DefaultLoadPath, "path of the JSON load report")
	fs.DurationVar(&interval, "interval", backend.DefaultInterval, "window of the load report's recent utilisation")
	fs.StringVar(&name, "name", "", "name in the load report")
	fs.DurationVar(&failAfter, "fail-after", 0, "emulate a crash after this long (wall time)")
	return cmd
}
