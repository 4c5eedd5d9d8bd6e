// Package algorithms holds lvslab's schedulers: every Linux Virtual Server
// scheduler and the locality-aware ones of Wensong Zhang's thesis, plus
// modern ones, each written once as a pure, deterministic state machine so
// that the simulator (virtual time) and a live dataplane (wall-clock time)
// run the same code.
//
// # The seam
//
// A host (the simulator, a director) owns a [Pool] of [Server]s and keeps
// their connection counters. For each new connection or request it calls
// [Scheduler.Schedule] with the time since the run's origin and a
// [Request]; the scheduler answers with a [ServerID], [ErrNoServer] or
// [ErrBypass]. Schedulers never read clocks, start goroutines or use global
// randomness, and they are not safe for concurrent use.
//
// # Concurrent hosts
//
// A live host serves many connections at once. It guards its scheduler and
// pool with one mutex and holds it across Schedule and the Pool.Begin that
// records the answer, so that the next decision sees the connection just
// placed; released in between, least-connection schedulers herd concurrent
// connections onto one server. End, Adjust, every pool change and
// Feedback take the same lock. [Scheduler] states the contract, and
// algotest.RunConcurrent checks it with many goroutines, a ticker for load
// feedback under testing/synctest, and the race detector.
//
// # Tables keyed by request
//
// The locality-based schedulers (lblc, lblcr, content-lblcr, the lbll
// family, ipvs-lblc, ipvs-lblcr) keep a table keyed by the request's URL
// target or destination. A live switch sees arbitrary URLs, so every such
// table is bounded as ip_vs_lblc.c bounds its own: by Options.MaxEntries
// entries (the least recently used goes first) and by age (an entry
// unused for Options.TableExpiry goes). The defaults, 262,144 entries and
// 24 h, are far beyond the thesis's workloads.
// # Load feedback
//
// Schedulers that adapt to measured load (DFLB, thesis §4.2) implement
// [LoadFeedback]. Every host feeds them the same way: each interval it
// hands a [Monitor] one raw sample per server (a [Load] whose Measured
// says which metrics were measured) and passes the normalised Loads that
// [Monitor.Tick] returns to Feedback. The simulator does so from a
// periodic event, a live director from a ticker:
//
//	mon, _ := algorithms.NewMonitor(algorithms.DefaultMonitorConfig())
//	var l algorithms.Load
//	l.ID, l.Responsive = id, true
//	l.Set(algorithms.MetricCPU, float64(activeConns))
//	loads, err := mon.Tick([]algorithms.Load{l}, pool)
//	err = s.(algorithms.LoadFeedback).Feedback(now, loads, pool)
//
// # Registry
//
// Schedulers register by name in init functions; [New] builds one from
// [Options], [Names] and [All] list them:
//
//	s, err := algorithms.New("wrr", algorithms.Options{})
//	pool, _ := algorithms.NewWeighted(4, 3, 2)
//	id, err := s.Schedule(0, &algorithms.Request{}, pool)
//
// # Options as text
//
// Every field of [Options] has one spec in [OptionSpecs]: one snake_case
// name (set_expiry, dflb.coefficients), its kind, default and doc, and
// Set and Format functions. Experiment files (options: keys), the
// command line (--set-expiry), services files and algotest scripts all
// read options through it, so an option is spelt the same everywhere:
//
//	var o algorithms.Options
//	err := algorithms.SetOption(&o, "set_expiry", "30s")
//
// # Adding a scheduler
//
// Write one file with a type implementing [Scheduler], register it in the
// file's init function with [Register], and make it pass the conformance
// suites in package algotest (algotest.Run, and algotest.RunConcurrent for
// concurrent hosts); the registry tests run both over every registered
// scheduler automatically.
//
// Sources are cited per scheduler: the thesis's sections (§4.1 IPVS
// schedulers, §4.2 DFLB, §6.3 LBLC and LBLC/R, §7.3 LBLL) and the Linux
// IPVS sources (net/netfilter/ipvs/ip_vs_*.c).
package algorithms
