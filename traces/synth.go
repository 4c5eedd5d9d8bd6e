package traces

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/lvslab/lvslab/models"
)

// SynthModel describes a synthetic web workload: which targets exist, how
// big they are, how often and in which order they are requested, by whom
// and when. Synthesize writes it as a Common Log Format log and
// SynthWorkload builds the same trace as a Workload directly.
//
// Every field's zero value means its default (see Resolved); the fields
// whose zero is a meaningful value (WorkingSet, Cover, TemporalLocality,
// DynamicShare) default to zero. One model and seed always give the same
// trace, byte for byte.
//
// # The request process
//
// Targets are numbered by popularity rank 0..Targets-1 and each has one
// size, drawn once from Sizes. Request i picks its target in two steps:
// with probability TemporalLocality it re-references the target of one of
// the previous LocalityWindow requests, chosen uniformly (an LRU-stack
// model of temporal locality); otherwise it draws a rank from a Zipf law
// with exponent Alpha. Copying a uniformly chosen recent request leaves
// every target's long-run request share at its Zipf probability, so Alpha
// keeps its meaning while short-range re-references become more common.
// With probability DynamicShare the request is dynamic (its URL gets a
// query string, so the reference filter drops it). The client is uniform
// over Clients hosts, and arrivals are a Poisson process of Rate requests
// per second from Start, logged at one-second resolution.
//
// Each random element has its own RNG stream (math/rand/v2 PCG with Seed
// and a fixed stream number), so changing, say, DynamicShare or Clients
// does not change the sizes or the target sequence.
type SynthModel struct {
	// Name names the workload (Workload.Name); default "synth".
	Name string `json:"name" yaml:"name"`

	// Seed seeds every random stream.
	Seed uint64 `json:"seed" yaml:"seed"`

	// Requests is the number of log lines (static and dynamic requests);
	// default 100,000.
	Requests int `json:"requests" yaml:"requests"`

	// Targets is the number of distinct targets in the population;
	// default 10,000.
	Targets int `json:"targets" yaml:"targets"`

	// Alpha is the Zipf exponent of target popularity, ≥ 0; default 0.8
	// (Breslau et al., INFOCOM 1999, find 0.64-0.83 in web traces). Zero
	// means the default; ask for uniform popularity with a tiny value
	// such as 1e-9.
	Alpha float64 `json:"alpha" yaml:"alpha"`

	// Sizes is the distribution of target sizes in bytes; the zero value
	// means models.DefaultSizeDist (SURGE: lognormal body, Pareto tail).
	// Drawn sizes are rounded to whole bytes, at least 1 and at most
	// MaxSynthSize.
	Sizes models.SizeDist `json:"sizes" yaml:"sizes"`

	// WorkingSet, when > 0, rescales the drawn sizes so that the sizes of
	// all Targets targets sum to exactly this many bytes (the working set
	// of the trace when every target is requested, see Cover). 0 keeps
	// the sizes as drawn.
	WorkingSet int64 `json:"working_set" yaml:"working_set"`

	// Cover makes every target appear in at least one static request:
	// targets the request process never picked replace requests for
	// targets requested more than once, at evenly spread positions.
	// Generation then draws the target sequence three times (a count, a
	// placement and the output pass). It fails if there are fewer static
	// requests than targets.
	Cover bool `json:"cover" yaml:"cover"`

	// TemporalLocality is the probability, in [0,1), that a request
	// re-references the target of one of the previous LocalityWindow
	// requests instead of drawing from the Zipf law.
	TemporalLocality float64 `json:"temporal_locality" yaml:"temporal_locality"`

	// LocalityWindow is the number of previous requests a re-reference
	// chooses from; default 100.
	LocalityWindow int `json:"locality_window" yaml:"locality_window"`

	// DynamicShare is the fraction, in [0,1), of requests that are dynamic.
	// A dynamic request logs its target's path and size with a query
	// string ("?q=N"), so it is what ReferenceFilter drops as dynamic.
	DynamicShare float64 `json:"dynamic_share" yaml:"dynamic_share"`

	// Clients is the number of client hosts (10.0.0.1, 10.0.0.2, ...);
	// default 1,000; at most MaxSynthClients.
	Clients int `json:"clients" yaml:"clients"`

	// Rate is the mean arrival rate in requests per second (Poisson
	// arrivals); default 10.
	Rate float64 `json:"rate" yaml:"rate"`

	// Start is the time of the first request; default 2000-03-01 00:00:00
	// UTC. The log's time zone is Start's. Every request must be logged
	// within the years 0000-9999 (four-digit years) and within 292 years
	// of Start (a Workload's times are time.Durations): Validate refuses a
	// model whose mean span, (Requests-1)/Rate, does not fit, and
	// generation fails at the first request that comes later.
	Start time.Time `json:"start" yaml:"start"`
}

// Defaults of SynthModel, and its limits.
const (
	DefaultSynthRequests       = 100_000
	DefaultSynthTargets        = 10_000
	DefaultSynthAlpha          = 0.8
	DefaultSynthLocalityWindow = 100
	DefaultSynthClients        = 1_000
	DefaultSynthRate           = 10.0

	MaxSynthClients = 1<<24 - 2 // client hosts are 10.x.y.z
	MaxSynthSize    = 1 << 40   // largest target size, bytes
	maxSynthWindow  = 1 << 20
)

// DefaultSynthStart is the default time of the first request.
var DefaultSynthStart = time.Date(2000, time.March, 1, 0, 0, 0, 0, time.UTC)

// Stream numbers of the RNG streams (rand.NewPCG(Seed, stream)).
const (
	synthStreamSizes = 1 + iota
	synthStreamPopularity
	synthStreamLocality
	synthStreamDynamic
	synthStreamClients
	synthStreamArrivals
)

// Resolved returns m with every defaulted zero field set to its default.
func (m SynthModel) Resolved() SynthModel {
	if m.Name == "" {
		m.Name = "synth"
	}
	if m.Requests == 0 {
		m.Requests = DefaultSynthRequests
	}
	if m.Targets == 0 {
		m.Targets = DefaultSynthTargets
	}
	if m.Alpha == 0 {
		m.Alpha = DefaultSynthAlpha
	}
	if m.Sizes == (models.SizeDist{}) {
		m.Sizes = models.DefaultSizeDist()
	}
	if m.LocalityWindow == 0 {
		m.LocalityWindow = DefaultSynthLocalityWindow
	}
	if m.Clients == 0 {
		m.Clients = DefaultSynthClients
	}
	if m.Rate == 0 {
		m.Rate = DefaultSynthRate
	}
	if m.Start.IsZero() {
		m.Start = DefaultSynthStart
	}
	return m
}

// Validate reports the first field of the resolved model that is out of
// range, by its YAML name.
func (m SynthModel) Validate() error {
	m = m.Resolved()
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("traces: synth model: %s = %v, want %s", field, v, want)
	}
	switch {
	case m.Requests < 1:
		return bad("requests", m.Requests, ">= 1")
	case m.Targets < 1 || m.Targets > models.MaxZipfN:
		return bad("targets", m.Targets, fmt.Sprintf("1..%d", models.MaxZipfN))
	case !(m.Alpha >= 0) || math.IsInf(m.Alpha, 1):
		return bad("alpha", m.Alpha, "a finite number >= 0")
	case m.WorkingSet < 0:
		return bad("working_set", m.WorkingSet, ">= 0 bytes (0 = sizes as drawn)")
	case m.WorkingSet > 0 && m.WorkingSet < int64(m.Targets):
		return bad("working_set", m.WorkingSet, fmt.Sprintf("at least 1 byte per target (%d)", m.Targets))
	case m.WorkingSet > 0 && m.WorkingSet/int64(m.Targets) >= MaxSynthSize:
		return bad("working_set", m.WorkingSet, fmt.Sprintf("less than %d bytes per target", int64(MaxSynthSize)))
	case !(m.TemporalLocality >= 0 && m.TemporalLocality < 1):
		return bad("temporal_locality", m.TemporalLocality, "0 <= p < 1")
	case m.LocalityWindow < 1 || m.LocalityWindow > maxSynthWindow:
		return bad("locality_window", m.LocalityWindow, fmt.Sprintf("1..%d requests", maxSynthWindow))
	case !(m.DynamicShare >= 0 && m.DynamicShare < 1):
		return bad("dynamic_share", m.DynamicShare, "0 <= share < 1")
	case m.Clients < 1 || m.Clients > MaxSynthClients:
		return bad("clients", m.Clients, fmt.Sprintf("1..%d", MaxSynthClients))
	case !(m.Rate > 0) || math.IsInf(m.Rate, 1):
		return bad("rate", m.Rate, "a finite number > 0 requests/s")
	case m.Start.Year() < 0 || m.Start.Year() > 9999:
		return bad("start", m.Start.Format(time.RFC3339), "a time in the years 0000-9999 (the years a log can write)")
	case m.Cover && m.Requests < m.Targets:
		return bad("requests", m.Requests, fmt.Sprintf("at least targets = %d with cover (or fewer targets, or cover off)", m.Targets))
	}
	if err := m.Sizes.Validate(); err != nil {
		return fmt.Errorf("traces: synth model: sizes: %w", err)
	}
	if span, limit := float64(m.Requests-1)/m.Rate, synthSpanLimit(m.Start); !(span < limit) {
		return fmt.Errorf("traces: synth model: rate = %v: %d requests at %v/s span about %s from start %s, past %s; want a rate above %.3g requests/s or fewer requests%s",
			m.Rate, m.Requests, m.Rate, humanSpan(span), m.Start.Format(time.RFC3339), synthLimitName(limit), float64(m.Requests-1)/limit, synthEarlier(limit))
	}
	return nil
}

// maxSynthSpan is the longest a synthetic log may span, in seconds: a
// Workload's request times are time.Durations since its first request
// (about 292 years), less a second for the logged times' rounding.
const maxSynthSpan = math.MaxInt64/int64(time.Second) - 1

// synthSpanLimit returns how long after start, in seconds, a synthetic
// log's requests must all come: within maxSynthSpan, and before the end of
// the year 9999 in start's zone (a log's years have four digits).
func synthSpanLimit(start time.Time) float64 {
	end := time.Date(9999, time.December, 31, 23, 59, 59, 0, start.Location()).Unix() + 1
	toEnd := float64(end-start.Unix()) - float64(start.Nanosecond())/1e9
	return min(float64(maxSynthSpan), toEnd)
}

// synthLimitName says which bound a synthSpanLimit is.
func synthLimitName(limit float64) string {
	if limit == float64(maxSynthSpan) {
		return "the 292 years a workload's time.Duration request times can span"
	}
	return "the end of the year 9999 (a log's years have four digits)"
}

// synthEarlier suggests an earlier start when the end of 9999 is the bound.
func synthEarlier(limit float64) string {
	if limit == float64(maxSynthSpan) {
		return ""
	}
	return ", or an earlier start"
}

// humanSpan formats a span in seconds for people: years when long.
func humanSpan(sec float64) string {
	const year = 365.2425 * 86400
	if sec >= 2*year {
		return fmt.Sprintf("%.0f years", sec/year)
	}
	return formatSpan(sec)
}

// SynthPresets returns the names SynthPreset knows, sorted.
func SynthPresets() []string { return []string{"small", "thesis"} }

// Thesis workload (thesis §4.3 and §6.3.7): the merged two-month log of
// the lab's web servers, CGI removed.
const (
	ThesisTargets    = 37_804
	ThesisWorkingSet = 1_629 << 20 // 1,629 MB, read as MiB
)

// SynthPreset returns a named model:
//
//   - "thesis": the workload of the thesis's simulations (§4.3, §6.3.7):
//     37,804 targets whose sizes sum to exactly 1,629 MiB, every one
//     requested (Cover), 1,000,000 requests, Zipf α = 0.8 (Breslau et
//     al. 1999 for 1999-2000 logs), SURGE sizes (Barford and Crovella
//     1998) capped at 64 MiB and then rescaled to the working set (the
//     drawn sizes of seed 1 sum to 2.63 GB, so the factor is 0.65: body
//     median 7.5 KB, mean 45,184 B), a little temporal locality (0.1 over
//     the last 100 requests, between the fits of the two shared real logs,
//     0.17 and 0.05) and no dynamic requests (the thesis removed CGI). The
//     thesis does not give the request count, popularity, sizes, clients
//     (5,000 here) or rate (10/s) of its log; those are this preset's
//     assumptions.
//   - "small": 20,000 requests over 2,000 targets with 5% dynamic
//     requests, for tests and examples.
func SynthPreset(name string) (SynthModel, error) {
	switch name {
	case "thesis":
		sizes := models.DefaultSizeDist()
		sizes.Max = 64 << 20
		return SynthModel{
			Name:             "thesis",
			Seed:             1,
			Requests:         1_000_000,
			Targets:          ThesisTargets,
			Alpha:            0.8,
			Sizes:            sizes,
			WorkingSet:       ThesisWorkingSet,
			Cover:            true,
			TemporalLocality: 0.1,
			LocalityWindow:   100,
			Clients:          5_000,
			Rate:             10,
			Start:            DefaultSynthStart,
		}.Resolved(), nil
	case "small":
		return SynthModel{
			Name:             "small",
			Seed:             1,
			Requests:         20_000,
			Targets:          2_000,
			Alpha:            0.8,
			Cover:            true,
			TemporalLocality: 0.1,
			DynamicShare:     0.05,
			Clients:          200,
		}.Resolved(), nil
	}
	return SynthModel{}, fmt.Errorf("traces: unknown synth preset %q (want one of %v)", name, SynthPresets())
}

// synthReq is one generated request.
type synthReq struct {
	target  int32
	client  int32
	sec     int64 // unix seconds of the logged time
	dynamic bool
	query   int32 // query number of a dynamic request
}

// synthGen generates the requests of a resolved, valid model in order.
type synthGen struct {
	m         SynthModel
	sizes     []int64
	draw      *synthDraw
	cli, arr  *rand.Rand
	t         float64      // seconds since Start of the current request
	limit     float64      // t must stay below it (synthSpanLimit)
	startSec  int64        // Start as Unix seconds
	startNsec int64        // and nanoseconds
	err       error        // why next stopped early
	i         int          // index of the next request
	cover     []synthCover // replacements, by position
	nextCover int          // index into cover
}

// synthCover makes the static request at position pos ask for target.
type synthCover struct {
	pos    int
	target int32
}

// synthDraw is the target and dynamic-flag process, which Cover replays.
type synthDraw struct {
	m        *SynthModel
	zipf     *models.Zipf
	pop, loc *rand.Rand
	dyn      *rand.Rand
	hist     []int32 // ring of the last LocalityWindow drawn targets
	head, n  int
}

func newSynthDraw(m *SynthModel, z *models.Zipf) *synthDraw {
	return &synthDraw{
		m:    m,
		zipf: z,
		pop:  rand.New(rand.NewPCG(m.Seed, synthStreamPopularity)),
		loc:  rand.New(rand.NewPCG(m.Seed, synthStreamLocality)),
		dyn:  rand.New(rand.NewPCG(m.Seed, synthStreamDynamic)),
		hist: make([]int32, m.LocalityWindow),
	}
}

// next returns the next request's target, whether it is dynamic, and its
// query number.
func (d *synthDraw) next() (target int32, dynamic bool, query int32) {
	if d.m.TemporalLocality > 0 && d.n > 0 && d.loc.Float64() < d.m.TemporalLocality {
		back := 1 + d.loc.IntN(d.n) // 1 = the previous request
		target = d.hist[(d.head-back+len(d.hist))%len(d.hist)]
	} else {
		target = int32(d.zipf.Sample(d.pop))
	}
	d.hist[d.head] = target
	d.head = (d.head + 1) % len(d.hist)
	d.n = min(d.n+1, len(d.hist))
	if d.m.DynamicShare > 0 && d.dyn.Float64() < d.m.DynamicShare {
		dynamic, query = true, int32(d.dyn.IntN(1_000_000))
	}
	return target, dynamic, query
}

func newSynthGen(m SynthModel, progress func(SynthProgress)) (*synthGen, error) {
	m = m.Resolved()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	z, err := models.NewZipf(m.Targets, m.Alpha)
	if err != nil {
		return nil, fmt.Errorf("traces: synth model: %w", err)
	}
	g := &synthGen{
		m:         m,
		sizes:     synthSizes(&m),
		cli:       rand.New(rand.NewPCG(m.Seed, synthStreamClients)),
		arr:       rand.New(rand.NewPCG(m.Seed, synthStreamArrivals)),
		limit:     synthSpanLimit(m.Start),
		startSec:  m.Start.Unix(),
		startNsec: int64(m.Start.Nanosecond()),
	}
	if m.Cover {
		if g.cover, err = synthPlaceCover(&g.m, z, progress); err != nil {
			return nil, err
		}
	}
	g.draw = newSynthDraw(&g.m, z)
	return g, nil
}

// synthSizes draws the targets' sizes and rescales them to the working set.
func synthSizes(m *SynthModel) []int64 {
	r := rand.New(rand.NewPCG(m.Seed, synthStreamSizes))
	raw := make([]float64, m.Targets)
	var sum float64
	for i := range raw {
		raw[i] = min(m.Sizes.Sample(r), MaxSynthSize) // an unbounded tail can overflow
		sum += raw[i]
	}
	scale := 1.0
	if m.WorkingSet > 0 {
		scale = float64(m.WorkingSet) / sum
	}
	sizes := make([]int64, m.Targets)
	var total int64
	largest := 0
	for i, v := range raw {
		sizes[i] = int64(min(max(math.Round(v*scale), 1), MaxSynthSize))
		total += sizes[i]
		if sizes[i] > sizes[largest] {
			largest = i
		}
	}
	if m.WorkingSet > 0 {
		// Rounding leaves a remainder of a few bytes per target; the
		// largest target absorbs it (or gives it back, from the largest
		// down, never below 1 byte) so the sum is exact.
		diff := m.WorkingSet - total
		if diff >= 0 {
			sizes[largest] += diff
		} else {
			order := make([]int, len(sizes))
			for i := range order {
				order[i] = i
			}
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(sizes[b], sizes[a]) })
			for _, i := range order {
				take := min(-diff, sizes[i]-1)
				sizes[i] -= take
				diff += take
				if diff == 0 {
					break
				}
			}
		}
	}
	return sizes
}

// synthPlaceCover decides which static requests are replaced so that every
// target is requested. A first pass of the request process counts each
// target's static requests. Each never-drawn target then gets one of
// len(missing) evenly spaced slots; the first static request at or after
// its slot whose drawn target still has two or more requests left is
// replaced. If the end of the trace comes first, the placement restarts
// greedily from the first request, which always succeeds when there are
// at least as many static requests as targets.
func synthPlaceCover(m *SynthModel, z *models.Zipf, progress func(SynthProgress)) ([]synthCover, error) {
	counts := make([]int32, m.Targets)
	static := 0
	d := newSynthDraw(m, z)
	for i := range m.Requests {
		reportSynth(progress, SynthCounting, i, m.Requests)
		t, dyn, _ := d.next()
		if !dyn {
			counts[t]++
			static++
		}
	}
	var missing []int32
	for t, c := range counts {
		if c == 0 {
			missing = append(missing, int32(t))
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if static < m.Targets {
		return nil, fmt.Errorf("traces: synth model: cover: %d static requests cannot request all %d targets", static, m.Targets)
	}
	place := func(spread bool) []synthCover {
		left := slices.Clone(counts)
		out := make([]synthCover, 0, len(missing))
		d := newSynthDraw(m, z)
		defer reportSynth(progress, SynthPlacing, m.Requests, m.Requests)
		for i := range m.Requests {
			reportSynth(progress, SynthPlacing, i, m.Requests)
			t, dyn, _ := d.next()
			j := len(out)
			if j == len(missing) {
				break
			}
			if dyn || left[t] < 2 || (spread && i < int(int64(j)*int64(m.Requests)/int64(len(missing)))) {
				continue
			}
			left[t]--
			out = append(out, synthCover{pos: i, target: missing[j]})
		}
		return out
	}
	if c := place(true); len(c) == len(missing) {
		return c, nil
	}
	if c := place(false); len(c) == len(missing) {
		return c, nil
	}
	return nil, errors.New("traces: synth model: cover: could not place every target") // unreachable: static >= targets
}

// next returns the next request; ok is false after the last, or when a
// request would come too late to log (g.err says so).
func (g *synthGen) next() (r synthReq, ok bool) {
	if g.i >= g.m.Requests || g.err != nil {
		return r, false
	}
	target, dyn, query := g.draw.next()
	if g.nextCover < len(g.cover) && g.cover[g.nextCover].pos == g.i {
		target = g.cover[g.nextCover].target
		g.nextCover++
	}
	if g.i > 0 {
		g.t += g.arr.ExpFloat64() / g.m.Rate
	}
	if !(g.t < g.limit) {
		g.err = fmt.Errorf("traces: synth model: request %d of %d would come %s after start %s, past %s (rate = %v requests/s); want a higher rate or fewer requests%s",
			g.i+1, g.m.Requests, humanSpan(g.t), g.m.Start.Format(time.RFC3339), synthLimitName(g.limit), g.m.Rate, synthEarlier(g.limit))
		return r, false
	}
	// t < limit keeps the nanoseconds since Start below 2^63.
	sec := g.startSec + (g.startNsec+int64(g.t*1e9))/1e9
	r = synthReq{target: target, client: int32(g.cli.IntN(g.m.Clients)), sec: sec, dynamic: dyn, query: query}
	g.i++
	return r, true
}

// synthPath returns the URL path of a target: 100 directories, and a
// file extension that follows its size (images small, archives large).
func synthPath(dst []byte, target int32, size int64) []byte {
	dst = append(dst, "/d"...)
	d := target % 100
	dst = append(dst, byte('0'+d/10), byte('0'+d%10))
	dst = append(dst, "/f"...)
	for p := int32(100_000); p > 1 && target < p; p /= 10 {
		dst = append(dst, '0') // zero-pad to six digits
	}
	dst = strconv.AppendInt(dst, int64(target), 10)
	var ext string
	switch {
	case size < 2<<10:
		ext = ".gif"
	case size < 32<<10:
		ext = ".html"
	case size < 256<<10:
		ext = ".jpg"
	case size < 4<<20:
		ext = ".pdf"
	default:
		ext = ".tar.gz"
	}
	return append(dst, ext...)
}

// synthHost appends the address of client c: 10.0.0.1 for client 0.
func synthHost(dst []byte, c int32) []byte {
	n := int(c) + 1
	dst = append(dst, "10."...)
	dst = strconv.AppendInt(dst, int64(n>>16&255), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(n>>8&255), 10)
	dst = append(dst, '.')
	return strconv.AppendInt(dst, int64(n&255), 10)
}

// Synthesize writes the trace of model m to w as Common Log Format lines,
//
//	10.0.0.7 - - [01/Mar/2000:00:00:03 +0000] "GET /d42/f000042.html HTTP/1.0" 200 5120
//
// streaming, in memory proportional to Targets (not Requests). The same
// model gives the same bytes. Every request for a target logs the target's
// size; a dynamic request adds "?q=N" to the path.
func Synthesize(w io.Writer, m SynthModel) error {
	return SynthesizeProgress(w, m, nil)
}

// SynthesizeProgress is Synthesize calling progress (if not nil) as it
// goes: every SynthProgressEvery requests of each pass over the request
// process, and when a pass ends.
func SynthesizeProgress(w io.Writer, m SynthModel, progress func(SynthProgress)) error {
	g, err := newSynthGen(m, progress)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	loc := g.m.Start.Location()
	var line, stamp []byte
	lastSec := int64(math.MinInt64)
	for {
		reportSynth(progress, SynthWriting, g.i, g.m.Requests)
		r, ok := g.next()
		if !ok {
			break
		}
		if r.sec != lastSec {
			stamp = time.Unix(r.sec, 0).In(loc).AppendFormat(stamp[:0], "02/Jan/2006:15:04:05 -0700")
			lastSec = r.sec
		}
		size := g.sizes[r.target]
		line = synthHost(line[:0], r.client)
		line = append(line, " - - ["...)
		line = append(line, stamp...)
		line = append(line, `] "GET `...)
		line = synthPath(line, r.target, size)
		if r.dynamic {
			line = append(line, "?q="...)
			line = strconv.AppendInt(line, int64(r.query), 10)
		}
		line = append(line, ` HTTP/1.0" 200 `...)
		line = strconv.AppendInt(line, size, 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("traces: synth: write: %w", err)
		}
	}
	if g.err != nil {
		return g.err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("traces: synth: write: %w", err)
	}
	return nil
}

// SynthWorkload builds the Workload of model m in memory, without text:
// the Workload that Load with ReferenceFilter returns for the log
// Synthesize writes (dynamic requests dropped and counted under
// Dropped["dynamic"]), except that Name is the model's name.
func SynthWorkload(m SynthModel) (*Workload, error) { return synthWorkload(m, false) }

// SynthWorkloadDynamic is SynthWorkload keeping the dynamic requests,
// flagged Request.Dynamic, on their target's object: the Workload that Load
// returns for the same log with ReferenceFilter but DropDynamic false.
func SynthWorkloadDynamic(m SynthModel) (*Workload, error) { return synthWorkload(m, true) }

func synthWorkload(m SynthModel, keepDynamic bool) (*Workload, error) {
	g, err := newSynthGen(m, nil)
	if err != nil {
		return nil, err
	}
	w := &Workload{Name: g.m.Name, Dropped: map[string]int{}}
	w.Requests = make([]Request, 0, int(float64(g.m.Requests)*(1-g.m.DynamicShare)*1.01)+16)
	objIdx := make([]int32, g.m.Targets) // target -> object index + 1
	cliIdx := make([]int32, g.m.Clients) // client -> client index + 1
	var path, host []byte
	var first int64
	for {
		r, ok := g.next()
		if !ok {
			break
		}
		w.Lines++
		if r.dynamic && !keepDynamic {
			w.Dropped[DropDynamic]++
			continue
		}
		if objIdx[r.target] == 0 {
			path = synthPath(path[:0], r.target, g.sizes[r.target])
			w.Objects = append(w.Objects, Object{Target: string(path), Size: g.sizes[r.target]})
			objIdx[r.target] = int32(len(w.Objects))
		}
		if cliIdx[r.client] == 0 {
			host = synthHost(host[:0], r.client)
			w.Clients = append(w.Clients, string(host))
			cliIdx[r.client] = int32(len(w.Clients))
		}
		if len(w.Requests) == 0 {
			first = r.sec
		}
		w.Requests = append(w.Requests, Request{
			Object:  objIdx[r.target] - 1,
			Client:  cliIdx[r.client] - 1,
			Time:    time.Duration(r.sec-first) * time.Second,
			Dynamic: r.dynamic,
		})
	}
	if g.err != nil {
		return nil, g.err
	}
	return w, nil
}
