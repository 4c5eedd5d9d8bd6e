package models

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

var seed = flag.Uint64("seed", 1, "seed of the statistical tests")

// rng returns the test's random source, logging the seed when it is not the
// default so that a failure can be replayed.
func rng(t testing.TB, stream uint64) *rand.Rand {
	t.Helper()
	if *seed != 1 {
		t.Logf("seed %d", *seed)
	}
	return rand.New(rand.NewPCG(*seed, stream))
}

// chiSquare returns Pearson's statistic of observed counts against
// expected probabilities.
func chiSquare(obs []int, p func(k int) float64) float64 {
	total := 0
	for _, o := range obs {
		total += o
	}
	var x2 float64
	for k, o := range obs {
		e := p(k) * float64(total)
		x2 += (float64(o) - e) * (float64(o) - e) / e
	}
	return x2
}

// TestZipfChiSquare checks the sampled rank frequencies against the Zipf
// law at the 0.1% level, and checks that the test has power: the same
// samples must be rejected against an exponent 0.05 away.
// Reference: Breslau et al. 1999 (α ≤ 1 for web requests).
func TestZipfChiSquare(t *testing.T) {
	const n, draws = 50, 200_000
	critical := distuv.ChiSquared{K: n - 1}.Quantile(0.999)
	for _, alpha := range []float64{0, 0.5, 0.8, 1, 1.5} {
		t.Run(fmt.Sprint("alpha=", alpha), func(t *testing.T) {
			z, err := NewZipf(n, alpha)
			if err != nil {
				t.Fatal(err)
			}
			r := rng(t, 1)
			obs := make([]int, n)
			for range draws {
				obs[z.Sample(r)]++
			}
			if x2 := chiSquare(obs, z.Prob); x2 > critical {
				t.Errorf("chi-square %.1f > %.1f (df %d, p = 0.001)", x2, critical, n-1)
			}
			wrong, _ := NewZipf(n, alpha+0.05)
			if x2 := chiSquare(obs, wrong.Prob); x2 <= critical {
				t.Errorf("chi-square against alpha %.2f is %.1f <= %.1f: the test has no power", alpha+0.05, x2, critical)
			}
		})
	}
}

func TestZipfProb(t *testing.T) {
	z, err := NewZipf(1000, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for k := range z.N() {
		sum += z.Prob(k)
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("Σ Prob = %v, want 1", sum)
	}
	if got, want := z.Prob(0)/z.Prob(9), math.Pow(10, 0.8); math.Abs(got-want) > 1e-9 {
		t.Errorf("Prob(0)/Prob(9) = %v, want 10^0.8 = %v", got, want)
	}
	if z.Prob(-1) != 0 || z.Prob(1000) != 0 || z.CDF(-1) != 0 || z.CDF(999) != 1 || z.CDF(5000) != 1 {
		t.Error("Prob/CDF outside the ranks")
	}
	if math.Abs(z.CDF(1)-z.Prob(0)-z.Prob(1)) > 1e-12 {
		t.Errorf("CDF(1) = %v, want Prob(0)+Prob(1)", z.CDF(1))
	}
}

// TestZipfRankIsInverseCDF checks the guide-table lookup against a plain
// binary search, including the boundaries of the cumulative intervals.
func TestZipfRankIsInverseCDF(t *testing.T) {
	for _, tc := range []struct {
		n     int
		alpha float64
	}{{1, 0.8}, {2, 0}, {7, 2.5}, {1000, 0.8}, {37804, 0.8}, {5000, 1.2}} {
		z, err := NewZipf(tc.n, tc.alpha)
		if err != nil {
			t.Fatal(err)
		}
		want := func(u float64) int { return sort.Search(tc.n, func(k int) bool { return z.cdf[k] > u }) }
		us := []float64{0, math.Nextafter(1, 0), 0.5}
		for k := 0; k < tc.n && k < 200; k++ {
			c := z.cdf[k]
			us = append(us, c, math.Nextafter(c, 0), math.Nextafter(c, 1), float64(k)/float64(tc.n))
		}
		r := rng(t, 2)
		for range 2000 {
			us = append(us, r.Float64())
		}
		for _, u := range us {
			if u < 0 || u >= 1 {
				continue
			}
			if got, w := z.Rank(u), want(u); got != w {
				t.Fatalf("n=%d alpha=%v: Rank(%v) = %d, want %d", tc.n, tc.alpha, u, got, w)
			}
		}
	}
}

func TestNewZipfErrors(t *testing.T) {
	for _, tc := range []struct {
		n     int
		alpha float64
	}{{0, 1}, {-3, 1}, {MaxZipfN + 1, 1}, {10, -0.1}, {10, math.NaN()}, {10, math.Inf(1)}} {
		if _, err := NewZipf(tc.n, tc.alpha); err == nil {
			t.Errorf("NewZipf(%d, %v): no error", tc.n, tc.alpha)
		}
	}
}

func FuzzZipfRank(f *testing.F) {
	f.Add(uint16(10), 0.8, 0.5)
	f.Add(uint16(1), 0.0, 0.0)
	f.Add(uint16(3000), 1.7, 0.999999)
	f.Fuzz(func(t *testing.T, n uint16, alpha, u float64) {
		z, err := NewZipf(int(n), alpha)
		if err != nil {
			return
		}
		if u < 0 || u >= 1 || math.IsNaN(u) {
			return
		}
		k := z.Rank(u)
		if k < 0 || k >= z.N() || z.cdf[k] <= u || (k > 0 && z.cdf[k-1] > u) {
			t.Fatalf("Rank(%v) = %d is not the inverse CDF", u, k)
		}
	})
}

// ksDistance returns the one-sample Kolmogorov-Smirnov distance of the
// sample from cdf.
func ksDistance(sample []float64, cdf func(float64) float64) float64 {
	x := slices.Clone(sample)
	slices.Sort(x)
	n := float64(len(x))
	var d float64
	for i, v := range x {
		f := cdf(v)
		d = max(d, math.Abs(float64(i+1)/n-f), math.Abs(float64(i)/n-f))
	}
	return d
}

// ksCritical is the asymptotic one-sample KS critical value at p = 0.001.
func ksCritical(n int) float64 { return 1.95 / math.Sqrt(float64(n)) }

// TestSizeDistKS checks samples against the model's own CDF at the 0.1%
// level, and that a body shifted by 0.1 in ln(size) is rejected.
func TestSizeDistKS(t *testing.T) {
	const n = 20_000
	for _, tc := range []struct {
		name string
		d    SizeDist
	}{
		{"surge", DefaultSizeDist()},
		{"lognormal", SizeDist{Mu: 8, Sigma: 1.5}},
		{"lognormal-capped", SizeDist{Mu: 8, Sigma: 1.5, Max: 10000}},
		{"heavy-unbounded", SizeDist{Mu: 9, Sigma: 1, TailShare: 0.2, TailXm: 50000, TailShape: 0.9}},
		{"pareto-only", SizeDist{Mu: 9, Sigma: 1, TailShare: 1, TailXm: 1000, TailShape: 1.5, Max: 1e7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.d.Validate(); err != nil {
				t.Fatal(err)
			}
			r := rng(t, 3)
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = tc.d.Sample(r)
				if !(xs[i] > 0) || (tc.d.Max > 0 && xs[i] > tc.d.Max) {
					t.Fatalf("sample %v outside (0, %v]", xs[i], tc.d.Max)
				}
			}
			if d := ksDistance(xs, tc.d.CDF); d > ksCritical(n) {
				t.Errorf("KS distance %.4f > %.4f", d, ksCritical(n))
			}
			shifted := tc.d
			shifted.Mu += 0.1
			shifted.TailXm *= 1.1
			shifted.Max *= 1.1
			if d := ksDistance(xs, shifted.CDF); d <= ksCritical(n) {
				t.Errorf("KS distance from the shifted model %.4f <= %.4f: the test has no power", d, ksCritical(n))
			}
		})
	}
}

func TestSizeDistCDFShape(t *testing.T) {
	d := DefaultSizeDist()
	if d.CDF(0) != 0 || d.CDF(-5) != 0 || d.CDF(d.Max) != 1 {
		t.Errorf("CDF ends: %v %v %v", d.CDF(0), d.CDF(-5), d.CDF(d.Max))
	}
	if got := d.CDF(d.TailXm); math.Abs(got-(1-d.TailShare)) > 1e-12 {
		t.Errorf("CDF(tail_xm) = %v, want 1 - tail_share = %v", got, 1-d.TailShare)
	}
	prev := 0.0
	for x := 1.0; x < 2e9; x *= 1.3 {
		if c := d.CDF(x); c < prev {
			t.Fatalf("CDF not monotone at %v: %v < %v", x, c, prev)
		} else {
			prev = c
		}
	}
}

// TestSizeDistMean checks Mean against sample means of models whose
// variance is finite (bounded tails), within 3%.
func TestSizeDistMean(t *testing.T) {
	const n = 400_000
	for _, d := range []SizeDist{
		{Mu: 8, Sigma: 1},
		{Mu: 8, Sigma: 1, Max: 5000},
		{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 2.5},
		{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 1, Max: 1e7},
		{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 1.2, Max: 1e7},
	} {
		r := rng(t, 4)
		var sum float64
		for range n {
			sum += d.Sample(r)
		}
		if got, want := sum/n, d.Mean(); math.Abs(got-want) > 0.03*want {
			t.Errorf("%+v: sample mean %.0f, Mean() %.0f", d, got, want)
		}
	}
	if m := (SizeDist{Mu: 1, Sigma: 1, TailShare: 0.1, TailXm: 10, TailShape: 1}).Mean(); !math.IsInf(m, 1) {
		t.Errorf("unbounded tail with shape 1: Mean = %v, want +Inf", m)
	}
}

func TestSizeDistValidate(t *testing.T) {
	ok := DefaultSizeDist()
	for _, tc := range []struct {
		name string
		edit func(*SizeDist)
	}{
		{"sigma", func(d *SizeDist) { d.Sigma = 0 }},
		{"mu", func(d *SizeDist) { d.Mu = math.NaN() }},
		{"tail_share", func(d *SizeDist) { d.TailShare = 1.5 }},
		{"tail_xm", func(d *SizeDist) { d.TailXm = 0 }},
		{"tail_shape", func(d *SizeDist) { d.TailShape = -1 }},
		{"max", func(d *SizeDist) { d.Max = 1000 }},
		{"max", func(d *SizeDist) { d.Max = -1 }},
	} {
		d := ok
		tc.edit(&d)
		err := d.Validate()
		if err == nil {
			t.Errorf("%s: no error for %+v", tc.name, d)
		} else if !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: error %q does not name the field", tc.name, err)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
	if err := (SizeDist{Mu: 1, Sigma: 1, TailXm: -5}).Validate(); err != nil {
		t.Errorf("tail fields are ignored without a tail: %v", err)
	}
}

// TestFitZipf fits the rank-frequency curve of sampled requests and
// recovers the exponent within 0.05.
func TestFitZipf(t *testing.T) {
	for _, alpha := range []float64{0.6, 0.8, 1.0, 1.3} {
		z, _ := NewZipf(5000, alpha)
		r := rng(t, 5)
		counts := make([]int, z.N())
		for range 300_000 {
			counts[z.Sample(r)]++
		}
		fit, err := FitZipf(counts)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(fit.Alpha-alpha) > 0.05 || fit.R2 < 0.98 {
			t.Errorf("alpha %v: fitted %+v", alpha, fit)
		}
	}
	if _, err := FitZipf([]int{100, 3, 2, 1}); err == nil {
		t.Error("FitZipf of 1 usable rank: no error")
	}
}

// TestFitSizeDist draws object sizes from known hybrid models and checks
// that the fit recovers the parameters and the distribution.
func TestFitSizeDist(t *testing.T) {
	for _, tc := range []struct {
		name        string
		d           SizeDist
		n           int
		tolMu, tolA float64
	}{
		{"surge-bounded", SizeDist{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 1.2, Max: 1e9}, 20000, 0.1, 0.15},
		{"light-tail", SizeDist{Mu: 8, Sigma: 1, TailShare: 0.1, TailXm: 20000, TailShape: 2}, 20000, 0.1, 0.25},
		{"lognormal-only", SizeDist{Mu: 7, Sigma: 0.8}, 5000, 0.1, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rng(t, 6)
			xs := make([]float64, tc.n)
			for i := range xs {
				xs[i] = tc.d.Sample(r)
			}
			fit, err := FitSizeDist(xs)
			if err != nil {
				t.Fatal(err)
			}
			f := fit.Dist
			if err := f.Validate(); err != nil {
				t.Fatalf("fitted model invalid: %v", err)
			}
			t.Logf("fit %+v (tail %d, KS %.4f)", f, fit.TailCount, fit.KS)
			if fit.KS > ksCritical(tc.n) {
				t.Errorf("KS of the fit against its data %.4f > %.4f", fit.KS, ksCritical(tc.n))
			}
			// The fitted distribution must be close to the true one.
			var dist float64
			for x := 10.0; x < 1e9; x *= 1.05 {
				dist = max(dist, math.Abs(f.CDF(x)-tc.d.CDF(x)))
			}
			if dist > 0.02 {
				t.Errorf("sup |F_fit - F_true| = %.4f > 0.02", dist)
			}
			if math.Abs(f.Mu-tc.d.Mu) > tc.tolMu || math.Abs(f.Sigma-tc.d.Sigma) > tc.tolMu {
				t.Errorf("body (%.3f, %.3f), want (%.3f, %.3f) ± %v", f.Mu, f.Sigma, tc.d.Mu, tc.d.Sigma, tc.tolMu)
			}
			if tc.d.TailShare > 0 && math.Abs(f.TailShape-tc.d.TailShape) > tc.tolA {
				t.Errorf("tail shape %.3f, want %.3f ± %v", f.TailShape, tc.d.TailShape, tc.tolA)
			}
		})
	}
	for _, bad := range [][]float64{nil, {5}, {1, 0, 3}, {1, math.Inf(1)}} {
		if _, err := FitSizeDist(bad); err == nil {
			t.Errorf("FitSizeDist(%v): no error", bad)
		}
	}
	if fit, err := FitSizeDist([]float64{100, 100, 100}); err != nil || fit.Dist.Validate() != nil {
		t.Errorf("equal sizes: %+v, %v", fit, err)
	}
}

// TestEWMA follows the thesis's load average (§4.3: every 5 s,
// load = load × 11/12 + active × 1/12).
func TestEWMA(t *testing.T) {
	for _, tc := range []struct {
		name   string
		e      EWMA
		inputs []float64
		want   float64
	}{
		{"thesis one step", EWMA{}, []float64{12}, 1},
		{"thesis two steps", EWMA{}, []float64{12, 0}, 11.0 / 12},
		{"thesis from a value", EWMA{Value: 24}, []float64{0}, 22},
		{"weight one", EWMA{Weight: 1, Value: 3}, []float64{7, 5}, 5},
		{"weight half", EWMA{Weight: 0.5}, []float64{4, 8}, 5},
	} {
		e := tc.e
		var got float64
		for _, x := range tc.inputs {
			got = e.Update(x)
		}
		if math.Abs(got-tc.want) > 1e-12 || got != e.Value {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// Constant input converges to the input.
	e := EWMA{}
	for range 500 {
		e.Update(30)
	}
	if math.Abs(e.Value-30) > 1e-9 {
		t.Errorf("EWMA of constant 30 = %v", e.Value)
	}
	// The default weight reproduces load*11/12 + x/12 exactly.
	e = EWMA{Value: 7.3}
	if got, want := e.Update(41), 7.3*11/12+41.0/12; math.Abs(got-want) > 1e-14 {
		t.Errorf("default weight: %v, want %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("weight 2: no panic")
		}
	}()
	(&EWMA{Weight: 2}).Update(1)
}

func ExampleEWMA() {
	var load EWMA // thesis §4.3: w = 1/12
	for _, active := range []float64{12, 12, 0} {
		fmt.Printf("%.4f\n", load.Update(active))
	}
	// Output:
	// 1.0000
	// 1.9167
	// 1.7569
}

func ExampleZipf() {
	z, _ := NewZipf(4, 1)
	fmt.Printf("%.3f %.3f %d %d\n", z.Prob(0), z.Prob(3), z.Rank(0.2), z.Rank(0.9))
	// Output:
	// 0.480 0.120 0 3
}

func BenchmarkZipfSample(b *testing.B) {
	z, _ := NewZipf(37804, 0.8)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		z.Sample(r)
	}
}

func BenchmarkSizeDistSample(b *testing.B) {
	d := DefaultSizeDist()
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		d.Sample(r)
	}
}
