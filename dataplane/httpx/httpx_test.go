package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("a", DefaultMaxLine)
	many := strings.Repeat("X-A: b\r\n", DefaultMaxHeaders+1)
	big := "X-Big: " + strings.Repeat("b", DefaultMaxHeaderBytes) + "\r\n"
	tests := []struct {
		name string
		in   string
		err  error
		want Request // compared field by field below; Len checked when err == nil
	}{
		{"get 1.1", "GET /a/b.html?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/a/b.html?x=1"), Minor: 1, Host: []byte("example.org"), ContentLength: -1, Headers: 1}},
		{"1.0 closes", "GET / HTTP/1.0\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/"), ContentLength: -1, Close: true}},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/"), ContentLength: -1, Headers: 1}},
		{"1.1 close", "GET / HTTP/1.1\r\nconnection: foo, CLOSE\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/"), Minor: 1, ContentLength: -1, Close: true, Headers: 1}},
		{"post length", "POST /f HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 12\r\n\r\n", nil,
			Request{Method: []byte("POST"), Target: []byte("/f"), Minor: 1, ContentLength: 12, Headers: 2}},
		{"chunked expect", "PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-Continue\r\n\r\n", nil,
			Request{Method: []byte("PUT"), Target: []byte("/f"), Minor: 1, ContentLength: -1, Chunked: true, Expect100: true, Headers: 2}},
		{"upgrade", "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/ws"), Minor: 1, ContentLength: -1, Upgrade: true, Headers: 2}},
		{"ows trimmed", "GET / HTTP/1.1\r\nHost:\t h \t\r\n\r\n", nil,
			Request{Method: []byte("GET"), Target: []byte("/"), Minor: 1, Host: []byte("h"), ContentLength: -1, Headers: 1}},
		{"incomplete line", "GET / HTTP/1.1", nil, Request{}},
		{"incomplete head", "GET / HTTP/1.1\r\nHost: a\r\n", nil, Request{}},
		{"no version", "GET /\r\n\r\n", ErrRequestLine, Request{}},
		{"two spaces", "GET  / HTTP/1.1\r\n\r\n", ErrRequestLine, Request{}},
		{"bad method", "G(T / HTTP/1.1\r\n\r\n", ErrRequestLine, Request{}},
		{"control in target", "GET /\x01 HTTP/1.1\r\n\r\n", ErrRequestLine, Request{}},
		{"garbage", "hello\r\n\r\n", ErrRequestLine, Request{}},
		{"empty first line", "\r\nGET / HTTP/1.1\r\n\r\n", ErrRequestLine, Request{}},
		{"version 2", "GET / HTTP/2.0\r\n\r\n", ErrVersion, Request{}},
		{"version 1.2", "GET / HTTP/1.2\r\n\r\n", ErrVersion, Request{}},
		{"version junk", "GET / HTTX/1.1\r\n\r\n", ErrRequestLine, Request{}},
		{"bare LF", "GET / HTTP/1.1\n\n", ErrLineEnding, Request{}},
		{"bare CR", "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", ErrLineEnding, Request{}},
		{"obs fold", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", ErrHeader, Request{}},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrHeader, Request{}},
		{"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", ErrHeader, Request{}},
		{"control in value", "GET / HTTP/1.1\r\nA: \x00\r\n\r\n", ErrHeader, Request{}},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrHost, Request{}},
		{"bad length", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", ErrContentLength, Request{}},
		{"negative length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ErrContentLength, Request{}},
		{"huge length", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", ErrContentLength, Request{}},
		{"conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ErrContentLength, Request{}},
		{"length and chunked", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", ErrLengthAndChunked, Request{}},
		{"gzip coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", ErrTransferEncoding, Request{}},
		{"chunked not last", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrTransferEncoding, Request{}},
		{"line too long", "GET /" + long + " HTTP/1.1\r\n\r\n", ErrURITooLong, Request{}},
		{"line too long, incomplete", "GET /" + long + long, ErrURITooLong, Request{}},
		{"too many headers", "GET / HTTP/1.1\r\n" + many + "\r\n", ErrTooManyHeaders, Request{}},
		{"head too large", "GET / HTTP/1.1\r\n" + big + "\r\n", ErrHeadersTooLarge, Request{}},
		{"head too large, incomplete", "GET / HTTP/1.1\r\n" + big, ErrHeadersTooLarge, Request{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(tc.in), &r, Limits{})
			if err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if tc.want.Method == nil {
				if n != 0 {
					t.Fatalf("incomplete input parsed: n=%d", n)
				}
				return
			}
			if n != len(tc.in) || r.Len != n {
				t.Errorf("n=%d Len=%d, want %d", n, r.Len, len(tc.in))
			}
			w := tc.want
			if string(r.Method) != string(w.Method) || string(r.Target) != string(w.Target) || r.Minor != w.Minor ||
				string(r.Host) != string(w.Host) || r.ContentLength != w.ContentLength || r.Chunked != w.Chunked ||
				r.Close != w.Close || r.Expect100 != w.Expect100 || r.Upgrade != w.Upgrade || r.Headers != w.Headers {
				t.Errorf("got %+v\nwant %+v", r, w)
			}
		})
	}
}

// The statuses a server answers the errors with.
func TestStatus(t *testing.T) {
	for err, want := range map[error]int{
		ErrRequestLine: 400, ErrURITooLong: 414, ErrHeadersTooLarge: 431, ErrTooManyHeaders: 431,
		ErrVersion: 505, ErrTransferEncoding: 501, errors.New("other"): 400,
	} {
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		head   bool // the request was HEAD
		err    error
		status int
		body   BodyKind
		length int64
		close  bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, nil, 200, LengthBody, 5, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, nil, 200, ChunkedBody, -1, false},
		{"gzip only: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, nil, 200, CloseBody, -1, false},
		{"until close", "HTTP/1.1 200 OK\r\n\r\n", false, nil, 200, CloseBody, -1, false},
		{"1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, nil, 200, LengthBody, 1, true},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", false, nil, 200, LengthBody, 1, false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false, nil, 200, LengthBody, 1, true},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false, nil, 200, ChunkedBody, 3, true},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", true, nil, 200, NoBody, 500, false},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", false, nil, 204, NoBody, -1, false},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, nil, 304, NoBody, 9, false},
		{"100", "HTTP/1.1 100 Continue\r\n\r\n", false, nil, 100, NoBody, -1, false},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false, nil, 404, LengthBody, 0, false},
		{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, nil, 404, LengthBody, 0, false},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", false, ErrStatusLine, 0, 0, 0, false},
		{"short status", "HTTP/1.1 20 OK\r\n\r\n", false, ErrStatusLine, 0, 0, 0, false},
		{"no space", "HTTP/1.1 200OK\r\n\r\n", false, ErrStatusLine, 0, 0, 0, false},
		{"version", "HTTP/2.0 200 OK\r\n\r\n", false, ErrStatusLine, 0, 0, 0, false},
		{"bare LF", "HTTP/1.1 200 OK\n\n", false, ErrStatusLine, 0, 0, 0, false},
		{"bad header", "HTTP/1.1 200 OK\r\nA b\r\n\r\n", false, ErrResponseHeader, 0, 0, 0, false},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, ErrResponseHeader, 0, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			n, err := ParseResponse([]byte(tc.in), &r, Limits{})
			if err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if n != len(tc.in) {
				t.Errorf("n=%d, want %d", n, len(tc.in))
			}
			if r.Status != tc.status || r.Body(tc.head) != tc.body || r.ContentLength != tc.length || r.Close != tc.close {
				t.Errorf("got status %d body %v length %d close %v, want %d %v %d %v",
					r.Status, r.Body(tc.head), r.ContentLength, r.Close, tc.status, tc.body, tc.length, tc.close)
			}
		})
	}
}

func TestChunked(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int // bytes of the body; -1: incomplete
		err  bool
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\nNEXT", 15, false},
		{"two chunks, hex", "a\r\n0123456789\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n", 41, false},
		{"trailer", "1\r\nx\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\nrest", 27, false},
		{"size whitespace", "1 ;e\r\nx\r\n0\r\n\r\n", 14, false},
		{"empty", "0\r\n\r\n", 5, false},
		{"incomplete data", "5\r\nhel", -1, false},
		{"incomplete trailer", "0\r\nX: 1\r\n", -1, false},
		{"no size", "\r\nx\r\n", 0, true},
		{"bad size", "g\r\n", 0, true},
		{"missing CRLF after data", "1\r\nxy\r\n", 0, true},
		{"bare LF after size", "1\nx\r\n", 0, true},
		{"size overflow", "1000000000000000\r\n", 0, true},
		{"bare LF in trailer", "0\r\nX\n\r\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Chunked
			n, done, err := c.Scan([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if tc.err {
				if _, _, err := c.Scan([]byte("0\r\n\r\n")); err == nil {
					t.Error("scanning after an error succeeded")
				}
				return
			}
			if tc.n < 0 {
				if done || n != len(tc.in) {
					t.Errorf("incomplete body: n=%d done=%v, want n=%d and not done", n, done, len(tc.in))
				}
				return
			}
			if !done || n != tc.n {
				t.Errorf("n=%d done=%v, want %d true", n, done, tc.n)
			}
			if n2, done2, err2 := c.Scan([]byte("more")); n2 != 0 || !done2 || err2 != nil {
				t.Errorf("after the end: %d %v %v", n2, done2, err2)
			}
		})
	}
}

// The parsers do not allocate.
func TestNoAllocs(t *testing.T) {
	req := []byte("GET /a/b.html?x=1 HTTP/1.1\r\nHost: example.org\r\nConnection: keep-alive\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nConnection: keep-alive\r\n\r\n")
	body := []byte("400\r\n" + strings.Repeat("x", 1024) + "\r\n0\r\n\r\n")
	var r Request
	var p Response
	var c Chunked
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = ParseRequest(req, &r, Limits{})
		_, _ = ParseResponse(resp, &p, Limits{})
		c.Reset()
		_, _, _ = c.Scan(body)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse, want 0", allocs)
	}
}

// Differential: on valid inputs, net/http reads the same fields.
func TestRequestMatchesNetHTTP(t *testing.T) {
	inputs := []string{
		"GET /a/b.html?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n",
		"GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\nHost: h\r\n\r\n",
		"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
		"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://example.org/abs?q HTTP/1.1\r\nHost: example.org\r\n\r\n",
	}
	for _, in := range inputs {
		checkRequestAgainstNetHTTP(t, []byte(in))
	}
}

// checkRequestAgainstNetHTTP compares ParseRequest with http.ReadRequest
// on an input that ParseRequest accepts and that net/http accepts too.
func checkRequestAgainstNetHTTP(t *testing.T, in []byte) {
	t.Helper()
	var r Request
	n, err := ParseRequest(in, &r, Limits{})
	if err != nil || n == 0 {
		t.Fatalf("%q: ParseRequest %d %v", in, n, err)
	}
	br := bufio.NewReader(bytes.NewReader(in))
	hr, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("%q: net/http rejects it: %v", in, err)
	}
	if hr.Method != string(r.Method) || hr.RequestURI != string(r.Target) || hr.ProtoMinor != r.Minor ||
		hr.Close != r.Close || (hr.Host != string(r.Host) && r.Host != nil) {
		t.Errorf("%q:\n net/http method %q uri %q minor %d close %v host %q\n httpx    method %q uri %q minor %d close %v host %q",
			in, hr.Method, hr.RequestURI, hr.ProtoMinor, hr.Close, hr.Host, r.Method, r.Target, r.Minor, r.Close, r.Host)
	}
	chunked := len(hr.TransferEncoding) > 0 && hr.TransferEncoding[0] == "chunked"
	if chunked != r.Chunked {
		t.Errorf("%q: chunked %v, net/http %v", in, r.Chunked, chunked)
	}
	// The body ends where net/http's reader stops.
	if _, err := io.Copy(io.Discard, hr.Body); err != nil {
		t.Fatalf("%q: net/http body: %v", in, err)
	}
	rest, _ := io.ReadAll(br)
	end := len(in) - len(rest)
	body := 0
	switch {
	case r.Chunked:
		var c Chunked
		m, done, err := c.Scan(in[n:])
		if err != nil || !done {
			t.Fatalf("%q: chunked body %d %v %v", in, m, done, err)
		}
		body = m
	case r.ContentLength > 0:
		body = int(r.ContentLength)
	}
	if n+body != end {
		t.Errorf("%q: message ends at %d, net/http at %d", in, n+body, end)
	}
}

func TestResponseMatchesNetHTTP(t *testing.T) {
	inputs := []struct {
		in   string
		head bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"HTTP/1.0 200 OK\r\n\r\nuntil close", false},
		{"HTTP/1.1 204 No Content\r\n\r\n", false},
		{"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true},
		{"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", false},
	}
	for _, tc := range inputs {
		checkResponseAgainstNetHTTP(t, []byte(tc.in), tc.head)
	}
}

func checkResponseAgainstNetHTTP(t *testing.T, in []byte, head bool) {
	t.Helper()
	var r Response
	n, err := ParseResponse(in, &r, Limits{})
	if err != nil || n == 0 {
		t.Fatalf("%q: ParseResponse %d %v", in, n, err)
	}
	method := "GET"
	if head {
		method = "HEAD"
	}
	br := bufio.NewReader(bytes.NewReader(in))
	hr, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: net/http rejects it: %v", in, err)
	}
	if hr.StatusCode != r.Status || hr.ProtoMinor != r.Minor || hr.Close != r.Close {
		t.Errorf("%q: net/http status %d minor %d close %v; httpx %d %d %v", in, hr.StatusCode, hr.ProtoMinor, hr.Close, r.Status, r.Minor, r.Close)
	}
	if _, err := io.Copy(io.Discard, hr.Body); err != nil {
		t.Fatalf("%q: net/http body: %v", in, err)
	}
	rest, _ := io.ReadAll(br)
	end := len(in) - len(rest)
	body := 0
	switch r.Body(head) {
	case ChunkedBody:
		var c Chunked
		m, done, err := c.Scan(in[n:])
		if err != nil || !done {
			t.Fatalf("%q: chunked body %d %v %v", in, m, done, err)
		}
		body = m
	case LengthBody:
		body = int(r.ContentLength)
	case CloseBody:
		body = len(in) - n
	}
	if n+body != end {
		t.Errorf("%q: message ends at %d, net/http at %d", in, n+body, end)
	}
}
