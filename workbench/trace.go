package workbench

// The trace commands' library: the filter flags, the logs read, hit-ratio
// curves and conversion.

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/traces/embedded"
)

// TraceFilter holds the log-format and filter flags shared by the trace
// commands (and by any command that reads a log through a traces.Filter),
// as given; Filter builds the filter they describe.
type TraceFilter struct {
	Method, Status     string
	KeepDynamic        bool
	DynamicPatterns    []string
	MinBytes, MaxBytes string
	From, To           string
	Strict             bool
	Format, Columns    string
	Header             bool
	TimeLayout         string
	DateLayout         string
	Errors             int // unparsable lines shown
	All                bool
}

// Filter builds the traces.Filter the flags describe; changed reports
// whether a flag was given (--all does not override a filter flag given),
// and the sample collects the lines that do not parse.
func (tf *TraceFilter) Filter(changed func(string) bool) (traces.Filter, *traces.ErrorSample, error) {
	var f traces.Filter
	all := func(name string) bool { return tf.All && !changed(name) }

	f.Format = traces.Format{Kind: tf.Format, Header: tf.Header, TimeLayout: tf.TimeLayout, DateLayout: tf.DateLayout}
	switch tf.Format {
	case "clf", "":
		if tf.Columns != "" {
			return f, nil, errors.New("--columns needs --format csv or tsv")
		}
	case "csv", "tsv":
		if tf.Columns == "" {
			return f, nil, fmt.Errorf("--format %s needs --columns (e.g. url=5,bytes=9)", tf.Format)
		}
		cols, err := traces.ParseColumns(tf.Columns)
		if err != nil {
			return f, nil, fmt.Errorf("--columns: %w", err)
		}
		f.Format.Columns = cols
	default:
		return f, nil, fmt.Errorf("--format %q: want clf, csv or tsv", tf.Format)
	}

	if m := strings.TrimSpace(tf.Method); !all("method") && m != "" && !strings.EqualFold(m, "any") {
		for _, v := range strings.Split(m, ",") {
			if v = strings.TrimSpace(v); v != "" {
				f.Methods = append(f.Methods, strings.ToUpper(v))
			}
		}
	}
	if s := strings.TrimSpace(tf.Status); !all("status") && s != "" && !strings.EqualFold(s, "any") {
		for _, v := range strings.Split(s, ",") {
			code, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || code < 0 || code > 999 {
				return f, nil, fmt.Errorf("--status %q: %q is not an HTTP status", tf.Status, v)
			}
			f.Statuses = append(f.Statuses, code)
		}
	}
	if !all("min-bytes") && tf.MinBytes != "" {
		n, err := traces.ParseBytes(tf.MinBytes)
		if err != nil {
			return f, nil, fmt.Errorf("--min-bytes: %w", err)
		}
		f.MinBytes = n
	}
	if tf.MaxBytes != "" {
		n, err := traces.ParseBytes(tf.MaxBytes)
		if err != nil {
			return f, nil, fmt.Errorf("--max-bytes: %w", err)
		}
		f.MaxBytes = n
	}
	if f.MaxBytes > 0 && f.MinBytes > f.MaxBytes {
		return f, nil, fmt.Errorf("--min-bytes %d is above --max-bytes %d", f.MinBytes, f.MaxBytes)
	}
	f.DropDynamic = !tf.KeepDynamic && !all("keep-dynamic")
	f.DynamicPatterns = tf.DynamicPatterns
	var err error
	if f.From, err = ParseTraceTime("--from", tf.From); err != nil {
		return f, nil, err
	}
	if f.To, err = ParseTraceTime("--to", tf.To); err != nil {
		return f, nil, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, nil, fmt.Errorf("--from %s is not before --to %s", tf.From, tf.To)
	}
	f.Strict = tf.Strict
	te := &traces.ErrorSample{Max: max(tf.Errors, 0)}
	f.OnError = te.Add
	return f, te, nil
}

// ParseTraceTime reads a time as the trace flags take it (RFC 3339, a
// date, or a CLF time); "" is the zero time. flag names it in errors.
func ParseTraceTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02", "02/Jan/2006:15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 (2003-09-02T10:00:00-07:00), a date (2003-09-02) or a CLF time (02/Sep/2003:10:00:00 -0700)", flag, s)
}

// TraceInput names the logs to read: the files given, or the built-in
// trace when there are none.
type TraceInput struct {
	Paths []string
}

// Name names the logs ("antlr-2003.log.gz", "a.log,b.log").
func (in TraceInput) Name() string {
	if len(in.Paths) == 0 {
		name, _ := embedded.DefaultTrace()
		return name
	}
	names := make([]string, len(in.Paths))
	for i, p := range in.Paths {
		names[i] = filepath.Base(p)
	}
	return strings.Join(names, ",")
}

// Characterize summarises the logs (traces.Characterize).
func (in TraceInput) Characterize(f traces.Filter) (*traces.Summary, error) {
	if len(in.Paths) == 0 {
		name, data := embedded.DefaultTrace()
		return traces.CharacterizeReader(name, bytes.NewReader(data), f)
	}
	return traces.Characterize(in.Paths, f)
}

// Load loads the logs (traces.Load).
func (in TraceInput) Load(f traces.Filter) (*traces.Workload, error) {
	if len(in.Paths) == 0 {
		return traces.LoadDefault(f)
	}
	return traces.Load(in.Paths, f)
}

// Scan visits every line of the logs (traces.Scan).
func (in TraceInput) Scan(f traces.Filter, visit traces.VisitFunc) error {
	if len(in.Paths) == 0 {
		name, data := embedded.DefaultTrace()
		return traces.ScanReader(name, bytes.NewReader(data), f, visit)
	}
	return traces.Scan(in.Paths, f, visit)
}

// HRCReport is the JSON output of "trace hrc".
type HRCReport struct {
	Name            string            `json:"name"`
	Requests        int               `json:"requests"`
	Targets         int               `json:"targets"`
	WorkingSetBytes int64             `json:"working_set_bytes"`
	Points          []traces.HRCPoint `json:"points"`
}

// ParseHRCSizes reads the cache sizes of --sizes ("1MiB,4MiB"): each
// positive, at most traces.MaxHRCSizes distinct ones.
func ParseHRCSizes(sizes string) ([]int64, error) {
	var caps []int64
	for s := range strings.SplitSeq(sizes, ",") {
		n, err := traces.ParseBytes(s)
		if err != nil {
			return nil, fmt.Errorf("--sizes: %w", err)
		}
		if n <= 0 {
			return nil, fmt.Errorf("--sizes: cache size %q is not positive", s)
		}
		caps = append(caps, n)
	}
	return caps, CheckHRCSizes(caps)
}

// WriteHRC writes the hit-ratio curve pts of workload w (named name) to
// out as format: "json" (HRCReport), "csv" or "text".
func WriteHRC(out io.Writer, format, name string, w *traces.Workload, pts []traces.HRCPoint) error {
	switch format {
	case "json":
		b, err := json.MarshalIndent(HRCReport{name, len(w.Requests), len(w.Objects), w.WorkingSet(), pts}, "", "  ")
		if err != nil {
			return err
		}
		_, err = out.Write(append(b, '\n'))
		return err
	case "csv":
		cw := csv.NewWriter(out)
		cw.Write([]string{"cache_bytes", "requests", "hits", "hit_ratio", "byte_hit_ratio"})
		for _, p := range pts {
			cw.Write([]string{strconv.FormatInt(p.CacheBytes, 10), strconv.FormatInt(p.Requests, 10), strconv.FormatInt(p.Hits, 10),
				strconv.FormatFloat(p.HitRatio, 'f', 6, 64), strconv.FormatFloat(p.ByteHitRatio, 'f', 6, 64)})
		}
		cw.Flush()
		return cw.Error()
	}
	bw := bufio.NewWriter(out)
	fmt.Fprintf(bw, "# %s: %d requests, %d targets, working set %d bytes (%s)\n", traces.Escape(name), len(w.Requests), len(w.Objects), w.WorkingSet(), traces.HumanBytes(w.WorkingSet()))
	fmt.Fprintf(bw, "%14s %12s %10s %15s\n", "cache", "bytes", "hit ratio", "byte hit ratio")
	for _, p := range pts {
		fmt.Fprintf(bw, "%14s %12d %10.4f %15.4f\n", traces.FormatBytes(p.CacheBytes), p.CacheBytes, p.HitRatio, p.ByteHitRatio)
	}
	return bw.Flush()
}

// ConvertTrace writes the kept requests of in to out as Common Log Format
// (stdout for "" or "-"; see WriteLogOutput); it returns the number of
// requests written and of lines read. A failed conversion leaves out as it
// was.
func ConvertTrace(stdout io.Writer, in TraceInput, f traces.Filter, out string) (n, lines int64, err error) {
	err = WriteLogOutput(stdout, out, func(w io.Writer) error {
		var line []byte
		return in.Scan(f, func(rec *traces.Record, reason string, _ bool) error {
			lines++
			if reason != "" {
				return nil
			}
			n++
			line = traces.AppendCLF(line[:0], rec)
			_, err := w.Write(line)
			return err
		})
	})
	return n, lines, err
}
