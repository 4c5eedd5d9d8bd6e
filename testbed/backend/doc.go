// Package backend is lvslab's emulated real server: an HTTP/1.1 server
// (keep-alive, and HTTP/1.0) that serves every target of a trace at the
// trace's object size, and whose CPU, disk and cache follow the reference
// model (docs/reference-model.md §2-3, thesis §4.3, §6.3.7) in real time,
// so that a live run and a simulation of the same experiment can be
// compared.
//
//	w, _ := traces.LoadDefault(traces.ReferenceFilter())
//	b, _ := backend.New(backend.Config{Workload: w, TimeScale: 10})
//	l, _ := net.Listen("tcp", "127.0.0.1:8080")
//	go b.Serve(l)
//	defer b.Close()
//
// # Targets and sizes
//
// Sizes come from the workload alone (Config.Workload: load it from the
// same trace spec as the load generator; "synth:" specs give synthetic
// workloads of any size): there is no size parameter in the request,
// because a query string is what makes a request dynamic in the trace's
// rules. A target that is not in the workload is a 404, never an object
// of some default size.
//
// # Serving one request
//
// A GET of target T (the request-target up to '?' or '#', as sent, with
// no decoding; RequestTarget is how a trace target is sent) of object
// size S runs the model's steps, each model time divided by
// Config.TimeScale:
//
//  1. CPU job: connection set-up (models.Costs.SetupTime).
//  2. When it ends, cache look-up (models.Cache, LRU by default,
//     Config.CacheBytes). Miss: disk job (Costs.DiskTime), then insert.
//  3. CPU job: transmit and teardown (Costs.SendTime).
//
// Then the response goes out: status 200, Content-Length S, S bytes, and
// the header X-Lvslab-Cache: hit or miss. A dynamic request (a query string
// or "cgi-bin" in the request-target) never touches the cache and every
// one of its times is multiplied by Costs.DynamicFactor, as in the
// simulator. A target that is not in the trace gets 404; a method other
// than GET or HEAD, 405.
//
// The back end has ONE CPU and ONE disk, each a FIFO server. A job's end
// is an absolute deadline, max(arrival, end of the previous job on that
// server) + time, and a job arrives at the deadline that ended the
// previous step, not at the instant its goroutine woke up: wake-up delays
// never add up, along a request or along a queue. On Linux the back end
// wakes requests from a clock thread that sleeps in ppoll(2) until the
// earliest deadline, within microseconds of it; Go's runtime timers would
// wake an idle process only at the next whole millisecond. The response's
// own transfer over the network comes on top of the model's time.
//
// # Load report
//
// GET Config.LoadPath (default /lvslab/load) returns a Load as JSON. Its
// top level carries DFLB's load-monitor contract (dataplane/monitor's
// Report: active, cpu_util, disk_util, cpu_queue, disk_queue, served), so
// a director's monitor reads a back end as it is; and the back end's own
// figures: open connections, requests in service, cumulative busy times
// and utilisation since start, requests served, hits, hit ratio, bytes,
// and the back end's configuration (trace, cache, time scale, costs). A
// trace target at or under the load path is refused by New.
//
// # Failure
//
// Close emulates a crash: listener and connections close at once, and the
// requests in service end without a response. Killing the process is the
// real thing; Shutdown is the graceful stop.
//
// Command "lvslab backend" runs one.
package backend
