package workbench

import (
	"fmt"
	"math"
	"time"
)

// TimeScale is how much faster than the model a live run goes: the
// emulated back ends divide every model time (a CPU or disk job) by it,
// so one second of wall time is TimeScale seconds of model time.
//
// The conversions are exact inverses up to rounding to the nanosecond:
//
//	wall  = model / scale   (Wall: what a live director and back end wait)
//	model = wall × scale    (Model: how a live measurement reads in the model)
//	model req/s = live req/s / scale   (ModelRate)
//
// A live run at scale s serves s times the simulated request rate, so its
// throughput divided by s is what compares with the simulator's; its
// response times multiplied by s likewise. Everything time-valued that a
// live run is given in model time (LBLC/R's set expiry, DFLB's monitor
// interval, the health-check delay, connect timeouts, the time series'
// interval, failure times) is divided by s before the live processes see
// it.
type TimeScale float64

// DefaultTimeScale is the time scale of live runs (testbed run, validate)
// unless --time-scale says otherwise. It is calibrated so that the machine
// is not the bottleneck on two cores shared by the director, the back
// ends and the load generator, even with other jobs on them (the README's
// "Validation" section has the measurements): the live overhead, about
// 0.5 ms of CPU per request of the validation experiment (proxying 51 KB
// over loopback TCP twice, the load generator's work), keeps the busiest
// cell at a seventh of what the machine can serve, where a scale of 2
// agreed as well on an idle machine but fell up to 28% short on a busy
// one.
const DefaultTimeScale TimeScale = 1

// MaxTimeScale bounds the time scale: beyond it the emulated CPU jobs
// (140 µs of connection set-up in the reference model) would be shorter
// than the back end's timer precision and than the live overhead itself.
const MaxTimeScale TimeScale = 1000

// Check returns an error unless s is a usable time scale (finite, > 0, at
// most MaxTimeScale).
func (s TimeScale) Check() error {
	f := float64(s)
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return fmt.Errorf("time scale %v: want a finite number > 0", f)
	}
	if s > MaxTimeScale {
		return fmt.Errorf("time scale %v: at most %v (beyond it the model's shortest jobs are shorter than the live overhead)", f, float64(MaxTimeScale))
	}
	return nil
}

// Wall is the wall time a live run takes for model time d: d / s, rounded
// to the nanosecond, and at least 1 ns for a positive d.
func (s TimeScale) Wall(d time.Duration) time.Duration {
	w := time.Duration(math.Round(float64(d) / float64(s)))
	if w == 0 && d > 0 {
		w = 1
	}
	return w
}

// Model is the model time of wall time d: d × s, rounded to the
// nanosecond.
func (s TimeScale) Model(d time.Duration) time.Duration {
	return time.Duration(math.Round(float64(d) * float64(s)))
}

// ModelRate is the model-time rate of a live rate (per wall second):
// rate / s.
func (s TimeScale) ModelRate(rate float64) float64 { return rate / float64(s) }

// String is the scale as a number ("2", "12.5").
func (s TimeScale) String() string { return fmt.Sprint(float64(s)) }
