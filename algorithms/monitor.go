package algorithms

import (
	"fmt"
	"math"
)

// Monitor is the load monitor of DFLB's feedback loop (thesis §4.2.2,
// §4.3), shared by every host: each interval the host hands Tick one raw
// measurement per server, and Tick returns the normalised Loads to pass
// to LoadFeedback.Feedback. The simulator calls Tick from its periodic
// monitor event with each node's connection count; a live director calls
// it from a ticker with what the back ends' load reports measured (active
// connections, CPU or disk utilisation, queue lengths, response times).
// The interval is the host's: Tick counts calls, not time.
//
// # Smoothing (§4.3)
//
// For every metric a sample measured (Load.Measured), the server's
// smoothed value s, which starts at 0, becomes
//
//	s = s×(Window−1)/Window + x/Window
//
// an exponentially weighted moving average whose weight 1/Window makes it
// span about Window intervals: the thesis's simulation uses Window 12 at
// a 5 s interval, "the number of running processes averaged over the past
// minute" (load = load×11/12 + conns×1/12).
//
// # Normalisation (§4.2.2)
//
// Each metric is then normalised so that 1 reads "just loaded" in DFLB's
// terms, relative to the cluster: a server's value is
//
//	M = Target × (s / mean)
//
// where mean is the mean of s over the samples of this Tick that measured
// the metric, and M = Target when that mean is 0. With Target 0.95 (DFLB's
// target aggregate) a server at the mean keeps its weight and only
// imbalance moves weights (docs/reference-model.md, DFLB). Target × (s/mean),
// not (Target×s)/mean: a server exactly at the mean gets exactly Target,
// because the cube root of the weight update turns rounding noise of 1e-16
// into a weight step of 3e-5. Metrics in Absolute are already on the
// "1 = just loaded" scale (a utilisation against its capacity) and are only
// smoothed: M = s.
//
// # Server.Load
//
// Tick also sets every pool server's Server.Load to ConnLoad (Active/High
// at the tick), the load LBLL reads (thesis §7.3.1).
//
// # Membership
//
// A server in the pool without a sample in a Tick keeps its smoothed
// values and gets no Load; a metric a sample did not measure keeps its
// smoothed value too. A server that left the pool is forgotten: if it
// comes back it starts again from 0.
//
// A Monitor, like a Scheduler, is a deterministic state machine that is not
// safe for concurrent use.
type Monitor struct {
	cfg   MonitorConfig
	state map[ServerID]*monitorServer
	gen   uint64   // pool generation of the last pruning
	tick  uint64   // calls to Tick so far, the current one included
	seen  []uint64 // by pool position: the Tick call that last saw a sample
	out   []Load
}

type monitorServer struct {
	avg      [NumMetrics]float64 // smoothed raw values
	measured Metrics             // metrics measured at least once
}

// MonitorConfig configures a Monitor. The zero value is the thesis's
// simulation monitor (DefaultMonitorConfig).
type MonitorConfig struct {
	// Window is the length of the moving average in intervals: each Tick
	// gives a new sample the weight 1/Window. 1 means no smoothing; 0
	// means 12 (thesis §4.3).
	Window int

	// Target is the normalised value of a server at the cluster's mean,
	// and of every server when the mean is 0. 0 means 0.95, DFLB's target
	// aggregate load (thesis §4.2.4), so that a server at the mean keeps
	// its weight.
	Target float64

	// Absolute are the metrics whose samples are already normalised (1 =
	// just loaded): they are smoothed but not divided by the mean.
	Absolute Metrics
}

// DefaultMonitorConfig returns the thesis's simulation monitor: a 12-tick
// moving average normalised to 0.95 at the mean (thesis §4.3;
// docs/reference-model.md, DFLB).
func DefaultMonitorConfig() MonitorConfig { return MonitorConfig{Window: 12, Target: 0.95} }

// NewMonitor returns a monitor with cfg, zero fields replaced by the
// defaults of DefaultMonitorConfig.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	d := DefaultMonitorConfig()
	switch {
	case cfg.Window < 0:
		return nil, fmt.Errorf("algorithms: monitor: Window = %d: must be >= 0 (0: %d)", cfg.Window, d.Window)
	case math.IsNaN(cfg.Target) || math.IsInf(cfg.Target, 0) || cfg.Target < 0:
		return nil, fmt.Errorf("algorithms: monitor: Target = %v: must be finite and >= 0 (0: %v)", cfg.Target, d.Target)
	case cfg.Absolute&^AllMetrics != 0:
		return nil, fmt.Errorf("algorithms: monitor: Absolute = %v: not a set of metrics", cfg.Absolute)
	}
	if cfg.Window == 0 {
		cfg.Window = d.Window
	}
	if cfg.Target == 0 {
		cfg.Target = d.Target
	}
	return &Monitor{cfg: cfg, state: make(map[ServerID]*monitorServer)}, nil
}

// Config returns the resolved configuration.
func (m *Monitor) Config() MonitorConfig { return m.cfg }

// Tick runs one monitoring interval. samples holds this interval's raw
// measurements, at most one per server of p, each with the metrics it
// measured in Measured (values outside Measured must be 0) and Responsive
// as the host found it. Tick returns one Load per sample, in the order of
// samples, with the same ID, Measured and Responsive and the normalised
// metrics; the slice is the monitor's own and is overwritten by the next
// Tick. It then sets every pool server's Server.Load (see Monitor).
//
// A sample for a server not in p, a second sample for a server, or a value
// that is negative, not finite or outside Measured is an error, and then
// nothing changes.
func (m *Monitor) Tick(samples []Load, p *Pool) ([]Load, error) {
	m.tick++
	if m.gen != p.Generation() {
		m.prune(p)
	}
	if len(m.seen) != p.Len() {
		m.seen = make([]uint64, p.Len())
	}
	for i := range samples {
		l := &samples[i]
		pos, ok := p.Index(l.ID)
		if !ok {
			return nil, fmt.Errorf("algorithms: monitor: samples[%d]: %w: %d", i, ErrUnknownServer, l.ID)
		}
		if m.seen[pos] == m.tick {
			return nil, fmt.Errorf("algorithms: monitor: samples[%d]: a second sample of server %d", i, l.ID)
		}
		m.seen[pos] = m.tick
		for k, v := range l.values() {
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
				return nil, fmt.Errorf("algorithms: monitor: samples[%d] (server %d): %s = %v: must be finite and >= 0", i, l.ID, MetricAt(k), v)
			case v != 0 && !l.Measured.Has(MetricAt(k)):
				return nil, fmt.Errorf("algorithms: monitor: samples[%d] (server %d): %s = %v but Measured (%v) does not include it; set metrics with Load.Set",
					i, l.ID, MetricAt(k), v, l.Measured)
			}
		}
	}

	// Smooth, and sum each metric over the samples that measured it, in
	// the order of samples.
	keep, w := float64(m.cfg.Window-1), float64(m.cfg.Window)
	var sum [NumMetrics]float64
	var n [NumMetrics]int
	for i := range samples {
		l := &samples[i]
		st := m.state[l.ID]
		if st == nil {
			st = &monitorServer{}
			m.state[l.ID] = st
		}
		st.measured |= l.Measured
		x := l.values()
		for k := range NumMetrics {
			if !l.Measured.Has(MetricAt(k)) {
				continue
			}
			st.avg[k] = st.avg[k]*keep/w + x[k]/w
			sum[k] += st.avg[k]
			n[k]++
		}
	}
	var mean [NumMetrics]float64
	for k := range NumMetrics {
		if n[k] > 0 {
			mean[k] = sum[k] / float64(n[k])
		}
	}

	m.out = m.out[:0]
	for i := range samples {
		l := &samples[i]
		st := m.state[l.ID]
		out := Load{ID: l.ID, Responsive: l.Responsive}
		for k := range NumMetrics {
			metric := MetricAt(k)
			if !l.Measured.Has(metric) {
				continue
			}
			v := st.avg[k]
			if !m.cfg.Absolute.Has(metric) {
				v = m.cfg.Target
				if mean[k] != 0 {
					v = m.cfg.Target * (st.avg[k] / mean[k]) // exactly Target at the mean
				}
			}
			out.Set(metric, v)
		}
		m.out = append(m.out, out)
	}

	for i := range p.Servers() {
		s := p.At(i)
		if err := p.SetLoad(s.ID, ConnLoad(s)); err != nil {
			return nil, err // cannot happen: s is in p
		}
	}
	return m.out, nil
}

// prune forgets the servers that are no longer in p.
func (m *Monitor) prune(p *Pool) {
	for id := range m.state {
		if p.Get(id) == nil {
			delete(m.state, id)
		}
	}
	m.gen = p.Generation()
}

// Smoothed returns the smoothed raw values of server id (before
// normalisation; metrics never measured are 0), with Measured the metrics
// that have been measured at least once, and false if the monitor has no
// state for id.
func (m *Monitor) Smoothed(id ServerID) (Load, bool) {
	st, ok := m.state[id]
	if !ok {
		return Load{}, false
	}
	l := Load{ID: id, Responsive: true}
	for k, v := range st.avg {
		if st.measured.Has(MetricAt(k)) {
			l.Set(MetricAt(k), v)
		}
	}
	return l, true
}

// ConnLoad returns the connection load of s, Active/High: a server at its
// High threshold reads 1, "just loaded", so that LBLL's threshold T = 1
// plays the role of LBLC's high threshold (thesis §7.3.1, §6.3.5). High 0
// means DefaultHigh. Hosts set Server.Load to it (Monitor.Tick does).
func ConnLoad(s *Server) float64 {
	high := s.High
	if high <= 0 {
		high = DefaultHigh
	}
	return float64(s.Active) / float64(high)
}
