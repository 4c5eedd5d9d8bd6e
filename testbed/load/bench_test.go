package load_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/traces"
)

// trivialServer answers every request with 100 bytes, as fast as it can:
// keep-alive for HTTP/1.1, one request per connection for HTTP/1.0.
func trivialServer(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp11 := []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
	resp10 := []byte("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("x", 100))
	var wg sync.WaitGroup
	b.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					first, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					http10 := strings.Contains(string(first), "HTTP/1.0")
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if http10 {
						c.Write(resp10)
						return
					}
					if _, err := c.Write(resp11); err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + l.Addr().String()
}

func tinyWorkload(n int) *traces.Workload {
	return &traces.Workload{Objects: []traces.Object{{Target: "/x", Size: 100}}, Requests: make([]traces.Request, n)}
}

// runRate runs one load and reports requests per second.
func runRate(b *testing.B, cfg load.Config) {
	var total int
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := load.Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		if res.OK != res.Requests {
			b.Fatalf("%d of %d ok: %v", res.OK, res.Requests, res.Failures)
		}
		total += res.OK
	}
	b.ReportMetric(float64(total)/took.Seconds(), "req/s")
	b.ReportMetric(float64(took.Nanoseconds())/float64(total), "ns/req")
}

// BenchmarkLoopback is the load generator's top speed on loopback against
// a trivial server (100-byte responses), 20,000 requests a run.
func BenchmarkLoopback(b *testing.B) {
	url := trivialServer(b)
	for _, tc := range []struct {
		name   string
		conc   int
		http10 bool
	}{
		{"keep-alive/c1", 1, false},
		{"keep-alive/c64", 64, false},
		{"http10/c64", 64, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runRate(b, load.Config{URL: url, Workload: tinyWorkload(20000), Concurrency: tc.conc, HTTP10: tc.http10})
		})
	}
}

// BenchmarkBackendOverhead is the back end's own cost per request (HTTP
// server, model bookkeeping) with the model's times made negligible
// (time scale 10^12): at concurrency 1 ns/req is the round trip of one
// request, at 64 the throughput of both ends sharing the machine.
func BenchmarkBackendOverhead(b *testing.B) {
	w := tinyWorkload(20000)
	_, url := startBackend(b, backend.Config{Workload: w, TimeScale: 1e12})
	for _, conc := range []int{1, 64} {
		b.Run("c"+strconv.Itoa(conc), func(b *testing.B) {
			runRate(b, load.Config{URL: url, Workload: w, Concurrency: conc})
		})
	}
}
