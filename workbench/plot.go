package workbench

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
)

// PlotOptions selects and labels the figures WritePlots draws.
type PlotOptions struct {
	// Algorithms selects the algorithms to draw, in legend order. Nil draws
	// every algorithm of the table in order of first appearance.
	Algorithms []string

	// Prefix is prepended to every file name ("fig4.2-").
	Prefix string

	// Title is prepended to every figure title ("Fig. 4.2 (reproduction)").
	Title string

	// CDFNodes are the node counts for which response-time CDFs are drawn.
	// Nil selects 7 (the thesis's reference point) if present, else the
	// largest node count. A node count given here that no result has a
	// CDF at is an error (ErrNoCDF).
	CDFNodes []int

	// Formats are the file formats: "png", "svg" (gonum/plot's vg names).
	// Nil writes both.
	Formats []string

	// Kind selects the figures: KindAuto (""), KindSize or KindSeries.
	Kind string

	// Width and Height of each figure. Zero selects 16 cm × 10 cm.
	Width, Height vg.Length

	// Check, if not nil, is called with the path of every file to be
	// written, once every figure is drawn and before any file is written:
	// an error stops WritePlots before it writes anything (say, a figure
	// that would replace an input file).
	Check func(path string) error
}

// WritePlots draws, for every configuration in a results CSV t (rows
// agreeing on trace, preset, front end, admission, cache size and policy,
// seed):
//
//   - throughput.{png,svg}: throughput (requests/s) against the number of
//     back-end nodes, one line per algorithm (thesis Fig. 4.2 and 6.5);
//   - hit-ratio.{png,svg}: the cluster cache hit ratio against nodes;
//   - cdf-nN.{png,svg}: the response-time CDF at N nodes, one line per
//     algorithm, from rs (results carry ResponseCDF; nil rs draws none).
//
// When t holds several configurations the file names get a suffix naming
// the columns that differ ("_8MiB", "_seed=2"), and the groups are drawn in
// order of those values. When a configuration has a single node count,
// throughput-bars.{png,svg} compares the algorithms' throughput across the
// configurations in a bar chart (not with KindSeries).
//
// PlotOptions.Kind chooses between those figures against cluster size and
// time series drawn from rs (seriesFigures): throughput-time,
// hit-ratio-time, failed-time and nodes-time-ALG. By default a configuration run at a single node count
// or with failures gets time series instead of the figures against cluster
// size, if its results carry series. It returns the files written, in
// order.
//
// Two rows of one algorithm and node count in one configuration make a
// figure ambiguous: the error wraps ErrAmbiguous and names both lines.
func WritePlots(dir string, t *Table, rs []*sim.Result, o PlotOptions) ([]string, error) {
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("%s: no rows to plot", t.Name)
	}
	return writePlots(dir, t, groupRows(t), rs, o)
}

// WriteResultPlots draws WritePlots's figures from results, grouped by
// their full resolved configuration (every sim.Config field but the
// algorithm, the node count and the scheduler's derived seed) and trace, so
// that a sweep over any parameter (failures, health_check_delay, costs,
// scheduler options...) gets one set of figures per value. Files and titles
// of several groups name the parameters that differ between them
// ("throughput_health_check_delay=1s.png"); the CSV's columns keep
// WritePlots's suffixes ("throughput_8MiB.png"). name names the results in
// errors.
func WriteResultPlots(dir, name string, rs []*sim.Result, o PlotOptions) ([]string, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: no results to plot", name)
	}
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("%s: result %d is null", name, i+1)
		}
	}
	t := TableFromResults(name, rs)
	groups, err := groupResults(t, rs)
	if err != nil {
		return nil, err
	}
	return writePlots(dir, t, groups, rs, o)
}

func writePlots(dir string, t *Table, groups []*group, rs []*sim.Result, o PlotOptions) ([]string, error) {
	formats := o.Formats
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	for _, f := range formats {
		if f != "png" && f != "svg" {
			return nil, fmt.Errorf("plot: unknown format %q (want png or svg)", f)
		}
	}
	if err := checkCDFNodes(t, rs, o); err != nil {
		return nil, err
	}
	// Draw every figure, check every path, then write.
	type figure struct {
		p         *plot.Plot
		path, fmt string
	}
	var figures []figure
	save := func(p *plot.Plot, name string) error {
		for _, f := range formats {
			figures = append(figures, figure{p, filepath.Join(dir, name+"."+f), f})
		}
		return nil
	}
	for _, g := range groups {
		sub := describe(g, false)
		size, timeSeries, err := figureKinds(t, g, rs, o)
		if err != nil {
			return nil, err
		}
		p, err := metricPlot(t, g, o, "throughput_rps", 1, "Throughput (requests/s)")
		if err != nil {
			return nil, err
		}
		p.Title.Text = title(o.Title, "Throughput vs. cluster size", sub)
		if size { // else checked (metricPlot), not drawn
			if err := save(p, o.Prefix+"throughput"+g.suffix); err != nil {
				return nil, err
			}
		}
		if size && t.Has("hit_ratio") {
			p, err := metricPlot(t, g, o, "hit_ratio", 100, "Cluster cache hit ratio (%)")
			if err != nil {
				return nil, err
			}
			p.Title.Text = title(o.Title, "Cache hit ratio vs. cluster size", sub)
			if err := save(p, o.Prefix+"hit-ratio"+g.suffix); err != nil {
				return nil, err
			}
		}
		if timeSeries {
			if err := seriesFigures(t, g, rs, o, save); err != nil {
				return nil, err
			}
		}
		if rs == nil {
			continue
		}
		for _, n := range cdfNodes(t, g, o) {
			p, ok, err := cdfPlot(t, g, rs, n, o)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			p.Title.Text = title(o.Title, fmt.Sprintf("Response-time CDF, %d nodes", n), sub)
			if err := save(p, fmt.Sprintf("%scdf-n%d%s", o.Prefix, n, g.suffix)); err != nil {
				return nil, err
			}
		}
	}
	p, err := barPlot(t, groups, o)
	if err != nil {
		return nil, err
	}
	if p != nil && o.Kind != KindSeries {
		if err := save(p, o.Prefix+"throughput-bars"); err != nil {
			return nil, err
		}
	}
	if o.Check != nil {
		for _, f := range figures {
			if err := o.Check(f.path); err != nil {
				return nil, err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := make([]string, 0, len(figures))
	for _, f := range figures {
		if err := savePlot(f.p, o, f.path, f.fmt); err != nil {
			return nil, err
		}
		files = append(files, f.path)
	}
	return files, nil
}

func title(prefix, what, sub string) string {
	s := what
	if prefix != "" {
		s = prefix + ": " + what
	}
	if sub != "" {
		s += "\n" + sub
	}
	return s
}

// describe is a figure's subtitle: the group's configuration columns
// ("trace default, thesis preset, ..., seed 1"), then the other parameters
// that differ between groups ("health_check_delay=1s"). For the bar chart,
// which spans the groups, it lists only the columns they share.
func describe(g *group, bars bool) string {
	var parts []string
	for j, p := range g.params {
		switch {
		case p.text == "" || bars && g.differs[j]:
		case p.column:
			switch p.name {
			case "trace":
				parts = append(parts, "trace "+p.text)
			case "cache_bytes":
				parts = append(parts, "cache "+p.text+"/node")
			case "preset":
				parts = append(parts, p.text+" preset")
			case "seed":
				parts = append(parts, "seed "+p.text)
			default:
				parts = append(parts, p.text)
			}
		case g.differs[j]:
			parts = append(parts, p.name+"="+p.text)
		}
	}
	return wrapJoin(parts, 85)
}

// wrapJoin joins parts with ", ", starting a new line before a part that
// would take a line past width characters.
func wrapJoin(parts []string, width int) string {
	var b strings.Builder
	line := 0
	for i, s := range parts {
		if i > 0 {
			if line+2+len(s) > width {
				b.WriteString(",\n")
				line = 0
			} else {
				b.WriteString(", ")
				line += 2
			}
		}
		b.WriteString(s)
		line += len(s)
	}
	return b.String()
}

// axisName names a parameter on the bar chart's axis.
func axisName(p param) string {
	switch p.name {
	case "trace":
		return "Trace"
	case "preset":
		return "Preset"
	case "front_end":
		return "Front end"
	case "admission":
		return "Admission"
	case "cache_bytes":
		return "Cache per node"
	case "cache_policy":
		return "Cache policy"
	case "seed":
		return "Seed"
	}
	return p.name
}

// columnValue formats a column's value for people: cache sizes in binary
// units.
func columnValue(column, v string) string {
	if column == "cache_bytes" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return FormatBytes(n)
		}
	}
	return v
}

// FormatBytes formats n bytes in the largest binary unit that divides it
// ("32MiB", "1536KiB", "100B").
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	u := 0
	for n != 0 && n%1024 == 0 && u < len(units)-1 {
		n /= 1024
		u++
	}
	return strconv.FormatInt(n, 10) + units[u]
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '=', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// DisplayName is how figures name an algorithm: the thesis's spelling for
// its schedulers ("LBLC/R"), upper case otherwise.
func DisplayName(alg string) string {
	switch strings.ToLower(alg) {
	case "lblcr":
		return "LBLC/R"
	}
	return strings.ToUpper(alg)
}

// algorithmsOf returns the algorithms to draw for g, in legend order.
func algorithmsOf(t *Table, g *group, o PlotOptions) []string {
	if o.Algorithms != nil {
		return o.Algorithms
	}
	var algs []string
	for _, i := range g.rows {
		if a := t.Get(i, "alg"); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

// series returns alg's points (nodes, column×scale) in g, sorted by nodes.
// Replicates of one cell (rows at one node count with distinct replicate
// indexes) are one point, their mean, and errs gives each point's 95%
// confidence interval of the mean (nil when no point has replicates).
// Two rows at one node count that are not replicates are an error: the
// figure would be ambiguous.
func series(t *Table, g *group, alg, column string, scale float64) (xys plotter.XYs, errs plotter.YErrors, err error) {
	type point struct {
		n    float64
		rows []int
		reps []string
		vals []float64
	}
	var pts []*point
	for _, i := range g.rows {
		if t.Get(i, "alg") != alg {
			continue
		}
		n, err := t.Float(i, "nodes")
		if err != nil {
			return nil, nil, err
		}
		v, err := t.Float(i, column)
		if err != nil {
			return nil, nil, err
		}
		rep := t.Get(i, ReplicateColumn)
		k := slices.IndexFunc(pts, func(p *point) bool { return p.n == n })
		if k < 0 {
			pts = append(pts, &point{n: n})
			k = len(pts) - 1
		}
		p := pts[k]
		if len(p.rows) > 0 && (rep == "" || rep == "0" || slices.Contains(p.reps, rep)) {
			return nil, nil, duplicateError(t, g, alg, n, p.rows[0], i)
		}
		p.rows, p.reps, p.vals = append(p.rows, i), append(p.reps, rep), append(p.vals, v*scale)
	}
	slices.SortFunc(pts, func(a, b *point) int { return cmp.Compare(a.n, b.n) })
	replicated := slices.ContainsFunc(pts, func(p *point) bool { return len(p.vals) > 1 })
	for _, p := range pts {
		s := stats.Summarize(p.vals, stats.DefaultLevel)
		xys = append(xys, plotter.XY{X: p.n, Y: s.Mean})
		if replicated {
			errs = append(errs, struct{ Low, High float64 }{s.Mean - s.Lo, s.Hi - s.Mean})
		}
	}
	return xys, errs, nil
}

// errorPoints are points with vertical error bars (plotter.YErrorBars).
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// duplicateError says that rows a and b of g are both alg at n nodes.
func duplicateError(t *Table, g *group, alg string, n float64, a, b int) error {
	if g.results != nil {
		return fmt.Errorf("%s: results %d and %d are both %s at %v nodes with the same trace and configuration (one run recorded twice?); remove one",
			t.Name, a+1, b+1, alg, n)
	}
	var cols []string
	for _, p := range g.params {
		cols = append(cols, p.name+"="+p.canon)
	}
	same := "no configuration column to tell them apart"
	if len(cols) > 0 {
		same = "the same " + strings.Join(cols, ", ")
	}
	return fmt.Errorf("%s: lines %d and %d are both %s at %v nodes, with %s: %w",
		t.Name, a+2, b+2, alg, n, same, ErrAmbiguous)
}

func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	stylePlot(p, xLabel, yLabel)
	p.Add(plotter.NewGrid())
	return p
}

// stylePlot sets the labels and the fonts every figure shares.
func stylePlot(p *plot.Plot, xLabel, yLabel string) {
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.X.Label.TextStyle.Font.Size = vg.Points(10)
	p.Y.Label.TextStyle.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(6)
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.Padding = vg.Points(2)
}

// nodeCounts returns the distinct node counts of g's rows of the
// algorithms drawn, in increasing order.
func nodeCounts(t *Table, g *group, o PlotOptions) []float64 {
	algs := algorithmsOf(t, g, o)
	var ns []float64
	for _, i := range g.rows {
		if !slices.Contains(algs, t.Get(i, "alg")) {
			continue
		}
		if n, err := t.Float(i, "nodes"); err == nil && !slices.Contains(ns, n) {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns
}

// barPlot draws the throughput of every algorithm in every group that has a
// single node count, as bars side by side, one cluster of bars per group:
// where throughput against nodes is a column of points, this compares the
// configurations. It returns nil if no group has a single node count.
func barPlot(t *Table, groups []*group, o PlotOptions) (*plot.Plot, error) {
	var cats []*group
	var ns []float64
	for _, g := range groups {
		if c := nodeCounts(t, g, o); len(c) == 1 {
			cats = append(cats, g)
			ns = append(ns, c[0])
		}
	}
	if len(cats) == 0 {
		return nil, nil
	}
	sameN := !slices.ContainsFunc(ns, func(n float64) bool { return n != ns[0] })
	differs := cats[0].differs
	var varying []int
	for j, d := range differs {
		if d {
			varying = append(varying, j)
		}
	}
	// A category's label is its values of the varying parameters, one per
	// line, the axis label their names, in the same order.
	var names []string
	for _, j := range varying {
		names = append(names, axisName(cats[0].params[j]))
	}
	if !sameN || len(varying) == 0 {
		names = append(names, "Back-end nodes")
	}
	labels := make([]string, len(cats))
	for i, g := range cats {
		var parts []string
		for _, j := range varying {
			parts = append(parts, g.params[j].text)
		}
		if !sameN || len(varying) == 0 {
			parts = append(parts, strconv.FormatFloat(ns[i], 'f', -1, 64))
		}
		labels[i] = strings.Join(parts, "\n")
	}
	xLabel := strings.Join(names, " / ")

	var algs []string
	for _, g := range cats {
		for _, a := range algorithmsOf(t, g, o) {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	values := make([]plotter.Values, len(algs))
	have := make([][]bool, len(algs))
	drawn := 0
	for k, alg := range algs {
		values[k] = make(plotter.Values, len(cats))
		have[k] = make([]bool, len(cats))
		for i, g := range cats {
			xys, _, err := series(t, g, alg, "throughput_rps", 1)
			if err != nil {
				return nil, err
			}
			if len(xys) == 1 && !math.IsNaN(xys[0].Y) && !math.IsInf(xys[0].Y, 0) {
				values[k][i], have[k][i] = xys[0].Y, true
			}
		}
		if slices.Contains(have[k], true) {
			drawn++
		}
	}
	if drawn == 0 {
		return nil, nil
	}

	p := plot.New()
	stylePlot(p, xLabel, "Throughput (requests/s)")
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // a line through the middle bar is noise
	p.Add(grid)
	w := o.Width
	if w == 0 {
		w = defaultWidth
	}
	catW := (w - 2.5*vg.Centimeter) / vg.Length(len(cats))
	barW := min(catW*0.8/vg.Length(drawn), 1.5*vg.Centimeter)
	frac := float64(barW / catW) // a bar's width in category units
	maxY := 0.0
	slot := 0
	for k, alg := range algs {
		if !slices.Contains(have[k], true) {
			continue
		}
		off := (float64(slot) - float64(drawn-1)/2) * frac
		slot++
		bars, err := plotter.NewBarChart(values[k], barW)
		if err != nil {
			return nil, fmt.Errorf("%s: %s throughput bars: %w", t.Name, alg, err)
		}
		c, _ := style(k)
		bars.Color = c
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(off) * catW
		p.Add(bars)
		p.Legend.Add(DisplayName(alg), bars)
		var pts plotter.XYs
		var texts []string
		for i, v := range values[k] {
			if !have[k][i] {
				continue
			}
			pts = append(pts, plotter.XY{X: float64(i), Y: v})
			texts = append(texts, barLabel(v))
			maxY = math.Max(maxY, v)
		}
		if len(cats)*drawn <= 24 {
			l, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: texts})
			if err != nil {
				return nil, fmt.Errorf("%s: %s throughput labels: %w", t.Name, alg, err)
			}
			for j := range l.TextStyle {
				l.TextStyle[j].Font.Size = vg.Points(7)
				l.TextStyle[j].XAlign = text.XCenter
			}
			l.Offset = vg.Point{X: vg.Length(off) * catW, Y: vg.Points(2)}
			p.Add(l)
		}
	}
	p.NominalX(labels...)
	// NominalX pads the Y axis by half the first label, as if its category
	// sat on the axis; here it sits half a category away.
	p.Y.Padding = vg.Points(5)
	p.X.Min, p.X.Max = -0.5, float64(len(cats))-0.5
	// Room above the highest bar for its label and for the legend, which
	// goes in the top right corner, clear of the bars.
	p.Y.Min = 0
	p.Y.Max = math.Max(maxY*1.06/(1-legendHeight(drawn)), 1)
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), -vg.Points(4)
	what := "Throughput by configuration"
	if sameN {
		what = fmt.Sprintf("Throughput at %v nodes", ns[0])
	}
	p.Title.Text = title(o.Title, what, describe(cats[0], true))
	return p, nil
}

// barLabel writes a throughput over a bar: three significant digits, no
// exponent.
func barLabel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// palette is colour-blind friendly (Okabe & Ito).
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
}

var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.PyramidGlyph{}, draw.PlusGlyph{},
}

func style(k int) (color.Color, draw.GlyphDrawer) {
	return palette[k%len(palette)], glyphs[k%len(glyphs)]
}

// metricPlot draws column against nodes for every algorithm of g.
func metricPlot(t *Table, g *group, o PlotOptions, column string, scale float64, yLabel string) (*plot.Plot, error) {
	p := newPlot("Back-end nodes", yLabel)
	p.Y.Min = 0
	maxN := 1.0
	drawn := 0
	var all plotter.XYs
	for k, alg := range algorithmsOf(t, g, o) {
		xys, errs, err := series(t, g, alg, column, scale)
		if err != nil {
			return nil, err
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", t.Name, alg, column, err)
		}
		c, glyph := style(k)
		if errs != nil {
			// Replicates: each point's 95% confidence interval.
			bars, err := plotter.NewYErrorBars(errorPoints{xys, errs})
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %w", t.Name, alg, column, err)
			}
			bars.Color = c
			bars.LineStyle.Width = vg.Points(1)
			bars.CapWidth = vg.Points(5)
			p.Add(bars)
			for i, e := range errs {
				all = append(all, plotter.XY{X: xys[i].X, Y: xys[i].Y + e.High}, plotter.XY{X: xys[i].X, Y: xys[i].Y - e.Low})
			}
		}
		line.Color = c
		line.Width = vg.Points(1.5)
		points.Color = c
		points.Shape = glyph
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		p.Legend.Add(DisplayName(alg), line, points)
		drawn++
		all = append(all, xys...)
		for _, xy := range xys {
			maxN = math.Max(maxN, xy.X)
		}
	}
	if drawn == 0 {
		where := ""
		if d := describe(g, false); d != "" {
			where = " in configuration " + strings.ReplaceAll(d, "\n", " ")
		}
		return nil, fmt.Errorf("%s: no rows for algorithms %s%s", t.Name, strings.Join(algorithmsOf(t, g, o), ","), where)
	}
	p.X.Min = 0.5
	p.X.Max = maxN + 0.5
	p.X.Tick.Marker = intTicks{}
	if ns := nodeCounts(t, g, o); len(ns) == 1 {
		// One node count: a column of points, centred, its one tick
		// labelled (throughput-bars compares such figures).
		p.X.Min, p.X.Max = ns[0]-1, ns[0]+1
		p.X.Tick.Marker = plot.ConstantTicks{{Value: ns[0], Label: strconv.FormatFloat(ns[0], 'f', -1, 64)}}
	}
	if scale == 100 {
		p.Y.Max = 100
		p.Y.Tick.Marker = percentTicks{}
	} else {
		p.Y.Max *= 1.05 // headroom above the highest point
		p.Y.Tick.Marker = plainTicks{}
	}
	placeLegend(p, all, false, drawn)
	return p, nil
}

// plainTicks label about five to ten round values (steps of 1, 2 or 5
// times a power of ten) without trailing zeros ("750", not "750.00"), with
// an unlabelled tick between labels.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	raw := (max - min) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	// Labels are multiples of step: as many decimals as step has, so that
	// float noise (3 × 0.2 = 0.6000000000000001) never reaches a label.
	prec := int(-math.Floor(math.Log10(step) + 1e-9))
	if prec < 0 {
		prec = 0
	}
	var ticks []plot.Tick
	for k := math.Ceil(min / step * 2); k*step/2 <= max; k++ {
		v := k * step / 2
		t := plot.Tick{Value: v}
		if math.Mod(k, 2) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', prec, 64)
			if strings.Contains(t.Label, ".") {
				t.Label = strings.TrimRight(strings.TrimRight(t.Label, "0"), ".")
			}
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// percentTicks marks 0..100 every 10, labelled every 20.
type percentTicks struct{}

func (percentTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for v := 0; v <= 100; v += 10 {
		if float64(v) < min || float64(v) > max {
			continue
		}
		t := plot.Tick{Value: float64(v)}
		if v%20 == 0 {
			t.Label = strconv.Itoa(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// placeLegend puts the legend in the corner of the data area that covers
// the fewest data points (preferring top left, top right, bottom right,
// bottom left), so that it hides as little of the curves as possible.
func placeLegend(p *plot.Plot, pts plotter.XYs, logX bool, entries int) {
	fx := func(x float64) float64 {
		lo, hi := p.X.Min, p.X.Max
		if logX {
			x, lo, hi = math.Log10(x), math.Log10(lo), math.Log10(hi)
		}
		if hi == lo {
			return 0.5
		}
		return (x - lo) / (hi - lo)
	}
	fy := func(y float64) float64 {
		if p.Y.Max == p.Y.Min {
			return 0.5
		}
		return (y - p.Y.Min) / (p.Y.Max - p.Y.Min)
	}
	const w = 0.25
	h := legendHeight(entries)
	corners := []struct{ top, left bool }{{true, true}, {true, false}, {false, false}, {false, true}}
	best, bestN := 0, -1
	for i, c := range corners {
		n := 0
		for _, pt := range pts {
			if logX && pt.X <= 0 {
				continue
			}
			x, y := fx(pt.X), fy(pt.Y)
			inX := (c.left && x <= w) || (!c.left && x >= 1-w)
			inY := (c.top && y >= 1-h) || (!c.top && y <= h)
			if inX && inY {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	c := corners[best]
	p.Legend.Top, p.Legend.Left = c.top, c.left
	p.Legend.XOffs = vg.Points(6)
	if !c.left {
		p.Legend.XOffs = -vg.Points(6)
	}
	p.Legend.YOffs = -vg.Points(4)
	if !c.top {
		p.Legend.YOffs = vg.Points(4)
	}
}

// legendHeight is about the fraction of a figure's data area that a legend
// of n entries takes, from the top.
func legendHeight(n int) float64 { return 0.06*float64(n) + 0.04 }

// intTicks labels every integer node count (every second or more when
// there are many).
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	if !(max-min <= 64) {
		return plainTicks{}.Ticks(min, max)
	}
	lo, hi := int(math.Ceil(min)), int(math.Floor(max))
	step := 1
	for (hi-lo)/step > 20 {
		step *= 2
	}
	var ticks []plot.Tick
	for v := lo; v <= hi; v++ {
		t := plot.Tick{Value: float64(v)}
		if v%step == 0 {
			t.Label = strconv.Itoa(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

func cdfNodes(t *Table, g *group, o PlotOptions) []int {
	if o.CDFNodes != nil {
		return o.CDFNodes
	}
	var ns []int
	for _, i := range g.rows {
		if n, err := strconv.Atoi(t.Get(i, "nodes")); err == nil {
			ns = append(ns, n)
		}
	}
	if slices.Contains(ns, 7) {
		return []int{7}
	}
	if len(ns) == 0 {
		return nil
	}
	return []int{slices.Max(ns)}
}

// matches reports whether r belongs to group g: the same result for a
// group of results, the same configuration columns for a CSV's.
func matches(r *sim.Result, t *Table, g *group) bool {
	if g.results != nil {
		return slices.Contains(g.results, r)
	}
	row := r.CSVRow()
	for j, c := range t.keyColumns() {
		if !t.Has(c) {
			continue
		}
		v := ""
		if k := slices.Index(sim.CSVHeader, c); k >= 0 {
			v = row[k]
		} else if p, ok := sweptColumnParam(c); ok {
			v = ParamValue(r.Config, p)
		}
		if v != g.key[j] {
			return false
		}
	}
	return true
}

// cdfPlot draws the response-time CDFs at n nodes for g's algorithms.
func cdfPlot(t *Table, g *group, rs []*sim.Result, n int, o PlotOptions) (*plot.Plot, bool, error) {
	p := newPlot("Response time (ms, log scale)", "Fraction of requests ≤ t")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	drawn := 0
	var all plotter.XYs
	for k, alg := range algorithmsOf(t, g, o) {
		var r *sim.Result
		cands := rs
		if g.results != nil {
			cands = g.results // the group's own results: no need to match
		}
		for _, x := range cands {
			if x != nil && x.Config.Algorithm == alg && x.Config.Nodes == n && matches(x, t, g) {
				r = x
				break
			}
		}
		if r == nil || len(r.ResponseCDF) == 0 {
			continue
		}
		var xys plotter.XYs
		for _, pt := range r.ResponseCDF {
			ms := float64(pt.Time) / 1e6
			if ms <= 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: ms, Y: pt.Fraction})
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %s CDF at %d nodes: %w", t.Name, alg, n, err)
		}
		c, _ := style(k)
		line.Color = c
		line.Width = vg.Points(1.5)
		line.Dashes = dashes(k)
		p.Add(line)
		p.Legend.Add(DisplayName(alg), line)
		drawn++
		all = append(all, xys...)
	}
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = plainTicks{}
	placeLegend(p, all, true, drawn)
	return p, drawn > 0, nil
}

func dashes(k int) []vg.Length {
	switch k % 4 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(2)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	case 3:
		return []vg.Length{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)}
	}
	return nil
}

// The size of a figure unless PlotOptions says otherwise.
const (
	defaultWidth  = 16 * vg.Centimeter
	defaultHeight = 10 * vg.Centimeter
)

// pngDPI is the resolution of PNG figures.
const pngDPI = 150

// savePlot writes p to path in format f, through a temporary file so that a
// reader never sees half a figure.
func savePlot(p *plot.Plot, o PlotOptions, path, f string) error {
	w, h := o.Width, o.Height
	if w == 0 {
		w = defaultWidth
	}
	if h == 0 {
		h = defaultHeight
	}
	var wt io.WriterTo
	if f == "png" {
		c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(pngDPI))}
		p.Draw(draw.New(c))
		wt = c
	} else {
		var err error
		if wt, err = p.WriterTo(w, h, f); err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}
