package l7

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/dataplane/httpx"
)

func TestDropClose(t *testing.T) {
	tests := []struct {
		name string
		head string
		drop string // the field line left out, "" for none
	}{
		{"plain", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "Connection: close\r\n"},
		{"first field", "GET / HTTP/1.1\r\nConnection: close\r\nHost: x\r\n\r\n", "Connection: close\r\n"},
		{"case and spaces", "GET / HTTP/1.1\r\nCONNECTION:\t Close \r\nHost: x\r\n\r\n", "CONNECTION:\t Close \r\n"},
		{"no space", "GET / HTTP/1.1\r\nconnection:close\r\n\r\n", "connection:close\r\n"},
		{"with another option", "GET / HTTP/1.1\r\nConnection: close, TE\r\nTE: trailers\r\n\r\n", ""},
		{"second Connection field", "GET / HTTP/1.1\r\nConnection: TE\r\nConnection: close\r\nTE: trailers\r\n\r\n", "Connection: close\r\n"},
		{"keep-alive", "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", ""},
		{"other field", "GET / HTTP/1.1\r\nX-Connection: close\r\nConnection-Close: close\r\n\r\n", ""},
		{"HTTP/1.0", "GET / HTTP/1.0\r\nConnection: close\r\n\r\n", ""},
		{"target looks like it", "GET /Connection:close HTTP/1.1\r\nHost: x\r\n\r\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte("junk" + tc.head + "next")
			var req httpx.Request
			if _, err := httpx.ParseRequest(buf[4:], &req, httpx.Limits{}); err != nil {
				t.Fatal(err)
			}
			from, to := dropClose(&req, buf, 4)
			if got := string(buf[from:to]); got != tc.drop {
				t.Errorf("dropped %q, want %q", got, tc.drop)
			}
		})
	}
}

// Whatever head the parser accepts, the forwarded head (the dropped field
// left out) parses again, to the same request but for the close option.
func FuzzDropClose(f *testing.F) {
	f.Add("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	f.Add("POST /a HTTP/1.1\r\nConnection: Close\r\nContent-Length: 3\r\n\r\nabc")
	f.Add("GET / HTTP/1.1\r\nConnection: close, upgrade\r\nUpgrade: x\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		var req httpx.Request
		buf := []byte(in)
		n, err := httpx.ParseRequest(buf, &req, httpx.Limits{})
		if err != nil || n == 0 {
			return
		}
		from, to := dropClose(&req, buf, 0)
		if to == 0 {
			return
		}
		if from <= 0 || to > n || !strings.HasSuffix(string(buf[from:to]), "\r\n") {
			t.Fatalf("dropped [%d,%d) of a %d-byte head", from, to, n)
		}
		fwd := append(append([]byte{}, buf[:from]...), buf[to:n]...)
		var again httpx.Request
		m, err := httpx.ParseRequest(fwd, &again, httpx.Limits{})
		if err != nil || m != len(fwd) {
			t.Fatalf("forwarded head %q: %d %v", fwd, m, err)
		}
		if again.Close || !bytes.Equal(again.Method, req.Method) || !bytes.Equal(again.Target, req.Target) ||
			again.Headers != req.Headers-1 || again.ContentLength != req.ContentLength || again.Chunked != req.Chunked {
			t.Fatalf("forwarded %+v, from %+v", again, req)
		}
	})
}
