package sim

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// CSVRow returns r as one row under CSVHeader. Numbers are formatted with
// strconv at fixed precision (6 decimals for fractions and rates, times in
// seconds or milliseconds), so equal results give equal bytes. The last
// column carries the whole resolved configuration, so that a CSV row, like
// a JSON result, says exactly what produced it.
func (r *Result) CSVRow() []string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 6, 64) }
	ms := func(x float64) string { return f(x / 1e6) } // ns -> ms
	var cpu, disk float64
	for _, n := range r.Nodes {
		cpu += n.CPUUtil
		disk += n.DiskUtil
	}
	if len(r.Nodes) > 0 {
		cpu /= float64(len(r.Nodes))
		disk /= float64(len(r.Nodes))
	}
	c := &r.Config
	return []string{
		c.Algorithm, strconv.Itoa(c.Nodes), r.Trace, c.Preset, c.FrontEnd, c.Admission,
		strconv.FormatInt(c.CacheBytes, 10), c.CachePolicy, strconv.FormatUint(c.Seed, 10),
		strconv.Itoa(r.Requests), strconv.Itoa(r.Completed), strconv.Itoa(r.Bypassed), strconv.Itoa(r.Failed),
		f(r.Makespan.Seconds()),
		f(r.ThroughputRPS), f(r.ThroughputMBps), f(r.HitRatio),
		ms(float64(r.P50)), ms(float64(r.P95)), ms(float64(r.P99)), ms(float64(r.MeanResponse)),
		f(r.Imbalance), f(cpu), f(disk), r.Version,
		configJSON(c),
	}
}

// configJSON is c as compact JSON, the CSV's "config" column. A resolved
// Config always marshals (its numbers are finite); should one ever not,
// the column says why rather than losing the row.
func configJSON(c *Config) string {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(b)
}

// WriteCSV writes CSVHeader and one row per result; when a result is of a
// multi-cluster run, every row goes on with the GeoCSVHeader columns.
func WriteCSV(w io.Writer, rs []*Result) error {
	cw := csv.NewWriter(w)
	geo := slices.ContainsFunc(rs, func(r *Result) bool { return r != nil && len(r.Config.Clusters) > 0 })
	header := CSVHeader
	if geo {
		header = slices.Concat(CSVHeader, GeoCSVHeader)
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("sim: write csv: %w", err)
	}
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("sim: write csv: result %d is nil", i)
		}
		row := r.CSVRow()
		if geo {
			row = append(row, r.GeoCSVRow()...)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("sim: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sim: write csv: %w", err)
	}
	return nil
}

// WriteJSON writes rs as an indented JSON array; keys follow struct field
// order (maps, such as Options.Classes, come out with sorted keys).
func WriteJSON(w io.Writer, rs []*Result) error {
	if rs == nil {
		rs = []*Result{}
	}
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: write json: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("sim: write json: %w", err)
	}
	return nil
}
