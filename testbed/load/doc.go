// Package load is lvslab's load generator: it replays a trace
// (traces.Workload) against a URL, a director's VIP or a back end, over
// live TCP connections, and records every request's outcome.
//
//	w, _ := traces.LoadDefault(traces.ReferenceFilter())
//	res, err := load.Run(ctx, load.Config{URL: "http://198.18.0.254", Workload: w})
//	err = res.Check() // requests = ok + failed + unsent
//
// # Admission
//
// "closed" (the default) is the simulator's closed admission: Concurrency
// requests (default 60, the reference model's n × high for one node) are
// sent at once, in trace order, and each outcome, success or failure,
// sends the next. "open" replays the trace's timestamps divided by
// Speedup: request k is due at its time (never before request k−1), and
// waits, in order, for one of Concurrency connections when all are busy.
// A request's response time (Record.Response) runs from when it was due
// to its last byte, as the simulator's does; its latency
// (Record.Latency) from when it was sent.
//
// # Connections
//
// HTTP/1.1 (default): each of the Concurrency slots keeps its connection
// alive and reuses it, and a request that finds its kept-alive connection
// closed before any byte of the response is sent once more on a new one
// (Result.Retries). HTTP10: one connection per request. The client is a
// small one of its own (pre-built requests, responses parsed without
// allocating), fast enough for tens of thousands of requests per second
// on loopback; it reads Content-Length, chunked and close-delimited
// bodies.
//
// # Accounting
//
// Nothing is lost: Result.Requests = OK + Failed + Unsent. A request is OK
// when it got status 200 and its whole body. A failure carries a reason
// (connect_refused, connect_timeout, connect_error, reset, closed,
// timeout, deadline, cancelled, bad_response, io_error, status_NNN) and
// its error. Duration is a hard deadline: requests in flight then fail
// with "deadline", and those not yet sent are Unsent; cancelling the
// context does the same with "cancelled".
//
// # Results
//
// Result has throughput (OK / the time of the last success), response
// time percentiles (nearest rank) and CDF, failures by reason, a time
// series per Interval, the hits the back ends reported in their
// X-Lvslab-Cache header and, for each load report URL given, the back
// end's share of the run (requests, hits, bytes, CPU and disk
// utilisation: differences of its reports before and after). Times are
// wall times; workbench.LiveResult converts a Result to the simulator's
// result schema, in model time. WriteRecords writes every request.
//
// Command "lvslab load" runs it.
package load
