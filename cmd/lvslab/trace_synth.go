package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/traces"
)

func init() { traceSubcommands = append(traceSubcommands, newTraceSynthCmd) }

// synthFlags are the flags of "lvslab trace synth".
type synthFlags struct {
	preset, model, out, printModel string
	fit                            []string
	tf                             *traceFlags

	name                              string
	seed                              uint64
	requests, targets, clients, win   int
	alpha, locality, dynamic, rate    float64
	workingSet, tailXm, maxSize       string
	sizeMu, sizeSigma, tailShare, tsh float64
	cover                             bool
	start                             string
}

func newTraceSynthCmd() *cobra.Command {
	sf := &synthFlags{}
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
			in := append(inputFiles("--fit", sf.fit...), inputFiles("--model", sf.model)...)
			if err := refuseOverwrite("trace synth", "-o", sf.out, in); err != nil {
				return err
			}
			m, err := sf.resolve(cmd)
			if err != nil {
				return err
			}
			if sf.printModel != "" {
				return printSynthModel(cmd.OutOrStdout(), sf.printModel, m)
			}
			if err := sf.checkSynthMemory(cmd, m); err != nil {
				return err
			}
			return sf.writeSynth(cmd, m, sf.out)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&sf.preset, "preset", "thesis", "starting model: "+strings.Join(traces.SynthPresets(), ", "))
	fs.StringVar(&sf.model, "model", "", "starting model from a YAML/JSON file (as --print-model writes it)")
	fs.StringArrayVar(&sf.fit, "fit", nil, "estimate the model from this log (repeatable: logs merged in order)")
	fs.StringVarP(&sf.out, "output", "o", "", `output file ("-" or none: standard output; .gz: gzip)`)
	fs.StringVar(&sf.printModel, "print-model", "", "print the resolved model (yaml or json) instead of the log")
	fs.Lookup("print-model").NoOptDefVal = "yaml"

	fs.StringVar(&sf.name, "name", "", "workload name recorded in the model")
	fs.Uint64Var(&sf.seed, "seed", 0, "random seed")
	fs.IntVar(&sf.requests, "requests", 0, "log lines (static and dynamic requests; default: the model's)")
	fs.IntVar(&sf.targets, "targets", 0, "distinct targets (default: the model's)")
	fs.Float64Var(&sf.alpha, "alpha", 0, "Zipf exponent of popularity (0: uniform)")
	fs.StringVar(&sf.workingSet, "working-set", "", `rescale sizes to sum to exactly this (e.g. 1629MiB); "0": sizes as drawn`)
	fs.BoolVar(&sf.cover, "cover", false, "request every target at least once (--cover=false to turn off)")
	fs.Float64Var(&sf.locality, "locality", 0, "temporal locality: probability of re-referencing one of the last --locality-window requests")
	fs.IntVar(&sf.win, "locality-window", 0, "requests a re-reference chooses from")
	fs.Float64Var(&sf.dynamic, "dynamic-share", 0, "fraction of requests that are dynamic (query string)")
	fs.IntVar(&sf.clients, "clients", 0, "client hosts")
	fs.Float64Var(&sf.rate, "rate", 0, "mean arrival rate, requests per second (Poisson)")
	fs.StringVar(&sf.start, "start", "", "time of the first request (RFC 3339, 2006-01-02, or a CLF time; years 0000-9999)")
	fs.Float64Var(&sf.sizeMu, "size-mu", 0, "mean of ln(size in bytes) of the lognormal body")
	fs.Float64Var(&sf.sizeSigma, "size-sigma", 0, "standard deviation of ln(size) of the lognormal body")
	fs.Float64Var(&sf.tailShare, "tail-share", 0, "fraction of targets in the Pareto tail")
	fs.StringVar(&sf.tailXm, "tail-xm", "", "Pareto scale: where the tail starts (bytes, KiB, ...)")
	fs.Float64Var(&sf.tsh, "tail-shape", 0, "Pareto shape α of the tail")
	fs.StringVar(&sf.maxSize, "max-size", "", `largest size before rescaling (bytes, KiB, ...); "0": unbounded`)
	sf.tf = addTraceFlags(cmd)
	return cmd
}

// resolve builds the model: preset or file, then fit, then explicit flags.
func (sf *synthFlags) resolve(cmd *cobra.Command) (traces.SynthModel, error) {
	fs := cmd.Flags()
	// In a model, 0 stands for a generic default (traces.SynthModel.Resolved:
	// 100,000 requests, whatever the preset has): a 0 given explicitly is
	// refused rather than silently replaced. Leaving the flag out keeps the
	// preset's (or model file's, or fit's) value.
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"requests", float64(sf.requests)}, {"targets", float64(sf.targets)},
		{"locality-window", float64(sf.win)}, {"clients", float64(sf.clients)}, {"rate", sf.rate},
	} {
		if fs.Changed(p.name) && !(p.v > 0) {
			return traces.SynthModel{}, fmt.Errorf("--%s: must be > 0 (got %v; leave the flag out for the model's value)", p.name, p.v)
		}
	}
	var m traces.SynthModel
	var err error
	switch {
	case sf.model != "" && fs.Changed("preset"):
		return m, errors.New("give --preset or --model, not both")
	case sf.model != "":
		if m, err = readSynthModel(sf.model); err != nil {
			return m, err
		}
	default:
		if m, err = traces.SynthPreset(sf.preset); err != nil {
			return m, fmt.Errorf("--preset: %w", err)
		}
	}
	if len(sf.fit) > 0 {
		f, te, err := sf.tf.filter(cmd)
		if err != nil {
			return m, err
		}
		w, err := traces.Load(sf.fit, f)
		te.report(cmd.ErrOrStderr())
		if err != nil {
			return m, fmt.Errorf("--fit: %w", err)
		}
		fit, err := traces.FitSynthDetail(w)
		if err != nil {
			return m, fmt.Errorf("--fit %s: %w", strings.Join(sf.fit, ","), err)
		}
		writeFitSummary(cmd.ErrOrStderr(), fit)
		seed, start := m.Seed, m.Start
		m = fit.Model
		m.Seed, m.Start = seed, start
	}

	set := func(name string) bool { return fs.Changed(name) }
	bytesFlag := func(name, v string, dst *int64) error {
		n, err := traces.ParseBytes(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		*dst = n
		return nil
	}
	if set("name") {
		m.Name = sf.name
	}
	if set("seed") {
		m.Seed = sf.seed
	}
	if set("requests") {
		m.Requests = sf.requests
	}
	if set("targets") {
		m.Targets = sf.targets
	}
	if set("alpha") {
		m.Alpha = sf.alpha
		if m.Alpha == 0 { // 0 means "default" in a model: ask for uniform
			m.Alpha = math.SmallestNonzeroFloat64
		}
	}
	if set("working-set") {
		if err := bytesFlag("working-set", sf.workingSet, &m.WorkingSet); err != nil {
			return m, err
		}
	}
	if set("cover") {
		m.Cover = sf.cover
	}
	if set("locality") {
		m.TemporalLocality = sf.locality
	}
	if set("locality-window") {
		m.LocalityWindow = sf.win
	}
	if set("dynamic-share") {
		m.DynamicShare = sf.dynamic
	}
	if set("clients") {
		m.Clients = sf.clients
	}
	if set("rate") {
		m.Rate = sf.rate
	}
	if set("start") {
		if m.Start, err = parseTraceTime("--start", sf.start); err != nil {
			return m, err
		}
		if m.Start.IsZero() { // a model's zero Start means its default one
			return m, fmt.Errorf("--start %s: the zero time (0001-01-01T00:00:00Z) stands for the default start in a model; give another time", sf.start)
		}
	}
	if set("size-mu") || set("size-sigma") || set("tail-share") || set("tail-xm") || set("tail-shape") || set("max-size") {
		m = m.Resolved() // edit the resolved sizes, not the zero value
		if set("size-mu") {
			m.Sizes.Mu = sf.sizeMu
		}
		if set("size-sigma") {
			m.Sizes.Sigma = sf.sizeSigma
		}
		if set("tail-share") {
			m.Sizes.TailShare = sf.tailShare
		}
		if set("tail-shape") {
			m.Sizes.TailShape = sf.tsh
		}
		var n int64
		if set("tail-xm") {
			if err := bytesFlag("tail-xm", sf.tailXm, &n); err != nil {
				return m, err
			}
			m.Sizes.TailXm = float64(n)
		}
		if set("max-size") {
			if err := bytesFlag("max-size", sf.maxSize, &n); err != nil {
				return m, err
			}
			m.Sizes.Max = float64(n)
		}
	}
	m = m.Resolved()
	if err := m.Validate(); err != nil {
		return m, err
	}
	return m, nil
}

// readSynthModel reads a YAML (or JSON) model file; unknown keys are errors.
func readSynthModel(path string) (traces.SynthModel, error) {
	var m traces.SynthModel
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("--model: %w", err)
	}
	if m, err = parseSynthModel(data); err != nil {
		return m, fmt.Errorf("--model %s: %w", path, err)
	}
	return m, nil
}

func parseSynthModel(data []byte) (traces.SynthModel, error) {
	var m traces.SynthModel
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		if err == io.EOF {
			return m, errors.New("empty model")
		}
		return m, err
	}
	return m, nil
}

func printSynthModel(w io.Writer, format string, m traces.SynthModel) error {
	switch format {
	case "yaml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(m); err != nil {
			return err
		}
		return enc.Close()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	return fmt.Errorf("--print-model=%s: want yaml or json", format)
}

// writeFitSummary reports what --fit estimated, on one line per topic.
func writeFitSummary(w io.Writer, f traces.SynthFit) {
	m := f.Model
	s := m.Sizes
	fmt.Fprintf(w, "fit %s: %d requests (%.1f%% dynamic), %d targets, %d clients, working set %d B, span %v\n",
		traces.Escape(m.Name), m.Requests, 100*m.DynamicShare, m.Targets, m.Clients, f.WorkingSet, f.Span)
	fmt.Fprintf(w, "  popularity: zipf alpha %.3f (R² %.3f over ranks 1-%d, %d points)\n", m.Alpha, f.Zipf.R2, f.Zipf.Ranks, f.Zipf.Points)
	fmt.Fprintf(w, "  sizes: lognormal mu %.3f sigma %.3f, pareto tail %.1f%% from %.0f B shape %.3f, max %.0f B (KS %.3f)\n",
		s.Mu, s.Sigma, 100*s.TailShare, s.TailXm, s.TailShape, s.Max, f.Sizes.KS)
	fmt.Fprintf(w, "  temporal locality %.3f over %d requests (hits %.3f, from popularity alone %.3f); rate %.4g requests/s\n",
		m.TemporalLocality, m.LocalityWindow, f.LocalityHits, f.LocalityBase, m.Rate)
	for _, n := range f.Notes {
		fmt.Fprintf(w, "  note: %s\n", traces.Escape(n))
	}
}

// writeSynth writes the log of m to out (standard output for "" or "-");
// a failed write leaves out as it was.
func (sf *synthFlags) writeSynth(cmd *cobra.Command, m traces.SynthModel, out string) error {
	if out == "" || out == "-" {
		return traces.SynthesizeProgress(cmd.OutOrStdout(), m, synthProgress(cmd, m, true))
	}
	if err := sf.checkSynthDisk(cmd, m, out, strings.HasSuffix(out, ".gz")); err != nil {
		return err
	}
	if err := writeLogOutput(nil, out, func(w io.Writer) error {
		return traces.SynthesizeProgress(w, m, synthProgress(cmd, m, false))
	}); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d lines (model %s, seed %d) to %s\n", m.Requests, m.Name, m.Seed, out)
	return nil
}
