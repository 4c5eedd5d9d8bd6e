package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

func init() { traceSubcommands = append(traceSubcommands, newTraceSynthCmd) }

func newTraceSynthCmd() *cobra.Command {
	var sf workbench.Synth
	var out, printModel string
	cmd := &cobra.Command{
		Use:   "synth [--preset NAME | --model FILE] [--fit LOG...] [flags] [-o OUT]",
		Short: "Write a synthetic Common Log Format log from a seeded workload model",
		Long: `Synth writes a Common Log Format log generated from a workload model
(traces.SynthModel): Zipf popularity (--alpha), heavy-tailed target sizes
(lognormal body, Pareto tail: --size-mu, --size-sigma, --tail-share, --tail-xm,
--tail-shape, --max-size), temporal locality (--locality: the probability of
re-referencing one of the last --locality-window requests), dynamic requests
(--dynamic-share, logged with a query string), clients, and Poisson arrivals
(--rate). The same model and --seed give the same bytes. Every request must
fall within the years 0000-9999 and within 292 years of --start: a --rate too
low for --requests is an error.

The model starts from --preset ("thesis": 37,804 targets covering exactly
1,629 MiB, the workload of thesis §4.3/§6.3.7; "small": for tests) or from
--model FILE (YAML or JSON, as --print-model writes it). --fit LOG... replaces
it with the parameters estimated from real logs (read under the filter flags,
by default the reference filters), keeping the seed and start time, so that a
look-alike of any length can be generated (--requests). Flags given explicitly
override both. --print-model prints the resolved model (YAML, or
--print-model=json) instead of the log.

Output goes to standard output, or to -o OUT (gzip when OUT ends in .gz).
The log streams: memory grows with --targets (about 76 bytes a target with
cover, checked against --memory-limit), not with --requests. Before writing
to a file, the log's size is estimated from a sample of its lines and
refused if the file system has not that much free space. Progress goes to
standard error (each pass over the requests: two for cover, then writing):
on a terminal a line rewritten in place, otherwise a plain line every 10 s
after the first 10 s.`,
		Example: `  lvslab trace synth --preset thesis -o thesis.log.gz
  lvslab trace synth --preset small --requests 5000 --alpha 1.1 --seed 7
  lvslab trace synth --fit access.log --requests 10000000 -o lookalike.log.gz
  lvslab trace synth --fit access.log --print-model > model.yaml
  lvslab trace synth --model model.yaml --working-set 4GiB -o big.log.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := append(workbench.InputFiles("--fit", sf.Fit...), workbench.InputFiles("--model", sf.Model)...)
			if err := workbench.RefuseOverwrite("trace synth", "-o", out, in); err != nil {
				return err
			}
			sf.Changed, sf.Stdout, sf.Stderr, sf.Mem = cmd.Flags().Changed, cmd.OutOrStdout(), cmd.ErrOrStderr(), memoryLimit(cmd)
			m, err := sf.Resolve()
			if err != nil {
				return err
			}
			if printModel != "" {
				return workbench.PrintSynthModel(cmd.OutOrStdout(), printModel, m)
			}
			return sf.Write(m, out)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&sf.Preset, "preset", "thesis", "starting model: "+strings.Join(traces.SynthPresets(), ", "))
	fs.StringVar(&sf.Model, "model", "", "starting model from a YAML/JSON file (as --print-model writes it)")
	fs.StringArrayVar(&sf.Fit, "fit", nil, "estimate the model from this log (repeatable: logs merged in order)")
	fs.StringVarP(&out, "output", "o", "", `output file ("-" or none: standard output; .gz: gzip)`)
	fs.StringVar(&printModel, "print-model", "", "print the resolved model (yaml or json) instead of the log")
	fs.Lookup("print-model").NoOptDefVal = "yaml"

	fs.StringVar(&sf.Name, "name", "", "workload name recorded in the model")
	fs.Uint64Var(&sf.Seed, "seed", 0, "random seed")
	fs.IntVar(&sf.Requests, "requests", 0, "log lines (static and dynamic requests; default: the model's)")
	fs.IntVar(&sf.Targets, "targets", 0, "distinct targets (default: the model's)")
	fs.Float64Var(&sf.Alpha, "alpha", 0, "Zipf exponent of popularity (0: uniform)")
	fs.StringVar(&sf.WorkingSet, "working-set", "", `rescale sizes to sum to exactly this (e.g. 1629MiB); "0": sizes as drawn`)
	fs.BoolVar(&sf.Cover, "cover", false, "request every target at least once (--cover=false to turn off)")
	fs.Float64Var(&sf.Locality, "locality", 0, "temporal locality: probability of re-referencing one of the last --locality-window requests")
	fs.IntVar(&sf.Window, "locality-window", 0, "requests a re-reference chooses from")
	fs.Float64Var(&sf.Dynamic, "dynamic-share", 0, "fraction of requests that are dynamic (query string)")
	fs.IntVar(&sf.Clients, "clients", 0, "client hosts")
	fs.Float64Var(&sf.Rate, "rate", 0, "mean arrival rate, requests per second (Poisson)")
	fs.StringVar(&sf.Start, "start", "", "time of the first request (RFC 3339, 2006-01-02, or a CLF time; years 0000-9999)")
	fs.Float64Var(&sf.SizeMu, "size-mu", 0, "mean of ln(size in bytes) of the lognormal body")
	fs.Float64Var(&sf.SizeSigma, "size-sigma", 0, "standard deviation of ln(size) of the lognormal body")
	fs.Float64Var(&sf.TailShare, "tail-share", 0, "fraction of targets in the Pareto tail")
	fs.StringVar(&sf.TailXm, "tail-xm", "", "Pareto scale: where the tail starts (bytes, KiB, ...)")
	fs.Float64Var(&sf.TailShape, "tail-shape", 0, "Pareto shape α of the tail")
	fs.StringVar(&sf.MaxSize, "max-size", "", `largest size before rescaling (bytes, KiB, ...); "0": unbounded`)
	sf.Filter = addTraceFlags(cmd)
	return cmd
}
