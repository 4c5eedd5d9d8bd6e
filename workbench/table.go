package workbench

import (
	"cmp"
	"encoding"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/stats"
	"github.com/lvslab/lvslab/sim"
)

// Table is a results CSV held in memory: a header (sim.CSVHeader or a
// compatible one) and rows of the same width. Plots read tables so that they
// can be drawn from a CSV file alone.
type Table struct {
	Name   string // where the table came from, for error messages
	Header []string
	Rows   [][]string
	col    map[string]int
}

// ReadTable reads a results CSV. name names the source in errors. A CSV
// without the alg, nodes and throughput_rps columns is an error wrapping
// ErrNotResults; a row without an algorithm or a node count >= 1 is an
// error naming its line.
func ReadTable(name string, r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a CSV header", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: no CSV header: %v", name, ErrNotResults, err)
	}
	t := &Table{Name: name, Header: header}
	t.index()
	if err := t.check(); err != nil { // the header, before reading on
		return nil, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		t.Rows = append(t.Rows, rec)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

// TableFromResults builds the table that WriteCSV writes for rs (at the
// default confidence level).
func TableFromResults(name string, rs []*sim.Result) *Table {
	t, _ := resultTable(name, rs, stats.DefaultLevel)
	return t
}

// WriteCSV writes the table as CSV.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func (t *Table) index() {
	t.col = make(map[string]int, len(t.Header))
	for i, h := range t.Header {
		if _, dup := t.col[h]; !dup {
			t.col[h] = i
		}
	}
}

// Has reports whether the table has the column.
func (t *Table) Has(column string) bool {
	_, ok := t.col[column]
	return ok
}

// Get returns row i's value in column, or "" if there is no such column.
func (t *Table) Get(i int, column string) string {
	c, ok := t.col[column]
	if !ok || c >= len(t.Rows[i]) {
		return ""
	}
	return t.Rows[i][c]
}

// Float returns row i's value in column as a number. Errors name the table,
// the row (1-based, counting the header as line 1) and the column.
func (t *Table) Float(i int, column string) (float64, error) {
	if !t.Has(column) {
		return 0, fmt.Errorf("%s: no %q column", t.Name, column)
	}
	s := t.Get(i, column)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: line %d: column %s: %q is not a number", t.Name, i+2, column, s)
	}
	return v, nil
}

// configColumns are the CSV columns that describe a run's configuration
// other than the algorithm and the node count: rows of a CSV that agree on
// all of them belong in one figure. The last three are those of
// multi-cluster runs (sim.GeoCSVHeader), absent from other CSVs.
var configColumns = []string{"trace", "preset", "front_end", "admission", "cache_bytes", "cache_policy", "seed",
	"clusters", "overflow", "wan_delay_ms"}

// ErrAmbiguous is wrapped by WritePlots's error when a CSV holds two rows
// of one algorithm and node count that agree on every configuration column:
// they differ in a parameter the CSV has no column for (failures,
// health_check_delay, costs, scheduler options...), which only the JSON
// results record.
var ErrAmbiguous = errors.New("the rows differ only in parameters the CSV has no column for (failures, health_check_delay, costs, scheduler options, ...), or are one run twice; plot the JSON results instead, which keep each run's full configuration")

// param is one configuration parameter of a group of runs, for naming,
// describing and ordering the groups.
type param struct {
	name   string  // "cache_bytes", "health_check_delay", "options.set_expiry"
	text   string  // the value for people: "32MiB", "1s"
	canon  string  // the value for comparison
	num    float64 // the value as a number, if isNum
	isNum  bool
	column bool // a column of the results CSV (configColumns)
}

// group is the rows of one set of figures: one configuration, several
// algorithms and node counts.
type group struct {
	key     []string      // the rows' values of keyColumns
	rows    []int         // row indexes into the table
	results []*sim.Result // grouped from results: rows[i]'s result; nil for a CSV
	params  []param       // the configuration, column parameters first
	differs []bool        // params[i] differs between groups
	suffix  string        // file-name suffix distinguishing the group ("" if alone)
}

// keyColumns are the columns of t that describe a run's configuration:
// configColumns, then the columns of swept parameters (named by their
// experiment keys, SweptParams) in header order.
func (t *Table) keyColumns() []string {
	cols := slices.Clone(configColumns)
	for _, h := range t.Header {
		// alg and nodes are the figures' lines and axis, not a
		// configuration (node groups have their own column, SweptColumn).
		if h == "alg" || h == "nodes" {
			continue
		}
		if _, ok := sweptColumnParam(h); ok && !slices.Contains(cols, h) {
			cols = append(cols, h)
		}
	}
	return cols
}

// configKey returns row i's values of keyColumns.
func (t *Table) configKey(i int) []string {
	cols := t.keyColumns()
	key := make([]string, len(cols))
	for j, c := range cols {
		key[j] = t.Get(i, c)
	}
	return key
}

// groupRows splits a CSV's rows by the configuration columns it has.
func groupRows(t *Table) []*group {
	var groups []*group
	index := map[string]*group{}
	for i := range t.Rows {
		key := t.configKey(i)
		k := strings.Join(key, "\x00")
		g, ok := index[k]
		if !ok {
			g = &group{key: key}
			for j, c := range t.keyColumns() {
				if !t.Has(c) {
					continue
				}
				// Swept parameters' columns are named in figures as the
				// JSON results name them: "health_check_delay=1s".
				p := param{name: c, text: columnValue(c, key[j]), canon: key[j], column: slices.Contains(configColumns, c)}
				if v, err := strconv.ParseFloat(key[j], 64); err == nil && c != "trace" {
					p.num, p.isNum = v, true
				} else if d, err := time.ParseDuration(key[j]); err == nil {
					p.num, p.isNum = float64(d), true
				}
				g.params = append(g.params, p)
			}
			index[k] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, i)
	}
	return finishGroups(groups)
}

// groupResults splits results by their full resolved configuration and
// trace, ignoring the algorithm, the node count and the scheduler's seed
// (derived from the run's seed, which does count). rs are t's rows
// (TableFromResults).
func groupResults(t *Table, rs []*sim.Result) ([]*group, error) {
	var groups []*group
	index := map[string]*group{}
	for i, r := range rs {
		c := r.Config
		c.Algorithm, c.Nodes, c.Options.Seed, c.Replicate = "", 0, 0, 0
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("%s: result %d: %w", t.Name, i+1, err)
		}
		k := r.Trace + "\x00" + string(b)
		g, ok := index[k]
		if !ok {
			g = &group{key: t.configKey(i), params: resultParams(r.Trace, c)}
			index[k] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, i)
		g.results = append(g.results, r)
	}
	return finishGroups(groups), nil
}

// finishGroups marks the parameters that differ between groups, names each
// group by them and sorts the groups by them (numbers by value), stably.
func finishGroups(groups []*group) []*group {
	if len(groups) == 0 {
		return groups
	}
	differs := make([]bool, len(groups[0].params))
	for _, g := range groups[1:] {
		for j := range differs {
			differs[j] = differs[j] || g.params[j].canon != groups[0].params[j].canon
		}
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		for j, d := range differs {
			if !d {
				continue
			}
			pa, pb := a.params[j], b.params[j]
			if pa.isNum && pb.isNum {
				if c := cmp.Compare(pa.num, pb.num); c != 0 {
					return c
				}
			}
			if c := cmp.Compare(pa.text, pb.text); c != 0 {
				return c
			}
			if c := cmp.Compare(pa.canon, pb.canon); c != 0 {
				return c
			}
		}
		return 0
	})
	used := map[string]int{}
	for _, g := range groups {
		g.differs = differs
		for j, p := range g.params {
			if !differs[j] {
				continue
			}
			if p.column && p.name != "seed" {
				g.suffix += "_" + slug(p.text) // "_32MiB": self-explanatory values
			} else {
				g.suffix += "_" + slug(p.name+"="+p.text)
			}
		}
		// Distinct values can slug alike ("a:b", "a_b"): number the later ones.
		if n := used[g.suffix]; n > 0 {
			used[g.suffix]++
			g.suffix += "-" + strconv.Itoa(n+1)
		} else {
			used[g.suffix] = 1
		}
	}
	return groups
}

var durationType = reflect.TypeFor[time.Duration]()

// resultParams lists a run's trace and configuration parameters: the CSV's
// columns first, in configColumns order, then every other field of the
// configuration in declaration order, nested structs as dotted paths
// ("costs.disk_access", "options.dflb.a"), named by their JSON keys without
// the "_ns" of durations.
func resultParams(trace string, c sim.Config) []param {
	var all []param
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && !fv.Type().Implements(textMarshaler) && !reflect.PointerTo(fv.Type()).Implements(textMarshaler) {
				walk(fv, prefix+name+".")
				continue
			}
			if fv.Type() == durationType {
				name = strings.TrimSuffix(name, "_ns")
			}
			all = append(all, leafParam(prefix+name, fv))
		}
	}
	walk(reflect.ValueOf(c), "")
	ps := []param{{name: "trace", text: trace, canon: trace, column: true}}
	for _, col := range configColumns[1:] {
		for k, p := range all {
			if p.name == col {
				p.column = true
				ps = append(ps, p)
				all = slices.Delete(all, k, k+1)
				break
			}
		}
	}
	for _, p := range all {
		if p.name != "alg" && p.name != "nodes" && p.name != "options.seed" {
			ps = append(ps, p)
		}
	}
	return ps
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// leafParam formats one configuration value.
func leafParam(name string, v reflect.Value) param {
	p := param{name: name}
	b, _ := json.Marshal(v.Interface())
	p.canon = string(b)
	switch x := v.Interface().(type) {
	case time.Duration:
		p.text, p.num, p.isNum = x.String(), float64(x), true
	case []sim.Failure:
		p.text = formatFailures(x)
	case []sim.Slowdown:
		p.text = experiment.FormatSlowdowns(x)
	case []sim.NodeGroup:
		p.text = experiment.FormatGroups(x)
	case []sim.Cluster:
		p.text = sim.ClusterLayout(x) // as the CSV's clusters column
	default:
		switch v.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer:
			if v.IsNil() {
				break // not set: nothing to say
			}
			p.text = p.canon
		case reflect.String:
			p.text = v.String()
		case reflect.Bool:
			p.text = strconv.FormatBool(v.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			p.text, p.num, p.isNum = strconv.FormatInt(v.Int(), 10), float64(v.Int()), true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			p.text, p.num, p.isNum = strconv.FormatUint(v.Uint(), 10), float64(v.Uint()), true
		case reflect.Float32, reflect.Float64:
			p.text, p.num, p.isNum = strconv.FormatFloat(v.Float(), 'g', -1, 64), v.Float(), true
		default:
			p.text = p.canon
		}
	}
	if name == "cache_bytes" {
		p.text = columnValue(name, p.text)
	}
	return p
}

// formatFailures writes a failure schedule as lvslab's flags take it:
// "1@10s-25s,2@30s", or "none".
func formatFailures(fs []sim.Failure) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%d@%v", f.Node, f.At)
		if f.Recover > f.At {
			parts[i] += fmt.Sprintf("-%v", f.Recover)
		}
	}
	return strings.Join(parts, ",")
}
