package workbench

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

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

// ReadTable reads a results CSV. name names the source in errors.
func ReadTable(name string, r io.Reader) (*Table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty file, want a CSV header", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &Table{Name: name, Header: header}
	t.index()
	for _, need := range []string{"alg", "nodes"} {
		if _, ok := t.col[need]; !ok {
			return nil, fmt.Errorf("%s: header has no %q column (is it an lvslab results CSV?)", name, need)
		}
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
	return t, nil
}

// TableFromResults builds the table that sim.WriteCSV would write for rs.
func TableFromResults(name string, rs []*sim.Result) *Table {
	t := &Table{Name: name, Header: append([]string(nil), sim.CSVHeader...)}
	for _, r := range rs {
		t.Rows = append(t.Rows, r.CSVRow())
	}
	t.index()
	return t
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
