package workbench

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed"
)

func resolved(t *testing.T, c sim.Config) sim.Config {
	t.Helper()
	r, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func layout(t *testing.T, servers int) testbed.Layout {
	t.Helper()
	topo, err := testbed.Topology{Mode: testbed.L7, Servers: servers, Segments: 1, Prefix: "lttest"}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return topo.Layout()
}

// services is the decoded services file.
type services struct {
	Services []struct {
		Name, Listen, Mode, Scheduler string
		Options                       map[string]any
		MaxIdle                       int `yaml:"max_idle"`
		Timeouts                      struct{ Connect time.Duration }
		Health                        struct {
			Type             string
			Interval         time.Duration
			Timeout          time.Duration
			Rise, Fall       int
			FastInterval     time.Duration `yaml:"fast_interval"`
			OnFailure, Extra string
			Observe          string
			ErrorLimit       int    `yaml:"error_limit"`
			OnError          string `yaml:"on_error"`
		}
		Monitor *struct {
			Path              string
			Interval, Timeout time.Duration
		}
		Servers []struct {
			Name, Address string
			Weight        int
		}
	}
}

func TestServicesFile(t *testing.T) {
	tests := []struct {
		name    string
		cfg     sim.Config
		scale   TimeScale
		options map[string]any // the options written
		monitor time.Duration  // the monitor's interval, 0: none
		connect time.Duration
		weights []int // the servers' (nil: 1 each)
	}{
		// The thesis preset sets restart_cycle, which WRR reads.
		{"wrr", sim.Config{Algorithm: "wrr", Nodes: 4}, 2, map[string]any{"restart_cycle": true}, 0, 1500 * time.Millisecond, nil},
		{"wlc", sim.Config{Algorithm: "wlc", Nodes: 4}, 2, map[string]any{}, 0, 1500 * time.Millisecond, nil},
		// LBLC reads the thresholds and its table's expiry (its default,
		// 24 h, in wall time); not LBLC/R's set expiry.
		{"lblc", sim.Config{Algorithm: "lblc", Nodes: 4}, 2, map[string]any{"low": 30, "high": 60, "table_expiry": "12h0m0s"}, 0, 1500 * time.Millisecond, nil},
		{"lblcr", sim.Config{Algorithm: "lblcr", Nodes: 4, Low: 10, High: 20, Options: optionsWith(t, "set_expiry", "90s").Options}, 3,
			map[string]any{"low": 10, "high": 20, "set_expiry": "30s", "table_expiry": "8h0m0s"}, 0, time.Second, nil},
		// A connect timeout is never shorter than a live handshake allows.
		{"lblcr fast", sim.Config{Algorithm: "lblcr", Nodes: 2}, 100, map[string]any{"low": 30, "high": 60, "set_expiry": "600ms", "table_expiry": "14m24s"}, 0, minConnectTimeout, nil},
		// DFLB: the thesis preset's coefficients and the load monitor
		// every dflb_interval in wall time.
		{"dflb", sim.Config{Algorithm: "dflb", Nodes: 3, DFLBInterval: 4 * time.Second}, 2,
			map[string]any{"restart_cycle": true, "dflb.coefficients": "0,1,0,0,0,0", "dflb.a": 5, "dflb.scale": 10, "dflb.target": 0.95}, 2 * time.Second, 1500 * time.Millisecond,
			[]int{10, 10, 10}},
		// The simulator's weights: given, capacity.
		{"wrr given weights", sim.Config{Algorithm: "wrr", Groups: []sim.NodeGroup{{Count: 1, Weight: 3}, {Count: 2}}}, 2,
			map[string]any{"restart_cycle": true}, 0, 1500 * time.Millisecond, []int{3, 1, 1}},
		{"wlc capacity weights", sim.Config{Algorithm: "wlc", Weights: "capacity", Groups: []sim.NodeGroup{{Count: 2, CPUSpeed: 2}, {Count: 1, CPUSpeed: 0.5}}}, 2,
			map[string]any{}, 0, 1500 * time.Millisecond, []int{20, 20, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := resolved(t, tt.cfg)
			if tt.weights == nil {
				tt.weights = slices.Repeat([]int{1}, cfg.Nodes)
			}
			data, err := ServicesFile(cfg, layout(t, cfg.Nodes), tt.scale)
			if err != nil {
				t.Fatal(err)
			}
			var f services
			if err := yaml.Unmarshal(data, &f); err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			if len(f.Services) != 1 {
				t.Fatalf("%d services\n%s", len(f.Services), data)
			}
			s := f.Services[0]
			if s.Listen != "198.18.0.254:80" || s.Mode != "l7" || s.Scheduler != cfg.Algorithm || s.MaxIdle != cfg.Nodes*cfg.High {
				t.Errorf("service %+v\n%s", s, data)
			}
			if !equalYAML(s.Options, tt.options) {
				t.Errorf("options %v, want %v\n%s", s.Options, tt.options, data)
			}
			if s.Timeouts.Connect != tt.connect {
				t.Errorf("connect timeout %v, want %v", s.Timeouts.Connect, tt.connect)
			}
			if len(s.Servers) != cfg.Nodes {
				t.Fatalf("%d servers, want %d", len(s.Servers), cfg.Nodes)
			}
			for i, srv := range s.Servers {
				if want := layout(t, cfg.Nodes).Servers()[i].Ifaces[0].Addr.Addr().String() + ":80"; srv.Address != want || srv.Weight != tt.weights[i] {
					t.Errorf("server %d: %+v, want %s weight %d", i, srv, want, tt.weights[i])
				}
			}
			if (s.Monitor != nil) != (tt.monitor > 0) || (s.Monitor != nil && (s.Monitor.Interval != tt.monitor || s.Monitor.Path != liveLoadPath)) {
				t.Errorf("monitor %+v, want interval %v", s.Monitor, tt.monitor)
			}
			if s.Health.Type != "tcp" || s.Health.Rise != 1 {
				t.Errorf("health %+v", s.Health)
			}
			// health_check_delay 0: the switch takes a back end down at its
			// first connection error, as the simulator's front end notices
			// a failure at once.
			if s.Health.Observe != "layer4" || s.Health.ErrorLimit != 1 || s.Health.OnError != "mark-down" {
				t.Errorf("health %+v: want observe layer4, error_limit 1, on_error mark-down", s.Health)
			}
		})
	}
}

func optionsWith(t *testing.T, name, v string) (o sim.Config) {
	t.Helper()
	p, ok := experiment.ParamByKey("options." + name)
	if !ok {
		t.Fatalf("no option %s", name)
	}
	if err := p.Set(&o, v); err != nil {
		t.Fatal(err)
	}
	return o
}

// equalYAML compares decoded YAML values by their text.
func equalYAML(a, b map[string]any) bool {
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	return string(ya) == string(yb)
}

func TestHealthNode(t *testing.T) {
	tests := []struct {
		delay          time.Duration
		scale          TimeScale
		interval       time.Duration
		fall           int
		detectMin, max time.Duration // the detection delay it gives, wall time
	}{
		{0, 2, 100 * time.Millisecond, 1, 0, 100 * time.Millisecond}, // at once: the quickest check
		{40 * time.Millisecond, 1, 40 * time.Millisecond, 1, 0, 40 * time.Millisecond},
		{time.Second, 2, 100 * time.Millisecond, 5, 400 * time.Millisecond, 500 * time.Millisecond},
		{3 * time.Second, 1, 100 * time.Millisecond, 30, 2900 * time.Millisecond, 3 * time.Second},
	}
	for _, tt := range tests {
		var h struct {
			Type     string
			Interval time.Duration
			Fall     int
		}
		b, _ := yaml.Marshal(healthNode(tt.delay, tt.scale, true))
		if err := yaml.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		if h.Interval != tt.interval || h.Fall != tt.fall {
			t.Errorf("delay %v at scale %v: interval %v fall %d, want %v and %d", tt.delay, tt.scale, h.Interval, h.Fall, tt.interval, tt.fall)
		}
		// A back end dies just after a probe (the worst case) or just
		// before one (the best).
		best, worst := time.Duration(h.Fall-1)*h.Interval, time.Duration(h.Fall)*h.Interval
		if best < tt.detectMin || worst > tt.max {
			t.Errorf("delay %v at scale %v: detected after %v to %v, want within [%v, %v]", tt.delay, tt.scale, best, worst, tt.detectMin, tt.max)
		}
	}
}

func TestReadOptions(t *testing.T) {
	tests := []struct {
		cfg  sim.Config
		want []string
	}{
		{sim.Config{Algorithm: "wrr"}, []string{"restart_cycle"}},
		{sim.Config{Algorithm: "wlc"}, nil},
		{sim.Config{Algorithm: "lblc"}, []string{"low", "high"}},
		{sim.Config{Algorithm: "lblcr", Options: optionsWith(t, "set_expiry", "30s").Options}, []string{"low", "high", "set_expiry"}},
		{sim.Config{Algorithm: "p2c"}, []string{"seed"}},
		{sim.Config{Algorithm: "dflb"}, []string{"restart_cycle", "dflb.coefficients", "dflb.a", "dflb.scale", "dflb.target"}},
		{sim.Config{Algorithm: "chbl", Options: optionsWith(t, "epsilon", "0.5").Options}, []string{"epsilon"}},
		// An option the scheduler does not read is left out, set or not.
		{sim.Config{Algorithm: "wlc", Options: optionsWith(t, "epsilon", "0.5").Options}, nil},
	}
	for _, tt := range tests {
		tt.cfg.Nodes = 4
		cfg := resolved(t, tt.cfg)
		if got := ReadOptions(cfg.Algorithm, cfg.Options); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ReadOptions = %q, want %q", cfg.Algorithm, got, tt.want)
		}
	}
}

func TestLiveArgv(t *testing.T) {
	cfg := resolved(t, sim.Config{Algorithm: "lblc", Nodes: 4, CacheBytes: 48 << 20, High: 50, Interval: 10 * time.Second,
		Costs: models.Costs{DiskAccess: 10 * time.Millisecond, DynamicFactor: 1.5}})
	b := BackendArgv("/bin/lvslab", cfg, 0, "synth:small", "198.18.0.11:80", "rs1", 2, true)
	want := []string{"/bin/lvslab", "backend", "--listen", "198.18.0.11:80", "--trace", "synth:small", "--name", "rs1",
		"--cache", "50331648", "--cache-policy", "lru", "--time-scale", "2",
		"--costs", "connect=140µs,teardown=140µs,transmit=40µs,transmit_block=512,disk_access=10ms,disk_transfer=410µs,disk_block=4096,dynamic_factor=1.5",
		"--strict"}
	if !slices.Equal(b, want) {
		t.Errorf("BackendArgv:\n %q\nwant\n %q", b, want)
	}
	// A node of a heterogeneous cluster, slowed twice: its speeds, cache
	// and slowdowns in model time.
	het := resolved(t, sim.Config{Algorithm: "wrr", Groups: []sim.NodeGroup{{Count: 1}, {Count: 2, CPUSpeed: 2, DiskSpeed: 0.5, CacheBytes: 8 << 20}},
		Slowdowns: []sim.Slowdown{{Node: 2, Factor: 3, From: time.Second, To: time.Minute}, {Node: 0, Factor: 2, To: 1}, {Node: 2, Factor: 1.5, From: 2 * time.Minute, To: 3 * time.Minute}}})
	b = BackendArgv("/bin/lvslab", het, 2, "synth:small", "198.18.0.13:80", "rs3", 2, false)
	want = []string{"/bin/lvslab", "backend", "--listen", "198.18.0.13:80", "--trace", "synth:small", "--name", "rs3",
		"--cache", "8388608", "--cache-policy", "lru", "--time-scale", "2",
		"--costs", "connect=140µs,teardown=140µs,transmit=40µs,transmit_block=512,disk_access=28ms,disk_transfer=410µs,disk_block=4096,dynamic_factor=2",
		"--cpu-speed", "2", "--disk-speed", "0.5", "--slowdown", "3@1s-1m0s,1.5@2m0s-3m0s"}
	if !slices.Equal(b, want) {
		t.Errorf("BackendArgv of a heterogeneous node:\n %q\nwant\n %q", b, want)
	}
	l := LoadArgv("/bin/lvslab", cfg, "/t/a.log", "http://198.18.0.254:80", []string{"http://a/l", "http://b/l"}, 4, 6000, time.Minute, false, "/r/live.json", "/r/records.csv")
	want = []string{"/bin/lvslab", "load", "--target", "http://198.18.0.254:80", "--trace", "/t/a.log", "--mode", "closed",
		"--alg", "lblc", "--front-end", "l7", "--nodes", "4", "--high", "50",
		"--time-scale", "4", "--interval", "2.5s",
		"--backend-load", "http://a/l,http://b/l", "--format", "json", "-o", "/r/live.json", "--records", "/r/records.csv",
		"--requests", "6000", "--duration", "1m0s"}
	if !slices.Equal(l, want) {
		t.Errorf("LoadArgv:\n %q\nwant\n %q", l, want)
	}
}

func TestLiveTraceSpec(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		traces []string
		dir    string
		i      int
		want   string
	}{
		{nil, "", 0, "default"},
		{[]string{"synth:small:5000"}, "exp", 0, "synth:small:5000"},
		{[]string{"a.log", "b.log+c.log.gz"}, "exp", 1, abs("exp/b.log") + "+" + abs("exp/c.log.gz")},
		{[]string{"/logs/a.log"}, "exp", 0, "/logs/a.log"},
		{[]string{"a.log"}, "", 0, abs("a.log")},
	}
	for _, tt := range tests {
		e := experiment.New()
		e.Traces, e.Dir = tt.traces, tt.dir
		got, err := LiveTraceSpec(e, Cell{Workload: tt.i})
		if err != nil || got != tt.want {
			t.Errorf("LiveTraceSpec(%q in %q, %d) = %q, %v; want %q", tt.traces, tt.dir, tt.i, got, err, tt.want)
		}
	}
	if _, err := LiveTraceSpec(experiment.New(), Cell{Workload: 1}); err == nil {
		t.Error("LiveTraceSpec of a workload the experiment does not have: no error")
	}
}

func TestReadAccount(t *testing.T) {
	head := "request,target,arrival_ns,sent_ns,done_ns,status,bytes,hit,outcome,error\n"
	tests := []struct {
		name, csv string
		want      string // Account.String()
		check     string // Account.Check's error, "" for none
		err       string // ReadAccount's error
	}{
		{"all ok", head + "0,/a,0,0,5,200,10,true,ok,\n1,/b,0,1,6,200,10,false,ok,\n", "2 requests: 2 ok, 0 failed, 0 unsent", "", ""},
		{"failures and unsent", head +
			"0,/a,0,0,5,200,10,true,ok,\n" +
			"1,/b,0,1,6,502,0,false,status_502,HTTP status 502\n" +
			"2,/c,0,1,6,0,0,false,connect_refused,dial tcp: connection refused\n" +
			"3,/d,0,1,6,502,0,false,status_502,HTTP status 502\n" +
			"4,/e,,,,,,,unsent,\n",
			"5 requests: 1 ok, 3 failed (connect_refused 1, status_502 2), 1 unsent", "", ""},
		{"a failure without its error", head + "0,/a,0,0,5,0,0,false,reset,\n", "1 requests: 0 ok, 1 failed (reset 1), 0 unsent", "1 failed requests have no error recorded", ""},
		{"not records", "alg,nodes\nwrr,4\n", "", "", "no outcome and error columns"},
		{"a short row", head + "0,/a,0\n", "", "", "wrong number of fields"},
		{"an empty outcome", head + "0,/a,0,0,5,200,10,true,,\n", "", "", "records.csv:2: empty outcome"},
		{"empty", "", "", "", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ReadAccount("records.csv", strings.NewReader(tt.csv))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ReadAccount: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.String(); got != tt.want {
				t.Errorf("account %q, want %q", got, tt.want)
			}
			if err := a.Check(); (err == nil) != (tt.check == "") || (err != nil && !strings.Contains(err.Error(), tt.check)) {
				t.Errorf("Check() = %v, want %q", err, tt.check)
			}
			if a.Sent() != a.OK+a.FailedTotal() {
				t.Errorf("sent %d != ok %d + failed %d", a.Sent(), a.OK, a.FailedTotal())
			}
		})
	}
	// Check catches a count that does not add up.
	if err := (Account{Requests: 3, OK: 1, Failed: map[string]int{"reset": 1}}).Check(); err == nil {
		t.Error("Check of 3 requests, 1 ok, 1 failed, 0 unsent: no error")
	}
}

func TestAdoptCell(t *testing.T) {
	cell := Cell{Trace: "synth:small", Config: resolved(t, sim.Config{Algorithm: "lblc", Nodes: 4, CacheBytes: 48 << 20, Seed: 7})}
	live := func() *sim.Result {
		cfg := sim.Config{Algorithm: "lblc", Nodes: 4, High: 60, CacheBytes: 48 << 20, CachePolicy: "lru", Costs: models.Costs{}.WithDefaults(), Admission: "closed"}
		return &sim.Result{Trace: "synth:small", Config: cfg, Requests: 10, Completed: 9}
	}
	acct := Account{Requests: 10, OK: 9, Failed: map[string]int{"reset": 1}}
	res := live()
	if err := adoptCell(res, cell, acct); err != nil {
		t.Fatal(err)
	}
	if res.Config.Seed != 7 || res.Config.Options.Low != 30 {
		t.Errorf("the result does not carry the cell's configuration: %+v", res.Config)
	}
	bad := []struct {
		name   string
		change func(r *sim.Result, a *Account)
		err    string
	}{
		{"cache", func(r *sim.Result, _ *Account) { r.Config.CacheBytes = 32 << 20 }, "a cache of 33554432 bytes"},
		{"policy", func(r *sim.Result, _ *Account) { r.Config.CachePolicy = "lfu" }, "cache policy lfu"},
		{"costs", func(r *sim.Result, _ *Account) { r.Config.Costs.DiskAccess = time.Millisecond }, "costs"},
		{"nodes", func(r *sim.Result, _ *Account) { r.Config.Nodes = 3 }, "3 nodes"},
		{"trace", func(r *sim.Result, _ *Account) { r.Trace = "default" }, "trace default"},
		{"count", func(_ *sim.Result, a *Account) { a.OK = 8 }, "the records 10, 8 ok"},
	}
	for _, b := range bad {
		r, a := live(), acct
		b.change(r, &a)
		if err := adoptCell(r, cell, a); err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("%s: adoptCell = %v, want an error containing %q", b.name, err, b.err)
		}
	}

	// Node groups: the back ends' one cache size is every node's, which
	// need not be the cluster's cache.
	groups := Cell{Trace: "synth:small", Config: resolved(t, sim.Config{Algorithm: "lblc", CacheBytes: 48 << 20,
		Groups: []sim.NodeGroup{{Count: 2, CacheBytes: 8 << 20, CPUSpeed: 2}, {Count: 2, CacheBytes: 8 << 20}}})}
	r := live()
	r.Config.CacheBytes = 8 << 20
	if err := adoptCell(r, groups, acct); err != nil {
		t.Errorf("groups of 8 MiB caches: %v", err)
	}
	r = live()
	if err := adoptCell(r, groups, acct); err == nil || !strings.Contains(err.Error(), "the cell's nodes have 8388608") {
		t.Errorf("groups of 8 MiB caches, back ends of 48 MiB: adoptCell = %v", err)
	}
}

func TestLiveMode(t *testing.T) {
	for _, tt := range []struct {
		frontEnd, method string
		want             testbed.Mode
		err              string
	}{
		{"l7", "", testbed.L7, ""},
		{"", "", testbed.L7, ""},
		{"l4", "", testbed.NAT, ""},
		{"l4", "nat", testbed.NAT, ""},
		{"l4", "tun", testbed.TUN, ""},
		{"l4", "dr", testbed.DR, ""},
		{"l4", "ipip", "", `method "ipip"`},
		{"l7", "dr", "", "method dr: a forwarding method is for the l4 front end"},
		{"distributed", "", "", "front end distributed: live runs have"},
	} {
		got, err := LiveMode(sim.Config{FrontEnd: tt.frontEnd, Method: tt.method})
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("LiveMode(%s, %s) = %q, %v; want %q, %q", tt.frontEnd, tt.method, got, err, tt.want, tt.err)
		}
	}
}

// TestServicesFileL4: an l4 cell's director forwards by the cell's method
// to the real servers' port 80, with the health check and (DFLB) the load
// monitor, without the layer-7 switch's keys; behind VS/NAT each real
// server's load report has a one-server NAT service of its own.
func TestServicesFileL4(t *testing.T) {
	for _, tt := range []struct {
		method  string
		mode    testbed.Mode
		reports bool
	}{{"nat", testbed.NAT, true}, {"", testbed.NAT, true}, {"tun", testbed.TUN, false}, {"dr", testbed.DR, false}} {
		cfg := resolved(t, sim.Config{Algorithm: "dflb", Nodes: 3, FrontEnd: "l4", Method: tt.method})
		topo, err := testbed.Topology{Mode: tt.mode, Servers: 3, Prefix: "lttest"}.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		data, err := ServicesFile(cfg, topo.Layout(), 1)
		if err != nil {
			t.Fatal(err)
		}
		var f services
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		want := 1
		if tt.reports {
			want += 3
		}
		if len(f.Services) != want {
			t.Fatalf("%s: %d services, want %d\n%s", tt.mode, len(f.Services), want, data)
		}
		s := f.Services[0]
		if s.Listen != "198.18.0.254:80" || s.Mode != string(tt.mode) || s.Scheduler != "dflb" || s.MaxIdle != 0 || s.Timeouts.Connect != 0 ||
			s.Health.Type != "tcp" || s.Health.Observe != "" || s.Monitor == nil || len(s.Servers) != 3 {
			t.Errorf("%s: service %+v\n%s", tt.mode, s, data)
		}
		for i, srv := range s.Servers {
			if want := topo.Layout().Servers()[i].Ifaces[0].Addr.Addr().String() + ":80"; srv.Address != want {
				t.Errorf("%s: server %d at %s, want %s", tt.mode, i, srv.Address, want)
			}
		}
		for i, r := range f.Services[1:] {
			if r.Listen != "198.18.0.254:"+strconv.Itoa(9101+i) || r.Mode != "nat" || len(r.Servers) != 1 || r.Servers[0].Address != s.Servers[i].Address {
				t.Errorf("load report service %d: %+v", i, r)
			}
		}
	}
}

// TestLoadArgvKeepAlive: the load generator speaks HTTP/1.0 (one
// connection, so one scheduling decision, per request) for an l4 cell
// without keep-alive, keeps its connections per trace client for the
// keep-alive (wall time) with one, and per concurrency slot for l7.
func TestLoadArgvKeepAlive(t *testing.T) {
	for _, tt := range []struct {
		frontEnd  string
		keepAlive time.Duration
		http10    bool
		client    string // --client-keep-alive, "" none
	}{{"l7", 0, false, ""}, {"l4", 0, true, ""}, {"l4", 15 * time.Second, false, "7.5s"}} {
		cfg := resolved(t, sim.Config{Algorithm: "wrr", Nodes: 2, FrontEnd: tt.frontEnd, KeepAlive: tt.keepAlive})
		argv := LoadArgv("/bin/lvslab", cfg, "synth:small", "http://198.18.0.254:80", nil, 2, 0, 0, false, "o", "r")
		client := ""
		if k := slices.Index(argv, "--client-keep-alive"); k >= 0 && k+1 < len(argv) {
			client = argv[k+1]
		}
		if got := slices.Contains(argv, "--http10"); got != tt.http10 || client != tt.client {
			t.Errorf("%s keep-alive %v: --http10 %v, --client-keep-alive %q; want %v, %q: %q", tt.frontEnd, tt.keepAlive, got, client, tt.http10, tt.client, argv)
		}
	}
}
