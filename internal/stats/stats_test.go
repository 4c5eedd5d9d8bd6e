package stats

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestTQuantile checks t quantiles against the printed table of Student's
// t (two-sided 95% and 99%, one-sided 90%), e.g. NIST/SEMATECH
// e-Handbook of Statistical Methods, table 1.3.6.7.2.
func TestTQuantile(t *testing.T) {
	tests := []struct {
		p, df, want float64
	}{
		{0.975, 1, 12.706},
		{0.975, 2, 4.303},
		{0.975, 3, 3.182},
		{0.975, 4, 2.776},
		{0.975, 5, 2.571},
		{0.975, 9, 2.262},
		{0.975, 10, 2.228},
		{0.975, 19, 2.093},
		{0.975, 29, 2.045},
		{0.975, 100, 1.984},
		{0.995, 1, 63.657},
		{0.995, 4, 4.604},
		{0.995, 10, 3.169},
		{0.90, 1, 3.078},
		{0.90, 10, 1.372},
		{0.95, 7, 1.895},
		{0.975, math.Inf(1), 1.960},
		{0.025, 4, -2.776},
		{0.5, 3, 0},
	}
	for _, tt := range tests {
		if got := TQuantile(tt.p, tt.df); !near(got, tt.want, 0.0005) {
			t.Errorf("TQuantile(%v, %v) = %.4f, want %.3f", tt.p, tt.df, got, tt.want)
		}
	}
	for _, bad := range [][2]float64{{0, 3}, {1, 3}, {0.5, 0}, {math.NaN(), 2}, {0.9, -1}} {
		if got := TQuantile(bad[0], bad[1]); !math.IsNaN(got) {
			t.Errorf("TQuantile(%v, %v) = %v, want NaN", bad[0], bad[1], got)
		}
	}
}

// TestTCDF checks the distribution function against closed forms: with one
// degree of freedom t is Cauchy (F = 1/2 + atan(t)/π), with two
// F = 1/2 + t / (2 √(2 + t²)).
func TestTCDF(t *testing.T) {
	for _, x := range []float64{-30, -3, -1, -0.2, 0, 0.5, 1, 2.5, 10, 100} {
		if got, want := TCDF(x, 1), 0.5+math.Atan(x)/math.Pi; !near(got, want, 1e-12) {
			t.Errorf("TCDF(%v, 1) = %v, want %v", x, got, want)
		}
		if got, want := TCDF(x, 2), 0.5+x/(2*math.Sqrt(2+x*x)); !near(got, want, 1e-12) {
			t.Errorf("TCDF(%v, 2) = %v, want %v", x, got, want)
		}
	}
	if got := TCDF(1.959963984540054, math.Inf(1)); !near(got, 0.975, 1e-12) {
		t.Errorf("TCDF(1.96, Inf) = %v, want 0.975", got)
	}
}

// TestSummarize checks a worked example: 5, 7, 8, 10, 15 has mean 9,
// variance 14.5 (n-1), and 95% half-width t(0.975, 4) × √(14.5/5) =
// 2.7764 × 1.70294 = 4.728.
func TestSummarize(t *testing.T) {
	tests := []struct {
		name             string
		xs               []float64
		level            float64
		mean, sd, lo, hi float64
	}{
		{"worked example", []float64{5, 7, 8, 10, 15}, 0.95, 9, math.Sqrt(14.5), 9 - 4.7282, 9 + 4.7282},
		{"two values", []float64{1, 3}, 0.95, 2, math.Sqrt2, 2 - 12.7062, 2 + 12.7062},
		{"no spread", []float64{4, 4, 4}, 0.99, 4, 0, 4, 4},
		{"one value", []float64{7}, 0.95, 7, 0, 7, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.xs, tt.level)
			if s.N != len(tt.xs) || !near(s.Mean, tt.mean, 1e-12) || !near(s.SD, tt.sd, 1e-12) ||
				!near(s.Lo, tt.lo, 1e-3) || !near(s.Hi, tt.hi, 1e-3) {
				t.Errorf("Summarize(%v) = %+v, want mean %v sd %v [%v, %v]", tt.xs, s, tt.mean, tt.sd, tt.lo, tt.hi)
			}
		})
	}
	if s := Summarize(nil, 0.95); !math.IsNaN(s.Mean) || s.N != 0 {
		t.Errorf("Summarize(nil) = %+v, want NaN", s)
	}
}

// TestPairedTest checks a textbook example (differences 1, 2, 3, 4, 5:
// mean 3, sd √2.5, t = 3 / (√2.5/√5) = 4.2426, df 4, two-sided p = 0.0132)
// and that pairing removes a shared offset Welch's test counts as noise.
func TestPairedTest(t *testing.T) {
	a := []float64{11, 22, 33, 44, 55}
	b := []float64{10, 20, 30, 40, 50}
	d, err := PairedTest(a, b, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if d.Test != Paired || !near(d.Mean, 3, 1e-12) || !near(d.T, 4.2426, 1e-4) || d.DF != 4 || !near(d.P, 0.0132, 1e-4) {
		t.Errorf("PairedTest = %+v, want mean 3, t 4.2426, df 4, p 0.0132", d)
	}
	if h := (d.Hi - d.Lo) / 2; !near(h, 2.7764*math.Sqrt(2.5/5), 1e-3) || !d.Significant() {
		t.Errorf("PairedTest interval [%v, %v], significant %v; want ±1.963, significant", d.Lo, d.Hi, d.Significant())
	}
	w, err := WelchTest(a, b, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if w.Significant() {
		t.Errorf("WelchTest = %+v: the shared offsets 10..50 should hide a difference of 3", w)
	}
	if _, err := PairedTest(a, b[:4], 0.95); err == nil {
		t.Error("PairedTest of unequal lengths: no error")
	}
	if _, err := PairedTest(a[:1], b[:1], 0.95); err != ErrTooFew {
		t.Errorf("PairedTest of one pair: %v, want ErrTooFew", err)
	}
}

// TestWelchTest checks Welch's test against a hand computation:
// a = 20, 22, 24, 26 (mean 23, var 20/3), b = 10, 11, 12 (mean 11, var 1):
// se² = 5/3 + 1/3 = 2, df = 4 / ((5/3)²/3 + (1/3)²/2) = 4 / (0.92593 +
// 0.05556) = 4.0755, t = 12 / √2 = 8.4853.
func TestWelchTest(t *testing.T) {
	d, err := WelchTest([]float64{20, 22, 24, 26}, []float64{10, 11, 12}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if d.Test != Welch || !near(d.Mean, 12, 1e-12) || !near(d.DF, 4.0755, 1e-4) || !near(d.T, 8.4853, 1e-4) || !d.Significant() {
		t.Errorf("WelchTest = %+v, want mean 12, df 4.0755, t 8.4853, significant", d)
	}
	if h := (d.Hi - d.Lo) / 2; !near(h, TQuantile(0.975, d.DF)*math.Sqrt2, 1e-9) {
		t.Errorf("half-width %v, want t(0.975, df) × √2", h)
	}
	same, _ := WelchTest([]float64{1, 2, 3}, []float64{1, 2, 3}, 0.95)
	if same.Significant() || same.Mean != 0 || !near(same.P, 1, 1e-12) {
		t.Errorf("WelchTest of equal samples = %+v, want no difference, p 1", same)
	}
}

// TestExactDifference: replicates that all give the same difference make
// it exact (no spread), significant unless 0.
func TestExactDifference(t *testing.T) {
	d, _ := PairedTest([]float64{5, 6, 7}, []float64{4, 5, 6}, 0.95)
	if !d.Significant() || d.Lo != 1 || d.Hi != 1 || d.P != 0 {
		t.Errorf("constant difference 1: %+v, want exact and significant", d)
	}
	d, _ = PairedTest([]float64{5, 6, 7}, []float64{5, 6, 7}, 0.95)
	if d.Significant() || d.P != 1 {
		t.Errorf("no difference: %+v, want not significant", d)
	}
}

func TestCheckLevel(t *testing.T) {
	for _, l := range []float64{0, 1, -0.5, 95, math.NaN()} {
		if CheckLevel(l) == nil {
			t.Errorf("CheckLevel(%v): no error", l)
		}
	}
	if err := CheckLevel(0.95); err != nil {
		t.Error(err)
	}
}
