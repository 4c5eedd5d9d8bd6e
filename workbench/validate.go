package workbench

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/traces"
)

// Agreement is the target of a validation: how close a live run must come
// to its simulation.
type Agreement struct {
	// Tolerance bounds |live throughput / simulated throughput − 1| for
	// every cell. Default DefaultTolerance.
	Tolerance float64
	// TieMargin: two schedulers whose simulated throughputs (at the same
	// node count, trace and parameters) are within this relative distance
	// of each other rank as ties, and either order is accepted live.
	// Default DefaultTieMargin.
	TieMargin float64
}

// Defaults of an Agreement.
const (
	DefaultTolerance = 0.15
	DefaultTieMargin = 0.05
)

// Resolve fills in the defaults and checks the values.
func (a Agreement) Resolve() (Agreement, error) {
	if a.Tolerance == 0 {
		a.Tolerance = DefaultTolerance
	}
	if a.TieMargin == 0 {
		a.TieMargin = DefaultTieMargin
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"tolerance", a.Tolerance}, {"tie margin", a.TieMargin}} {
		if math.IsNaN(f.v) || f.v <= 0 || f.v >= 1 {
			return a, fmt.Errorf("%s %v: want a fraction between 0 and 1 (0.15 for ±15%%)", f.name, f.v)
		}
	}
	return a, nil
}

// CellAgreement compares one cell's live run with its simulation.
type CellAgreement struct {
	Cell      Cell
	Sim, Live *sim.Result
	// Ratios live / simulated of throughput (requests/s), hit ratio and
	// 95th-percentile response time; NaN where the simulated value is 0.
	Throughput, HitRatio, P95 float64
	// Within: the throughput ratio is within the tolerance.
	Within bool
}

// RankAgreement compares the ranking of the schedulers of one group of
// cells (the same trace, parameters and node count) in both worlds.
type RankAgreement struct {
	Group     string   // "n=4", with the trace and parameters when several
	Sim, Live []Ranked // schedulers, highest throughput first
	// Swapped are the pairs {a, b} ranked a above b in the simulation,
	// beyond the tie margin, and not live.
	Swapped [][2]string
}

// Ranked is a scheduler and its throughput in a ranking.
type Ranked struct {
	Alg string // display name (WRR, LBLC/R)
	RPS float64
}

// rankText writes a ranking highest first, "LBLC ≈ LBLC/R > WLC > WRR":
// ≈ between neighbours within the tie margin of each other, > otherwise.
func rankText(rs []Ranked, margin float64) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			if rs[i-1].RPS > r.RPS*(1+margin) {
				b.WriteString(" > ")
			} else {
				b.WriteString(" ≈ ")
			}
		}
		b.WriteString(r.Alg)
	}
	return b.String()
}

// Validation is the comparison of a validation run.
type Validation struct {
	Agreement Agreement
	Cells     []CellAgreement
	Ranks     []RankAgreement
}

// Compare compares the live results with the simulated ones, cell by cell
// (the three slices in the same order).
func Compare(cells []Cell, simRs, liveRs []*sim.Result, a Agreement) (*Validation, error) {
	a, err := a.Resolve()
	if err != nil {
		return nil, err
	}
	if len(simRs) != len(cells) || len(liveRs) != len(cells) {
		return nil, fmt.Errorf("compare: %d cells, %d simulated and %d live results", len(cells), len(simRs), len(liveRs))
	}
	v := &Validation{Agreement: a}
	type group struct {
		key   string
		cells []int
	}
	var groups []*group
	traceSet := map[string]bool{}
	labelSet := map[string]bool{}
	for _, c := range cells {
		traceSet[c.Trace] = true
		labelSet[strings.Join(c.Labels, " ")] = true
	}
	for i, c := range cells {
		s, l := simRs[i], liveRs[i]
		if s == nil || l == nil {
			return nil, fmt.Errorf("compare: cell %s has no result", c)
		}
		ca := CellAgreement{Cell: c, Sim: s, Live: l,
			Throughput: ratio(l.ThroughputRPS, s.ThroughputRPS),
			HitRatio:   ratio(l.HitRatio, s.HitRatio),
			P95:        ratio(float64(l.P95), float64(s.P95)),
		}
		ca.Within = math.Abs(ca.Throughput-1) <= a.Tolerance+1e-12
		v.Cells = append(v.Cells, ca)

		key := "n=" + strconv.Itoa(c.Config.Nodes)
		if len(traceSet) > 1 {
			key += " trace=" + c.Trace
		}
		if len(labelSet) > 1 && len(c.Labels) > 0 {
			key += " " + strings.Join(c.Labels, " ")
		}
		k := slices.IndexFunc(groups, func(g *group) bool { return g.key == key })
		if k < 0 {
			groups = append(groups, &group{key: key})
			k = len(groups) - 1
		}
		groups[k].cells = append(groups[k].cells, i)
	}
	for _, g := range groups {
		if len(g.cells) < 2 {
			continue
		}
		ra := RankAgreement{Group: g.key}
		order := func(rs []*sim.Result) []int {
			o := slices.Clone(g.cells)
			slices.SortStableFunc(o, func(x, y int) int { return cmp.Compare(rs[y].ThroughputRPS, rs[x].ThroughputRPS) })
			return o
		}
		for _, i := range order(simRs) {
			ra.Sim = append(ra.Sim, Ranked{DisplayName(cells[i].Config.Algorithm), simRs[i].ThroughputRPS})
		}
		for _, i := range order(liveRs) {
			ra.Live = append(ra.Live, Ranked{DisplayName(cells[i].Config.Algorithm), liveRs[i].ThroughputRPS})
		}
		for _, x := range g.cells {
			for _, y := range g.cells {
				sx, sy := simRs[x].ThroughputRPS, simRs[y].ThroughputRPS
				if sx > sy*(1+a.TieMargin) && !(liveRs[x].ThroughputRPS > liveRs[y].ThroughputRPS) {
					ra.Swapped = append(ra.Swapped, [2]string{DisplayName(cells[x].Config.Algorithm), DisplayName(cells[y].Config.Algorithm)})
				}
			}
		}
		v.Ranks = append(v.Ranks, ra)
	}
	return v, nil
}

func ratio(live, sim float64) float64 {
	if sim == 0 {
		return math.NaN()
	}
	return live / sim
}

// Misses lists how the live runs miss the target, one line each; none
// when it is met.
func (v *Validation) Misses() []string {
	var m []string
	for _, c := range v.Cells {
		if !c.Within && math.IsNaN(c.Throughput) {
			m = append(m, fmt.Sprintf("%s n=%d%s: the simulated throughput is 0: nothing to compare the live %.1f req/s with",
				DisplayName(c.Cell.Config.Algorithm), c.Cell.Config.Nodes, labelSuffix(c.Cell), c.Live.ThroughputRPS))
		} else if !c.Within {
			m = append(m, fmt.Sprintf("%s n=%d%s: live throughput %.1f req/s, %s off the simulated %.1f (allowed ±%s)",
				DisplayName(c.Cell.Config.Algorithm), c.Cell.Config.Nodes, labelSuffix(c.Cell), c.Live.ThroughputRPS,
				signedPct(c.Throughput-1), c.Sim.ThroughputRPS, pctText(v.Agreement.Tolerance)))
		}
	}
	for _, r := range v.Ranks {
		for _, p := range r.Swapped {
			m = append(m, fmt.Sprintf("ranking %s: %s is above %s in the simulation (by more than %s), not live", r.Group, p[0], p[1], pctText(v.Agreement.TieMargin)))
		}
	}
	return m
}

// Err is nil when the target is met, else an error listing the misses.
func (v *Validation) Err() error {
	m := v.Misses()
	if len(m) == 0 {
		return nil
	}
	return errors.New("validation missed its target:\n  " + strings.Join(m, "\n  "))
}

func labelSuffix(c Cell) string {
	if len(c.Labels) == 0 {
		return ""
	}
	return " " + strings.Join(c.Labels, " ")
}

// ReportInfo is what a report says about the runs besides the results.
type ReportInfo struct {
	TimeScale TimeScale
	Requests  int // requests per run (the trace or its prefix)
}

// WriteReport writes the comparison for people: per cell the simulated
// and live throughput, hit ratio and p95 response time with their ratios
// (live / simulated, 1.000 is perfect agreement), per group the ranking
// in both worlds, and the verdict.
func (v *Validation) WriteReport(w io.Writer, info ReportInfo) error {
	var traceNames []string
	for _, c := range v.Cells {
		if !slices.Contains(traceNames, c.Cell.Trace) {
			traceNames = append(traceNames, c.Cell.Trace)
		}
	}
	for i, t := range traceNames {
		traceNames[i] = traces.Escape(t)
	}
	fmt.Fprintf(w, "validation: %d cells, trace %s, %d requests per run, time scale %v (live times × %v = model times)\n",
		len(v.Cells), strings.Join(traceNames, ", "), info.Requests, info.TimeScale, info.TimeScale)
	fmt.Fprintf(w, "target: live throughput within ±%s of the simulated; the same ranking of schedulers per node count (≈: within %s of each other, a tie)\n\n",
		pctText(v.Agreement.Tolerance), pctText(v.Agreement.TieMargin))
	labels := slices.ContainsFunc(v.Cells, func(c CellAgreement) bool { return len(c.Cell.Labels) > 0 })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"alg", "nodes", "sim req/s", "live req/s", "ratio", "sim hit %", "live hit %", "ratio", "sim p95 ms", "live p95 ms", "ratio", "failed", "throughput"}
	if labels {
		head = append(head, "parameters")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, c := range v.Cells {
		verdict := "ok"
		if !c.Within {
			verdict = "MISSED"
		}
		row := []string{
			DisplayName(c.Cell.Config.Algorithm), strconv.Itoa(c.Cell.Config.Nodes),
			f1(c.Sim.ThroughputRPS), f1(c.Live.ThroughputRPS), f3(c.Throughput),
			f1(100 * c.Sim.HitRatio), f1(100 * c.Live.HitRatio), f3(c.HitRatio),
			ms(c.Sim.P95), ms(c.Live.P95), f3(c.P95),
			strconv.Itoa(c.Live.Failed), verdict,
		}
		if labels {
			row = append(row, strings.Join(c.Cell.Labels, " "))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(v.Ranks) > 0 {
		fmt.Fprintln(w)
	}
	for _, r := range v.Ranks {
		verdict := "ok"
		if len(r.Swapped) > 0 {
			verdict = "MISSED"
		}
		m := v.Agreement.TieMargin
		fmt.Fprintf(w, "ranking %s: simulated %s; live %s: %s\n", r.Group, rankText(r.Sim, m), rankText(r.Live, m), verdict)
	}
	fmt.Fprintln(w)
	if m := v.Misses(); len(m) > 0 {
		fmt.Fprintf(w, "the target is MISSED:\n  %s\n", strings.Join(m, "\n  "))
	} else {
		fmt.Fprintln(w, "the target is met")
	}
	return nil
}

func f1(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

func f3(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', 3, 64)
}

// pctText writes a fraction as a percentage: 0.15 -> "15%", 0.025 -> "2.5%".
func pctText(x float64) string { return strconv.FormatFloat(100*x, 'f', -1, 64) + "%" }

// signedPct writes a relative difference: -0.2 -> "-20.0%", 0.031 -> "+3.1%".
func signedPct(x float64) string { return fmt.Sprintf("%+.1f%%", 100*x) }

// TraceWithRequests returns w cut to its first n requests (n 0 or at
// least len(w.Requests): w itself), as a live run with --requests n
// replays it; objects and their sizes stay those of the whole trace, as
// the back ends read them.
func TraceWithRequests(w *traces.Workload, n int) *traces.Workload {
	if n <= 0 || n >= len(w.Requests) {
		return w
	}
	cut := *w
	cut.Requests = w.Requests[:n:n]
	return &cut
}
