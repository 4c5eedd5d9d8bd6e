package workbench

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"

	"github.com/lvslab/lvslab/sim"
)

// The kinds of figure PlotOptions.Kind selects.
const (
	// KindAuto draws, for each configuration, time series if it was run
	// at a single node count or with node failures (and the results carry
	// series), and the figures against cluster size if it was run at
	// several node counts.
	KindAuto = ""
	// KindSize draws throughput and hit ratio against cluster size only,
	// even for a single node count (a column of points).
	KindSize = "size"
	// KindSeries draws time series only, for every configuration and node
	// count; results without a time series (a CSV alone) are an error.
	KindSeries = "series"
)

// Kinds are the values PlotOptions.Kind accepts ("auto" is KindAuto).
var Kinds = []string{"auto", KindSize, KindSeries}

// coincideTol is the relative tolerance under which two lines of a figure
// coincide (see coincide).
const coincideTol = 0.005

// maxSeriesPoints bounds the points of a time-series line: longer series
// are drawn with consecutive intervals merged.
const maxSeriesPoints = 1000

// figureKinds says which kinds of figure to draw for g: against cluster
// size, time series, or both (KindAuto for a configuration with failures
// run at several node counts).
func figureKinds(t *Table, g *group, rs []*sim.Result, o PlotOptions) (size, series bool, err error) {
	switch o.Kind {
	case KindSize:
		return true, false, nil
	case KindSeries:
		if !hasSeries(t, g, rs, o) {
			where := ""
			if d := describe(g, false); d != "" {
				where = " in configuration " + strings.ReplaceAll(d, "\n", " ")
			}
			why := "its results have none"
			if rs == nil {
				why = "time series are in the JSON results only"
			}
			return false, false, fmt.Errorf("%s: no time series to draw%s (%s)", t.Name, where, why)
		}
		return false, true, nil
	case KindAuto, "auto":
	default:
		return false, false, fmt.Errorf("plot: unknown kind %q (want %s)", o.Kind, strings.Join(Kinds, ", "))
	}
	single := len(nodeCounts(t, g, o)) == 1
	if !hasSeries(t, g, rs, o) {
		return true, false, nil
	}
	failures := slices.ContainsFunc(resultsOf(t, g, rs), func(r *sim.Result) bool { return len(r.Config.Failures) > 0 })
	return !single, single || failures, nil
}

// resultsOf returns the results of g: its own, or those of rs that
// match its CSV columns.
func resultsOf(t *Table, g *group, rs []*sim.Result) []*sim.Result {
	if g.results != nil {
		return g.results
	}
	var out []*sim.Result
	for _, r := range rs {
		if r != nil && matches(r, t, g) {
			out = append(out, r)
		}
	}
	return out
}

// hasSeries reports whether a result of g, of an algorithm drawn, has a
// time series.
func hasSeries(t *Table, g *group, rs []*sim.Result, o PlotOptions) bool {
	algs := algorithmsOf(t, g, o)
	return slices.ContainsFunc(resultsOf(t, g, rs), func(r *sim.Result) bool {
		return len(r.Series) > 0 && slices.Contains(algs, r.Config.Algorithm)
	})
}

// resultAt returns g's result of alg at n nodes, nil if there is none; two
// are an error, as for the figures against cluster size. Of replicates
// (sim.Config.Replicate) it returns the first, as the response-time CDFs
// do: a time series is one run's, not a mean.
func resultAt(t *Table, g *group, rs []*sim.Result, alg string, n int) (*sim.Result, error) {
	var found *sim.Result
	for _, r := range resultsOf(t, g, rs) {
		if r.Config.Algorithm != alg || r.Config.Nodes != n {
			continue
		}
		if found != nil && r.Config.Replicate != found.Config.Replicate {
			if r.Config.Replicate < found.Config.Replicate {
				found = r
			}
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%s: two results of %s at %d nodes with the same %s; plot the JSON results, which tell them apart",
				t.Name, alg, n, strings.ReplaceAll(describe(g, false), "\n", " "))
		}
		found = r
	}
	return found, nil
}

// seriesFigures draws g's time series at each of its node counts:
// throughput, cache hit ratio, failed requests (when a run lost any, or had
// failures) and, per algorithm, each node's completions, over time.
func seriesFigures(t *Table, g *group, rs []*sim.Result, o PlotOptions, save func(*plot.Plot, string) error) error {
	ns := nodeCounts(t, g, o)
	sub := describe(g, false)
	for _, nf := range ns {
		n := int(nf)
		var algs []string
		var runs []*sim.Result
		for _, alg := range algorithmsOf(t, g, o) {
			r, err := resultAt(t, g, rs, alg, n)
			if err != nil {
				return err
			}
			if r != nil && len(r.Series) > 0 {
				algs, runs = append(algs, alg), append(runs, r)
			}
		}
		if len(runs) == 0 {
			continue
		}
		sn := ""
		if len(ns) > 1 {
			sn = "-n" + strconv.Itoa(n)
		}
		at := fmt.Sprintf(", %d nodes", n)
		if n == 1 {
			at = ", 1 node"
		}
		failures := runs[0].Config.Failures

		lines := make([]seriesLine, len(runs))
		for k, r := range runs {
			lines[k] = seriesLine{DisplayName(algs[k]), seriesRates(r, func(s *sim.Sample) float64 { return float64(s.Completed) })}
		}
		p, err := timePlot(t.Name, lines, failures, "Throughput (requests/s)", false)
		if err != nil {
			return err
		}
		p.Title.Text = title(o.Title, "Throughput over time"+at, seriesSub(sub, runs))
		if err := save(p, o.Prefix+"throughput-time"+sn+g.suffix); err != nil {
			return err
		}

		if t.Has("hit_ratio") {
			for k, r := range runs {
				lines[k] = seriesLine{DisplayName(algs[k]), seriesRatio(r, func(s *sim.Sample) float64 { return float64(s.Hits) }, served)}
			}
			p, err := timePlot(t.Name, lines, failures, "Cluster cache hit ratio (%)", true)
			if err != nil {
				return err
			}
			p.Title.Text = title(o.Title, "Cache hit ratio over time"+at, seriesSub(sub, runs))
			if err := save(p, o.Prefix+"hit-ratio-time"+sn+g.suffix); err != nil {
				return err
			}
		}

		lost := len(failures) > 0
		for k, r := range runs {
			lines[k] = seriesLine{DisplayName(algs[k]), seriesRates(r, func(s *sim.Sample) float64 { return float64(s.Failed) })}
			lost = lost || r.Failed > r.Unserved
		}
		if lost {
			p, err := timePlot(t.Name, lines, failures, "Failed requests/s", false)
			if err != nil {
				return err
			}
			p.Title.Text = title(o.Title, "Failed requests over time"+at, seriesSub(sub, runs))
			if err := save(p, o.Prefix+"failed-time"+sn+g.suffix); err != nil {
				return err
			}
		}

		if n < 2 {
			continue // one node's completions are the throughput
		}
		for k, r := range runs {
			nodes := nodeLines(r)
			if nodes == nil {
				continue
			}
			p, err := timePlot(t.Name, nodes, r.Config.Failures, "Requests/s completed per node", false)
			if err != nil {
				return err
			}
			p.Title.Text = title(o.Title, fmt.Sprintf("Requests completed per node over time, %s%s", DisplayName(algs[k]), at), seriesSub(sub, runs[k:k+1]))
			if err := save(p, o.Prefix+"nodes-time-"+slug(algs[k])+sn+g.suffix); err != nil {
				return err
			}
		}
	}
	return nil
}

// seriesSub is a time-series figure's subtitle: the configuration, then
// the width of the intervals each point covers.
func seriesSub(sub string, runs []*sim.Result) string {
	var ws []string
	for _, r := range runs {
		if w := seriesWidth(r); w > 0 {
			if s := "intervals of " + w.String(); !slices.Contains(ws, s) {
				ws = append(ws, s)
			}
		}
	}
	if rep := runs[0].Config.Replicate; rep > 0 {
		ws = append(ws, "replicate "+strconv.Itoa(rep)+" of "+strconv.Itoa(runs[0].Config.Replicates))
	}
	if len(ws) == 0 {
		return sub
	}
	if sub == "" {
		return strings.Join(ws, ", ")
	}
	return wrapJoin(append(strings.Split(sub, ",\n"), ws...), 85)
}

// nodeLines returns one line per node of r's per-node completions, nil if
// r's series has none (live results).
func nodeLines(r *sim.Result) []seriesLine {
	n := 0
	for _, s := range r.Series {
		n = max(n, len(s.NodeCompleted))
	}
	if n == 0 {
		return nil
	}
	lines := make([]seriesLine, n)
	for i := range lines {
		lines[i] = seriesLine{"node " + strconv.Itoa(i), seriesRates(r, func(s *sim.Sample) float64 {
			if i < len(s.NodeCompleted) {
				return float64(s.NodeCompleted[i])
			}
			return 0
		})}
	}
	return lines
}

// seriesLine is one line of a time-series figure.
type seriesLine struct {
	name string
	xys  plotter.XYs
}

// interval returns the width of r's series buckets: the configuration's,
// or the spacing of the first two samples if it has none.
func interval(r *sim.Result) time.Duration {
	if d := r.Config.Interval; d > 0 {
		return d
	}
	if len(r.Series) > 1 {
		return r.Series[1].Start - r.Series[0].Start
	}
	return 0
}

// seriesGroup is the number of consecutive buckets of r merged into one
// point, so that a line has at most maxSeriesPoints points.
func seriesGroup(r *sim.Result) int {
	return max(1, (len(r.Series)+maxSeriesPoints-1)/maxSeriesPoints)
}

// seriesWidth is the time one point of r's lines averages over.
func seriesWidth(r *sim.Result) time.Duration {
	return interval(r) * time.Duration(seriesGroup(r))
}

// seriesRates turns r's time series into points (time in seconds, f per
// second), each the sum of f over its interval divided by the interval's
// width (see seriesPoints).
func seriesRates(r *sim.Result, f func(*sim.Sample) float64) plotter.XYs {
	return seriesPoints(r, f, nil, func(v, _, secs float64) (float64, bool) { return v / secs, true })
}

// seriesRatio turns r's time series into points (time in seconds,
// percent): the sum of num over each interval divided by the sum of den;
// intervals where den sums to 0 have no point.
func seriesRatio(r *sim.Result, num, den func(*sim.Sample) float64) plotter.XYs {
	return seriesPoints(r, num, den, func(n, d, _ float64) (float64, bool) { return 100 * n / d, d > 0 })
}

// seriesPoints turns r's time series into points: one per bucket, at its
// middle (in seconds), y(the sum of num, the sum of den, the bucket's
// width in seconds), dropped when y says so. The last bucket ends at the
// makespan if that falls inside it; one shorter than half an interval is
// merged into the one before (a rate over a sliver of time is noise).
// Series of more than maxSeriesPoints buckets have consecutive ones
// merged. A series without a usable interval gives no points. den may be
// nil.
func seriesPoints(r *sim.Result, num, den func(*sim.Sample) float64, y func(num, den, secs float64) (float64, bool)) plotter.XYs {
	iv := interval(r)
	if iv <= 0 || len(r.Series) == 0 {
		return nil
	}
	type bucket struct {
		start, end time.Duration
		num, den   float64
	}
	bs := make([]bucket, 0, len(r.Series))
	for i := range r.Series {
		s := &r.Series[i]
		end := s.Start + iv
		if i == len(r.Series)-1 && r.Makespan > s.Start && r.Makespan < end {
			end = r.Makespan
		}
		b := bucket{start: s.Start, end: end, num: num(s)}
		if den != nil {
			b.den = den(s)
		}
		bs = append(bs, b)
	}
	if k := len(bs) - 1; k > 0 && bs[k].end-bs[k].start < iv/2 {
		bs[k-1].end = bs[k].end
		bs[k-1].num += bs[k].num
		bs[k-1].den += bs[k].den
		bs = bs[:k]
	}
	g := seriesGroup(r)
	xys := make(plotter.XYs, 0, (len(bs)+g-1)/g)
	for i := 0; i < len(bs); i += g {
		j := min(i+g, len(bs))
		var n, d float64
		for _, b := range bs[i:j] {
			n += b.num
			d += b.den
		}
		start, end := bs[i].start, bs[j-1].end
		if end <= start {
			continue
		}
		if v, ok := y(n, d, (end - start).Seconds()); ok {
			xys = append(xys, plotter.XY{X: (start.Seconds() + end.Seconds()) / 2, Y: v})
		}
	}
	return xys
}

// served is the number of requests of s that nodes served (the hit
// ratio's denominator, bypassed requests excluded): the sum of its
// per-node completions, or its completions if it has none (live results,
// which have no bypass).
func served(s *sim.Sample) float64 {
	if s.NodeCompleted == nil {
		return float64(s.Completed)
	}
	n := 0
	for _, c := range s.NodeCompleted {
		n += c
	}
	return float64(n)
}

// coincide reports whether lines a and b coincide: the same times, and
// values that differ by at most coincideTol (0.5%) of the larger of the
// two lines' peaks (largest |y|) at every time. Two lines of zeros
// coincide.
func coincide(a, b plotter.XYs) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	peak := 0.0
	for i := range a {
		if a[i].X != b[i].X {
			return false
		}
		peak = math.Max(peak, math.Max(math.Abs(a[i].Y), math.Abs(b[i].Y)))
	}
	for i := range a {
		if math.Abs(a[i].Y-b[i].Y) > coincideTol*peak {
			return false
		}
	}
	return true
}

// legendNames returns the legend entry of every line: its name, and for a
// line that coincides with an earlier one the name of the first such
// ("LBLC (= WLC)"), since it is drawn on top of it.
func legendNames(lines []seriesLine) []string {
	names := make([]string, len(lines))
	for k, l := range lines {
		names[k] = l.name
		for _, e := range lines[:k] {
			if coincide(l.xys, e.xys) {
				names[k] = l.name + " (= " + e.name + ")"
				break
			}
		}
	}
	return names
}

// markers returns the points of line k of n at which to draw its glyph:
// about 20 along the line, each line's shifted by k/n of the spacing, so
// that the glyphs of coinciding lines do not hide each other.
func markers(xys plotter.XYs, k, n int) plotter.XYs {
	step := max(1, (len(xys)+19)/20)
	off := k * step / max(n, 1)
	var pts plotter.XYs
	for i := off % step; i < len(xys); i += step {
		pts = append(pts, xys[i])
	}
	return pts
}

// timePlot draws lines against time, each with its own colour, dashes and
// glyphs, a line that coincides with an earlier one named so in the
// legend, and the node failures and recoveries as dotted vertical lines.
// A percent figure's Y axis spans 0-100.
func timePlot(name string, lines []seriesLine, failures []sim.Failure, yLabel string, percent bool) (*plot.Plot, error) {
	p := newPlot("Time (s)", yLabel)
	p.Y.Min = 0
	names := legendNames(lines)
	var all plotter.XYs
	maxX, maxY := 0.0, 0.0
	drawn := 0
	for k, l := range lines {
		if len(l.xys) == 0 {
			continue
		}
		c, glyph := style(k)
		line, err := plotter.NewLine(l.xys)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, l.name, err)
		}
		line.Color = c
		line.Width = vg.Points(1.2)
		line.Dashes = dashes(k)
		pts, err := plotter.NewScatter(markers(l.xys, k, len(lines)))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, l.name, err)
		}
		pts.Color = c
		pts.Shape = glyph
		pts.Radius = vg.Points(2.5)
		p.Add(line, pts)
		p.Legend.Add(names[k], line, pts)
		drawn++
		all = append(all, l.xys...)
		for _, xy := range l.xys {
			maxX = math.Max(maxX, xy.X)
			maxY = math.Max(maxY, xy.Y)
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("%s: no time series to draw for %s", name, strings.ToLower(yLabel))
	}
	p.X.Min = 0
	p.Y.Max = math.Max(maxY*1.05, 1)
	p.Y.Tick.Marker = plainTicks{}
	if percent {
		p.Y.Max = 100
		p.Y.Tick.Marker = percentTicks{}
	}
	if err := addFailures(p, failures, p.Y.Max); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p.X.Max = math.Max(p.X.Max, maxX)
	p.X.Tick.Marker = plainTicks{}
	placeLegend(p, all, false, drawn)
	return p, nil
}

// addFailures marks each node failure (grey, dotted) and recovery (grey,
// dashed) with a vertical line and a label ("node 1 down"), up to height.
func addFailures(p *plot.Plot, failures []sim.Failure, height float64) error {
	grey := color.Gray{Y: 0x60}
	var pts plotter.XYs
	var labels []string
	mark := func(at time.Duration, what string, dash []vg.Length) error {
		x := at.Seconds()
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: height}})
		if err != nil {
			return err
		}
		l.Color = grey
		l.Width = vg.Points(0.8)
		l.Dashes = dash
		p.Add(l)
		pts = append(pts, plotter.XY{X: x, Y: height})
		labels = append(labels, what)
		return nil
	}
	for _, f := range failures {
		if err := mark(f.At, fmt.Sprintf(" node %d down", f.Node), []vg.Length{vg.Points(1), vg.Points(2)}); err != nil {
			return err
		}
		if f.Recover > f.At {
			if err := mark(f.Recover, fmt.Sprintf(" node %d up", f.Node), []vg.Length{vg.Points(4), vg.Points(2)}); err != nil {
				return err
			}
		}
	}
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return err
	}
	for j := range l.TextStyle {
		l.TextStyle[j].Font.Size = vg.Points(7)
		l.TextStyle[j].Color = grey
		l.TextStyle[j].XAlign = text.XLeft
		l.TextStyle[j].YAlign = text.YTop
	}
	p.Add(l)
	return nil
}
