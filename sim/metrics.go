package sim

import (
	"math"
	"slices"
	"time"

	"github.com/lvslab/lvslab/internal/version"
)

// cdfPoints is the number of points of Result.ResponseCDF.
const cdfPoints = 100

// result assembles the Result of a finished run.
func (e *engine) result() *Result {
	n := len(e.w.Requests)
	unserved := n - e.next
	r := &Result{
		Version:   version.Version,
		Trace:     e.w.Name,
		Config:    e.cfg,
		Requests:  n,
		Completed: e.completed,
		Bypassed:  e.bypassed,
		Failed:    e.failed + unserved,
		Unserved:  unserved,
		Makespan:  e.lastDone,
	}
	secs := e.lastDone.Seconds()
	if secs > 0 {
		r.ThroughputRPS = float64(e.completed) / secs
		r.ThroughputMBps = float64(e.bytes) / 1e6 / secs
	}
	served := e.completed - e.bypassed
	if served > 0 {
		r.HitRatio = float64(e.hits) / float64(served)
	}

	slices.Sort(e.responses)
	if len(e.responses) > 0 {
		r.P50 = quantile(e.responses, 0.50)
		r.P95 = quantile(e.responses, 0.95)
		r.P99 = quantile(e.responses, 0.99)
		var sum float64
		for _, d := range e.responses {
			sum += float64(d)
		}
		r.MeanResponse = time.Duration(math.Round(sum / float64(len(e.responses))))
		r.ResponseCDF = make([]CDFPoint, cdfPoints)
		for k := range cdfPoints {
			p := float64(k+1) / cdfPoints
			r.ResponseCDF[k] = CDFPoint{Time: quantile(e.responses, p), Fraction: p}
		}
	}

	r.Nodes = make([]NodeResult, len(e.nodes))
	counts := make([]float64, len(e.nodes))
	for i := range e.nodes {
		nd := &e.nodes[i]
		nr := NodeResult{Node: i, Requests: nd.served, Hits: nd.hits, Bytes: nd.bytes}
		if nd.served > 0 {
			nr.HitRatio = float64(nd.hits) / float64(nd.served)
		}
		if span := max(e.lastDone, e.lastLeave); span > 0 {
			nr.CPUUtil = float64(nd.cpu.busy) / float64(span)
			nr.DiskUtil = float64(nd.disk.busy) / float64(span)
		}
		r.Nodes[i] = nr
		counts[i] = float64(nd.served)
	}
	r.Imbalance = cov(counts)

	// The series covers [0, last departure] (the makespan unless a request
	// was lost after the last completion): intervals whose end the run
	// passed were sampled when it did; the rest are closed with the final
	// state.
	buckets := int(max(e.lastDone, e.lastLeave)/e.cfg.Interval) + 1
	for e.sampled < buckets {
		e.sample()
	}
	r.Series = e.series[:buckets]
	return r
}

// quantile returns the nearest-rank p-quantile of sorted (p in (0, 1]):
// the smallest sample with at least a fraction p of the samples at or
// below it, sorted[ceil(p·n) - 1].
func quantile(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// cov is the coefficient of variation (population standard deviation over
// mean) of xs, 0 when the mean is 0.
func cov(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
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
