package algorithms

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// DFLB is dynamic-feedback load balancing (thesis §4.2): a weight
// controller composed with a weighted connection scheduler (WRR by default,
// or WLC; Options.Inner). A monitor measures every server's load each
// interval and the host passes the measurements to Feedback; DFLB turns
// them into new weights (§4.2.4), and the inner scheduler distributes new
// connections by those weights.
//
// # Weight update (§4.2.4)
//
// For each server with a Load report:
//
//	AGGREGATE = R1·Input + R2·CPU + R3·Disk + R4·Memory + R5·Process + R6·Response
//	if AGGREGATE != Target:  w' = w + A·cbrt(Target − AGGREGATE)
//	w' is clamped to [0, Scale·DEFAULT_WEIGHT]
//	w = w' if |w' − w| > ChangeThreshold
//
// with the parameters of Options.DFLB (defaults R = {0.1, 0.3, 0.1, 0.1,
// 0.1, 0.3}, Target 0.95, A 5, Scale 10, ChangeThreshold 0). The cube root
// of a negative number is negative, so an overloaded server loses weight.
// Weights are kept as real numbers and rounded half away from zero for the
// inner scheduler. Servers without a report in a Feedback call keep their
// weight.
//
// # Unmeasured metrics
//
// A metric outside a report's Load.Measured is absent, not 0: an absent
// metric is no evidence that the server is idle. AGGREGATE is the weighted
// mean of the measured metrics, the coefficients of the measured ones
// renormalised to sum to 1:
//
//	AGGREGATE = Σ_{k measured} Rk·Mk / Σ_{k measured} Rk
//
// So a server reporting only CPU = 2 under the web coefficients has
// AGGREGATE 2 (not 0.3·2 = 0.6) and loses weight. When every metric with a
// positive coefficient was measured, the divisor is ΣRk = 1 and AGGREGATE
// is the plain sum above, computed without the division (the thesis
// preset, R = {0, 1, 0, 0, 0, 0} with CPU measured, gives AGGREGATE = CPU
// exactly). A responsive report that measured no metric with a positive
// coefficient says nothing about the server's load: it keeps its weight.
// A report whose unmeasured metric is not 0 is rejected: a host that set a
// value without marking it measured would otherwise lose it silently.
//
// # Default weights and administrator changes
//
// DEFAULT_WEIGHT is the server's weight in the host pool when DFLB first
// sees it (the administrator's weight); its current weight starts there. A
// server whose default weight is 0 is never adjusted (it stays at 0). DFLB
// follows the host pool's Generation: added servers get their pool weight as
// default, removed servers are forgotten, and when the administrator
// changes a server's weight in the host pool, that weight becomes both the
// server's default and its current weight.
//
// # Unresponsive servers
//
// A Load with Responsive == false gives the server weight 0 until a later
// report says it answers again. On that report the server resumes from its
// default weight, and the same report's measurements are then applied to
// it by the update above (they are a valid measurement of a server that is
// up). Our choice: the weight it had before it stopped answering is stale,
// and the default is the administrator's statement of its capacity.
//
// # The host pool is never written
//
// DFLB keeps its weights private: the inner scheduler runs on a shadow
// copy of the host pool whose weights are DFLB's rounded weights and whose
// counters and flags are refreshed from the host pool before each
// Schedule. The host pool's weights stay the administrator's, so a server
// of host weight 0 is never chosen. The shadow has its own generation,
// which changes whenever its membership, flags or weights change, so a
// WRR inner scheduler restarts its cycle when DFLB changes weights. DFLB
// follows the host pool by its generation alone, so a host that passes an
// unchanged Clone of the pool costs no resynchronisation.
//
// # No positive weight
//
// If the inner scheduler finds no server (every usable server has rounded
// DFLB weight 0: the cluster is overloaded), the request goes to the
// least-connection server (IPVS overhead Active<<8 + Inactive, lowest pool
// position on ties) among the servers that are usable in the host pool and
// responsive (docs/reference-model.md: "if every rounded weight is 0, that
// request goes to the least-connection node"). ErrNoServer only if there is
// no such server.
type DFLB struct {
	name   string
	params DFLBParams // resolved: no zero defaults left
	inner  Scheduler

	hostGen uint64 // host Pool.Generation state and shadow were synced with
	state   map[ServerID]*dflbServer
	shadow  *Pool // host copy with DFLB's weights; nil until first sync
}

// dflbServer is DFLB's view of one server.
type dflbServer struct {
	def          int     // DEFAULT_WEIGHT: the administrator's weight
	hostWeight   int     // host weight last seen, to detect administrator changes
	w            float64 // current real weight
	unresponsive bool    // last report said the server did not answer
}

var (
	_ Scheduler    = (*DFLB)(nil)
	_ LoadFeedback = (*DFLB)(nil)
)

// dflbWebCoefficients are the thesis's coefficients for web service (§4.2.3).
var dflbWebCoefficients = [6]float64{0.1, 0.3, 0.1, 0.1, 0.1, 0.3}

// DefaultDFLBParams returns the thesis's parameters (§4.2.3, §4.2.4).
func DefaultDFLBParams() DFLBParams {
	return DFLBParams{Coefficients: dflbWebCoefficients, A: 5, Scale: 10, ChangeThreshold: 0, Target: 0.95}
}

// resolveDFLBParams fills zero fields with defaults and validates.
func resolveDFLBParams(p DFLBParams) (DFLBParams, error) {
	d := DefaultDFLBParams()
	allZero := true
	for i, c := range p.Coefficients {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return p, fmt.Errorf("algorithms: dflb: DFLB.Coefficients[%d] = %v: must be finite and >= 0", i, c)
		}
		if c != 0 {
			allZero = false
		}
	}
	if allZero {
		p.Coefficients = d.Coefficients
	}
	sum := 0.0
	for _, c := range p.Coefficients {
		sum += c
	}
	if math.Abs(sum-1) > 1e-9 {
		return p, fmt.Errorf("algorithms: dflb: DFLB.Coefficients %v sum to %v: they must sum to 1 (thesis §4.2.3)", p.Coefficients, sum)
	}
	for _, f := range []struct {
		name string
		v    *float64
		def  float64
	}{{"A", &p.A, d.A}, {"Scale", &p.Scale, d.Scale}, {"Target", &p.Target, d.Target}, {"ChangeThreshold", &p.ChangeThreshold, d.ChangeThreshold}} {
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) || *f.v < 0 {
			return p, fmt.Errorf("algorithms: dflb: DFLB.%s = %v: must be finite and >= 0", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return p, nil
}

// NewDFLB returns a DFLB controller over the registered scheduler inner
// ("wrr" if empty; the thesis uses "wrr" or "wlc"), built with opts. The
// parameters are opts.DFLB with zero fields replaced by the defaults.
func NewDFLB(inner string, opts Options) (*DFLB, error) {
	return newDFLB("dflb", inner, opts)
}

func newDFLB(name, inner string, opts Options) (*DFLB, error) {
	params, err := resolveDFLBParams(opts.DFLB)
	if err != nil {
		return nil, err
	}
	if inner == "" {
		inner = "wrr"
	}
	if strings.HasPrefix(strings.ToLower(inner), "dflb") {
		return nil, fmt.Errorf("algorithms: dflb: Inner %q: DFLB cannot run over itself", inner)
	}
	opts.Inner = ""
	in, err := New(inner, opts)
	if err != nil {
		return nil, fmt.Errorf("algorithms: dflb: Inner: %w", err)
	}
	return &DFLB{name: name, params: params, inner: in}, nil
}

// Name returns "dflb", or "dflb-wlc" for the WLC convenience registration.
func (d *DFLB) Name() string { return d.name }

// Params returns the resolved parameters.
func (d *DFLB) Params() DFLBParams { return d.params }

// Inner returns the inner scheduler.
func (d *DFLB) Inner() Scheduler { return d.inner }

// Weights returns DFLB's current real weights by server ID (0 for an
// unresponsive server), as of the last Schedule or Feedback call.
func (d *DFLB) Weights() map[ServerID]float64 {
	out := make(map[ServerID]float64, len(d.state))
	for id, st := range d.state {
		out[id] = st.effective()
	}
	return out
}

// DefaultWeights returns each known server's DEFAULT_WEIGHT by server ID.
func (d *DFLB) DefaultWeights() map[ServerID]int {
	out := make(map[ServerID]int, len(d.state))
	for id, st := range d.state {
		out[id] = st.def
	}
	return out
}

func (st *dflbServer) effective() float64 {
	if st.unresponsive {
		return 0
	}
	return st.w
}

func (st *dflbServer) rounded() int {
	return int(math.Round(st.effective()))
}

// sync brings DFLB's state and shadow pool up to date with the host pool p
// when its generation changed (a Clone of the pool last seen needs nothing).
func (d *DFLB) sync(p *Pool) {
	if d.shadow != nil && d.hostGen == p.Generation() {
		return
	}
	next := make(map[ServerID]*dflbServer, p.Len())
	servers := p.Servers()
	for i := range servers {
		s := &servers[i]
		st, ok := d.state[s.ID]
		switch {
		case !ok:
			st = &dflbServer{def: s.Weight, hostWeight: s.Weight, w: float64(s.Weight)}
		case st.hostWeight != s.Weight:
			// The administrator changed the weight: it is the new default.
			st.def, st.hostWeight, st.w = s.Weight, s.Weight, float64(s.Weight)
		}
		next[s.ID] = st
	}
	d.state = next
	d.hostGen = p.Generation()
	d.shadow = p.Clone()
	for i := range d.shadow.Servers() {
		s := d.shadow.At(i)
		s.Weight = d.state[s.ID].rounded()
	}
	d.bumpShadow()
}

// bumpShadow gives the shadow pool a generation no pool has had before,
// so the inner scheduler rebuilds its derived state.
func (d *DFLB) bumpShadow() { d.shadow.touch() }

// Feedback applies one interval's load reports to the weights (§4.2.4).
// A report for a server not in p, a duplicate report, a non-finite metric
// or a non-zero metric outside Load.Measured is an error, and then no
// weight changes.
func (d *DFLB) Feedback(_ time.Duration, loads []Load, p *Pool) error {
	d.sync(p)
	seen := make(map[ServerID]int, len(loads))
	for i, l := range loads {
		if _, ok := d.state[l.ID]; !ok {
			return fmt.Errorf("algorithms: dflb: loads[%d]: %w: %d", i, ErrUnknownServer, l.ID)
		}
		if j, dup := seen[l.ID]; dup {
			return fmt.Errorf("algorithms: dflb: loads[%d]: server %d already reported in loads[%d]", i, l.ID, j)
		}
		seen[l.ID] = i
		for k, v := range l.values() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("algorithms: dflb: loads[%d] (server %d): %s = %v is not finite", i, l.ID, MetricAt(k), v)
			}
			if v != 0 && !l.Measured.Has(MetricAt(k)) {
				return fmt.Errorf("algorithms: dflb: loads[%d] (server %d): %s = %v but Measured (%v) does not include it; set metrics with Load.Set",
					i, l.ID, MetricAt(k), v, l.Measured)
			}
		}
	}
	for _, l := range loads {
		d.update(d.state[l.ID], l)
	}
	changed := false
	for i := range d.shadow.Servers() {
		s := d.shadow.At(i)
		if w := d.state[s.ID].rounded(); w != s.Weight {
			s.Weight = w
			changed = true
		}
	}
	if changed {
		d.bumpShadow()
	}
	return nil
}

// Aggregate returns AGGREGATE_LOAD for l with d's coefficients (§4.2.3)
// over the metrics l measured, renormalised (see "Unmeasured metrics"),
// and false if l measured no metric with a positive coefficient.
func (d *DFLB) Aggregate(l Load) (float64, bool) {
	agg, sum := 0.0, 0.0
	covered := true // every metric with a positive coefficient was measured
	for k, v := range l.values() {
		c := d.params.Coefficients[k]
		if !l.Measured.Has(MetricAt(k)) {
			covered = covered && c == 0
			continue
		}
		agg += c * v
		sum += c
	}
	switch {
	case sum == 0:
		return 0, false
	case covered:
		return agg, true // Σ Rk = 1 (resolveDFLBParams): no division, no rounding
	}
	return agg / sum, true
}

// update applies one report to one server.
func (d *DFLB) update(st *dflbServer, l Load) {
	if st.def == 0 {
		return // never adjusted (§4.2.4)
	}
	if !l.Responsive {
		st.unresponsive = true
		return
	}
	if st.unresponsive {
		st.unresponsive = false
		st.w = float64(st.def)
	}
	agg, ok := d.Aggregate(l)
	if !ok || agg == d.params.Target {
		return // nothing measured, or on target
	}
	w := st.w + d.params.A*math.Cbrt(d.params.Target-agg)
	w = min(max(w, 0), d.params.Scale*float64(st.def))
	if math.Abs(w-st.w) > d.params.ChangeThreshold {
		st.w = w
	}
}

// Schedule runs the inner scheduler on DFLB's weights and maps its answer
// back to the host pool.
func (d *DFLB) Schedule(now time.Duration, r *Request, p *Pool) (ServerID, error) {
	d.sync(p)
	host := p.Servers()
	for i := range host {
		s := d.shadow.At(i)
		s.Active, s.Inactive, s.Load = host[i].Active, host[i].Inactive, host[i].Load
		s.Down, s.Overloaded = host[i].Down, host[i].Overloaded
	}
	id, err := d.inner.Schedule(now, r, d.shadow)
	switch {
	case err == nil:
		if s := p.Get(id); s != nil && s.Usable() {
			return id, nil
		}
	case errors.Is(err, ErrNoServer):
	default:
		return id, err
	}
	// No server with a positive DFLB weight: least connection.
	best := -1
	for i := range host {
		s := &host[i]
		if !s.Usable() || d.state[s.ID].unresponsive {
			continue
		}
		if best < 0 || s.Conns() < host[best].Conns() {
			best = i
		}
	}
	if best < 0 {
		return 0, ErrNoServer
	}
	return host[best].ID, nil
}

func init() {
	Register(Info{
		Name:        "dflb",
		Description: "dynamic-feedback load balancing: weights from measured aggregate load, over WRR (Options.Inner: wrr or wlc)",
		Source:      "thesis §4.2 (weight update §4.2.4)",
		New: func(o Options) (Scheduler, error) {
			return newDFLB("dflb", o.Inner, o)
		},
	})
	Register(Info{
		Name:        "dflb-wlc",
		Description: "dynamic-feedback load balancing over WLC",
		Source:      "thesis §4.2 (weight update §4.2.4), §4.1.4",
		New: func(o Options) (Scheduler, error) {
			return newDFLB("dflb-wlc", "wlc", o)
		},
	})
}
