package algotest

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
)

// DefaultSeed is the seed of the random pools and request streams when
// neither the -algotest.seed flag nor the [Seed] option sets one.
const DefaultSeed uint64 = 20000601

var seedFlag = flag.Uint64("algotest.seed", DefaultSeed, "seed of algotest's random pools and request streams")

// Option adjusts [Run] and [Compare].
type Option func(*config)

type config struct {
	seed      uint64
	seedSet   bool
	steps     int
	scenarios int
	static    bool
	coprime   bool
	noHerding bool // RunConcurrent: check the spread of simultaneous requests
	split     bool // RunConcurrent: a broken host (tests of the suite)
}

// Seed sets the seed of the random pools and request streams, overriding
// the -algotest.seed flag.
func Seed(seed uint64) Option {
	return func(c *config) { c.seed, c.seedSet = seed, true }
}

// Steps sets the number of requests in each random scenario (default 1500).
func Steps(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.steps = n
		}
	}
}

// Scenarios sets the number of random scenarios (default 4), each with its
// own pool and request stream.
func Scenarios(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.scenarios = n
		}
	}
}

// Static keeps the pool's membership, weights, availability and thresholds
// fixed during a random scenario: only the connection counters, the
// OVERLOAD flags they drive (servers may have connection thresholds) and
// the measured loads move. [Compare] uses it for schedulers whose reaction
// to a pool change is a policy choice rather than part of the algorithm.
func Static() Option {
	return func(c *config) { c.static = true }
}

// CoprimeWeights makes the positive weights of every random pool have a
// gcd of 1 (one server's weight is set to 1 when they do not). The
// thesis's WRR loop, which steps the current weight by 1, and IPVS's,
// which steps it by the gcd, give the same sequence only then.
func CoprimeWeights() Option {
	return func(c *config) { c.coprime = true }
}

func newConfig(t testing.TB, opts []Option) config {
	t.Helper()
	c := config{steps: 1500, scenarios: 4}
	for _, o := range opts {
		o(&c)
	}
	if !c.seedSet {
		c.seed = *seedFlag
	}
	if c.seed != DefaultSeed {
		t.Logf("algotest seed %d (default %d)", c.seed, DefaultSeed)
	}
	return c
}

// Run checks that the schedulers built by newSched keep the contract of
// [algorithms.Scheduler]; see the package documentation for the list. Each
// property is a subtest. newSched must return a fresh, independent instance
// on every call.
func Run(t *testing.T, newSched func() (algorithms.Scheduler, error), opts ...Option) {
	t.Helper()
	cfg := newConfig(t, opts)
	mk := func(t *testing.T) algorithms.Scheduler {
		t.Helper()
		s, err := newSched()
		if err != nil {
			t.Fatalf("building the scheduler: %v", err)
		}
		if s == nil {
			t.Fatal("building the scheduler returned a nil Scheduler and no error")
		}
		return s
	}

	t.Run("Name", func(t *testing.T) {
		s := mk(t)
		name := s.Name()
		if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t\n") {
			t.Errorf("Name() = %q, want a non-empty lower-case name without spaces", name)
		}
	})

	t.Run("EmptyPool", func(t *testing.T) {
		p, err := algorithms.NewPool()
		if err != nil {
			t.Fatal(err)
		}
		l := newLane(mk(t), p)
		g := newGen(cfg.seed, 100, false)
		for i := range 20 {
			g.tick()
			r := g.request(p)
			out := l.schedule(t, g.now, &r)
			if out.kind == pick || out.kind == otherErr {
				t.Fatalf("request %d %s on an empty pool: got %v, want ErrNoServer or ErrBypass", i, fmtRequest(&r), out)
			}
		}
	})

	t.Run("NoUsableServer", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			warm   bool
			spoil  func(p *algorithms.Pool, i int, id algorithms.ServerID) error
			keepUp int // index of the one server left usable, or -1
		}{
			{name: "AllDown", spoil: spoilDown, keepUp: -1},
			{name: "AllWeightZero", spoil: spoilWeight, keepUp: -1},
			{name: "AllOverloaded", spoil: spoilOverload, keepUp: -1},
			{name: "Mixed", spoil: spoilMixed, keepUp: -1},
			{name: "AllDownAfterUse", warm: true, spoil: spoilDown, keepUp: -1},
			{name: "AllWeightZeroAfterUse", warm: true, spoil: spoilWeight, keepUp: -1},
			{name: "AllOverloadedAfterUse", warm: true, spoil: spoilOverload, keepUp: -1},
			{name: "MixedAfterUse", warm: true, spoil: spoilMixed, keepUp: -1},
			{name: "OneUsable", spoil: spoilMixed, keepUp: 2},
			{name: "OneUsableAfterUse", warm: true, spoil: spoilMixed, keepUp: 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := healthyPool(t, 5)
				l := newLane(mk(t), p)
				g := newGen(cfg.seed, 101, false)
				if tc.warm {
					for range 60 {
						g.tick()
						r := g.request(p)
						l.step(t, g.now, &r, g.life())
					}
					// End the work in flight, so that no threshold
					// clears while the pool has no usable server.
					g.now += time.Hour
					l.advance(t, g.now)
				}
				for i, s := range slices.Clone(p.Servers()) {
					if i == tc.keepUp {
						continue
					}
					if err := tc.spoil(p, i, s.ID); err != nil {
						t.Fatal(err)
					}
				}
				for i := range 40 {
					g.tick()
					r := g.request(p)
					out := l.step(t, g.now, &r, g.life())
					if tc.keepUp < 0 && out.kind != noServer && out.kind != bypass {
						t.Fatalf("request %d %s with no usable server: got %v, want ErrNoServer or ErrBypass\npool: %s",
							i, fmtRequest(&r), out, fmtPool(p.Servers()))
					}
				}
			})
		}
	})

	t.Run("Healthy", func(t *testing.T) {
		// A fresh scheduler on a pool of idle, usable servers must serve
		// ordinary requests; a scheduler that always refuses fails here.
		p := healthyPool(t, 4)
		l := newLane(mk(t), p)
		g := newGen(cfg.seed, 102, false)
		if n := l.countPicks(t, g, p, 20); n == 0 {
			t.Fatalf("no request out of 20 was given a server on a healthy pool\npool: %s", fmtPool(p.Servers()))
		}
	})

	t.Run("Recovery", func(t *testing.T) {
		p := healthyPool(t, 4)
		l := newLane(mk(t), p)
		g := newGen(cfg.seed, 103, false)
		l.countPicks(t, g, p, 20)
		for _, s := range slices.Clone(p.Servers()) {
			if err := p.SetDown(s.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.countPicks(t, g, p, 20); n != 0 {
			t.Fatalf("%d requests were given a server while every server was down", n)
		}
		for _, s := range slices.Clone(p.Servers()) {
			if err := p.SetDown(s.ID, false); err != nil {
				t.Fatal(err)
			}
		}
		g.now += 10 * time.Minute
		if n := l.countPicks(t, g, p, 20); n == 0 {
			t.Fatalf("no request out of 20 was given a server after every server came back up\npool: %s", fmtPool(p.Servers()))
		}
	})

	t.Run("MappedServerLost", func(t *testing.T) {
		// Locality and hashing schedulers remember where a key went; once
		// that server is unusable or gone they must not send the key there.
		for _, way := range []struct {
			name  string
			spoil func(p *algorithms.Pool, id algorithms.ServerID) error
		}{
			{"Down", func(p *algorithms.Pool, id algorithms.ServerID) error { return p.SetDown(id, true) }},
			{"WeightZero", func(p *algorithms.Pool, id algorithms.ServerID) error { return p.SetWeight(id, 0) }},
			{"Overloaded", func(p *algorithms.Pool, id algorithms.ServerID) error { return spoilOverload(p, 0, id) }},
			{"Removed", func(p *algorithms.Pool, id algorithms.ServerID) error { return p.Remove(id) }},
		} {
			t.Run(way.name, func(t *testing.T) {
				g := newGen(cfg.seed, 104, false)
				for k := range 6 {
					p := healthyPool(t, 5)
					l := newLane(mk(t), p)
					r := g.request(p)
					r.Key, r.NoCache, r.Class, r.HasLocal = urls[k], false, "", false
					var last algorithms.ServerID
					picked := false
					for range 3 {
						g.tick()
						rr := r
						if out := l.step(t, g.now, &rr, 0); out.kind == pick {
							last, picked = out.id, true
						}
					}
					if !picked {
						continue
					}
					if err := way.spoil(p, last); err != nil {
						t.Fatal(err)
					}
					for range 3 {
						g.tick()
						rr := r
						// step fails the test if the pick is not a usable member.
						l.step(t, g.now, &rr, 0)
					}
				}
			})
		}
	})

	t.Run("Random", func(t *testing.T) {
		for sc := range cfg.scenarios {
			g := newGen(cfg.seed, uint64(1000+sc), false)
			p := g.initialPool(t)
			l := newLane(mk(t), p)
			for range cfg.steps {
				g.stepAll(t, []*lane{l}, nil)
			}
		}
	})

	t.Run("Deterministic", func(t *testing.T) {
		// One instance alone, then two fresh instances side by side (which
		// catches state shared between instances): identical answers.
		const sc = 2000
		var solo []outcome
		g := newGen(cfg.seed, sc, false)
		l := newLane(mk(t), g.initialPool(t))
		for range cfg.steps {
			solo = append(solo, g.stepAll(t, []*lane{l}, nil)[0])
		}
		g = newGen(cfg.seed, sc, false)
		p := g.initialPool(t)
		a, b := newLane(mk(t), p), newLane(mk(t), p.Clone())
		for i := range cfg.steps {
			g.stepAll(t, []*lane{a, b}, func(req *algorithms.Request, outs []outcome, before []algorithms.Server) {
				if outs[0] != solo[i] || outs[1] != solo[i] {
					t.Fatalf("step %d, request %s: a fresh instance answered %v alone but %v and %v side by side with another\npool before: %s",
						i, fmtRequest(req), solo[i], outs[0], outs[1], fmtPool(before))
				}
			})
		}
	})
}

// Compare runs the schedulers built by got and want in lockstep on the
// same randomized pools and request streams, each on its own copy of the
// pool with Begin/End bookkeeping, and fails at the first request where
// their answers differ (a different server, or a pick against a refusal).
// Both must also keep the conformance rules checked by [Run].
func Compare(t *testing.T, got, want func() (algorithms.Scheduler, error), opts ...Option) {
	t.Helper()
	cfg := newConfig(t, opts)
	build := func(f func() (algorithms.Scheduler, error)) algorithms.Scheduler {
		t.Helper()
		s, err := f()
		if err != nil {
			t.Fatalf("building a scheduler: %v", err)
		}
		return s
	}
	for sc := range cfg.scenarios {
		g := newGen(cfg.seed, uint64(3000+sc), cfg.static)
		g.coprime = cfg.coprime
		p := g.initialPool(t)
		a, b := newLane(build(got), p), newLane(build(want), p.Clone())
		var hist []string
		for i := range cfg.steps {
			g.stepAll(t, []*lane{a, b}, func(req *algorithms.Request, outs []outcome, before []algorithms.Server) {
				if outs[0] != outs[1] {
					t.Fatalf("scenario %d (seed %d), step %d at %v, request %s:\n%s answered %v, %s answered %v\npool before: %s\nprevious answers (oldest first): %s",
						sc, cfg.seed, i, g.now, fmtRequest(req), a.s.Name(), outs[0], b.s.Name(), outs[1],
						fmtPool(before), strings.Join(hist, " "))
				}
				hist = append(hist, outs[0].String())
				if len(hist) > 12 {
					hist = hist[1:]
				}
			})
		}
	}
}

// outcome is one answer of a scheduler.
type outcome struct {
	kind int
	id   algorithms.ServerID
	msg  string // for otherErr
}

const (
	pick = iota
	noServer
	bypass
	otherErr
)

func (o outcome) String() string {
	switch o.kind {
	case pick:
		return fmt.Sprintf("server %d", o.id)
	case noServer:
		return "ErrNoServer"
	case bypass:
		return "ErrBypass"
	}
	return "error " + o.msg
}

// lane is one scheduler instance with the host state around it.
type lane struct {
	s     algorithms.Scheduler
	pool  *algorithms.Pool
	conns []conn
}

// conn is work in flight on a server, as a host tracks it.
type conn struct {
	id       algorithms.ServerID
	cost     int
	end      time.Duration
	linger   time.Duration // time spent as an inactive connection after end
	inactive bool
}

func newLane(s algorithms.Scheduler, p *algorithms.Pool) *lane { return &lane{s: s, pool: p} }

// schedule calls Schedule once and checks the contract: no panic, no error
// other than ErrNoServer/ErrBypass, a pick is a usable member, neither the
// pool nor the request is modified.
func (l *lane) schedule(t testing.TB, now time.Duration, r *algorithms.Request) outcome {
	t.Helper()
	before := slices.Clone(l.pool.Servers())
	gen := l.pool.Generation()
	req := *r
	id, panicked, stack, err := safeSchedule(l.s, now, r, l.pool)
	if panicked != nil {
		t.Fatalf("%s panicked at %v on request %s: %v\npool: %s\n%s", l.s.Name(), now, fmtRequest(&req), panicked, fmtPool(before), stack)
	}
	if !slices.Equal(before, l.pool.Servers()) || gen != l.pool.Generation() {
		t.Fatalf("%s modified the pool in Schedule at %v (request %s)\nbefore: %s\nafter:  %s",
			l.s.Name(), now, fmtRequest(&req), fmtPool(before), fmtPool(l.pool.Servers()))
	}
	if *r != req {
		t.Fatalf("%s modified the request in Schedule: %s became %s", l.s.Name(), fmtRequest(&req), fmtRequest(r))
	}
	switch {
	case err == nil:
		s := l.pool.Get(id)
		if s == nil {
			t.Fatalf("%s picked server %d, which is not in the pool, at %v for request %s\npool: %s",
				l.s.Name(), id, now, fmtRequest(&req), fmtPool(before))
		}
		if !s.Usable() {
			t.Fatalf("%s picked unusable server %s at %v for request %s\npool: %s",
				l.s.Name(), fmtServer(*s), now, fmtRequest(&req), fmtPool(before))
		}
		return outcome{kind: pick, id: id}
	case errors.Is(err, algorithms.ErrNoServer):
		return outcome{kind: noServer}
	case errors.Is(err, algorithms.ErrBypass):
		return outcome{kind: bypass}
	}
	t.Fatalf("%s returned an error that is neither ErrNoServer nor ErrBypass at %v for request %s: %v\npool: %s",
		l.s.Name(), now, fmtRequest(&req), err, fmtPool(before))
	return outcome{kind: otherErr, msg: err.Error()}
}

func safeSchedule(s algorithms.Scheduler, now time.Duration, r *algorithms.Request, p *algorithms.Pool) (id algorithms.ServerID, panicked any, stack []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked, stack = v, debug.Stack()
		}
	}()
	id, err = s.Schedule(now, r, p)
	return id, nil, nil, err
}

// step ends the work due by now, schedules r and, on a pick, begins it
// for life (0: it ends at once, after the pick).
func (l *lane) step(t testing.TB, now time.Duration, r *algorithms.Request, life time.Duration) outcome {
	t.Helper()
	l.advance(t, now)
	out := l.schedule(t, now, r)
	if out.kind == pick {
		cost := r.Units()
		if err := l.pool.Begin(out.id, cost); err != nil {
			t.Fatalf("host: Begin(%d, %d): %v", out.id, cost, err)
		}
		c := conn{id: out.id, cost: cost, end: now + life}
		if life == 0 {
			l.finish(t, c)
		} else {
			l.conns = append(l.conns, c)
		}
	}
	return out
}

// countPicks schedules n ordinary requests (cacheable, default class) and
// returns how many were given a server.
func (l *lane) countPicks(t testing.TB, g *gen, p *algorithms.Pool, n int) int {
	t.Helper()
	picks := 0
	for range n {
		g.tick()
		r := g.request(p)
		r.NoCache, r.Class = false, ""
		if l.step(t, g.now, &r, g.life()).kind == pick {
			picks++
		}
	}
	return picks
}

// advance ends the work due by now, in the order it began. A finished
// connection may linger as inactive (TIME_WAIT) before it goes.
func (l *lane) advance(t testing.TB, now time.Duration) {
	t.Helper()
	kept := l.conns[:0]
	for _, c := range l.conns {
		if c.end > now {
			kept = append(kept, c)
			continue
		}
		if !c.inactive {
			l.finish(t, c)
			if c.linger > 0 {
				if err := l.pool.Adjust(c.id, 0, 1); err != nil {
					t.Fatalf("host: Adjust(%d, 0, 1): %v", c.id, err)
				}
				c.inactive, c.end = true, c.end+c.linger
				if c.end > now {
					kept = append(kept, c)
					continue
				}
			} else {
				continue
			}
		}
		if err := l.pool.Adjust(c.id, 0, -1); err != nil {
			t.Fatalf("host: Adjust(%d, 0, -1): %v", c.id, err)
		}
	}
	l.conns = kept
}

func (l *lane) finish(t testing.TB, c conn) {
	t.Helper()
	if err := l.pool.End(c.id, c.cost); err != nil {
		t.Fatalf("host: End(%d, %d): %v", c.id, c.cost, err)
	}
}

// forget drops the work of a removed server.
func (l *lane) forget(id algorithms.ServerID) {
	l.conns = slices.DeleteFunc(l.conns, func(c conn) bool { return c.id == id })
}

// gen draws pools, pool changes and requests from one seeded stream. What
// it draws never depends on the schedulers' answers, so lanes in lockstep
// see identical streams for as long as they answer alike.
type gen struct {
	rng          *rand.Rand
	now          time.Duration
	nextID       algorithms.ServerID
	removed      []algorithms.ServerID
	static       bool
	coprime      bool
	lastFeedback time.Duration
}

func newGen(seed, stream uint64, static bool) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, stream)), static: static}
}

// urls are the request keys: a small set so that keys repeat, with
// dynamic targets, a fragment and an empty key.
var urls = []string{
	"/index.html", "/", "/images/logo.gif", "/images/bg.jpg", "/news/2000/06/01.html",
	"/cgi-bin/search?q=lvs", "/cgi-bin/counter", "/docs/thesis.ps", "/docs/thesis.ps?page=2",
	"/faq.html#top", "/style.css", "/video/big.mpg", "/~wensong/index.html", "",
}

var clients = []netip.Addr{
	netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.7.9"),
	netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("192.168.1.21"), netip.MustParseAddr("172.16.5.5"),
	netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2:1"), {},
}

var dests = []netip.Addr{
	netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2"), netip.MustParseAddr("10.1.0.3"),
	netip.MustParseAddr("2001:db8:1::80"), {},
}

var classes = []string{"", "", "cgi", "image", "other"}

// Dynamic reports whether a URL target is dynamic (thesis §6.3.5: it
// costs 2 connection units): it has a query or is under /cgi-bin/.
func Dynamic(key string) bool {
	return strings.Contains(key, "?") || strings.Contains(key, "cgi-bin")
}

func (g *gen) weight() int {
	switch r := g.rng.IntN(10); {
	case r == 0:
		return 0
	case r < 7:
		return 1 + g.rng.IntN(3)
	default:
		return 1 + g.rng.IntN(10)
	}
}

func (g *gen) server(id algorithms.ServerID) algorithms.Server {
	s := algorithms.Server{
		ID:     id,
		Weight: g.weight(),
		Addr:   netip.AddrFrom4([4]byte{10, 9, byte(id >> 8), byte(id)}),
	}
	if g.rng.IntN(3) == 0 {
		s.Low = 1 + g.rng.IntN(3)
		s.High = s.Low + 1 + g.rng.IntN(4)
	}
	if g.rng.IntN(4) == 0 {
		s.UpperThreshold = 3 + g.rng.IntN(8)
		s.LowerThreshold = g.rng.IntN(s.UpperThreshold)
	}
	return s
}

// initialPool draws 1-10 servers; IDs are 0, 1, ... (so that option
// tables naming small IDs match) or, in one pool out of four, sparse.
func (g *gen) initialPool(t testing.TB) *algorithms.Pool {
	t.Helper()
	n := 1 + g.rng.IntN(10)
	base, stride := 0, 1
	if g.rng.IntN(4) == 0 {
		base, stride = 100, 7
	}
	servers := make([]algorithms.Server, n)
	for i := range servers {
		servers[i] = g.server(algorithms.ServerID(base + i*stride))
	}
	g.nextID = algorithms.ServerID(base + n*stride)
	p, err := algorithms.NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := g.coprimeFix(p); ok {
		if err := p.SetWeight(p.At(c.idx).ID, c.a); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// coprimeFix returns the weight change that makes the gcd of the pool's
// positive weights 1 (down servers count as weight 0), if g.coprime asks
// for it and the gcd is not 1 already.
func (g *gen) coprimeFix(p *algorithms.Pool) (change, bool) {
	if !g.coprime {
		return change{}, false
	}
	d, first := 0, -1
	for i, s := range p.Servers() {
		if w := effectiveWeight(s); w > 0 {
			for a, b := w, d; ; {
				if b == 0 {
					d = a
					break
				}
				a, b = b, a%b
			}
			if first < 0 {
				first = i
			}
		}
	}
	if d <= 1 {
		return change{}, false
	}
	return change{kind: chWeight, idx: first, a: 1}, true
}

// healthyPool has n idle servers of weight 1..n, IDs 0..n-1.
func healthyPool(t testing.TB, n int) *algorithms.Pool {
	t.Helper()
	servers := make([]algorithms.Server, n)
	for i := range servers {
		servers[i] = algorithms.Server{ID: algorithms.ServerID(i), Weight: 1 + i%3,
			Addr: netip.AddrFrom4([4]byte{10, 9, 0, byte(i)})}
	}
	p, err := algorithms.NewPool(servers...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tick advances the clock: often a little, sometimes not at all (a burst),
// sometimes by minutes (so that expiry timers fire).
func (g *gen) tick() {
	switch r := g.rng.IntN(100); {
	case r < 15:
	case r < 97:
		g.now += time.Duration(g.rng.IntN(800)) * time.Millisecond
	default:
		g.now += 30*time.Second + time.Duration(g.rng.IntN(150))*time.Second
	}
}

// life is how long a picked request stays in service.
func (g *gen) life() time.Duration {
	return time.Millisecond + time.Duration(g.rng.ExpFloat64()*float64(8*time.Second))
}

func (g *gen) request(p *algorithms.Pool) algorithms.Request {
	r := algorithms.Request{
		Key:        urls[g.rng.IntN(len(urls))],
		Client:     clients[g.rng.IntN(len(clients))],
		ClientPort: uint16(1024 + g.rng.IntN(64)),
		Dest:       dests[g.rng.IntN(len(dests))],
		DestPort:   80,
		Cost:       1,
		Class:      classes[g.rng.IntN(len(classes))],
		NoCache:    g.rng.IntN(10) == 0,
	}
	if Dynamic(r.Key) {
		r.Cost = 2
	}
	if g.rng.IntN(10) == 0 {
		r.Cost = 0 // "zero means 1"
	}
	if g.rng.IntN(2) == 0 {
		r.HasLocal = true
		r.Local = 9999 // not a member
		if n := p.Len(); n > 0 && g.rng.IntN(5) != 0 {
			r.Local = p.At(g.rng.IntN(n)).ID
		}
	}
	return r
}

// change is one host-side pool change, drawn once and applied to the
// pool of every lane.
type change struct {
	kind   int
	idx    int // position of the server changed
	a, b   int
	load   float64
	server algorithms.Server
}

const (
	chAdd = iota
	chReAdd
	chRemove
	chWeight
	chDown
	chUp
	chThresholds
	chLoad
)

// changes draws the host's pool changes for one step: now and then one
// structural change, applied at once to every lane, then often a new load
// measurement for one server.
func (g *gen) changes(p *algorithms.Pool, apply func(change)) {
	if !g.static && g.rng.IntN(100) < 8 {
		g.structural(p, apply)
	}
	if n := p.Len(); n > 0 && g.rng.IntN(100) < 30 {
		apply(change{kind: chLoad, idx: g.rng.IntN(n), load: float64(g.rng.IntN(26)) / 10})
	}
}

// structural draws one change of membership, weight, availability or
// thresholds and applies it (then, with g.coprime, the weight change that
// keeps the gcd 1).
func (g *gen) structural(p *algorithms.Pool, apply func(change)) {
	n := p.Len()
	c := change{kind: g.rng.IntN(chLoad)}
	if n > 0 {
		c.idx = g.rng.IntN(n)
	}
	switch c.kind {
	case chAdd:
		c.server = g.server(g.nextID)
		g.nextID++
	case chReAdd:
		if len(g.removed) == 0 {
			c.kind = chAdd
			c.server = g.server(g.nextID)
			g.nextID++
			break
		}
		j := g.rng.IntN(len(g.removed))
		c.server = g.server(g.removed[j])
		g.removed = slices.Delete(g.removed, j, j+1)
	case chRemove:
		if n == 0 || (n == 1 && g.rng.IntN(3) != 0) {
			c.kind = chAdd
			c.server = g.server(g.nextID)
			g.nextID++
			break
		}
		g.removed = append(g.removed, p.At(c.idx).ID)
	case chWeight:
		c.a = g.weight()
	case chThresholds:
		if g.rng.IntN(3) == 0 {
			c.a, c.b = 0, 0
		} else {
			c.a = 1 + g.rng.IntN(8)
			c.b = g.rng.IntN(c.a)
		}
	}
	if n == 0 && c.kind != chAdd && c.kind != chReAdd {
		c.kind = chAdd
		c.server = g.server(g.nextID)
		g.nextID++
	}
	apply(c)
	if c, ok := g.coprimeFix(p); ok {
		apply(c)
	}
}

func (l *lane) apply(t testing.TB, c change) {
	t.Helper()
	if c.kind == chRemove {
		l.forget(l.pool.At(c.idx).ID)
	}
	if err := applyChange(l.pool, c); err != nil {
		t.Fatalf("host: %v", err)
	}
}

// applyChange makes change c to p.
func applyChange(p *algorithms.Pool, c change) error {
	var err error
	switch c.kind {
	case chAdd, chReAdd:
		err = p.Add(c.server)
	case chRemove:
		err = p.Remove(p.At(c.idx).ID)
	case chWeight:
		err = p.SetWeight(p.At(c.idx).ID, c.a)
	case chDown:
		err = p.SetDown(p.At(c.idx).ID, true)
	case chUp:
		err = p.SetDown(p.At(c.idx).ID, false)
	case chThresholds:
		err = p.SetThresholds(p.At(c.idx).ID, c.a, c.b)
	case chLoad:
		err = p.SetLoad(p.At(c.idx).ID, c.load)
	}
	if err != nil {
		return fmt.Errorf("pool change %d: %w", c.kind, err)
	}
	return nil
}

// feedback draws one load report per server, every 5 s of stream time.
func (g *gen) feedback(p *algorithms.Pool) []algorithms.Load {
	if g.now-g.lastFeedback < 5*time.Second {
		return nil
	}
	g.lastFeedback = g.now
	loads := make([]algorithms.Load, p.Len())
	for i, s := range p.Servers() {
		f := func() float64 { return float64(g.rng.IntN(21)) / 10 }
		loads[i] = algorithms.Load{ID: s.ID, Measured: algorithms.AllMetrics,
			Input: f(), CPU: f(), Disk: f(), Memory: f(), Process: f(), Response: f(),
			Responsive: g.rng.IntN(10) != 0}
	}
	return loads
}

// stepAll runs one step of a random scenario on every lane: the clock
// moves, due work ends, the pool changes, load feedback is delivered to
// schedulers that take it, and one request is scheduled on each lane.
// cmp, if not nil, sees the answers and the pool as it was before them.
func (g *gen) stepAll(t testing.TB, lanes []*lane, cmp func(*algorithms.Request, []outcome, []algorithms.Server)) []outcome {
	t.Helper()
	g.tick()
	p0 := lanes[0].pool
	for _, l := range lanes {
		l.advance(t, g.now)
	}
	g.changes(p0, func(c change) {
		for _, l := range lanes {
			l.apply(t, c)
		}
	})
	if loads := g.feedback(p0); loads != nil {
		for _, l := range lanes {
			if fb, ok := l.s.(algorithms.LoadFeedback); ok {
				if err := safeFeedback(fb, g.now, slices.Clone(loads), l.pool); err != nil {
					t.Fatalf("%s: Feedback at %v: %v", l.s.Name(), g.now, err)
				}
			}
		}
	}
	r := g.request(p0)
	life := g.life()
	linger := time.Duration(0)
	if g.rng.IntN(3) == 0 {
		linger = time.Duration(g.rng.IntN(4000)) * time.Millisecond
	}
	before := slices.Clone(p0.Servers())
	outs := make([]outcome, len(lanes))
	for i, l := range lanes {
		rr := r
		outs[i] = l.step(t, g.now, &rr, life)
		if outs[i].kind == pick && linger > 0 {
			l.conns[len(l.conns)-1].linger = linger
		}
	}
	if cmp != nil {
		cmp(&r, outs, before)
	}
	return outs
}

func safeFeedback(fb algorithms.LoadFeedback, now time.Duration, loads []algorithms.Load, p *algorithms.Pool) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return fb.Feedback(now, loads, p)
}

func spoilDown(p *algorithms.Pool, _ int, id algorithms.ServerID) error { return p.SetDown(id, true) }

func spoilWeight(p *algorithms.Pool, _ int, id algorithms.ServerID) error { return p.SetWeight(id, 0) }

// spoilOverload gives the server an upper threshold it has reached.
func spoilOverload(p *algorithms.Pool, _ int, id algorithms.ServerID) error {
	s := p.Get(id)
	if s == nil {
		return fmt.Errorf("no server %d", id)
	}
	upper := s.Active + s.Inactive + 1
	if err := p.SetThresholds(id, upper, 0); err != nil {
		return err
	}
	if err := p.Begin(id, 1); err != nil {
		return err
	}
	if !p.Get(id).Overloaded {
		return fmt.Errorf("server %d did not become overloaded", id)
	}
	return nil
}

func spoilMixed(p *algorithms.Pool, i int, id algorithms.ServerID) error {
	switch i % 3 {
	case 0:
		return spoilDown(p, i, id)
	case 1:
		return spoilWeight(p, i, id)
	}
	return spoilOverload(p, i, id)
}

func fmtServer(s algorithms.Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{id %d w %d act %d inact %d", s.ID, s.Weight, s.Active, s.Inactive)
	if s.Down {
		b.WriteString(" DOWN")
	}
	if s.Overloaded {
		b.WriteString(" OVERLOADED")
	}
	if s.UpperThreshold != 0 || s.LowerThreshold != 0 {
		fmt.Fprintf(&b, " thr %d/%d", s.LowerThreshold, s.UpperThreshold)
	}
	if s.Low != 0 || s.High != 0 {
		fmt.Fprintf(&b, " low/high %d/%d", s.Low, s.High)
	}
	if s.Load != 0 {
		fmt.Fprintf(&b, " load %g", s.Load)
	}
	b.WriteString("}")
	return b.String()
}

func fmtPool(servers []algorithms.Server) string {
	if len(servers) == 0 {
		return "(empty)"
	}
	parts := make([]string, len(servers))
	for i, s := range servers {
		parts[i] = fmtServer(s)
	}
	return strings.Join(parts, " ")
}

func fmtRequest(r *algorithms.Request) string {
	s := fmt.Sprintf("{key %q client %v:%d dest %v cost %d", r.Key, r.Client, r.ClientPort, r.Dest, r.Cost)
	if r.Class != "" {
		s += fmt.Sprintf(" class %q", r.Class)
	}
	if r.NoCache {
		s += " nocache"
	}
	if r.HasLocal {
		s += fmt.Sprintf(" local %d", r.Local)
	}
	return s + "}"
}
