package monitor

import (
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// Metric positions, in the order of algorithms.Load's fields and of DFLB's
// coefficients (thesis §4.2.3).
const (
	mInput = iota
	mCPU
	mDisk
	mMemory
	mProcess
	mResponse
	nMetrics
)

// sample is one server's raw measurement of one poll.
type sample struct {
	id         algorithms.ServerID
	responsive bool
	v          [nMetrics]float64
	measured   [nMetrics]bool
	absolute   [nMetrics]bool // already on the "1 = just loaded" scale: not divided by the mean
}

func (s *sample) set(k int, v float64, absolute bool) {
	s.v[k], s.measured[k], s.absolute[k] = v, true, absolute
}

// fill maps a report onto the thesis's metrics:
//
//	INPUT   the rate of served (requests per second since the last poll), relative
//	LOAD    cpu_util (absolute), else cpu_queue (relative)
//	DISK    disk_util (absolute), else disk_queue (relative)
//	PROCESS active (relative)
//
// MEMORY and RESPONSE are not measured. served holds each server's last
// served count and is updated.
func (s *sample) fill(r *Report, served map[algorithms.ServerID]servedAt, now time.Time) {
	if r.Active != nil {
		s.set(mProcess, *r.Active, false)
	}
	switch {
	case r.CPUUtil != nil:
		s.set(mCPU, *r.CPUUtil, true)
	case r.CPUQueue != nil:
		s.set(mCPU, *r.CPUQueue, false)
	}
	switch {
	case r.DiskUtil != nil:
		s.set(mDisk, *r.DiskUtil, true)
	case r.DiskQueue != nil:
		s.set(mDisk, *r.DiskQueue, false)
	}
	if r.Served != nil {
		prev, ok := served[s.id]
		if dt := now.Sub(prev.at).Seconds(); ok && *r.Served >= prev.n && dt > 0 {
			s.set(mInput, (*r.Served-prev.n)/dt, false)
		}
		served[s.id] = servedAt{*r.Served, now}
	}
}

// maths is the monitor's arithmetic: the simulator's load monitor (thesis
// §4.3; sim's periodic monitor event), per metric.
type maths struct {
	window float64
	target float64
	avg    map[algorithms.ServerID]*[nMetrics]float64
}

func newMaths(window int, target float64) maths {
	return maths{window: float64(window), target: target, avg: map[algorithms.ServerID]*[nMetrics]float64{}}
}

// tick smooths one poll's samples and normalises them into the Loads the
// scheduler receives. For each metric a responsive server measured, its
// moving average s (from 0) becomes
//
//	s = s×(Window−1)/Window + x/Window
//
// (load×11/12 + x/12 with the default Window 12), and the value passed on
// is TargetLoad × s / mean, mean being the average of s over the samples that
// measured the metric on the relative scale (TargetLoad when that mean is 0),
// or s itself for a metric already on the absolute scale (a utilisation).
// A metric not measured is left out of the Load (Load.Measured), and DFLB
// weighs the measured metrics only. An unresponsive server gets Responsive false (DFLB gives it
// weight 0) and keeps its averages. Servers absent from samples are
// forgotten.
//
// This is the one place of the monitor's maths: the shared monitor of
// package algorithms, when it exists, replaces it.
func (m *maths) tick(samples []sample) []algorithms.Load {
	var sum [nMetrics]float64
	var n [nMetrics]int
	seen := make(map[algorithms.ServerID]bool, len(samples))
	for i := range samples {
		s := &samples[i]
		seen[s.id] = true
		if !s.responsive {
			continue
		}
		a := m.avg[s.id]
		if a == nil {
			a = new([nMetrics]float64)
			m.avg[s.id] = a
		}
		for k := range nMetrics {
			if !s.measured[k] {
				continue
			}
			a[k] = a[k]*(m.window-1)/m.window + s.v[k]/m.window
			if !s.absolute[k] {
				sum[k] += a[k]
				n[k]++
			}
		}
	}
	for id := range m.avg {
		if !seen[id] {
			delete(m.avg, id)
		}
	}
	out := make([]algorithms.Load, len(samples))
	for i := range samples {
		s := &samples[i]
		out[i] = algorithms.Load{ID: s.id, Responsive: s.responsive}
		if !s.responsive {
			continue
		}
		for k := range nMetrics {
			var v float64
			switch {
			case !s.measured[k]:
				continue // absent: DFLB weighs the measured metrics only
			case s.absolute[k]:
				v = m.avg[s.id][k]
			case sum[k] == 0:
				v = m.target
			default:
				v = m.target * (m.avg[s.id][k] / (sum[k] / float64(n[k]))) // exactly TargetLoad at the mean
			}
			out[i].Set(algorithms.Metrics(1)<<k, v)
		}
	}
	return out
}
