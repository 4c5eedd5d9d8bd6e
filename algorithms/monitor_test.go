package algorithms

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// cpuSamples returns one sample per value, server IDs 0.., CPU measured.
func cpuSamples(xs ...float64) []Load {
	out := make([]Load, len(xs))
	for i, x := range xs {
		out[i] = Load{ID: ServerID(i), Responsive: true}
		out[i].Set(MetricCPU, x)
	}
	return out
}

func cpuOf(loads []Load) []float64 {
	out := make([]float64, len(loads))
	for i, l := range loads {
		out[i] = l.CPU
	}
	return out
}

// Reference: thesis §4.3 (every 5 s, load = load×11/12 + conns×1/12) and
// docs/reference-model.md, DFLB in the thesis preset (CPU = 0.95 × load / mean
// load, or 0.95 when the mean is 0). Values computed by hand.
func TestMonitorTick(t *testing.T) {
	type tick struct {
		samples []Load
		want    []float64 // normalised CPU per sample
	}
	tests := []struct {
		name  string
		cfg   MonitorConfig
		ticks []tick
	}{
		{
			// Tick 1: load = conns/12 = 1, 0, 2; mean 1.
			// Tick 2: load = 11/12, 1, 22/12; mean 3.75/3 = 1.25;
			// 0.95·(11/12)/1.25 = 0.696667, 0.95·0.8 = 0.76, 0.95·(22/12)/1.25 = 1.393333.
			name: "thesis monitor",
			ticks: []tick{
				{cpuSamples(12, 0, 24), []float64{0.95, 0, 1.9}},
				{cpuSamples(0, 12, 0), []float64{0.95 * (11.0 / 12) / 1.25, 0.76, 0.95 * (22.0 / 12) / 1.25}},
			},
		},
		{
			// An idle cluster: the mean is 0 and every node reads 0.95, so
			// DFLB keeps every weight.
			name:  "zero mean reads target",
			ticks: []tick{{cpuSamples(0, 0, 0), []float64{0.95, 0.95, 0.95}}},
		},
		{
			// Equal loads: exactly 0.95 each, not 0.95 ± 1e-16.
			name:  "at the mean exactly target",
			ticks: []tick{{cpuSamples(7, 7, 7), []float64{0.95, 0.95, 0.95}}, {cpuSamples(3, 3, 3), []float64{0.95, 0.95, 0.95}}},
		},
		{
			// Window 1 is no smoothing; target 1: M = x / mean.
			// Tick 2: 2, 6; mean 4: 0.5, 1.5.
			name: "window 1, target 1",
			cfg:  MonitorConfig{Window: 1, Target: 1},
			ticks: []tick{
				{cpuSamples(1, 3), []float64{0.5, 1.5}},
				{cpuSamples(2, 6), []float64{0.5, 1.5}},
			},
		},
		{
			// Window 4: s = s·3/4 + x/4. Tick 1: 1, 3 (mean 2: 0.5, 1.5 at
			// target 1). Tick 2 with x = 4, 0: s = 0.75+1 = 1.75, 2.25; mean
			// 2: 0.875, 1.125.
			name: "window 4",
			cfg:  MonitorConfig{Window: 4, Target: 1},
			ticks: []tick{
				{cpuSamples(4, 12), []float64{0.5, 1.5}},
				{cpuSamples(4, 0), []float64{0.875, 1.125}},
			},
		},
		{
			// Absolute metrics are smoothed only: utilisation 0.6, then
			// 0.6·11/12 + 1.2/12 = 0.65.
			name: "absolute metric",
			cfg:  MonitorConfig{Absolute: MetricCPU},
			ticks: []tick{
				{cpuSamples(7.2, 0), []float64{0.6, 0}},
				{cpuSamples(1.2, 0), []float64{0.65, 0}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMonitor(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := NewWeighted(1, 1, 1)
			for i, tk := range tt.ticks {
				loads, err := m.Tick(tk.samples, p)
				if err != nil {
					t.Fatalf("tick %d: %v", i, err)
				}
				got := cpuOf(loads)
				for j := range got {
					if math.Abs(got[j]-tk.want[j]) > 1e-12 || (tk.want[j] == 0.95 && got[j] != 0.95) {
						t.Fatalf("tick %d: CPU %v, want %v", i, got, tk.want)
					}
					if loads[j].ID != tk.samples[j].ID || loads[j].Measured != MetricCPU || !loads[j].Responsive {
						t.Fatalf("tick %d: load %d is %+v", i, j, loads[j])
					}
				}
			}
		})
	}
}

// Each metric is smoothed and normalised on its own, over the samples
// that measured it; unmeasured metrics stay absent and keep their
// smoothed value; Responsive passes through.
func TestMonitorMetricsAreIndependent(t *testing.T) {
	m, _ := NewMonitor(MonitorConfig{Window: 1, Target: 1})
	p, _ := NewWeighted(1, 1, 1)
	s0 := Load{ID: 0, Responsive: true}
	s0.Set(MetricCPU, 2)
	s0.Set(MetricResponse, 30)
	s1 := Load{ID: 1}
	s1.Set(MetricCPU, 6)
	s2 := Load{ID: 2, Responsive: true}
	s2.Set(MetricResponse, 10)
	loads, err := m.Tick([]Load{s0, s1, s2}, p)
	if err != nil {
		t.Fatal(err)
	}
	// CPU mean over servers 0 and 1: 4; response mean over 0 and 2: 20.
	want := []Load{
		{ID: 0, Measured: MetricCPU | MetricResponse, CPU: 0.5, Response: 1.5, Responsive: true},
		{ID: 1, Measured: MetricCPU, CPU: 1.5},
		{ID: 2, Measured: MetricResponse, Response: 0.5, Responsive: true},
	}
	if fmt.Sprint(loads) != fmt.Sprint(want) {
		t.Fatalf("loads\n%+v\nwant\n%+v", loads, want)
	}
	// Server 2 reports nothing this tick: no Load for it, and its smoothed
	// response time is kept.
	loads, err = m.Tick(cpuSamples(1, 3), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(loads) != 2 {
		t.Fatalf("%d loads for 2 samples", len(loads))
	}
	if got, _ := m.Smoothed(2); got.Response != 10 || got.Measured != MetricResponse {
		t.Errorf("server 2 smoothed %+v, want response 10 kept", got)
	}
	if got, _ := m.Smoothed(0); got.CPU != 1 || got.Response != 30 || got.Measured != MetricCPU|MetricResponse {
		t.Errorf("server 0 smoothed %+v, want CPU 1, response 30", got)
	}
}

// Tick sets every pool server's Server.Load to Active/High (High 0: 60),
// whether or not it was sampled. Reference: thesis §7.3.1 (LBLL's T = 1).
func TestMonitorServerLoad(t *testing.T) {
	p, _ := NewPool(Server{ID: 0, Weight: 1, High: 60}, Server{ID: 1, Weight: 1, High: 10}, Server{ID: 5, Weight: 1})
	chkNoErr(t, p.Begin(0, 30))
	chkNoErr(t, p.Begin(1, 15))
	chkNoErr(t, p.Begin(5, 6))
	chkNoErr(t, p.Adjust(5, 0, 9)) // inactive connections do not count
	m, _ := NewMonitor(MonitorConfig{})
	gen := p.Generation()
	if _, err := m.Tick(nil, p); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[ServerID]float64{0: 0.5, 1: 1.5, 5: 0.1} {
		if got := p.Get(id).Load; got != want {
			t.Errorf("server %d: Load %v, want %v", id, got, want)
		}
	}
	if p.Generation() != gen {
		t.Error("Tick changed the pool's generation")
	}
}

func TestMonitorErrors(t *testing.T) {
	neg := cpuSamples(1, -1)
	nan := cpuSamples(1, math.NaN())
	hidden := cpuSamples(1, 1)
	hidden[1].Disk = 3
	tests := []struct {
		name    string
		samples []Load
		is      error
	}{
		{"unknown server", []Load{{ID: 9}}, ErrUnknownServer},
		{"second sample", []Load{cpuSamples(1)[0], cpuSamples(2)[0]}, nil},
		{"negative", neg, nil},
		{"NaN", nan, nil},
		{"value outside Measured", hidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := NewMonitor(MonitorConfig{})
			p, _ := NewWeighted(1, 1)
			if _, err := m.Tick(cpuSamples(12, 24), p); err != nil {
				t.Fatal(err)
			}
			before0, _ := m.Smoothed(0)
			_, err := m.Tick(tt.samples, p)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Tick error %v, want one (errors.Is %v)", err, tt.is)
			}
			if after0, _ := m.Smoothed(0); after0 != before0 {
				t.Errorf("a rejected Tick changed server 0: %+v -> %+v", before0, after0)
			}
			// The monitor still works, and duplicates are told per call.
			if _, err := m.Tick(cpuSamples(1, 1), p); err != nil {
				t.Errorf("next Tick: %v", err)
			}
		})
	}
	for _, cfg := range []MonitorConfig{{Window: -1}, {Target: -1}, {Target: math.Inf(1)}, {Target: math.NaN()}, {Absolute: 1 << 7}} {
		if _, err := NewMonitor(cfg); err == nil {
			t.Errorf("NewMonitor(%+v) succeeded", cfg)
		}
	}
	m, _ := NewMonitor(MonitorConfig{})
	if got := m.Config(); got != DefaultMonitorConfig() {
		t.Errorf("zero config resolves to %+v, want %+v", got, DefaultMonitorConfig())
	}
}

// A server that leaves the pool is forgotten; back, it starts from 0.
func TestMonitorForgetsRemovedServers(t *testing.T) {
	m, _ := NewMonitor(MonitorConfig{Window: 2, Target: 1})
	p, _ := NewWeighted(1, 1)
	if _, err := m.Tick(cpuSamples(4, 4), p); err != nil {
		t.Fatal(err)
	}
	chkNoErr(t, p.Remove(1))
	if _, err := m.Tick(cpuSamples(4), p); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Smoothed(1); ok {
		t.Fatal("removed server 1 still has state")
	}
	chkNoErr(t, p.Add(Server{ID: 1, Weight: 1}))
	if _, err := m.Tick(cpuSamples(4, 4), p); err != nil {
		t.Fatal(err)
	}
	// Server 0: 2, 3, 3.5; server 1 again from 0: 2.
	if got, _ := m.Smoothed(1); got.CPU != 2 {
		t.Errorf("re-added server 1 smoothed CPU %v, want 2", got.CPU)
	}
	if got, _ := m.Smoothed(0); got.CPU != 3.5 {
		t.Errorf("server 0 smoothed CPU %v, want 3.5", got.CPU)
	}
}

// The monitor computes exactly, bit for bit, what the simulator's monitor
// computed inline before it was shared: load = load*11/12 + conns/12,
// CPU = 0.95 * (load / mean) over all nodes, 0.95 when the mean is 0.
// Reference: docs/reference-model.md, DFLB.
func TestMonitorMatchesInlineReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 3))
	for _, n := range []int{1, 2, 7, 16} {
		m, _ := NewMonitor(DefaultMonitorConfig())
		p, _ := NewWeighted(make([]int, n)...)
		ref := make([]float64, n)
		for tick := range 500 {
			conns := make([]float64, n)
			for i := range conns {
				if rng.IntN(10) > 0 {
					conns[i] = float64(rng.IntN(121))
				}
			}
			mean := 0.0
			for i := range ref {
				ref[i] = ref[i]*11/12 + conns[i]/12
				mean += ref[i]
			}
			mean /= float64(n)
			loads, err := m.Tick(cpuSamples(conns...), p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ref {
				want := 0.95
				if mean != 0 {
					want = 0.95 * (ref[i] / mean)
				}
				if loads[i].CPU != want {
					t.Fatalf("n=%d tick %d node %d: CPU %v, inline reference %v", n, tick, i, loads[i].CPU, want)
				}
			}
		}
	}
}

// The monitor feeding DFLB: an overloaded node loses weight, an idle one
// gains, one at the mean keeps its weight. Reference: §4.2.4.
func ExampleMonitor() {
	pool, _ := NewWeighted(10, 10, 10)
	s, _ := New("dflb", Options{DFLB: DFLBParams{Coefficients: [6]float64{0, 1, 0, 0, 0, 0}}})
	dflb := s.(*DFLB)
	mon, _ := NewMonitor(DefaultMonitorConfig())

	// One interval's connection counts, as a host measured them.
	samples := make([]Load, 3)
	for i, conns := range []float64{60, 30, 0} {
		samples[i] = Load{ID: ServerID(i), Responsive: true}
		samples[i].Set(MetricCPU, conns)
	}
	loads, _ := mon.Tick(samples, pool)
	_ = dflb.Feedback(0, loads, pool)
	w := dflb.Weights()
	fmt.Printf("CPU %.2f %.2f %.2f\n", loads[0].CPU, loads[1].CPU, loads[2].CPU)
	fmt.Printf("weights %.2f %.2f %.2f\n", w[0], w[1], w[2])
	// Output:
	// CPU 1.90 0.95 0.00
	// weights 5.08 10.00 14.92
}
