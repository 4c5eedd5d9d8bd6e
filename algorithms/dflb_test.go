package algorithms

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// dflbCPU is a responsive load report whose only metric is CPU, for tests
// that use the coefficients {0, 1, 0, 0, 0, 0}.
func dflbCPU(id ServerID, cpu float64) Load {
	return Load{ID: id, Measured: MetricCPU, CPU: cpu, Responsive: true}
}

var dflbCPUOnly = [6]float64{0, 1, 0, 0, 0, 0}

func newTestDFLB(t *testing.T, name string, opts Options, weights ...int) (*DFLB, *Pool) {
	t.Helper()
	s, err := New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewWeighted(weights...)
	if err != nil {
		t.Fatal(err)
	}
	return s.(*DFLB), p
}

func dflbWeightsOf(d *DFLB, p *Pool) []float64 {
	w := d.Weights()
	out := make([]float64, p.Len())
	for i, s := range p.Servers() {
		out[i] = w[s.ID]
	}
	return out
}

// Reference: §4.2.4, the weight update
// w <- w + A·cbrt(0.95 − AGGREGATE), clamped to [0, SCALE·DEFAULT_WEIGHT],
// written only if it changes by more than a threshold.
func TestDFLBWeightUpdate(t *testing.T) {
	cbrt := math.Cbrt
	type step struct {
		loads  []Load
		repeat int // apply loads this many times (0 = once)
		want   []float64
	}
	tests := []struct {
		name    string
		params  DFLBParams
		weights []int
		steps   []step
	}{
		{
			name: "one update by hand", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 10},
			steps: []step{{loads: []Load{dflbCPU(0, 0.5)}, want: []float64{10 + 5*cbrt(0.45), 10}}},
		},
		{
			name: "web default coefficients", weights: []int{10},
			steps: []step{{
				loads: []Load{{ID: 0, Measured: AllMetrics, Input: 0.2, CPU: 0.5, Disk: 1.0, Memory: 0.4, Process: 0.8, Response: 1.2, Responsive: true}},
				want:  []float64{10 + 5*cbrt(0.95-(0.1*0.2+0.3*0.5+0.1*1.0+0.1*0.4+0.1*0.8+0.3*1.2))},
			}},
		},
		{
			name: "overloaded server loses weight, negative cube root", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 4},
			steps: []step{
				{loads: []Load{dflbCPU(0, 1.95), dflbCPU(1, 0.95)}, want: []float64{5, 4}},
				{loads: []Load{dflbCPU(0, 1.95)}, want: []float64{0, 4}},
			},
		},
		{
			name: "clamped at Scale·default", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 3},
			steps: []step{
				{loads: []Load{dflbCPU(0, 0), dflbCPU(1, 0)}, want: []float64{10 + 5*cbrt(0.95), 3 + 5*cbrt(0.95)}},
				{loads: []Load{dflbCPU(0, 0), dflbCPU(1, 0)}, repeat: 30, want: []float64{100, 30}},
			},
		},
		{
			name: "clamped at 0", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10},
			steps: []step{
				{loads: []Load{dflbCPU(0, 10)}, want: []float64{0}}, // 10 + 5·cbrt(−9.05) < 0
				{loads: []Load{dflbCPU(0, 10)}, repeat: 3, want: []float64{0}},
				{loads: []Load{dflbCPU(0, 0.95-0.008)}, want: []float64{1}}, // 5·cbrt(0.008) = 1
			},
		},
		{
			name: "custom A and Scale", params: DFLBParams{Coefficients: dflbCPUOnly, A: 20, Scale: 2}, weights: []int{10, 10},
			steps: []step{{loads: []Load{dflbCPU(0, 0), dflbCPU(1, 0.95-0.001)}, want: []float64{20, 12}}},
		},
		{
			name: "change threshold suppresses small changes", params: DFLBParams{Coefficients: dflbCPUOnly, ChangeThreshold: 1}, weights: []int{10, 10},
			steps: []step{
				{loads: []Load{dflbCPU(0, 0.949), dflbCPU(1, 0.94)}, want: []float64{10, 10 + 5*cbrt(0.95-0.94)}},
				{loads: []Load{dflbCPU(0, 0.949)}, repeat: 10, want: []float64{10, 10 + 5*cbrt(0.95-0.94)}},
			},
		},
		{
			name: "custom target", params: DFLBParams{Coefficients: dflbCPUOnly, Target: 0.5}, weights: []int{10, 10},
			steps: []step{{loads: []Load{dflbCPU(0, 0.5), dflbCPU(1, 0.45)}, want: []float64{10, 10 + 5*cbrt(0.05)}}},
		},
		{
			name: "default weight 0 is never adjusted", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{0, 10},
			steps: []step{
				{loads: []Load{dflbCPU(0, 0), dflbCPU(1, 0)}, want: []float64{0, 10 + 5*cbrt(0.95)}},
				{loads: []Load{{ID: 0}, dflbCPU(0+1, 0.95)}, want: []float64{0, 10 + 5*cbrt(0.95)}},
			},
		},
		{
			name: "unresponsive gets 0, recovers from its default", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 10},
			steps: []step{
				{loads: []Load{dflbCPU(0, 0), dflbCPU(1, 0.95)}, want: []float64{10 + 5*cbrt(0.95), 10}},
				{loads: []Load{{ID: 0, Measured: MetricCPU, CPU: 0.1}}, want: []float64{0, 10}},
				{loads: []Load{{ID: 0}}, repeat: 3, want: []float64{0, 10}},
				{loads: []Load{dflbCPU(0, 1.95)}, want: []float64{5, 10}}, // default 10, then 5·cbrt(−1)
			},
		},
		{
			name: "servers without a report keep their weight", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 10, 10},
			steps: []step{
				{loads: []Load{dflbCPU(1, 1.95)}, want: []float64{10, 5, 10}},
				{loads: nil, want: []float64{10, 5, 10}},
			},
		},
		{
			// docs/reference-model.md: CPU = 0.95·load/mean(load), or 0.95 when
			// the mean is 0, so only imbalance moves weights.
			name: "reference-model preset", params: DFLBParams{Coefficients: dflbCPUOnly}, weights: []int{10, 10, 10},
			steps: []step{
				{loads: dflbPresetLoads(0, 0, 0), want: []float64{10, 10, 10}},
				{loads: dflbPresetLoads(3, 3, 3), repeat: 5, want: []float64{10, 10, 10}},
				{loads: dflbPresetLoads(4, 2, 0), want: []float64{10 + 5*cbrt(0.95-1.9), 10, 10 + 5*cbrt(0.95)}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, p := newTestDFLB(t, "dflb", Options{DFLB: tt.params}, tt.weights...)
			for i, st := range tt.steps {
				for range max(st.repeat, 1) {
					chkNoErr(t, d.Feedback(0, st.loads, p))
				}
				got := dflbWeightsOf(d, p)
				for j := range got {
					if math.Abs(got[j]-st.want[j]) > 1e-9 {
						t.Fatalf("step %d: weights %v, want %v", i, got, st.want)
					}
				}
			}
		})
	}
}

// dflbPresetLoads turns node loads into the reference model's CPU metric.
func dflbPresetLoads(load ...float64) []Load {
	mean := 0.0
	for _, l := range load {
		mean += l
	}
	mean /= float64(len(load))
	out := make([]Load, len(load))
	for i, l := range load {
		cpu := 0.95
		if mean != 0 {
			// 0.95·(load/mean), not (0.95·load)/mean: a node at the mean
			// must give exactly 0.95, because the cube root turns rounding
			// noise of 1e-16 into a weight step of 3e-5.
			cpu = 0.95 * (l / mean)
		}
		out[i] = dflbCPU(ServerID(i), cpu)
	}
	return out
}

// The inner scheduler distributes by DFLB's rounded weights; the host
// pool keeps the administrator's weights and generation.
// Reference: §4.2 (DFLB adjusts the weights WRR/WLC use).
func TestDFLBSchedulesByWeights(t *testing.T) {
	tests := []struct {
		name, sched string
		opts        Options
		end         bool // end every request at once (WRR) or keep it (WLC)
		wantInner   string
	}{
		{"wrr inner", "dflb", Options{}, true, "wrr"},
		{"wlc inner via Options.Inner", "dflb", Options{Inner: "wlc"}, false, "wlc"},
		{"dflb-wlc", "dflb-wlc", Options{Inner: "wrr"}, false, "wlc"}, // forced to wlc
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.DFLB.Coefficients = dflbCPUOnly
			d, p := newTestDFLB(t, tt.sched, tt.opts, 10, 10, 10)
			gen := p.Generation()
			// 10 + 5·cbrt(0.95) = 14.91 -> 15; 10 + 5·cbrt(−1) = 5; 10.
			chkNoErr(t, d.Feedback(0, []Load{dflbCPU(0, 0), dflbCPU(1, 1.95), dflbCPU(2, 0.95)}, p))
			counts := make([]int, 3)
			for range 300 {
				id, err := d.Schedule(0, &Request{}, p)
				if err != nil {
					t.Fatal(err)
				}
				counts[id]++
				chkNoErr(t, p.Begin(id, 1))
				if tt.end {
					chkNoErr(t, p.End(id, 1))
				}
			}
			if want := []int{150, 50, 100}; !slices.Equal(counts, want) {
				t.Errorf("counts %v, want %v", counts, want)
			}
			for i, s := range p.Servers() {
				if s.Weight != 10 {
					t.Errorf("host weight of server %d changed to %d", i, s.Weight)
				}
			}
			if p.Generation() != gen {
				t.Errorf("host generation changed from %d to %d", gen, p.Generation())
			}
			if d.Inner().Name() != tt.wantInner {
				t.Errorf("inner %q, want %q", d.Inner().Name(), tt.wantInner)
			}
			if d.Name() != tt.sched {
				t.Errorf("Name() = %q, want %q", d.Name(), tt.sched)
			}
		})
	}
}

// Reference: docs/reference-model.md, "if every rounded weight is 0, that
// request goes to the least-connection node" (lowest position on ties).
func TestDFLBAllZeroLeastConnection(t *testing.T) {
	d, p := newTestDFLB(t, "dflb", Options{DFLB: DFLBParams{Coefficients: dflbCPUOnly}}, 1, 1, 1, 1)
	// 1 + 5·cbrt(0.95 − 50) < 0: every weight drops to 0.
	chkNoErr(t, d.Feedback(0, []Load{dflbCPU(0, 50), dflbCPU(1, 50), dflbCPU(2, 50), dflbCPU(3, 50)}, p))
	if got := dflbWeightsOf(d, p); !slices.Equal(got, []float64{0, 0, 0, 0}) {
		t.Fatalf("weights %v, want all 0", got)
	}
	chkNoErr(t, p.Begin(0, 3))
	chkNoErr(t, p.Begin(2, 1))
	chkNoErr(t, p.Begin(3, 1))
	chkNoErr(t, p.Adjust(3, 0, 1)) // inactive counts too (IPVS overhead)
	tests := []struct {
		name   string
		change func()
		want   ServerID
	}{
		{"least connection", func() {}, 1},
		{"tie to lowest position", func() { chkNoErr(t, p.Begin(1, 1)) }, 1},
		{"down server skipped", func() { chkNoErr(t, p.SetDown(1, true)) }, 2},
		{"unresponsive server skipped", func() { chkNoErr(t, d.Feedback(0, []Load{{ID: 2}}, p)) }, 3},
		{"weight 0 in host skipped", func() { chkNoErr(t, p.SetWeight(3, 0)) }, 0},
	}
	for _, tt := range tests {
		tt.change()
		id, err := d.Schedule(0, &Request{}, p)
		if err != nil || id != tt.want {
			t.Fatalf("%s: Schedule = %d, %v; want %d", tt.name, id, err, tt.want)
		}
	}
	// Only server 0 is left, with rounded weight 0; make it unresponsive.
	chkNoErr(t, d.Feedback(0, []Load{{ID: 0}}, p))
	if id, err := d.Schedule(0, &Request{}, p); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Schedule = %d, %v; want ErrNoServer", id, err)
	}
}

// DFLB follows the host pool: added servers start at their pool weight,
// removed ones are forgotten, an administrator's weight change resets the
// default and current weight, down servers are never chosen.
func TestDFLBPoolChanges(t *testing.T) {
	d, p := newTestDFLB(t, "dflb", Options{DFLB: DFLBParams{Coefficients: dflbCPUOnly}}, 10, 10)
	chkNoErr(t, d.Feedback(0, []Load{dflbCPU(0, 1.95), dflbCPU(1, 1.95)}, p))
	steps := []struct {
		name     string
		change   func() error
		weights  map[ServerID]float64
		defaults map[ServerID]int
	}{
		{"add", func() error { return p.Add(Server{ID: 7, Weight: 4}) },
			map[ServerID]float64{0: 5, 1: 5, 7: 4}, map[ServerID]int{0: 10, 1: 10, 7: 4}},
		{"administrator weight change", func() error { return p.SetWeight(1, 20) },
			map[ServerID]float64{0: 5, 1: 20, 7: 4}, map[ServerID]int{0: 10, 1: 20, 7: 4}},
		{"remove", func() error { return p.Remove(0) },
			map[ServerID]float64{1: 20, 7: 4}, map[ServerID]int{1: 20, 7: 4}},
		{"down keeps weights", func() error { return p.SetDown(1, true) },
			map[ServerID]float64{1: 20, 7: 4}, map[ServerID]int{1: 20, 7: 4}},
		{"re-add forgotten server", func() error { return p.Add(Server{ID: 0, Weight: 3}) },
			map[ServerID]float64{0: 3, 1: 20, 7: 4}, map[ServerID]int{0: 3, 1: 20, 7: 4}},
	}
	for _, st := range steps {
		chkNoErr(t, st.change())
		for range 20 {
			id, err := d.Schedule(0, &Request{}, p)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Get(id).Usable() {
				t.Fatalf("%s: picked unusable %d", st.name, id)
			}
		}
		if got := d.Weights(); fmt.Sprint(got) != fmt.Sprint(st.weights) {
			t.Errorf("%s: weights %v, want %v", st.name, got, st.weights)
		}
		if got := d.DefaultWeights(); fmt.Sprint(got) != fmt.Sprint(st.defaults) {
			t.Errorf("%s: defaults %v, want %v", st.name, got, st.defaults)
		}
	}
}

// Random streams of feedback, pool changes and requests: DFLB never
// returns a server that is unusable in the host pool or unresponsive, and
// never writes the host pool's weights.
func TestDFLBNeverUnusable(t *testing.T) {
	for _, inner := range []string{"wrr", "wlc"} {
		t.Run(inner, func(t *testing.T) {
			d, p := newTestDFLB(t, "dflb", Options{Inner: inner}, 5, 0, 3, 8, 1, 2)
			admin := map[ServerID]int{0: 5, 1: 0, 2: 3, 3: 8, 4: 1, 5: 2}
			rng := rand.New(rand.NewPCG(21, 1))
			unresponsive := map[ServerID]bool{}
			for step := range 5000 {
				switch k := rng.IntN(100); {
				case k < 5:
					var loads []Load
					for _, s := range p.Servers() {
						loads = append(loads, Load{ID: s.ID, Measured: MetricCPU | MetricResponse, CPU: rng.Float64() * 2, Response: rng.Float64() * 2, Responsive: rng.IntN(6) != 0})
					}
					chkNoErr(t, d.Feedback(0, loads, p))
					defaults := d.DefaultWeights()
					for _, l := range loads {
						// Default-0 servers are never adjusted, not even to "unresponsive".
						unresponsive[l.ID] = !l.Responsive && defaults[l.ID] != 0
					}
				case k < 8:
					id := p.At(rng.IntN(p.Len())).ID
					chkNoErr(t, p.SetDown(id, !p.Get(id).Down))
				case k < 9:
					id := p.At(rng.IntN(p.Len())).ID
					w := rng.IntN(4)
					chkNoErr(t, p.SetWeight(id, w))
					admin[id] = w
				default:
					id, err := d.Schedule(0, &Request{}, p)
					if errors.Is(err, ErrNoServer) {
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					if s := p.Get(id); !s.Usable() || unresponsive[id] {
						t.Fatalf("step %d: picked %d (usable %v, unresponsive %v)", step, id, s.Usable(), unresponsive[id])
					}
					chkNoErr(t, p.Begin(id, 1))
					if rng.IntN(2) == 0 {
						chkNoErr(t, p.End(id, 1))
					}
				}
				for _, s := range p.Servers() {
					if s.Weight != admin[s.ID] {
						t.Fatalf("step %d: host weight of %d is %d, administrator set %d", step, s.ID, s.Weight, admin[s.ID])
					}
				}
			}
		})
	}
}

func TestDFLBFeedbackErrors(t *testing.T) {
	tests := []struct {
		name  string
		loads []Load
	}{
		{"unknown server", []Load{dflbCPU(0, 0), dflbCPU(9, 0)}},
		{"duplicate report", []Load{dflbCPU(0, 0), dflbCPU(1, 0), dflbCPU(0, 0)}},
		{"NaN metric", []Load{dflbCPU(0, 0), {ID: 1, Measured: MetricDisk, Disk: math.NaN(), Responsive: true}}},
		{"infinite metric", []Load{dflbCPU(0, 0), {ID: 1, Measured: MetricInput, Input: math.Inf(1), Responsive: true}}},
		{"unmeasured NaN", []Load{dflbCPU(0, 0), {ID: 1, Disk: math.NaN(), Responsive: true}}},
		{"value outside Measured", []Load{dflbCPU(0, 0), {ID: 1, CPU: 2, Responsive: true}}},
		{"value outside Measured, unresponsive", []Load{dflbCPU(0, 0), {ID: 1, Measured: MetricCPU, Disk: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, p := newTestDFLB(t, "dflb", Options{}, 10, 10)
			if err := d.Feedback(0, tt.loads, p); err == nil {
				t.Fatal("Feedback succeeded, want an error")
			}
			if got := dflbWeightsOf(d, p); !slices.Equal(got, []float64{10, 10}) {
				t.Fatalf("weights changed to %v by a rejected report", got)
			}
		})
	}
}

func TestDFLBOptions(t *testing.T) {
	tests := []struct {
		name    string
		sched   string
		opts    Options
		wantErr bool
		want    DFLBParams
	}{
		{name: "defaults", sched: "dflb", want: DefaultDFLBParams()},
		{name: "explicit", sched: "dflb", opts: Options{DFLB: DFLBParams{Coefficients: dflbCPUOnly, A: 2, Scale: 3, ChangeThreshold: 0.5, Target: 1}},
			want: DFLBParams{Coefficients: dflbCPUOnly, A: 2, Scale: 3, ChangeThreshold: 0.5, Target: 1}},
		{name: "negative coefficient", sched: "dflb", opts: Options{DFLB: DFLBParams{Coefficients: [6]float64{-0.1, 1.1}}}, wantErr: true},
		{name: "NaN coefficient", sched: "dflb", opts: Options{DFLB: DFLBParams{Coefficients: [6]float64{math.NaN()}}}, wantErr: true},
		{name: "negative A", sched: "dflb", opts: Options{DFLB: DFLBParams{A: -1}}, wantErr: true},
		{name: "infinite Scale", sched: "dflb", opts: Options{DFLB: DFLBParams{Scale: math.Inf(1)}}, wantErr: true},
		{name: "negative threshold", sched: "dflb-wlc", opts: Options{DFLB: DFLBParams{ChangeThreshold: -1}}, wantErr: true},
		{name: "NaN target", sched: "dflb", opts: Options{DFLB: DFLBParams{Target: math.NaN()}}, wantErr: true},
		{name: "unknown inner", sched: "dflb", opts: Options{Inner: "nosuch"}, wantErr: true},
		{name: "inner dflb", sched: "dflb", opts: Options{Inner: "DFLB-wlc"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.sched, tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New: err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && s.(*DFLB).Params() != tt.want {
				t.Errorf("Params() = %+v, want %+v", s.(*DFLB).Params(), tt.want)
			}
		})
	}
}

func ExampleDFLB() {
	s, _ := New("dflb", Options{DFLB: DFLBParams{Coefficients: [6]float64{0, 1, 0, 0, 0, 0}}})
	d := s.(*DFLB)
	pool, _ := NewWeighted(10, 10, 10)
	// Server 0 is idle, server 1 twice as loaded as it should be, server 2 just loaded.
	_ = d.Feedback(0, []Load{
		{ID: 0, Measured: MetricCPU, CPU: 0, Responsive: true},
		{ID: 1, Measured: MetricCPU, CPU: 1.95, Responsive: true},
		{ID: 2, Measured: MetricCPU, CPU: 0.95, Responsive: true},
	}, pool)
	w := d.Weights()
	fmt.Printf("weights: %.2f %.2f %.2f\n", w[0], w[1], w[2])
	var seq []ServerID
	for range 10 {
		id, _ := d.Schedule(0, &Request{}, pool)
		seq = append(seq, id)
	}
	fmt.Println("first requests:", seq)
	fmt.Println("host weight of server 0:", pool.Get(0).Weight)
	// Output:
	// weights: 14.92 5.00 10.00
	// first requests: [0 0 2 0 1 2 0 0 2 0]
	// host weight of server 0: 10
}

func BenchmarkDFLB(b *testing.B) {
	for _, n := range []int{8, 64, 1024} {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			p, _ := NewWeighted(slices.Repeat([]int{10}, n)...)
			s, err := New("dflb", Options{})
			if err != nil {
				b.Fatal(err)
			}
			d := s.(*DFLB)
			loads := make([]Load, n)
			for i := range loads {
				loads[i] = Load{ID: ServerID(i), Measured: MetricCPU, CPU: float64(i%7) / 4, Responsive: true}
			}
			if err := d.Feedback(0, loads, p); err != nil {
				b.Fatal(err)
			}
			r := &Request{}
			for b.Loop() {
				id, err := d.Schedule(0, r, p)
				if err != nil {
					b.Fatal(err)
				}
				_ = p.Begin(id, 1)
				_ = p.End(id, 1)
			}
		})
	}
}

// The coefficients R1..R6 must sum to 1 (thesis §4.2.3: ΣRi = 1).
func TestDFLBCoefficientsSumToOne(t *testing.T) {
	for _, tc := range []struct {
		c  [6]float64
		ok bool
	}{
		{[6]float64{}, true}, // the web default
		{[6]float64{0, 1, 0, 0, 0, 0}, true},
		{[6]float64{0.1, 0.3, 0.1, 0.1, 0.1, 0.3}, true},
		{[6]float64{0.5, 0.6, 0, 0, 0, 0}, false},
		{[6]float64{0, 0.5, 0, 0, 0, 0}, false},
	} {
		_, err := New("dflb", Options{DFLB: DFLBParams{Coefficients: tc.c}})
		if (err == nil) != tc.ok {
			t.Errorf("coefficients %v: error %v, want ok = %v", tc.c, err, tc.ok)
		}
	}
}

// Weights above MaxWeight are refused, so DFLB's Scale × weight and its
// rounding cannot overflow.
func TestPoolMaxWeight(t *testing.T) {
	if _, err := NewWeighted(MaxWeight, 1); err != nil {
		t.Fatalf("MaxWeight refused: %v", err)
	}
	if _, err := NewWeighted(MaxWeight+1, 1); !errors.Is(err, ErrBadWeight) {
		t.Fatalf("MaxWeight+1: error %v, want ErrBadWeight", err)
	}
	p, _ := NewWeighted(1)
	if err := p.SetWeight(0, MaxWeight+1); !errors.Is(err, ErrBadWeight) {
		t.Fatalf("SetWeight(MaxWeight+1): error %v, want ErrBadWeight", err)
	}
}
