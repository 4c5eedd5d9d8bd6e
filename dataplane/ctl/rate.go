package ctl

import (
	"math"
	"time"
)

// EstimatorInterval is the sampling interval of the rate estimators, as
// in the kernel's IPVS (ip_vs_est.c): rates are measured every 2 s.
const EstimatorInterval = 2 * time.Second

// estimatorWeight is the weight W of a new measurement in the average,
// 2^-2 as in ip_vs_est.c, so that the average spans about the last 8 s.
const estimatorWeight = 0.25

// Estimator turns one set of Counters into ipvsadm --rate's rates as the
// kernel's IPVS estimator does: every EstimatorInterval the rate of each
// counter over the interval is measured and averaged,
//
//	avgrate = avgrate·(1−W) + rate·W,  W = 1/4
//
// The kernel divides by a fixed 2 s; Estimator divides by the time that
// actually passed between two updates (the caller's clock), so a late tick
// does not inflate the rates. Rates are read rounded to the nearest
// integer. The zero value is ready: its first Update only records the
// counters. It is pure (no clock of its own) and not safe for concurrent
// use.
type Estimator struct {
	started bool
	at      time.Time
	last    Counters
	avg     [5]float64 // cps, inpps, outpps, inbps, outbps
}

// Update records the counters c read at now.
func (e *Estimator) Update(now time.Time, c Counters) {
	if !e.started || c.Conns < e.last.Conns || c.InPkts < e.last.InPkts || c.OutPkts < e.last.OutPkts ||
		c.InBytes < e.last.InBytes || c.OutBytes < e.last.OutBytes {
		// First sample, or counters that went back (zeroed): start over.
		*e = Estimator{started: true, at: now, last: c}
		return
	}
	dt := now.Sub(e.at).Seconds()
	if dt <= 0 {
		return
	}
	cur := [5]uint64{c.Conns, c.InPkts, c.OutPkts, c.InBytes, c.OutBytes}
	old := [5]uint64{e.last.Conns, e.last.InPkts, e.last.OutPkts, e.last.InBytes, e.last.OutBytes}
	for i := range e.avg {
		rate := float64(cur[i]-old[i]) / dt
		e.avg[i] += (rate - e.avg[i]) * estimatorWeight
	}
	e.at, e.last = now, c
}

// Reset forgets the history (ipvsadm -Z zeroes the rates too).
func (e *Estimator) Reset() { *e = Estimator{} }

// Rates returns the current average rates.
func (e *Estimator) Rates() Rates {
	r := func(v float64) uint64 { return uint64(math.Round(v)) }
	return Rates{CPS: r(e.avg[0]), InPPS: r(e.avg[1]), OutPPS: r(e.avg[2]), InBPS: r(e.avg[3]), OutBPS: r(e.avg[4])}
}
