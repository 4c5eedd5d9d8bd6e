package httpx

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"unsafe"
)

var requestSeeds = []string{
	"GET /a/b.html?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
	"PUT /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
	"GET / HTTP/1.1\n\n",
	"GET / HTTP/2.0\r\n\r\n",
}

// within reports whether sub is nil or lies inside buf.
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

func sameRequest(a, b *Request) bool {
	return string(a.Method) == string(b.Method) && string(a.Target) == string(b.Target) && a.Minor == b.Minor &&
		string(a.Host) == string(b.Host) && a.ContentLength == b.ContentLength && a.Chunked == b.Chunked &&
		a.Close == b.Close && a.Expect100 == b.Expect100 && a.Upgrade == b.Upgrade && a.Headers == b.Headers && a.Len == b.Len
}

// small limits make the limit paths reachable by the fuzzer.
var fuzzLimits = []Limits{{}, {MaxLine: 40, MaxHeaderBytes: 120, MaxHeaders: 3}}

func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in = in[:len(in):len(in)] // reading past len would panic
		for _, lim := range fuzzLimits {
			var full Request
			n, err := ParseRequest(in, &full, lim)
			if n < 0 || n > len(in) || (err != nil && n != 0) {
				t.Fatalf("n=%d err=%v for %d bytes", n, err, len(in))
			}
			if n > 0 && (!within(full.Method, in) || !within(full.Target, in) || !within(full.Host, in)) {
				t.Fatal("a field points outside the input")
			}
			// Every prefix needs more input or ends the same way.
			for k := 0; k <= len(in); k++ {
				var r Request
				m, perr := ParseRequest(in[:k], &r, lim)
				switch {
				case perr != nil:
					if perr != err {
						t.Fatalf("prefix %d: err %v, whole input: n=%d err %v", k, perr, n, err)
					}
				case m > 0:
					if m != n || !sameRequest(&r, &full) {
						t.Fatalf("prefix %d: n=%d %+v, whole input n=%d %+v", k, m, r, n, full)
					}
				case n > 0 && k >= n:
					t.Fatalf("prefix %d holds the whole head (%d) but was not parsed", k, n)
				}
			}
			if n > 0 && lim == (Limits{}) {
				differentialRequest(t, in, &full)
			}
		}
	})
}

// differentialRequest compares an accepted request with net/http's
// reading of it, when net/http accepts it too.
func differentialRequest(t *testing.T, in []byte, r *Request) {
	br := bufio.NewReader(bytes.NewReader(in))
	hr, err := http.ReadRequest(br)
	if err != nil {
		return // net/http is stricter about targets and hosts; compare valid inputs only
	}
	if hr.Method != string(r.Method) || hr.RequestURI != string(r.Target) || hr.ProtoMinor != r.Minor || hr.Close != r.Close {
		t.Fatalf("%q: net/http %s %q 1.%d close=%v; httpx %s %q 1.%d close=%v",
			in, hr.Method, hr.RequestURI, hr.ProtoMinor, hr.Close, r.Method, r.Target, r.Minor, r.Close)
	}
	chunked := len(hr.TransferEncoding) > 0
	if chunked != r.Chunked {
		t.Fatalf("%q: chunked %v, net/http %v", in, r.Chunked, chunked)
	}
	if !r.Chunked && r.ContentLength >= 0 && hr.ContentLength != r.ContentLength {
		t.Fatalf("%q: length %d, net/http %d", in, r.ContentLength, hr.ContentLength)
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 304 Not Modified\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200\r\nConnection: close\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		in = in[:len(in):len(in)]
		for _, lim := range fuzzLimits {
			var full Response
			n, err := ParseResponse(in, &full, lim)
			if n < 0 || n > len(in) || (err != nil && n != 0) {
				t.Fatalf("n=%d err=%v for %d bytes", n, err, len(in))
			}
			if n > 0 && !within(full.Reason, in) {
				t.Fatal("the reason points outside the input")
			}
			for k := 0; k <= len(in); k++ {
				var r Response
				m, perr := ParseResponse(in[:k], &r, lim)
				switch {
				case perr != nil:
					if perr != err {
						t.Fatalf("prefix %d: err %v, whole input: n=%d err %v", k, perr, n, err)
					}
				case m > 0:
					if m != n || r.Status != full.Status || r.Body(head) != full.Body(head) || r.Close != full.Close || r.ContentLength != full.ContentLength {
						t.Fatalf("prefix %d: %+v, whole input %+v", k, r, full)
					}
				case n > 0 && k >= n:
					t.Fatalf("prefix %d holds the whole head (%d) but was not parsed", k, n)
				}
			}
			if n > 0 && lim == (Limits{}) {
				method := "GET"
				if head {
					method = "HEAD"
				}
				hr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), &http.Request{Method: method})
				if err != nil {
					return
				}
				if hr.StatusCode != full.Status || hr.ProtoMinor != full.Minor {
					t.Fatalf("%q: net/http status %d 1.%d, httpx %d 1.%d", in, hr.StatusCode, hr.ProtoMinor, full.Status, full.Minor)
				}
				if full.Body(head) == LengthBody && hr.ContentLength != full.ContentLength {
					t.Fatalf("%q: length %d, net/http %d", in, full.ContentLength, hr.ContentLength)
				}
			}
		}
	})
}

func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"a;x=y\r\n0123456789\r\n0\r\nT: 1\r\n\r\nrest",
		"0\r\n\r\n",
		"1 \r\nx\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		in = in[:len(in):len(in)]
		var whole Chunked
		n, done, err := whole.Scan(in)
		if n < 0 || n > len(in) || (err != nil && n != 0) || (!done && err == nil && n != len(in)) {
			t.Fatalf("n=%d done=%v err=%v for %d bytes", n, done, err, len(in))
		}
		for k := 0; k <= len(in); k++ {
			var c Chunked
			n1, d1, e1 := c.Scan(in[:k])
			if e1 != nil {
				if err == nil {
					t.Fatalf("split %d: first part fails (%v), whole input does not", k, e1)
				}
				continue
			}
			total, d, e := n1, d1, error(nil)
			if !d1 {
				n2, d2, e2 := c.Scan(in[k:])
				total, d, e = n1+n2, d2, e2
			}
			if (e != nil) != (err != nil) || (err == nil && (total != n || d != done)) {
				t.Fatalf("split %d: n=%d done=%v err=%v; whole input n=%d done=%v err=%v", k, total, d, e, n, done, err)
			}
		}
		// A body the framer accepts is one net/http reads to the same end.
		if done {
			msg := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), in...)
			br := bufio.NewReader(bytes.NewReader(msg))
			hr, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, hr.Body); err != nil {
				return // net/http refuses some extensions and trailers the framer passes through
			}
			rest, _ := io.ReadAll(br)
			if got := len(in) - len(rest); got != n {
				t.Fatalf("%q: body ends at %d, net/http at %d", in, n, got)
			}
		}
	})
}
