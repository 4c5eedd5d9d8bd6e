package backend

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/lvslab/lvslab/dataplane/monitor"
	"github.com/lvslab/lvslab/models"
)

// Load is the back end's load report, served as JSON at the load path for
// a director's load monitor (DFLB) and for results. Times are wall times
// (model time = wall time × Config.TimeScale). Counters are cumulative
// since the back end started, so that a reader takes differences between
// two reports for a run of its own.
type Load struct {
	Name   string        `json:"name,omitempty"`
	Time   time.Time     `json:"time"`
	Uptime time.Duration `json:"uptime_ns"`

	// Report is what DFLB's load monitor reads, in the JSON contract of
	// package dataplane/monitor (its fields sit at the top level of the
	// report), every field set: active is InService, served is Requests,
	// cpu_util and disk_util are the utilisation over the last complete
	// interval (Interval wide, aligned on the start; since start until
	// one has passed), cpu_queue and disk_queue the jobs waiting or in
	// service at the CPU and at the disk.
	monitor.Report

	Connections int64 `json:"connections"` // client connections open
	Accepted    int64 `json:"accepted"`    // client connections accepted since start
	InService   int64 `json:"in_service"`  // requests arrived and not yet answered

	CPUBusy       time.Duration `json:"cpu_busy_ns"`     // CPU busy time since start
	DiskBusy      time.Duration `json:"disk_busy_ns"`    // disk busy time since start
	CPUUtilTotal  float64       `json:"cpu_util_total"`  // CPUBusy / Uptime
	DiskUtilTotal float64       `json:"disk_util_total"` // DiskBusy / Uptime
	Interval      time.Duration `json:"interval_ns"`     // the window of cpu_util and disk_util

	Requests int64   `json:"requests"`  // requests served (complete responses)
	Hits     int64   `json:"hits"`      // of which cache hits
	HitRatio float64 `json:"hit_ratio"` // Hits / Requests
	Bytes    int64   `json:"bytes"`     // response body bytes of the requests served
	NotFound int64   `json:"not_found"` // requests for targets not in the trace
	Aborted  int64   `json:"aborted"`   // requests cut short (client gone, back end closed)
	Denied   int64   `json:"denied"`    // requests with a method other than GET or HEAD

	CacheUsed    int64 `json:"cache_used"`    // bytes cached
	CacheObjects int   `json:"cache_objects"` // objects cached

	Config LoadConfig `json:"config"`
}

// LoadConfig is the configuration a load report carries.
type LoadConfig struct {
	Trace       string       `json:"trace"`
	Objects     int          `json:"objects"`
	CacheBytes  int64        `json:"cache_bytes"`
	CachePolicy string       `json:"cache_policy"`
	TimeScale   float64      `json:"time_scale"`
	Costs       models.Costs `json:"costs"`
}

// Load returns the current load report.
func (b *Backend) Load() Load {
	now := b.clk.now()
	l := Load{
		Name:        b.cfg.Name,
		Time:        now,
		Uptime:      now.Sub(b.start),
		Connections: b.conns.Load(),
		Accepted:    b.accepted.Load(),
		InService:   b.inService.Load(),
		Interval:    b.cfg.Interval,
		Requests:    b.served.Load(),
		Hits:        b.hits.Load(),
		Bytes:       b.bytes.Load(),
		NotFound:    b.notFound.Load(),
		Aborted:     b.aborted.Load(),
		Denied:      b.denied.Load(),
		Config: LoadConfig{
			Trace: b.cfg.Workload.Name, Objects: len(b.sizes), CacheBytes: b.cfg.CacheBytes,
			CachePolicy: b.cfg.CachePolicy, TimeScale: b.cfg.TimeScale, Costs: b.cfg.Costs,
		},
	}
	b.mu.Lock()
	b.advance(now)
	cpuQueue, diskQueue := b.cpu.queue, b.disk.queue
	l.CPUBusy, l.DiskBusy = b.cpu.busy(now), b.disk.busy(now)
	prev, last := b.prev, b.last
	l.CacheUsed, l.CacheObjects = b.cache.Used(), b.cache.Len()
	b.mu.Unlock()
	if l.Uptime > 0 {
		l.CPUUtilTotal = float64(l.CPUBusy) / float64(l.Uptime)
		l.DiskUtilTotal = float64(l.DiskBusy) / float64(l.Uptime)
	}
	cpuUtil, diskUtil := l.CPUUtilTotal, l.DiskUtilTotal
	if prev.j >= 0 {
		span := float64(last.at.Sub(prev.at))
		cpuUtil = float64(last.cpu-prev.cpu) / span
		diskUtil = float64(last.disk-prev.disk) / span
	}
	if l.Requests > 0 {
		l.HitRatio = float64(l.Hits) / float64(l.Requests)
	}
	l.Report = monitor.Report{
		Active: new(float64(l.InService)), Served: new(float64(l.Requests)),
		CPUUtil: new(cpuUtil), DiskUtil: new(diskUtil),
		CPUQueue: new(float64(cpuQueue)), DiskQueue: new(float64(diskQueue)),
	}
	return l
}

// Summary is a one-line account of the back end's work since start.
func (l Load) Summary() string {
	return fmt.Sprintf("%d requests served (%.1f%% hits, %d bytes), %d not found, %d cut short, CPU %.1f%% and disk %.1f%% busy over %v",
		l.Requests, 100*l.HitRatio, l.Bytes, l.NotFound, l.Aborted, 100*l.CPUUtilTotal, 100*l.DiskUtilTotal, l.Uptime.Round(time.Millisecond))
}

// serveLoad answers a GET or HEAD of the load path.
func (b *Backend) serveLoad(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		b.denied.Add(1)
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, err := json.Marshal(b.Load())
	if err != nil { // a Load holds only finite numbers
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	data = append(data, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}
