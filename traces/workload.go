package traces

import "time"

// Workload is a trace reduced to what a cluster simulation or a load
// generator replays: the kept requests in trace order, with targets and
// clients interned. It is the contract between traces (which builds it from
// a log or a synthetic model) and its consumers (sim, testbed).
type Workload struct {
	// Name identifies the source: a file name or a synthetic preset.
	Name string

	// Objects are the distinct targets, in order of first appearance.
	// Size is one size per object: the largest byte count logged for that
	// target among the kept requests (docs/reference-model.md, workload rule 3).
	Objects []Object

	// Clients are the distinct client hosts, in order of first appearance.
	Clients []string

	// Requests are the kept requests in file order.
	Requests []Request

	// Lines is the number of lines read; Dropped counts, by reason, the
	// lines that were read but not kept ("malformed", "method", "status",
	// "bytes", "dynamic", "window", ...). Lines = len(Requests) + Σ Dropped.
	Lines   int
	Dropped map[string]int
}

// Object is one distinct target.
type Object struct {
	Target string // URL path up to the first '?' or '#', as logged
	Size   int64  // bytes; > 0 for workloads built under the reference filters
}

// Request is one kept request.
type Request struct {
	Object  int32         // index into Workload.Objects
	Client  int32         // index into Workload.Clients
	Time    time.Duration // trace timestamp relative to the first kept request
	Dynamic bool          // dynamic request (query string, cgi-bin, configured patterns)
}

// WorkingSet returns the sum of the distinct objects' sizes.
func (w *Workload) WorkingSet() int64 {
	var sum int64
	for _, o := range w.Objects {
		sum += o.Size
	}
	return sum
}
