package sim

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/traces"
)

// feCall is one Schedule call seen by the front-end test schedulers.
type feCall struct {
	at       time.Duration
	key      string
	client   string
	dest     string // Dest:DestPort
	cost     int
	noCache  bool
	local    algorithms.ServerID
	hasLocal bool
	active   []int
	load     []float64
}

// feLog records every Schedule call of the "simtest-fe-*" schedulers. Tests
// using them must not run in parallel; feRun resets it.
var feLog []feCall

func feRecord(now time.Duration, r *algorithms.Request, p *algorithms.Pool) {
	c := feCall{at: now, key: r.Key, cost: r.Cost, noCache: r.NoCache, local: r.Local, hasLocal: r.HasLocal}
	if r.Client.IsValid() {
		c.client = r.Client.String()
	}
	if r.Dest.IsValid() {
		c.dest = netip.AddrPortFrom(r.Dest, r.DestPort).String()
	}
	for _, s := range p.Servers() {
		c.active = append(c.active, s.Active)
		c.load = append(c.load, s.Load)
	}
	feLog = append(feLog, c)
}

func init() {
	// "simtest-fe-rr" walks the usable nodes round-robin in index order
	// (ErrNoServer when none is usable); "simtest-fe-zero" always picks
	// node 0. Both log their calls in feLog.
	algorithms.Register(algorithms.Info{Name: "simtest-fe-rr", Description: "sim front-end tests only", New: func(algorithms.Options) (algorithms.Scheduler, error) {
		next := 0
		return &testScheduler{"simtest-fe-rr", func(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
			feRecord(now, r, p)
			for k := range p.Len() {
				i := (next + k) % p.Len()
				if p.At(i).Usable() {
					next = (i + 1) % p.Len()
					return p.At(i).ID, nil
				}
			}
			return 0, algorithms.ErrNoServer
		}}, nil
	}})
	algorithms.Register(algorithms.Info{Name: "simtest-fe-zero", Description: "sim front-end tests only", New: func(algorithms.Options) (algorithms.Scheduler, error) {
		return &testScheduler{"simtest-fe-zero", func(now time.Duration, r *algorithms.Request, p *algorithms.Pool) (algorithms.ServerID, error) {
			feRecord(now, r, p)
			return 0, nil
		}}, nil
	}})
}

// feRun resets feLog and runs cfg on w with every completion observed.
func feRun(t *testing.T, cfg Config, w *traces.Workload) (*Result, []completion) {
	t.Helper()
	feLog = nil
	return runObserved(t, cfg, w)
}

// timedWorkload builds a hand-made workload of 512-byte objects /o0,
// /o1, ... (a miss alone costs setup 140 + disk 28,410 + send 180 =
// 28,730 µs, a hit 320 µs) with one request per entry.
func timedWorkload(objects int, reqs ...traces.Request) *traces.Workload {
	sizes := make([]int64, objects)
	for i := range sizes {
		sizes[i] = 512
	}
	w := workload(sizes)
	w.Clients = []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	w.Requests = reqs
	w.Lines = len(reqs)
	return w
}

const (
	miss512 = 28730 * us
	hit512  = 320 * us
)

// checkCompletions compares completions by request index.
func checkCompletions(t *testing.T, got, want []completion) {
	t.Helper()
	got = slices.Clone(got)
	slices.SortFunc(got, func(a, b completion) int { return a.req - b.req })
	if !slices.Equal(got, want) {
		t.Errorf("completions\n got  %v\n want %v", got, want)
	}
}

// synthMixed is synth with every ninth request dynamic.
func synthMixed(n, objects int, seed uint64) *traces.Workload {
	w := synth(n, objects, seed)
	for i := range w.Requests {
		w.Requests[i].Dynamic = i%9 == 4
	}
	return w
}

// TestFrontEndsRunToCompletion runs every front end with several
// schedulers, admissions, keep-alive settings and a node failure on a
// synthetic workload: each run must end without error and satisfy the
// result invariants (completed + failed = requests; node requests +
// bypassed = completed; ...).
func TestFrontEndsRunToCompletion(t *testing.T) {
	w := synthMixed(1500, 300, *testSeed)
	if *testSeed != 1 {
		t.Logf("seed %d", *testSeed)
	}
	scheds := []string{"wrr", "wlc", "lblc", "lblcr", "lbll", "lbll-local", "lbll-cache", "dflb", "sh", "simtest-none", "simtest-bypass"}
	variants := []struct {
		name string
		cfg  Config
	}{
		{"closed", Config{}},
		{"open", Config{Admission: AdmissionOpen, Speedup: 20}},
		// Failures run open-loop over the trace's 15 s: in the closed loop,
		// requests sent to a crashed node before detection fail at once and
		// each failure admits the next, so the trace would be used up
		// within the detection delay.
		{"failure", Config{Admission: AdmissionOpen, Failures: []Failure{{Node: 1, At: 300 * time.Millisecond, Recover: 2 * time.Second}, {Node: 2, At: time.Second}}, HealthCheckDelay: 100 * time.Millisecond}},
		{"keepalive-batch", Config{KeepAlive: 15 * time.Second, CLSBatch: 4, Distributors: 2, Low: 5, High: 10}},
		// Every node down for a while: requests wait (l7, l4, colocated),
		// are held by their distributor (distributed) or go to the origin
		// (cachecluster). Every node recovers.
		{"all-down", Config{Admission: AdmissionOpen, HealthCheckDelay: 20 * time.Millisecond, Failures: []Failure{
			{Node: 0, At: 50 * time.Millisecond, Recover: 7 * time.Second}, {Node: 1, At: 50 * time.Millisecond, Recover: 9 * time.Second},
			{Node: 2, At: 50 * time.Millisecond, Recover: 8 * time.Second}, {Node: 3, At: 60 * time.Millisecond, Recover: 12 * time.Second}}}},
	}
	for _, fe := range FrontEnds() {
		for _, alg := range scheds {
			for _, v := range variants {
				t.Run(fmt.Sprintf("%s/%s/%s", fe, alg, v.name), func(t *testing.T) {
					cfg := v.cfg
					cfg.Nodes, cfg.Algorithm, cfg.FrontEnd = 4, alg, fe
					res, _ := feRun(t, cfg, w)
					if res.Requests != len(w.Requests) {
						t.Errorf("requests %d, want %d", res.Requests, len(w.Requests))
					}
					if alg != "simtest-none" && res.Completed == 0 {
						t.Errorf("nothing completed: %+v", res)
					}
				})
			}
		}
	}
}

// TestFrontEndsDeterministic runs each front end twice with the same
// configuration: the CSV and JSON outputs must be byte-identical.
func TestFrontEndsDeterministic(t *testing.T) {
	w := synthMixed(3000, 500, *testSeed)
	for _, fe := range FrontEnds() {
		for _, alg := range []string{"lblcr", "lbll", "lbll-local", "lbll-cache", "wlc"} {
			t.Run(fe+"/"+alg, func(t *testing.T) {
				cfg := Config{Nodes: 5, Algorithm: alg, FrontEnd: fe, KeepAlive: 2 * time.Second, CLSBatch: 3,
					Failures: []Failure{{Node: 3, At: time.Second, Recover: 4 * time.Second}}}
				var outs [2][]byte
				for i := range outs {
					res, err := Run(cfg, w)
					if err != nil {
						t.Fatal(err)
					}
					var b bytes.Buffer
					if err := WriteCSV(&b, []*Result{res}); err != nil {
						t.Fatal(err)
					}
					if err := WriteJSON(&b, []*Result{res}); err != nil {
						t.Fatal(err)
					}
					outs[i] = b.Bytes()
				}
				if !bytes.Equal(outs[0], outs[1]) {
					t.Errorf("two runs of the same config differ")
				}
			})
		}
	}
}

// BenchmarkFrontEnds measures one closed-loop run of 20,000 requests on 8
// nodes per front end (scheduler lblcr; keep-alive 5 s for l4).
func BenchmarkFrontEnds(b *testing.B) {
	w := synthMixed(20000, 2000, 1)
	for _, fe := range FrontEnds() {
		b.Run(fe, func(b *testing.B) {
			cfg := Config{Nodes: 8, Algorithm: "lblcr", FrontEnd: fe, KeepAlive: 5 * time.Second}
			for b.Loop() {
				if _, err := Run(cfg, w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(w.Requests))*float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
