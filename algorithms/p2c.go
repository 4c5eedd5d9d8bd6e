package algorithms

import (
	"math/rand/v2"
	"time"
)

// P2C is "power of two choices" least-request scheduling (Mitzenmacher,
// "The Power of Two Choices in Randomized Load Balancing", IEEE TPDS 12(10),
// 2001; Envoy's LEAST_REQUEST load balancer with choice_count 2). For each
// request it samples two distinct usable servers uniformly at random and
// sends the request to the less loaded of the two. With n servers and n
// requests the busiest server holds about ln ln n / ln 2 + O(1) requests,
// against about ln n / ln ln n for a single random choice.
//
// Semantics:
//
//   - Sampling is uniform over the usable servers, not weighted: weights
//     enter only through the comparison (as in Envoy, where weights scale
//     the load rather than the sampling).
//   - Load is weight-normalised: server a beats b when
//     (a.Active+1)/a.Weight < (b.Active+1)/b.Weight (cross-multiplied; the
//     +1 is Envoy's "active requests + 1", so that an idle heavy server beats
//     an idle light one). With equal weights this is "fewer Active". Ties go
//     to the first server sampled.
//   - With a single usable server it is chosen without drawing; with none,
//     ErrNoServer.
//   - Randomness comes from math/rand/v2's PCG seeded with Options.Seed
//     (stream p2cStream), so equal seeds and equal call sequences give equal
//     choices. Each Schedule with two or more usable servers draws exactly
//     two numbers.
//
// The list of usable servers is cached per Pool.Generation; every change
// of usability (weight, Down, OVERLOAD) changes the generation.
type P2C struct {
	rng    *rand.Rand
	gen    uint64 // Pool.Generation usable was computed for
	usable []int  // positions of usable servers in p.Servers()
}

var _ Scheduler = (*P2C)(nil)

// p2cStream is the PCG stream of P2C's generator ("p2c" in ASCII), so that
// P2C's draws differ from other consumers of the same seed.
const p2cStream = 0x703263

// NewP2C returns a power-of-two-choices scheduler seeded with seed.
func NewP2C(seed uint64) *P2C {
	return &P2C{rng: rand.New(rand.NewPCG(seed, p2cStream))}
}

// Name returns "p2c".
func (c *P2C) Name() string { return "p2c" }

// Schedule samples two distinct usable servers and returns the less loaded.
func (c *P2C) Schedule(_ time.Duration, _ *Request, p *Pool) (ServerID, error) {
	if c.gen != p.Generation() || c.usable == nil {
		c.usable = c.usable[:0]
		for i := range p.Servers() {
			if p.At(i).Usable() {
				c.usable = append(c.usable, i)
			}
		}
		c.gen = p.Generation()
	}
	switch k := len(c.usable); k {
	case 0:
		return 0, ErrNoServer
	case 1:
		return p.At(c.usable[0]).ID, nil
	default:
		i := c.rng.IntN(k)
		j := c.rng.IntN(k - 1)
		if j >= i {
			j++
		}
		a, b := p.At(c.usable[i]), p.At(c.usable[j])
		// b wins only if strictly less loaded: (b.Active+1)/b.Weight < (a.Active+1)/a.Weight.
		if int64(b.Active+1)*int64(a.Weight) < int64(a.Active+1)*int64(b.Weight) {
			return b.ID, nil
		}
		return a.ID, nil
	}
}

func init() {
	Register(Info{
		Name:        "p2c",
		Description: "power of two choices: the less loaded (active/weight) of two distinct random usable servers",
		Source:      "Mitzenmacher, IEEE TPDS 2001; Envoy LEAST_REQUEST (choice_count 2)",
		New: func(o Options) (Scheduler, error) {
			return NewP2C(o.Seed), nil
		},
	})
}
