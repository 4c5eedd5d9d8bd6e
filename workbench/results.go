package workbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lvslab/lvslab/sim"
)

// ErrNotResults is wrapped by the errors of ReadResults and ReadTable when
// the input is not lvslab results at all (another JSON or CSV file), as
// opposed to results with a bad value.
var ErrNotResults = errors.New("not lvslab results")

// resultKeys are the keys every result of the JSON results has (sim.Result's
// JSON), and configKeys those of its "config", that plots need.
var (
	resultKeys = []string{"trace", "config", "throughput_rps", "hit_ratio"}
	configKeys = []string{"alg", "nodes"}
)

// tableColumns are the columns a results CSV must have.
var tableColumns = []string{"alg", "nodes", "throughput_rps"}

// ReadResults reads JSON results, as "lvslab sim -o FILE.json" and "lvslab
// sweep" write them: a list of sim.Result objects. name names the input in
// errors. Input that is not such a list, or whose results lack the keys
// every result has (trace, config.alg, config.nodes, throughput_rps,
// hit_ratio), is an error wrapping ErrNotResults that names what is
// missing; a result with no algorithm or fewer than 1 node is an error
// naming the result.
func ReadResults(name string, r io.Reader) ([]*sim.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	notResults := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w: %s", name, ErrNotResults, fmt.Sprintf(format, args...))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, notResults("empty file, want a JSON list of results")
		}
		if json.Valid(data) {
			return nil, notResults("want a JSON list of results (as lvslab sim -o FILE.json writes), got %s", jsonKind(data))
		}
		return nil, notResults("want a JSON list of results (as lvslab sim -o FILE.json writes): %v", err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no results", name)
	}
	rs := make([]*sim.Result, len(items))
	for i, item := range items {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(item, &keys); err != nil || keys == nil {
			return nil, notResults("result %d is %s, not a result object", i+1, jsonKind(item))
		}
		var config map[string]json.RawMessage
		if c, ok := keys["config"]; ok {
			if err := json.Unmarshal(c, &config); err != nil || config == nil {
				return nil, notResults("result %d: config is %s, not an object", i+1, jsonKind(c))
			}
		}
		var missing []string
		for _, k := range resultKeys {
			if _, ok := keys[k]; !ok {
				missing = append(missing, k)
			}
		}
		if config != nil {
			for _, k := range configKeys {
				if _, ok := config[k]; !ok {
					missing = append(missing, "config."+k)
				}
			}
		}
		if len(missing) > 0 {
			return nil, notResults("result %d lacks %s, which every lvslab result has", i+1, strings.Join(missing, ", "))
		}
		var res sim.Result
		if err := json.Unmarshal(item, &res); err != nil {
			return nil, fmt.Errorf("%s: result %d: %v", name, i+1, err)
		}
		switch {
		case strings.TrimSpace(res.Config.Algorithm) == "":
			return nil, fmt.Errorf("%s: result %d: config.alg is empty", name, i+1)
		case res.Config.Nodes < 1:
			return nil, fmt.Errorf("%s: result %d (%s): config.nodes = %d, want at least 1", name, i+1, res.Config.Algorithm, res.Config.Nodes)
		}
		rs[i] = &res
	}
	return rs, nil
}

// jsonKind names the kind of a JSON value for errors.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

// check reports whether t is a results CSV: its header has the
// columns plots need, and every row an algorithm and a node count >= 1.
func (t *Table) check() error {
	var missing []string
	for _, c := range tableColumns {
		if !t.Has(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %w: the CSV header has no %s column (a results CSV starts %s,...)",
			t.Name, ErrNotResults, strings.Join(missing, ", "), strings.Join(sim.CSVHeader[:3], ","))
	}
	for i := range t.Rows {
		if t.Get(i, "alg") == "" {
			return fmt.Errorf("%s: line %d: empty alg", t.Name, i+2)
		}
		if n, err := strconv.Atoi(t.Get(i, "nodes")); err != nil || n < 1 {
			return fmt.Errorf("%s: line %d: nodes %q is not a node count >= 1", t.Name, i+2, t.Get(i, "nodes"))
		}
	}
	return nil
}

// ErrNoCDF is wrapped by WritePlots's error when PlotOptions.CDFNodes asks
// for a node count at which no result (of the algorithms drawn) has a
// response-time CDF, or there are no results with CDFs at all (a CSV
// alone): an explicit request is never skipped in silence.
var ErrNoCDF = errors.New("no response-time CDF")

// checkCDFNodes reports a node count of o.CDFNodes that no result can draw
// a CDF for, naming the node counts that can.
func checkCDFNodes(t *Table, rs []*sim.Result, o PlotOptions) error {
	if len(o.CDFNodes) == 0 {
		return nil
	}
	if rs == nil {
		return fmt.Errorf("%w: %s has none (response-time CDFs are in the JSON results only)", ErrNoCDF, t.Name)
	}
	var have []int
	for _, r := range rs {
		if r != nil && len(r.ResponseCDF) > 0 && (o.Algorithms == nil || slices.Contains(o.Algorithms, r.Config.Algorithm)) {
			have = append(have, r.Config.Nodes)
		}
	}
	for _, n := range o.CDFNodes {
		if slices.Contains(have, n) {
			continue
		}
		if len(have) == 0 {
			return fmt.Errorf("%w at %d nodes: no result in %s has one", ErrNoCDF, n, t.Name)
		}
		return fmt.Errorf("%w at %d nodes in %s (node counts with one: %s)", ErrNoCDF, n, t.Name, nodeList(have))
	}
	return nil
}

// nodeList formats sorted node counts as "1, 4, 7".
func nodeList(ns []int) string {
	ns = slices.Clone(ns)
	slices.Sort(ns)
	ns = slices.Compact(ns)
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}
