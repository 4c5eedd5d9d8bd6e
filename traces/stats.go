package traces

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lvslab/lvslab/models"
)

// Summary characterises a log under a filter. Its JSON keys are stable
// (snake_case) and its maps encode with sorted keys, so equal inputs give
// equal bytes.
type Summary struct {
	Name    string           `json:"name"`    // base names of the files, comma-separated
	Format  string           `json:"format"`  // detected formats ("combined", "clf", "csv", "tsv"; several joined with '+')
	Lines   int64            `json:"lines"`   // lines read (a skipped header row is not a line)
	Parsed  int64            `json:"parsed"`  // lines that parse
	Errors  int64            `json:"errors"`  // lines that do not parse (= dropped["malformed"])
	Dropped map[string]int64 `json:"dropped"` // dropped lines by reason; lines = kept + Σ dropped
	Kept    int64            `json:"kept"`    // requests kept by the filter
	Dynamic int64            `json:"dynamic"` // kept requests that are dynamic

	Targets          int   `json:"targets"`           // distinct targets among kept requests
	Clients          int   `json:"clients"`           // distinct client hosts among kept requests
	BytesTransferred int64 `json:"bytes_transferred"` // Σ bytes of kept requests ('-' = 0)
	WorkingSetBytes  int64 `json:"working_set_bytes"` // Σ distinct objects' sizes (largest logged each)

	First       string  `json:"first"`        // earliest kept request time, RFC 3339; "" if no times
	Last        string  `json:"last"`         // latest kept request time
	SpanSeconds float64 `json:"span_seconds"` // last − first

	Status  map[string]int64 `json:"status"`  // status mix of all parsed lines
	Methods map[string]int64 `json:"methods"` // method mix of all parsed lines (rare ones under "other")

	Top1PctShare  float64 `json:"top1pct_share"`  // share of kept requests to the most popular 1% of targets
	Top10PctShare float64 `json:"top10pct_share"` // same for the top 10%

	// Zipf is models.FitZipf on the kept requests' per-target counts (the
	// estimator "lvslab trace synth --fit" uses too): least squares over
	// the head of ranks with count ≥ models.FitZipfMinCount. When that
	// head has fewer than models.FitZipfMinPoints points, Alpha and R2
	// are 0 and Ranks and Points say how little there was.
	Zipf models.ZipfFit `json:"zipf"`

	ObjectSize  Percentiles `json:"object_size"`  // sizes of distinct objects
	RequestSize Percentiles `json:"request_size"` // object sizes weighted by requests
}

// Percentiles of a size distribution, in bytes (nearest-rank).
type Percentiles struct {
	Min  int64   `json:"min"`
	P50  int64   `json:"p50"`
	P90  int64   `json:"p90"`
	P99  int64   `json:"p99"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
}

// maxMethods bounds the method mix: further distinct methods count as "other".
const maxMethods = 32

// stats accumulates a Summary in one pass; memory grows with the number of
// distinct targets and clients, not with the number of lines.
type stats struct {
	s       Summary
	objects map[string]int32
	count   []int64
	size    []int64
	clients map[string]struct{}
	first   time.Time
	last    time.Time
	statusN map[int]int64
	methods map[string]*int64
	// otherMethods counts the lines whose method is not among the first
	// maxMethods distinct ones.
	otherMethods int64
}

// Characterize reads the named logs in one streaming pass and summarises
// them under filter f.
func Characterize(paths []string, f Filter) (*Summary, error) {
	srcs := make([]source, len(paths))
	names := make([]string, len(paths))
	for i, p := range paths {
		srcs[i] = source{name: p}
		names[i] = filepath.Base(p)
	}
	return characterize(strings.Join(names, ","), srcs, f)
}

// CharacterizeReader is Characterize on one log read from r.
func CharacterizeReader(name string, r io.Reader, f Filter) (*Summary, error) {
	return characterize(name, []source{{name: name, r: r}}, f)
}

func characterize(name string, srcs []source, f Filter) (*Summary, error) {
	st := &stats{
		s:       Summary{Name: name, Dropped: map[string]int64{}, Methods: map[string]int64{}},
		objects: map[string]int32{},
		clients: map[string]struct{}{},
		statusN: map[int]int64{},
		methods: map[string]*int64{},
	}
	kinds := map[string]bool{}
	onKind := func(_, kind string) {
		if kind != "" {
			kinds[kind] = true
		}
	}
	if err := scan(srcs, f, st.visit, onKind); err != nil {
		return nil, err
	}
	st.s.Format = strings.Join(sortedKeys(kinds), "+")
	st.finish()
	return &st.s, nil
}

func (st *stats) visit(rec *Record, reason string, dynamic bool) error {
	s := &st.s
	s.Lines++
	if rec == nil {
		s.Errors++
		s.Dropped[DropMalformed]++
		return nil
	}
	s.Parsed++
	st.statusN[rec.Status]++
	// rec.Method aliases the reader's buffer: it may be used to look a map
	// up, but never in an assignment (which would store it as the key).
	if n, ok := st.methods[rec.Method]; ok {
		*n++
	} else if len(st.methods) < maxMethods {
		st.methods[strings.Clone(rec.Method)] = new(int64(1))
	} else {
		st.otherMethods++
	}
	if reason != "" {
		s.Dropped[reason]++
		return nil
	}
	s.Kept++
	if dynamic {
		s.Dynamic++
	}
	if rec.Bytes > 0 {
		s.BytesTransferred += rec.Bytes
	}
	target := Target(rec.URL)
	obj, ok := st.objects[target]
	if !ok {
		obj = int32(len(st.count))
		st.objects[strings.Clone(target)] = obj
		st.count = append(st.count, 0)
		st.size = append(st.size, 0)
	}
	st.count[obj]++
	if rec.Bytes > st.size[obj] {
		st.size[obj] = rec.Bytes
	}
	if _, ok := st.clients[rec.Host]; !ok {
		st.clients[strings.Clone(rec.Host)] = struct{}{}
	}
	if t := rec.Time; !t.IsZero() {
		if st.first.IsZero() || t.Before(st.first) {
			st.first = t
		}
		if st.last.IsZero() || t.After(st.last) {
			st.last = t
		}
	}
	return nil
}

func (st *stats) finish() {
	s := &st.s
	s.Targets = len(st.count)
	s.Clients = len(st.clients)
	for _, v := range st.size {
		s.WorkingSetBytes += v
	}
	if !st.first.IsZero() {
		s.First = st.first.Format(time.RFC3339)
		s.Last = st.last.Format(time.RFC3339)
		s.SpanSeconds = spanSeconds(st.first, st.last)
	}
	for m, n := range st.methods {
		s.Methods[m] = *n
	}
	if st.otherMethods > 0 {
		s.Methods["other"] += st.otherMethods
	}
	s.Status = make(map[string]int64, len(st.statusN))
	for code, n := range st.statusN {
		s.Status[strconv.Itoa(code)] = n
	}
	s.Top1PctShare = topShare(st.count, 0.01, s.Kept)
	s.Top10PctShare = topShare(st.count, 0.10, s.Kept)
	counts := make([]int, len(st.count))
	for i, v := range st.count {
		counts[i] = int(v)
	}
	// The error only says there were too few points, which the fit's
	// Points field already records.
	s.Zipf, _ = models.FitZipf(counts)
	s.ObjectSize = sizePercentiles(st.size, nil)
	s.RequestSize = sizePercentiles(st.size, st.count)
	// Rounded so that the JSON is the same bytes on every platform.
	for _, v := range []*float64{&s.Top1PctShare, &s.Top10PctShare, &s.Zipf.Alpha, &s.Zipf.R2,
		&s.ObjectSize.Mean, &s.RequestSize.Mean, &s.SpanSeconds} {
		*v = round6(*v)
	}
}

// spanSeconds returns last − first in seconds, also beyond the 292 years a
// time.Duration (and Time.Sub) holds: logs may be dated from year 0 to 9999.
func spanSeconds(first, last time.Time) float64 {
	if d := last.Sub(first); d < math.MaxInt64 {
		return d.Seconds()
	}
	return float64(last.Unix()-first.Unix()) + float64(last.Nanosecond()-first.Nanosecond())/1e9
}

// formatSpan formats a span in seconds as time.Duration does ("1h2m3s"),
// also beyond a Duration's range, in whole seconds there.
func formatSpan(sec float64) string {
	if sec < float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(sec * float64(time.Second)).String()
	}
	s := int64(sec)
	return fmt.Sprintf("%dh%dm%ds", s/3600, s/60%60, s%60)
}

// round6 rounds x to 6 decimal places.
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// topShare returns the share of total requests that go to the most popular
// ceil(frac × targets) targets.
func topShare(count []int64, frac float64, total int64) float64 {
	if len(count) == 0 || total == 0 {
		return 0
	}
	c := append([]int64(nil), count...)
	sort.Slice(c, func(i, j int) bool { return c[i] > c[j] })
	k := int(math.Ceil(frac * float64(len(c))))
	var sum int64
	for _, v := range c[:k] {
		sum += v
	}
	return float64(sum) / float64(total)
}

// sizePercentiles returns nearest-rank percentiles of sizes, each size
// weighted by weight[i] (nil: weight 1).
func sizePercentiles(sizes, weight []int64) Percentiles {
	if len(sizes) == 0 {
		return Percentiles{}
	}
	idx := make([]int, len(sizes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sizes[idx[a]] < sizes[idx[b]] })
	w := func(i int) int64 {
		if weight == nil {
			return 1
		}
		return weight[i]
	}
	var total int64
	var sum float64
	for _, i := range idx {
		total += w(i)
		sum += float64(sizes[i]) * float64(w(i))
	}
	at := func(p float64) int64 {
		rank := int64(math.Ceil(p * float64(total)))
		if rank < 1 {
			rank = 1
		}
		var cum int64
		for _, i := range idx {
			cum += w(i)
			if cum >= rank {
				return sizes[i]
			}
		}
		return sizes[idx[len(idx)-1]]
	}
	return Percentiles{
		Min: sizes[idx[0]], P50: at(0.50), P90: at(0.90), P99: at(0.99),
		Max: sizes[idx[len(idx)-1]], Mean: sum / float64(total),
	}
}

// WriteJSON writes s as indented JSON followed by a newline (the format of
// "lvslab trace stats --json").
func (s *Summary) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes s as aligned text.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-22s "+format+"\n", append([]any{label + ":"}, args...)...)
	}
	p("trace", "%s (%s)", Escape(s.Name), Escape(s.Format))
	p("lines", "%d", s.Lines)
	p("parsed", "%d", s.Parsed)
	p("errors", "%d", s.Errors)
	for _, r := range sortedKeys(s.Dropped) {
		p("dropped "+r, "%d", s.Dropped[r])
	}
	p("kept", "%d (%s of lines; %d dynamic)", s.Kept, pct(s.Kept, s.Lines), s.Dynamic)
	p("targets", "%d", s.Targets)
	p("clients", "%d", s.Clients)
	p("bytes transferred", "%d (%s)", s.BytesTransferred, HumanBytes(s.BytesTransferred))
	p("working set", "%d (%s)", s.WorkingSetBytes, HumanBytes(s.WorkingSetBytes))
	if s.First != "" {
		p("time span", "%s .. %s (%s)", s.First, s.Last, formatSpan(s.SpanSeconds))
	}
	p("status mix", "%s", mix(s.Status, s.Parsed))
	p("method mix", "%s", mix(s.Methods, s.Parsed))
	p("top 1% targets", "%.1f%% of requests", 100*s.Top1PctShare)
	p("top 10% targets", "%.1f%% of requests", 100*s.Top10PctShare)
	if s.Zipf.Points < models.FitZipfMinPoints {
		p("zipf alpha", "n/a (too few ranks with count >= %d)", models.FitZipfMinCount)
	} else {
		p("zipf alpha", "%.3f (R² %.3f over ranks 1-%d, %d points)", s.Zipf.Alpha, s.Zipf.R2, s.Zipf.Ranks, s.Zipf.Points)
	}
	ps := func(q Percentiles) string {
		return fmt.Sprintf("min %d, p50 %d, p90 %d, p99 %d, max %d, mean %.0f", q.Min, q.P50, q.P90, q.P99, q.Max, q.Mean)
	}
	p("object size (bytes)", "%s", ps(s.ObjectSize))
	p("request size (bytes)", "%s", ps(s.RequestSize))
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// mix formats counts as "200 76.3%, 304 21.6%, ..." by decreasing count.
func mix(m map[string]int64, total int64) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", Escape(k), pct(m[k], total))
	}
	return strings.Join(parts, ", ")
}
