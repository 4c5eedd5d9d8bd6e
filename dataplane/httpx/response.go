package httpx

// Response is a parsed response head. Reason points into the buffer given
// to ParseResponse.
type Response struct {
	Minor  int // HTTP/1.Minor
	Status int
	Reason []byte

	// ContentLength is the Content-Length value, or -1 without one.
	ContentLength int64
	// Chunked: the last transfer coding is chunked. CloseDelimited: a
	// transfer coding other than chunked, so the body ends when the
	// connection closes.
	Chunked        bool
	CloseDelimited bool

	// Close: "Connection: close", or HTTP/1.0 without "Connection:
	// keep-alive". The server closes the connection after this response.
	Close bool

	Headers int
	Len     int // length of the head, final CRLF included
}

// BodyKind says how a response body is delimited.
type BodyKind int

const (
	NoBody      BodyKind = iota // 1xx, 204, 304, or the answer to HEAD
	LengthBody                  // Content-Length bytes (possibly 0)
	ChunkedBody                 // chunked transfer coding
	CloseBody                   // everything until the server closes
)

func (k BodyKind) String() string {
	switch k {
	case NoBody:
		return "none"
	case LengthBody:
		return "length"
	case ChunkedBody:
		return "chunked"
	case CloseBody:
		return "close"
	}
	return "unknown"
}

// Body returns how the body of r is delimited, for a request whose method
// was HEAD when head is true (RFC 9112 §6.3).
func (r *Response) Body(head bool) BodyKind {
	switch {
	case head || (r.Status >= 100 && r.Status < 200) || r.Status == 204 || r.Status == 304:
		return NoBody
	case r.Chunked:
		return ChunkedBody
	case r.CloseDelimited:
		return CloseBody
	case r.ContentLength >= 0:
		return LengthBody
	}
	return CloseBody
}

// Informational reports a 1xx interim response; another head follows it.
func (r *Response) Informational() bool { return r.Status >= 100 && r.Status < 200 }

// ParseResponse parses the response head at the start of buf into r, with
// the contract of ParseRequest: the head's length, 0 and nil when more
// input is needed, or an *Error (ErrStatusLine, or a header error; every
// error means the server's answer cannot be relayed: 502). A response with
// both Content-Length and Transfer-Encoding is framed by the transfer
// coding and marked Close, so the connection is not reused.
func ParseResponse(buf []byte, r *Response, lim Limits) (int, error) {
	lim = lim.WithDefaults()
	s := lineScanner{buf: buf, lim: lim}
	line, more, err := s.next(true, ErrStatusLine)
	if err == ErrLineEnding {
		err = ErrStatusLine
	}
	if err != nil || more {
		return 0, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || line[8] != ' ' {
		return 0, ErrStatusLine
	}
	minor, err := parseVersion(line[:8], ErrStatusLine)
	if err != nil {
		return 0, ErrStatusLine
	}
	d := line[9:12]
	if !isDigit(d[0]) || !isDigit(d[1]) || !isDigit(d[2]) || d[0] == '0' {
		return 0, ErrStatusLine
	}
	status := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	var reason []byte
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, ErrStatusLine
		}
		reason = line[13:]
		for _, c := range reason {
			if (c < 0x20 && c != '\t') || c == 0x7f {
				return 0, ErrStatusLine
			}
		}
	}
	var h head
	n, err := s.fields(&h, ErrResponseHeader)
	if err != nil || n == 0 {
		if err != nil && err != ErrHeadersTooLarge && err != ErrTooManyHeaders {
			err = ErrResponseHeader
		}
		return 0, err
	}
	*r = Response{
		Minor:          minor,
		Status:         status,
		Reason:         reason,
		ContentLength:  h.contentLength,
		Chunked:        h.chunked,
		CloseDelimited: h.teOther,
		Close:          h.closeConn || (minor == 0 && !h.keepAlive) || ((h.chunked || h.teOther) && h.contentLength >= 0),
		Headers:        h.headers,
		Len:            n,
	}
	return n, nil
}

// ErrResponseHeader is the error for a response header that does not parse.
var ErrResponseHeader = &Error{502, "malformed response header"}
