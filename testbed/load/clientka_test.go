package load_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/traces"
)

// connServer is an HTTP/1.1 server that records the targets each
// connection (by client address) carried.
type connServer struct {
	mu    sync.Mutex
	conns map[string][]string
}

func startConnServer(t *testing.T) (*connServer, string) {
	t.Helper()
	s := &connServer{conns: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.conns[r.RemoteAddr] = append(s.conns[r.RemoteAddr], r.URL.Path)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// clientWorkload has n requests, request i for its own object /r{i}, of
// client clients[i % len(clients)], at trace time i × gap.
func clientWorkload(n int, gap time.Duration, clients ...int32) *traces.Workload {
	w := &traces.Workload{Name: "clients"}
	for i := range n {
		w.Objects = append(w.Objects, traces.Object{Target: fmt.Sprintf("/r%d", i), Size: 2})
		w.Requests = append(w.Requests, traces.Request{Object: int32(i), Client: clients[i%len(clients)], Time: time.Duration(i) * gap})
	}
	return w
}

// TestClientKeepAlive: with ClientKeepAlive, connections follow the trace's
// clients: each connection carries the requests of one client, a client's
// idle connection is reused while younger than the keep-alive and closed
// after it, and without it the concurrency slots' connections carry every
// client's requests.
func TestClientKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		name      string
		w         *traces.Workload
		mode      string
		keepAlive time.Duration
		conns     int  // connections the server sees
		mixed     bool // a connection carries several clients' requests
	}{
		// One request at a time, five clients: one connection each.
		{"per client", clientWorkload(60, 0, 0, 1, 2, 3, 4), load.Closed, time.Minute, 5, false},
		// The concurrency slot's one connection carries them all.
		{"per slot", clientWorkload(60, 0, 0, 1, 2, 3, 4), load.Closed, 0, 1, true},
		// One client, requests 150 ms apart: reused within a 1 s
		// keep-alive, a new connection each after 30 ms.
		{"reused", clientWorkload(3, 150*time.Millisecond, 7), load.Open, time.Second, 1, false},
		{"expired", clientWorkload(3, 150*time.Millisecond, 7), load.Open, 30 * time.Millisecond, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url := startConnServer(t)
			res, err := load.Run(context.Background(), load.Config{URL: url, Workload: tc.w, Mode: tc.mode, Concurrency: 1, ClientKeepAlive: tc.keepAlive})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != len(tc.w.Requests) || res.Failed != 0 {
				t.Fatalf("%d ok, %d failed %v; want all %d ok", res.OK, res.Failed, res.Failures, len(tc.w.Requests))
			}
			client := map[string]int32{}
			for i, r := range tc.w.Requests {
				client[tc.w.Objects[r.Object].Target] = tc.w.Requests[i].Client
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			mixed := false
			for addr, targets := range s.conns {
				for _, tg := range targets[1:] {
					if client[tg] != client[targets[0]] {
						mixed = true
						t.Logf("connection %s carried clients %d and %d", addr, client[targets[0]], client[tg])
					}
				}
			}
			if len(s.conns) != tc.conns || mixed != tc.mixed {
				t.Errorf("%d connections (mixing clients: %v), want %d (%v): %v", len(s.conns), mixed, tc.conns, tc.mixed, s.conns)
			}
		})
	}
}

// TestClientKeepAliveClosesIdle: a client's idle connection is closed by
// the load generator once idle the keep-alive, not left to the server.
func TestClientKeepAliveClosesIdle(t *testing.T) {
	closed := make(chan time.Time, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- time.Now()
		}
	}
	srv.Start()
	defer srv.Close()
	w := clientWorkload(2, 400*time.Millisecond, 3)
	start := time.Now()
	res, err := load.Run(context.Background(), load.Config{URL: srv.URL, Workload: w, Mode: load.Open, Concurrency: 1, ClientKeepAlive: 100 * time.Millisecond})
	if err != nil || res.OK != 2 {
		t.Fatalf("%v, %+v", err, res)
	}
	select {
	case at := <-closed:
		if d := at.Sub(start); d > 300*time.Millisecond {
			t.Errorf("the first connection closed after %v, want about 100 ms", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection closed")
	}
}
