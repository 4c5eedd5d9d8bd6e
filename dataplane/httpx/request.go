package httpx

import "bytes"

// Request is a parsed request head. Its byte slices point into the buffer
// given to ParseRequest and are valid while that buffer is.
type Request struct {
	Method []byte
	Target []byte // as sent: origin-form ("/a/b?c"), absolute-form, "*" or authority
	Minor  int    // HTTP/1.Minor: 0 or 1
	Host   []byte // the Host field's value, nil if absent

	// ContentLength is the body length from Content-Length, or -1 when the
	// request has none. A request with neither Content-Length nor chunked
	// Transfer-Encoding has no body.
	ContentLength int64
	Chunked       bool // Transfer-Encoding: chunked

	// Close is true when the connection ends after this exchange: HTTP/1.1
	// with "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
	Close     bool
	Expect100 bool // Expect: 100-continue
	Upgrade   bool // asks for a protocol upgrade (Upgrade field or Connection: upgrade)

	Headers int // number of header fields
	Len     int // length of the head, final CRLF included
}

// HasBody reports whether a body follows the head.
func (r *Request) HasBody() bool { return r.Chunked || r.ContentLength > 0 }

// Idempotent reports whether the method is idempotent (RFC 9110 §9.2.2),
// so that a request that got no response may be sent again.
func (r *Request) Idempotent() bool {
	switch string(r.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// IsHead reports whether the method is HEAD (its response has no body).
func (r *Request) IsHead() bool { return string(r.Method) == "HEAD" }

// ParseRequest parses the request head at the start of buf into r. It
// returns the head's length, or 0 and a nil error when buf holds only part
// of a head (read more and call again with the whole buffer), or an *Error.
// It never reads past buf, does not allocate, and gives the same result
// however the input was split across calls.
//
// Accepted: "METHOD SP target SP HTTP/1.x" CRLF, then header fields, then
// CRLF. Rejected: bare LF or CR, obsolete line folding, whitespace before a
// colon, control characters in a value, a bad or conflicting
// Content-Length, Content-Length with Transfer-Encoding, a transfer coding
// other than chunked (501), more than one Host field, HTTP versions other
// than 1.0 and 1.1 (505), limits exceeded (414, 431).
func ParseRequest(buf []byte, r *Request, lim Limits) (int, error) {
	lim = lim.WithDefaults()
	s := lineScanner{buf: buf, lim: lim}
	line, more, err := s.next(true, ErrURITooLong)
	if err != nil || more {
		return 0, err
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return 0, ErrRequestLine
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return 0, ErrRequestLine
	}
	sp2 += sp1 + 1
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	if !isToken(method) || len(target) == 0 {
		return 0, ErrRequestLine
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return 0, ErrRequestLine
		}
	}
	minor, err := parseVersion(version, ErrRequestLine)
	if err != nil {
		return 0, err
	}
	var h head
	n, err := s.fields(&h, ErrHeader)
	if err != nil || n == 0 {
		return 0, err
	}
	switch {
	case h.hosts > 1:
		return 0, ErrHost
	case h.teOther:
		return 0, ErrTransferEncoding
	case h.chunked && h.contentLength >= 0:
		return 0, ErrLengthAndChunked
	}
	*r = Request{
		Method:        method,
		Target:        target,
		Minor:         minor,
		Host:          h.host,
		ContentLength: h.contentLength,
		Chunked:       h.chunked,
		Close:         h.closeConn || (minor == 0 && !h.keepAlive),
		Expect100:     h.expect100,
		Upgrade:       h.upgrade,
		Headers:       h.headers,
		Len:           n,
	}
	return n, nil
}
