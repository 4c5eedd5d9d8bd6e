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
