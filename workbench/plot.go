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
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

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
	// largest node count.
	CDFNodes []int

	// Formats are the file formats: "png", "svg" (gonum/plot's vg names).
	// Nil writes both.
	Formats []string

	// Width and Height of each figure. Zero selects 16 cm × 10 cm.
	Width, Height vg.Length
}

// configColumns are the CSV columns that describe a run's configuration
// other than the algorithm and the node count: rows that agree on all of
// them belong in one figure.
var configColumns = []string{"trace", "preset", "front_end", "admission", "cache_bytes", "cache_policy", "seed"}

// group is the rows of one figure: one configuration, several algorithms
// and node counts.
type group struct {
	key    []string // values of configColumns
	rows   []int
	suffix string // file-name suffix distinguishing the group ("" if alone)
}

// WritePlots draws, for every configuration in t (rows agreeing on trace,
// preset, front end, admission, cache size and policy, seed):
//
//   - throughput.{png,svg}: throughput (requests/s) against the number of
//     back-end nodes, one line per algorithm (thesis Fig. 4.2 and 6.5);
//   - hit-ratio.{png,svg}: the cluster cache hit ratio against nodes;
//   - cdf-nN.{png,svg}: the response-time CDF at N nodes, one line per
//     algorithm, from rs (results carry ResponseCDF; nil rs draws none).
//
// When t holds several configurations the file names get a suffix naming
// the columns that differ. It returns the files written, in order.
func WritePlots(dir string, t *Table, rs []*sim.Result, o PlotOptions) ([]string, error) {
	if len(t.Rows) == 0 {
		return nil, fmt.Errorf("%s: no rows to plot", t.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	formats := o.Formats
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	for _, f := range formats {
		if f != "png" && f != "svg" {
			return nil, fmt.Errorf("plot: unknown format %q (want png or svg)", f)
		}
	}
	groups := groupRows(t)
	var files []string
	save := func(p *plot.Plot, name string) error {
		for _, f := range formats {
			path := filepath.Join(dir, name+"."+f)
			if err := savePlot(p, o, path, f); err != nil {
				return err
			}
			files = append(files, path)
		}
		return nil
	}
	for _, g := range groups {
		sub := describe(t, g)
		p, err := metricPlot(t, g, o, "throughput_rps", 1, "Throughput (requests/s)")
		if err != nil {
			return nil, err
		}
		p.Title.Text = title(o.Title, "Throughput vs. cluster size", sub)
		if err := save(p, o.Prefix+"throughput"+g.suffix); err != nil {
			return nil, err
		}
		if t.Has("hit_ratio") {
			p, err := metricPlot(t, g, o, "hit_ratio", 100, "Cluster cache hit ratio (%)")
			if err != nil {
				return nil, err
			}
			p.Title.Text = title(o.Title, "Cache hit ratio vs. cluster size", sub)
			if err := save(p, o.Prefix+"hit-ratio"+g.suffix); err != nil {
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

// groupRows splits t's rows by configuration, in order of first appearance.
func groupRows(t *Table) []*group {
	var groups []*group
	index := map[string]*group{}
	for i := range t.Rows {
		key := make([]string, len(configColumns))
		for j, c := range configColumns {
			key[j] = t.Get(i, c)
		}
		k := strings.Join(key, "\x00")
		g, ok := index[k]
		if !ok {
			g = &group{key: key}
			index[k] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, i)
	}
	if len(groups) > 1 {
		for j, c := range configColumns {
			varies := false
			for _, g := range groups[1:] {
				varies = varies || g.key[j] != groups[0].key[j]
			}
			if !varies {
				continue
			}
			for _, g := range groups {
				g.suffix += "_" + slug(columnValue(c, g.key[j]))
			}
		}
	}
	return groups
}

// describe is a figure's subtitle: the configuration of its group.
func describe(t *Table, g *group) string {
	var parts []string
	for j, c := range configColumns {
		v := g.key[j]
		if v == "" || !t.Has(c) {
			continue
		}
		switch c {
		case "trace":
			parts = append(parts, "trace "+v)
		case "cache_bytes":
			parts = append(parts, "cache "+columnValue(c, v)+"/node")
		case "preset":
			parts = append(parts, v+" preset")
		case "seed":
			parts = append(parts, "seed "+v)
		default:
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, ", ")
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
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
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
func series(t *Table, g *group, alg, column string, scale float64) (plotter.XYs, error) {
	var xys plotter.XYs
	for _, i := range g.rows {
		if t.Get(i, "alg") != alg {
			continue
		}
		n, err := t.Float(i, "nodes")
		if err != nil {
			return nil, err
		}
		v, err := t.Float(i, column)
		if err != nil {
			return nil, err
		}
		for _, p := range xys {
			if p.X == n {
				return nil, fmt.Errorf("%s: line %d: a second %s row for %d nodes in one configuration (%s); rows that differ only in a column the CSV does not show cannot share a figure",
					t.Name, i+2, alg, int(n), strings.Join(g.key, ", "))
			}
		}
		xys = append(xys, plotter.XY{X: n, Y: v * scale})
	}
	slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return xys, nil
}

func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
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
	p.Add(plotter.NewGrid())
	return p
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
		xys, err := series(t, g, alg, column, scale)
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
		return nil, fmt.Errorf("%s: no rows for algorithms %s in configuration %s", t.Name, strings.Join(algorithmsOf(t, g, o), ","), strings.Join(g.key, ", "))
	}
	p.X.Min = 0.5
	p.X.Max = maxN + 0.5
	p.X.Tick.Marker = intTicks{}
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
	var ticks []plot.Tick
	for k := math.Ceil(min / step * 2); k*step/2 <= max; k++ {
		v := k * step / 2
		t := plot.Tick{Value: v}
		if math.Mod(k, 2) == 0 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
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
	h := 0.06*float64(entries) + 0.04
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

// matches reports whether r belongs to group g (same configuration columns).
func matches(r *sim.Result, t *Table, g *group) bool {
	row := r.CSVRow()
	for j, c := range configColumns {
		k := slices.Index(sim.CSVHeader, c)
		if k < 0 || !t.Has(c) {
			continue
		}
		if row[k] != g.key[j] {
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
		for _, x := range rs {
			if x.Config.Algorithm == alg && x.Config.Nodes == n && matches(x, t, g) {
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

// pngDPI is the resolution of PNG figures.
const pngDPI = 150

// savePlot writes p to path in format f, through a temporary file so that a
// reader never sees half a figure.
func savePlot(p *plot.Plot, o PlotOptions, path, f string) error {
	w, h := o.Width, o.Height
	if w == 0 {
		w = 16 * vg.Centimeter
	}
	if h == 0 {
		h = 10 * vg.Centimeter
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
	return writeAtomic(path, func(file *os.File) error {
		_, err := wt.WriteTo(file)
		return err
	})
}

// writeAtomic writes path by calling write on a temporary file in the same
// directory and renaming it into place.
func writeAtomic(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
