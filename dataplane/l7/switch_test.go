package l7

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/rules"
)

// backend is an in-test HTTP server on loopback that names itself in an
// X-Backend header and echoes what it was asked.
type backend struct {
	name string
	addr netip.AddrPort
	srv  *http.Server
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, addr: netip.MustParseAddrPort(ln.Addr().String())}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		switch {
		case strings.HasPrefix(r.URL.Path, "/chunked/"):
			// A chunked response of n KiB in several flushes.
			var n int
			fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/chunked/"), "%d", &n)
			for i := range n {
				w.Write(bytes.Repeat([]byte{byte('a' + i%26)}, 1024))
				w.(http.Flusher).Flush()
			}
		case strings.HasPrefix(r.URL.Path, "/size/"):
			var n int
			fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/size/"), "%d", &n)
			w.Header().Set("Content-Length", fmt.Sprint(n))
			w.Write(bytes.Repeat([]byte("x"), n))
		case strings.HasPrefix(r.URL.Path, "/echo"):
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %x", len(body), sha256.Sum256(body))
		case r.URL.Path == "/slowecho":
			// Reads the body only after a while: the sender must wait.
			time.Sleep(200 * time.Millisecond)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %x", len(body), sha256.Sum256(body))
		case r.URL.Path == "/refuse":
			// Answers without reading the body (no 100 Continue).
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusExpectationFailed)
		case r.URL.Path == "/conn":
			fmt.Fprintf(w, "connection=%q close=%v", r.Header.Get("Connection"), r.Close)
		case r.URL.Path == "/slow":
			time.Sleep(300 * time.Millisecond)
			fmt.Fprint(w, "slow")
		default:
			fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.RequestURI())
		}
	})
	b.srv = &http.Server{Handler: mux}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

// rawBackend serves each connection with f.
func rawBackend(t *testing.T, f func(c net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				f(c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// readRequestHead reads one request (or response) head from br, without
// allocating.
func readRequestHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 && line[0] == '\r' {
			return nil
		}
	}
}

// resetClose closes c with a reset (SO_LINGER 0).
func resetClose(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

// forEachEngine runs f as a subtest for each engine supported here.
func forEachEngine(t *testing.T, f func(t *testing.T, eng Engine)) {
	for _, e := range Engines() {
		t.Run(e.String(), func(t *testing.T) { f(t, e) })
	}
}

type testSwitch struct {
	sw   *Switch
	svc  *dataplane.Service
	addr string
}

// startSwitch runs a switch with scheduler alg over addrs on loopback.
func startSwitch(t testing.TB, alg string, cfg Config, addrs ...netip.AddrPort) *testSwitch {
	t.Helper()
	sched, err := algorithms.New(alg, algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return startSwitchWith(t, sched, cfg, addrs...)
}

func startSwitchWith(t testing.TB, sched algorithms.Scheduler, cfg Config, addrs ...netip.AddrPort) *testSwitch {
	t.Helper()
	svc, err := dataplane.NewService(dataplane.Config{Scheduler: sched})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range addrs {
		if err := svc.AddServer(dataplane.Server{ID: algorithms.ServerID(i), Name: fmt.Sprintf("rs%d", i+1), Addr: a, Weight: 1}); err != nil {
			t.Fatal(err)
		}
	}
	sw, err := New(svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lns, err := Listen(context.Background(), "127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Go(func() { sw.Serve(ln) })
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sw.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		wg.Wait()
	})
	return &testSwitch{sw: sw, svc: svc, addr: lns[0].Addr().String()}
}

func (ts *testSwitch) dial(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// get sends a GET on c and reads the response.
func get(t *testing.T, c net.Conn, br *bufio.Reader, path string) (*http.Response, string) {
	t.Helper()
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, br, "GET")
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// waitIdle waits until no request is in service and no client connection
// is open, then checks that every server's counters are back to zero.
func (ts *testSwitch) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := ts.sw.Stats()
		busy := st.Open != 0
		for _, s := range st.Servers {
			busy = busy || s.Active != 0 || s.Inactive != 0
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters not back to zero: open %d, servers %+v", st.Open, st.Servers)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The requests of one keep-alive client connection alternate between the
// back ends under rr, and each response is the answer to its request.
func TestKeepAliveAlternates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a, b := startBackend(t, "A"), startBackend(t, "B")
		ts := startSwitch(t, "rr", Config{Engine: eng}, a.addr, b.addr)
		c, br := ts.dial(t)
		var got []string
		for i := range 6 {
			path := fmt.Sprintf("/page%d.html", i)
			resp, body := get(t, c, br, path)
			if resp.StatusCode != 200 || body != resp.Header.Get("X-Backend")+" GET "+path {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
			got = append(got, resp.Header.Get("X-Backend"))
		}
		if s := strings.Join(got, ""); s != "ABABAB" {
			t.Errorf("back ends %s, want ABABAB", s)
		}
		c.Close()
		ts.waitIdle(t)
		st := ts.sw.Stats()
		if st.Count(Requests) != 6 || st.Count(Responses) != 6 || st.Count(Accepted) != 1 {
			t.Errorf("requests %d responses %d accepted %d, want 6 6 1", st.Count(Requests), st.Count(Responses), st.Count(Accepted))
		}
		// Keep-alive to the back ends: one connection each, reused.
		for _, s := range st.Servers {
			if s.Conns != 1 || s.Scheduled != 3 || s.BytesIn == 0 || s.BytesOut == 0 {
				t.Errorf("server %s: conns %d scheduled %d bytes %d/%d, want 1 connection for 3 requests", s.Name, s.Conns, s.Scheduled, s.BytesIn, s.BytesOut)
			}
		}
	})
}

// Pipelined requests are answered in order, each possibly by another back end.
func TestPipelining(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a, b := startBackend(t, "A"), startBackend(t, "B")
		ts := startSwitch(t, "rr", Config{Engine: eng}, a.addr, b.addr)
		c, br := ts.dial(t)
		var batch strings.Builder
		for i := range 5 {
			fmt.Fprintf(&batch, "GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		}
		fmt.Fprintf(&batch, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		fmt.Fprintf(&batch, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if _, err := io.WriteString(c, batch.String()); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			_, body := readResponse(t, br, "GET")
			if !strings.HasSuffix(body, fmt.Sprintf("GET /p%d", i)) {
				t.Fatalf("response %d: %q", i, body)
			}
		}
		if _, body := readResponse(t, br, "POST"); body != fmt.Sprintf("3 %x", sha256.Sum256([]byte("abc"))) {
			t.Errorf("pipelined POST: %q", body)
		}
		if _, body := readResponse(t, br, "GET"); !strings.HasSuffix(body, "GET /last") {
			t.Errorf("last: %q", body)
		}
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("connection not closed after Connection: close: %v", err)
		}
		ts.waitIdle(t)
	})
}

// Clients that close after each request share one keep-alive back-end
// connection: their "Connection: close" is not forwarded.
func TestClientCloseKeepsBackend(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a := startBackend(t, "A")
		ts := startSwitch(t, "rr", Config{Engine: eng}, a.addr)
		for i := range 3 {
			c, br := ts.dial(t)
			fmt.Fprintf(c, "GET /conn HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-N: %d\r\n\r\n", i)
			resp, body := readResponse(t, br, "GET")
			if resp.StatusCode != 200 || body != `connection="" close=false` || !resp.Close {
				t.Errorf("request %d: %d %q, response says close: %v", i, resp.StatusCode, body, resp.Close)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("request %d: client connection left open: %v", i, err)
			}
		}
		ts.waitIdle(t)
		// One back-end connection, or one per event loop (startSwitch
		// opens two listeners, and each loop has its own pools).
		if st := ts.sw.Stats(); st.Servers[0].Conns > 2 || st.Count(Responses) != 3 {
			t.Errorf("%d back-end connections for %d responses, want at most 2 for 3", st.Servers[0].Conns, st.Count(Responses))
		}
	})
}

// lblc keeps a URL on one back end; rr would alternate it.
func TestLBLCKeepsURL(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a, b, c3 := startBackend(t, "A"), startBackend(t, "B"), startBackend(t, "C")
		ts := startSwitch(t, "lblc", Config{Engine: eng}, a.addr, b.addr, c3.addr)
		seen := map[string]map[string]bool{}
		for i := range 12 {
			c, br := ts.dial(t) // a new connection each time: the key, not the connection, decides
			path := fmt.Sprintf("/doc%d.html?x=%d", i%3, i)
			resp, _ := get(t, c, br, path)
			key := path[:strings.IndexByte(path, '?')]
			if seen[key] == nil {
				seen[key] = map[string]bool{}
			}
			seen[key][resp.Header.Get("X-Backend")] = true
			c.Close()
		}
		for key, backends := range seen {
			if len(backends) != 1 {
				t.Errorf("%s went to %v, want one back end", key, backends)
			}
		}
		ts.waitIdle(t)
	})
}

// HTTP/1.0 closes after the response; HEAD, chunked and large responses
// are framed right; request bodies are relayed.
func TestFraming(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a := startBackend(t, "A")
		ts := startSwitch(t, "rr", Config{Engine: eng}, a.addr)

		t.Run("HTTP/1.0", func(t *testing.T) {
			c, br := ts.dial(t)
			io.WriteString(c, "GET /old HTTP/1.0\r\n\r\n")
			resp, body := readResponse(t, br, "GET")
			if resp.StatusCode != 200 || body != "A GET /old" {
				t.Errorf("%d %q", resp.StatusCode, body)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("HTTP/1.0 connection left open: %v", err)
			}
		})
		t.Run("chunked responses", func(t *testing.T) {
			c, br := ts.dial(t)
			for _, n := range []int{1, 70} { // 70 KiB spans many reads
				resp, body := get(t, c, br, fmt.Sprintf("/chunked/%d", n))
				if len(resp.TransferEncoding) == 0 || len(body) != n*1024 || body[1024*(n-1)] != byte('a'+(n-1)%26) {
					t.Errorf("%d KiB: encoding %v, %d bytes", n, resp.TransferEncoding, len(body))
				}
			}
		})
		t.Run("sizes and HEAD", func(t *testing.T) {
			c, br := ts.dial(t)
			for _, n := range []int{0, 1024, 10240, 200000} {
				resp, body := get(t, c, br, fmt.Sprintf("/size/%d", n))
				if resp.StatusCode != 200 || len(body) != n {
					t.Errorf("size %d: %d, %d bytes", n, resp.StatusCode, len(body))
				}
			}
			io.WriteString(c, "HEAD /size/5000 HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := readResponse(t, br, "HEAD"); resp.ContentLength != 5000 || body != "" {
				t.Errorf("HEAD: length %d body %q", resp.ContentLength, body)
			}
			if _, body := get(t, c, br, "/after-head"); body != "A GET /after-head" {
				t.Errorf("after HEAD: %q", body)
			}
		})
		t.Run("request bodies", func(t *testing.T) {
			c, br := ts.dial(t)
			big := bytes.Repeat([]byte("0123456789"), 30000) // 300 KB, far beyond the buffer
			fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(big))
			c.Write(big)
			if _, body := readResponse(t, br, "POST"); body != fmt.Sprintf("%d %x", len(big), sha256.Sum256(big)) {
				t.Errorf("content-length body: %q", body)
			}
			io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
			for i := 0; i < len(big); i += 50000 {
				fmt.Fprintf(c, "%x\r\n%s\r\n", 50000, big[i:i+50000])
			}
			io.WriteString(c, "0\r\nX-Trailer: 1\r\n\r\n")
			if _, body := readResponse(t, br, "POST"); body != fmt.Sprintf("%d %x", len(big), sha256.Sum256(big)) {
				t.Errorf("chunked body: %q", body)
			}
			// Expect: 100-continue: the body goes out after the interim response.
			io.WriteString(c, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
			resp, err := http.ReadResponse(br, &http.Request{Method: "PUT"})
			if err != nil || resp.StatusCode != 100 {
				t.Fatalf("want 100 Continue, got %v %v", resp, err)
			}
			io.WriteString(c, "hello")
			if _, body := readResponse(t, br, "PUT"); body != fmt.Sprintf("5 %x", sha256.Sum256([]byte("hello"))) {
				t.Errorf("expect body: %q", body)
			}
		})
		ts.waitIdle(t)
	})
}

// Content rules send images to B and everything else to A.
func TestRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a, b := startBackend(t, "A"), startBackend(t, "B")
		names := map[string]algorithms.ServerID{"rs1": 0, "rs2": 1}
		set, err := rules.Parse("rules.conf", strings.NewReader("rule = rs2 \\.gif$\nrule = rs1 .*\n"), func(n string) bool { _, ok := names[n]; return ok })
		if err != nil {
			t.Fatal(err)
		}
		sched, err := rules.NewScheduler(set, func(n string) (algorithms.ServerID, bool) { id, ok := names[n]; return id, ok }, "wlc", algorithms.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ts := startSwitchWith(t, sched, Config{Rules: set, Engine: eng}, a.addr, b.addr)
		c, br := ts.dial(t)
		for _, tc := range []struct{ path, backend string }{
			{"/a.gif", "B"}, {"/index.html", "A"}, {"/b.gif", "B"}, {"/b.gif?x", "A"}, {"/c.html", "A"},
		} {
			if resp, _ := get(t, c, br, tc.path); resp.Header.Get("X-Backend") != tc.backend {
				t.Errorf("%s went to %s, want %s", tc.path, resp.Header.Get("X-Backend"), tc.backend)
			}
		}
		c.Close()
		ts.waitIdle(t)
	})
}

// Bad input and failing back ends: each gets its status and its counter,
// and the switch keeps serving.
func TestErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		good := startBackend(t, "G")
		// A back end that sends a head and part of the body, then resets.
		midReset := rawBackend(t, func(c net.Conn) {
			readRequestHead(bufio.NewReader(c))
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
			time.Sleep(50 * time.Millisecond)
			resetClose(c)
		})
		// A back end that reads the request and resets without answering.
		earlyReset := rawBackend(t, func(c net.Conn) {
			readRequestHead(bufio.NewReader(c))
			resetClose(c)
		})
		// A back end that answers garbage.
		garbage := rawBackend(t, func(c net.Conn) {
			readRequestHead(bufio.NewReader(c))
			io.WriteString(c, "SPDY/3 nonsense\r\n\r\n")
		})
		// A back end that switches protocols.
		upgrade := rawBackend(t, func(c net.Conn) {
			readRequestHead(bufio.NewReader(c))
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			time.Sleep(100 * time.Millisecond)
		})
		// A back end that never answers.
		silent := rawBackend(t, func(c net.Conn) {
			readRequestHead(bufio.NewReader(c))
			time.Sleep(2 * time.Second)
		})
		// An address where nothing listens.
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		refused := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()

		cfg := Config{ClientTimeout: 300 * time.Millisecond, BackendTimeout: 500 * time.Millisecond, Engine: eng}
		tests := []struct {
			name    string
			backend *netip.AddrPort // nil: the good one; zero: none usable
			send    string
			status  int // 0: the connection is closed without a status
			ev      Event
		}{
			{"malformed request line", nil, "GET /\r\n\r\n", 400, BadRequest},
			{"bare LF", nil, "GET / HTTP/1.1\nHost: x\n\n", 400, BadRequest},
			{"bad Content-Length", nil, "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400, BadRequest},
			{"bad chunked body", nil, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, BadRequest},
			{"oversized headers", nil, "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("b", 40000) + "\r\n\r\n", 431, HeadersTooLarge},
			{"too many headers", nil, "GET / HTTP/1.1\r\n" + strings.Repeat("A: b\r\n", 101) + "\r\n", 431, HeadersTooLarge},
			{"long request line", nil, "GET /" + strings.Repeat("u", 9000) + " HTTP/1.1\r\n\r\n", 414, URITooLong},
			{"HTTP/2 preface", nil, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, VersionRejected},
			{"gzip transfer coding", nil, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, NotImplemented},
			{"CONNECT", nil, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n", 501, NotImplemented},
			{"idle client", nil, "", 408, ClientTimeout},
			{"partial request then silence", nil, "GET / HTTP/1.1\r\nHost:", 408, ClientTimeout},
			{"back end resets mid-response", &midReset, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 0, ResetAfterHead},
			{"back end resets before answering", &earlyReset, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 502, BackendReset},
			{"back end answers garbage", &garbage, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 502, BadResponse},
			{"back end switches protocols", &upgrade, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 502, BadResponse},
			{"back end silent", &silent, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 504, BackendTimeout},
			{"back end refuses connections", &refused, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 502, ConnectFailed},
			{"no back end", &netip.AddrPort{}, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 503, NoServer},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				addr := good.addr
				if tc.backend != nil {
					addr = *tc.backend
				}
				var ts *testSwitch
				if addr.IsValid() {
					ts = startSwitch(t, "rr", cfg, addr)
				} else {
					ts = startSwitch(t, "rr", cfg, good.addr)
					ts.svc.SetDown(0, true)
				}
				c, br := ts.dial(t)
				io.WriteString(c, tc.send)
				resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
				switch {
				case tc.status == 0:
					// The head was relayed; the body must come up short.
					if err != nil {
						t.Fatalf("want the relayed head: %v", err)
					}
					if body, err := io.ReadAll(resp.Body); err == nil {
						t.Errorf("truncated body read without error: %q", body)
					}
				case err != nil:
					t.Fatalf("want status %d: %v", tc.status, err)
				case resp.StatusCode != tc.status:
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				default:
					if _, err := io.ReadAll(resp.Body); err != nil {
						t.Errorf("error body: %v", err)
					}
					if _, err := br.ReadByte(); err != io.EOF {
						t.Errorf("connection left open after an error: %v", err)
					}
				}
				c.Close()
				ts.waitIdle(t)
				want := uint64(1)
				if tc.ev == ConnectFailed {
					want = 2 // the attempt and its one retry
				}
				if n := ts.sw.Stats().Count(tc.ev); n != want {
					t.Errorf("%v counted %d times, want %d", tc.ev, n, want)
				}
				// The switch keeps serving.
				if tc.backend == nil {
					c2, br2 := ts.dial(t)
					if resp, _ := get(t, c2, br2, "/still"); resp.StatusCode != 200 {
						t.Errorf("after the error: status %d", resp.StatusCode)
					}
				}
			})
		}
	})
}

// A refused connection is retried on another back end, and a pooled
// connection the back end had closed is retried on a fresh one: the client
// sees neither.
func TestRetries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		good := startBackend(t, "G")
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		refused := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()
		t.Run("connect failure", func(t *testing.T) {
			ts := startSwitch(t, "rr", Config{Engine: eng}, refused, good.addr)
			st := ts.getOK(t, 4, "/r")
			// rr alternates, and each retry takes the good back end's turn, so
			// every request first meets the refusing back end.
			if st.Count(Retried) != 4 || st.Count(ConnectFailed) != 4 || st.Servers[0].Errors != 4 || st.Servers[1].Errors != 0 {
				t.Errorf("retried %d connect failures %d errors %d, want 4 4 4", st.Count(Retried), st.Count(ConnectFailed), st.Servers[0].Errors)
			}
		})
		// With an observer that takes a failing server down at once (health
		// observe layer4, on_error mark-down), the retry and every later
		// request go to the good back end: one failure in all.
		t.Run("observed connect failure", func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			var svc atomic.Pointer[dataplane.Service]
			observe := func(id algorithms.ServerID, err error) {
				mu.Lock()
				seen = append(seen, fmt.Sprintf("%d:%v", id, err != nil))
				mu.Unlock()
				if err != nil {
					svc.Load().SetDown(id, true)
				}
			}
			ts := startSwitch(t, "rr", Config{Engine: eng, Observe: observe}, refused, good.addr)
			svc.Store(ts.svc)
			st := ts.getOK(t, 4, "/r")
			mu.Lock()
			defer mu.Unlock()
			if got := strings.Join(seen, " "); st.Count(Retried) != 1 || st.Count(ConnectFailed) != 1 || got != "0:true 1:false" {
				t.Errorf("retried %d, connect failures %d, observed %q; want 1, 1, \"0:true 1:false\"", st.Count(Retried), st.Count(ConnectFailed), got)
			}
		})
		// A back end that accepts connections and resets them before
		// answering is observed as failing on every one: a connection is a
		// success only once a response head arrived on it, so the count of
		// consecutive errors is not reset by the connection that then fails.
		t.Run("observed reset before answering", func(t *testing.T) {
			resetter := rawBackend(t, func(c net.Conn) {
				readRequestHead(bufio.NewReader(c))
				resetClose(c)
			})
			var mu sync.Mutex
			var seen []string
			observe := func(id algorithms.ServerID, err error) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, fmt.Sprintf("%d:%v", id, err != nil))
			}
			ts := startSwitch(t, "rr", Config{Engine: eng, Observe: observe}, resetter, good.addr)
			st := ts.getOK(t, 4, "/r")
			mu.Lock()
			defer mu.Unlock()
			// rr: each request meets the resetter, then the good back end's
			// connection (new for the first request, then pooled).
			if got := strings.Join(seen, " "); st.Count(Retried) != 4 || got != "0:true 1:false 0:true 0:true 0:true" {
				t.Errorf("retried %d, observed %q; want 4, \"0:true 1:false 0:true 0:true 0:true\"", st.Count(Retried), got)
			}
		})
		// A pooled connection the back end had closed is redialled, and when
		// the back end refuses the new connection too (it died), the request
		// is scheduled again: the keep-alive race does not use up the retry.
		t.Run("stale connection to a back end that died", func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			dying := netip.MustParseAddrPort(ln.Addr().String())
			served := make(chan struct{})
			go func() {
				c, err := ln.Accept()
				ln.Close() // one connection, then refuse
				if err != nil {
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				readRequestHead(br)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				close(served)
				readRequestHead(br) // closes when the next request arrives
			}()
			ts := startSwitch(t, "rr", Config{Engine: eng}, dying, good.addr)
			c, br := ts.dial(t)
			for i := range 3 { // rr: dying, good, dying (pooled, then refused)
				if resp, _ := get(t, c, br, "/r"); resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d", i, resp.StatusCode)
				}
				if i == 0 {
					<-served
				}
			}
			c.Close()
			ts.waitIdle(t)
			st := ts.sw.Stats()
			if st.Count(Retried) != 2 || st.Count(ConnectFailed) != 1 || st.Servers[1].Scheduled != 2 {
				t.Errorf("retried %d, connect failures %d, good back end scheduled %d; want 2, 1, 2",
					st.Count(Retried), st.Count(ConnectFailed), st.Servers[1].Scheduled)
			}
		})
		// Back ends that answer one request per connection, although the
		// response does not say so: one closes the connection when the
		// next request arrives (the switch finds out by sending it), the
		// other right after answering (the epoll engine watches idle
		// connections and drops the closed one before using it).
		for _, tc := range []struct {
			name        string
			closeOnNext bool
			retries     map[Engine]uint64
		}{
			{"closed when the next request arrives", true, map[Engine]uint64{EngineGoroutine: 2, EngineEpoll: 2}},
			{"closed while idle", false, map[Engine]uint64{EngineGoroutine: 2, EngineEpoll: 0}},
		} {
			t.Run("stale keep-alive connection/"+tc.name, func(t *testing.T) {
				closer := rawBackend(t, func(c net.Conn) {
					br := bufio.NewReader(c)
					readRequestHead(br)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					if tc.closeOnNext {
						readRequestHead(br)
					}
				})
				ts := startSwitch(t, "rr", Config{Engine: eng}, closer)
				c, br := ts.dial(t)
				for i := range 3 {
					if i > 0 && !tc.closeOnNext {
						time.Sleep(20 * time.Millisecond) // let the back end's close arrive
					}
					if resp, body := get(t, c, br, "/s"); resp.StatusCode != 200 || body != "ok" {
						t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
					}
				}
				c.Close()
				ts.waitIdle(t)
				st := ts.sw.Stats()
				if want := tc.retries[eng]; st.Count(Retried) != want || st.Servers[0].Errors != 0 || st.Servers[0].Conns != 3 {
					t.Errorf("retried %d, errors %d, connections %d; want %d retries, no error, 3 connections",
						st.Count(Retried), st.Servers[0].Errors, st.Servers[0].Conns, want)
				}
			})
		}
	})
}

// getOK sends n GETs of path on one connection, wants 200 for each, and
// returns the switch's counters once it is idle.
func (ts *testSwitch) getOK(t *testing.T, n int, path string) Stats {
	t.Helper()
	c, br := ts.dial(t)
	for range n {
		if resp, _ := get(t, c, br, path); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	c.Close()
	ts.waitIdle(t)
	return ts.sw.Stats()
}

// Shutdown lets a request in flight finish and closes idle connections.
func TestShutdown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a := startBackend(t, "A")
		sched, _ := algorithms.New("rr", algorithms.Options{})
		svc, _ := dataplane.NewService(dataplane.Config{Scheduler: sched})
		svc.AddServer(dataplane.Server{ID: 0, Addr: a.addr, Weight: 1})
		sw, err := New(svc, Config{Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		lns, err := Listen(context.Background(), "127.0.0.1:0", 1)
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- sw.Serve(lns[0]) }()
		addr := lns[0].Addr().String()
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		busy, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		// The idle connection has served one request and waits for the next.
		ibr := bufio.NewReader(idle)
		get(t, idle, ibr, "/first")
		io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(100 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sw.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if _, body := readResponse(t, bufio.NewReader(busy), "GET"); body != "slow" {
			t.Errorf("in-flight request: %q", body)
		}
		idle.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := ibr.ReadByte(); err != io.EOF {
			t.Errorf("idle connection not closed: %v", err)
		}
		if err := <-served; err != ErrClosed {
			t.Errorf("Serve returned %v, want ErrClosed", err)
		}
		if _, err := net.Dial("tcp", addr); err == nil {
			t.Error("still accepting after shutdown")
		}
		if a := svc.Stats()[0].Active; a != 0 {
			t.Errorf("active %d after shutdown", a)
		}
	})
}

// Many concurrent keep-alive clients under wlc: every response is right
// and every counter returns to zero.
func TestConcurrentClients(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a, b := startBackend(t, "A"), startBackend(t, "B")
		ts := startSwitch(t, "wlc", Config{MaxIdle: 4, Engine: eng}, a.addr, b.addr)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				c, err := net.Dial("tcp", ts.addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for j := range 20 {
					path := fmt.Sprintf("/c%d/r%d", i, j)
					fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
					resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
					if err != nil {
						t.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					if !strings.HasSuffix(string(body), " GET "+path) {
						t.Errorf("%s: %q", path, body)
						return
					}
				}
			})
		}
		wg.Wait()
		ts.waitIdle(t)
		if st := ts.sw.Stats(); st.Count(Responses) != 320 {
			t.Errorf("responses %d, want 320", st.Count(Responses))
		}
	})
}
