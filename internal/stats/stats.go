// Package stats is the small, pure statistics lvslab's replicates need:
// the mean, standard deviation and Student-t confidence interval of a
// sample, and t-tests of the difference between two samples (paired,
// when replicates share their random streams across schedulers, and
// Welch's otherwise). The t distribution is computed here from the
// regularised incomplete beta function, without tables.
//
//	s := stats.Summarize([]float64{281.2, 279.9, 283.0}, 0.95)
//	fmt.Printf("%.1f ± %.1f\n", s.Mean, s.HalfWidth())
package stats

import (
	"errors"
	"fmt"
	"math"
)

// DefaultLevel is the confidence level used when none is given.
const DefaultLevel = 0.95

// CheckLevel reports whether level is a usable confidence level: strictly
// between 0 and 1.
func CheckLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("confidence level %v: must be strictly between 0 and 1 (0.95 for 95%%)", level)
	}
	return nil
}

// Summary describes a sample: its size, mean, sample standard deviation
// (n-1 in the denominator) and the two-sided Student-t confidence interval
// [Lo, Hi] of its mean at Level. With one value the standard deviation is
// 0 and the interval is the value itself (nothing is known of the spread);
// with none, every field but N and Level is NaN.
type Summary struct {
	N      int
	Mean   float64
	SD     float64
	Lo, Hi float64
	Level  float64
}

// HalfWidth is half the confidence interval's width.
func (s Summary) HalfWidth() float64 { return (s.Hi - s.Lo) / 2 }

// Summarize returns the summary of xs at confidence level (0 < level < 1;
// it panics otherwise: check user input with CheckLevel).
func Summarize(xs []float64, level float64) Summary {
	mustLevel(level)
	s := Summary{N: len(xs), Level: level}
	switch len(xs) {
	case 0:
		s.Mean, s.SD, s.Lo, s.Hi = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		return s
	case 1:
		s.Mean, s.Lo, s.Hi = xs[0], xs[0], xs[0]
		return s
	}
	s.Mean, s.SD = meanSD(xs)
	h := TQuantile(1-(1-level)/2, float64(len(xs)-1)) * s.SD / math.Sqrt(float64(len(xs)))
	s.Lo, s.Hi = s.Mean-h, s.Mean+h
	return s
}

// meanSD returns the mean and the sample standard deviation of xs (two
// passes, for accuracy).
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func mustLevel(level float64) {
	if err := CheckLevel(level); err != nil {
		panic("stats: " + err.Error())
	}
}

// Test names a two-sample t-test.
type Test string

const (
	// Paired tests the mean of the differences a[i] - b[i]: right when
	// a[i] and b[i] share their randomness (replicate i of two schedulers
	// runs on the same perturbation streams), which the test then does
	// not count as noise.
	Paired Test = "paired"
	// Welch tests the difference of the means of two independent samples
	// without assuming equal variances (Welch–Satterthwaite degrees of
	// freedom).
	Welch Test = "welch"
)

// Diff is the outcome of a t-test of the difference a - b.
type Diff struct {
	Test   Test
	N      int     // pairs (Paired) or the smaller sample (Welch)
	Mean   float64 // the estimated difference of the means, a - b
	Lo, Hi float64 // its confidence interval at Level
	T      float64 // the t statistic (±Inf when the difference has no spread)
	DF     float64 // degrees of freedom
	P      float64 // two-sided p-value
	Level  float64
}

// Significant reports whether the difference is significant at Level:
// its confidence interval excludes 0 (equivalently, P < 1 - Level).
func (d Diff) Significant() bool { return d.Lo > 0 || d.Hi < 0 }

// ErrTooFew is returned by the tests for samples too small to estimate a
// spread.
var ErrTooFew = errors.New("stats: a t-test needs at least 2 values per sample")

// PairedTest tests a - b on pairs (a[i], b[i]) at level.
func PairedTest(a, b []float64, level float64) (Diff, error) {
	mustLevel(level)
	if len(a) != len(b) {
		return Diff{}, fmt.Errorf("stats: paired test of %d and %d values", len(a), len(b))
	}
	if len(a) < 2 {
		return Diff{}, ErrTooFew
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	mean, sd := meanSD(d)
	n := float64(len(d))
	return tDiff(Paired, len(d), mean, sd/math.Sqrt(n), n-1, level), nil
}

// WelchTest tests mean(a) - mean(b) for independent samples at level.
func WelchTest(a, b []float64, level float64) (Diff, error) {
	mustLevel(level)
	if len(a) < 2 || len(b) < 2 {
		return Diff{}, ErrTooFew
	}
	ma, sa := meanSD(a)
	mb, sb := meanSD(b)
	va, vb := sa*sa/float64(len(a)), sb*sb/float64(len(b))
	se := math.Sqrt(va + vb)
	df := math.Inf(1) // no spread: the difference is known exactly
	if va+vb > 0 {
		df = (va + vb) * (va + vb) / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	}
	return tDiff(Welch, min(len(a), len(b)), ma-mb, se, df, level), nil
}

// tDiff completes a Diff from the difference, its standard error and the
// degrees of freedom.
func tDiff(test Test, n int, mean, se, df, level float64) Diff {
	d := Diff{Test: test, N: n, Mean: mean, DF: df, Level: level}
	if se == 0 {
		// Every replicate gave the same difference: it is exact.
		d.Lo, d.Hi = mean, mean
		switch {
		case mean == 0:
			d.T, d.P = 0, 1
		default:
			d.T, d.P = math.Copysign(math.Inf(1), mean), 0
		}
		return d
	}
	h := TQuantile(1-(1-level)/2, df) * se
	d.Lo, d.Hi = mean-h, mean+h
	d.T = mean / se
	d.P = 2 * (1 - TCDF(math.Abs(d.T), df))
	return d
}

// TCDF is the cumulative distribution function of Student's t with df > 0
// degrees of freedom (df = +Inf: the standard normal).
func TCDF(t, df float64) float64 {
	switch {
	case math.IsNaN(t) || math.IsNaN(df) || df <= 0:
		return math.NaN()
	case math.IsInf(df, 1):
		return 0.5 * math.Erfc(-t/math.Sqrt2)
	case math.IsInf(t, 1):
		return 1
	case math.IsInf(t, -1):
		return 0
	}
	// P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²).
	tail := 0.5 * regIncBeta(df/(df+t*t), df/2, 0.5)
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// TQuantile returns the p-quantile of Student's t with df > 0 degrees of
// freedom (0 < p < 1): the t with TCDF(t, df) = p, found by bisection to
// full float64 precision.
func TQuantile(p, df float64) float64 {
	switch {
	case !(p > 0 && p < 1) || math.IsNaN(df) || df <= 0:
		return math.NaN()
	case p == 0.5:
		return 0
	case p < 0.5:
		return -TQuantile(1-p, df)
	}
	lo, hi := 0.0, 1.0
	for TCDF(hi, df) < p {
		lo, hi = hi, 2*hi
		if math.IsInf(hi, 0) {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid == lo || mid == hi {
			break
		}
		if TCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), by
// its continued fraction (modified Lentz), using the symmetry
// I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
func regIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x > (a+1)/(a+b+2) {
		return 1 - front*betaFraction(1-x, b, a)/b
	}
	return front * betaFraction(x, a, b) / a
}

// betaFraction evaluates the continued fraction of I_x(a, b).
func betaFraction(x, a, b float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	// step applies one partial numerator (modified Lentz) and returns the
	// factor it multiplies f by.
	step := func(num float64) float64 {
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		return d * c
	}
	for m := 1; m <= 1000; m++ {
		fm := float64(m)
		f *= step(fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm)))                // even step
		delta := step(-(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))) // odd step
		f *= delta
		if math.Abs(delta-1) < 1e-15 {
			break
		}
	}
	return f
}
