package models

import (
	"fmt"
	"math"
	"time"
)

// Slowdown multiplies the service times of a server by Factor from From
// to To (model time since the run's origin): another job shares the
// machine for that interval (a background load), as in thesis §4.2,
// where DFLB's feedback exists for such nodes.
type Slowdown struct {
	From, To time.Duration
	Factor   float64
}

// Bounds of Pace.Speed and Slowdown.Factor: a job's time stays a
// time.Duration, and the end of a job is found in few steps.
const (
	MinSpeed = 1.0 / 1000
	MaxSpeed = 1000.0
)

// CheckSpeed reports whether s is a speed or a slowdown factor Pace
// accepts: a finite number in [MinSpeed, MaxSpeed].
func CheckSpeed(s float64) error {
	if math.IsNaN(s) || s < MinSpeed || s > MaxSpeed {
		return fmt.Errorf("%v is not a number in [%v, %v]", s, MinSpeed, MaxSpeed)
	}
	return nil
}

// Pace is how fast one FIFO server (a node's CPU or its disk) works over
// time. A job's work is its service time at speed 1 (the Costs of the
// reference model); the server does Speed units of work per unit of time,
// divided by the Factor of every slowdown in force (overlapping slowdowns
// multiply). The zero value is the reference model's server: speed 1,
// never slowed.
//
// A job that straddles a slowdown's boundary is served at each rate for
// the part of its work done under that rate: started 860 µs before a ×2
// slowdown begins, a 28,410 µs disk read does 860 µs of work before it,
// then 5,000 µs of work in each 10,000 µs of the slowdown, and the rest at
// full speed after it ends. The end of a job is therefore known when it
// starts (the slowdowns are given in advance) and no event marks the
// boundaries.
type Pace struct {
	Speed     float64 // work per unit of time; 0 means 1
	Slowdowns []Slowdown
}

// Finish returns the instant a job of work work started at start ends,
// rounded to the nearest nanosecond. With speed 1 and no slowdown it is
// exactly start + work.
func (p *Pace) Finish(start, work time.Duration) time.Duration {
	speed := p.Speed
	if speed == 0 {
		speed = 1
	}
	if len(p.Slowdowns) == 0 {
		if speed == 1 {
			return start + work
		}
		return start + round(float64(work)/speed)
	}
	t, rem := start, float64(work)
	for {
		factor, next := p.at(t)
		rate := speed / factor
		need := rem / rate
		if next < 0 || float64(t)+need <= float64(next) {
			return t + round(need)
		}
		rem -= float64(next-t) * rate
		t = next
	}
}

// at returns the product of the factors of the slowdowns in force at t
// (From <= t < To) and the next instant after t where one begins or ends
// (-1: none).
func (p *Pace) at(t time.Duration) (factor float64, next time.Duration) {
	factor, next = 1, -1
	for _, s := range p.Slowdowns {
		if s.From <= t && t < s.To {
			factor *= s.Factor
		}
		for _, b := range [2]time.Duration{s.From, s.To} {
			if b > t && (next < 0 || b < next) {
				next = b
			}
		}
	}
	return factor, next
}

func round(ns float64) time.Duration {
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}
