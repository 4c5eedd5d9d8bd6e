package load

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, in  string
		head      bool
		status    int
		bytes     int64
		hit, keep bool
		err       string // "" for none; else a substring
		rest      string // what is left for the next response
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Lvslab-Cache: hit\r\n\r\nabcNEXT", false, 200, 3, true, true, "", "NEXT"},
		{"header case", "HTTP/1.1 200 OK\r\ncontent-length:3\r\nx-lvslab-cache:  HIT \r\nconnection: Close\r\n\r\nabc", false, 200, 3, true, false, "", ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false, 200, 0, false, true, "", ""},
		{"HTTP/1.0", "HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nno", false, 404, 2, false, false, "", ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\nNEXT", false, 200, 10, false, true, "", "NEXT"},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nNEXT", true, 200, 0, false, true, "", "NEXT"},
		{"204", "HTTP/1.1 204 No Content\r\n\r\nNEXT", false, 204, 0, false, true, "", "NEXT"},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nabcdef", false, 200, 6, false, false, "", ""},
		{"no status code", "HTTP/1.1 OK\r\n\r\n", false, 0, 0, false, false, "bad response", ""},
		{"not HTTP", "220 smtp ready\r\n", false, 0, 0, false, false, "bad response", ""},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n", false, 200, 0, false, true, "bad response", ""},
		{"no colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", false, 200, 0, false, true, "bad response", ""},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, 0, false, true, "bad response", ""},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 200, 3, false, true, "cut short", ""},
		{"nothing", "", false, 0, 0, false, false, "EOF", ""},
		{"cut in headers", "HTTP/1.1 200 OK\r\nContent-Le", false, 200, 0, false, true, "EOF", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tc.in))
			r, err := readResponse(br, tc.head)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if r.status != tc.status || r.bytes != tc.bytes || r.hit != tc.hit || (err == nil && r.keepAlive != tc.keep) {
				t.Errorf("got %+v, want status %d, %d bytes, hit %v, keep-alive %v", r, tc.status, tc.bytes, tc.hit, tc.keep)
			}
			if rest, _ := io.ReadAll(br); err == nil && string(rest) != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
			if r.started != (tc.in != "") {
				t.Errorf("started = %v", r.started)
			}
		})
	}
}

// FuzzReadResponse: any input gives a response or an error, never a
// panic, and never more body bytes than the input holds.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
		"HTTP/1.0 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nabc",
		"HTTP/1.1 999 X\r\nContent-Length: 99999999999999999999\r\n\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		r, err := readResponse(bufio.NewReaderSize(bytes.NewReader(data), 64), head)
		if r.bytes < 0 || r.bytes > int64(len(data)) {
			t.Fatalf("%d body bytes from %d bytes of input", r.bytes, len(data))
		}
		if err == nil && (r.status < 100 || r.status > 999) {
			t.Fatalf("status %d without an error", r.status)
		}
		if err != nil && !errors.Is(err, errBadResponse) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("unexpected kind of error: %v", err)
		}
	})
}
