package workbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/internal/version"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed/load"
)

// LoadOptions say what RunLoad does around the load generator's run.
type LoadOptions struct {
	// Summary, if not nil, receives the run's account in wall time
	// (load.Result.WriteSummary).
	Summary io.Writer
	// Records, if not "", is the file that receives every request's
	// outcome as CSV (load.WriteRecords), written atomically.
	Records string
}

// RunLoad runs the load generator (load.Run) until every request has
// finished or ctx ends, checks that every request is accounted for, and
// writes the summary and the records. The result is in wall time;
// LiveResult expresses it in the simulator's schema.
func RunLoad(ctx context.Context, cfg load.Config, o LoadOptions) (*load.Result, error) {
	r, err := load.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := r.Check(); err != nil {
		return nil, err // a bug: say so rather than write results that lose requests
	}
	if o.Summary != nil {
		r.WriteSummary(o.Summary)
	}
	if o.Records != "" {
		if err := atomicfile.Write(o.Records, func(w io.Writer) error { return load.WriteRecords(w, r) }); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// LiveOptions describe a live run for its result: what the load
// generator cannot know.
type LiveOptions struct {
	// Algorithm is the director's scheduler, FrontEnd its kind. Defaults
	// "direct" and "l7" ("direct": no director, the load went straight
	// to one back end).
	Algorithm, FrontEnd string

	// Nodes is the number of back ends behind the URL. Default: the
	// number of load reports read, or 1.
	Nodes int

	// TimeScale is the back ends' time scale (model time = wall time ×
	// TimeScale). Default: the one every load report gives, else 1.
	TimeScale float64
}

// LiveResult expresses a load run in the simulator's result schema, so
// that WriteCSV, WriteJSON, plots and sweep merges take live results as
// they are; times are converted to model time (wall time × TimeScale), so
// that a live run and its simulation can be compared figure by figure.
//
// Measured live: requests, completed (status 200 with the whole body),
// failed (failed + unsent) and unserved (unsent), makespan (the last
// success), throughput (completed and MB / makespan), hit ratio (the hits
// the responses' X-Lvslab-Cache header reported / completed), response-time
// percentiles, mean and CDF (from when each request was due to its last
// byte), the time series (completed, hits, failed, in flight). Per node,
// from the back ends' load reports before and after the run: requests, hits, hit
// ratio, bytes, CPU and disk utilisation; imbalance is the coefficient of
// variation of their requests. Taken from the load reports when they agree:
// config cache_bytes, cache_policy and costs.
//
// Not applicable, left zero: bypassed, seed, the scheduler's options, the
// time series' weights and per-node completions (the load generator does
// not know which back end served a request), and any node figure when no
// load report was read.
// The configuration's admission and speedup are the load generator's;
// high is its concurrency / nodes (the closed loop's limit is nodes ×
// high). HTTP/1.0 or keep-alive is not part of the schema.
func LiveResult(r *load.Result, o LiveOptions) (*sim.Result, error) {
	if o.Algorithm == "" {
		o.Algorithm = "direct"
	}
	if o.FrontEnd == "" {
		o.FrontEnd = sim.FrontEndL7
	}
	var reports []load.Backend
	for _, b := range r.Backends {
		if b.Err == "" {
			reports = append(reports, b)
		}
	}
	if o.Nodes == 0 {
		o.Nodes = max(len(r.Backends), 1)
	}
	if o.TimeScale < 0 || math.IsNaN(o.TimeScale) || math.IsInf(o.TimeScale, 0) {
		return nil, fmt.Errorf("time scale must be a finite number > 0 (got %v)", o.TimeScale)
	}
	if o.TimeScale == 0 {
		scales := uniq(reports, func(b load.Backend) float64 { return b.TimeScale })
		switch len(scales) {
		case 0:
			o.TimeScale = 1
		case 1:
			o.TimeScale = scales[0]
		default:
			return nil, fmt.Errorf("the back ends run at different time scales %v: give the one to convert with", scales)
		}
	}
	scale := func(d time.Duration) time.Duration { return time.Duration(math.Round(float64(d) * o.TimeScale)) }

	cfg := sim.Config{
		Preset: sim.PresetThesis, Nodes: o.Nodes, Algorithm: o.Algorithm, FrontEnd: o.FrontEnd,
		Admission: r.Config.Mode, Speedup: r.Config.Speedup, Interval: scale(r.Config.Interval),
		High: max(1, (r.Config.Concurrency+o.Nodes-1)/o.Nodes),
	}
	if v := uniq(reports, func(b load.Backend) int64 { return b.CacheBytes }); len(v) == 1 {
		cfg.CacheBytes = v[0]
	}
	if v := uniq(reports, func(b load.Backend) string { return b.CachePolicy }); len(v) == 1 {
		cfg.CachePolicy = v[0]
	}
	costs := map[models.Costs]bool{}
	for _, b := range reports {
		costs[b.After.Config.Costs] = true
	}
	if len(costs) == 1 {
		cfg.Costs = reports[0].After.Config.Costs
	}

	res := &sim.Result{
		Version: version.Version, Trace: r.Config.Workload.Name, Config: cfg,
		Requests: r.Requests, Completed: r.OK, Failed: r.Failed + r.Unsent, Unserved: r.Unsent,
		Makespan: scale(r.Makespan),
		P50:      scale(r.P50), P95: scale(r.P95), P99: scale(r.P99), MeanResponse: scale(r.Mean),
	}
	if secs := res.Makespan.Seconds(); secs > 0 {
		res.ThroughputRPS = float64(r.OK) / secs
		res.ThroughputMBps = float64(r.Bytes) / 1e6 / secs
	}
	if r.OK > 0 {
		res.HitRatio = float64(r.Hits) / float64(r.OK)
	}
	for _, p := range r.CDF {
		res.ResponseCDF = append(res.ResponseCDF, sim.CDFPoint{Time: scale(p.Time), Fraction: p.Fraction})
	}
	for _, s := range r.Series {
		res.Series = append(res.Series, sim.Sample{Start: scale(s.Start), Completed: s.Completed, Hits: s.Hits, Failed: s.Failed, InFlight: s.InFlight})
	}
	if len(reports) == len(r.Backends) && len(reports) > 0 {
		counts := make([]float64, len(reports))
		for i, b := range reports {
			res.Nodes = append(res.Nodes, sim.NodeResult{
				Node: i, Requests: int(b.Requests), Hits: int(b.Hits), HitRatio: b.HitRatio,
				CPUUtil: b.CPUUtil, DiskUtil: b.DiskUtil, Bytes: b.Bytes,
			})
			counts[i] = float64(b.Requests)
		}
		res.Imbalance = cov(counts)
	}
	return res, nil
}

// uniq returns the distinct values of f over bs, in order.
func uniq[T comparable](bs []load.Backend, f func(load.Backend) T) []T {
	var out []T
	for _, b := range bs {
		if v := f(b); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// cov is the coefficient of variation (population standard deviation over
// mean) of xs, 0 when the mean is 0, as the simulator computes it.
func cov(xs []float64) float64 {
	var mean float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if mean == 0 {
		return 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(xs))) / mean
}
