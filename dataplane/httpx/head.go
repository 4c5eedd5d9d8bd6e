package httpx

import (
	"bytes"
	"fmt"
)

// Limits bound what a parser accepts. The zero value of a field selects
// its default.
type Limits struct {
	// MaxLine is the longest request or status line in bytes, without its
	// CRLF. Default 8 KiB; a longer request line is ErrURITooLong (414).
	MaxLine int
	// MaxHeaderBytes bounds the whole head, start line and final empty line
	// included. Default 32 KiB; more is ErrHeadersTooLarge (431).
	MaxHeaderBytes int
	// MaxHeaders is the most header fields a head may carry. Default 100;
	// more is ErrTooManyHeaders (431).
	MaxHeaders int
}

// Default limits.
const (
	DefaultMaxLine        = 8 << 10
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxHeaders     = 100
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	return l
}

// Validate reports limits that cannot work together.
func (l Limits) Validate() error {
	l = l.WithDefaults()
	if l.MaxLine+2 > l.MaxHeaderBytes {
		return fmt.Errorf("httpx: the line limit (%d) must be below the header limit (%d)", l.MaxLine, l.MaxHeaderBytes)
	}
	return nil
}

// Error is a parse error and the HTTP status a server answers it with.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "httpx: " + e.Reason }

// Parse errors. Compare with errors.Is or ==; [Status] maps any of them to
// its response status.
var (
	ErrRequestLine      = &Error{400, "malformed request line"}
	ErrStatusLine       = &Error{502, "malformed status line"}
	ErrHeader           = &Error{400, "malformed header field"}
	ErrLineEnding       = &Error{400, "bare LF or CR in head"}
	ErrContentLength    = &Error{400, "invalid Content-Length"}
	ErrHost             = &Error{400, "more than one Host header"}
	ErrLengthAndChunked = &Error{400, "both Content-Length and Transfer-Encoding"}
	ErrTransferEncoding = &Error{501, "unsupported Transfer-Encoding"}
	ErrVersion          = &Error{505, "unsupported HTTP version"}
	ErrURITooLong       = &Error{414, "request line too long"}
	ErrHeadersTooLarge  = &Error{431, "header section too large"}
	ErrTooManyHeaders   = &Error{431, "too many header fields"}
	ErrChunk            = &Error{400, "malformed chunked body"}
)

// Status returns the HTTP status for err: the Status of an *Error, else 400.
func Status(err error) int {
	if e, ok := err.(*Error); ok {
		return e.Status
	}
	return 400
}

// head holds the fields requests and responses share.
type head struct {
	contentLength int64
	chunked       bool
	teOther       bool // a Transfer-Encoding whose last coding is not chunked
	closeConn     bool // Connection: close
	keepAlive     bool // Connection: keep-alive
	upgrade       bool // Connection: upgrade or an Upgrade field
	expect100     bool
	host          []byte
	hosts         int
	headers       int
}

// tchar reports whether c may appear in a token (RFC 9110 §5.6.2).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// lineScanner walks the CRLF-terminated lines of a head, enforcing the
// limits in an order that does not depend on how much of the input has
// arrived: a complete line is checked against the total, then the count,
// then its syntax; an incomplete tail only against the limits it already
// exceeds. So a prefix of an input either needs more bytes or fails with
// the same error as the whole input.
type lineScanner struct {
	buf []byte
	pos int
	lim Limits
}

// next returns the next line without its CRLF. more is true when the line
// is not complete yet. The first line (the start line) is checked against
// lineErr's limit.
func (s *lineScanner) next(first bool, lineErr error) (line []byte, more bool, err error) {
	rest := s.buf[s.pos:]
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		if first && len(rest) > s.lim.MaxLine+1 {
			return nil, false, lineErr
		}
		if len(s.buf) > s.lim.MaxHeaderBytes {
			return nil, false, ErrHeadersTooLarge
		}
		return nil, true, nil
	}
	end := s.pos + i + 1
	if first && i-1 > s.lim.MaxLine {
		return nil, false, lineErr
	}
	if end > s.lim.MaxHeaderBytes {
		return nil, false, ErrHeadersTooLarge
	}
	if i == 0 || rest[i-1] != '\r' {
		return nil, false, ErrLineEnding
	}
	line = rest[:i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, false, ErrLineEnding
	}
	s.pos = end
	return line, false, nil
}

// fields parses the header fields after the start line, up to and
// including the empty line. It returns the head's length, 0 if more input
// is needed.
func (s *lineScanner) fields(h *head, badHeader error) (int, error) {
	*h = head{contentLength: -1}
	for {
		line, more, err := s.next(false, nil)
		if err != nil || more {
			return 0, err
		}
		if len(line) == 0 {
			return s.pos, nil
		}
		h.headers++
		if h.headers > s.lim.MaxHeaders {
			return 0, ErrTooManyHeaders
		}
		if err := h.field(line, badHeader); err != nil {
			return 0, err
		}
	}
}

// equalFold reports whether b equals the lower-case ASCII word lower,
// ignoring case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// eachToken calls f with each comma-separated, trimmed, non-empty element.
func eachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		var t []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			t, v = v[:i], v[i+1:]
		} else {
			t, v = v, nil
		}
		if t = trimOWS(t); len(t) > 0 {
			f(t)
		}
	}
}

// maxContentLength bounds Content-Length so that offsets never overflow.
const maxContentLength = 1 << 62

// field parses one header line and records the fields a proxy needs.
func (h *head) field(line []byte, badHeader error) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return badHeader // also rejects obs-fold and space before the colon
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	for _, c := range value {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return badHeader
		}
	}
	switch len(name) {
	case 4:
		if equalFold(name, "host") {
			h.hosts++
			h.host = value
		}
	case 6:
		if equalFold(name, "expect") && equalFold(value, "100-continue") {
			h.expect100 = true
		}
	case 7:
		if equalFold(name, "upgrade") {
			h.upgrade = true
		}
	case 10:
		if equalFold(name, "connection") {
			eachToken(value, func(t []byte) {
				switch {
				case equalFold(t, "close"):
					h.closeConn = true
				case equalFold(t, "keep-alive"):
					h.keepAlive = true
				case equalFold(t, "upgrade"):
					h.upgrade = true
				}
			})
		}
	case 14:
		if equalFold(name, "content-length") {
			n, ok := parseLength(value)
			if !ok || (h.contentLength >= 0 && h.contentLength != n) {
				return ErrContentLength
			}
			h.contentLength = n
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			// Transfer codings accumulate over repeated fields; the body is
			// chunked when the last coding is.
			eachToken(value, func(t []byte) {
				h.chunked = equalFold(t, "chunked")
				h.teOther = !h.chunked
			})
			if len(value) == 0 {
				h.teOther, h.chunked = true, false
			}
		}
	}
	return nil
}

func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > maxContentLength {
			return 0, false
		}
	}
	return n, true
}

// parseVersion parses "HTTP/1.0" or "HTTP/1.1"; other well-formed
// versions are ErrVersion, anything else bad.
func parseVersion(v []byte, bad error) (minor int, err error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, bad
	}
	if v[5] != '1' || (v[7] != '0' && v[7] != '1') {
		return 0, ErrVersion
	}
	return int(v[7] - '0'), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
