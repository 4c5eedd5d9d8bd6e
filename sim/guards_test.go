package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/models"
)

// Absurd parameters end in a clear error or a normal result, never in an
// exhausted memory or a run that does not end.
func TestAbsurdParameters(t *testing.T) {
	w := workload([]int64{1000, 2000, 3000}, 0, 1, 2, 0)
	w.Requests[3].Time = time.Hour
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string // "" = the run succeeds
	}{
		// Slots are bounded by the trace, not by Nodes×High.
		{"huge high", Config{Nodes: 4, Algorithm: "wrr", Low: 1, High: 1 << 31}, ""},
		{"tiny interval", Config{Nodes: 1, Algorithm: "wrr", Interval: time.Nanosecond}, "interval: 1ns makes more than"},
		{"tiny speedup", Config{Nodes: 1, Algorithm: "wrr", Admission: AdmissionOpen, Speedup: 1e-300}, "speedup: request 3's trace time 1h0m0s"},
		// A long run blames the service time that makes it long, not the
		// interval.
		{"huge cls lookup", Config{Nodes: 1, Algorithm: "wrr", FrontEnd: FrontEndDistributed, CLSLookup: 1000 * time.Hour},
			"sim: cls_lookup/interval: 1000h0m0s (default 20µs) makes the run pass"},
		{"huge disk access", Config{Nodes: 1, Algorithm: "wrr", Costs: models.Costs{DiskAccess: 2000 * time.Hour}},
			"sim: costs.disk_access/interval: 2000h0m0s (default 28ms)"},
		{"tiny dflb interval", Config{Nodes: 1, Algorithm: "dflb", DFLBInterval: time.Nanosecond}, "dflb_interval: must be at least 1ms"},
		{"huge distributors", Config{Nodes: 1, Algorithm: "wrr", FrontEnd: FrontEndDistributed, Distributors: 1 << 40}, "distributors: at most 65536"},
		// 4096 nodes' counts in every bucket: the series stops at
		// MaxSeriesNodeValues/4096 = 4096 buckets, not MaxSeries; half
		// that with their weights too.
		{"counts of many nodes", Config{Nodes: 4096, Algorithm: "wrr", Admission: AdmissionOpen, Interval: time.Millisecond},
			"more than 4096 time-series buckets holding 4096 per-node values each"},
		{"weights of many nodes", Config{Nodes: 4096, Algorithm: "dflb", Admission: AdmissionOpen, Interval: time.Millisecond},
			"more than 2048 time-series buckets holding 8192 per-node values each"},
		// The monitor measures only CPU: DFLB coefficients that ignore it
		// would leave every weight alone (an unmeasured metric is absent).
		{"dflb blind to cpu", Config{Nodes: 1, Algorithm: "dflb", Options: algorithms.Options{DFLB: algorithms.DFLBParams{Coefficients: [6]float64{1}}}},
			"sim: options.dflb.coefficients: [1 0 0 0 0 0] gives the CPU load"},
		{"dflb web coefficients", Config{Nodes: 2, Algorithm: "dflb", Options: algorithms.Options{DFLB: algorithms.DefaultDFLBParams()}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(tc.cfg, w)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr == "" && res.Completed != len(w.Requests):
				t.Fatalf("completed %d of %d", res.Completed, len(w.Requests))
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// With nothing in the cluster at a monitor tick the mean load is 0, and
// DFLB's aggregate load is 0.95 for every node (docs/reference-model.md): the
// weights stay at their default, 10. Request 0 completes at 28.77 ms;
// request 1 arrives at 20 s (open admission), after three empty ticks.
func TestDFLBZeroMeanLoad(t *testing.T) {
	w := workload([]int64{1000, 1000}, 0, 1)
	w.Requests[1].Time = 20 * time.Second
	res, err := Run(Config{Nodes: 2, Algorithm: "dflb", Admission: AdmissionOpen, Interval: time.Second}, w)
	if err != nil {
		t.Fatal(err)
	}
	// Samples are taken at each interval's end, before that instant's
	// events: those up to 20 s see the ticks at 5, 10 and 15 s only. (At
	// 20 s request 1 is in the cluster and weights move, as they should.)
	for _, s := range res.Series {
		if s.Start >= 20*time.Second {
			break
		}
		for i, wt := range s.Weights {
			if wt != 10 {
				t.Fatalf("at %v node %d has weight %v, want 10 (mean load 0 means aggregate 0.95)", s.Start, i, wt)
			}
		}
	}
	if len(res.Series) < 20 || res.Series[15].Weights == nil || res.Series[20].Weights[0] == 10 {
		t.Fatalf("series %d samples; want weights sampled past the first ticks, moving once request 1 arrives", len(res.Series))
	}
}

// The cluster hit ratio counts requests served by nodes: requests served
// by the origin (bypass) are neither hits nor misses. Object 1 is bypassed;
// objects 0, 0 are a miss and then a hit: 1 hit of 2 served.
func TestHitRatioExcludesBypassed(t *testing.T) {
	res, err := Run(Config{Nodes: 1, Algorithm: "simtest-bypass", Low: 1, High: 1}, workload([]int64{1000, 1000}, 0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Bypassed != 1 || res.HitRatio != 0.5 {
		t.Fatalf("bypassed %d, hit ratio %v; want 1 and 0.5", res.Bypassed, res.HitRatio)
	}
}
