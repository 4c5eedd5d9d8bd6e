package workbench

// The regimes study's figures: DFLB's gains as bars with 95% error bars.

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// gainSeries is one series of bars: a gain (%) per category, with its
// confidence interval (NaN: none).
type gainSeries struct {
	Name      string
	Y, Lo, Hi []float64
}

// add appends comparison c's relative gain, in percent.
func (g *gainSeries) add(c Comparison) {
	m, lo, hi := c.Relative()
	g.Y, g.Lo, g.Hi = append(g.Y, 100*m), append(g.Lo, 100*lo), append(g.Hi, 100*hi)
}

// regimeLabels are the regimes' categories: their numbers in the README's
// table.
func regimeLabels(s *regimeSummary) []string {
	l := make([]string, len(s.Regimes))
	for r := range s.Regimes {
		l[r] = strconv.Itoa(r + 1)
	}
	return l
}

// regimeBars is the data of the figure of setting st: per regime, DFLB's
// gain over WRR and over WLC.
func regimeBars(s *regimeSummary, st int) []gainSeries {
	out := []gainSeries{{Name: "DFLB vs. WRR"}, {Name: "DFLB vs. WLC"}}
	for r := range s.Regimes {
		out[0].add(s.VsWRR[r][st])
		out[1].add(s.VsWLC[r][st])
	}
	return out
}

// settingBars is the data of the figure of DFLB's settings: per regime,
// its gain over WRR at each setting.
func settingBars(s *regimeSummary) []gainSeries {
	var out []gainSeries
	for st, v := range s.Settings {
		g := gainSeries{Name: settingName(s.SettingAxes, v)}
		for r := range s.Regimes {
			g.add(s.VsWRR[r][st])
		}
		out = append(out, g)
	}
	return out
}

// regimeFigure is the file name (without extension) of setting st's figure.
func regimeFigure(s *regimeSummary, st int) string {
	return "gain-by-regime_" + slug(settingName(s.SettingAxes, s.Settings[st]))
}

// writeRegimeFigures draws the regimes study's figures into dir.
func writeRegimeFigures(dir string, s *regimeSummary, formats []string) error {
	if len(formats) == 0 {
		formats = []string{"png", "svg"}
	}
	labels := regimeLabels(s)
	width := max(defaultWidth, vg.Length(len(s.Regimes))*1.6*vg.Centimeter)
	o := PlotOptions{Width: width}
	save := func(p *plot.Plot, name string) error {
		for _, f := range formats {
			if err := savePlot(p, o, filepath.Join(dir, name+"."+f), f); err != nil {
				return err
			}
		}
		return nil
	}
	for st := range s.Settings {
		p, err := gainBarPlot(labels, regimeBars(s, st), width)
		if err != nil {
			return err
		}
		p.Title.Text = "DFLB's throughput gain by regime, " + settingName(s.SettingAxes, s.Settings[st])
		if err := save(p, regimeFigure(s, st)); err != nil {
			return err
		}
	}
	p, err := gainBarPlot(labels, settingBars(s), width)
	if err != nil {
		return err
	}
	p.Title.Text = "DFLB's throughput gain over WRR by regime and DFLB setting"
	return save(p, "gain-by-setting")
}

// gainBarPlot draws series side by side per category, each bar with its
// error bar (where it has an interval), around a line at 0.
func gainBarPlot(labels []string, series []gainSeries, width vg.Length) (*plot.Plot, error) {
	p := plot.New()
	stylePlot(p, "Regime (# of the README's table)", "Throughput gain (%)")
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	catW := (width - 2.5*vg.Centimeter) / vg.Length(max(len(labels), 1))
	barW := min(catW*0.8/vg.Length(max(len(series), 1)), 1.5*vg.Centimeter)
	frac := float64(barW / catW)
	lo, hi := 0.0, 0.0
	for k, g := range series {
		if len(g.Y) != len(labels) {
			return nil, fmt.Errorf("plot: series %s has %d values for %d categories", g.Name, len(g.Y), len(labels))
		}
		off := (float64(k) - float64(len(series)-1)/2) * frac
		vals := make(plotter.Values, len(g.Y))
		var pts plotter.XYs
		var errs plotter.YErrors
		for i, y := range g.Y {
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue // no bar
			}
			vals[i] = y
			lo, hi = math.Min(lo, y), math.Max(hi, y)
			if !math.IsNaN(g.Lo[i]) && !math.IsNaN(g.Hi[i]) {
				pts = append(pts, plotter.XY{X: float64(i) + off, Y: y})
				errs = append(errs, struct{ Low, High float64 }{y - g.Lo[i], g.Hi[i] - y})
				lo, hi = math.Min(lo, g.Lo[i]), math.Max(hi, g.Hi[i])
			}
		}
		bars, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, fmt.Errorf("plot: %s bars: %w", g.Name, err)
		}
		c, _ := style(k)
		bars.Color = c
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(off) * catW
		p.Add(bars)
		p.Legend.Add(g.Name, bars)
		if len(pts) > 0 {
			eb, err := plotter.NewYErrorBars(errorPoints{pts, errs})
			if err != nil {
				return nil, fmt.Errorf("plot: %s error bars: %w", g.Name, err)
			}
			eb.LineStyle.Width = vg.Points(0.8)
			eb.CapWidth = min(barW*0.6, vg.Points(4))
			p.Add(eb)
		}
	}
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Width = vg.Points(0.8)
	p.Add(zero)
	p.NominalX(labels...)
	p.Y.Padding = vg.Points(5)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	// Room above the highest bar for the legend.
	span := math.Max(hi-lo, 1)
	p.Y.Min = lo - 0.05*span
	p.Y.Max = hi + 0.05*span + legendHeight(len(series))*span/(1-legendHeight(len(series)))
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), -vg.Points(4)
	return p, nil
}
