package backend_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/monitor"
	"github.com/lvslab/lvslab/testbed/backend"
)

// TestMonitorReadsLoadReport: a director's DFLB load monitor
// (dataplane/monitor) reads a real back end's load report: every field of
// its contract is there, with the back end's own numbers, and a poll
// feeds DFLB the CPU, disk, process and (from the second poll) input
// metrics.
func TestMonitorReadsLoadReport(t *testing.T) {
	b, base := start(t, backend.Config{Workload: workload(1000, 2000), TimeScale: 100, CacheBytes: 1 << 20, Interval: 10 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path string) []byte {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
		}
		return body
	}
	for _, p := range []string{"/o0", "/o1", "/o0"} {
		get(p)
	}
	body := get(backend.DefaultLoadPath)
	r, err := monitor.ParseReport(body)
	if err != nil {
		t.Fatal(err)
	}
	var l backend.Load
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*float64{"active": r.Active, "served": r.Served, "cpu_util": r.CPUUtil,
		"disk_util": r.DiskUtil, "cpu_queue": r.CPUQueue, "disk_queue": r.DiskQueue} {
		if v == nil {
			t.Errorf("the monitor finds no %s in the report %s", name, body)
		}
	}
	if t.Failed() {
		return
	}
	if *r.Served != 3 || *r.Served != float64(l.Requests) || *r.Active != float64(l.InService) ||
		*r.CPUQueue != 0 || *r.DiskQueue != 0 || !(*r.CPUUtil >= 0 && *r.CPUUtil <= 1) || !(*r.DiskUtil >= 0 && *r.DiskUtil <= 1) {
		t.Errorf("the monitor reads %+v from %s", r, body)
	}

	sched, err := algorithms.New("dflb", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AddServer(dataplane.Server{ID: 0, Addr: netip.MustParseAddrPort(strings.TrimPrefix(base, "http://")), Weight: 1}); err != nil {
		t.Fatal(err)
	}
	m, err := monitor.New(svc, monitor.Config{Interval: time.Second}, monitor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	const polled = algorithms.MetricCPU | algorithms.MetricDisk | algorithms.MetricProcess
	if got := m.Last(); len(got) != 1 || !got[0].Responsive || got[0].Measured != polled {
		t.Errorf("first poll: %+v, want the back end responsive with %v measured", got, polled)
	}
	get("/o1")
	time.Sleep(time.Millisecond) // the served rate needs time between polls
	if err := m.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := m.Last(); len(got) != 1 || !got[0].Responsive || got[0].Measured != polled|algorithms.MetricInput {
		t.Errorf("second poll: %+v, want %v measured", got, polled|algorithms.MetricInput)
	}
	if b.Load().Requests != 4 {
		t.Errorf("the monitor's polls counted as requests: %d", b.Load().Requests)
	}
}
