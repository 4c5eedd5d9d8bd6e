package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/internal/probe"
)

// Target is what health checks act on: the live host of one virtual
// service. A *dataplane.Service satisfies it, for the layer-7 switch and
// the layer-4 director alike.
type Target interface {
	SetDown(id algorithms.ServerID, down bool) error
	SetWeight(id algorithms.ServerID, w int) error
}

// DialFunc opens a connection, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Options are a Group's run-time hooks. The zero value uses the real
// clock and network and logs nothing.
type Options struct {
	// Name prefixes log lines (the service's name).
	Name string
	// Now is the clock of the times reported (state changes, last check);
	// nil means time.Now. Checks are paced with package time's timers, so
	// tests run them under testing/synctest's fake time.
	Now func() time.Time
	// Dial opens check connections; nil means a net.Dialer.
	Dial DialFunc
	// Logf receives one line per state change; nil discards them.
	Logf func(format string, args ...any)
}

// Group runs the health checks of one service's real servers, one
// goroutine per checked server, and applies their verdicts to the target.
// It is also the way the administrator changes a checked server's weight
// (SetWeight), so that a weight set while the server is inhibited is the
// one restored when it comes back. It is safe for concurrent use.
type Group struct {
	target Target
	opt    Options

	mu     sync.Mutex // guards checks and every checker's state; held across Target calls
	checks map[algorithms.ServerID]*checker
	closed bool

	// observed holds the checkers with observe set, rebuilt (under mu) when
	// checks change, so that Observe reads it without the lock.
	observed atomic.Pointer[map[algorithms.ServerID]*checker]
}

// NewGroup returns a group with no checks.
func NewGroup(t Target, opt Options) *Group {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Dial == nil {
		var d net.Dialer
		opt.Dial = d.DialContext
	}
	return &Group{target: t, opt: opt, checks: map[algorithms.ServerID]*checker{}}
}

// checker is one server's check and state.
type checker struct {
	id       algorithms.ServerID
	addr     netip.AddrPort // the real server
	dialAddr string         // where the check connects
	cfg      Config         // resolved
	statuses Statuses
	cancel   context.CancelFunc
	done     chan struct{}
	nudge    chan struct{} // makes the next check run after FastInterval
	errs     atomic.Int64  // consecutive errors seen on live traffic
	verdicts uint64        // Observe's actions so far, guarded by Group.mu: a check begun before one is not counted
	observed atomic.Uint64 // errors seen on live traffic

	// Guarded by Group.mu.
	admin     int  // the administrator's weight
	up        bool // the check's verdict
	successes int  // consecutive, while down
	failures  int  // consecutive, while up
	since     time.Time
	last      time.Time
	lastErr   string
	checks    uint64
	failed    uint64
}

// Status is a checked server's state, for "lvslab ctl health" and list.
type Status struct {
	ID          algorithms.ServerID `json:"id"`
	Addr        netip.AddrPort      `json:"address"`
	Check       string              `json:"check"`      // "tcp", "http GET /health"
	Up          bool                `json:"up"`         // the check's verdict
	Since       time.Time           `json:"since"`      // of the verdict
	LastCheck   time.Time           `json:"last_check"` // zero before the first
	LastError   string              `json:"last_error,omitempty"`
	Successes   int                 `json:"successes"` // consecutive, counting towards rise while down
	Failures    int                 `json:"failures"`  // consecutive, counting towards fall while up
	Rise        int                 `json:"rise"`
	Fall        int                 `json:"fall"`
	Checks      uint64              `json:"checks"`
	Failed      uint64              `json:"failed"`
	Observed    uint64              `json:"observed_errors,omitempty"` // errors seen on live traffic (observe layer4)
	OnFailure   string              `json:"on_failure"`
	AdminWeight int                 `json:"admin_weight"`
}

// Add starts checking server id at addr with cfg (Type "none": nothing is
// checked and Add only records nothing). weight is the administrator's
// weight, restored after an inhibited failure. With Initial "down" the
// failure action is applied before Add returns; the first check runs at
// once.
func (g *Group) Add(id algorithms.ServerID, addr netip.AddrPort, weight int, cfg Config) error {
	cfg, err := cfg.Resolve()
	if err != nil {
		return err
	}
	if cfg.Type == TypeNone {
		return nil
	}
	var statuses Statuses
	if cfg.Type == TypeHTTP {
		statuses, _ = ParseStatuses(cfg.Status) // checked by Resolve
	}
	port := addr.Port()
	if cfg.Port != 0 {
		port = uint16(cfg.Port)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{
		id: id, addr: addr, dialAddr: netip.AddrPortFrom(addr.Addr(), port).String(),
		cfg: cfg, statuses: statuses, cancel: cancel, done: make(chan struct{}), nudge: make(chan struct{}, 1),
		admin: weight, up: cfg.Initial == InitialUp, since: g.opt.Now(),
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		cancel()
		return errors.New("health: group closed")
	}
	if _, dup := g.checks[id]; dup {
		cancel()
		return fmt.Errorf("health: server %d is already checked", id)
	}
	if !c.up {
		if err := g.apply(c); err != nil {
			cancel()
			return err
		}
	}
	g.checks[id] = c
	g.indexObserved()
	go c.run(ctx, g)
	return nil
}

// indexObserved rebuilds the map that Observe reads. Called with g.mu held.
func (g *Group) indexObserved() {
	m := map[algorithms.ServerID]*checker{}
	for id, c := range g.checks {
		if c.cfg.Observe == ObserveLayer4 {
			m[id] = c
		}
	}
	g.observed.Store(&m)
}

// Observe reports the outcome of one use of server id by live traffic
// (observe layer4): err is nil when a connection to it succeeded (the
// layer-7 switch: a response head arrived on it), else why it failed.
// ErrorLimit consecutive errors apply the check's OnError to a server that
// is up. Servers without observe are ignored, and a success costs an
// atomic load, so the forwarding path may call it on every new connection.
func (g *Group) Observe(id algorithms.ServerID, err error) {
	m := g.observed.Load()
	if m == nil {
		return
	}
	c := (*m)[id]
	if c == nil {
		return
	}
	if err == nil {
		if c.errs.Load() != 0 {
			c.errs.Store(0)
		}
		return
	}
	c.observed.Add(1)
	if c.errs.Add(1) < int64(c.cfg.ErrorLimit) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.checks[id] != c {
		return // removed meanwhile
	}
	if c.errs.Load() < int64(c.cfg.ErrorLimit) {
		return // another caller acted on this run of errors
	}
	c.errs.Store(0)
	if !c.up {
		return
	}
	c.verdicts++
	switch c.cfg.OnError {
	case OnErrorFailCheck:
		c.failures++
	case OnErrorSuddenDeath:
		// HAProxy: health drops to just above the fall point, and the
		// error then counts as a failed check.
		c.failures = max(c.failures+1, c.cfg.Fall-1)
	case OnErrorMarkDown:
		c.failures = c.cfg.Fall
	}
	if c.failures >= c.cfg.Fall {
		c.up, c.failures, c.since = false, 0, g.opt.Now()
		aerr := g.apply(c)
		g.logObserved(c, err, aerr)
	}
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

// Remove stops checking server id and waits for its goroutine; the
// server's state in the target is left as it is (the caller is usually
// removing the server). Unknown IDs are ignored.
func (g *Group) Remove(id algorithms.ServerID) {
	g.mu.Lock()
	c := g.checks[id]
	delete(g.checks, id)
	g.indexObserved()
	g.mu.Unlock()
	if c != nil {
		c.cancel()
		<-c.done
	}
}

// Close stops every check and waits for them.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	cs := make([]*checker, 0, len(g.checks))
	for id, c := range g.checks {
		cs = append(cs, c)
		delete(g.checks, id)
	}
	g.indexObserved()
	g.mu.Unlock()
	for _, c := range cs {
		c.cancel()
	}
	for _, c := range cs {
		<-c.done
	}
}

// SetWeight sets the administrator's weight of server id. A checked server
// that is inhibited keeps weight 0 until it comes back, then gets w;
// otherwise w goes to the target at once.
func (g *Group) SetWeight(id algorithms.ServerID, w int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.checks[id]
	if c != nil && !c.up && c.cfg.OnFailure == ActionInhibit {
		if w < 0 || w > algorithms.MaxWeight {
			return fmt.Errorf("health: weight %d is not between 0 and %d", w, algorithms.MaxWeight)
		}
		c.admin = w
		return nil
	}
	if err := g.target.SetWeight(id, w); err != nil {
		return err
	}
	if c != nil {
		c.admin = w
	}
	return nil
}

// Status returns the state of every checked server, by ID.
func (g *Group) Status() []Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Status, 0, len(g.checks))
	for _, c := range g.checks {
		out = append(out, Status{
			ID: c.id, Addr: c.addr, Check: c.cfg.Describe(), Up: c.up, Since: c.since, LastCheck: c.last,
			LastError: c.lastErr, Successes: c.successes, Failures: c.failures, Rise: c.cfg.Rise, Fall: c.cfg.Fall,
			Checks: c.checks, Failed: c.failed, Observed: c.observed.Load(), OnFailure: c.cfg.OnFailure, AdminWeight: c.admin,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// apply makes the target match c's verdict. Called with g.mu held.
func (g *Group) apply(c *checker) error {
	if c.cfg.OnFailure == ActionInhibit {
		w := 0
		if c.up {
			w = c.admin
		}
		return g.target.SetWeight(c.id, w)
	}
	return g.target.SetDown(c.id, !c.up)
}

// run checks until ctx ends: the first check at once, then one every
// Interval (FastInterval while the state is changing) from the start of
// the previous one; errors seen on live traffic (Observe) bring the next
// check forward to FastInterval after the previous one.
func (c *checker) run(ctx context.Context, g *Group) {
	defer close(c.done)
	t := time.NewTimer(0)
	defer t.Stop()
	var start time.Time
	due := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.nudge:
			if fast := start.Add(c.cfg.FastInterval); fast.Before(due) {
				due = fast
				t.Reset(max(0, time.Until(fast)))
			}
			continue
		case <-t.C:
		}
		start = time.Now()
		g.mu.Lock()
		verdicts := c.verdicts
		g.mu.Unlock()
		err := c.check(ctx, g.opt.Dial)
		if ctx.Err() != nil {
			return
		}
		next := g.record(c, err, verdicts)
		due = start.Add(next)
		t.Reset(max(0, time.Until(due)))
	}
}

// record counts one check's result, applies a state change, and returns
// the interval to the next check. verdicts is c.verdicts when the check
// began: a check that began before errors on live traffic acted (Observe)
// tells of an older state, so it is counted in the statistics but moves
// no count (else a probe answered just before a server died would bring
// back up, with rise 1, the server its traffic just took down).
func (g *Group) record(c *checker, err error, verdicts uint64) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.checks[c.id] != c {
		return c.cfg.Interval // removed meanwhile; run ends on ctx
	}
	now := g.opt.Now()
	c.last = now
	c.checks++
	if err != nil {
		c.failed++
		c.lastErr = err.Error()
	} else {
		c.lastErr = ""
	}
	changed := false
	switch {
	case verdicts != c.verdicts:
		// Begun before errors on live traffic acted: an older state.
	case c.up && err != nil:
		c.failures++
		if c.failures >= c.cfg.Fall {
			c.up, c.failures, changed = false, 0, true
		}
	case c.up:
		c.failures = 0
	case err == nil:
		c.successes++
		if c.successes >= c.cfg.Rise {
			c.up, c.successes, changed = true, 0, true
		}
	default:
		c.successes = 0
	}
	if changed {
		c.since = now
		aerr := g.apply(c)
		g.logChange(c, err, aerr)
	}
	if c.failures > 0 || c.successes > 0 {
		return c.cfg.FastInterval
	}
	return c.cfg.Interval
}

func (g *Group) logChange(c *checker, err, aerr error) {
	if g.opt.Logf == nil {
		return
	}
	name, what := g.logPrefix(), downAction(c)
	if c.up {
		what = "marked up"
		if c.cfg.OnFailure == ActionInhibit {
			what = "weight " + strconv.Itoa(c.admin) + " restored"
		}
		g.opt.Logf("%shealth: %s is UP after %d successful %s checks; %s", name, c.addr, c.cfg.Rise, c.cfg.Type, what)
	} else {
		g.opt.Logf("%shealth: %s is DOWN after %d failed %s checks (%v); %s", name, c.addr, c.cfg.Fall, c.cfg.Type, err, what)
	}
	if aerr != nil {
		g.opt.Logf("%shealth: %s: %v", name, c.addr, aerr)
	}
}

// logPrefix is what starts a log line: the group's name, if any.
func (g *Group) logPrefix() string {
	if g.opt.Name == "" {
		return ""
	}
	return g.opt.Name + ": "
}

// downAction says what a server that failed gets.
func downAction(c *checker) string {
	if c.cfg.OnFailure == ActionInhibit {
		return "weight 0 (inhibited)"
	}
	return "marked down"
}

// logObserved logs a server taken down by errors on live traffic.
func (g *Group) logObserved(c *checker, err, aerr error) {
	if g.opt.Logf == nil {
		return
	}
	name, what := g.logPrefix(), downAction(c)
	g.opt.Logf("%shealth: %s is DOWN after %d consecutive errors on live traffic (%v; on_error %s); %s", name, c.addr, c.cfg.ErrorLimit, err, c.cfg.OnError, what)
	if aerr != nil {
		g.opt.Logf("%shealth: %s: %v", name, c.addr, aerr)
	}
}

// maxBody is the part of an http check's response body searched for Expect.
const maxBody = 64 << 10

// check runs one check: nil if the server passed.
func (c *checker) check(parent context.Context, dial DialFunc) error {
	ctx, cancel := context.WithTimeout(parent, c.cfg.Timeout)
	defer cancel()
	if c.cfg.Type != TypeHTTP {
		conn, err := dial(ctx, "tcp", c.dialAddr)
		if err != nil {
			if probe.TimedOut(ctx, err) {
				return fmt.Errorf("connect: timeout after %v", c.cfg.Timeout)
			}
			return fmt.Errorf("connect: %w", probe.Cause(err))
		}
		conn.Close()
		return nil
	}
	host := c.cfg.Host
	if host == "" {
		host = c.addr.String()
	}
	limit := int64(0)
	if c.cfg.Expect != "" {
		limit = maxBody
	}
	code, body, err := probe.Get(ctx, probe.DialFunc(dial), c.dialAddr, host, c.cfg.Path, limit)
	switch {
	case err != nil && code == 0:
		if probe.TimedOut(ctx, err) {
			return fmt.Errorf("%v after %v", err, c.cfg.Timeout)
		}
		return err
	case !c.statuses.Has(code):
		return fmt.Errorf("status %d, want %s", code, c.cfg.Status)
	case c.cfg.Expect != "" && !bytes.Contains(body, []byte(c.cfg.Expect)):
		if err != nil {
			return err
		}
		return fmt.Errorf("body does not contain %q", c.cfg.Expect)
	}
	return nil
}
