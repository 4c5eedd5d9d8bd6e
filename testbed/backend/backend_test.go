package backend_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
	"github.com/lvslab/lvslab/testbed/backend"
	"github.com/lvslab/lvslab/traces"
)

func workload(sizes ...int64) *traces.Workload {
	w := &traces.Workload{Name: "test"}
	for i, s := range sizes {
		w.Objects = append(w.Objects, traces.Object{Target: fmt.Sprintf("/o%d", i), Size: s})
	}
	return w
}

// start runs a back end on 127.0.0.1 and returns its base URL.
func start(t *testing.T, cfg backend.Config) (*backend.Backend, string) {
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

// fast makes the model's times negligible (1 ns per 10^9 ns of model).
const fast = 1e9

// rawGet sends one raw request on a new connection and returns the
// response (read to the end).
func rawGet(t *testing.T, base, request string) (*http.Response, []byte) {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServe(t *testing.T) {
	w := workload(1000, 70000)
	w.Objects = append(w.Objects, traces.Object{Target: "/a b", Size: 5})
	_, base := start(t, backend.Config{Workload: w, TimeScale: fast})
	for _, tc := range []struct {
		name, request string
		status        int
		size          int
		cache         string
		closed        bool // HTTP/1.0: the server closes the connection
	}{
		{"miss", "GET /o0 HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1000, "miss", false},
		{"hit", "GET /o0 HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1000, "hit", false},
		{"large object", "GET /o1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, 70000, "miss", false},
		{"HTTP/1.0", "GET /o1 HTTP/1.0\r\n\r\n", 200, 70000, "hit", true},
		{"dynamic: never cached", "GET /o0?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, 1000, "miss", false},
		{"cgi-bin is not a target", "GET /cgi-bin/o0 HTTP/1.1\r\nHost: x\r\n\r\n", 404, -1, "", false},
		{"encoded target", "GET /a%20b HTTP/1.1\r\nHost: x\r\n\r\n", 200, 5, "miss", false},
		{"decoded form is another target", "GET /o%30 HTTP/1.1\r\nHost: x\r\n\r\n", 404, -1, "", false},
		{"unknown", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, -1, "", false},
		{"POST", "POST /o0 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, -1, "", false},
		{"HEAD", "HEAD /o0 HTTP/1.1\r\nHost: x\r\n\r\n", 200, 0, "hit", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawGet(t, base, tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.size >= 0 && len(body) != tc.size {
				t.Errorf("body %d bytes, want %d", len(body), tc.size)
			}
			if tc.status == 200 && !strings.HasPrefix(tc.request, "HEAD") && resp.ContentLength != int64(tc.size) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, tc.size)
			}
			if got := resp.Header.Get(backend.CacheHeader); got != tc.cache {
				t.Errorf("%s: %q, want %q", backend.CacheHeader, got, tc.cache)
			}
			if resp.Close != tc.closed {
				t.Errorf("connection close = %v, want %v", resp.Close, tc.closed)
			}
		})
	}
}

// TestHitsFollowLRU replays a random request sequence one request at a
// time and checks every response's hit or miss against models.LRU driven
// by the same sequence (look up; on a miss, insert).
func TestHitsFollowLRU(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := make([]int64, 60)
	for i := range sizes {
		sizes[i] = 1 + r.Int64N(20000)
	}
	const capacity = 150000 // about a quarter of the objects: evictions
	b, base := start(t, backend.Config{Workload: workload(sizes...), CacheBytes: capacity, TimeScale: fast})
	lru := models.NewLRU(capacity, len(sizes))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	hits := 0
	for i := range 600 {
		obj := int32(r.IntN(len(sizes)))
		want := lru.Lookup(obj)
		if !want {
			lru.Insert(obj, sizes[obj])
		}
		resp, err := client.Get(fmt.Sprintf("%s/o%d", base, obj))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get(backend.CacheHeader) == "hit"; got != want || n != sizes[obj] {
			t.Fatalf("request %d (object %d): hit %v, %d bytes; LRU says hit %v, size %d", i, obj, got, n, want, sizes[obj])
		}
		if want {
			hits++
		}
	}
	l := b.Load()
	if l.Requests != 600 || l.Hits != int64(hits) || l.CacheUsed != lru.Used() || l.CacheObjects != lru.Len() {
		t.Errorf("load: %d requests, %d hits, cache %d B in %d objects; want 600, %d, %d B in %d",
			l.Requests, l.Hits, l.CacheUsed, l.CacheObjects, hits, lru.Used(), lru.Len())
	}
}

// TestLoadReport reads the load report over HTTP while a keep-alive
// connection is open.
func TestLoadReport(t *testing.T) {
	b, base := start(t, backend.Config{Workload: workload(1000, 2000), TimeScale: 100, CacheBytes: 1 << 20, Name: "rs1"})
	if got, want := b.String(), "2 objects of trace test, cache 1MiB lru, time scale 100"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var bytes int64
	for _, p := range []string{"/o0", "/o1", "/o0", "/nope"} {
		resp, err := client.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			bytes += n
		}
	}
	resp, err := client.Get(base + backend.DefaultLoadPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	var keys map[string]any
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"active", "served", "connections", "in_service", "cpu_queue", "disk_queue", "cpu_util", "disk_util",
		"cpu_util_total", "disk_util_total", "cpu_busy_ns", "disk_busy_ns", "hit_ratio", "requests", "bytes", "config"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("load report lacks %q: %s", k, data)
		}
	}
	var l backend.Load
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	// Model time of the three requests: two misses 28,770 and 28,850 µs
	// of which CPU 360 and 440, one hit 360 (all CPU): at time scale 100.
	wantCPU := (360 + 440 + 360) * time.Microsecond / 100
	wantDisk := (28410 + 28410) * time.Microsecond / 100
	if l.Name != "rs1" || l.Requests != 3 || l.Hits != 1 || l.NotFound != 1 || l.Bytes != bytes || l.Connections != 1 ||
		l.InService != 0 || l.CPUBusy != wantCPU || l.DiskBusy != wantDisk || !(l.CPUUtilTotal > 0 && l.CPUUtilTotal < 1) ||
		l.HitRatio != 1.0/3 || l.Config.Objects != 2 || l.Config.TimeScale != 100 || l.Config.CacheBytes != 1<<20 ||
		l.Config.CachePolicy != "lru" || l.Config.Costs != models.DefaultCosts() || l.Config.Trace != "test" {
		t.Errorf("load report %+v\nwant 3 requests, 1 hit, 1 not found, %d bytes, 1 connection, cpu busy %v, disk busy %v", l, bytes, wantCPU, wantDisk)
	}
}

func TestConfigErrors(t *testing.T) {
	w := workload(1000)
	for _, tc := range []struct {
		name string
		cfg  backend.Config
		want string
	}{
		{"no workload", backend.Config{}, "no target"},
		{"negative cache", backend.Config{Workload: w, CacheBytes: -1}, "cache size"},
		{"policy", backend.Config{Workload: w, CachePolicy: "fifo"}, "unknown cache policy"},
		{"time scale", backend.Config{Workload: w, TimeScale: -2}, "time scale"},
		{"costs", backend.Config{Workload: w, Costs: models.Costs{Connect: -1}}, "costs.connect"},
		{"load path", backend.Config{Workload: w, LoadPath: "load"}, "load path"},
		{"load path with a query", backend.Config{Workload: w, LoadPath: "/l?x"}, "load path"},
		{"trace target is the load path", backend.Config{Workload: &traces.Workload{Objects: []traces.Object{{Target: "/lvslab/load", Size: 1}}}}, "/lvslab/load is under"},
		{"trace target under the load path", backend.Config{Workload: &traces.Workload{Objects: []traces.Object{{Target: "/x/y", Size: 1}}}, LoadPath: "/x"}, "/x/y is under"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := backend.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A target merely starting with the load path's characters is fine.
	b, err := backend.New(backend.Config{Workload: &traces.Workload{Objects: []traces.Object{{Target: "/lvslab/loader", Size: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
}

// TestMergedTargets: two trace targets with one request target are one
// object of the larger size, counted in Merged.
func TestMergedTargets(t *testing.T) {
	w := &traces.Workload{Objects: []traces.Object{{Target: "/a b", Size: 10}, {Target: "/a%20b", Size: 30}, {Target: "/c", Size: 5}}}
	b, base := start(t, backend.Config{Workload: w, TimeScale: fast})
	if b.Merged != 1 || b.Objects() != 2 {
		t.Errorf("merged %d, objects %d; want 1, 2", b.Merged, b.Objects())
	}
	if _, body := rawGet(t, base, "GET /a%20b HTTP/1.0\r\n\r\n"); len(body) != 30 {
		t.Errorf("body %d bytes, want 30", len(body))
	}
}

// TestClose: a request in service when the back end is closed gets no
// response (its connection closes); a new connection is refused.
func TestClose(t *testing.T) {
	b, base := start(t, backend.Config{Workload: workload(1000), TimeScale: 1}) // a miss takes 28.77 ms
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /o0 HTTP/1.1\r\nHost: x\r\n\r\n")
	for b.Load().InService == 0 {
		time.Sleep(time.Millisecond)
	}
	b.Close()
	n, err := c.Read(make([]byte, 100))
	if n != 0 || err == nil {
		t.Errorf("read %d bytes, %v; want no response and the connection closed", n, err)
	}
	if _, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		t.Error("a new connection was accepted after Close")
	}
	if l := b.Load(); l.Aborted != 1 || l.Requests != 0 {
		t.Errorf("aborted %d, served %d; want 1, 0", l.Aborted, l.Requests)
	}
}

func TestRequestTarget(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/index.html", "/index.html"},
		{"/a%20b", "/a%20b"},
		{"/a b", "/a%20b"},
		{"/100%", "/100%25"},
		{"/%zz", "/%25zz"},
		{"/é", "/%C3%A9"},
		{"/tab\there", "/tab%09here"},
		{"index.html", "/index.html"},
		{"", "/"},
		{"http://example.com/x", "http://example.com/x"},
		{"*", "/*"},
	} {
		if got := backend.RequestTarget(tc.in); got != tc.want {
			t.Errorf("RequestTarget(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRequestTarget: whatever a trace holds, the request target is one
// that net/http's server accepts and maps to itself, and it is a fixed
// point; a target already sendable is unchanged.
func FuzzRequestTarget(f *testing.F) {
	for _, s := range []string{"/", "/a b", "%", "/%4", "x", "http://h/p", "/\x00\xff", "/ok%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		target = traces.Target(target) // a trace target has no '?' or '#'
		rt := backend.RequestTarget(target)
		if _, err := url.ParseRequestURI(rt); err != nil {
			t.Fatalf("RequestTarget(%q) = %q: %v", target, rt, err)
		}
		if strings.ContainsAny(rt, " \t\r\n?#") || strings.ContainsFunc(rt, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			t.Fatalf("RequestTarget(%q) = %q holds a byte a request line cannot carry", target, rt)
		}
		if again := backend.RequestTarget(rt); again != rt {
			t.Fatalf("RequestTarget(%q) = %q, then %q", target, rt, again)
		}
		if strings.HasPrefix(target, "/") && !strings.ContainsFunc(target, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '%' }) && rt != target {
			t.Fatalf("RequestTarget(%q) = %q changed a sendable target", target, rt)
		}
	})
}

// Run stops gracefully when its context ends, and emulates a crash after
// failAfter, saying so.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failAfter time.Duration
		cancel    bool
		want      string
	}{
		{"signal", 0, true, ""},
		{"crash", 20 * time.Millisecond, false, "backend: emulated failure after 20ms: 0 requests served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.New(backend.Config{Workload: workload(10), TimeScale: fast})
			if err != nil {
				t.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- b.Run(ctx, l, tc.failAfter) }()
			if tc.cancel {
				cancel()
			}
			select {
			case err := <-done:
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)) {
					t.Errorf("Run: %v, want %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run does not return")
			}
			if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
				c.Close()
				t.Error("the listener is still open")
			}
		})
	}
}
