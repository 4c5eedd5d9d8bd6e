package load_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/testbed/load"
	"github.com/lvslab/lvslab/traces"
)

// workload returns n requests over objects /o0../o{k-1} of seeded random
// sizes (1 B - 20 KB), Zipf-like popular, one every gap of trace time.
func workload(k, n int, gap time.Duration) *traces.Workload {
	r := rand.New(rand.NewPCG(7, 8))
	w := &traces.Workload{Name: "test"}
	for i := range k {
		w.Objects = append(w.Objects, traces.Object{Target: fmt.Sprintf("/o%d", i), Size: 1 + r.Int64N(20000)})
	}
	for i := range n {
		obj := int32(min(r.ExpFloat64()*float64(k)/4, float64(k-1)))
		w.Requests = append(w.Requests, traces.Request{Object: obj, Time: time.Duration(i) * gap})
	}
	return w
}

// startBackend runs a back end on 127.0.0.1 and returns it with its URL.
func startBackend(t testing.TB, cfg backend.Config) (*backend.Backend, string) {
	t.Helper()
	b, err := backend.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Serve(l) }()
	t.Cleanup(func() {
		b.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return b, "http://" + l.Addr().String()
}

// maxInFlight is the largest number of requests in flight at once.
func maxInFlight(recs []load.Record) int {
	type ev struct {
		t time.Duration
		d int
	}
	var evs []ev
	for _, r := range recs {
		if r.Sent >= 0 {
			evs = append(evs, ev{r.Sent, +1}, ev{r.Done, -1})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if a.t != b.t {
			return int(a.t - b.t)
		}
		return a.d - b.d // ends first
	})
	n, top := 0, 0
	for _, e := range evs {
		n += e.d
		top = max(top, n)
	}
	return top
}

// TestRun replays a workload against a back end in every mode and checks
// that every request succeeded with its object's size, that the hits the
// responses carried equal the back end's report, and the admission.
func TestRun(t *testing.T) {
	w := workload(40, 300, 2*time.Millisecond)
	for _, tc := range []struct {
		name   string
		mode   string
		http10 bool
	}{
		{"closed keep-alive", load.Closed, false},
		{"closed HTTP/1.0", load.Closed, true},
		{"open keep-alive", load.Open, false},
		{"open HTTP/1.0", load.Open, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startBackend(t, backend.Config{Workload: w, TimeScale: 100, CacheBytes: 100000})
			const conc = 8
			res, err := load.Run(context.Background(), load.Config{
				URL: url, Workload: w, Mode: tc.mode, HTTP10: tc.http10, Concurrency: conc, Speedup: 4,
				LoadURLs: []string{url + backend.DefaultLoadPath},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Check(); err != nil {
				t.Fatal(err)
			}
			if res.OK != len(w.Requests) || res.Failed != 0 || res.Unsent != 0 || res.Retries != 0 {
				t.Fatalf("%d ok, %d failed %v, %d unsent, %d retries; want all %d ok", res.OK, res.Failed, res.Failures, res.Unsent, res.Retries, len(w.Requests))
			}
			var bytes int64
			for i, r := range res.Records {
				if want := w.Objects[w.Requests[i].Object].Size; r.Bytes != want || r.Status != 200 || r.Object != w.Requests[i].Object {
					t.Fatalf("request %d: %+v, want object %d, %d bytes", i, r, w.Requests[i].Object, want)
				}
				if tc.mode == load.Open {
					if want := w.Requests[i].Time / 4; r.Arrival != want || r.Sent < r.Arrival {
						t.Fatalf("request %d: due %v, sent %v; want due at %v", i, r.Arrival, r.Sent, want)
					}
				}
				bytes += r.Bytes
			}
			be := res.Backends[0]
			if be.Err != "" || be.Requests != int64(res.OK) || be.Hits != int64(res.Hits) || be.Bytes != bytes || res.Bytes != bytes ||
				res.Hits == 0 || !(be.CPUUtil > 0 && be.CPUUtil <= 1) || !(be.DiskUtil > 0 && be.DiskUtil <= 1) || be.TimeScale != 100 {
				t.Errorf("back end %+v; client counted %d ok, %d hits, %d bytes", be, res.OK, res.Hits, bytes)
			}
			// HTTP/1.0: one connection per request (+1: the report after
			// the run); keep-alive: one per slot at most.
			accepted := be.After.Accepted - be.Before.Accepted
			if tc.http10 && accepted != int64(len(w.Requests))+1 || !tc.http10 && accepted > conc+1 {
				t.Errorf("%d connections accepted for %d requests", accepted, len(w.Requests))
			}
			if top := maxInFlight(res.Records); top > conc || tc.mode == load.Closed && top < conc {
				t.Errorf("at most %d requests in flight, want %d", top, conc)
			}
			if res.ThroughputRPS <= 0 || res.P50 <= 0 || res.P50 > res.P99 || len(res.CDF) != 100 || res.Makespan <= 0 {
				t.Errorf("throughput %v, p50 %v, p99 %v, %d CDF points, makespan %v", res.ThroughputRPS, res.P50, res.P99, len(res.CDF), res.Makespan)
			}
			completed := 0
			for _, s := range res.Series {
				completed += s.Completed
			}
			if completed != res.OK {
				t.Errorf("series count %d completions, want %d", completed, res.OK)
			}
		})
	}
}

// TestBackendKilled kills the back end (listener and connections) in the
// middle of a run: the run completes, and every request is accounted for,
// each failed one with its reason and error.
func TestBackendKilled(t *testing.T) {
	w := workload(200, 400, 0)
	for _, http10 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http10=%v", http10), func(t *testing.T) {
			b, url := startBackend(t, backend.Config{Workload: w, TimeScale: 4}) // a miss takes about 7 ms
			go func() {
				for b.Load().Requests < 20 {
					time.Sleep(time.Millisecond)
				}
				b.Close()
			}()
			start := time.Now()
			res, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Concurrency: 4, HTTP10: http10, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Check(); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the run took %v after its back end died", took)
			}
			// The back end counts a response before its body goes out, so
			// the client may have lost the last few counted ones.
			if res.OK < 10 || res.Failed == 0 || res.Unsent != 0 || res.OK+res.Failed != len(w.Requests) {
				t.Fatalf("%d ok, %d failed, %d unsent", res.OK, res.Failed, res.Unsent)
			}
			allowed := []string{load.ReasonRefused, load.ReasonClosed, load.ReasonReset}
			for reason := range res.Failures {
				if !slices.Contains(allowed, reason) {
					i := slices.IndexFunc(res.Records, func(r load.Record) bool { return r.Reason == reason })
					t.Errorf("failure reason %q (%d, first: %s), want one of %v", reason, res.Failures[reason], res.Records[i].Err, allowed)
				}
			}
			if res.Failures[load.ReasonRefused] == 0 {
				t.Errorf("no request was refused after the back end died: %v", res.Failures)
			}
			for i, r := range res.Records {
				if r.Reason != "" && (r.Err == "" || r.Done < r.Sent) {
					t.Fatalf("request %d failed without an error: %+v", i, r)
				}
			}
		})
	}
}

// TestDeadline: the hard deadline fails the requests in flight and leaves
// the rest unsent.
func TestDeadline(t *testing.T) {
	w := workload(500, 1000, 0)
	_, url := startBackend(t, backend.Config{Workload: w, TimeScale: 1}) // a miss takes about 29 ms
	start := time.Now()
	res, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Concurrency: 4, Duration: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a 150 ms run took %v", took)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if res.Unsent == 0 || res.Failures[load.ReasonDeadline] == 0 || res.Failures[load.ReasonDeadline] > 4 || res.Failed != res.Failures[load.ReasonDeadline] {
		t.Errorf("%d ok, failures %v, %d unsent; want up to 4 deadline failures and the rest unsent", res.OK, res.Failures, res.Unsent)
	}
}

// TestCancel: cancelling the context ends the run the same way, with
// reason "cancelled".
func TestCancel(t *testing.T) {
	w := workload(500, 1000, time.Millisecond)
	_, url := startBackend(t, backend.Config{Workload: w, TimeScale: 1})
	for _, mode := range []string{load.Closed, load.Open} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		res, err := load.Run(ctx, load.Config{URL: url, Workload: w, Concurrency: 4, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Check(); err != nil {
			t.Fatal(err)
		}
		if res.Unsent == 0 || res.Failures[load.ReasonCancelled] == 0 || res.Failed != res.Failures[load.ReasonCancelled] {
			t.Errorf("%s: %d ok, failures %v, %d unsent; want cancelled and unsent requests", mode, res.OK, res.Failures, res.Unsent)
		}
	}
}

// fakeServer answers each connection with handle.
func fakeServer(t *testing.T, handle func(c net.Conn, n int)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); handle(c, n) })
		}
	})
	return "http://" + l.Addr().String()
}

// readRequest reads one request head from c.
func readRequest(c net.Conn, buf *bytes.Buffer) bool {
	b := make([]byte, 1)
	for !bytes.HasSuffix(buf.Bytes(), []byte("\r\n\r\n")) {
		if _, err := c.Read(b); err != nil {
			return false
		}
		buf.Write(b)
	}
	buf.Reset()
	return true
}

// TestOutcomes checks each kind of response and failure against fake
// servers.
func TestOutcomes(t *testing.T) {
	w := &traces.Workload{Objects: []traces.Object{{Target: "/x", Size: 5}}, Requests: []traces.Request{{}, {}, {}}}
	respond := func(answer string) func(net.Conn, int) {
		return func(c net.Conn, _ int) {
			var buf bytes.Buffer
			for readRequest(c, &buf) {
				if _, err := io.WriteString(c, answer); err != nil {
					return
				}
			}
		}
	}
	for _, tc := range []struct {
		name    string
		handle  func(net.Conn, int)
		http10  bool
		reasons map[string]int
		bytes   int64
		retries int
	}{
		{"content-length", respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false, nil, 5, 0},
		{"chunked", respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nTrailer: 1\r\n\r\n"), false, nil, 5, 0},
		{"interim 100", respond("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), false, nil, 5, 0},
		{"close-delimited", func(c net.Conn, _ int) {
			var buf bytes.Buffer
			if readRequest(c, &buf) {
				io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nhello")
			}
		}, false, nil, 5, 0},
		{"HTTP/1.0", func(c net.Conn, _ int) {
			var buf bytes.Buffer
			if readRequest(c, &buf) {
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
			}
		}, true, nil, 5, 0},
		{"status 503", respond("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"), false, map[string]int{"status_503": 3}, 0, 0},
		{"not HTTP", respond("SSH-2.0-OpenSSH\r\n\r\n"), false, map[string]int{load.ReasonBadResponse: 3}, 0, 0},
		{"body cut short", func(c net.Conn, _ int) {
			var buf bytes.Buffer
			if readRequest(c, &buf) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nhello")
			}
		}, false, map[string]int{load.ReasonClosed: 3}, 0, 0},
		{"reset", func(c net.Conn, _ int) {
			var buf bytes.Buffer
			if readRequest(c, &buf) {
				c.(*net.TCPConn).SetLinger(0) // close with RST
			}
		}, false, map[string]int{load.ReasonReset: 3}, 0, 0},
		{"no answer: timeout", func(c net.Conn, _ int) { io.Copy(io.Discard, c) }, false, map[string]int{load.ReasonTimeout: 3}, 0, 0},
		{"kept-alive connection closed: retried", func(c net.Conn, _ int) {
			// One response per connection, though it says keep-alive.
			var buf bytes.Buffer
			if readRequest(c, &buf) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
				readRequest(c, &buf)
			}
		}, false, nil, 5, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := fakeServer(t, tc.handle)
			res, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Concurrency: 1, HTTP10: tc.http10, Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Check(); err != nil {
				t.Fatal(err)
			}
			want := tc.reasons
			if want == nil {
				want = map[string]int{}
			}
			if fmt.Sprint(res.Failures) != fmt.Sprint(want) || res.Retries != tc.retries {
				t.Errorf("failures %v, %d retries; want %v, %d (records %+v)", res.Failures, res.Retries, want, tc.retries, res.Records)
			}
			for _, r := range res.Records {
				if r.Reason == "" && r.Bytes != tc.bytes {
					t.Errorf("record %+v: want %d bytes", r, tc.bytes)
				}
			}
		})
	}
}

// TestRefused: nothing listens.
func TestRefused(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	w := &traces.Workload{Objects: []traces.Object{{Target: "/x", Size: 5}}, Requests: make([]traces.Request, 10)}
	res, err := load.Run(context.Background(), load.Config{URL: "http://" + addr, Workload: w, Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if res.Failures[load.ReasonRefused] != 10 || !strings.Contains(res.Records[0].Err, "refused") {
		t.Errorf("failures %v, first error %q", res.Failures, res.Records[0].Err)
	}
}

func TestConfigErrors(t *testing.T) {
	w := workload(2, 2, 0)
	for _, tc := range []struct {
		name string
		cfg  load.Config
		want string
	}{
		{"no workload", load.Config{URL: "http://x"}, "no request"},
		{"no URL", load.Config{Workload: w}, "want http://HOST"},
		{"https", load.Config{Workload: w, URL: "https://x"}, "want http://HOST"},
		{"path", load.Config{Workload: w, URL: "http://x/a"}, "no path"},
		{"mode", load.Config{Workload: w, URL: "http://x", Mode: "half-open"}, "mode"},
		{"concurrency", load.Config{Workload: w, URL: "http://x", Concurrency: -1}, "concurrency"},
		{"speed-up", load.Config{Workload: w, URL: "http://x", Speedup: -1}, "speed-up"},
		{"client keep-alive", load.Config{Workload: w, URL: "http://x", ClientKeepAlive: -1}, "client keep-alive"},
		{"client keep-alive HTTP/1.0", load.Config{Workload: w, URL: "http://x", HTTP10: true, ClientKeepAlive: time.Second}, "needs HTTP/1.1"},
		{"load URL", load.Config{Workload: w, URL: "http://x", LoadURLs: []string{"x:1"}}, "load report URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load.Run(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestOpenLoopRepeats: more requests than the trace replays it again, each
// lap one mean inter-arrival time after the previous one's last request.
func TestOpenLoopRepeats(t *testing.T) {
	w := workload(3, 3, 10*time.Millisecond) // times 0, 10, 20 ms: a lap is 30 ms
	_, url := startBackend(t, backend.Config{Workload: w, TimeScale: 1000})
	res, err := load.Run(context.Background(), load.Config{URL: url, Workload: w, Mode: load.Open, Requests: 7, Speedup: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	for i, r := range res.Records {
		got = append(got, r.Arrival)
		if r.Object != w.Requests[i%3].Object || r.Reason != "" {
			t.Errorf("request %d: %+v", i, r)
		}
	}
	ms := time.Millisecond
	if want := []time.Duration{0, 5 * ms, 10 * ms, 15 * ms, 20 * ms, 25 * ms, 30 * ms}; !slices.Equal(got, want) {
		t.Errorf("due at %v, want %v", got, want)
	}
}

func TestWriteRecords(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	w := &traces.Workload{Objects: []traces.Object{{Target: "/a,b", Size: 5}}, Requests: make([]traces.Request, 2)}
	res, err := load.Run(context.Background(), load.Config{URL: "http://" + addr, Workload: w, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	res.Records[1].Sent = -1 // as if never sent
	var buf bytes.Buffer
	if err := load.WriteRecords(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], load.RecordsHeader) || rows[1][1] != "/a,b" || rows[1][8] != load.ReasonRefused ||
		!strings.Contains(rows[1][9], "refused") || rows[2][8] != "unsent" || rows[2][3] != "" {
		t.Errorf("records CSV %q", rows)
	}
}

// TestWaitReady: waiting for a back end that starts late succeeds; for
// one that never comes, fails naming the address.
func TestWaitReady(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = load.WaitReady(context.Background(), "http://"+addr, 150*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), addr+" does not accept connections after 150ms") {
		t.Errorf("nothing listening: %v", err)
	}
	late := make(chan net.Listener, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		l, _ := net.Listen("tcp", addr)
		late <- l
	}()
	err = load.WaitReady(context.Background(), "http://"+addr, 4*time.Second, nil)
	if l := <-late; l != nil {
		l.Close()
	} else {
		t.Skip("the port was taken meanwhile")
	}
	if err != nil {
		t.Errorf("listening after 200 ms: %v", err)
	}
}

// WriteSummary accounts for every request in a few lines: counts, rate,
// percentiles, failures by reason with the first one's error, and the load
// reports that could not be read.
func TestWriteSummary(t *testing.T) {
	w := &traces.Workload{Name: "test", Objects: []traces.Object{{Target: "/a", Size: 1}, {Target: "/b", Size: 2}}}
	r := &load.Result{
		Config:   load.Config{URL: "http://10.0.0.1", Mode: load.Closed, HTTP10: true, Concurrency: 4, Workload: w},
		Requests: 5, OK: 2, Failed: 2, Unsent: 1, Failures: map[string]int{"reset": 1, "status_503": 1},
		End: 1500 * time.Millisecond, ThroughputRPS: 1.4, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond,
		Records: []load.Record{{Object: 0}, {Object: 1, Sent: 1, Reason: "status_503", Err: "status 503"},
			{Object: 0, Sent: 2, Reason: "reset", Err: "connection reset"}, {Object: 1}, {Object: 0, Sent: -1}},
		Backends: []load.Backend{{URL: "http://10.0.1.1/lvslab/load"}, {URL: "http://10.0.1.2/lvslab/load", Err: "connect: refused"}},
	}
	var b strings.Builder
	r.WriteSummary(&b)
	want := "load: 5 requests to http://10.0.0.1 (closed, HTTP/1.0, concurrency 4): 2 ok, 2 failed, 1 unsent in 1.5s; 1 req/s, response p50 2ms p99 9ms (wall time)\n" +
		"load: failures: reset 1, status_503 1; first: request 1 (/b): status 503\n" +
		"load: http://10.0.1.2/lvslab/load: connect: refused\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
