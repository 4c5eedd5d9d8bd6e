package main

// Bounds of "lvslab trace synth": the generator's memory grows with the
// targets (checked against --memory-limit), the log with the requests
// (streamed; checked against the free space of the output's file system),
// and long runs show their progress.

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
)

// synthWhere names where a model field comes from: the flag if given,
// else the model file, the fitted logs or the preset.
func (sf *synthFlags) synthWhere(cmd *cobra.Command, flag, key string, v int) string {
	switch {
	case cmd.Flags().Changed(flag):
		return fmt.Sprintf("--%s %d", flag, v)
	case len(sf.fit) > 0:
		return fmt.Sprintf("--fit: %s %d", key, v)
	case sf.model != "":
		return fmt.Sprintf("--model %s: %s %d", sf.model, key, v)
	}
	return fmt.Sprintf("--preset %s: %s %d", sf.preset, key, v)
}

// checkSynthMemory refuses a model whose generator (per-target tables)
// does not fit the memory limit.
func (sf *synthFlags) checkSynthMemory(cmd *cobra.Command, m traces.SynthModel) error {
	g := m.GeneratorBytes()
	return memoryLimit(cmd).check(sf.synthWhere(cmd, "targets", "targets", m.Targets), g,
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

// checkSynthDisk refuses to start writing a log to the file out when its
// estimated size is above the free space of out's file system (counting
// the space out itself takes now, which it gives back).
func (sf *synthFlags) checkSynthDisk(cmd *cobra.Command, m traces.SynthModel, out string, gz bool) error {
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
		sf.synthWhere(cmd, "requests", "requests", m.Requests), traces.HumanBytes(int64(min(need, 1<<62))), m.Requests, per, kind,
		out, traces.HumanBytes(free))
}

// synthProgress returns the progress function of writing m, or nil when
// the log goes to a terminal (its lines are the progress). Each pass over
// the request process (cover: counting, cover: placing, writing) is
// reported on standard error: on a terminal a line rewritten in place,
// otherwise, once the run has lasted 10 s, a plain line every 10 s.
func synthProgress(cmd *cobra.Command, m traces.SynthModel, toStdout bool) func(traces.SynthProgress) {
	if toStdout && workbench.IsTerminal(cmd.OutOrStdout()) {
		return nil
	}
	errw := cmd.ErrOrStderr()
	tty := workbench.IsTerminal(errw)
	start := time.Now()
	passes := 1
	if m.Cover {
		passes = 3
	}
	var (
		p     *workbench.Progress
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
			p = &workbench.Progress{W: errw, TTY: tty, Label: "trace synth", Every: 10 * time.Second,
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
