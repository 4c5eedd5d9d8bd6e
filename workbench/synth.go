package workbench

// "lvslab trace synth": a synthetic log from a seeded workload model. The
// generator's memory grows with the targets (checked against the memory
// limit), the log with the requests (streamed; checked against the free
// space of the output's file system), and long runs show their progress.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/traces"
)

// Synth holds the flags of "lvslab trace synth" as given: the starting
// model (Preset or Model file), the logs to fit it to, and the fields to
// override. Changed reports whether a flag was given.
type Synth struct {
	Preset, Model string
	Fit           []string
	Filter        *TraceFilter // how the Fit logs are read
	Changed       func(flag string) bool

	Name                                    string
	Seed                                    uint64
	Requests, Targets, Clients, Window      int
	Alpha, Locality, Dynamic, Rate          float64
	WorkingSet, TailXm, MaxSize             string
	SizeMu, SizeSigma, TailShare, TailShape float64
	Cover                                   bool
	Start                                   string

	Stdout, Stderr io.Writer
	Mem            *MemLimit
}

// Resolve builds the model: preset or file, then fit, then the flags
// given (Changed).
func (sf *Synth) Resolve() (traces.SynthModel, error) {
	// In a model, 0 stands for a generic default (traces.SynthModel.Resolved:
	// 100,000 requests, whatever the preset has): a 0 given explicitly is
	// refused rather than silently replaced. Leaving the flag out keeps the
	// preset's (or model file's, or fit's) value.
	for _, p := range []struct {
		name string
		v    float64
	}{
		{"requests", float64(sf.Requests)}, {"targets", float64(sf.Targets)},
		{"locality-window", float64(sf.Window)}, {"clients", float64(sf.Clients)}, {"rate", sf.Rate},
	} {
		if sf.Changed(p.name) && !(p.v > 0) {
			return traces.SynthModel{}, fmt.Errorf("--%s: must be > 0 (got %v; leave the flag out for the model's value)", p.name, p.v)
		}
	}
	var m traces.SynthModel
	var err error
	switch {
	case sf.Model != "" && sf.Changed("preset"):
		return m, errors.New("give --preset or --model, not both")
	case sf.Model != "":
		if m, err = ReadSynthModel(sf.Model); err != nil {
			return m, err
		}
	default:
		if m, err = traces.SynthPreset(sf.Preset); err != nil {
			return m, fmt.Errorf("--preset: %w", err)
		}
	}
	if len(sf.Fit) > 0 {
		f, te, err := sf.Filter.Filter(sf.Changed)
		if err != nil {
			return m, err
		}
		w, err := traces.Load(sf.Fit, f)
		te.Report(sf.Stderr)
		if err != nil {
			return m, fmt.Errorf("--fit: %w", err)
		}
		fit, err := traces.FitSynthDetail(w)
		if err != nil {
			return m, fmt.Errorf("--fit %s: %w", strings.Join(sf.Fit, ","), err)
		}
		WriteFitSummary(sf.Stderr, fit)
		seed, start := m.Seed, m.Start
		m = fit.Model
		m.Seed, m.Start = seed, start
	}

	set := sf.Changed
	bytesFlag := func(name, v string, dst *int64) error {
		n, err := traces.ParseBytes(v)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		*dst = n
		return nil
	}
	if set("name") {
		m.Name = sf.Name
	}
	if set("seed") {
		m.Seed = sf.Seed
	}
	if set("requests") {
		m.Requests = sf.Requests
	}
	if set("targets") {
		m.Targets = sf.Targets
	}
	if set("alpha") {
		m.Alpha = sf.Alpha
		if m.Alpha == 0 { // 0 means "default" in a model: ask for uniform
			m.Alpha = math.SmallestNonzeroFloat64
		}
	}
	if set("working-set") {
		if err := bytesFlag("working-set", sf.WorkingSet, &m.WorkingSet); err != nil {
			return m, err
		}
	}
	if set("cover") {
		m.Cover = sf.Cover
	}
	if set("locality") {
		m.TemporalLocality = sf.Locality
	}
	if set("locality-window") {
		m.LocalityWindow = sf.Window
	}
	if set("dynamic-share") {
		m.DynamicShare = sf.Dynamic
	}
	if set("clients") {
		m.Clients = sf.Clients
	}
	if set("rate") {
		m.Rate = sf.Rate
	}
	if set("start") {
		if m.Start, err = ParseTraceTime("--start", sf.Start); err != nil {
			return m, err
		}
		if m.Start.IsZero() { // a model's zero Start means its default one
			return m, fmt.Errorf("--start %s: the zero time (0001-01-01T00:00:00Z) stands for the default start in a model; give another time", sf.Start)
		}
	}
	if set("size-mu") || set("size-sigma") || set("tail-share") || set("tail-xm") || set("tail-shape") || set("max-size") {
		m = m.Resolved() // edit the resolved sizes, not the zero value
		if set("size-mu") {
			m.Sizes.Mu = sf.SizeMu
		}
		if set("size-sigma") {
			m.Sizes.Sigma = sf.SizeSigma
		}
		if set("tail-share") {
			m.Sizes.TailShare = sf.TailShare
		}
		if set("tail-shape") {
			m.Sizes.TailShape = sf.TailShape
		}
		var n int64
		if set("tail-xm") {
			if err := bytesFlag("tail-xm", sf.TailXm, &n); err != nil {
				return m, err
			}
			m.Sizes.TailXm = float64(n)
		}
		if set("max-size") {
			if err := bytesFlag("max-size", sf.MaxSize, &n); err != nil {
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

// ReadSynthModel reads a YAML (or JSON) model file; unknown keys are errors.
func ReadSynthModel(path string) (traces.SynthModel, error) {
	var m traces.SynthModel
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("--model: %w", err)
	}
	if m, err = ParseSynthModel(data); err != nil {
		return m, fmt.Errorf("--model %s: %w", path, err)
	}
	return m, nil
}

// ParseSynthModel reads a model (YAML or JSON, as PrintSynthModel writes
// it); unknown keys are errors.
func ParseSynthModel(data []byte) (traces.SynthModel, error) {
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

// PrintSynthModel writes m as format: yaml or json.
func PrintSynthModel(w io.Writer, format string, m traces.SynthModel) error {
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

// WriteFitSummary reports what --fit estimated, on one line per topic.
func WriteFitSummary(w io.Writer, f traces.SynthFit) {
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

// Write writes the log of m to out (Stdout for "" or "-"), after checking
// that its generator fits the memory limit and, for a file, that its
// estimated size fits the free space of out's file system; a failed write
// leaves out as it was. Progress goes to Stderr.
func (sf *Synth) Write(m traces.SynthModel, out string) error {
	if err := sf.checkMemory(m); err != nil {
		return err
	}
	if out == "" || out == "-" {
		return traces.SynthesizeProgress(sf.Stdout, m, sf.progress(m, true))
	}
	if err := sf.checkDisk(m, out, strings.HasSuffix(out, ".gz")); err != nil {
		return err
	}
	if err := WriteLogOutput(nil, out, func(w io.Writer) error {
		return traces.SynthesizeProgress(w, m, sf.progress(m, false))
	}); err != nil {
		return err
	}
	fmt.Fprintf(sf.Stderr, "wrote %d lines (model %s, seed %d) to %s\n", m.Requests, m.Name, m.Seed, out)
	return nil
}

// synthWhere names where a model field comes from: the flag if given,
// else the model file, the fitted logs or the preset.
func (sf *Synth) synthWhere(flag, key string, v int) string {
	switch {
	case sf.Changed(flag):
		return fmt.Sprintf("--%s %d", flag, v)
	case len(sf.Fit) > 0:
		return fmt.Sprintf("--fit: %s %d", key, v)
	case sf.Model != "":
		return fmt.Sprintf("--model %s: %s %d", sf.Model, key, v)
	}
	return fmt.Sprintf("--preset %s: %s %d", sf.Preset, key, v)
}

// checkMemory refuses a model whose generator (per-target tables)
// does not fit the memory limit.
func (sf *Synth) checkMemory(m traces.SynthModel) error {
	g := m.GeneratorBytes()
	return sf.Mem.Check(sf.synthWhere("targets", "targets", m.Targets), g,
		fmt.Sprintf("~%d bytes a target for sizes, popularity and cover; the log itself streams", g/int64(max(m.Targets, 1))))
}

// synthSample is the number of lines written to estimate a log's size,
// over at most synthSampleTargets targets.
const (
	synthSample        = 20_000
	synthSampleTargets = 100_000
)

// synthLineBytes estimates the bytes a line of m's log takes, gzipped or
// not, from a sample: the first lines of a model without cover (which
// only swaps targets) and, for a large population, with fewer targets of
// the same mean size, so that the sample costs little whatever m.
func synthLineBytes(m traces.SynthModel, gz bool) (float64, error) {
	s := m.Resolved()
	s.Requests = min(s.Requests, synthSample)
	s.Cover = false
	if s.Targets > synthSampleTargets {
		if s.WorkingSet > 0 {
			s.WorkingSet = int64(float64(s.WorkingSet) / float64(s.Targets) * synthSampleTargets)
		}
		s.Targets = synthSampleTargets
	}
	var cw countingWriter
	var w io.Writer = &cw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&cw)
		w = zw
	}
	if err := traces.Synthesize(w, s); err != nil {
		return 0, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return 0, err
		}
	}
	return float64(cw.n) / float64(s.Requests), nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// checkDisk refuses to start writing a log to the file out when its
// estimated size is above the free space of out's file system (counting
// the space out itself takes now, which it gives back).
func (sf *Synth) checkDisk(m traces.SynthModel, out string, gz bool) error {
	if m.Requests <= synthSample {
		return nil // a small log: not worth a sample
	}
	free, ok := diskFree(filepath.Dir(out))
	if !ok {
		return nil
	}
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		free += fi.Size()
	}
	per, err := synthLineBytes(m, gz)
	if err != nil {
		return err
	}
	need := per * float64(m.Requests)
	if need <= float64(free) {
		return nil
	}
	kind := ""
	if gz {
		kind = " gzipped"
	}
	return fmt.Errorf("%s: the log needs ~%s of disk (%d lines of ~%.1f bytes%s), but the file system of %s has %s free",
		sf.synthWhere("requests", "requests", m.Requests), traces.HumanBytes(int64(min(need, 1<<62))), m.Requests, per, kind,
		out, traces.HumanBytes(free))
}

// progress returns the progress function of writing m, or nil when
// the log goes to a terminal (its lines are the progress). Each pass over
// the request process (cover: counting, cover: placing, writing) is
// reported on standard error: on a terminal a line rewritten in place,
// otherwise, once the run has lasted 10 s, a plain line every 10 s.
func (sf *Synth) progress(m traces.SynthModel, toStdout bool) func(traces.SynthProgress) {
	if toStdout && IsTerminal(sf.Stdout) {
		return nil
	}
	errw := sf.Stderr
	tty := IsTerminal(errw)
	start := time.Now()
	passes := 1
	if m.Cover {
		passes = 3
	}
	var (
		p     *Progress
		phase string
		pass  int
	)
	return func(s traces.SynthProgress) {
		if s.Phase != phase {
			// A new pass: a new estimate of the time left; plain lines
			// still wait for the run's first 10 s.
			phase = s.Phase
			pass = min(pass+1, passes)
			if phase == traces.SynthWriting {
				pass = passes
			}
			p = &Progress{W: errw, TTY: tty, Label: "trace synth", Every: 10 * time.Second,
				Quiet: max(10*time.Second-time.Since(start), 0)}
			p.Start()
		}
		unit := "requests"
		if phase == traces.SynthWriting {
			unit = "lines"
		}
		note := phase
		if passes > 1 {
			note = fmt.Sprintf("%s (pass %d of %d)", phase, pass, passes)
		}
		p.Report(int64(s.Done), int64(s.Total), unit, note)
	}
}
