// Package models holds the node and workload models of lvslab: cache
// policies, CPU and disk cost functions, load metrics and the size and
// popularity distributions of web workloads. It is pure: no I/O, no wall
// clock, no global randomness and no goroutines. Randomness arrives as a
// seeded *rand.Rand (math/rand/v2) from the caller, so one seed gives one
// result.
//
// # Workload distributions
//
// [Zipf] samples popularity ranks with P(rank k) ∝ k^-α for any real α ≥ 0,
// including the α ≤ 1 range that web logs show (Breslau et al., "Web
// Caching and Zipf-like Distributions: Evidence and Implications",
// INFOCOM 1999, report α between 0.64 and 0.83) and that math/rand/v2's
// Zipf (which needs s > 1) cannot produce. [SizeDist] is the heavy-tailed
// file-size model of Barford and Crovella (SURGE, SIGMETRICS 1998): a
// lognormal body spliced to a Pareto tail. [FitZipf] and [FitSizeDist]
// estimate both from observed data.
//
//	r := rand.New(rand.NewPCG(seed, 1))
//	z, _ := models.NewZipf(37804, 0.8)
//	rank := z.Sample(r) // 0 is the most popular object
//	size := models.DefaultSizeDist().Sample(r)
//
// # Load averaging
//
// [EWMA] is the exponentially weighted moving average that the thesis's
// simulation uses as its load metric (§4.3: every 5 s,
// load = load × 11/12 + active × 1/12).
package models
