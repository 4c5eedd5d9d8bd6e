package load

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/testbed/backend"
)

// Result is a load run: counts, response times, a time series, the back
// ends' share and every request's Record. Times are wall times (the back
// ends' model time is wall time × their time scale) measured from the
// run's start, when the first requests were sent.
type Result struct {
	Config Config // resolved

	// Requests = OK + Failed + Unsent always; Failed = Σ Failures.
	Requests int
	OK       int            // status 200 and the whole body
	Failed   int            // sent and failed, by reason in Failures
	Unsent   int            // not sent when the run ended (Duration, cancel)
	Failures map[string]int // failed requests by reason (Reason*, "status_NNN")
	Retries  int            // requests resent once after a kept-alive connection closed under them

	// Makespan is the time of the last successful response; End the time
	// the last request finished, successfully or not.
	Makespan, End time.Duration
	Bytes         int64   // body bytes of the successful responses
	Hits          int     // successful responses marked X-Lvslab-Cache: hit
	ThroughputRPS float64 // OK / Makespan

	// Response times (Record.Response: due time to last byte) of the
	// successful requests: nearest-rank percentiles, mean, and a 100-point
	// CDF. Latency* are the same from sending to the last byte.
	P50, P95, P99, Mean    time.Duration
	LatencyP50, LatencyP99 time.Duration
	CDF                    []CDFPoint

	// Series has one sample per Config.Interval over [0, End].
	Series []Sample

	// Backends are the load reports of Config.LoadURLs, read before and
	// after the run, in that order.
	Backends []Backend

	// Records holds every request's outcome, in request order.
	Records []Record
}

// CDFPoint is one point of a cumulative distribution.
type CDFPoint struct {
	Time     time.Duration
	Fraction float64
}

// Sample is one interval of the time series.
type Sample struct {
	Start     time.Duration
	Completed int // successful responses in the interval
	Failed    int // failures in the interval
	Hits      int // successful responses that hit a cache
	InFlight  int // requests sent in or before the interval and finished after it
}

// Backend is one back end's share of the run: the differences between its
// load reports after and before the run.
type Backend struct {
	URL           string
	Before, After backend.Load
	Err           string // why a report could not be read ("" if both were)

	Requests, Hits     int64
	Bytes              int64
	HitRatio           float64
	CPUUtil, DiskUtil  float64       // busy time / (After.Time − Before.Time)
	CPUBusy, DiskBusy  time.Duration // during the run
	Span               time.Duration // After.Time − Before.Time, on the back end's clock
	TimeScale          float64       // the back end's time scale
	CacheBytes         int64
	CachePolicy, Trace string
}

// Check verifies the accounting: every request is ok, failed with a
// reason and an error, or unsent.
func (r *Result) Check() error {
	if r.OK+r.Failed+r.Unsent != r.Requests || len(r.Records) != r.Requests {
		return fmt.Errorf("load: %d requests (%d records) != %d ok + %d failed + %d unsent", r.Requests, len(r.Records), r.OK, r.Failed, r.Unsent)
	}
	sum := 0
	for _, n := range r.Failures {
		sum += n
	}
	if sum != r.Failed {
		return fmt.Errorf("load: failures by reason sum to %d, not %d", sum, r.Failed)
	}
	for i := range r.Records {
		rec := &r.Records[i]
		if rec.Sent >= 0 && rec.Reason != "" && rec.Err == "" {
			return fmt.Errorf("load: request %d failed (%s) without an error", i, rec.Reason)
		}
	}
	return nil
}

// WriteSummary writes a person's account of the run, in wall time: the
// counts, rate and response times, the failures by reason with the first
// one's error, and the load reports that could not be read.
func (r *Result) WriteSummary(w io.Writer) {
	c := &r.Config
	proto := "HTTP/1.1 keep-alive"
	if c.HTTP10 {
		proto = "HTTP/1.0"
	}
	fmt.Fprintf(w, "load: %d requests to %s (%s, %s, concurrency %d): %d ok, %d failed, %d unsent in %v; %.0f req/s, response p50 %v p99 %v (wall time)\n",
		r.Requests, c.URL, c.Mode, proto, c.Concurrency, r.OK, r.Failed, r.Unsent, r.End.Round(time.Millisecond),
		r.ThroughputRPS, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond))
	if r.Failed > 0 {
		var parts []string
		for _, k := range r.Reasons() {
			parts = append(parts, k+" "+strconv.Itoa(r.Failures[k]))
		}
		first := ""
		for i := range r.Records {
			if rec := &r.Records[i]; rec.Sent >= 0 && rec.Reason != "" {
				first = fmt.Sprintf("; first: request %d (%s): %s", i, c.Workload.Objects[rec.Object].Target, rec.Err)
				break
			}
		}
		fmt.Fprintf(w, "load: failures: %s%s\n", strings.Join(parts, ", "), first)
	}
	for _, b := range r.Backends {
		if b.Err != "" {
			fmt.Fprintf(w, "load: %s: %s\n", b.URL, b.Err)
		}
	}
}

func (r *Result) summarize(g *gen, end time.Duration) {
	r.Records = g.recs
	r.Requests = len(g.recs)
	r.Retries = int(g.retries.Load())
	r.Failures = map[string]int{}
	var responses, latencies []time.Duration
	for i := range g.recs {
		rec := &g.recs[i]
		switch {
		case rec.Sent < 0:
			r.Unsent++
			continue
		case rec.Reason != "":
			r.Failed++
			r.Failures[rec.Reason]++
		default:
			r.OK++
			r.Bytes += rec.Bytes
			if rec.Hit {
				r.Hits++
			}
			r.Makespan = max(r.Makespan, rec.Done)
			responses = append(responses, rec.Response())
			latencies = append(latencies, rec.Latency())
		}
		r.End = max(r.End, rec.Done)
	}
	if r.Makespan > 0 {
		r.ThroughputRPS = float64(r.OK) / r.Makespan.Seconds()
	}
	if len(responses) > 0 {
		slices.Sort(responses)
		slices.Sort(latencies)
		r.P50, r.P95, r.P99 = quantile(responses, 0.50), quantile(responses, 0.95), quantile(responses, 0.99)
		r.LatencyP50, r.LatencyP99 = quantile(latencies, 0.50), quantile(latencies, 0.99)
		var sum float64
		for _, d := range responses {
			sum += float64(d)
		}
		r.Mean = time.Duration(math.Round(sum / float64(len(responses))))
		r.CDF = make([]CDFPoint, 100)
		for k := range r.CDF {
			p := float64(k+1) / 100
			r.CDF[k] = CDFPoint{Time: quantile(responses, p), Fraction: p}
		}
	}
	r.series(g.cfg.Interval, end)
}

// series builds the time series from the records.
func (r *Result) series(interval, end time.Duration) {
	n := int(end/interval) + 1
	r.Series = make([]Sample, n)
	inflight := make([]int, n+1) // +1 at the sending bucket, -1 at the finishing one
	bucket := func(t time.Duration) int { return min(int(t/interval), n-1) }
	for i := range r.Records {
		rec := &r.Records[i]
		if rec.Sent < 0 {
			continue
		}
		b := bucket(rec.Done)
		if rec.Reason == "" {
			r.Series[b].Completed++
			if rec.Hit {
				r.Series[b].Hits++
			}
		} else {
			r.Series[b].Failed++
		}
		inflight[bucket(rec.Sent)]++
		inflight[b]--
	}
	level := 0
	for b := range r.Series {
		level += inflight[b]
		r.Series[b].Start = time.Duration(b) * interval
		r.Series[b].InFlight = level
	}
}

// quantile is the nearest-rank p-quantile of sorted.
func quantile(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// readLoads reads every load report: before the run (prev nil) or after
// it, completing prev.
func (g *gen) readLoads(ctx context.Context, prev []Backend) []Backend {
	if len(g.cfg.LoadURLs) == 0 {
		return nil
	}
	out := prev
	if out == nil {
		out = make([]Backend, len(g.cfg.LoadURLs))
	}
	for i, u := range g.cfg.LoadURLs {
		b := &out[i]
		b.URL = u
		l, err := g.fetchLoad(ctx, u)
		switch {
		case err != nil && prev == nil:
			b.Err = "before the run: " + err.Error()
		case err != nil:
			b.Err = joinErr(b.Err, "after the run: "+err.Error())
		case prev == nil:
			b.Before = l
		default:
			b.After = l
			b.derive()
		}
	}
	return out
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// derive computes the run's share from the two reports.
func (b *Backend) derive() {
	a := &b.After
	b.TimeScale, b.CacheBytes, b.CachePolicy, b.Trace = a.Config.TimeScale, a.Config.CacheBytes, a.Config.CachePolicy, a.Config.Trace
	if b.Err != "" {
		return // no report from before the run: no differences
	}
	p := &b.Before
	b.Requests, b.Hits, b.Bytes = a.Requests-p.Requests, a.Hits-p.Hits, a.Bytes-p.Bytes
	b.CPUBusy, b.DiskBusy = a.CPUBusy-p.CPUBusy, a.DiskBusy-p.DiskBusy
	b.Span = a.Time.Sub(p.Time)
	if b.Requests > 0 {
		b.HitRatio = float64(b.Hits) / float64(b.Requests)
	}
	if b.Span > 0 {
		b.CPUUtil = float64(b.CPUBusy) / float64(b.Span)
		b.DiskUtil = float64(b.DiskBusy) / float64(b.Span)
	}
}

// fetchLoad reads one load report with an HTTP/1.0 GET.
func (g *gen) fetchLoad(ctx context.Context, raw string) (backend.Load, error) {
	var l backend.Load
	addr, target, err := splitURL(raw)
	if err != nil {
		return l, err
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ConnectTimeout+g.cfg.Timeout)
	defer cancel()
	c, err := g.dialer(ctx, "tcp", addr)
	if err != nil {
		return l, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.0\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return l, err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return l, fmt.Errorf("reading %s: %w", raw, err)
	}
	var body io.Reader = br
	status := 0
	if len(line) >= 12 {
		status = atoi3([]byte(line[9:12]))
	}
	var dummy response
	if _, _, err := readHeaders(br, &dummy); err != nil {
		return l, fmt.Errorf("reading %s: %w", raw, err)
	}
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return l, fmt.Errorf("reading %s: %w", raw, err)
	}
	if status != 200 {
		return l, fmt.Errorf("%s: status %d", raw, status)
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%s: not a load report: %w", raw, err)
	}
	return l, nil
}

// RecordsHeader is the column list of WriteRecords.
var RecordsHeader = []string{"request", "target", "arrival_ns", "sent_ns", "done_ns", "status", "bytes", "hit", "outcome", "error"}

// WriteRecords writes every request's outcome as CSV: one row per
// request, in request order; outcome is "ok", "unsent" or the failure's
// reason, and a request never sent has empty times.
func WriteRecords(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(RecordsHeader); err != nil {
		return err
	}
	objs := r.Config.Workload.Objects
	row := make([]string, len(RecordsHeader))
	d := func(t time.Duration) string { return strconv.FormatInt(int64(t), 10) }
	for i := range r.Records {
		rec := &r.Records[i]
		row[0], row[1] = strconv.Itoa(i), objs[rec.Object].Target
		if rec.Sent < 0 {
			row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] = "", "", "", "", "", "", "unsent", ""
		} else {
			row[2], row[3], row[4] = d(rec.Arrival), d(rec.Sent), d(rec.Done)
			row[5], row[6], row[7] = strconv.Itoa(rec.Status), strconv.FormatInt(rec.Bytes, 10), strconv.FormatBool(rec.Hit)
			row[8], row[9] = rec.Reason, rec.Err
			if rec.Reason == "" {
				row[8] = "ok"
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Reasons returns the failure reasons of r, sorted.
func (r *Result) Reasons() []string { return slices.Sorted(maps.Keys(r.Failures)) }
