package traces

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Columns maps the fields of a record to 1-based columns of a CSV or TSV
// log. A zero column is not mapped.
type Columns struct {
	Host    int
	Time    int   // a timestamp, or the time of day when Date is mapped
	Date    int   // a date column (e.g. EDGAR's "date" next to "time")
	Method  int   // absent: every line is a GET
	Request int   // a whole request line "GET /x HTTP/1.1" instead of Method and URL
	URL     []int // one column, or several joined with '/' (EDGAR: cik+accession+extention)
	Status  int   // absent: every line is a 200
	Bytes   int   // absent: bytes unknown (-1)
}

var columnNames = []string{"host", "time", "date", "method", "request", "url", "status", "bytes"}

// ParseColumns parses a column mapping such as "url=5,bytes=9" or, for SEC
// EDGAR logs, "host=1,date=2,time=3,url=5+6+7,status=8,bytes=9". Names are
// host, time, date, method, request, url, status and bytes; columns are
// 1-based; url may join several columns with '+' (the value is then
// "/"+col1+"/"+col2...). url or request is required.
func ParseColumns(spec string) (Columns, error) {
	var c Columns
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok {
			return Columns{}, fmt.Errorf("traces: column mapping %q: %q is not name=column", spec, item)
		}
		if seen[name] {
			return Columns{}, fmt.Errorf("traces: column mapping %q: %s mapped twice", spec, name)
		}
		seen[name] = true
		var cols []int
		for _, v := range strings.Split(val, "+") {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 1024 {
				return Columns{}, fmt.Errorf("traces: column mapping %q: %s=%s: want a column number 1..1024", spec, name, val)
			}
			cols = append(cols, n)
		}
		if len(cols) > 1 && name != "url" {
			return Columns{}, fmt.Errorf("traces: column mapping %q: only url may join columns with '+'", spec)
		}
		switch name {
		case "host":
			c.Host = cols[0]
		case "time":
			c.Time = cols[0]
		case "date":
			c.Date = cols[0]
		case "method":
			c.Method = cols[0]
		case "request":
			c.Request = cols[0]
		case "url":
			c.URL = cols
		case "status":
			c.Status = cols[0]
		case "bytes":
			c.Bytes = cols[0]
		default:
			return Columns{}, fmt.Errorf("traces: column mapping %q: unknown field %q (want one of %s)", spec, name, strings.Join(columnNames, ", "))
		}
	}
	return c, c.validate()
}

func (c Columns) validate() error {
	if len(c.URL) == 0 && c.Request == 0 {
		return fmt.Errorf("traces: column mapping needs url=N or request=N")
	}
	if len(c.URL) > 0 && c.Request != 0 {
		return fmt.Errorf("traces: column mapping has both url and request")
	}
	if c.Request != 0 && c.Method != 0 {
		return fmt.Errorf("traces: column mapping has both method and request")
	}
	return nil
}

// String returns the mapping in the syntax of ParseColumns.
func (c Columns) String() string {
	var parts []string
	add := func(name string, col int) {
		if col > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, col))
		}
	}
	add("host", c.Host)
	add("date", c.Date)
	add("time", c.Time)
	add("method", c.Method)
	add("request", c.Request)
	if len(c.URL) > 0 {
		s := make([]string, len(c.URL))
		for i, u := range c.URL {
			s[i] = strconv.Itoa(u)
		}
		parts = append(parts, "url="+strings.Join(s, "+"))
	}
	add("status", c.Status)
	add("bytes", c.Bytes)
	return strings.Join(parts, ",")
}

func (c Columns) max() int {
	m := max(c.Host, c.Time, c.Date, c.Method, c.Request, c.Status, c.Bytes)
	for _, u := range c.URL {
		m = max(m, u)
	}
	return m
}

// csvState is the per-reader state of the CSV/TSV parser.
type csvState struct {
	sep        byte
	cols       Columns
	need       int
	timeLayout string
	dateLayout string
	fields     [][]byte
	scratch    []byte // unquoted fields; capacity ≥ line length, never reallocated mid-line
	url        []byte // joined URL columns
	lastDate   []byte
	lastTime   []byte
	lastT      time.Time
	lastOK     bool
}

func (st *csvState) init(f Format) {
	st.sep = ','
	if f.Kind == "tsv" {
		st.sep = '\t'
	}
	st.cols = f.Columns
	st.need = f.Columns.max()
	st.dateLayout = f.DateLayout
	if st.dateLayout == "" {
		st.dateLayout = "2006-01-02"
	}
	st.timeLayout = f.TimeLayout
	if st.timeLayout == "" {
		st.timeLayout = time.RFC3339
		if f.Columns.Date != 0 {
			st.timeLayout = "15:04:05"
		}
	}
}

// split splits b into fields. A field may be quoted ("a, ""b"""); quoted
// fields cannot span lines.
func (st *csvState) split(b []byte) string {
	st.fields = st.fields[:0]
	if cap(st.scratch) < len(b) {
		st.scratch = make([]byte, 0, len(b)+len(b)/2)
	}
	st.scratch = st.scratch[:0]
	i := 0
	for {
		if i < len(b) && b[i] == '"' {
			i++
			start := len(st.scratch)
			for {
				q := bytes.IndexByte(b[i:], '"')
				if q < 0 {
					return "unterminated quoted field"
				}
				st.scratch = append(st.scratch, b[i:i+q]...)
				i += q + 1
				if i < len(b) && b[i] == '"' { // "" is a quote
					st.scratch = append(st.scratch, '"')
					i++
					continue
				}
				break
			}
			st.fields = append(st.fields, st.scratch[start:len(st.scratch):len(st.scratch)])
			if i == len(b) {
				return ""
			}
			if b[i] != st.sep {
				return "text after a quoted field"
			}
			i++
			continue
		}
		n := bytes.IndexByte(b[i:], st.sep)
		if n < 0 {
			st.fields = append(st.fields, b[i:])
			return ""
		}
		st.fields = append(st.fields, b[i:i+n])
		i += n + 1
	}
}

func (st *csvState) field(col int) []byte { return st.fields[col-1] }

func (st *csvState) parse(b []byte, rec *Record) string {
	if len(b) == 0 {
		return "empty line"
	}
	if why := st.split(b); why != "" {
		return why
	}
	if len(st.fields) < st.need {
		return fmt.Sprintf("%d columns, the mapping needs %d", len(st.fields), st.need)
	}
	c := &st.cols
	if c.Host != 0 {
		rec.Host = str(st.field(c.Host))
	}
	rec.Method = "GET"
	switch {
	case c.Request != 0:
		if why := splitRequest(bytes.TrimSpace(st.field(c.Request)), rec); why != "" {
			return fmt.Sprintf("column %d: %s", c.Request, why)
		}
	case len(c.URL) == 1:
		rec.URL = str(st.field(c.URL[0]))
	default:
		st.url = st.url[:0]
		for _, col := range c.URL {
			st.url = append(st.url, '/')
			st.url = append(st.url, st.field(col)...)
		}
		rec.URL = str(st.url)
	}
	if rec.URL == "" {
		return "empty url column"
	}
	if c.Method != 0 {
		rec.Method = str(st.field(c.Method))
		if rec.Method == "" {
			return fmt.Sprintf("column %d: empty method", c.Method)
		}
	}
	rec.Status = 200
	if c.Status != 0 {
		v, ok := parseWhole(st.field(c.Status))
		if !ok || v > 999 {
			return fmt.Sprintf("column %d: status %q is not a number", c.Status, st.field(c.Status))
		}
		rec.Status = int(v)
	}
	rec.Bytes = -1
	if c.Bytes != 0 {
		f := st.field(c.Bytes)
		if len(f) > 0 && !(len(f) == 1 && f[0] == '-') {
			v, ok := parseWhole(f)
			if !ok {
				return fmt.Sprintf("column %d: bytes %q is not a number", c.Bytes, f)
			}
			rec.Bytes = v
		}
	}
	if c.Time != 0 || c.Date != 0 {
		t, why := st.time()
		if why != "" {
			return why
		}
		rec.Time = t
	}
	return ""
}

// parseWhole parses a non-negative integer that may carry a zero fraction
// ("200.0", as in EDGAR logs).
func parseWhole(b []byte) (int64, bool) {
	if dot := bytes.IndexByte(b, '.'); dot >= 0 {
		for _, c := range b[dot+1:] {
			if c != '0' {
				return 0, false
			}
		}
		b = b[:dot]
	}
	return parseUint(b)
}

func (st *csvState) time() (time.Time, string) {
	var d, tm []byte
	if st.cols.Date != 0 {
		d = st.field(st.cols.Date)
	}
	if st.cols.Time != 0 {
		tm = st.field(st.cols.Time)
	}
	if st.lastOK && bytes.Equal(d, st.lastDate) && bytes.Equal(tm, st.lastTime) {
		return st.lastT, ""
	}
	var t time.Time
	switch {
	case st.cols.Time != 0 && st.timeLayout == "unix":
		f, err := strconv.ParseFloat(string(tm), 64)
		if err != nil || !(f >= 0 && f < maxUnixTime) {
			return time.Time{}, fmt.Sprintf("column %d: time %q is not seconds since the epoch up to the end of 9999 (the last year a log can write)", st.cols.Time, tm)
		}
		sec, frac := math.Modf(f)
		t = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		if st.cols.Date != 0 {
			return time.Time{}, "a unix time column cannot be combined with a date column"
		}
	case st.cols.Date != 0:
		day, err := time.Parse(st.dateLayout, string(d))
		if err != nil {
			return time.Time{}, fmt.Sprintf("column %d: date %q does not match layout %q", st.cols.Date, d, st.dateLayout)
		}
		t = day
		if st.cols.Time != 0 {
			clock, err := time.Parse(st.timeLayout, string(tm))
			if err != nil {
				return time.Time{}, fmt.Sprintf("column %d: time %q does not match layout %q", st.cols.Time, tm, st.timeLayout)
			}
			h, m, s := clock.Clock()
			t = time.Date(day.Year(), day.Month(), day.Day(), h, m, s, clock.Nanosecond(), day.Location())
		}
	default:
		var err error
		t, err = time.Parse(st.timeLayout, string(tm))
		if err != nil {
			return time.Time{}, fmt.Sprintf("column %d: time %q does not match layout %q", st.cols.Time, tm, st.timeLayout)
		}
	}
	st.lastDate = append(st.lastDate[:0], d...)
	st.lastTime = append(st.lastTime[:0], tm...)
	st.lastT, st.lastOK = t, true
	return t, ""
}

// maxUnixTime is the first second after 9999-12-31 23:59:59 UTC: later
// times have five-digit years, which no log format writes.
const maxUnixTime = 253402300800

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
