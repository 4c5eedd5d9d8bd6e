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
// suite in package algotest (algotest.Run); the registry test runs the
// suite over every registered scheduler automatically.
//
// Sources are cited per scheduler: the thesis's sections (§4.1 IPVS
// schedulers, §4.2 DFLB, §6.3 LBLC and LBLC/R, §7.3 LBLL) and the Linux
// IPVS sources (net/netfilter/ipvs/ip_vs_*.c).
package algorithms
