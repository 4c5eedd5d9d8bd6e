package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

// Config is one emulated back end. The zero value of every field but
// Workload selects its default (the thesis preset of reference-model.md,
// in real time).
type Config struct {
	// Workload gives the targets the back end serves and each one's size
	// (Workload.Objects; its requests are not used). Load it from the same
	// trace as the load generator, under the same filter. Required.
	Workload *traces.Workload

	// CacheBytes is the main-memory cache size. Default 32 MiB.
	CacheBytes int64

	// CachePolicy is the replacement policy (models.NewCache): "lru"
	// (default, the reference model), "lfu", "gds".
	CachePolicy string

	// Costs are the service-time constants, in model time; zero fields
	// take the thesis's values (models.Costs).
	Costs models.Costs

	// TimeScale divides every model time: 10 runs ten times faster than
	// the model (a 28 ms disk read takes 2.8 ms). Default 1.
	TimeScale float64

	// CPUSpeed and DiskSpeed divide the service times of the CPU and the
	// disk, as a node group's speeds do in the simulator (sim.NodeGroup).
	// Default 1; each in [models.MinSpeed, models.MaxSpeed].
	CPUSpeed, DiskSpeed float64

	// Slowdowns multiply the service times of the CPU and the disk by
	// their factors over their intervals, in model time since the first
	// request the back end serves (the load generator's run starts then:
	// in a closed loop every back end gets its first request at once). A
	// job straddling a boundary is served as models.Pace says.
	Slowdowns []models.Slowdown

	// LoadPath is the path of the load report (GET, JSON). It must not be
	// a trace target or a prefix of one. Default "/lvslab/load".
	LoadPath string

	// Interval is the window of the load report's recent utilisation.
	// Default 1 s (wall time).
	Interval time.Duration

	// Name names the back end in its load report (e.g. "rs1").
	Name string

	// Now, when set, replaces the wall clock, and the back end then waits
	// for its deadlines with the runtime's timers (deadline − Now()); this
	// is what tests under testing/synctest need, whose bubble fakes both.
	// When nil the back end reads time.Now and, on Linux, wakes requests
	// from a clock thread of its own with microsecond precision (an idle
	// Go process wakes from runtime timers only at whole milliseconds).
	Now func() time.Time

	// ErrorLog receives the HTTP server's errors (nil: discarded).
	ErrorLog *log.Logger
}

// Defaults.
const (
	DefaultCacheBytes = 32 << 20
	DefaultLoadPath   = "/lvslab/load"
	DefaultInterval   = time.Second
)

// Resolve returns c with defaults filled in, or an error naming the first
// field that is wrong.
func (c Config) Resolve() (Config, error) {
	if c.Workload == nil || len(c.Workload.Objects) == 0 {
		return c, errors.New("backend: the workload has no target to serve")
	}
	switch {
	case c.CacheBytes < 0:
		return c, fmt.Errorf("backend: cache size must be >= 0 bytes (got %d)", c.CacheBytes)
	case c.CacheBytes == 0:
		c.CacheBytes = DefaultCacheBytes
	}
	if c.CachePolicy == "" {
		c.CachePolicy = models.PolicyLRU
	}
	c.CachePolicy = strings.ToLower(c.CachePolicy)
	if _, err := models.NewCache(c.CachePolicy, 0, 0); err != nil {
		return c, fmt.Errorf("backend: %w", err)
	}
	if err := c.Costs.Validate(); err != nil {
		return c, fmt.Errorf("backend: %w", err)
	}
	c.Costs = c.Costs.WithDefaults()
	for _, f := range []struct {
		name string
		v    *float64
	}{{"CPU", &c.CPUSpeed}, {"disk", &c.DiskSpeed}} {
		if *f.v == 0 {
			*f.v = 1
		}
		if err := models.CheckSpeed(*f.v); err != nil {
			return c, fmt.Errorf("backend: %s speed: %w", f.name, err)
		}
	}
	for i, s := range c.Slowdowns {
		if err := models.CheckSpeed(s.Factor); err != nil {
			return c, fmt.Errorf("backend: slowdown %d: factor: %w", i+1, err)
		}
		if s.From < 0 || s.To <= s.From {
			return c, fmt.Errorf("backend: slowdown %d: want 0 <= from < to (got %v to %v)", i+1, s.From, s.To)
		}
	}
	switch {
	case c.TimeScale < 0 || math.IsNaN(c.TimeScale) || math.IsInf(c.TimeScale, 0):
		return c, fmt.Errorf("backend: time scale must be a finite number > 0 (got %v)", c.TimeScale)
	case c.TimeScale == 0:
		c.TimeScale = 1
	}
	if c.LoadPath == "" {
		c.LoadPath = DefaultLoadPath
	}
	if !strings.HasPrefix(c.LoadPath, "/") || strings.ContainsAny(c.LoadPath, "?# \t\r\n") || RequestTarget(c.LoadPath) != c.LoadPath {
		return c, fmt.Errorf("backend: load path %q: want a path starting with / and without spaces, '?' or '#'", c.LoadPath)
	}
	switch {
	case c.Interval < 0:
		return c, fmt.Errorf("backend: interval must be >= 0 (got %v)", c.Interval)
	case c.Interval == 0:
		c.Interval = DefaultInterval
	}
	return c, nil
}

// Backend is an emulated real server: an HTTP/1.1 server (keep-alive, and
// HTTP/1.0) whose CPU, disk and cache follow the reference model in real
// time. It is an http.Handler; Serve runs it on a listener. Its methods are
// safe for concurrent use.
type Backend struct {
	cfg   Config
	clk   clock
	start time.Time

	objects map[string]int32 // request target (RequestTarget) -> object
	sizes   []int64

	// Merged counts the trace targets that share their request target
	// with another (see RequestTarget): they are served as one object, of
	// the largest of their sizes.
	Merged int

	mu         sync.Mutex
	cache      models.Cache
	cpu, disk  resource
	origin     time.Time // the first request's arrival: model time 0 of Slowdowns
	prev, last sample    // utilisation at the last two interval boundaries

	served, hits, bytes        atomic.Int64
	notFound, aborted, denied  atomic.Int64
	conns, accepted, inService atomic.Int64

	srv       *http.Server
	closeOnce sync.Once
}

// resource is one FIFO server (the CPU or the disk). Jobs are reserved in
// arrival order; each starts when it arrives or when the previous one ends,
// whichever is later, and its end is an absolute deadline.
type resource struct {
	pace      models.Pace   // speed and slowdowns, in model time
	busyUntil time.Time     // end of the last job reserved
	scheduled time.Duration // sum of the reserved jobs' times
	queue     int           // jobs reserved whose requests have not moved on
}

// reserve queues a job arriving at arrival that ends at end(start), its
// start being max(arrival, end of the previous job), and returns that end.
func (r *resource) reserve(arrival time.Time, end func(start time.Time) time.Time) time.Time {
	start := arrival
	if r.busyUntil.After(start) {
		start = r.busyUntil
	}
	r.busyUntil = end(start)
	r.scheduled += r.busyUntil.Sub(start)
	r.queue++
	return r.busyUntil
}

// busy is the resource's busy time up to now. Every job is reserved at or
// after its arrival, so the reserved work that lies after now is one
// contiguous stretch ending at busyUntil.
func (r *resource) busy(now time.Time) time.Duration {
	b := r.scheduled
	if ahead := r.busyUntil.Sub(now); ahead > 0 {
		b -= ahead
	}
	return b
}

// sample is the resources' busy times at interval boundary j, the instant
// start + j×Interval (j = -1: no sample).
type sample struct {
	j         int64
	at        time.Time
	cpu, disk time.Duration
}

// New returns a back end serving cfg's workload. It does not listen yet:
// see Serve. The workload's targets are keyed by RequestTarget; a target
// under the load path is an error.
func New(cfg Config) (*Backend, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	b := &Backend{cfg: cfg, objects: make(map[string]int32, len(cfg.Workload.Objects))}
	for _, o := range cfg.Workload.Objects {
		rt := RequestTarget(o.Target)
		if rt == cfg.LoadPath || strings.HasPrefix(rt, cfg.LoadPath+"/") {
			return nil, fmt.Errorf("backend: trace target %s is under the load report's path %s; choose another load path",
				traces.Escape(o.Target), cfg.LoadPath)
		}
		if i, ok := b.objects[rt]; ok {
			b.Merged++
			b.sizes[i] = max(b.sizes[i], o.Size)
			continue
		}
		b.objects[rt] = int32(len(b.sizes))
		b.sizes = append(b.sizes, o.Size)
	}
	b.cpu.pace = models.Pace{Speed: cfg.CPUSpeed, Slowdowns: cfg.Slowdowns}
	b.disk.pace = models.Pace{Speed: cfg.DiskSpeed, Slowdowns: cfg.Slowdowns}
	if b.cache, err = models.NewCache(cfg.CachePolicy, cfg.CacheBytes, len(b.sizes)); err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	if cfg.Now != nil {
		b.clk = newTimerClock(cfg.Now)
	} else if b.clk, err = newClock(); err != nil {
		return nil, err
	}
	b.start = b.clk.now()
	b.prev = sample{j: -1}
	b.last = sample{j: 0, at: b.start}
	errLog := cfg.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	b.srv = &http.Server{
		Handler:           b,
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
		ConnState:         b.connState,
	}
	return b, nil
}

// Config returns the resolved configuration.
func (b *Backend) Config() Config { return b.cfg }

// Objects is the number of objects served (distinct request targets).
func (b *Backend) Objects() int { return len(b.sizes) }

// String describes the back end in a line: its objects, trace, cache and
// time scale.
func (b *Backend) String() string {
	c := &b.cfg
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	s := fmt.Sprintf("%d objects of trace %s, cache %s %s, time scale %s", len(b.sizes), traces.Escape(c.Workload.Name),
		traces.FormatBytes(c.CacheBytes), c.CachePolicy, f(c.TimeScale))
	if c.CPUSpeed != 1 || c.DiskSpeed != 1 {
		s += fmt.Sprintf(", CPU speed %s, disk speed %s", f(c.CPUSpeed), f(c.DiskSpeed))
	}
	if len(c.Slowdowns) > 0 {
		s += fmt.Sprintf(", %d slowdowns", len(c.Slowdowns))
	}
	return s
}

// Serve accepts connections on l until Close or Shutdown; it returns nil
// then, or the listener's error.
func (b *Backend) Serve(l net.Listener) error {
	err := b.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ShutdownTimeout is how long Run's graceful stop waits for the requests
// in service.
const ShutdownTimeout = 5 * time.Second

// ErrCutShort is Run's error when requests were still in service
// ShutdownTimeout after ctx ended.
var ErrCutShort = errors.New("backend: requests were still in service 5 s after the stop; they were cut short")

// Run serves on l until ctx ends, then stops gracefully (Shutdown: the
// requests in service get ShutdownTimeout, then ErrCutShort) and returns
// nil. If failAfter is positive, Run emulates a crash that long after it
// starts (Close: the listener and every connection close at once) and
// returns an error saying so, with the back end's summary. A listener's
// error ends Run too.
func (b *Backend) Run(ctx context.Context, l net.Listener, failAfter time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- b.Serve(l) }()
	var fail <-chan time.Time
	if failAfter > 0 {
		t := time.NewTimer(failAfter)
		defer t.Stop()
		fail = t.C
	}
	select {
	case err := <-served:
		return err
	case <-fail:
		b.Close()
		<-served
		return fmt.Errorf("backend: emulated failure after %v: %s", failAfter, b.Load().Summary())
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		err := b.Shutdown(shut)
		<-served
		if errors.Is(err, context.DeadlineExceeded) {
			return ErrCutShort
		}
		return err
	}
}

// Close emulates a crash: it closes the listeners and every connection at
// once, and requests in service end without a response.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		err = b.srv.Close()
		b.clk.close()
	})
	return err
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in service to complete; then it closes the back end.
func (b *Backend) Shutdown(ctx context.Context) error {
	err := b.srv.Shutdown(ctx)
	return errors.Join(err, b.Close())
}

func (b *Backend) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		b.conns.Add(1)
		b.accepted.Add(1)
	case http.StateClosed, http.StateHijacked:
		b.conns.Add(-1)
	}
}

// finish returns the wall-clock end of a job of work work started at
// start on a server of pace p: start + work / TimeScale at speed 1 and
// without slowdowns, else the end models.Pace gives in model time (since
// origin), converted back. b.mu is held.
func (b *Backend) finish(p *models.Pace, start time.Time, work time.Duration) time.Time {
	if len(p.Slowdowns) == 0 && (p.Speed == 1 || p.Speed == 0) {
		return start.Add(b.scaled(work))
	}
	t := start.Sub(b.origin)
	if b.cfg.TimeScale != 1 {
		t = time.Duration(math.Round(float64(t) * b.cfg.TimeScale))
	}
	return b.origin.Add(b.scaled(p.Finish(t, work)))
}

// scaled converts a model time to wall time.
func (b *Backend) scaled(d time.Duration) time.Duration {
	if b.cfg.TimeScale == 1 {
		return d
	}
	return time.Duration(math.Round(float64(d) / b.cfg.TimeScale))
}

// advance records the busy times at the latest two interval boundaries
// passed. It runs before every change to the resources, so the schedule it
// reads has held since before those boundaries (the last change came
// before boundary b.last.j+1). b.mu is held.
func (b *Backend) advance(now time.Time) {
	j := int64(now.Sub(b.start) / b.cfg.Interval)
	if j <= b.last.j {
		return
	}
	at := func(j int64) sample {
		t := b.start.Add(time.Duration(j) * b.cfg.Interval)
		return sample{j: j, at: t, cpu: b.cpu.busy(t), disk: b.disk.busy(t)}
	}
	if j-1 > b.last.j {
		b.prev = at(j - 1)
	} else {
		b.prev = b.last
	}
	b.last = at(j)
}

// job reserves a job of work work (its model service time at speed 1) on
// r for a request arriving at arrival and waits until it ends; it returns
// the end (the model's instant, not the wake-up's).
func (b *Backend) job(ctx context.Context, r *resource, arrival time.Time, work time.Duration) (time.Time, error) {
	b.mu.Lock()
	b.advance(b.clk.now())
	if b.origin.IsZero() {
		b.origin = arrival
	}
	end := r.reserve(arrival, func(start time.Time) time.Time { return b.finish(&r.pace, start, work) })
	b.mu.Unlock()
	err := b.clk.waitUntil(ctx, end)
	b.mu.Lock()
	r.queue--
	b.mu.Unlock()
	return end, err
}

// serve runs the steps of reference-model.md §3 for one request of object
// obj arriving now, and returns when the model completes it: the instant
// it completes and whether the cache lookup hit. Each step's job arrives
// at the instant the previous step ended (a deadline), never at the
// instant its goroutine woke, so wake-up delays do not add up along a
// request or along a queue.
func (b *Backend) serve(ctx context.Context, obj int32, dynamic bool) (done time.Time, hit bool, err error) {
	c := &b.cfg.Costs
	size := b.sizes[obj]
	// 1. CPU: connection set-up.
	t, err := b.job(ctx, &b.cpu, b.clk.now(), c.SetupTime(dynamic))
	if err != nil {
		return t, false, err
	}
	// 2. Cache look-up when the set-up ends; disk read on a miss. A
	// dynamic request never touches the cache (sim/doc.go).
	if !dynamic {
		b.mu.Lock()
		hit = b.cache.Lookup(obj)
		b.mu.Unlock()
	}
	if !hit {
		if t, err = b.job(ctx, &b.disk, t, c.DiskTime(size, dynamic)); err != nil {
			return t, false, err
		}
		if !dynamic {
			b.mu.Lock()
			b.cache.Insert(obj, size)
			b.mu.Unlock()
		}
	}
	// 3. CPU: transmit and teardown.
	t, err = b.job(ctx, &b.cpu, t, c.SendTime(size, dynamic))
	return t, hit, err
}

// Response headers.
var (
	octetStream = []string{"application/octet-stream"}
	hitHeader   = []string{"hit"}
	missHeader  = []string{"miss"}
)

// CacheHeader is the response header that says whether the request hit
// the back end's cache: "hit" or "miss".
const CacheHeader = "X-Lvslab-Cache"

// filler is what response bodies are cut from.
var filler = func() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = 'x'
	}
	return b
}()

// ServeHTTP serves GET and HEAD requests for the workload's targets (the
// request-target up to '?' or '#', as sent: no decoding) and the load
// report at the load path. A request whose target has a query string or
// contains "cgi-bin" is dynamic (traces.IsDynamic). Unknown targets get
// 404, other methods 405; a request cut short by Close or by its client
// going away gets no response at all.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri := r.RequestURI
	target := traces.Target(uri)
	if target == b.cfg.LoadPath {
		b.serveLoad(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		b.denied.Add(1)
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	obj, ok := b.objects[target]
	if !ok {
		b.notFound.Add(1)
		http.Error(w, "not a target of the trace", http.StatusNotFound)
		return
	}
	b.inService.Add(1)
	defer b.inService.Add(-1)
	_, hit, err := b.serve(r.Context(), obj, traces.IsDynamic(uri, nil))
	if err != nil {
		b.aborted.Add(1)
		panic(http.ErrAbortHandler) // no response: the connection is closed
	}
	size := b.sizes[obj]
	h := w.Header()
	h["Content-Type"] = octetStream
	h["Content-Length"] = []string{strconv.FormatInt(size, 10)}
	if hit {
		h[CacheHeader] = hitHeader
	} else {
		h[CacheHeader] = missHeader
	}
	// Counted before the body goes out, so that a client that has read
	// the whole response finds it counted; taken back if the write fails.
	body := int64(0)
	if r.Method == http.MethodGet {
		body = size
	}
	b.count(hit, body, +1)
	w.WriteHeader(http.StatusOK)
	for n := body; n > 0; {
		k := min(n, int64(len(filler)))
		if _, err := w.Write(filler[:k]); err != nil {
			b.count(hit, body, -1)
			b.aborted.Add(1)
			return
		}
		n -= k
	}
}

// count adds (sign +1) or takes back (-1) a served request.
func (b *Backend) count(hit bool, bytes int64, sign int64) {
	if hit {
		b.hits.Add(sign)
	}
	b.bytes.Add(sign * bytes)
	b.served.Add(sign)
}
