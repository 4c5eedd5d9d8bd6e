package main

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

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/traces/embedded"
)

// traceSubcommands are the subcommands of "lvslab trace"; files of this
// package append to it in their init functions (as "synth" does).
var traceSubcommands []func() *cobra.Command

func init() {
	subcommands = append(subcommands, newTraceCmd)
	traceSubcommands = append(traceSubcommands, newTraceStatsCmd, newTraceHRCCmd, newTraceConvertCmd)
}

func newTraceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trace",
		Short: "Read, characterise and convert web logs",
		Long: `Web-log tools. Logs are NCSA Common or Combined Log Format (detected per
file) or CSV/TSV through a column mapping, any of them gzip-compressed
(detected by content, not name).

By default the trace commands keep the requests of the reference model
(docs/reference-model.md, thesis §6.3.7): method GET, status 200, a byte count
greater than 0, dynamic requests ('?' or "cgi-bin") dropped. The filter flags
change that; --all keeps every line that parses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	for _, f := range traceSubcommands {
		cmd.AddCommand(f())
	}
	return cmd
}

// traceFlags are the log-format and filter flags shared by the trace
// commands (and by any command that reads a log through a traces.Filter).
type traceFlags struct {
	method, status     string
	keepDynamic        bool
	dynamicPatterns    []string
	minBytes, maxBytes string
	from, to           string
	strict             bool
	format, columns    string
	header             bool
	timeLayout         string
	dateLayout         string
	errors             int
	all                bool
}

// addTraceFlags registers the shared flags on cmd.
func addTraceFlags(cmd *cobra.Command) *traceFlags {
	tf := &traceFlags{}
	fs := cmd.Flags()
	fs.StringVar(&tf.method, "method", "GET", `keep only these methods (comma-separated); "any" keeps all`)
	fs.StringVar(&tf.status, "status", "200", `keep only these statuses (comma-separated); "any" keeps all`)
	fs.BoolVar(&tf.keepDynamic, "keep-dynamic", false, "keep dynamic requests (query string, cgi-bin, --dynamic-pattern) and flag them")
	fs.StringArrayVar(&tf.dynamicPatterns, "dynamic-pattern", nil, `a substring marking a URL dynamic besides '?' and "cgi-bin" (repeatable)`)
	fs.StringVar(&tf.minBytes, "min-bytes", "1", "keep only requests with a byte count of at least this (KiB, MiB, KB, ... allowed); 0: no bound, '-' kept")
	fs.StringVar(&tf.maxBytes, "max-bytes", "", "keep only requests of at most this many bytes")
	fs.StringVar(&tf.from, "from", "", "keep only requests at or after this time (RFC 3339, 2006-01-02, or 02/Jan/2006:15:04:05 -0700)")
	fs.StringVar(&tf.to, "to", "", "keep only requests before this time")
	fs.BoolVar(&tf.strict, "strict", false, "fail on the first line that does not parse")
	fs.StringVar(&tf.format, "format", "clf", "log format: clf (Common or Combined, detected per file), csv or tsv")
	fs.StringVar(&tf.columns, "columns", "", "column mapping for csv/tsv, e.g. host=1,date=2,time=3,url=5+6+7,status=8,bytes=9 (1-based)")
	fs.BoolVar(&tf.header, "header", false, "skip the first line of every file (a header row)")
	fs.StringVar(&tf.timeLayout, "time-layout", "", `Go time layout of the csv time column (default RFC 3339, or 15:04:05 with a date column; "unix" for epoch seconds)`)
	fs.StringVar(&tf.dateLayout, "date-layout", "", "Go time layout of the csv date column (default 2006-01-02)")
	fs.IntVar(&tf.errors, "errors", 5, "show at most this many unparsable lines (file:line: reason)")
	fs.BoolVar(&tf.all, "all", false, "keep every line that parses (any method and status, any bytes, dynamic kept); filter flags given explicitly still apply")
	return tf
}

// traceErrors collects the first few unparsable lines for the report.
type traceErrors struct {
	max   int
	shown []string
	total int
}

func (te *traceErrors) add(pe *traces.ParseError) {
	te.total++
	if len(te.shown) < te.max {
		te.shown = append(te.shown, pe.Error())
	}
}

// report writes the collected errors to w.
func (te *traceErrors) report(w io.Writer) {
	for _, s := range te.shown {
		fmt.Fprintln(w, s)
	}
	if more := te.total - len(te.shown); more > 0 && len(te.shown) > 0 {
		fmt.Fprintf(w, "... and %d more lines that do not parse\n", more)
	} else if more > 0 {
		fmt.Fprintf(w, "%d lines do not parse\n", more)
	}
}

// filter builds the traces.Filter the flags describe.
func (tf *traceFlags) filter(cmd *cobra.Command) (traces.Filter, *traceErrors, error) {
	fs := cmd.Flags()
	var f traces.Filter
	all := func(name string) bool { return tf.all && !fs.Changed(name) }

	f.Format = traces.Format{Kind: tf.format, Header: tf.header, TimeLayout: tf.timeLayout, DateLayout: tf.dateLayout}
	switch tf.format {
	case "clf", "":
		if tf.columns != "" {
			return f, nil, errors.New("--columns needs --format csv or tsv")
		}
	case "csv", "tsv":
		if tf.columns == "" {
			return f, nil, fmt.Errorf("--format %s needs --columns (e.g. url=5,bytes=9)", tf.format)
		}
		cols, err := traces.ParseColumns(tf.columns)
		if err != nil {
			return f, nil, fmt.Errorf("--columns: %w", err)
		}
		f.Format.Columns = cols
	default:
		return f, nil, fmt.Errorf("--format %q: want clf, csv or tsv", tf.format)
	}

	if m := strings.TrimSpace(tf.method); !all("method") && m != "" && !strings.EqualFold(m, "any") {
		for _, v := range strings.Split(m, ",") {
			if v = strings.TrimSpace(v); v != "" {
				f.Methods = append(f.Methods, strings.ToUpper(v))
			}
		}
	}
	if s := strings.TrimSpace(tf.status); !all("status") && s != "" && !strings.EqualFold(s, "any") {
		for _, v := range strings.Split(s, ",") {
			code, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || code < 0 || code > 999 {
				return f, nil, fmt.Errorf("--status %q: %q is not an HTTP status", tf.status, v)
			}
			f.Statuses = append(f.Statuses, code)
		}
	}
	if !all("min-bytes") && tf.minBytes != "" {
		n, err := traces.ParseBytes(tf.minBytes)
		if err != nil {
			return f, nil, fmt.Errorf("--min-bytes: %w", err)
		}
		f.MinBytes = n
	}
	if tf.maxBytes != "" {
		n, err := traces.ParseBytes(tf.maxBytes)
		if err != nil {
			return f, nil, fmt.Errorf("--max-bytes: %w", err)
		}
		f.MaxBytes = n
	}
	if f.MaxBytes > 0 && f.MinBytes > f.MaxBytes {
		return f, nil, fmt.Errorf("--min-bytes %d is above --max-bytes %d", f.MinBytes, f.MaxBytes)
	}
	f.DropDynamic = !tf.keepDynamic && !all("keep-dynamic")
	f.DynamicPatterns = tf.dynamicPatterns
	var err error
	if f.From, err = parseTraceTime("--from", tf.from); err != nil {
		return f, nil, err
	}
	if f.To, err = parseTraceTime("--to", tf.to); err != nil {
		return f, nil, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, nil, fmt.Errorf("--from %s is not before --to %s", tf.from, tf.to)
	}
	f.Strict = tf.strict
	te := &traceErrors{max: max(tf.errors, 0)}
	f.OnError = te.add
	return f, te, nil
}

func parseTraceTime(flag, s string) (time.Time, error) {
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

// traceInput names the logs to read: the files given, or the built-in trace
// when there are none.
type traceInput struct {
	paths []string
}

func (in traceInput) name() string {
	if len(in.paths) == 0 {
		name, _ := embedded.DefaultTrace()
		return name
	}
	names := make([]string, len(in.paths))
	for i, p := range in.paths {
		names[i] = filepath.Base(p)
	}
	return strings.Join(names, ",")
}

func (in traceInput) characterize(f traces.Filter) (*traces.Summary, error) {
	if len(in.paths) == 0 {
		name, data := embedded.DefaultTrace()
		return traces.CharacterizeReader(name, bytes.NewReader(data), f)
	}
	return traces.Characterize(in.paths, f)
}

func (in traceInput) load(f traces.Filter) (*traces.Workload, error) {
	if len(in.paths) == 0 {
		return traces.LoadDefault(f)
	}
	return traces.Load(in.paths, f)
}

func (in traceInput) scan(f traces.Filter, visit traces.VisitFunc) error {
	if len(in.paths) == 0 {
		name, data := embedded.DefaultTrace()
		return traces.ScanReader(name, bytes.NewReader(data), f, visit)
	}
	return traces.Scan(in.paths, f, visit)
}

const traceFileHelp = `With no FILE, the trace built into lvslab (antlr-2003.log.gz) is read.`

func newTraceStatsCmd() *cobra.Command {
	var asJSON bool
	var tf *traceFlags
	cmd := &cobra.Command{
		Use:   "stats [FILE...]",
		Short: "Characterise web logs: lines, drops, targets, working set, skew, sizes",
		Long: `Stats reads the logs in one streaming pass and prints: lines, parsed lines,
dropped lines by reason, kept requests, distinct targets and clients, bytes
transferred, working-set size (sum of distinct object sizes, the largest
logged for each), time span, status and method mix (of all parsed lines),
popularity skew (share of requests to the top 1% and 10% of targets and a
least-squares Zipf fit on log rank / log frequency over the ranks with
count >= 5, the fit trace synth --fit uses) and size percentiles.

` + traceFileHelp,
		Example: `  lvslab trace stats access.log.gz
  lvslab trace stats --json --all access.log
  lvslab trace stats --format csv --header --columns host=1,date=2,time=3,url=5+6+7,status=8,bytes=9 log20170630.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, te, err := tf.filter(cmd)
			if err != nil {
				return err
			}
			s, err := traceInput{args}.characterize(f)
			te.report(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if asJSON {
				return s.WriteJSON(cmd.OutOrStdout())
			}
			return s.WriteText(cmd.OutOrStdout())
		},
	}
	tf = addTraceFlags(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (stable snake_case keys)")
	return cmd
}

// hrcReport is the JSON output of "trace hrc".
type hrcReport struct {
	Name            string            `json:"name"`
	Requests        int               `json:"requests"`
	Targets         int               `json:"targets"`
	WorkingSetBytes int64             `json:"working_set_bytes"`
	Points          []traces.HRCPoint `json:"points"`
}

func newTraceHRCCmd() *cobra.Command {
	var sizes string
	var asJSON, asCSV bool
	var tf *traceFlags
	cmd := &cobra.Command{
		Use:   "hrc [FILE...]",
		Short: "Print the LRU hit-ratio curve (hit ratio against cache size in bytes)",
		Long: `Hrc replays the kept requests through LRU caches of several sizes and prints
the hit ratio and byte hit ratio of each, computed in one pass with Mattson
stack distances over byte-sized objects. The cache is the reference model's:
whole objects (one size per target, the largest logged), LRU by bytes, an
object larger than the cache never cached.

Sizes default to 64KiB, 128KiB, ... doubling up to the working set; at most
256 distinct sizes, whose memory (16 bytes per object and size) must fit
--memory-limit.
` + traceFileHelp,
		Example: `  lvslab trace hrc access.log.gz --sizes 1MiB,4MiB,16MiB,32MiB
  lvslab trace hrc access.log --csv > hrc.csv`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && asCSV {
				return errors.New("--json and --csv are exclusive")
			}
			f, te, err := tf.filter(cmd)
			if err != nil {
				return err
			}
			var caps []int64
			if sizes != "" {
				for _, s := range strings.Split(sizes, ",") {
					n, err := traces.ParseBytes(s)
					if err != nil {
						return fmt.Errorf("--sizes: %w", err)
					}
					if n <= 0 {
						return fmt.Errorf("--sizes: cache size %q is not positive", s)
					}
					caps = append(caps, n)
				}
				if err := checkHRCSizes(caps); err != nil {
					return err
				}
			}
			in := traceInput{args}
			w, err := in.load(f)
			te.report(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if caps == nil {
				caps = traces.DefaultHRCSizes(w.WorkingSet())
			}
			if err := checkHRCMemory(w, caps, memoryLimit(cmd)); err != nil {
				return err
			}
			pts, err := traces.HitRatioCurve(w, caps)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case asJSON:
				b, err := json.MarshalIndent(hrcReport{in.name(), len(w.Requests), len(w.Objects), w.WorkingSet(), pts}, "", "  ")
				if err != nil {
					return err
				}
				_, err = out.Write(append(b, '\n'))
				return err
			case asCSV:
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
			fmt.Fprintf(bw, "# %s: %d requests, %d targets, working set %d bytes (%s)\n", traces.Escape(in.name()), len(w.Requests), len(w.Objects), w.WorkingSet(), traces.HumanBytes(w.WorkingSet()))
			fmt.Fprintf(bw, "%14s %12s %10s %15s\n", "cache", "bytes", "hit ratio", "byte hit ratio")
			for _, p := range pts {
				fmt.Fprintf(bw, "%14s %12d %10.4f %15.4f\n", traces.FormatBytes(p.CacheBytes), p.CacheBytes, p.HitRatio, p.ByteHitRatio)
			}
			return bw.Flush()
		},
	}
	tf = addTraceFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&sizes, "sizes", "", "cache sizes, comma-separated (e.g. 1MiB,4MiB,32MiB; KiB/MiB/GiB/KB/MB suffixes)")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.BoolVar(&asCSV, "csv", false, "print CSV")
	return cmd
}

func newTraceConvertCmd() *cobra.Command {
	var out string
	var tf *traceFlags
	cmd := &cobra.Command{
		Use:   "convert [FILE...] -o OUT",
		Short: "Write the kept requests as Common Log Format (gzip if OUT ends in .gz)",
		Long: `Convert reads the logs, keeps the requests the filter flags select and writes
them, in order, as NCSA Common Log Format lines ("-o -" for standard output;
gzip-compressed when OUT ends in .gz). It normalises CSV/TSV logs (such as
SEC EDGAR's) into a form every tool reads. Requests without a time are written
at the Unix epoch, without a host as '-'.
` + traceFileHelp,
		Example: `  lvslab trace convert --format csv --header --columns host=1,date=2,time=3,url=5+6+7,status=8,bytes=9 log20170630.csv -o edgar.log.gz
  lvslab trace convert --all access.log -o -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("-o OUT is required")
			}
			if err := refuseOverwrite("trace convert", "-o", out, inputFiles("", args...)); err != nil {
				return err
			}
			f, te, err := tf.filter(cmd)
			if err != nil {
				return err
			}
			n, lines, err := convertTrace(cmd, traceInput{args}, f, out)
			te.report(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if out != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d of %d lines to %s\n", n, lines, out)
			}
			return nil
		},
	}
	tf = addTraceFlags(cmd)
	cmd.Flags().StringVarP(&out, "output", "o", "", `output file ("-" for standard output; .gz: gzip)`)
	return cmd
}

// convertTrace writes the kept requests of in to out; it returns the number
// of requests written and of lines read. A failed conversion leaves out as
// it was.
func convertTrace(cmd *cobra.Command, in traceInput, f traces.Filter, out string) (n, lines int64, err error) {
	err = writeLogOutput(cmd.OutOrStdout(), out, func(w io.Writer) error {
		var line []byte
		return in.scan(f, func(rec *traces.Record, reason string, _ bool) error {
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
