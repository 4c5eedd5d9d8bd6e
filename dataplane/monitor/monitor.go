package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/internal/probe"
)

// Report is the JSON a back end's load endpoint returns: the contract
// between the director's monitor and the back ends (lvslab backend serves
// it at GET /lvslab/load). Every field is optional; an absent field was
// not measured. Other fields are ignored.
type Report struct {
	// Active is the work in progress: connections open or requests in
	// service.
	Active *float64 `json:"active"`
	// CPUUtil and DiskUtil are the busy fractions of the processor and the
	// disk over the back end's recent past, 0 to 1.
	CPUUtil  *float64 `json:"cpu_util"`
	DiskUtil *float64 `json:"disk_util"`
	// CPUQueue and DiskQueue are the jobs waiting for or in service at the
	// processor and the disk (a run queue, as a load average counts).
	CPUQueue  *float64 `json:"cpu_queue"`
	DiskQueue *float64 `json:"disk_queue"`
	// Served is the number of requests served since the back end started
	// (a counter; the monitor takes its rate).
	Served *float64 `json:"served"`
}

// Config configures a Monitor; the yaml tags are the services file's
// "monitor:" block. The zero value of every field selects its default.
type Config struct {
	// Path is the load endpoint's path. Default "/lvslab/load".
	Path string `yaml:"path" json:"path,omitempty"`
	// Port is the load endpoint's port; 0 is the server's own port.
	Port int `yaml:"port" json:"port,omitempty"`
	// Interval is the time between two polls. Default 5 s (the thesis
	// polls every 2 to 10 s).
	Interval time.Duration `yaml:"interval" json:"interval_ns,omitempty"`
	// Timeout bounds one poll of one back end; a back end that does not
	// answer in time is unresponsive. Default 1 s, at most Interval.
	Timeout time.Duration `yaml:"timeout" json:"timeout_ns,omitempty"`
	// Window is the span of the moving average in intervals: each poll's
	// value has weight 1/Window. Default 12 (thesis §4.3: the load
	// averaged over the past minute at a 5 s interval).
	Window int `yaml:"window" json:"window,omitempty"`
}

// Defaults.
const (
	DefaultPath     = "/lvslab/load"
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = time.Second
	DefaultWindow   = 12
	// TargetLoad is the normalised value of a server at the cluster's mean:
	// DFLB's target aggregate load, so that a server at the mean keeps its
	// weight (docs/reference-model.md, DFLB).
	TargetLoad = 0.95
)

// maxReport bounds a load report's size.
const maxReport = 64 << 10

// Resolve returns c with its defaults, or an error naming the bad key.
func (c Config) Resolve() (Config, error) {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " \r\n\t") {
		return c, fmt.Errorf("path %q: want an absolute path without spaces", c.Path)
	}
	if c.Port < 0 || c.Port > 65535 {
		return c, fmt.Errorf("port %d: want 1 to 65535 (0: the server's port)", c.Port)
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = min(DefaultTimeout, c.Interval)
	}
	switch {
	case c.Interval < time.Millisecond:
		return c, fmt.Errorf("interval %v: must be at least 1ms (write a unit: 5s)", c.Interval)
	case c.Timeout < time.Millisecond || c.Timeout > c.Interval:
		return c, fmt.Errorf("timeout %v: must be between 1ms and the interval (%v)", c.Timeout, c.Interval)
	case c.Window < 0:
		return c, fmt.Errorf("window %d: must be >= 1 (0: %d)", c.Window, DefaultWindow)
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	return c, nil
}

// Target is what a monitor feeds: the live host of one service
// (*dataplane.Service). Stats names the servers to poll.
type Target interface {
	Stats() []dataplane.ServerStats
	Feedback(loads []algorithms.Load) (bool, error)
}

// Options are the monitor's run-time hooks; the zero value uses the real
// clock and network and logs nothing.
type Options struct {
	Name string           // prefixes log lines
	Now  func() time.Time // the clock of the served rate; nil: time.Now
	Dial probe.DialFunc   // nil: a net.Dialer
	Logf func(format string, args ...any)
}

// Monitor polls the back ends' load endpoints and feeds the service's
// scheduler (DFLB). It is safe for concurrent use.
type Monitor struct {
	target Target
	cfg    Config
	opt    Options

	mu     sync.Mutex
	m      maths
	served map[algorithms.ServerID]servedAt
	silent map[algorithms.ServerID]bool // unresponsive at the last poll
	last   []algorithms.Load
}

type servedAt struct {
	n  float64
	at time.Time
}

// New returns a monitor of t's servers.
func New(t Target, cfg Config, opt Options) (*Monitor, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Dial == nil {
		opt.Dial = probe.Dial
	}
	return &Monitor{
		target: t, cfg: cfg, opt: opt, m: newMaths(cfg.Window, TargetLoad),
		served: map[algorithms.ServerID]servedAt{}, silent: map[algorithms.ServerID]bool{},
	}, nil
}

// Config returns the resolved configuration.
func (m *Monitor) Config() Config { return m.cfg }

// Run polls every Interval, the first poll one Interval after the start,
// until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	tk := time.NewTicker(m.cfg.Interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := m.Poll(ctx); err != nil && ctx.Err() == nil {
				m.logf("monitor: %v", err)
			}
		}
	}
}

// Last returns the loads passed to the scheduler by the last poll.
func (m *Monitor) Last() []algorithms.Load {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]algorithms.Load(nil), m.last...)
}

func (m *Monitor) logf(format string, args ...any) {
	if m.opt.Logf == nil {
		return
	}
	if m.opt.Name != "" {
		format = m.opt.Name + ": " + format
	}
	m.opt.Logf(format, args...)
}

// Poll polls every server once, in parallel, and passes the loads to the
// scheduler.
func (m *Monitor) Poll(ctx context.Context) error {
	stats := m.target.Stats()
	reports := make([]*Report, len(stats))
	errs := make([]error, len(stats))
	var wg sync.WaitGroup
	for i, st := range stats {
		wg.Go(func() { reports[i], errs[i] = m.fetch(ctx, st.Addr) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	now := m.opt.Now()

	m.mu.Lock()
	samples := make([]sample, len(stats))
	seen := make(map[algorithms.ServerID]bool, len(stats))
	for i, st := range stats {
		seen[st.ID] = true
		s := sample{id: st.ID}
		if errs[i] != nil {
			if !m.silent[st.ID] {
				m.logf("monitor: %s is unresponsive (%v): DFLB weight 0 until it answers", st.Addr, errs[i])
			}
			m.silent[st.ID] = true
			samples[i] = s
			continue
		}
		if m.silent[st.ID] {
			m.logf("monitor: %s answers again", st.Addr)
			delete(m.silent, st.ID)
		}
		s.responsive = true
		s.fill(reports[i], m.served, now)
		samples[i] = s
	}
	for id := range m.served {
		if !seen[id] {
			delete(m.served, id)
			delete(m.silent, id)
		}
	}
	loads := m.m.tick(samples)
	m.last = loads
	m.mu.Unlock()

	_, err := m.target.Feedback(loads)
	return err
}

// fetch gets and decodes one server's report.
func (m *Monitor) fetch(ctx context.Context, addr netip.AddrPort) (*Report, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	port := addr.Port()
	if m.cfg.Port != 0 {
		port = uint16(m.cfg.Port)
	}
	target := netip.AddrPortFrom(addr.Addr(), port).String()
	code, body, err := probe.Get(ctx, m.opt.Dial, target, target, m.cfg.Path, maxReport)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET %s: status %d", m.cfg.Path, code)
	}
	r, err := ParseReport(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", m.cfg.Path, err)
	}
	return r, nil
}

// ParseReport decodes a load report. Values must be finite and >= 0.
func ParseReport(body []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("not a load report: %v", err)
	}
	for _, v := range []*float64{r.Active, r.CPUUtil, r.DiskUtil, r.CPUQueue, r.DiskQueue, r.Served} {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0) {
			return nil, fmt.Errorf("not a load report: %v is negative or not finite", *v)
		}
	}
	return &r, nil
}
