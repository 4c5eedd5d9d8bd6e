package models

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// MaxZipfN bounds the number of ranks of a [Zipf] sampler: its tables take
// 12 bytes per rank.
const MaxZipfN = 1 << 27

// Zipf samples popularity ranks 0..n-1 with P(rank k) ∝ (k+1)^-α for a
// real α ≥ 0 (α = 0 is uniform). Unlike math/rand/v2's Zipf it accepts
// α ≤ 1, the range web-server and proxy logs show (Breslau et al.,
// INFOCOM 1999).
//
// Sampling is by inversion: one uniform u from the caller's *rand.Rand
// and the smallest rank whose cumulative probability exceeds u, found
// through a guide table (Chen and Asau, 1974) in expected O(1) steps. The
// same u always gives the same rank, and a larger u never a smaller one.
//
// A Zipf is immutable after NewZipf and may be shared; the *rand.Rand
// passed to Sample may not.
type Zipf struct {
	alpha float64
	norm  float64   // Σ (k+1)^-α over all ranks
	cdf   []float64 // cdf[k] = P(rank ≤ k); cdf[n-1] = 1
	guide []int32   // guide[j] = smallest k with cdf[k] > j/len(guide)
}

// NewZipf returns a sampler over n ranks with exponent alpha.
// It needs 1 ≤ n ≤ MaxZipfN and a finite alpha ≥ 0.
func NewZipf(n int, alpha float64) (*Zipf, error) {
	if n < 1 || n > MaxZipfN {
		return nil, fmt.Errorf("models: zipf: n = %d, want 1..%d", n, MaxZipfN)
	}
	if !(alpha >= 0) || math.IsInf(alpha, 1) {
		return nil, fmt.Errorf("models: zipf: alpha = %v, want a finite value >= 0", alpha)
	}
	z := &Zipf{alpha: alpha, cdf: make([]float64, n), guide: make([]int32, n)}
	// Neumaier-compensated running sum, so that a table of 10^7 ranks
	// keeps its small tail probabilities.
	var sum, comp float64
	for k := range n {
		x := math.Pow(float64(k+1), -alpha)
		t := sum + x
		if math.Abs(sum) >= math.Abs(x) {
			comp += (sum - t) + x
		} else {
			comp += (x - t) + sum
		}
		sum = t
		z.cdf[k] = sum + comp
	}
	z.norm = sum + comp
	for k := range z.cdf {
		z.cdf[k] /= z.norm
	}
	z.cdf[n-1] = 1
	k := 0
	for j := range z.guide {
		u := float64(j) / float64(n)
		for z.cdf[k] <= u {
			k++
		}
		z.guide[j] = int32(k)
	}
	return z, nil
}

// N returns the number of ranks.
func (z *Zipf) N() int { return len(z.cdf) }

// Alpha returns the exponent.
func (z *Zipf) Alpha() float64 { return z.alpha }

// Prob returns P(rank k) for 0 ≤ k < N, and 0 otherwise.
func (z *Zipf) Prob(k int) float64 {
	if k < 0 || k >= len(z.cdf) {
		return 0
	}
	return math.Pow(float64(k+1), -z.alpha) / z.norm
}

// CDF returns P(rank ≤ k).
func (z *Zipf) CDF(k int) float64 {
	switch {
	case k < 0:
		return 0
	case k >= len(z.cdf):
		return 1
	}
	return z.cdf[k]
}

// Sample draws one rank in 0..N-1; 0 is the most popular. It consumes
// exactly one Float64 from r.
func (z *Zipf) Sample(r *rand.Rand) int {
	return z.Rank(r.Float64())
}

// Rank returns the rank whose cumulative interval holds u ∈ [0,1): the
// smallest k with CDF(k) > u. It is the inverse CDF that Sample uses.
func (z *Zipf) Rank(u float64) int {
	j := int(u * float64(len(z.guide)))
	j = min(max(j, 0), len(z.guide)-1)
	k := int(z.guide[j])
	// The guide is a lower bound up to the rounding of u*n; walk both
	// ways so the result is exactly the smallest k with cdf[k] > u.
	for k > 0 && z.cdf[k-1] > u {
		k--
	}
	for k < len(z.cdf)-1 && z.cdf[k] <= u {
		k++
	}
	return k
}

// SizeDist is a heavy-tailed object-size model, the hybrid of Barford and
// Crovella (SURGE, SIGMETRICS 1998): with probability 1-TailShare a size
// comes from a lognormal body truncated above at TailXm, and with
// probability TailShare from a Pareto tail starting at TailXm, truncated
// above at Max when Max > 0. With TailShare = 0 the body is an ordinary
// lognormal (truncated at Max when Max > 0). Sizes are real numbers of
// bytes; callers round them.
//
// The zero SizeDist is not valid; start from DefaultSizeDist or FitSizeDist.
type SizeDist struct {
	// Mu and Sigma are the mean and standard deviation of ln(size/byte)
	// of the untruncated body lognormal. Sigma > 0.
	Mu    float64 `json:"mu" yaml:"mu"`
	Sigma float64 `json:"sigma" yaml:"sigma"`

	// TailShare is the probability, in [0,1], that a size is drawn from
	// the Pareto tail.
	TailShare float64 `json:"tail_share" yaml:"tail_share"`

	// TailXm is the Pareto scale in bytes: the tail's smallest size and
	// the body's upper truncation point. Needed when TailShare > 0.
	TailXm float64 `json:"tail_xm" yaml:"tail_xm"`

	// TailShape is the Pareto shape (tail index) α > 0: P(X > x | tail) =
	// (TailXm/x)^α. α ≤ 1 has an infinite mean unless Max bounds it.
	TailShape float64 `json:"tail_shape" yaml:"tail_shape"`

	// Max is the largest size in bytes; 0 means unbounded.
	Max float64 `json:"max" yaml:"max"`
}

// DefaultSizeDist returns the SURGE file-size model (Barford and Crovella,
// 1998): body lognormal μ = 9.357, σ = 1.318 (median 11.6 KB), Pareto tail
// from 133 KB with α = 1.1 holding 7% of the files. SURGE leaves the tail
// unbounded; this model caps it at 1 GiB so that a single draw cannot
// produce an absurd file.
func DefaultSizeDist() SizeDist {
	return SizeDist{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 1.1, Max: 1 << 30}
}

// Validate reports the first invalid field.
func (d SizeDist) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(d.Mu):
		return fmt.Errorf("models: size distribution: mu = %v, want a finite number", d.Mu)
	case !(d.Sigma > 0) || !finite(d.Sigma):
		return fmt.Errorf("models: size distribution: sigma = %v, want a finite number > 0", d.Sigma)
	case !(d.TailShare >= 0 && d.TailShare <= 1):
		return fmt.Errorf("models: size distribution: tail_share = %v, want 0..1", d.TailShare)
	case !(d.Max >= 0) || !finite(d.Max):
		return fmt.Errorf("models: size distribution: max = %v, want a finite number >= 0 (0 = unbounded)", d.Max)
	}
	if d.TailShare > 0 {
		switch {
		case !(d.TailXm > 0) || !finite(d.TailXm):
			return fmt.Errorf("models: size distribution: tail_xm = %v, want a finite number > 0", d.TailXm)
		case !(d.TailShape > 0) || !finite(d.TailShape):
			return fmt.Errorf("models: size distribution: tail_shape = %v, want a finite number > 0", d.TailShape)
		case d.Max > 0 && d.Max <= d.TailXm:
			return fmt.Errorf("models: size distribution: max = %v, want more than tail_xm = %v", d.Max, d.TailXm)
		}
	}
	return nil
}

// bodyMax is the body's upper truncation point (+Inf when none).
func (d SizeDist) bodyMax() float64 {
	switch {
	case d.TailShare > 0:
		return d.TailXm
	case d.Max > 0:
		return d.Max
	}
	return math.Inf(1)
}

// bodyMass is Φ((ln bodyMax - μ)/σ), the untruncated body's mass below
// its truncation point.
func (d SizeDist) bodyMass() float64 {
	b := d.bodyMax()
	if math.IsInf(b, 1) {
		return 1
	}
	return distuv.UnitNormal.CDF((math.Log(b) - d.Mu) / d.Sigma)
}

// tailMass is 1 - (xm/Max)^α, the untruncated Pareto's mass below Max.
func (d SizeDist) tailMass() float64 {
	if d.Max <= 0 {
		return 1
	}
	return 1 - math.Pow(d.TailXm/d.Max, d.TailShape)
}

// openUnit returns a uniform number in the open interval (0,1).
func openUnit(r *rand.Rand) float64 {
	return (float64(r.Uint64()>>11) + 0.5) / (1 << 53)
}

// Sample draws one size in bytes. It consumes exactly two numbers from
// r (one picks body or tail, one inverts the chosen part's CDF), so a
// sequence of draws is reproducible from the seed. d must be valid.
func (d SizeDist) Sample(r *rand.Rand) float64 {
	pick := r.Float64()
	u := openUnit(r)
	if pick < d.TailShare {
		// Inverse of the truncated Pareto CDF.
		return d.TailXm * math.Pow(1-u*d.tailMass(), -1/d.TailShape)
	}
	pb := d.bodyMass()
	if pb <= 0 { // the body lies entirely above its truncation point
		return d.bodyMax()
	}
	x := math.Exp(d.Mu + d.Sigma*distuv.UnitNormal.Quantile(u*pb))
	return min(x, d.bodyMax())
}

// CDF returns P(size ≤ x).
func (d SizeDist) CDF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	var body, tail float64
	if b := d.bodyMax(); x >= b {
		body = 1
	} else if pb := d.bodyMass(); pb > 0 {
		body = distuv.UnitNormal.CDF((math.Log(x)-d.Mu)/d.Sigma) / pb
	} else {
		body = 0
	}
	if d.TailShare > 0 && x >= d.TailXm {
		if d.Max > 0 && x >= d.Max {
			tail = 1
		} else {
			tail = (1 - math.Pow(d.TailXm/x, d.TailShape)) / d.tailMass()
		}
	}
	return (1-d.TailShare)*body + d.TailShare*tail
}

// Mean returns the expected size in bytes (+Inf for an unbounded tail
// with TailShape ≤ 1).
func (d SizeDist) Mean() float64 {
	body := math.Exp(d.Mu + d.Sigma*d.Sigma/2)
	if b := d.bodyMax(); !math.IsInf(b, 1) {
		lb := math.Log(b)
		body *= distuv.UnitNormal.CDF((lb-d.Mu-d.Sigma*d.Sigma)/d.Sigma) /
			distuv.UnitNormal.CDF((lb-d.Mu)/d.Sigma)
	}
	if d.TailShare == 0 {
		return body
	}
	a, xm := d.TailShape, d.TailXm
	var tail float64
	switch {
	case d.Max <= 0 && a <= 1:
		tail = math.Inf(1)
	case d.Max <= 0:
		tail = a * xm / (a - 1)
	case a == 1:
		tail = xm * math.Log(d.Max/xm) / d.tailMass()
	default:
		tail = a * math.Pow(xm, a) / d.tailMass() * (math.Pow(d.Max, 1-a) - math.Pow(xm, 1-a)) / (1 - a)
	}
	if d.TailShare == 1 {
		return tail
	}
	return (1-d.TailShare)*body + d.TailShare*tail
}

// ZipfFit is the result of FitZipf.
type ZipfFit struct {
	Alpha  float64 `json:"alpha" yaml:"alpha"`   // estimated exponent: minus the slope of log count on log rank
	Ranks  int     `json:"ranks" yaml:"ranks"`   // the head used: ranks 1..Ranks (1 = most frequent)
	Points int     `json:"points" yaml:"points"` // (rank, count) points in the regression
	R2     float64 `json:"r2" yaml:"r2"`         // coefficient of determination of the regression
}

// FitZipfMinCount is the smallest count FitZipf uses: below it, the
// sorted counts of a finite sample flatten (many objects share counts of
// 1, 2, 3) and would bias the slope toward 0.
const FitZipfMinCount = 5

// FitZipfMinPoints is the fewest regression points FitZipf fits: with
// fewer it returns ErrTooFewPoints and a ZipfFit with Alpha 0.
const FitZipfMinPoints = 3

// ErrTooFewPoints is returned by the fitting functions when the data
// cannot support an estimate.
var ErrTooFewPoints = errors.New("models: too few data points to fit")

// FitZipf estimates the Zipf exponent from per-object request counts (in
// any order) by least squares of log(count) on log(rank) over the head of
// the rank-frequency curve: ranks 1..K, where K is the last rank with
// count ≥ FitZipfMinCount. So that every decade of ranks weighs the same,
// only the ranks round(1.1^j) take part (about 24 points per decade).
// It needs at least FitZipfMinPoints such points.
func FitZipf(counts []int) (ZipfFit, error) {
	c := slices.Clone(counts)
	slices.SortFunc(c, func(a, b int) int { return b - a })
	k := sort.Search(len(c), func(i int) bool { return c[i] < FitZipfMinCount })
	var xs, ys []float64
	last := 0
	for g := 1.0; int(math.Round(g)) <= k; g *= 1.1 {
		r := int(math.Round(g))
		if r == last {
			continue
		}
		last = r
		xs = append(xs, math.Log(float64(r)))
		ys = append(ys, math.Log(float64(c[r-1])))
	}
	if len(xs) < FitZipfMinPoints {
		return ZipfFit{Ranks: k, Points: len(xs)}, fmt.Errorf("%w: zipf: %d ranks with count >= %d", ErrTooFewPoints, k, FitZipfMinCount)
	}
	slope, r2 := leastSquares(xs, ys)
	return ZipfFit{Alpha: -slope, Ranks: k, Points: len(xs), R2: r2}, nil
}

// leastSquares returns the slope of the least-squares line through
// (xs, ys) and its coefficient of determination.
func leastSquares(xs, ys []float64) (slope, r2 float64) {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	slope = sxy / sxx
	if syy == 0 {
		return slope, 1
	}
	return slope, sxy * sxy / (sxx * syy)
}

// SizeFit is the result of FitSizeDist.
type SizeFit struct {
	Dist      SizeDist
	TailCount int     // observations in the tail (the Hill estimator's k)
	KS        float64 // Kolmogorov-Smirnov distance of Dist from the data
}

// Fitting constants of FitSizeDist.
const (
	// FitTailMinCount is the fewest observations a Pareto tail is fitted to.
	FitTailMinCount = 10
	// FitMaxFactor sets the fitted Max: this many times the largest
	// observation, so a larger look-alike can hold larger files than the
	// sample but not absurd ones.
	FitMaxFactor = 10
	// minSigma is the smallest fitted body σ (a sample of equal sizes).
	minSigma = 0.01
)

// FitSizeDist estimates a SizeDist from observed sizes in bytes (in any
// order, all > 0).
//
// The tail cutoff is chosen as Clauset, Shalizi and Newman choose theirs
// ("Power-law distributions in empirical data", SIAM Review 2009), by the
// least Kolmogorov-Smirnov distance, but of the whole hybrid model from
// all the data. Candidates are "no tail" and every k (the number of
// largest observations in the tail) log-spaced from
// max(FitTailMinCount, n/100) to n/2. For a candidate k, TailXm is the
// (k+1)-th largest size, TailShape is the Hill estimator
// k / Σ ln(x_i/TailXm) over the k largest, and TailShare = k/n. The body,
// the sizes ≤ TailXm, gets the lognormal whose truncation at TailXm has
// the body's log-mean and log-variance (moment matching of the
// upper-truncated normal, which removes the bias that plain log-moments
// below a cutoff have). Max is FitMaxFactor times the largest size.
func FitSizeDist(sizes []float64) (SizeFit, error) {
	n := len(sizes)
	if n < 2 {
		return SizeFit{}, fmt.Errorf("%w: sizes: %d observations, want >= 2", ErrTooFewPoints, n)
	}
	x := slices.Clone(sizes)
	slices.Sort(x)
	if !(x[0] > 0) || math.IsInf(x[n-1], 1) || math.IsNaN(x[n-1]) {
		return SizeFit{}, fmt.Errorf("models: fit sizes: sizes must be finite and > 0 (smallest %v, largest %v)", x[0], x[n-1])
	}
	// Prefix sums of centred logs and their squares give every
	// candidate's body moments in O(1); sum[i] covers logs[:i].
	ref := math.Log(x[n/2])
	logs := make([]float64, n)
	sum := make([]float64, n+1)
	sq := make([]float64, n+1)
	for i, v := range x {
		logs[i] = math.Log(v)
		c := logs[i] - ref
		sum[i+1] = sum[i] + c
		sq[i+1] = sq[i] + c*c
	}
	maxSize := FitMaxFactor * x[n-1]

	candidate := func(k int) (SizeDist, bool) {
		m := n - k // body size
		mean := sum[m] / float64(m)
		variance := 0.0
		if m > 1 {
			variance = max(0, (sq[m]-float64(m)*mean*mean)/float64(m-1))
		}
		d := SizeDist{Mu: mean + ref, Sigma: math.Max(math.Sqrt(variance), minSigma), Max: maxSize}
		if k == 0 {
			return d, true
		}
		xm := x[m-1]
		hill := (sum[n] - sum[m]) - float64(k)*(logs[m-1]-ref)
		if hill <= 0 || xm >= maxSize {
			return d, false
		}
		d.TailShare, d.TailXm, d.TailShape = float64(k)/float64(n), xm, float64(k)/hill
		d.Mu, d.Sigma = untruncate(d.Mu, d.Sigma, math.Log(xm))
		return d, true
	}
	// The KS distance is evaluated on at most about 20,000 order
	// statistics, which bounds the cost for very large samples.
	stride := max(1, n/20000)
	ks := func(d SizeDist) float64 {
		var worst float64
		for i := 0; i < n; i += stride {
			f := d.CDF(x[i])
			worst = max(worst, math.Abs(float64(i+1)/float64(n)-f), math.Abs(float64(i)/float64(n)-f))
		}
		return worst
	}

	best, _ := candidate(0)
	bestK, bestKS := 0, ks(best)
	lastK := 0
	for g := float64(max(FitTailMinCount, n/100)); int(g) <= n/2; g *= 1.05 {
		k := int(g)
		if k == lastK {
			continue
		}
		lastK = k
		d, ok := candidate(k)
		if !ok {
			continue
		}
		if s := ks(d); s < bestKS {
			best, bestK, bestKS = d, k, s
		}
	}
	if stride > 1 {
		bestKS = 0
		for i, v := range x {
			f := best.CDF(v)
			bestKS = max(bestKS, math.Abs(float64(i+1)/float64(n)-f), math.Abs(float64(i)/float64(n)-f))
		}
	}
	return SizeFit{Dist: best, TailCount: bestK, KS: bestKS}, nil
}

// untruncate returns the (μ, σ) of the normal whose truncation above b has
// mean m and standard deviation s. For a normal truncated above at b with
// β = (b-μ)/σ and λ = φ(β)/Φ(β): mean = μ - σλ and
// variance = σ²(1 - βλ - λ²). It iterates that fixed point from (m, s) and
// returns (m, s) unchanged when it does not settle or settles on a parent
// whose median lies above b (truncation too severe for two moments to
// identify the parent; such fits put most of the body's mass above the
// data).
func untruncate(m, s, b float64) (mu, sigma float64) {
	mu, sigma = m, s
	for range 200 {
		beta := (b - mu) / sigma
		phi, cdf := distuv.UnitNormal.Prob(beta), distuv.UnitNormal.CDF(beta)
		if cdf < 0.5 {
			return m, s
		}
		lambda := phi / cdf
		f := 1 - beta*lambda - lambda*lambda
		if f <= 1e-3 {
			return m, s
		}
		nsigma := s / math.Sqrt(f)
		nmu := m + nsigma*lambda
		if math.Abs(nmu-mu) < 1e-10 && math.Abs(nsigma-sigma) < 1e-10 {
			if nmu > b {
				return m, s
			}
			return nmu, nsigma
		}
		mu, sigma = nmu, nsigma
	}
	return m, s // did not settle
}

// DefaultEWMAWeight is the weight of a new observation in the thesis's
// load average (§4.3: load = load × 11/12 + x × 1/12).
const DefaultEWMAWeight = 1.0 / 12

// EWMA is an exponentially weighted moving average:
// Value ← Value·(1-w) + x·w on every Update. The zero value starts at 0
// with w = DefaultEWMAWeight.
type EWMA struct {
	// Weight is w ∈ (0,1], the weight of each new observation;
	// 0 means DefaultEWMAWeight.
	Weight float64
	// Value is the current average; set it to start from another value.
	Value float64
}

// Update folds x into the average and returns the new value. Weight must be
// in [0, 1]; Update panics otherwise.
func (e *EWMA) Update(x float64) float64 {
	w := e.Weight
	switch {
	case w == 0:
		w = DefaultEWMAWeight
	case !(w > 0 && w <= 1):
		panic(fmt.Sprintf("models: EWMA weight %v outside (0, 1]", w))
	}
	e.Value = e.Value*(1-w) + x*w
	return e.Value
}
