package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// A small HTTP/1.x client side: the load generator writes pre-built
// requests and reads responses with these functions, which do not
// allocate for a well-formed response.

// errBadResponse is wrapped by every error about a response that does not
// parse.
var errBadResponse = errors.New("bad response")

// response is what the load generator keeps of a response.
type response struct {
	status    int
	bytes     int64 // body bytes read
	hit       bool  // X-Lvslab-Cache: hit
	keepAlive bool  // the connection may carry another request
	started   bool  // at least one byte of the response arrived
}

// readResponse reads one response to a GET (HEAD if head) from br: the
// status line, the headers and the body, which is discarded. A body is
// delimited by Content-Length, chunked transfer coding or the end of the
// connection. Interim 1xx responses are skipped.
func readResponse(br *bufio.Reader, head bool) (response, error) {
	var r response
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			r.started = true
		}
		if err != nil {
			return r, lineErr(err, "status line")
		}
		proto, rest, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" "))
		if !ok || len(rest) < 3 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
			return r, fmt.Errorf("%w: status line %q", errBadResponse, truncate(line))
		}
		r.status = atoi3(rest[:3])
		if r.status < 100 {
			return r, fmt.Errorf("%w: status line %q", errBadResponse, truncate(line))
		}
		r.keepAlive = string(proto) == "HTTP/1.1"
		length, chunked, err := readHeaders(br, &r)
		if err != nil {
			return r, err
		}
		if r.status >= 100 && r.status < 200 && r.status != 101 {
			continue // interim response
		}
		switch {
		case head || r.status == 204 || r.status == 304:
			return r, nil
		case chunked:
			return r, readChunked(br, &r)
		case length >= 0:
			n, err := br.Discard(int(min(length, 1<<62)))
			r.bytes = int64(n)
			if err != nil {
				return r, bodyErr(err, r.bytes, length)
			}
			return r, nil
		default: // delimited by the end of the connection
			r.keepAlive = false
			n, err := io.Copy(io.Discard, br)
			r.bytes = n
			return r, err
		}
	}
}

// readHeaders reads header lines up to the empty line; it returns the
// Content-Length (-1: none) and whether the body is chunked.
func readHeaders(br *bufio.Reader, r *response) (length int64, chunked bool, err error) {
	length = -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return length, chunked, fmt.Errorf("%w: a header line longer than %d bytes", errBadResponse, br.Size())
			}
			return length, chunked, lineErr(err, "headers")
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return length, chunked, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return length, chunked, fmt.Errorf("%w: header line %q", errBadResponse, truncate(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return length, chunked, fmt.Errorf("%w: Content-Length %q", errBadResponse, truncate(value))
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				r.keepAlive = false
			} else if asciiEqualFold(value, "keep-alive") {
				r.keepAlive = true
			}
		case asciiEqualFold(name, "X-Lvslab-Cache"):
			r.hit = asciiEqualFold(value, "hit")
		}
	}
}

// readChunked discards a chunked body and its trailers.
func readChunked(br *bufio.Reader, r *response) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return lineErr(err, "chunk size")
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errBadResponse, truncate(line))
		}
		if size == 0 {
			var dummy response
			_, _, err := readHeaders(br, &dummy) // trailers
			return err
		}
		n, err := br.Discard(int(min(size, 1<<62)))
		r.bytes += int64(n)
		if err != nil {
			return bodyErr(err, int64(n), size)
		}
		if line, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(line, "\r\n")) != 0 {
			if err != nil {
				return lineErr(err, "chunk end")
			}
			return fmt.Errorf("%w: no CRLF after a chunk", errBadResponse)
		}
	}
}

// lineErr turns the error of reading a line: the end of the connection is
// io.ErrUnexpectedEOF (the response was cut short) unless nothing at all
// arrived, which stays io.EOF.
func lineErr(err error, what string) error {
	if errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("%w: %s longer than the read buffer", errBadResponse, what)
	}
	return err
}

func bodyErr(err error, got, want int64) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("body cut short after %d of %d bytes: %w", got, want, io.ErrUnexpectedEOF)
	}
	return err
}

func atoi3(b []byte) int {
	n := 0
	for _, c := range b[:3] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// asciiEqualFold reports whether b equals s ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// truncate shortens what an error quotes.
func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
