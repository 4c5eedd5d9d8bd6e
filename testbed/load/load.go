package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/traces"
)

// Config is one load run. The zero value of every field but URL and
// Workload selects its default.
type Config struct {
	// URL is where requests go: "http://HOST[:PORT]" (a VIP, or a back
	// end directly). Port 80 by default; no path.
	URL string

	// Workload is replayed: its requests in order, each object's target
	// sent as backend.RequestTarget sends it.
	Workload *traces.Workload

	// Mode is "closed" (default: Concurrency requests are sent at once and
	// each outcome sends the next, as the simulator's closed admission) or
	// "open" (request k is due at its trace time / Speedup, and waits, in
	// order, for one of Concurrency connections when all are busy).
	Mode string

	// Concurrency is the number of requests in flight at most (closed
	// loop: always, until the end). Default 60: the reference model's
	// limit n × high for one node.
	Concurrency int

	// Speedup divides trace times in the open loop. Default 1.
	Speedup float64

	// HTTP10 sends HTTP/1.0 requests, one connection each. By default
	// requests are HTTP/1.1 and connections are kept alive and reused.
	HTTP10 bool

	// ClientKeepAlive, if not 0, makes kept-alive connections follow the
	// trace's clients (traces.Request.Client), as the simulator's l4
	// front end models them, rather than the concurrency slots: a request
	// goes on its client's idle connection if it has one, else on a new
	// one; after the response the connection idles, kept for its client,
	// and is closed once idle ClientKeepAlive (wall time), or when the
	// client leaves another idle one (a client keeps at most one). Two
	// requests of a client in flight at once have a connection each (the
	// simulator pipelines them on one). Not with HTTP10.
	ClientKeepAlive time.Duration

	// Requests is the number of requests sent (default: the workload's).
	// A number beyond the workload's replays it again from the start (in
	// the open loop each repetition starts one mean inter-arrival time
	// after the previous one's last request).
	Requests int

	// Duration, if not 0, is a hard deadline: requests still in flight
	// then fail with reason "deadline", and those not yet sent are
	// counted as unsent.
	Duration time.Duration

	// Timeout bounds each request, connection included. Default 30 s.
	Timeout time.Duration

	// ConnectTimeout bounds each connection attempt. Default 3 s (one
	// unanswered SYN, as the simulator's connect_timeout).
	ConnectTimeout time.Duration

	// Interval is the width of one time-series bucket. Default 1 s.
	Interval time.Duration

	// LoadURLs are the back ends' load reports (backend.Load), read before
	// and after the run for per-back-end numbers.
	LoadURLs []string

	// Dial opens connections (nil: a net.Dialer). Tests use it to open
	// them inside a network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Modes.
const (
	Closed = "closed"
	Open   = "open"
)

// Defaults.
const (
	DefaultConcurrency    = 60
	DefaultTimeout        = 30 * time.Second
	DefaultConnectTimeout = 3 * time.Second
	DefaultInterval       = time.Second
)

// Failure reasons (Record.Reason, Result.Failures).
const (
	ReasonRefused        = "connect_refused" // nothing listens (a dead back end's host)
	ReasonConnectTimeout = "connect_timeout" // no answer to the SYN within ConnectTimeout
	ReasonConnect        = "connect_error"   // another connection error (unreachable, ...)
	ReasonReset          = "reset"           // connection reset by the peer
	ReasonClosed         = "closed"          // connection closed before the response was complete
	ReasonTimeout        = "timeout"         // Timeout passed
	ReasonDeadline       = "deadline"        // in flight when the run's Duration ended
	ReasonCancelled      = "cancelled"       // in flight when the run was cancelled
	ReasonBadResponse    = "bad_response"    // a response that does not parse
	ReasonIO             = "io_error"        // another read or write error
	// A response with a status other than 200 fails with reason
	// "status_NNN" (e.g. "status_404", "status_503").
)

// Resolve returns c with defaults filled in, or an error naming the first
// wrong field.
func (c Config) Resolve() (Config, error) {
	if c.Workload == nil || len(c.Workload.Requests) == 0 {
		return c, errors.New("load: the workload has no request")
	}
	if _, err := hostPort(c.URL); err != nil {
		return c, err
	}
	switch c.Mode {
	case "":
		c.Mode = Closed
	case Closed, Open:
	default:
		return c, fmt.Errorf("load: mode %q: want closed or open", c.Mode)
	}
	checks := []struct {
		name string
		bad  bool
	}{
		{"concurrency", c.Concurrency < 0},
		{"requests", c.Requests < 0},
		{"duration", c.Duration < 0},
		{"timeout", c.Timeout < 0},
		{"connect timeout", c.ConnectTimeout < 0},
		{"interval", c.Interval < 0},
		{"speed-up", c.Speedup < 0 || math.IsNaN(c.Speedup) || math.IsInf(c.Speedup, 0)},
		{"client keep-alive", c.ClientKeepAlive < 0},
	}
	for _, ch := range checks {
		if ch.bad {
			return c, fmt.Errorf("load: %s must be >= 0", ch.name)
		}
	}
	if c.HTTP10 && c.ClientKeepAlive > 0 {
		return c, errors.New("load: client keep-alive needs HTTP/1.1 (not HTTP/1.0)")
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Speedup == 0 {
		c.Speedup = 1
	}
	if c.Requests == 0 {
		c.Requests = len(c.Workload.Requests)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	for _, u := range c.LoadURLs {
		if _, _, err := splitURL(u); err != nil {
			return c, err
		}
	}
	return c, nil
}

// hostPort returns the "host:port" of an http URL without a path.
func hostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("load: URL %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("load: URL %q: want http://HOST[:PORT] (plain HTTP, no path)", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	return host, nil
}

// splitURL splits an http URL into "host:port" and the request target.
func splitURL(raw string) (hostport, target string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", "", fmt.Errorf("load: load report URL %q: want http://HOST[:PORT]/PATH", raw)
	}
	hostport = u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "80")
	}
	return hostport, u.RequestURI(), nil
}

// Record is the outcome of one request. Times are offsets from the run's
// start; Sent is -1 for a request never sent.
type Record struct {
	Object  int32         // index into Workload.Objects
	Arrival time.Duration // when it was due (closed loop: when it was sent)
	Sent    time.Duration // when it started: connecting if needed, then writing the request
	Done    time.Duration // when its response's last byte arrived, or it failed
	Status  int           // HTTP status, 0 if none arrived
	Bytes   int64         // response body bytes read
	Hit     bool          // the back end said X-Lvslab-Cache: hit
	Reason  string        // "" if it succeeded (status 200, whole body); else a Reason* or "status_NNN"
	Err     string        // the error, for a failed request
}

// OK reports whether the request succeeded.
func (r *Record) OK() bool { return r.Sent >= 0 && r.Reason == "" }

// Latency is the time from sending the request to its last byte.
func (r *Record) Latency() time.Duration { return r.Done - r.Sent }

// Response is the response time as the simulator defines it: from the
// request's arrival (due time) to its last byte.
func (r *Record) Response() time.Duration { return r.Done - r.Arrival }

// gen is one run in progress.
type gen struct {
	cfg      Config
	addr     string
	reqs     [][]byte // per object: the request's bytes
	dynReqs  [][]byte // per object: the dynamic form, where needed
	recs     []Record
	start    time.Time
	deadline time.Time // zero: none
	ctx      context.Context
	next     atomic.Int64
	retries  atomic.Int64
	workers  []*worker
	dialer   func(ctx context.Context, network, addr string) (net.Conn, error)
	idle     *idlePool // ClientKeepAlive: the clients' idle connections
}

// worker is one connection slot: it sends one request at a time.
type worker struct {
	g  *gen
	mu sync.Mutex // guards c against the cancellation callback
	c  net.Conn
	br *bufio.Reader
	// reused: c has carried a response (a failure before any byte of the
	// next one is then retried once on a new connection, as browsers do
	// with a kept-alive connection the server closed).
	reused bool
	stop   bool
	buf    *bufio.Reader // the read buffer, kept across connections
}

// Run replays cfg.Workload against cfg.URL and returns every request's
// outcome. It returns an error only for a bad configuration; failed
// requests are results. Cancelling ctx ends the run as Duration does,
// with reason "cancelled".
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, recs: make([]Record, cfg.Requests)}
	g.addr, _ = hostPort(cfg.URL)
	g.dialer = cfg.Dial
	if g.dialer == nil {
		d := &net.Dialer{}
		g.dialer = d.DialContext
	}
	g.buildRequests()
	if cfg.ClientKeepAlive > 0 {
		g.idle = newIdlePool(cfg.ClientKeepAlive)
		defer g.idle.closeAll()
	}
	w := cfg.Workload
	for i := range g.recs {
		g.recs[i] = Record{Object: w.Requests[i%len(w.Requests)].Object, Sent: -1}
	}
	res := &Result{Config: cfg}
	res.Backends = g.readLoads(ctx, nil)

	g.start = time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		g.deadline = g.start.Add(cfg.Duration)
		runCtx, cancel = context.WithDeadlineCause(runCtx, g.deadline, errDuration)
		defer cancel()
	}
	g.ctx = runCtx
	g.workers = make([]*worker, cfg.Concurrency)
	for i := range g.workers {
		g.workers[i] = &worker{g: g}
	}
	stopAbort := context.AfterFunc(runCtx, g.abort)
	var wg sync.WaitGroup
	if cfg.Mode == Closed {
		for _, wk := range g.workers {
			wg.Go(wk.closedLoop)
		}
	} else {
		queue := make(chan int, min(cfg.Requests, 1<<16))
		for _, wk := range g.workers {
			wg.Go(func() { wk.openLoop(queue) })
		}
		g.dispatch(queue)
	}
	wg.Wait()
	stopAbort()
	end := time.Since(g.start)
	for _, wk := range g.workers {
		wk.closeConn()
	}
	res.Backends = g.readLoads(ctx, res.Backends)
	res.summarize(g, end)
	return res, nil
}

// buildRequests pre-builds each object's request bytes.
func (g *gen) buildRequests() {
	w := g.cfg.Workload
	proto := " HTTP/1.1\r\nHost: "
	if g.cfg.HTTP10 {
		proto = " HTTP/1.0\r\nHost: "
	}
	host := g.addr
	if u, err := url.Parse(g.cfg.URL); err == nil {
		host = u.Host
	}
	tail := proto + host + "\r\nUser-Agent: lvslab-load\r\n\r\n"
	g.reqs = make([][]byte, len(w.Objects))
	for i, o := range w.Objects {
		g.reqs[i] = []byte("GET " + backend.RequestTarget(o.Target) + tail)
	}
	for _, r := range w.Requests {
		if !r.Dynamic {
			continue
		}
		if g.dynReqs == nil {
			g.dynReqs = make([][]byte, len(w.Objects))
		}
		if g.dynReqs[r.Object] == nil {
			// The query was cut off the target: a '?' marks the request
			// dynamic again for the switch and the back end.
			t := backend.RequestTarget(w.Objects[r.Object].Target)
			if !traces.IsDynamic(t, nil) {
				t += "?"
			}
			g.dynReqs[r.Object] = []byte("GET " + t + tail)
		}
	}
}

// request returns the bytes of request i.
func (g *gen) request(i int) []byte {
	w := g.cfg.Workload
	r := &w.Requests[i%len(w.Requests)]
	if r.Dynamic {
		return g.dynReqs[r.Object]
	}
	return g.reqs[r.Object]
}

// arrival is when request i is due in the open loop.
func (g *gen) arrival(i int) time.Duration {
	reqs := g.cfg.Workload.Requests
	n := len(reqs)
	t := reqs[i%n].Time
	if lap := i / n; lap > 0 {
		span := reqs[n-1].Time
		period := span
		if n > 1 {
			period += span / time.Duration(n-1)
		}
		t += time.Duration(lap) * period
	}
	return time.Duration(float64(t) / g.cfg.Speedup)
}

// dispatch feeds the open loop's queue at the requests' due times.
func (g *gen) dispatch(queue chan<- int) {
	defer close(queue)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range g.recs {
		due := g.arrival(i)
		if d := due - time.Since(g.start); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-g.ctx.Done():
				return
			}
		}
		g.recs[i].Arrival = due
		select {
		case queue <- i:
		case <-g.ctx.Done():
			return
		}
	}
}

func (wk *worker) closedLoop() {
	g := wk.g
	for !g.over() {
		i := int(g.next.Add(1) - 1)
		if i >= len(g.recs) {
			return
		}
		g.recs[i].Arrival = time.Since(g.start)
		wk.do(i)
	}
}

func (wk *worker) openLoop(queue <-chan int) {
	g := wk.g
	for {
		select {
		case i, ok := <-queue:
			if !ok || g.over() {
				return
			}
			wk.do(i)
		case <-g.ctx.Done():
			return
		}
	}
}

// abort cuts every connection's requests short (the run was cancelled or
// its Duration passed).
func (g *gen) abort() {
	past := time.Unix(1, 0)
	for _, wk := range g.workers {
		wk.mu.Lock()
		wk.stop = true
		if wk.c != nil {
			wk.c.SetDeadline(past)
		}
		wk.mu.Unlock()
	}
}

// adopt makes a client's idle connection the worker's, as a connection
// that has carried a response (see worker.reused).
func (wk *worker) adopt(c net.Conn, br *bufio.Reader) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.stop {
		c.Close()
		return
	}
	wk.c, wk.br, wk.reused = c, br, true
}

// detach takes the worker's connection (and its read buffer, which goes
// with it) away from the worker.
func (wk *worker) detach() (net.Conn, *bufio.Reader) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	c, br := wk.c, wk.br
	wk.c, wk.br, wk.reused = nil, nil, false
	if wk.buf == br {
		wk.buf = nil
	}
	return c, br
}

func (wk *worker) closeConn() {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.c != nil {
		wk.c.Close()
		wk.c, wk.br, wk.reused = nil, nil, false
	}
}

// awaitClose waits, briefly, for the server to close a connection it said
// it would close, so that the server closes first and the TIME_WAIT state
// stays on its side: a client that closed first would keep each of its
// ports in TIME_WAIT for a minute and, at thousands of connections a
// second, run out of ports.
func (wk *worker) awaitClose(c net.Conn, br *bufio.Reader) {
	wk.mu.Lock()
	if !wk.stop {
		c.SetReadDeadline(time.Now().Add(closeWait))
	}
	wk.mu.Unlock()
	_, _ = br.Discard(1 << 20)
}

// closeWait bounds awaitClose.
const closeWait = 50 * time.Millisecond

// dialErr is an error opening a connection.
type dialErr struct{ err error }

func (e *dialErr) Error() string { return "connect: " + e.err.Error() }
func (e *dialErr) Unwrap() error { return e.err }

// errDuration is the cause of the run's end at Config.Duration.
var errDuration = errors.New("the run's duration ended")

// over reports whether the run has ended (Duration passed or cancelled).
func (g *gen) over() bool {
	return g.ctx.Err() != nil || !g.deadline.IsZero() && !time.Now().Before(g.deadline)
}

// endReason is the reason of requests cut short by the run's end.
func (g *gen) endReason() string {
	if !g.deadline.IsZero() && (context.Cause(g.ctx) == errDuration || g.ctx.Err() == nil && !time.Now().Before(g.deadline)) {
		return ReasonDeadline
	}
	return ReasonCancelled
}

// errStopped is the error of a request the run's end cut short before it
// had a connection.
var errStopped = errors.New("the run ended")

// conn returns the worker's connection, opening one if needed, with its
// deadline set.
func (wk *worker) conn(deadline time.Time) (net.Conn, *bufio.Reader, error) {
	g := wk.g
	wk.mu.Lock()
	c, br := wk.c, wk.br
	stop := wk.stop
	wk.mu.Unlock()
	if stop || g.over() {
		return nil, nil, errStopped
	}
	if c == nil {
		ctx, cancel := context.WithDeadline(g.ctx, minTime(deadline, time.Now().Add(g.cfg.ConnectTimeout)))
		nc, err := g.dialer(ctx, "tcp", g.addr)
		cancel()
		if err != nil {
			return nil, nil, &dialErr{err}
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if wk.buf == nil {
			wk.buf = bufio.NewReaderSize(nc, 32<<10)
		} else {
			wk.buf.Reset(nc)
		}
		c, br = nc, wk.buf
		wk.mu.Lock()
		wk.c, wk.br, wk.reused = c, br, false
		stop = wk.stop
		wk.mu.Unlock()
		if stop {
			return nil, nil, errStopped
		}
	}
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.stop {
		return nil, nil, errStopped
	}
	c.SetDeadline(deadline)
	return c, br, nil
}

// do sends request i and records its outcome.
func (wk *worker) do(i int) {
	g := wk.g
	rec := &g.recs[i]
	sent := time.Now()
	rec.Sent = sent.Sub(g.start)
	deadline := sent.Add(g.cfg.Timeout)
	if !g.deadline.IsZero() {
		deadline = minTime(deadline, g.deadline)
	}
	var resp response
	var err, first error
	client := int32(-1)
	if g.idle != nil {
		client = g.cfg.Workload.Requests[i%len(g.cfg.Workload.Requests)].Client
		if c, br := g.idle.take(client); c != nil {
			wk.adopt(c, br)
		}
	}
	for attempt := 0; ; attempt++ {
		var c net.Conn
		var br *bufio.Reader
		c, br, err = wk.conn(deadline)
		if err != nil {
			break
		}
		reused := wk.reused
		if _, err = c.Write(g.request(i)); err == nil {
			resp, err = readResponse(br, false)
		}
		if err == nil {
			wk.reused = true
			if g.cfg.HTTP10 || !resp.keepAlive {
				wk.awaitClose(c, br)
				wk.closeConn()
			} else if g.idle != nil {
				if c, br := wk.detach(); c != nil {
					g.idle.put(client, c, br)
				}
			}
			break
		}
		wk.closeConn()
		if !reused || resp.started || attempt > 0 || g.ctx.Err() != nil || !retriable(err) {
			break
		}
		first = err
		resp = response{}
		g.retries.Add(1)
	}
	if errors.Is(err, errStopped) {
		if first == nil { // the run ended before it had a connection
			rec.Sent = -1
			return
		}
		err = fmt.Errorf("%w, not resent: the run ended", first)
		first = nil
	}
	rec.Done = time.Since(g.start)
	rec.Status, rec.Bytes, rec.Hit = resp.status, resp.bytes, resp.hit
	switch {
	case err != nil:
		rec.Reason = g.reason(err)
		rec.Err = err.Error()
		if first != nil {
			rec.Err += " (on a new connection, after " + first.Error() + " on a kept-alive one)"
		}
	case resp.status != 200:
		rec.Reason = fmt.Sprintf("status_%03d", resp.status)
		rec.Err = fmt.Sprintf("HTTP status %d", resp.status)
	}
}

// retriable reports whether a failure on a reused connection before any
// byte of the response is the server having closed it while idle.
func retriable(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// reason classifies a request's error.
func (g *gen) reason(err error) string {
	if g.over() && (isTimeout(err) || errors.Is(err, context.Canceled) || errors.Is(err, errStopped)) {
		return g.endReason()
	}
	var de *dialErr
	if errors.As(err, &de) {
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return ReasonRefused
		case errors.Is(err, syscall.ECONNRESET):
			// The handshake completed into a listener that closed before
			// accepting: the kernel reset the connection while it was
			// being reported as connected.
			return ReasonReset
		case isTimeout(err):
			return ReasonConnectTimeout
		}
		return ReasonConnect
	}
	switch {
	case errors.Is(err, errBadResponse):
		return ReasonBadResponse
	case isTimeout(err):
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return ReasonReset
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonClosed
	}
	return ReasonIO
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// WaitReady waits until rawURL (http://HOST[:PORT]) accepts a TCP
// connection, trying every 50 ms for at most wait; dial nil is a
// net.Dialer. It returns the last connection error if the time runs out.
func WaitReady(ctx context.Context, rawURL string, wait time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) error {
	addr, err := hostPort(rawURL)
	if err != nil {
		return err
	}
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		c, err := dial(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load: %s does not accept connections after %v: %w", addr, wait, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
