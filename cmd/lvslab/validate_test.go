package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane/director"
	"github.com/lvslab/lvslab/experiment"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/workbench"
)

// TestDirectorTakesLiveServices keeps the services file a live run writes what
// the director reads: for every scheduler, the director builds the very
// scheduler the simulator builds (reflect.DeepEqual: schedulers are plain
// state machines), but for the times of its options, divided by the time
// scale; every back end is health-checked, and DFLB gets its load monitor.
func TestDirectorTakesLiveServices(t *testing.T) {
	topo, err := testbed.Topology{Mode: testbed.L7, Servers: 4, Segments: 1, Prefix: "lttest"}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	const scale = 2
	for _, tt := range []struct {
		alg  string
		opts string // an experiment file's options, or ""
	}{
		{alg: "wrr"}, {alg: "wlc"}, {alg: "lblc"}, {alg: "lblcr"},
		{alg: "lblcr", opts: "options: {set_expiry: 20s, table_expiry: 1h}"},
		{alg: "lblc", opts: "low: 10\nhigh: 20\noptions: {max_entries: 5000}"},
		{alg: "rr"}, {alg: "sed"}, {alg: "p2c"}, {alg: "chbl", opts: "options: {epsilon: 0.5, replicas: 50}"},
		{alg: "dflb"}, {alg: "dflb", opts: "options: {inner: wlc, dflb: {a: 2, coefficients: [0, 0.5, 0.5, 0, 0, 0]}}"},
		{alg: "content", opts: "options: {classes: {cgi: [0, 1], img: [2]}}"},
	} {
		t.Run(tt.alg+" "+tt.opts, func(t *testing.T) {
			e, err := experiment.Parse("exp.yaml", strings.NewReader("alg: "+tt.alg+"\nnodes: 4\n"+tt.opts+"\n"), "")
			if err != nil {
				t.Fatal(err)
			}
			base, _, err := e.Configs()
			if err != nil {
				t.Fatal(err)
			}
			base.Algorithm, base.Nodes = tt.alg, 4
			cfg, err := base.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			data, err := workbench.ServicesFile(cfg, topo.Layout(), scale)
			if err != nil {
				t.Fatal(err)
			}
			svcs, err := director.ReadServices("services.yaml", bytes.NewReader(data))
			if err != nil {
				t.Fatalf("the director refuses the services file: %v\n%s", err, data)
			}
			s := svcs[0]
			if s.Alg != tt.alg || len(s.Servers) != 4 || s.Health == nil || s.Listen != "198.18.0.254:80" {
				t.Fatalf("service %+v\n%s", s, data)
			}
			want := cfg.Options
			for _, d := range []struct {
				p   *time.Duration
				def time.Duration
			}{{&want.SetExpiry, algorithms.DefaultSetExpiry}, {&want.TableExpiry, algorithms.DefaultTableExpiry}} {
				if *d.p == 0 {
					*d.p = d.def
				}
				*d.p /= scale
			}
			sim, err := algorithms.New(tt.alg, want)
			if err != nil {
				t.Fatal(err)
			}
			live, err := algorithms.New(s.Alg, s.Options)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(sim, live) {
				t.Errorf("the director's scheduler differs from the simulator's (times / %d):\n director  %+v\n simulator %+v\n%s", scale, s.Options, want, data)
			}
			_, feedback := live.(algorithms.LoadFeedback)
			if feedback != (s.Monitor != nil) {
				t.Errorf("load feedback %v, monitor %+v", feedback, s.Monitor)
			}
			if s.Monitor != nil && s.Monitor.Interval != cfg.DFLBInterval/scale {
				t.Errorf("monitor interval %v, want %v / %d", s.Monitor.Interval, cfg.DFLBInterval, scale)
			}
		})
	}
}

// TestDirectorTakesLiveL4Services: the director reads the services file of
// an l4 cell in each forwarding method: the cell's scheduler and method,
// a health check and DFLB's monitor; behind VS/NAT, one load-report
// service per real server too.
func TestDirectorTakesLiveL4Services(t *testing.T) {
	for _, m := range []struct {
		method   string
		mode     testbed.Mode
		services int
	}{{"nat", testbed.NAT, 5}, {"tun", testbed.TUN, 1}, {"dr", testbed.DR, 1}} {
		topo, err := testbed.Topology{Mode: m.mode, Servers: 4, Prefix: "lttest"}.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		e, err := experiment.Parse("exp.yaml", strings.NewReader("alg: dflb\nnodes: 4\nfront_end: l4\nmethod: "+m.method+"\n"), "")
		if err != nil {
			t.Fatal(err)
		}
		base, _, err := e.Configs()
		if err != nil {
			t.Fatal(err)
		}
		base.Algorithm, base.Nodes = "dflb", 4
		cfg, err := base.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		data, err := workbench.ServicesFile(cfg, topo.Layout(), 1)
		if err != nil {
			t.Fatal(err)
		}
		svcs, err := director.ReadServices("services.yaml", bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: the director refuses the services file: %v\n%s", m.method, err, data)
		}
		if len(svcs) != m.services || svcs[0].Mode != m.method || svcs[0].Alg != "dflb" || svcs[0].Health == nil || svcs[0].Monitor == nil || len(svcs[0].Servers) != 4 {
			t.Errorf("%s: %d services, first %+v\n%s", m.method, len(svcs), svcs[0], data)
		}
	}
}

// TestTestbedRunRefusals: testbed run and validate refuse, before anything is
// built (and so without root), what a live run cannot do: simulator-only
// keys (each with its line), a --requests beyond the trace, a bad time
// scale or tolerance.
func TestTestbedRunRefusals(t *testing.T) {
	dir := t.TempDir()
	simOnly := writeFile(t, dir, "sim-only.yaml", "trace: default\nalg: wrr\nnodes: 2\nadmission: open\nspeedup: 4\nfront_end: distributed\n")
	ok := writeFile(t, dir, "ok.yaml", "trace: default\nalg: wrr\nnodes: 2\ncache: 2MiB\n")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-f", simOnly}, []string{"cannot run live", simOnly + ":4: admission: only the simulator", simOnly + ":5: speedup:", simOnly + ":6: front_end: front end distributed is simulated only"}},
		{[]string{"-f", ok, "--method", "tun"}, []string{"--method:", "forwarding method tun is for the l4 front end"}},
		{[]string{"-f", ok, "--front-end", "l4", "--method", "ipip"}, []string{`--method: "ipip": want one of nat, tun, dr`}},
		{[]string{"-f", ok, "--requests", "5000"}, []string{"--requests 5000: trace antlr-2003.log.gz has only 4662 requests"}},
		{[]string{"-f", ok, "--requests", "-1"}, []string{"--requests -1"}},
		{[]string{"-f", ok, "--time-scale", "0"}, []string{"--time-scale: time scale 0: want a finite number > 0"}},
		{[]string{"-f", ok, "--time-scale", "5000"}, []string{"at most 1000"}},
		{[]string{"-f", ok, "--alg", "nope"}, []string{`unknown scheduler "nope"`}},
	}
	for _, cmd := range [][]string{{"testbed", "run"}, {"validate"}} {
		for _, tt := range tests {
			args := append(append([]string{}, cmd...), tt.args...)
			_, _, err := execLab(t, args...)
			if err == nil {
				t.Errorf("lvslab %s: no error", strings.Join(args, " "))
				continue
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("lvslab %s: %v\nwant it to contain %q", strings.Join(args, " "), err, w)
				}
			}
		}
	}
	for _, args := range [][]string{{"--tolerance", "1.5"}, {"--tie-margin", "-0.1"}} {
		_, _, err := execLab(t, append([]string{"validate", "-f", ok}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--tolerance, --tie-margin") {
			t.Errorf("validate %v: %v", args, err)
		}
	}
}

// simulateLiveExperiment checks that experiment file f can run live and
// returns its simulated results (lvslab sim -f f).
func simulateLiveExperiment(t *testing.T, f string) []*sim.Result {
	t.Helper()
	e, err := experiment.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CheckLive(); err != nil {
		t.Fatalf("%s cannot run live: %v", f, err)
	}
	out, _, err := execLab(t, "sim", "-f", f, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := workbench.ReadResults(f, strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestValidateL4Experiments keeps experiments/validate-{nat,tun,dr}.yaml
// what their comments say: the l4 front end in their method, live-capable,
// and, simulated, WLC above WRR and DFLB (which tie) with HTTP/1.0, the
// three tied with keep-alive, each figure as the header gives it.
func TestValidateL4Experiments(t *testing.T) {
	for _, m := range []string{"nat", "tun", "dr"} {
		f := filepath.Join("..", "..", "experiments", "validate-"+m+".yaml")
		rs := simulateLiveExperiment(t, f)
		if len(rs) != 6 {
			t.Fatalf("%s: %d cells, want 6", f, len(rs))
		}
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rps := map[string]float64{}
		for _, r := range rs {
			if r.Config.FrontEnd != "l4" || r.Config.Method != m {
				t.Errorf("%s: front end %s, method %q", f, r.Config.FrontEnd, r.Config.Method)
			}
			rps[fmt.Sprintf("%s/%v", r.Config.Algorithm, r.Config.KeepAlive)] = r.ThroughputRPS
			if want := fmt.Sprintf("%s %.1f", workbench.DisplayName(r.Config.Algorithm), r.ThroughputRPS); !strings.Contains(string(text), want) {
				t.Errorf("%s does not say %q", f, want)
			}
		}
		tie := func(a, b float64) bool { return math.Abs(a-b) <= 0.05*max(a, b) }
		if rps["wlc/0s"] < 1.1*rps["wrr/0s"] || rps["wlc/0s"] < 1.1*rps["dflb/0s"] || !tie(rps["wrr/0s"], rps["dflb/0s"]) ||
			!tie(rps["wrr/15s"], rps["wlc/15s"]) || !tie(rps["wrr/15s"], rps["dflb/15s"]) || !tie(rps["wlc/15s"], rps["dflb/15s"]) {
			t.Errorf("%s: simulated %v: want WLC 10%% above WRR ≈ DFLB with HTTP/1.0, all tied with keep-alive", f, rps)
		}
	}
}

// TestValidateExperiment keeps experiments/validate-l7.yaml what its
// comments say: a trace where locality matters, where LBLC and LBLC/R beat
// WRR and WLC by far in the simulation, and which a live run can take.
func TestValidateExperiment(t *testing.T) {
	f := filepath.Join("..", "..", "experiments", "validate-l7.yaml")
	rs := simulateLiveExperiment(t, f)
	rps := map[string]float64{}
	for _, r := range rs {
		rps[r.Config.Algorithm] = r.ThroughputRPS
	}
	if len(rs) != 4 || rps["lblc"] < 1.5*rps["wlc"] || rps["lblcr"] < 1.5*rps["wlc"] || rps["wlc"] < rps["wrr"]*1.1 {
		t.Errorf("simulated throughputs %v: want LBLC and LBLC/R at least 1.5× WLC, WLC 10%% above WRR", rps)
	}
	text, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if want := fmt.Sprintf("%s %.1f", workbench.DisplayName(r.Config.Algorithm), r.ThroughputRPS); !strings.Contains(string(text), want) {
			t.Errorf("%s does not say %q", f, want)
		}
	}
}
