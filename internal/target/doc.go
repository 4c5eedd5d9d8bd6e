// Package target turns an HTTP request target into what a layer-7 host
// hands a scheduler: the locality key and whether the request is dynamic,
// hence its cost in connection units. It is the one definition shared by
// the trace readers (traces: a logged URL), the simulator (sim) and a live
// layer-7 switch (dataplane: a request line's target), so that a live run
// and a simulation of the same trace key and weigh every request alike.
//
// The functions are generic over string and []byte and never allocate, so
// a switch can apply them to the bytes of a request line:
//
//	t := []byte("/cgi-bin/search?q=lvs")           // from the request line
//	dynamic := target.Dynamic(t, nil)              // true
//	req := algorithms.Request{Key: string(target.Key(t)), Cost: target.Cost(dynamic), NoCache: dynamic}
//
// Reference: docs/reference-model.md, workload rules 1 and 2; thesis
// §6.3.5 (a dynamic request costs 2 connection units) and §6.3.7 (CGI
// requests are dynamic).
//
// The package imports only the standard library and is pure: no clock,
// no goroutine, no global state.
package target
