package workbench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/internal/atomicfile"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed"
)

// LiveRunOptions configure RunLive. The zero value of every field but
// RunDir selects its default.
type LiveRunOptions struct {
	// Binary is the lvslab executable started in the testbed's namespaces
	// ("lvslab backend", "lvslab director", "lvslab load"). Default: the
	// running executable.
	Binary string

	// RunDir is the cell's testbed run directory (testbed.Up): its state
	// file, the processes' logs (rs1.log ... dir.log, cl1.log), the
	// director's services file, the load generator's results (live.json)
	// and its record of every request (records.csv). Required.
	RunDir string

	// Prefix is the testbed's name prefix; "" draws a fresh one.
	Prefix string

	// TimeScale is the back ends' time scale (see TimeScale). Default
	// DefaultTimeScale.
	TimeScale TimeScale

	// Requests replays only the first Requests requests of the trace (0:
	// all of them). The simulation to compare with must get the same
	// prefix (TraceWithRequests).
	Requests int

	// ReadyTimeout bounds the wait for the back ends and the director to
	// answer. Default 60 s.
	ReadyTimeout time.Duration

	// Deadline, if not 0, is a hard deadline of the load (wall time):
	// requests in flight then fail and the rest are counted unsent.
	Deadline time.Duration

	// CheckServices, if not nil, checks the director's services file
	// before the testbed is built: the command passes the director's own
	// parser, so that an option the live director does not take fails
	// first, naming the key.
	CheckServices func(path string, data []byte) error

	// Log, if not nil, receives one line per step.
	Log io.Writer
}

// Defaults of live runs.
const (
	DefaultReadyTimeout = 60 * time.Second
	// LivePort is the port of the VIP and of every back end.
	LivePort = 80
	// liveReportPort is where, behind a VS/NAT director, the client reads
	// back end i's load report: VIP:liveReportPort+1+i, a one-server NAT
	// service of its own (the client cannot reach the server segment).
	liveReportPort = 9100
	// liveAgentStats is where each VS/TUN real server's tunnel agent
	// serves its counters (inside the server's namespace).
	liveAgentStats = "127.0.0.1:9180"
	// minHealthInterval is the shortest health-check interval of a live
	// run: a TCP probe per back end every 100 ms is negligible load.
	minHealthInterval = 100 * time.Millisecond
	healthTimeout     = time.Second
	// minConnectTimeout bounds the director's connect timeout to a back
	// end from below: the model's connect timeout (a dead host's
	// unanswered SYN) is divided by the time scale, but a live TCP
	// handshake on a busy machine takes wall time whatever the scale.
	minConnectTimeout = 250 * time.Millisecond
)

// File names in a live cell's run directory.
const (
	LiveServicesFile = "services.yaml"
	LiveResultFile   = "live.json"
	LiveRecordsFile  = "records.csv"
)

// LiveRun is what RunLive measured: the result in the simulator's schema
// and the account of every request.
type LiveRun struct {
	Result  *sim.Result
	Account Account
	RunDir  string
}

// Account is the fate of every request of a live run, read from the load
// generator's records: Requests = OK + Σ Failed + Unsent.
type Account struct {
	Requests int
	OK       int
	Unsent   int
	Failed   map[string]int // by reason (connect_refused, reset, status_502, ...)
	// FirstError holds, for each reason, the first failed request's
	// error as recorded.
	FirstError map[string]string
	// NoError counts failed requests recorded without an error (a bug of
	// the load generator if ever not 0).
	NoError int
}

// Sent is the number of requests sent.
func (a Account) Sent() int { return a.Requests - a.Unsent }

// FailedTotal is the number of requests sent that failed.
func (a Account) FailedTotal() int {
	n := 0
	for _, k := range a.Failed {
		n += k
	}
	return n
}

// Check returns an error if a request is unaccounted for or a failure has
// no error recorded.
func (a Account) Check() error {
	if got := a.OK + a.FailedTotal() + a.Unsent; got != a.Requests {
		return fmt.Errorf("%d requests, but %d ok + %d failed + %d unsent = %d", a.Requests, a.OK, a.FailedTotal(), a.Unsent, got)
	}
	if a.NoError > 0 {
		return fmt.Errorf("%d failed requests have no error recorded", a.NoError)
	}
	return nil
}

// String is a one-line account: "4662 requests: 4650 ok, 12 failed
// (connect_refused 3, status_502 9), 0 unsent".
func (a Account) String() string {
	s := fmt.Sprintf("%d requests: %d ok, %d failed", a.Requests, a.OK, a.FailedTotal())
	if len(a.Failed) > 0 {
		var parts []string
		for _, k := range slices.Sorted(mapKeys(a.Failed)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, a.Failed[k]))
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + fmt.Sprintf(", %d unsent", a.Unsent)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ReadAccount reads a load generator's records (CSV with a header; the
// columns "outcome" and "error"): outcome "ok", "unsent" or the failure's
// reason.
func ReadAccount(name string, r io.Reader) (Account, error) {
	a := Account{Failed: map[string]int{}, FirstError: map[string]string{}}
	cr := csv.NewReader(bufio.NewReader(r))
	head, err := cr.Read()
	if err != nil {
		return a, fmt.Errorf("%s: %w", name, err)
	}
	outcome, errCol := slices.Index(head, "outcome"), slices.Index(head, "error")
	if outcome < 0 || errCol < 0 {
		return a, fmt.Errorf("%s: not a load generator's records (no outcome and error columns)", name)
	}
	cr.FieldsPerRecord = len(head)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return a, fmt.Errorf("%s: %w", name, err)
		}
		a.Requests++
		switch o := row[outcome]; o {
		case "ok":
			a.OK++
		case "unsent":
			a.Unsent++
		case "":
			line, _ := cr.FieldPos(0)
			return a, fmt.Errorf("%s:%d: empty outcome", name, line)
		default:
			a.Failed[o]++
			if row[errCol] == "" {
				a.NoError++
			} else if _, ok := a.FirstError[o]; !ok {
				a.FirstError[o] = row[errCol]
			}
		}
	}
}

// RunLive runs cell c of experiment e live: it builds a testbed of
// c.Config.Nodes real servers in RunDir (LiveMode: a layer-7 testbed for
// the l7 front end, the forwarding method's for l4), starts, for VS/TUN,
// "lvslab tunnel-agent" in each real server's namespace, then "lvslab
// backend" there (the cell's trace, cache, policy and costs at the time
// scale), "lvslab director" in the director's namespace (the cell's
// scheduler and options, with times divided by the time scale; a TCP
// health check on every back end; for a scheduler that takes load
// feedback, the load monitor polling the back ends' load reports), waits
// until all answer, runs "lvslab load" in the client's namespace (closed
// loop of nodes × high requests over the cell's trace; for l4, HTTP/1.0
// when keep_alive is 0, else kept-alive connections), kills and restarts
// back ends at the cell's failure times, and takes the testbed down,
// whatever happens: an error, a panic, or ctx cancelled (Ctrl-C).
//
// The result is in model time (see TimeScale) and carries the cell's
// configuration; its per-node figures come from the back ends' load
// reports, which the client reads directly (the layer-7 testbed has one
// segment, and so have dr and tun), or through the director (nat: see
// ServicesFile), while its requests go to the VIP.
func RunLive(ctx context.Context, e *experiment.Experiment, c Cell, o LiveRunOptions) (run *LiveRun, err error) {
	if o.RunDir == "" {
		return nil, errors.New("live run: no run directory")
	}
	if o.TimeScale == 0 {
		o.TimeScale = DefaultTimeScale
	}
	if err := o.TimeScale.Check(); err != nil {
		return nil, fmt.Errorf("live run: %w", err)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Requests < 0 {
		return nil, fmt.Errorf("live run: %d requests: want 0 (all) or more", o.Requests)
	}
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("live run: the lvslab executable: %w", err)
		}
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "%s: "+format+"\n", append([]any{c}, args...)...)
		}
	}
	cfg := c.Config
	mode, err := LiveMode(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if cfg.Admission != sim.AdmissionClosed {
		return nil, fmt.Errorf("%s: admission %s: live runs replay the trace in a closed loop only", c, cfg.Admission)
	}
	spec, err := LiveTraceSpec(e, c)
	if err != nil {
		return nil, err
	}
	topo := testbed.Topology{Mode: mode, Servers: cfg.Nodes, Prefix: o.Prefix}
	if mode == testbed.L7 {
		topo.Segments = 1
	}
	topo, err = topo.Resolve()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	layout := topo.Layout()
	services, err := ServicesFile(cfg, layout, o.TimeScale)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	svcPath := filepath.Join(o.RunDir, LiveServicesFile)
	if err := os.MkdirAll(o.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("live run: %w", err)
	}
	if err := atomicfile.WriteFile(svcPath, services); err != nil {
		return nil, fmt.Errorf("live run: %w", err)
	}
	if o.CheckServices != nil {
		if err := o.CheckServices(svcPath, services); err != nil {
			read := "none"
			if names := ReadOptions(cfg.Algorithm, cfg.Options); len(names) > 0 {
				read = strings.Join(names, ", ")
			}
			return nil, fmt.Errorf("%s: the live director cannot run this cell: %w\n(the options scheduler %s reads: %s)", c, err, cfg.Algorithm, read)
		}
	}

	tb, err := testbed.Up(ctx, topo, o.RunDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	logf("testbed %s up in %s", tb.Prefix(), o.RunDir)
	defer func() {
		p := recover()
		if _, derr := tb.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("taking testbed %s down: %w (lvslab testbed down --run-dir %s)", tb.Prefix(), derr, o.RunDir))
		}
		if p != nil {
			panic(p)
		}
	}()

	// VS/TUN: the real servers' decapsulators.
	servers := layout.Servers()
	dir := layout.Director()
	var agents []*testbed.Proc
	if mode == testbed.TUN {
		for _, n := range servers {
			a, err := tb.Start(n.Name, []string{o.Binary, "tunnel-agent", "--vip", layout.VIP.String(), "--listen-stats", liveAgentStats}, n.Name+"-tun.log")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c, err)
			}
			if err := waitHTTP(ctx, tb, n.Name, "http://"+liveAgentStats+"/", o.ReadyTimeout, a); err != nil {
				return nil, fmt.Errorf("%s: tunnel agent of %s: %w%s", c, n.Name, err, logTail(tb.RunDir, n.Name+"-tun.log"))
			}
			agents = append(agents, a)
		}
		logf("%d tunnel agents ready", len(agents))
	}

	// The back ends. Their load reports are read from the director's
	// namespace, which reaches them in every mode (directURLs), and by
	// the load generator from the client's (loadURLs).
	scale := o.TimeScale
	backends := make([]*testbed.Proc, len(servers))
	backendArgv := make([][]string, len(servers))
	directURLs := make([]string, len(servers))
	loadURLs := make([]string, len(servers))
	for i, n := range servers {
		addr := netip4Port(n.Ifaces[0].Addr.Addr().String(), LivePort)
		listen := addr
		if n.VIPOnLo {
			listen = netip4Port("0.0.0.0", LivePort) // the VIP on lo, and the server's own address
		}
		backendArgv[i] = BackendArgv(o.Binary, cfg, i, spec, listen, n.Name, scale, e.Strict)
		directURLs[i] = "http://" + addr + liveLoadPath
		loadURLs[i] = directURLs[i]
		if mode == testbed.NAT {
			loadURLs[i] = "http://" + netip4Port(layout.VIP.String(), liveReportPort+1+i) + liveLoadPath
		}
		if backends[i], err = tb.Start(n.Name, backendArgv[i], n.Name+".log"); err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
	}
	client := layout.Clients()[0].Name
	for i, n := range servers {
		if err := waitHTTP(ctx, tb, dir.Name, directURLs[i], o.ReadyTimeout, backends[i]); err != nil {
			return nil, fmt.Errorf("%s: back end %s: %w%s", c, n.Name, err, logTail(tb.RunDir, n.Name+".log"))
		}
	}
	logf("%d back ends ready (time scale %v)", len(servers), scale)

	// The director.
	director, err := tb.Start(dir.Name, []string{o.Binary, "director", "-f", svcPath, "--ctl", ""}, dir.Name+".log")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	vip := netip4Port(layout.VIP.String(), LivePort)
	if err := waitTCP(ctx, tb, client, vip, o.ReadyTimeout, director); err != nil {
		return nil, fmt.Errorf("%s: director: %w%s", c, err, logTail(tb.RunDir, dir.Name+".log"))
	}
	if mode == testbed.NAT {
		for i, n := range servers {
			if err := waitHTTP(ctx, tb, client, loadURLs[i], o.ReadyTimeout, director); err != nil {
				return nil, fmt.Errorf("%s: %s's load report through the director: %w%s", c, n.Name, err, logTail(tb.RunDir, dir.Name+".log"))
			}
		}
	}
	logf("director ready on %s (%s, scheduler %s)", vip, mode, cfg.Algorithm)

	// The load.
	resultPath := filepath.Join(o.RunDir, LiveResultFile)
	recordsPath := filepath.Join(o.RunDir, LiveRecordsFile)
	for _, p := range []string{resultPath, recordsPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	loadArgv := LoadArgv(o.Binary, cfg, spec, "http://"+vip, loadURLs, scale, o.Requests, o.Deadline, e.Strict, resultPath, recordsPath)
	loader, err := tb.Start(client, loadArgv, client+".log")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	logf("load started: %s", strings.Join(loadArgv[1:], " "))

	// Failures: kill and restart back ends at the cell's times, counted
	// from the first request served.
	var fail failureRun
	if len(cfg.Failures) > 0 {
		fctx, stop := context.WithCancel(ctx)
		fail.start(fctx, tb, dir.Name, directURLs, cfg.Failures, scale, backends, backendArgv, logf)
		defer func() {
			stop() // failures due after the load are not made
			fail.wait()
		}()
	}

	// Wait for the load, watching the director and the back ends.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-loader.Done():
			waiting = false
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", c, ctx.Err())
		case <-director.Done():
			return nil, fmt.Errorf("%s: the director ended during the run (%v)%s", c, director.Wait(), logTail(tb.RunDir, dir.Name+".log"))
		case <-tick.C:
			if i, p := fail.unplannedDeath(backends); p != nil {
				name := servers[i].Name
				return nil, fmt.Errorf("%s: back end %s ended during the run (%v)%s", c, name, p.Wait(), logTail(tb.RunDir, name+".log"))
			}
			for i, a := range agents {
				if isDone(a) {
					name := servers[i].Name
					return nil, fmt.Errorf("%s: the tunnel agent of %s ended during the run (%v)%s", c, name, a.Wait(), logTail(tb.RunDir, name+"-tun.log"))
				}
			}
		}
	}
	if err := loader.Wait(); err != nil {
		return nil, fmt.Errorf("%s: lvslab load: %v%s", c, err, logTail(tb.RunDir, client+".log"))
	}
	res, err := readLiveResult(resultPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", c, err, logTail(tb.RunDir, client+".log"))
	}
	f, err := os.Open(recordsPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	acct, err := ReadAccount(recordsPath, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	if err := acct.Check(); err != nil {
		return nil, fmt.Errorf("%s: the load generator's records do not account for every request: %w", c, err)
	}
	if err := adoptCell(res, c, acct); err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	logf("done: %.1f req/s (model time), hit ratio %.1f%%; %s", res.ThroughputRPS, 100*res.HitRatio, acct)
	return &LiveRun{Result: res, Account: acct, RunDir: o.RunDir}, nil
}

// LiveMode is the testbed mode a live run of cfg builds: the layer-7
// switch's for the l7 front end, the forwarding method's (nat by default)
// for l4. Other front ends are simulated only.
func LiveMode(cfg sim.Config) (testbed.Mode, error) {
	switch cfg.FrontEnd {
	case sim.FrontEndL7, "":
		if cfg.Method != "" {
			return "", fmt.Errorf("method %s: a forwarding method is for the l4 front end", cfg.Method)
		}
		return testbed.L7, nil
	case sim.FrontEndL4:
		switch cfg.Method {
		case sim.MethodNAT, "":
			return testbed.NAT, nil
		case sim.MethodTUN:
			return testbed.TUN, nil
		case sim.MethodDR:
			return testbed.DR, nil
		}
		return "", fmt.Errorf("method %q: want one of %s", cfg.Method, strings.Join(sim.Methods(), ", "))
	}
	return "", fmt.Errorf("front end %s: live runs have the layer-7 switch (l7) and the layer-4 director (l4)", cfg.FrontEnd)
}

func isDone(p *testbed.Proc) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// liveLoadPath is the back ends' load report path (lvslab backend's
// default, which the director's load monitor polls by default too).
const liveLoadPath = "/lvslab/load"

func netip4Port(addr string, port int) string { return net.JoinHostPort(addr, strconv.Itoa(port)) }

// LiveTraceSpec is cell c's trace spec as the live processes read it:
// e's spec of the cell's workload, with relative log paths made absolute
// (the processes do not run in the experiment file's folder).
func LiveTraceSpec(e *experiment.Experiment, c Cell) (string, error) {
	specs, _ := e.TraceSpecs()
	if c.Workload < 0 || c.Workload >= len(specs) {
		return "", fmt.Errorf("%s: trace %d of %d", c, c.Workload, len(specs))
	}
	spec := specs[c.Workload]
	if spec == "default" || strings.HasPrefix(spec, "synth:") {
		return spec, nil
	}
	parts := strings.Split(spec, "+")
	for i, p := range parts {
		if e.Dir != "" && !filepath.IsAbs(p) {
			p = filepath.Join(e.Dir, p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("trace %s: %w", spec, err)
		}
		parts[i] = abs
	}
	return strings.Join(parts, "+"), nil
}

// BackendArgv is the command line of the emulated back end of node node
// of a live cell: the cell's trace, the node's cache, the cache policy
// and cost constants, at the time scale; and, where they differ from the
// reference model's, the node's CPU and disk speeds and its slowdowns
// (model times: the back end scales them).
func BackendArgv(bin string, cfg sim.Config, node int, trace, listen, name string, scale TimeScale, strict bool) []string {
	spec := cfg.Node(node)
	argv := []string{bin, "backend", "--listen", listen, "--trace", trace, "--name", name,
		"--cache", strconv.FormatInt(spec.CacheBytes, 10), "--cache-policy", cfg.CachePolicy,
		"--time-scale", scale.String(), "--costs", FormatCosts(cfg.Costs.WithDefaults())}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if spec.CPUSpeed != 1 {
		argv = append(argv, "--cpu-speed", f(spec.CPUSpeed))
	}
	if spec.DiskSpeed != 1 {
		argv = append(argv, "--disk-speed", f(spec.DiskSpeed))
	}
	var slow []string
	for _, s := range cfg.Slowdowns {
		if s.Node == node {
			slow = append(slow, fmt.Sprintf("%s@%v-%v", f(s.Factor), s.From, s.To))
		}
	}
	if len(slow) > 0 {
		argv = append(argv, "--slowdown", strings.Join(slow, ","))
	}
	if strict {
		argv = append(argv, "--strict")
	}
	return argv
}

// FormatCosts writes cost constants as "lvslab backend --costs" reads
// them: KEY=VALUE pairs, the keys of an experiment file's costs section.
func FormatCosts(c models.Costs) string {
	return strings.Join([]string{
		"connect=" + c.Connect.String(), "teardown=" + c.Teardown.String(), "transmit=" + c.Transmit.String(),
		"transmit_block=" + strconv.FormatInt(c.TransmitBlock, 10),
		"disk_access=" + c.DiskAccess.String(), "disk_transfer=" + c.DiskTransfer.String(),
		"disk_block=" + strconv.FormatInt(c.DiskBlock, 10),
		"dynamic_factor=" + strconv.FormatFloat(c.DynamicFactor, 'g', -1, 64),
	}, ",")
}

// LoadArgv is the command line of the load generator of a live cell: a
// closed loop of nodes × high requests (the reference model's admission)
// over the first requests of the trace (all: requests 0), HTTP/1.1
// keep-alive (the l7 front end's connections belong to the concurrency
// slots; l4's, with a keep_alive, to the trace's clients, each closed once
// idle keep_alive in wall time, as the simulator's l4 front end models
// them; with keep_alive 0, l4's HTTP/1.0: one connection, so one
// scheduling decision, per request), the time series' interval in wall
// time, results in the
// simulator's schema (out) and every request's outcome (records). Its
// connection timeouts are its own (wall time): the simulator's front end
// connects to the nodes in no time, so the model has none to scale.
func LoadArgv(bin string, cfg sim.Config, trace, target string, loadURLs []string, scale TimeScale, requests int, deadline time.Duration, strict bool, out, records string) []string {
	argv := []string{bin, "load", "--target", target, "--trace", trace, "--mode", "closed",
		"--alg", cfg.Algorithm, "--front-end", cfg.FrontEnd, "--nodes", strconv.Itoa(cfg.Nodes), "--high", strconv.Itoa(cfg.High),
		"--time-scale", scale.String(), "--interval", scale.Wall(cfg.Interval).String(),
		"--backend-load", strings.Join(loadURLs, ","), "--format", "json", "-o", out, "--records", records}
	if cfg.FrontEnd == sim.FrontEndL4 {
		if cfg.KeepAlive == 0 {
			argv = append(argv, "--http10")
		} else {
			argv = append(argv, "--client-keep-alive", scale.Wall(cfg.KeepAlive).String())
		}
	}
	if requests > 0 {
		argv = append(argv, "--requests", strconv.Itoa(requests))
	}
	if deadline > 0 {
		argv = append(argv, "--duration", deadline.String())
	}
	if strict {
		argv = append(argv, "--strict")
	}
	return argv
}

// ServicesFile is the director's services file for a live cell: one
// service on the VIP (l7, or the l4 front end's forwarding method: nat,
// tun or dr; see LiveMode) with the cell's scheduler and options (every
// duration divided by the time scale: LBLC/R's set expiry, table expiry),
// the real servers at the simulator's weights (sim.Config.NodeWeight: 1,
// or 10 under DFLB, for the reference model's identical nodes), a
// TCP health check on each whose detection delay is the cell's
// health_check_delay in wall time (at least every 100 ms), for l7 the
// connect timeout in wall time, and, for a scheduler that takes load
// feedback (DFLB), the load monitor polling the back ends' load reports
// every dflb_interval in wall time. Behind a VS/NAT director the client
// cannot reach the real servers' segment, so the file has, for each real
// server i, a one-server NAT service VIP:9101+i to its port 80, through
// which the load generator reads that server's load report.
func ServicesFile(cfg sim.Config, l testbed.Layout, scale TimeScale) ([]byte, error) {
	mode, err := LiveMode(cfg)
	if err != nil {
		return nil, err
	}
	opts, err := optionsNode(cfg.Algorithm, cfg.Options, scale)
	if err != nil {
		return nil, err
	}
	health := healthNode(cfg.HealthCheckDelay, scale, mode == testbed.L7)
	sched, err := algorithms.New(cfg.Algorithm, cfg.Options)
	if err != nil {
		return nil, err
	}
	_, feedback := sched.(algorithms.LoadFeedback)
	var servers []*yaml.Node
	for i, n := range l.Servers() {
		servers = append(servers, mapping(
			"name", scalar(n.Name),
			"address", scalar(netip4Port(n.Ifaces[0].Addr.Addr().String(), LivePort)),
			"weight", scalar(strconv.Itoa(cfg.NodeWeight(i, feedback)))))
	}
	svc := []any{
		"name", scalar(cfg.Algorithm),
		"listen", scalar(netip4Port(l.VIP.String(), LivePort)),
		"mode", scalar(string(mode)),
		"scheduler", scalar(cfg.Algorithm),
		"options", opts,
	}
	if mode == testbed.L7 {
		svc = append(svc,
			"max_idle", scalar(strconv.Itoa(cfg.Nodes*cfg.High)),
			"timeouts", mapping("connect", scalar(max(scale.Wall(cfg.ConnectTimeout), minConnectTimeout).String())))
	}
	svc = append(svc, "health", health)
	if feedback {
		iv := scale.Wall(cfg.DFLBInterval)
		svc = append(svc, "monitor", mapping(
			"path", scalar(liveLoadPath),
			"interval", scalar(iv.String()),
			"timeout", scalar(min(iv, time.Second).String())))
	}
	svc = append(svc, "servers", &yaml.Node{Kind: yaml.SequenceNode, Content: servers})
	svcs := []*yaml.Node{mapping(svc...)}
	if mode == testbed.NAT {
		for i, n := range l.Servers() {
			svcs = append(svcs, mapping(
				"name", scalar(n.Name+"-load"),
				"listen", scalar(netip4Port(l.VIP.String(), liveReportPort+1+i)),
				"mode", scalar("nat"),
				"scheduler", scalar("rr"),
				"servers", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{servers[i]}}))
		}
	}
	doc := mapping("services", &yaml.Node{Kind: yaml.SequenceNode, Content: svcs})
	var buf bytes.Buffer
	buf.WriteString("# The director of a live run (lvslab testbed run): times are wall times,\n# model times divided by the time scale " + scale.String() + ".\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// healthNode is the health check whose detection delay is delay (model
// time) in wall time: a TCP probe every f = min(100 ms, delay) and fall
// = round(delay / f) failures in a row (at least 1), so that a dead back
// end is marked down about delay after it died (a probe's own wait for
// the first failure adds up to f); one success brings it back. With
// delay 0, where the simulator's front end notices a failure at once, an
// observing front end (the layer-7 switch) also takes a back end down at
// its first refused or reset connection (observe layer4, error_limit 1,
// on_error mark-down) instead of waiting for the next probe.
func healthNode(delay time.Duration, scale TimeScale, observe bool) *yaml.Node {
	wall := scale.Wall(delay)
	f := minHealthInterval
	if wall > 0 && wall < f {
		f = wall
	}
	fall := max(1, int(math.Round(float64(wall)/float64(f))))
	kv := []any{
		"type", scalar("tcp"),
		"interval", scalar(f.String()),
		"timeout", scalar(healthTimeout.String()),
		"rise", scalar("1"),
		"fall", scalar(strconv.Itoa(fall))}
	if observe && delay == 0 {
		kv = append(kv, "observe", scalar("layer4"), "error_limit", scalar("1"), "on_error", scalar("mark-down"))
	}
	return mapping(kv...)
}

// optionsNode writes the scheduler options that scheduler alg reads (see
// optionRead) and that are not zero (their default, the same in both
// worlds), spelt as the option codec spells them ("set_expiry",
// "dflb.coefficients"), with every duration in wall time: a duration option left at
// zero gets its default divided by the time scale, since the scheduler
// would otherwise apply its default in wall time. Options the scheduler
// does not read are left out, so that the director's services file gets
// only what changes its scheduler.
func optionsNode(alg string, o algorithms.Options, scale TimeScale) (*yaml.Node, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, s := range algorithms.OptionSpecs() {
		read, err := optionRead(alg, o, s)
		if err != nil {
			return nil, err
		}
		v := s.Format(o)
		if !read || (s.Kind != algorithms.OptionDuration && v == s.Format(algorithms.Options{})) {
			continue // not read, or zero: the same default in both worlds
		}
		if s.Kind == algorithms.OptionDuration {
			d := optionField(&o, s.Field).Interface().(time.Duration)
			if d == 0 {
				if d, err = time.ParseDuration(s.Default); err != nil {
					return nil, fmt.Errorf("options.%s: default %q: %w", s.Name, s.Default, err)
				}
			}
			v = scale.Wall(d).String()
		}
		m.Content = append(m.Content, scalar(s.Name), scalar(v))
	}
	return m, nil
}

// ReadOptions lists the options (as the option codec spells them) that
// scheduler alg reads and that o sets to something other than zero: what
// a live director must be given to run the same scheduler.
func ReadOptions(alg string, o algorithms.Options) []string {
	var names []string
	for _, s := range algorithms.OptionSpecs() {
		if read, err := optionRead(alg, o, s); err == nil && read && s.Format(o) != s.Format(algorithms.Options{}) {
			names = append(names, s.Name)
		}
	}
	return names
}

// optionRead reports whether scheduler alg reads option s of o: whether
// the scheduler built from o differs (reflect.DeepEqual: schedulers are
// plain state machines) from one built with s at its zero value or at its
// example value.
func optionRead(alg string, o algorithms.Options, s algorithms.OptionSpec) (bool, error) {
	base, err := algorithms.New(alg, o)
	if err != nil {
		return false, err
	}
	zero := o
	f := optionField(&zero, s.Field)
	f.Set(reflect.Zero(f.Type()))
	if other, err := algorithms.New(alg, zero); err != nil || !reflect.DeepEqual(base, other) {
		return true, nil
	}
	ex := o
	if err := s.Set(&ex, s.Example); err != nil {
		return false, fmt.Errorf("options.%s: example %q: %w", s.Name, s.Example, err)
	}
	other, err := algorithms.New(alg, ex)
	return err != nil || !reflect.DeepEqual(base, other), nil
}

// optionField is the field path (OptionSpec.Field, "DFLB.A") of *o.
func optionField(o *algorithms.Options, path string) reflect.Value {
	v := reflect.ValueOf(o).Elem()
	for _, f := range strings.Split(path, ".") {
		v = v.FieldByName(f)
	}
	return v
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

// mapping builds a flow mapping node from key, value pairs (a key is a
// string, a value a *yaml.Node).
func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, scalar(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return m
}

// readLiveResult reads the load generator's result file.
func readLiveResult(path string) (*sim.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lvslab load wrote no results: %w", err)
	}
	defer f.Close()
	rs, err := ReadResults(path, f)
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("%s: %d results, want 1", path, len(rs))
	}
	return rs[0], nil
}

// adoptCell makes a live result carry the cell's configuration, once the
// back ends' reports confirm that they ran it (cache size, policy and
// costs), and checks the result's count of requests against the account.
func adoptCell(res *sim.Result, c Cell, a Account) error {
	got, want := res.Config, c.Config
	// The back ends report one cache size when they all have the same
	// (LiveResult): every node of the cell must have it.
	nodeCache := got.CacheBytes
	for i := range want.Nodes {
		if n := want.Node(i).CacheBytes; n != got.CacheBytes {
			nodeCache = n
			break
		}
	}
	switch {
	case got.CacheBytes != 0 && got.CacheBytes != nodeCache:
		return fmt.Errorf("the back ends report a cache of %d bytes, the cell's nodes have %d", got.CacheBytes, nodeCache)
	case got.CachePolicy != "" && got.CachePolicy != want.CachePolicy:
		return fmt.Errorf("the back ends report cache policy %s, the cell has %s", got.CachePolicy, want.CachePolicy)
	case got.Costs != (models.Costs{}) && got.Costs != want.Costs.WithDefaults():
		return fmt.Errorf("the back ends report costs %+v, the cell has %+v", got.Costs, want.Costs.WithDefaults())
	case got.Nodes != want.Nodes || got.High != want.High:
		return fmt.Errorf("the load ran %d nodes × high %d, the cell has %d × %d", got.Nodes, got.High, want.Nodes, want.High)
	case res.Requests != a.Requests || res.Completed != a.OK:
		return fmt.Errorf("the results count %d requests, %d completed; the records %d, %d ok", res.Requests, res.Completed, a.Requests, a.OK)
	}
	if res.Trace != c.Trace {
		return fmt.Errorf("the load replayed trace %s, the cell has %s", res.Trace, c.Trace)
	}
	res.Config = want
	return nil
}

// waitHTTP waits until a GET of url, from node's namespace, answers 200.
func waitHTTP(ctx context.Context, tb *testbed.Testbed, node, url string, timeout time.Duration, p *testbed.Proc) error {
	host, path, err := splitHTTP(url)
	if err != nil {
		return err
	}
	return poll(ctx, timeout, p, func() error {
		var status int
		err := tb.Do(node, func() error {
			var err error
			status, _, err = httpGet(ctx, host, path, time.Second)
			return err
		})
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", url, status)
		}
		return err
	})
}

// waitTCP waits until addr accepts a connection from node's namespace.
func waitTCP(ctx context.Context, tb *testbed.Testbed, node, addr string, timeout time.Duration, p *testbed.Proc) error {
	return poll(ctx, timeout, p, func() error {
		return tb.Do(node, func() error {
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				conn.Close()
			}
			return err
		})
	})
}

// poll calls try every 20 ms until it succeeds, p ends, ctx ends or
// timeout passes.
func poll(ctx context.Context, timeout time.Duration, p *testbed.Proc, try func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("ended before it was ready (%v)", p.Wait())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
	}
}

func splitHTTP(url string) (host, path string, err error) {
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		return "", "", fmt.Errorf("%q: want http://HOST:PORT/PATH", url)
	}
	host, path, _ = strings.Cut(rest, "/")
	return host, "/" + path, nil
}

// httpGet sends one HTTP/1.0 GET on a connection of its own, opened on
// the calling thread (so inside a testbed namespace when called from
// Testbed.Do), and returns the status and body.
func httpGet(ctx context.Context, host, path string, timeout time.Duration) (int, []byte, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

// logTail is the end of a process log of the run directory, for errors.
func logTail(runDir, name string) string {
	data, err := os.ReadFile(filepath.Join(runDir, name))
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return fmt.Sprintf("\n%s (last lines):\n  %s", filepath.Join(runDir, name), strings.Join(lines, "\n  "))
}

// failureRun kills and restarts back ends at a cell's failure times.
type failureRun struct {
	mu      sync.Mutex
	planned map[int]bool // PIDs killed on purpose
	wg      sync.WaitGroup
}

// start runs the schedule: the clock starts when the back ends have
// served their first request (time 0 of the simulation, when the first
// requests are dispatched, is the moment the load starts). procs is
// updated as back ends restart; read it under unplannedDeath. The back
// ends' load reports, loadURLs, are read from node's namespace.
func (f *failureRun) start(ctx context.Context, tb *testbed.Testbed, node string, loadURLs []string, fs []sim.Failure, scale TimeScale,
	procs []*testbed.Proc, argv [][]string, logf func(string, ...any)) {
	f.planned = map[int]bool{}
	type event struct {
		at   time.Duration
		node int
		up   bool
	}
	var evs []event
	for _, fl := range fs {
		evs = append(evs, event{scale.Wall(fl.At), fl.Node, false})
		if fl.Recover > fl.At {
			evs = append(evs, event{scale.Wall(fl.Recover), fl.Node, true})
		}
	}
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		if err := waitServed(ctx, tb, node, loadURLs); err != nil {
			return
		}
		t0 := time.Now()
		for _, ev := range evs {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(t0.Add(ev.at))):
			}
			name := fmt.Sprintf("rs%d", ev.node+1)
			f.mu.Lock()
			if !ev.up {
				p := procs[ev.node]
				f.planned[p.PID] = true
				if proc, err := os.FindProcess(p.PID); err == nil && !isDone(p) {
					_ = proc.Kill()
				}
				logf("failure: back end %s killed at %v (model time %v)", name, time.Since(t0).Round(time.Millisecond), scale.Model(time.Since(t0)).Round(time.Millisecond))
			} else {
				<-procs[ev.node].Done()
				if p, err := tb.Start(name, argv[ev.node], name+".log"); err == nil {
					procs[ev.node] = p
					logf("failure: back end %s restarted at %v", name, time.Since(t0).Round(time.Millisecond))
				} else {
					logf("failure: restarting back end %s: %v", name, err)
				}
			}
			f.mu.Unlock()
		}
	}()
}

func (f *failureRun) wait() { f.wg.Wait() }

// unplannedDeath reports the first of procs that ended without being
// killed on purpose.
func (f *failureRun) unplannedDeath(procs []*testbed.Proc) (int, *testbed.Proc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range procs {
		if isDone(p) && !f.planned[p.PID] {
			return i, p
		}
	}
	return 0, nil
}

// waitServed waits until the back ends together have served a request
// (their load reports read from node's namespace).
func waitServed(ctx context.Context, tb *testbed.Testbed, node string, loadURLs []string) error {
	for {
		for _, u := range loadURLs {
			host, path, _ := splitHTTP(u)
			var body []byte
			err := tb.Do(node, func() error {
				var err error
				_, body, err = httpGet(ctx, host, path, time.Second)
				return err
			})
			var l struct {
				Requests int64 `json:"requests"`
			}
			if err == nil && json.Unmarshal(body, &l) == nil && l.Requests > 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// LiveCellsOptions configure RunLiveCells.
type LiveCellsOptions struct {
	LiveRunOptions // RunDir and Prefix are set per cell

	// Dir, if not empty, holds one run directory per cell,
	// "NNN-ALG-nNODES", kept after the run (logs, services file, results,
	// records). Otherwise each cell's run directory is Root/PREFIX, as
	// "lvslab testbed up" makes them (so "testbed status" and "testbed
	// down" find a run in progress), and it is removed once the cell
	// succeeded; a failed cell's stays for its logs.
	Dir  string
	Root string
}

// RunLiveCells runs cells live, one after the other (each on a testbed of
// its own), and returns their runs in cell order. The first failure stops
// it; its error names the cell and where its logs are.
func RunLiveCells(ctx context.Context, e *experiment.Experiment, cells []Cell, o LiveCellsOptions) ([]*LiveRun, error) {
	runs := make([]*LiveRun, 0, len(cells))
	for _, c := range cells {
		ro := o.LiveRunOptions
		keep := o.Dir != ""
		if keep {
			ro.RunDir = filepath.Join(o.Dir, fmt.Sprintf("%03d-%s-n%d", c.Index, slug(c.Config.Algorithm), c.Config.Nodes))
		} else {
			if o.Root == "" {
				return nil, errors.New("live run: no directory for the run directories")
			}
			ro.Prefix = testbed.NewPrefix()
			ro.RunDir = filepath.Join(o.Root, ro.Prefix)
		}
		run, err := RunLive(ctx, e, c, ro)
		if err != nil {
			if _, serr := testbed.LoadState(ro.RunDir); ctx.Err() != nil && !keep && errors.Is(serr, testbed.ErrNoState) {
				os.RemoveAll(ro.RunDir) // interrupted, and taken down: nothing to look at
			} else if _, serr := os.Stat(ro.RunDir); serr == nil {
				err = fmt.Errorf("%w\n(logs in %s)", err, ro.RunDir)
			}
			return nil, err
		}
		if _, serr := testbed.LoadState(ro.RunDir); !keep && errors.Is(serr, testbed.ErrNoState) {
			if err := os.RemoveAll(ro.RunDir); err != nil {
				return nil, err
			}
			run.RunDir = ""
		}
		runs = append(runs, run)
	}
	return runs, nil
}
