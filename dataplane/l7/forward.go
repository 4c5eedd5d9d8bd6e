package l7

import (
	"bytes"

	"github.com/lvslab/lvslab/dataplane/httpx"
)

// Request heads are relayed byte for byte with one exception: the
// "Connection: close" field of an HTTP/1.1 request is left out. The
// option is hop-by-hop (RFC 9110 §7.6.1): it tells the switch to close the
// client connection after the response, which it does, and forwarded it
// would make the back end close its connection too, so that every request
// of a client that closes would cost a new back-end connection.

// closeLine is added to the response head when the client's
// "Connection: close" was left out and the back end's response does not
// say it closes: the client learns that the connection ends (RFC 9112
// §9.6), as it would from the back end.
var closeLine = []byte("Connection: close\r\n")

// dropClose returns the bounds [start, end) in buf of the field line to
// leave out of the request whose head starts at buf[r], or 0, 0.
func dropClose(req *httpx.Request, buf []byte, r int) (start, end int) {
	if !req.Close || req.Minor != 1 {
		return 0, 0 // HTTP/1.0 closes by default: the back end closes too
	}
	s, e, ok := closeField(buf[r : r+req.Len])
	if !ok {
		return 0, 0
	}
	return r + s, r + e
}

// closeField finds the field line (CRLF included) of a Connection field
// whose whole value is the close option, in a head ParseRequest accepted.
func closeField(head []byte) (start, end int, ok bool) {
	const name = "connection:"
	i := bytes.IndexByte(head, '\n') + 1 // past the request line
	for i < len(head) {
		j := bytes.IndexByte(head[i:], '\n')
		if j < 0 {
			break
		}
		line := head[i : i+j+1]
		if len(line) > len(name)+2 && foldPrefix(line, name) {
			if v := bytes.Trim(line[len(name):len(line)-2], " \t"); len(v) == 5 && foldPrefix(v, "close") {
				return i, i + j + 1, true
			}
		}
		i += j + 1
	}
	return 0, 0, false
}

// foldPrefix reports whether b starts with the lower-case ASCII prefix p,
// ignoring case.
func foldPrefix(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := range len(p) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
