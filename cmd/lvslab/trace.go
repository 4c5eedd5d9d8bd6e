package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lvslab/lvslab/traces"
	"github.com/lvslab/lvslab/workbench"
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

// addTraceFlags registers the shared flags on cmd.
func addTraceFlags(cmd *cobra.Command) *workbench.TraceFilter {
	tf := &workbench.TraceFilter{}
	fs := cmd.Flags()
	fs.StringVar(&tf.Method, "method", "GET", `keep only these methods (comma-separated); "any" keeps all`)
	fs.StringVar(&tf.Status, "status", "200", `keep only these statuses (comma-separated); "any" keeps all`)
	fs.BoolVar(&tf.KeepDynamic, "keep-dynamic", false, "keep dynamic requests (query string, cgi-bin, --dynamic-pattern) and flag them")
	fs.StringArrayVar(&tf.DynamicPatterns, "dynamic-pattern", nil, `a substring marking a URL dynamic besides '?' and "cgi-bin" (repeatable)`)
	fs.StringVar(&tf.MinBytes, "min-bytes", "1", "keep only requests with a byte count of at least this (KiB, MiB, KB, ... allowed); 0: no bound, '-' kept")
	fs.StringVar(&tf.MaxBytes, "max-bytes", "", "keep only requests of at most this many bytes")
	fs.StringVar(&tf.From, "from", "", "keep only requests at or after this time (RFC 3339, 2006-01-02, or 02/Jan/2006:15:04:05 -0700)")
	fs.StringVar(&tf.To, "to", "", "keep only requests before this time")
	fs.BoolVar(&tf.Strict, "strict", false, "fail on the first line that does not parse")
	fs.StringVar(&tf.Format, "format", "clf", "log format: clf (Common or Combined, detected per file), csv or tsv")
	fs.StringVar(&tf.Columns, "columns", "", "column mapping for csv/tsv, e.g. host=1,date=2,time=3,url=5+6+7,status=8,bytes=9 (1-based)")
	fs.BoolVar(&tf.Header, "header", false, "skip the first line of every file (a header row)")
	fs.StringVar(&tf.TimeLayout, "time-layout", "", `Go time layout of the csv time column (default RFC 3339, or 15:04:05 with a date column; "unix" for epoch seconds)`)
	fs.StringVar(&tf.DateLayout, "date-layout", "", "Go time layout of the csv date column (default 2006-01-02)")
	fs.IntVar(&tf.Errors, "errors", 5, "show at most this many unparsable lines (file:line: reason)")
	fs.BoolVar(&tf.All, "all", false, "keep every line that parses (any method and status, any bytes, dynamic kept); filter flags given explicitly still apply")
	return tf
}

const traceFileHelp = `With no FILE, the trace built into lvslab (antlr-2003.log.gz) is read.`

func newTraceStatsCmd() *cobra.Command {
	var asJSON bool
	var tf *workbench.TraceFilter
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
			f, te, err := tf.Filter(cmd.Flags().Changed)
			if err != nil {
				return err
			}
			s, err := workbench.TraceInput{Paths: args}.Characterize(f)
			te.Report(cmd.ErrOrStderr())
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

func newTraceHRCCmd() *cobra.Command {
	var sizes string
	var asJSON, asCSV bool
	var tf *workbench.TraceFilter
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
			f, te, err := tf.Filter(cmd.Flags().Changed)
			if err != nil {
				return err
			}
			var caps []int64
			if sizes != "" {
				if caps, err = workbench.ParseHRCSizes(sizes); err != nil {
					return err
				}
			}
			in := workbench.TraceInput{Paths: args}
			w, err := in.Load(f)
			te.Report(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if caps == nil {
				caps = traces.DefaultHRCSizes(w.WorkingSet())
			}
			if err := workbench.CheckHRCMemory(w, caps, memoryLimit(cmd)); err != nil {
				return err
			}
			pts, err := traces.HitRatioCurve(w, caps)
			if err != nil {
				return err
			}
			format := "text"
			if asJSON {
				format = "json"
			} else if asCSV {
				format = "csv"
			}
			return workbench.WriteHRC(cmd.OutOrStdout(), format, in.Name(), w, pts)
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
	var tf *workbench.TraceFilter
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
			if err := workbench.RefuseOverwrite("trace convert", "-o", out, workbench.InputFiles("", args...)); err != nil {
				return err
			}
			f, te, err := tf.Filter(cmd.Flags().Changed)
			if err != nil {
				return err
			}
			n, lines, err := workbench.ConvertTrace(cmd.OutOrStdout(), workbench.TraceInput{Paths: args}, f, out)
			te.Report(cmd.ErrOrStderr())
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
