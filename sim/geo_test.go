package sim

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/traces"
)

// TestOverflowRule is the rule of thesis §2.4.3 for one cluster (0) with
// default levels: start when local > 1.1 and a remote < 0.7; stop when
// that remote > 0.7 or local <= 1.0. Reference: §2.4.3.
func TestOverflowRule(t *testing.T) {
	o := Overflow{High: 1.1, Low: 0.7, Stop: 1.0}
	nan := math.NaN()
	for _, tc := range []struct {
		name   string
		cur    int
		local  float64
		remote []float64 // remote[0] is the cluster itself
		want   int
	}{
		{"start", -1, 1.2, []float64{9, 0.5}, 1},
		{"local at high does not start", -1, 1.1, []float64{9, 0.5}, -1},
		{"remote at low does not start", -1, 2, []float64{9, 0.7}, -1},
		{"remote never reported", -1, 2, []float64{9, nan}, -1},
		{"own load ignored", -1, 2, []float64{0, 0.9}, -1},
		{"least loaded remote", -1, 2, []float64{9, 0.5, 0.3, 0.6}, 2},
		{"tie: lowest index", -1, 2, []float64{9, 0.3, 0.3}, 1},
		{"hysteresis: local between stop and high continues", 1, 1.05, []float64{9, 0.5}, 1},
		{"remote at low continues", 1, 2, []float64{9, 0.7}, 1},
		{"remote above low stops", 1, 2, []float64{9, 0.71}, -1},
		{"local falls to stop", 1, 1.0, []float64{9, 0.1}, -1},
		{"local just above stop continues", 1, 1.0001, []float64{9, 0.1}, 1},
		{"stopped by its remote, switches to another", 1, 2, []float64{9, 0.8, 0.2}, 2},
		{"stopped by local, never switches", 1, 0.9, []float64{9, 0.8, 0.2}, -1},
		{"keeps its remote though another is lower", 1, 2, []float64{9, 0.5, 0.1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := o.nextTarget(0, tc.cur, tc.local, tc.remote); got != tc.want {
				t.Errorf("nextTarget(cur %d, local %v, remote %v) = %d, want %d", tc.cur, tc.local, tc.remote, got, tc.want)
			}
		})
	}
}

// clientOn returns a client name that the run of cfg homes on cluster c.
func clientOn(t *testing.T, cfg Config, c int) string {
	t.Helper()
	var cum []float64
	var sum float64
	for _, cl := range cfg.Clusters {
		sum += cl.Share
		cum = append(cum, sum)
	}
	key := newStream(cfg.Seed, streamHome).Uint64()
	for i := range 1000 {
		name := fmt.Sprintf("client%d", i)
		if homeOf(key, name, cum) == c {
			return name
		}
	}
	t.Fatalf("no client homed on cluster %d", c)
	return ""
}

// TestGeoTimeline checks the overflow rule's timeline on two one-node
// clusters, worked out by hand. Reference: thesis §2.4.3.
//
// Each cluster admits one request (high 1); a request costs 300 ms of
// setup and 400 ms of teardown (objects of 0 bytes), plus a 1 ns disk read
// for its node's first (the cache's compulsory miss), so a node serves
// one request per 0.7 s. Loads: window 1 (the load at the tick), the
// monitor every 1 s, exchange every 2 s (at the ticks of 1 s, 2 s, 4 s),
// WAN 100 ms. Cluster 0's clients send a0-a4 at 0 and a5..a8 at 1.5, 2.5,
// 3.5 and 4.5 s; cluster 1's send b0, b1 at 4.2 s.
//
//	1 s    tick: cluster 0 holds a1..a4 (a0 done at 0.7 s): load 4; cluster 1: 0. Both report.
//	1.1 s  cluster 0 hears 0 < 0.7 with its 4 > 1.1: starts tunnelling to 1.
//	1.5 s  a5 tunnelled; at cluster 1 at 1.6 s, done at 2.3 s + 1 ns (a miss there).
//	2 s    tick: cluster 0 holds a2..a4: 3, cluster 1 holds a5: 1. Both report.
//	2.1 s  cluster 0 hears 1 > 0.7: stops.
//	2.5 s  a6 served at home (2.5 -> 4.2 s + 1 ns), 3.5 s a7 too (-> 4.9 s + 1 ns).
//	3 s    tick: cluster 0 holds a4, a6: 2; it last heard 1 from cluster 1: no start.
//	4 s    tick: cluster 0 holds a6, a7: 2, cluster 1: 0. Both report.
//	4.1 s  cluster 0 hears 0 with its 2 > 1.1: starts again.
//	4.2 s  b0, b1 at cluster 1 (hits: done 4.9 s and 5.6 s).
//	4.5 s  a8 tunnelled; at cluster 1 at 4.6 s, behind b0 and b1: done at 6.3 s.
//	5 s    tick: cluster 0 is empty (a7 done at 4.9 s + 1 ns): 0 <= 1.0, stops.
//
// Cluster 0's response times: a0..a4 0.7, 1.4, 2.1, 2.8, 3.5 s (+1 ns);
// a5 2.3 − 1.5 + 0.1 = 0.9 s (+1 ns), the reply crossing the WAN back;
// a6 1.7 s, a7 1.4 s (+1 ns); a8 6.3 − 4.5 + 0.1 = 1.9 s.
func TestGeoTimeline(t *testing.T) {
	cfg := Config{Nodes: 1, Algorithm: "wlc", Low: 1, High: 1,
		Costs:        models.Costs{Connect: 300 * time.Millisecond, Teardown: 400 * time.Millisecond, DiskAccess: 1},
		DFLBInterval: time.Second,
		Clusters:     []Cluster{{Share: 1}, {Share: 1}},
		WANDelay:     100 * time.Millisecond,
		Overflow:     Overflow{On: true, Exchange: 2 * time.Second, Window: 1},
	}
	a, b := clientOn(t, cfg, 0), clientOn(t, cfg, 1)
	w := &traces.Workload{Name: "timeline", Clients: []string{a, b}, Objects: []traces.Object{{Target: "/", Size: 0}}}
	ms := time.Millisecond
	for _, r := range []struct {
		at     time.Duration
		client int32
	}{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1500 * ms, 0}, {2500 * ms, 0}, {3500 * ms, 0}, {4200 * ms, 1}, {4200 * ms, 1}, {4500 * ms, 0}} {
		w.Requests = append(w.Requests, traces.Request{Time: r.at, Client: r.client})
	}
	g, res := simulateGeo(t, cfg, w)

	wantTrans := []transition{{1100 * ms, 0, 1}, {2100 * ms, 0, -1}, {4100 * ms, 0, 1}, {5000 * ms, 0, -1}}
	if !slices.Equal(g.transitions, wantTrans) {
		t.Errorf("transitions %v, want %v", g.transitions, wantTrans)
	}
	s := time.Second
	want0 := []time.Duration{700*ms + 1, 900*ms + 1, 1400*ms + 1, 1400*ms + 1, 1700*ms + 1, 1900 * ms, 2100*ms + 1, 2800*ms + 1, 3500*ms + 1}
	if got := g.sites[0].resp; !slices.Equal(got, want0) {
		t.Errorf("cluster 0's response times %v, want %v", got, want0)
	}
	if got, want := g.sites[1].resp, []time.Duration{700 * ms, 1400 * ms}; !slices.Equal(got, want) {
		t.Errorf("cluster 1's response times %v, want %v", got, want)
	}
	c0, c1 := res.Clusters[0], res.Clusters[1]
	for _, x := range []struct {
		name      string
		got, want any
	}{
		{"overflowed", res.Overflowed, 2},
		{"overflow share", res.OverflowShare, 2.0 / 11},
		{"cluster 0 home", c0.Home, 9},
		{"cluster 0 out", c0.OverflowOut, 2},
		{"cluster 0 served", c0.Served, 7},
		{"cluster 1 in", c1.OverflowIn, 2},
		{"cluster 1 served", c1.Served, 4},
		{"cluster 0 starts", c0.OverflowStarts, 2},
		{"cluster 0 overflow time", c0.OverflowTime, 1900 * ms},
		{"cluster 0 max load", c0.MaxLoad, 4.0},
		{"cluster 1 max load", c1.MaxLoad, 2.0},
		{"makespan", res.Makespan, 6*s + 300*ms},
		{"cluster 0 p50", c0.P50, 1700*ms + 1},
	} {
		if x.got != x.want {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}

	// Without the rule every request stays home: a5..a8 queue behind a4.
	cfg.Overflow.On = false
	off, err := Run(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	if off.Overflowed != 0 || off.Clusters[0].Served != 9 || off.Clusters[0].OverflowStarts != 0 {
		t.Errorf("overflow off: overflowed %d, cluster 0 served %d, starts %d; want 0, 9, 0",
			off.Overflowed, off.Clusters[0].Served, off.Clusters[0].OverflowStarts)
	}
}

// geoConfig is an overloaded two-cluster run of synth workloads.
func geoConfig(on bool) Config {
	return Config{Nodes: 2, Algorithm: "wlc", Low: 2, High: 4, Admission: AdmissionOpen, Speedup: 6, Seed: *testSeed,
		Clusters: []Cluster{{Share: 3}, {Share: 1}}, WANDelay: 40 * time.Millisecond,
		Overflow: Overflow{On: on, Exchange: 10 * time.Second}}
}

// TestGeoDeterministic runs a multi-cluster run twice: byte-identical JSON
// and CSV. Overflow must happen in it, and help the overloaded cluster.
func TestGeoDeterministic(t *testing.T) {
	if *testSeed != 1 {
		t.Logf("seed %d", *testSeed)
	}
	w := synth(20000, 2000, *testSeed)
	out := func(on bool) (*Result, []byte) {
		r, err := Run(geoConfig(on), w)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, r)
		var b bytes.Buffer
		if err := WriteJSON(&b, []*Result{r}); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(&b, []*Result{r}); err != nil {
			t.Fatal(err)
		}
		return r, b.Bytes()
	}
	r1, b1 := out(true)
	_, b2 := out(true)
	if !bytes.Equal(b1, b2) {
		t.Fatal("two runs of one configuration differ")
	}
	off, _ := out(false)
	if r1.Overflowed == 0 || r1.Clusters[0].OverflowOut != r1.Overflowed || r1.Clusters[1].OverflowIn != r1.Overflowed {
		t.Fatalf("overflowed %d, out %d, in %d: want equal and > 0", r1.Overflowed, r1.Clusters[0].OverflowOut, r1.Clusters[1].OverflowIn)
	}
	if off.Overflowed != 0 {
		t.Errorf("overflow off: %d requests overflowed", off.Overflowed)
	}
	if !(r1.Clusters[0].MeanResponse < off.Clusters[0].MeanResponse) {
		t.Errorf("overflow did not lower the overloaded cluster's mean response: %v with, %v without",
			r1.Clusters[0].MeanResponse, off.Clusters[0].MeanResponse)
	}
	for _, r := range []*Result{r1, off} {
		if r.Clusters[0].Home+r.Clusters[1].Home != r.Requests {
			t.Errorf("homes %d + %d != requests %d", r.Clusters[0].Home, r.Clusters[1].Home, r.Requests)
		}
	}
}

// TestGeoHomes checks that clients are homed by share, and that a
// client's home depends on the seed and its name only.
func TestGeoHomes(t *testing.T) {
	w := synth(50000, 100, *testSeed)
	for i := range w.Clients {
		w.Clients[i] = fmt.Sprintf("host%d.example", i)
	}
	cfg := geoConfig(false)
	cfg.Speedup = 1
	cfg.Clusters = []Cluster{{Share: 1}, {Share: 3}}
	r, err := Run(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	share := float64(r.Clusters[1].Home) / float64(r.Requests)
	if share < 0.65 || share > 0.85 {
		t.Errorf("cluster 1 (share 3 of 4) got %.3f of the requests", share)
	}
	cfg.Algorithm, cfg.Overflow.On = "wrr", true
	key := newStream(cfg.Seed, streamHome).Uint64()
	cum := []float64{1, 4}
	g, err := newGeo(mustResolve(t, cfg), w)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range w.Clients {
		if int(g.home[i]) != homeOf(key, name, cum) {
			t.Fatalf("client %s homed on %d, want %d", name, g.home[i], homeOf(key, name, cum))
		}
	}
}

// simulateGeo runs the multi-cluster simulation of cfg on w as runGeo
// does, keeping the geo for its transitions, and checks the result's
// invariants.
func simulateGeo(t *testing.T, cfg Config, w *traces.Workload) (*geo, *Result) {
	t.Helper()
	g, err := newGeo(mustResolve(t, cfg), w)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.run(); err != nil {
		t.Fatal(err)
	}
	res := g.result()
	checkInvariants(t, res)
	return g, res
}

func mustResolve(t *testing.T, c Config) Config {
	t.Helper()
	c, err := c.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGeoConfig checks the multi-cluster fields' defaults and errors.
func TestGeoConfig(t *testing.T) {
	base := Config{Nodes: 3, Algorithm: "wlc", Clusters: []Cluster{{Share: 1}, {Nodes: 5, Share: 2}}}
	c := mustResolve(t, base)
	want := Overflow{High: 1.1, Low: 0.7, Stop: 1.0, Exchange: 2 * time.Minute, Window: 12}
	if c.Overflow != want || c.Admission != AdmissionOpen || c.Clusters[0].Nodes != 3 || c.Clusters[1].Nodes != 5 {
		t.Errorf("resolved %+v, admission %s, clusters %+v", c.Overflow, c.Admission, c.Clusters)
	}
	if base.Clusters[0].Nodes != 0 {
		t.Error("Resolve changed the caller's clusters")
	}
	if c2 := mustResolve(t, c); !slices.Equal(c2.Clusters, c.Clusters) || c2.Overflow != c.Overflow {
		t.Error("Resolve is not idempotent")
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		key  string
	}{
		{"one cluster", func(c *Config) { c.Clusters = c.Clusters[:1] }, "clusters"},
		{"zero share", func(c *Config) { c.Clusters[1].Share = 0 }, "clusters[1].share"},
		{"NaN share", func(c *Config) { c.Clusters[0].Share = math.NaN() }, "clusters[0].share"},
		{"negative nodes", func(c *Config) { c.Clusters[1].Nodes = -1 }, "clusters[1].nodes"},
		{"closed admission", func(c *Config) { c.Admission = AdmissionClosed }, "admission"},
		{"failures", func(c *Config) { c.Failures = []Failure{{Node: 0, At: time.Second}} }, "failures"},
		{"negative wan", func(c *Config) { c.WANDelay = -1 }, "wan_delay"},
		{"stop above high", func(c *Config) { c.Overflow.Stop = 1.2 }, "overflow_stop"},
		{"negative low", func(c *Config) { c.Overflow.Low = -1 }, "overflow_low"},
		{"negative window", func(c *Config) { c.Overflow.Window = -1 }, "overflow_window"},
		{"wan without clusters", func(c *Config) { c.Clusters = nil; c.WANDelay = time.Second }, "wan_delay"},
		{"overflow without clusters", func(c *Config) { c.Clusters = nil; c.Overflow.On = true }, "overflow"},
		{"too many clusters", func(c *Config) { c.Clusters = make([]Cluster, MaxClusters+1) }, "clusters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.Clusters = slices.Clone(base.Clusters)
			tc.edit(&c)
			_, err := c.Resolve()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Keys[0] != tc.key {
				t.Fatalf("Resolve: %v, want a ConfigError on %s", err, tc.key)
			}
		})
	}
}

// TestGeoCSV checks the CSV of multi-cluster runs: the GeoCSVHeader
// columns follow CSVHeader, empty for a single-cluster row, and a
// single-cluster CSV keeps CSVHeader alone.
func TestGeoCSV(t *testing.T) {
	w := synth(3000, 300, *testSeed)
	geo, err := Run(geoConfig(true), w)
	if err != nil {
		t.Fatal(err)
	}
	one, err := Run(Config{Nodes: 2, Algorithm: "wlc"}, w)
	if err != nil {
		t.Fatal(err)
	}
	read := func(rs ...*Result) [][]string {
		var b bytes.Buffer
		if err := WriteCSV(&b, rs); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	if recs := read(one); !slices.Equal(recs[0], CSVHeader) {
		t.Errorf("single-cluster header %v", recs[0])
	}
	recs := read(one, geo)
	if !slices.Equal(recs[0], slices.Concat(CSVHeader, GeoCSVHeader)) {
		t.Fatalf("header %v", recs[0])
	}
	col := func(row []string, name string) string { return row[slices.Index(recs[0], name)] }
	if col(recs[1], "clusters") != "" || col(recs[2], "clusters") != "3:2,1:2" || col(recs[2], "overflow") != "on" {
		t.Errorf("clusters columns %q, %q", col(recs[1], "clusters"), col(recs[2], "clusters"))
	}
	if got, want := col(recs[2], "overflowed"), fmt.Sprint(geo.Overflowed); got != want {
		t.Errorf("overflowed column %s, want %s", got, want)
	}
	if got := strings.Split(col(recs[2], "cluster_served"), ";"); len(got) != 2 || got[0] != fmt.Sprint(geo.Clusters[0].Served) {
		t.Errorf("cluster_served %v", got)
	}
}

// TestGeoHysteresis checks, on a hand-worked timeline, that a cluster
// keeps tunnelling while its load is between the stop level (1.0) and the
// start level (1.1), and stops at 1.0. Reference: thesis §2.4.3.
//
// Cluster 0 has one node admitting 20 requests (high 20), so its load is
// requests / 20 in steps of 0.05. A request's CPU setup takes 1 ns and
// its teardown 1 s (objects of 0 bytes; the first read from disk 1 ns),
// so the node completes one request a second, the k-th at k s plus a few
// ns (just after the tick of k s). Ticks every 1 s, window 1, an exchange
// at every tick, WAN 100 ms. Cluster 0's clients send 24 requests at 0,
// then one at 1.5, 3.5, 4.5 and 5.5 s.
//
//	1 s    24 present: load 1.20; cluster 1 reports 0.
//	1.1 s  1.20 > 1.1 and 0 < 0.7: start. 1.5 s: tunnelled.
//	2 s    23: 1.15, go on (cluster 1 reports 0.05: the request of 1.5 s).
//	3 s    22: 1.10, not above 1.1 but above 1.0: go on. 3.5 s: tunnelled.
//	4 s    21: 1.05, go on. 4.5 s: tunnelled.
//	5 s    20: 1.00, falls to 1.0: stop. 5.5 s: served at home.
//	6 s    20 (one more arrived, one more done): 1.00, no start.
//
// The tunnelled requests take, at cluster 1, 1 s + 2 ns (1.6 s: setup,
// the 1 ns read of its miss, send), 1 s + 1 ns (3.6 s: a hit) and 1 s +
// 2 ns (4.6 s: a hit whose setup waits 1 ns for the CPU, still sending the
// previous one until 4.6 s + 1 ns), plus 2 × 100 ms each.
func TestGeoHysteresis(t *testing.T) {
	cfg := Config{Nodes: 1, Algorithm: "wlc", Low: 10, High: 20,
		Costs:        models.Costs{Connect: 1, Teardown: time.Second, DiskAccess: 1},
		DFLBInterval: time.Second,
		Clusters:     []Cluster{{Share: 1}, {Share: 1}},
		WANDelay:     100 * time.Millisecond,
		Overflow:     Overflow{On: true, Exchange: time.Second, Window: 1},
	}
	w := &traces.Workload{Name: "hysteresis", Clients: []string{clientOn(t, cfg, 0)}, Objects: []traces.Object{{Target: "/"}}}
	ms := time.Millisecond
	for range 24 {
		w.Requests = append(w.Requests, traces.Request{})
	}
	for _, at := range []time.Duration{1500 * ms, 3500 * ms, 4500 * ms, 5500 * ms} {
		w.Requests = append(w.Requests, traces.Request{Time: at})
	}
	g, res := simulateGeo(t, cfg, w)
	if want := []transition{{1100 * ms, 0, 1}, {5000 * ms, 0, -1}}; !slices.Equal(g.transitions, want) {
		t.Errorf("transitions %v, want %v", g.transitions, want)
	}
	// The tunnelled requests' response times; none served at home takes
	// 1.2 s and a few ns (they complete a whole number of seconds after 0
	// or after 5.5 s).
	count := func(d time.Duration) int {
		n := 0
		for _, x := range g.sites[0].resp {
			if x == d {
				n++
			}
		}
		return n
	}
	if count(1200*ms+2) != 2 || count(1200*ms+1) != 1 {
		t.Errorf("tunnelled response times: %d of 1.2 s + 2 ns, %d of 1.2 s + 1 ns; want 2 and 1 (all: %v)",
			count(1200*ms+2), count(1200*ms+1), g.sites[0].resp)
	}
	c0, c1 := res.Clusters[0], res.Clusters[1]
	for _, x := range []struct {
		name      string
		got, want any
	}{
		{"cluster 0 home", c0.Home, 28},
		{"cluster 0 out", c0.OverflowOut, 3},
		{"cluster 0 served", c0.Served, 25},
		{"cluster 1 served", c1.Served, 3},
		{"cluster 0 max load", c0.MaxLoad, 1.2},
		{"cluster 1 max load", c1.MaxLoad, 0.05},
		{"cluster 0 overflow time", c0.OverflowTime, 3900 * ms},
		{"cluster 0 starts", c0.OverflowStarts, 1},
	} {
		if x.got != x.want {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
}
