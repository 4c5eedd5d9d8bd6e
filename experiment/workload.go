package experiment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lvslab/lvslab/traces"
)

// LoadOptions say how LoadWorkload treats log lines that do not parse:
// with Strict the first is an error; otherwise they are dropped (counted
// under "malformed") and their count and the first few, as file:line:
// reason, go to Report (nil: nowhere), as "lvslab trace stats" reports
// them.
//
// KeepDynamic keeps the dynamic requests (a query string or cgi-bin) that
// the reference filters drop, flagged traces.Request.Dynamic (the
// simulator charges them Costs.DynamicFactor and never caches them); the
// workload's name then ends in DynamicSuffix, so that results say so.
type LoadOptions struct {
	Strict      bool
	KeepDynamic bool
	Report      io.Writer
}

// DynamicSuffix ends the name of a workload loaded with KeepDynamic.
const DynamicSuffix = " (dynamic kept)"

// maxReportedLines is how many unparsable lines LoadWorkload shows.
const maxReportedLines = 5

// LoadWorkload loads a trace spec under the reference filters
// (docs/reference-model.md, workload rule 1):
//
//	default               the trace embedded in the binary
//	synth:PRESET[:N]      a synthetic workload (traces.SynthPreset), N requests
//	a.log[+b.log...]      log files, merged in order into one workload
//
// Relative paths start at dir.
func LoadWorkload(spec, dir string, o LoadOptions) (*traces.Workload, error) {
	var w *traces.Workload
	var err error
	switch {
	case spec == "":
		return nil, errors.New("trace: empty name")
	case spec == "default":
		f := traces.ReferenceFilter()
		f.DropDynamic = !o.KeepDynamic
		w, err = traces.LoadDefault(f)
	case strings.HasPrefix(spec, "synth:"):
		var m traces.SynthModel
		if m, err = SynthModel(strings.TrimPrefix(spec, "synth:")); err == nil {
			if o.KeepDynamic {
				w, err = traces.SynthWorkloadDynamic(m)
			} else {
				w, err = traces.SynthWorkload(m)
			}
		}
	default:
		var paths []string
		for _, p := range strings.Split(spec, "+") {
			if strings.TrimSpace(p) == "" {
				return nil, fmt.Errorf("trace %s: an empty file name in a+b", spec)
			}
			if dir != "" && !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if _, serr := os.Stat(p); serr != nil {
				return nil, fmt.Errorf("trace %s: %w", p, unwrapPathError(serr))
			}
			paths = append(paths, p)
		}
		f := traces.ReferenceFilter()
		f.Strict = o.Strict
		f.DropDynamic = !o.KeepDynamic
		te := &traces.ErrorSample{Max: maxReportedLines}
		f.OnError = te.Add
		w, err = traces.Load(paths, f)
		if o.Report != nil && te.Total > 0 {
			te.Report(o.Report)
			if err == nil {
				fmt.Fprintf(o.Report, "trace %s: %d of %d lines do not parse and were dropped (--strict or strict: true makes the first an error)\n",
					traces.Escape(spec), te.Total, w.Lines)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("trace %s: %w", spec, err)
	}
	if o.KeepDynamic {
		w.Name += DynamicSuffix
	}
	if len(w.Requests) == 0 {
		return nil, fmt.Errorf("trace %s: no request left after the reference filters (GET, status 200, bytes > 0, static): %d lines read, dropped %s",
			spec, w.Lines, formatDropped(w.Dropped))
	}
	return w, nil
}

// SynthModel builds the model of a "synth:PRESET[:REQUESTS]" trace spec
// (without "synth:"); REQUESTS overrides the preset's request count. The
// model is named after the whole spec ("synth:thesis:200000"), so that
// results name exactly what produced them.
func SynthModel(spec string) (traces.SynthModel, error) {
	name, count, hasCount := strings.Cut(spec, ":")
	m, err := traces.SynthPreset(name)
	if err != nil {
		return m, err
	}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return m, fmt.Errorf("request count %q: want a positive integer (synth:PRESET[:REQUESTS])", count)
		}
		m.Requests = n
	}
	m.Name = "synth:" + spec
	return m, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func formatDropped(d map[string]int) string {
	if len(d) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, d[k]))
	}
	return strings.Join(parts, ", ")
}
