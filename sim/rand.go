package sim

import "math/rand/v2"

// Random stream IDs. Every source of randomness in a run draws from its own
// PCG stream seeded with Config.Seed, so that changing one part of an
// experiment (the scheduler, say) does not change the random numbers any
// other part sees (common random numbers). The workload is fixed before
// the run (traces builds it, with its own streams for synthetic workloads),
// so the scheduler's choices can never change it. New users of randomness
// (front ends that pick a distributor at random, ...) take a new ID here;
// IDs are never reused or renumbered, so results stay reproducible.
const (
	// streamScheduler derives algorithms.Options.Seed when it is 0.
	streamScheduler uint64 = 2
	// streamHome keys the hash that homes each client on a cluster in a
	// multi-cluster run (geo.go).
	streamHome uint64 = 3

	// The perturbations of a replicate (Config.Replicate >= 1), seeded
	// with replicateSeed(Seed, Replicate): the order of same-instant
	// events, service-time jitter, the start offset into the trace.
	streamTies   uint64 = 4
	streamJitter uint64 = 5
	streamOffset uint64 = 6
)

// replicateSeed derives replicate k's seed from the run's seed: a
// SplitMix64 finaliser of seed and k, so that nearby seeds and indexes
// give unrelated streams.
func replicateSeed(seed uint64, k int) uint64 {
	z := seed + uint64(k)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newStream returns the generator of stream id under seed.
func newStream(seed, id uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, id))
}
