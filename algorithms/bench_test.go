package algorithms_test

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/algorithms/algotest"
)

// BenchmarkSchedule measures one Schedule call of every registered
// scheduler by pool size, with the host's Begin/End bookkeeping in the
// loop (about two requests in flight per server, the oldest ending as each
// new one begins) so that counters and locality tables move as in a run.
// Requests cycle through 1,000 URL targets (every fifth dynamic, cost 2)
// from 256 client addresses. Weights are 1-4; the time is always 0. One
// untimed call first builds whatever a scheduler builds lazily, so the
// numbers are the steady per-request cost.
func BenchmarkSchedule(b *testing.B) {
	reqs := benchRequests()
	for _, name := range algorithms.Names() {
		b.Run(name, func(b *testing.B) {
			for _, n := range []int{8, 64, 1024} {
				b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
					benchSchedule(b, name, n, reqs)
				})
			}
		})
	}
}

func benchRequests() []algorithms.Request {
	reqs := make([]algorithms.Request, 1000)
	for i := range reqs {
		key := fmt.Sprintf("/docs/%03d.html", i)
		if i%5 == 0 {
			key = fmt.Sprintf("/cgi-bin/q?id=%d", i)
		}
		reqs[i] = algorithms.Request{
			Key:        key,
			Client:     netip.AddrFrom4([4]byte{192, 168, byte(i % 256 / 16), byte(i % 16)}),
			ClientPort: uint16(1024 + i),
			Dest:       netip.AddrFrom4([4]byte{10, 1, 0, byte(i % 8)}),
			DestPort:   80,
			Cost:       1,
		}
		if algotest.Dynamic(key) {
			reqs[i].Cost = 2
		}
	}
	return reqs
}

func benchSchedule(b *testing.B, name string, n int, reqs []algorithms.Request) {
	s, err := algorithms.New(name, algorithms.Options{})
	if err != nil {
		b.Fatal(err)
	}
	servers := make([]algorithms.Server, n)
	for i := range servers {
		servers[i] = algorithms.Server{
			ID:     algorithms.ServerID(i),
			Weight: 1 + i%4,
			Addr:   netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}),
		}
	}
	p, err := algorithms.NewPool(servers...)
	if err != nil {
		b.Fatal(err)
	}
	inflight := make([]benchWork, 2*n) // ring of requests in service
	for i := range inflight {
		inflight[i].cost = -1
	}
	head := 0
	// One call before the clock starts, so that tables a scheduler builds
	// lazily on its first call (a hash ring, a Maglev table) are not
	// charged to a short run.
	if id, err := s.Schedule(0, &reqs[len(reqs)-1], p); err == nil {
		if err := p.Begin(id, 1); err != nil {
			b.Fatal(err)
		}
		if err := p.End(id, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	b.ResetTimer()
	for range b.N {
		r := &reqs[i%len(reqs)]
		i++
		if w := inflight[head]; w.cost > 0 {
			if err := p.End(w.id, w.cost); err != nil {
				b.Fatal(err)
			}
		}
		inflight[head].cost = -1
		id, err := s.Schedule(0, r, p)
		switch {
		case err == nil:
			if err := p.Begin(id, r.Units()); err != nil {
				b.Fatal(err)
			}
			inflight[head] = benchWork{id: id, cost: r.Units()}
		case errors.Is(err, algorithms.ErrNoServer), errors.Is(err, algorithms.ErrBypass):
		default:
			b.Fatal(err)
		}
		head = (head + 1) % len(inflight)
	}
}

// benchWork is a request in service in the benchmark's ring.
type benchWork struct {
	id   algorithms.ServerID
	cost int
}

// BenchmarkSwapPools measures Schedule when the host alternates two
// clones of one pool (a copy-on-write host that swaps in an updated copy,
// or two services sharing a scheduler's configuration) against the same
// host with one pool, for the schedulers that cache state derived from the
// pool. A clone has the same content, so the derived state stays valid and
// the two must cost the same. 64 servers, weights 1-4, Begin and End
// around each call; the time is always 0.
func BenchmarkSwapPools(b *testing.B) {
	reqs := benchRequests()
	for _, name := range []string{"rr", "wrr", "sh", "dh", "mh", "p2c", "lblc", "content", "dflb", "dflb-wlc"} {
		b.Run(name, func(b *testing.B) {
			for _, swap := range []bool{false, true} {
				mode := "one-pool"
				if swap {
					mode = "two-clones"
				}
				b.Run(mode, func(b *testing.B) { benchSwap(b, name, 64, swap, reqs) })
			}
		})
	}
}

func benchSwap(b *testing.B, name string, n int, swap bool, reqs []algorithms.Request) {
	s, err := algorithms.New(name, algorithms.Options{})
	if err != nil {
		b.Fatal(err)
	}
	servers := make([]algorithms.Server, n)
	for i := range servers {
		servers[i] = algorithms.Server{
			ID:     algorithms.ServerID(i),
			Weight: 1 + i%4,
			Addr:   netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}),
		}
	}
	p, err := algorithms.NewPool(servers...)
	if err != nil {
		b.Fatal(err)
	}
	pools := [2]*algorithms.Pool{p, p}
	if swap {
		pools[1] = p.Clone()
	}
	step := func(i int) {
		q := pools[i%2]
		r := &reqs[i%len(reqs)]
		id, err := s.Schedule(0, r, q)
		switch {
		case err == nil:
			if err := q.Begin(id, r.Units()); err != nil {
				b.Fatal(err)
			}
			if err := q.End(id, r.Units()); err != nil {
				b.Fatal(err)
			}
		case errors.Is(err, algorithms.ErrNoServer), errors.Is(err, algorithms.ErrBypass):
		default:
			b.Fatal(err)
		}
	}
	// Two untimed calls build what is built lazily, on both pools.
	step(0)
	step(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		step(i)
	}
}
