package traces

import (
	"math"
	"sort"
)

// ZipfFit is a least-squares fit of log(frequency) = Intercept − Alpha·log(rank)
// to the popularity of targets (rank 1 = the most requested).
type ZipfFit struct {
	Alpha     float64 `json:"alpha"`     // Zipf exponent (slope of the log-log rank/frequency line, negated)
	Intercept float64 `json:"intercept"` // natural log of the fitted frequency at rank 1
	R2        float64 `json:"r2"`        // coefficient of determination of the fit, in [0, 1]
	N         int     `json:"n"`         // number of ranks fitted (targets with a count > 0)
}

// FitZipf fits a Zipf law to counts, the number of requests of each target
// (any order; zero counts are ignored), by ordinary least squares on
// (ln rank, ln count). With fewer than two targets, or when every target has
// the same count, Alpha is 0 and R2 is 0 or 1 accordingly.
func FitZipf(counts []int64) ZipfFit {
	c := make([]int64, 0, len(counts))
	for _, v := range counts {
		if v > 0 {
			c = append(c, v)
		}
	}
	sort.Slice(c, func(i, j int) bool { return c[i] > c[j] })
	fit := ZipfFit{N: len(c)}
	if len(c) == 0 {
		return fit
	}
	if len(c) == 1 {
		fit.Intercept = math.Log(float64(c[0]))
		return fit
	}
	n := float64(len(c))
	var sx, sy float64
	for i, v := range c {
		sx += math.Log(float64(i + 1))
		sy += math.Log(float64(v))
	}
	mx, my := sx/n, sy/n
	var sxx, sxy, syy float64
	for i, v := range c {
		dx := math.Log(float64(i+1)) - mx
		dy := math.Log(float64(v)) - my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	slope := sxy / sxx
	fit.Alpha = -slope
	fit.Intercept = my - slope*mx
	if syy == 0 {
		fit.Alpha = 0 // flat: a perfect fit with slope 0
		fit.R2 = 1
		return fit
	}
	fit.R2 = sxy * sxy / (sxx * syy)
	return fit
}
