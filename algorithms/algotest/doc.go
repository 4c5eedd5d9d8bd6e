// Package algotest checks schedulers of package algorithms: a conformance
// suite every scheduler must pass, a differential harness that runs two
// schedulers in lockstep, and naive reference versions of the classic
// schedulers written as literally as possible from the thesis and IPVS.
//
// # Conformance
//
// [Run] drives a scheduler the way a host does (the simulator, a
// director): it owns a [algorithms.Pool], calls Schedule for each request,
// records the work with Pool.Begin and ends it later with Pool.End, and
// changes the pool between requests (servers added, removed, re-weighted,
// taken down and brought back, thresholds set, loads measured). It checks
// the contract of [algorithms.Scheduler]:
//
//   - a pick is a member of the pool passed in and is usable: not Down,
//     not Overloaded, Weight > 0;
//   - when no server qualifies (empty pool, all down, all weight 0, all
//     overloaded) the answer is [algorithms.ErrNoServer] or
//     [algorithms.ErrBypass] (checked with errors.Is), never another error;
//   - Schedule does not modify the pool;
//   - two fresh instances fed the same calls give the same answers;
//   - a server a scheduler had mapped a key to is not picked again once it
//     is down, quiescing, overloaded or removed;
//   - nothing panics.
//
// Every scheduler in the registry is run through the suite by the
// algorithms package's own tests:
//
//	func TestMine(t *testing.T) {
//		algotest.Run(t, func() (algorithms.Scheduler, error) {
//			return algorithms.New("mine", algorithms.Options{})
//		})
//	}
//
// # Concurrent hosts
//
// [RunConcurrent] drives a scheduler as a live director does: goroutines
// share it and one pool behind one mutex, each holding the lock across
// Schedule and the Begin that records the answer, while a control
// goroutine changes the pool and, for [algorithms.LoadFeedback], a monitor
// goroutine calls Feedback on a ticker. It runs in a testing/synctest
// bubble, so time is fake; run it with -race. It checks that every pick is
// usable at the moment of the decision, that the counters return to zero,
// and, with [NoHerding], that simultaneous new requests on idle servers of
// equal weight go one to each server (a host that released the lock
// between Schedule and Begin would herd them onto one).
//
// Streams are random but seeded: a fixed default seed, overridden by the
// -algotest.seed flag or the [Seed] option. A non-default seed is logged so
// that a failure can be replayed.
//
// # References
//
// [RefRR], [RefWRR], [RefLC], [RefWLC], [RefSED], [RefNQ] and [RefLBLC]
// are deliberately naive: RefWRR runs the loop of thesis §4.1.2 stepping
// the current weight by 1 rather than by the weights' gcd, RefWLC divides
// with exact rationals (math/big) instead of cross-multiplying, RefLBLC is
// the pseudo-code of thesis §6.3.5 with a plain map. [Compare] runs an
// optimised scheduler and a reference in lockstep on the same randomized
// pools and streams and fails at the first differing answer.
package algotest
