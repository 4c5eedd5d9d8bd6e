// Package workbench runs and draws experiments for the lvslab command: it
// expands a sweep (algorithms × node counts × traces × parameters) into
// cells, runs the cells on a pool of goroutines with a resumable on-disk
// store, merges shards, and draws the thesis's figures with gonum/plot.
//
// It also holds the rest of what the commands do besides reading flags:
// preparing an experiment (package experiment) for a run (Prepare), the
// memory bounds (MemLimit, CheckRunMemory), the trace tools, the scheduler
// playground (Playground), live load runs against a testbed or a back end
// expressed in the simulator's result schema (RunLoad, LiveResult) and the
// reproduction of the thesis's figures with its published numbers, and
// the study of DFLB's regimes, both read with confidence intervals
// (Reproduce).
//
// # Live runs and validation
//
// RunLive runs one cell of an experiment on a layer-7 testbed of its own
// (package testbed): the emulated back ends, the director and the load
// generator are lvslab processes in the testbed's namespaces, driven
// through their command lines; RunLiveCells runs a sweep's cells one after
// the other. Every model time is divided by the TimeScale on the live
// machine and every live measurement multiplied back, so live results
// compare with simulated ones figure by figure. Compare checks the
// agreement of the two worlds (Agreement: throughput within a tolerance,
// the same ranking of schedulers, ties within a margin) and WriteReport
// writes it for people.
//
//	run, err := workbench.RunLive(ctx, e, cells[0], workbench.LiveRunOptions{RunDir: dir})
//	v, err := workbench.Compare(cells, simulated, live, workbench.Agreement{})
//	err = v.Err() // nil when the target is met
//
// It is the command's private library: only cmd/lvslab imports it. The
// simulator itself (package sim) stays single-threaded and deterministic;
// concurrency lives here, one goroutine per worker, each running whole
// simulations.
//
// # Determinism
//
// Output never depends on the number of workers or shards: results are
// ordered by cell index, and cell files are keyed by a hash of the lvslab
// version, the workload's content and the resolved configuration
// (Cell.Key), so a rerun skips finished cells and a merge of shards is
// byte-identical to an unsharded run.
//
// # Replicates
//
// A configuration with Replicates N > 1 expands to N cells, replicates
// 1..N (sim.Config.Replicate). Results tables (WriteCSV, WriteJSON,
// WriteTable) then carry each cell's mean, standard deviation and
// Student-t confidence interval per metric (package internal/stats), and
// one column per swept parameter named by its experiment key (SweptParams);
// plots draw the means with 95% error bars; CompareSchedulers tests each
// pair of schedulers (paired t-test over common replicates, Welch's
// otherwise) and says whether the difference is significant.
//
// # Usage
//
//	spec := &workbench.Spec{Base: sim.Config{Preset: "thesis"}, Workloads: []*traces.Workload{w},
//		Algorithms: []string{"wrr", "lblc"}, Nodes: []int{1, 4, 7}}
//	cells, err := spec.Cells()
//	out, err := workbench.Run(cells, spec.Workloads, workbench.RunOptions{Dir: "out"})
//	files, err := workbench.WriteResultPlots("figs", "sweep", out.Results, workbench.PlotOptions{})
//
// WriteResultPlots groups results by their full configuration (all but the
// scheduler and node count) and draws one set of figures per group;
// WritePlots draws from a results table (CSV), whose rows must be
// unambiguous.
//
// The figures are the thesis's Fig. 4.2 and Fig. 6.5 (throughput against
// the number of back-end nodes, thesis §4.3 and §6.3.7), hit ratio against
// nodes, and response-time CDFs.
package workbench
