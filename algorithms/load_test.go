package algorithms

import (
	"math"
	"testing"
)

func TestMetrics(t *testing.T) {
	tests := []struct {
		m    Metrics
		want string
	}{
		{0, "none"},
		{MetricCPU, "cpu"},
		{MetricCPU | MetricResponse, "cpu|response"},
		{AllMetrics, "input|cpu|disk|memory|process|response"},
		{MetricInput | 0x80, "input|0x80"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Metrics(%#x).String() = %q, want %q", uint8(tt.m), got, tt.want)
		}
	}
	for k := range NumMetrics {
		m := MetricAt(k)
		got, err := ParseMetric(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMetric(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
		var l Load
		l.Set(m, float64(k+1))
		if l.Measured != m || l.values()[k] != float64(k+1) {
			t.Errorf("Set(%v, %d): Load %+v", m, k+1, l)
		}
		if v, ok := l.Get(m); !ok || v != float64(k+1) {
			t.Errorf("Get(%v) = %v, %v", m, v, ok)
		}
		if _, ok := l.Get(MetricAt((k + 1) % NumMetrics)); ok {
			t.Errorf("Get of another metric than %v reports it measured", m)
		}
	}
	if _, err := ParseMetric("load"); err == nil {
		t.Error(`ParseMetric("load") succeeded`)
	}
	if m, err := ParseMetric("CPU"); err != nil || m != MetricCPU {
		t.Errorf(`ParseMetric("CPU") = %v, %v`, m, err)
	}
}

// An unmeasured metric is absent, not 0: AGGREGATE is the mean of the
// measured metrics weighted by their renormalised coefficients.
// Reference: §4.2.3 (AGGREGATE_LOAD = Σ Ri·Mi, ΣRi = 1).
func TestDFLBAggregateMeasuredOnly(t *testing.T) {
	web := DefaultDFLBParams().Coefficients
	load := func(m Metrics, v ...float64) Load {
		l := Load{ID: 0, Responsive: true}
		i := 0
		for k := range NumMetrics {
			if m.Has(MetricAt(k)) {
				l.Set(MetricAt(k), v[i])
				i++
			}
		}
		return l
	}
	tests := []struct {
		name   string
		coef   [6]float64
		load   Load
		want   float64
		wantOK bool
		exact  bool // bit-identical to want
	}{
		{"web, CPU only: 0.3·2/0.3", web, load(MetricCPU, 2), 2, true, true},
		{"web, CPU and response: (0.3·2+0.3·1)/0.6", web, load(MetricCPU|MetricResponse, 2, 1), 1.5, true, false},
		{"web, input and disk: (0.1·0.5+0.1·1.5)/0.2", web, load(MetricInput|MetricDisk, 0.5, 1.5), 1, true, false},
		{"web, all six: the plain sum", web, load(AllMetrics, 0.2, 0.5, 1.0, 0.4, 0.8, 1.2),
			0.1*0.2 + 0.3*0.5 + 0.1*1.0 + 0.1*0.4 + 0.1*0.8 + 0.3*1.2, true, false},
		{"web, nothing measured", web, load(0), 0, false, true},
		{"thesis preset, CPU: exactly CPU", dflbCPUOnly, load(MetricCPU, 0.95*(7.0/3)), 0.95 * (7.0 / 3), true, true},
		{"thesis preset, CPU and disk: disk has no weight", dflbCPUOnly, load(MetricCPU|MetricDisk, 1.3, 9), 1.3, true, true},
		{"thesis preset, disk only: nothing with weight", dflbCPUOnly, load(MetricDisk, 9), 0, false, true},
		{"input and CPU halves, CPU only", [6]float64{0.5, 0.5}, load(MetricCPU, 0.7), 0.7, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newTestDFLB(t, "dflb", Options{DFLB: DFLBParams{Coefficients: tt.coef}}, 10)
			got, ok := d.Aggregate(tt.load)
			if ok != tt.wantOK {
				t.Fatalf("Aggregate = %v, %v; want ok = %v", got, ok, tt.wantOK)
			}
			if tt.exact && got != tt.want || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Aggregate = %v, want %v (exact %v)", got, tt.want, tt.exact)
			}
		})
	}
}

// A server that reports only CPU = 2 (twice "just loaded") under the web
// coefficients must lose weight; read as 0.3·2 = 0.6 < 0.95 it would gain.
// A report that measured nothing leaves the weight alone.
// Reference: §4.2.4 (an overloaded server's weight decreases).
func TestDFLBUnmeasuredMetricsAreAbsent(t *testing.T) {
	cbrt := math.Cbrt
	cpu := func(v float64) Load {
		l := Load{ID: 0, Responsive: true}
		l.Set(MetricCPU, v)
		return l
	}
	tests := []struct {
		name  string
		loads [][]Load
		want  float64
	}{
		{"CPU = 2 only loses weight", [][]Load{{cpu(2)}}, 10 + 5*cbrt(0.95-2)},
		{"CPU = 0.5 only gains", [][]Load{{cpu(0.5)}}, 10 + 5*cbrt(0.95-0.5)},
		{"nothing measured keeps the weight", [][]Load{{cpu(2)}, {{ID: 0, Responsive: true}}}, 10 + 5*cbrt(0.95-2)},
		{"answering again with nothing measured: the default", [][]Load{{cpu(2)}, {{ID: 0}}, {{ID: 0, Responsive: true}}}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, p := newTestDFLB(t, "dflb", Options{}, 10)
			for _, loads := range tt.loads {
				chkNoErr(t, d.Feedback(0, loads, p))
			}
			if got := d.Weights()[0]; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("weight %v, want %v", got, tt.want)
			}
		})
	}
}
