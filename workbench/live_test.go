package workbench

import (
	"bytes"
	"context"
	"math"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/sim"
	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/traces"
)

// TestLiveResult converts a hand-made run at time scale 10: every time is
// multiplied by 10 and every rate divided by 10; the configuration comes
// from the load generator and the back ends' reports.
func TestLiveResult(t *testing.T) {
	ms := time.Millisecond
	report := func(cache int64) backend.Load {
		return backend.Load{Config: backend.LoadConfig{TimeScale: 10, CacheBytes: cache, CachePolicy: "lru", Costs: models.DefaultCosts()}}
	}
	r := &load.Result{
		Config:   load.Config{Workload: &traces.Workload{Name: "w"}, Mode: load.Closed, Concurrency: 120, Speedup: 1, Interval: time.Second},
		Requests: 10, OK: 7, Failed: 2, Unsent: 1, Makespan: 700 * ms, Bytes: 7e6, Hits: 5,
		P50: ms, P95: 2 * ms, P99: 3 * ms, Mean: 1500 * time.Microsecond,
		CDF:    []load.CDFPoint{{Time: ms, Fraction: 0.5}, {Time: 3 * ms, Fraction: 1}},
		Series: []load.Sample{{Start: 0, Completed: 7, Failed: 2, Hits: 5, InFlight: 0}},
		Backends: []load.Backend{
			{After: report(1 << 20), Requests: 3, Hits: 2, HitRatio: 2.0 / 3, CPUUtil: 0.5, DiskUtil: 0.25, Bytes: 3e6, TimeScale: 10, CacheBytes: 1 << 20, CachePolicy: "lru"},
			{After: report(1 << 20), Requests: 5, Hits: 3, HitRatio: 0.6, CPUUtil: 0.7, DiskUtil: 0.5, Bytes: 4e6, TimeScale: 10, CacheBytes: 1 << 20, CachePolicy: "lru"},
		},
	}
	got, err := LiveResult(r, LiveOptions{Algorithm: "lblc"})
	if err != nil {
		t.Fatal(err)
	}
	want := &sim.Result{
		Version: got.Version, Trace: "w",
		Config: sim.Config{Preset: "thesis", Nodes: 2, Algorithm: "lblc", FrontEnd: "l7", Admission: "closed", Speedup: 1,
			Interval: 10 * time.Second, High: 60, CacheBytes: 1 << 20, CachePolicy: "lru", Costs: models.DefaultCosts()},
		Requests: 10, Completed: 7, Failed: 3, Unserved: 1, Makespan: 7 * time.Second,
		ThroughputRPS: 1, ThroughputMBps: 1, HitRatio: 5.0 / 7,
		P50: 10 * ms, P95: 20 * ms, P99: 30 * ms, MeanResponse: 15 * ms,
		Imbalance:   0.25, // counts 3 and 5: mean 4, standard deviation 1
		ResponseCDF: []sim.CDFPoint{{Time: 10 * ms, Fraction: 0.5}, {Time: 30 * ms, Fraction: 1}},
		Series:      []sim.Sample{{Start: 0, Completed: 7, Hits: 5, Failed: 2}},
		Nodes: []sim.NodeResult{
			{Node: 0, Requests: 3, Hits: 2, HitRatio: 2.0 / 3, CPUUtil: 0.5, DiskUtil: 0.25, Bytes: 3e6},
			{Node: 1, Requests: 5, Hits: 3, HitRatio: 0.6, CPUUtil: 0.7, DiskUtil: 0.5, Bytes: 4e6},
		},
	}
	if math.Abs(got.ThroughputRPS-1) < 1e-12 {
		got.ThroughputRPS = 1
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LiveResult\n got %+v\nwant %+v", got, want)
	}

	// Back ends at different time scales need the one to use.
	r.Backends[1].TimeScale = 100
	if _, err := LiveResult(r, LiveOptions{}); err == nil || !strings.Contains(err.Error(), "different time scales") {
		t.Errorf("mixed time scales: %v", err)
	}
	if got, err := LiveResult(r, LiveOptions{TimeScale: 1}); err != nil || got.Makespan != 700*ms {
		t.Errorf("time scale 1: makespan %v, %v", got.Makespan, err)
	}
	// A report missing: no per-node figures, which would be partial.
	r.Backends[1].Err = "after the run: connection refused"
	if got, _ := LiveResult(r, LiveOptions{TimeScale: 1}); len(got.Nodes) != 0 || got.Config.Nodes != 2 {
		t.Errorf("with a report missing: %d node results for %d nodes", len(got.Nodes), got.Config.Nodes)
	}
}

// TestLiveResultReadBack runs a small live load against a back end on
// 127.0.0.1 and checks that its result, written as JSON and CSV, reads
// back unchanged (ReadResults, ReadTable) and draws.
func TestLiveResultReadBack(t *testing.T) {
	w, err := traces.LoadDefault(traces.ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	b, err := backend.New(backend.Config{Workload: w, TimeScale: 1000})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go b.Serve(l)
	defer b.Close()
	url := "http://" + l.Addr().String()
	lr, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Requests: 400, Concurrency: 16, LoadURLs: []string{url + backend.DefaultLoadPath}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := LiveResult(lr, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 400 || res.Config.Nodes != 1 || len(res.Nodes) != 1 || res.Nodes[0].Requests != 400 || res.Config.CacheBytes != 32<<20 ||
		res.HitRatio != res.Nodes[0].HitRatio || res.ThroughputRPS <= 0 || len(res.ResponseCDF) != 100 {
		t.Fatalf("live result %+v", res)
	}
	var js bytes.Buffer
	if err := sim.WriteJSON(&js, []*sim.Result{res}); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults("live.json", bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back[0], res) {
		t.Errorf("read back\n got %+v\nwant %+v", back[0], res)
	}
	var csv bytes.Buffer
	if err := sim.WriteCSV(&csv, []*sim.Result{res}); err != nil {
		t.Fatal(err)
	}
	tab, err := ReadTable("live.csv", &csv)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Get(0, "alg") != "direct" || tab.Get(0, "completed") != "400" {
		t.Errorf("CSV row alg %q, completed %q", tab.Get(0, "alg"), tab.Get(0, "completed"))
	}
	files, err := WriteResultPlots(t.TempDir(), "live", back, PlotOptions{Formats: []string{"svg"}})
	if err != nil || len(files) == 0 {
		t.Errorf("plots %v, %v", files, err)
	}
}
