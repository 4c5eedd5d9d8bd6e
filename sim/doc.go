// Package sim is lvslab's discrete-event cluster simulator: a trace
// (traces.Workload) is replayed against n back-end nodes (models: CPU,
// disk, cache) behind a front end that asks a scheduler (algorithms) where
// each request goes. With the "thesis" preset it implements the reference
// model of docs/reference-model.md to the letter (thesis §4.3, §6.3.7).
//
//	w, _ := traces.Load(paths, traces.ReferenceFilter())
//	res, err := sim.Run(sim.Config{Nodes: 7, Algorithm: "lblc"}, w)
//	sim.WriteCSV(os.Stdout, []*sim.Result{res})
//
// # Engine
//
// One goroutine runs a binary heap of small typed events ordered by
// (time, seq), seq being the scheduling order, so events of one instant
// run in the order they were scheduled. Virtual time is a time.Duration
// since the run's origin. Randomness comes from math/rand/v2 PCG streams
// seeded with Config.Seed, one stream per purpose (rand.go); the workload
// is fixed before the run, so changing the scheduler never changes it.
//
// # Replicates
//
// Config.Replicate 0 is the reference run. A replicate k >= 1 perturbs the
// run without changing the model's meaning, from random streams seeded by
// (Seed, k): events of one instant run in a uniformly random order (a
// random key replaces seq), and optionally every service time is jittered
// by up to ±Jitter and the trace replayed from a random start within its
// first StartOffset fraction, wrapping around. The workbench runs
// replicates 1..Replicates of a cell and summarises them.
//
// # Nodes
//
// Each node has one CPU and one disk, each a single FIFO server, and a
// cache (models.Cache: lru, lfu or gds) of CacheBytes. A request holds no
// resource while queued, and CPU and disk serve different requests at the
// same time. A request on a node runs the steps of docs/reference-model.md:
//
//  1. CPU job: connection setup (Costs.SetupTime).
//  2. When step 1 ends, look the target up in the cache. Hit: move it to
//     the most-recently-used end. Miss: disk job (Costs.DiskTime); when
//     the read ends, insert it (or, if another request inserted it
//     meanwhile, move it to the MRU end), evicting until it fits; an
//     object larger than the cache is never cached.
//  3. CPU job: transmit + teardown as one job (Costs.SendTime); the
//     request completes when it ends.
//
// # Heterogeneous and slowed nodes
//
// Config.Groups makes nodes differ: each group of Count nodes has its CPU
// and disk speeds (service times divided by the speed), its cache size
// and its static weight. Config.Weights "capacity" instead gives every
// node the weight CapacityScale × its CPU speed, so WRR and WLC follow
// capacity (Config.NodeWeight). Config.Slowdowns multiply a node's CPU
// and disk service times by a factor between two instants (another job
// on the node); a job in service when a slowdown begins or ends does each
// part of its work at the rate then in force (models.Pace), so its end is
// known when it starts. Without groups and slowdowns every node is the
// reference model's.
//
// A dynamic request (traces.Request.Dynamic) counts 2 connection units,
// never touches the cache (it always takes the disk step; its response is
// generated, not cached) and every one of its service times is
// multiplied by Costs.DynamicFactor (2). The thesis preset drops dynamic
// requests in the trace filter, so this only matters for other workloads.
//
// # Order within an instant
//
// The end of a job is scheduled when the job starts service. When a job
// ends, its server first starts its next queued job, then the finished
// request moves on (cache lookup, queueing for the next server, or
// completion). A completion releases the node's connections (Pool.End)
// and only then admits the next requests, in the same instant. Same-time
// events run in scheduling order. Time-series samples are taken at each
// interval boundary before the events of that instant run.
//
// # Admission
//
// At most limit = Nodes × High requests are in the cluster (dispatched and
// not yet completed, including requests bypassed to the origin).
//
//   - "closed" (default, docs/reference-model.md): every request is available
//     at time 0; the first limit requests are dispatched at t = 0 in trace
//     order, and each completion at t dispatches the next at t. Trace
//     timestamps are ignored.
//   - "open": request k arrives at its trace time / Speedup (never before
//     request k-1: arrivals keep trace order); arrivals that find the
//     cluster full wait FIFO at the front end and are dispatched as
//     completions make room.
//
// Response time = completion − admission. Admission is the request's
// arrival in the open loop; in the closed loop it is the instant the
// front end first offered it to the scheduler, which is its dispatch
// unless the scheduler said ErrNoServer.
//
// When the scheduler answers algorithms.ErrNoServer the request is not
// lost: it stays at the head of the queue (FIFO: later requests wait
// behind it) and is offered again after the next completion, failure
// detection or monitor tick. ErrBypass sends it to the origin, which
// answers after OriginTime (100 ms); it counts in Bypassed and Completed
// but not in any node's numbers.
//
// # Connection counts, weights and load
//
// The pool holds nodes 0..n-1 with Low/High from Config and weight 1, or
// weight 10 (DFLB's DEFAULT_WEIGHT) when the scheduler implements
// algorithms.LoadFeedback. Pool.Begin(node, units) runs at dispatch and
// Pool.End at completion (units: 1 static, 2 dynamic), so Server.Active is
// the thesis's n.conns. A monitor event every DFLBInterval (first at
// DFLBInterval) runs the shared load monitor (algorithms.Monitor, the code
// a live director's ticker runs) on each node's conns: it updates each
// node's load = load×11/12 + conns/12 (load starts at 0), passes Load{CPU: 0.95·load/mean} (0.95 when the mean is
// 0; Responsive unless the node is down; CPU is the only metric measured,
// so DFLB's AGGREGATE is the CPU load whatever options.dflb.coefficients
// say, and coefficients that give CPU no weight are refused) to a
// LoadFeedback scheduler, and
// sets every node's Server.Load to conns/High at that instant, the
// normalisation under which LBLL's T = 1 plays the role of LBLC's high
// threshold. The monitor stops once nothing is left to do.
//
// # Failures
//
// Failure{Node, At, Recover} crashes a node at At: the requests on it (in
// service or queued) are lost and counted in Failed, its cache is emptied,
// and the front end marks it down (Pool.SetDown) HealthCheckDelay later.
// A request dispatched to a crashed node before that holds its place in
// the cluster and its connection units on the node (so least-connection
// schedulers see the dead node fill up, as IPVS sees unanswered SYNs) for
// ConnectTimeout (default 3 s), then fails (counted in Failed) and admits
// the next request. At Recover the node comes back empty and is marked up
// HealthCheckDelay later. With every node down and detected, requests wait;
// if nothing that could change that (a recovery, an arrival) is pending,
// the run ends cleanly and the requests never dispatched are counted in
// Unserved (and Failed). A run therefore always terminates.
//
// # Front ends
//
// Config.FrontEnd selects the front end behind an internal seam, the
// frontEnd interface (frontend.go): dispatch(e, slot) places an admitted
// request (e.serve on a node, e.bypass to the origin, or an own evFrontEnd
// event to decide later), leave(e, slot, completed) is told when it leaves
// the cluster, handle(e, ev) runs its own events. A front end registers
// its constructor in the frontEnds table from its own file's init
// function (frontend_*.go). "l7" (frontend.go) is the content-aware switch
// of docs/reference-model.md: infinitely fast, one Schedule call per request
// with the target as the locality key. The other names of FrontEnds ("l4"
// keep-alive director, which sees addresses and no URL: the scheduler gets
// the virtual service 192.0.2.1:80 as destination and the client's address,
// with no key; "distributed" ch.7 distributors and CLS,
// "colocated", "cachecluster" with origin bypass, §7.5) are built on the
// same seam; a name in FrontEnds without a registered constructor is
// rejected by Resolve with ErrNotImplemented, never silently replaced by
// another front end.
//
// # Multi-cluster runs
//
// Config.Clusters makes a run geographic (thesis §2.4.3): several
// clusters, each a whole cluster as above with its own front end, nodes
// and admission limit, run in one event loop (one heap order: the
// clusters share the sequence counter). Clients are homed on clusters by
// share, as anycast sends each to its nearest site, and arrive at their
// trace times (open admission). Every DFLBInterval each cluster computes
// its aggregate load, (requests in it + requests waiting at its front
// end) / (Nodes × High), smoothed over Overflow.Window ticks; the clusters
// exchange loads every Overflow.Exchange, a report taking WANDelay. With
// Overflow.On a cluster whose load is above 1.1 tunnels new connections
// to a remote cluster that reported below 0.7, and stops when that remote
// reports above 0.7 or its own load falls to 1.0. A tunnelled request
// pays WANDelay there and WANDelay for the reply. Result.Clusters has each
// cluster's throughput, overflow and response times (runGeo in geo.go
// details the model).
//
// # Results
//
// Result holds throughput (completed / time of the last completion, in
// requests/s and MB/s), per-node and cluster hit ratio (hits / requests
// served by nodes), CPU and disk utilisation (busy time / makespan; when
// requests are lost after the last completion, busy time / the time the
// last request left the cluster, so utilisation never exceeds 1),
// response-time percentiles (nearest rank over all samples, exact),
// the coefficient of variation of per-node requests, a time series per
// Interval and a 100-point response-time CDF. WriteCSV and WriteJSON write
// results with stable formatting, so one Config and Workload always give
// byte-identical files.
package sim
