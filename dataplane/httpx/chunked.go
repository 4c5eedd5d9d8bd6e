package httpx

// Chunked finds the end of a chunked body (RFC 9112 §7.1) incrementally,
// without decoding it: feed it the body's bytes as they arrive and it says
// how many belong to the body and when the body (last chunk and trailer
// section included) is complete. The zero value is ready for a new body.
type Chunked struct {
	state   uint8
	digits  int   // hex digits of the current size
	size    int64 // bytes left in the current chunk's data
	line    int   // bytes of the current size or trailer line
	trailer int   // bytes of the trailer section
}

// Limits of the chunked framer.
const (
	maxChunkLine    = 4 << 10  // a chunk-size line with its extensions
	maxTrailerBytes = 32 << 10 // the trailer section
	maxChunkDigits  = 15       // a chunk size below 2^60
)

const (
	chSize        uint8 = iota // chunk-size hex digits
	chSizeWS                   // whitespace after the size
	chExt                      // chunk extensions, until CR
	chSizeLF                   // LF after the size line
	chData                     // chunk data
	chDataCR                   // CR after the data
	chDataLF                   // LF after the data
	chTrailer                  // start of a trailer line (or the final CRLF)
	chTrailerLine              // inside a trailer field line
	chTrailerLF                // LF after a trailer line
	chEndLF                    // LF of the final CRLF
	chDone                     // the body is complete
	chFailed                   // a framing error was found
)

// Reset prepares c for a new body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Done reports whether the whole body has been seen.
func (c *Chunked) Done() bool { return c.state == chDone }

// Scan consumes the body bytes at the start of p. It returns how many
// bytes of p belong to the body (all of p unless the body ends inside it),
// whether the body is now complete, and ErrChunk for a framing error
// (after which every call fails). Scan never reads past p, and splitting
// the input differently gives the same results.
func (c *Chunked) Scan(p []byte) (n int, done bool, err error) {
	for n < len(p) {
		b := p[n]
		switch c.state {
		case chSize:
			if d, ok := unhex(b); ok {
				c.digits++
				if c.digits > maxChunkDigits {
					return c.fail()
				}
				c.size = c.size<<4 | int64(d)
				break
			}
			if c.digits == 0 {
				return c.fail()
			}
			switch b {
			case ' ', '\t':
				c.state = chSizeWS
			case ';':
				c.state = chExt
			case '\r':
				c.state = chSizeLF
			default:
				return c.fail()
			}
		case chSizeWS:
			switch b {
			case ' ', '\t':
			case ';':
				c.state = chExt
			case '\r':
				c.state = chSizeLF
			default:
				return c.fail()
			}
		case chExt:
			switch {
			case b == '\r':
				c.state = chSizeLF
			case b == '\n' || (b < 0x20 && b != '\t') || b == 0x7f:
				return c.fail()
			}
		case chSizeLF:
			if b != '\n' {
				return c.fail()
			}
			c.digits, c.line = 0, 0
			if c.size == 0 {
				c.state = chTrailer
			} else {
				c.state = chData
			}
		case chData:
			k := int64(len(p) - n)
			if k > c.size {
				k = c.size
			}
			n += int(k)
			c.size -= k
			if c.size == 0 {
				c.state = chDataCR
			}
			continue
		case chDataCR:
			if b != '\r' {
				return c.fail()
			}
			c.state = chDataLF
		case chDataLF:
			if b != '\n' {
				return c.fail()
			}
			c.state = chSize
		case chTrailer:
			switch b {
			case '\r':
				c.state = chEndLF
			case '\n':
				return c.fail()
			default:
				c.state = chTrailerLine
			}
		case chTrailerLine:
			switch {
			case b == '\r':
				c.state = chTrailerLF
			case b == '\n' || (b < 0x20 && b != '\t') || b == 0x7f:
				return c.fail()
			}
		case chTrailerLF:
			if b != '\n' {
				return c.fail()
			}
			c.state = chTrailer
		case chEndLF:
			if b != '\n' {
				return c.fail()
			}
			c.state = chDone
			return n + 1, true, nil
		case chDone:
			return 0, true, nil
		case chFailed:
			return c.fail()
		}
		if c.state == chSize || c.state == chSizeWS || c.state == chExt || c.state == chSizeLF {
			c.line++
			if c.line > maxChunkLine {
				return c.fail()
			}
		}
		if c.state >= chTrailer && c.state <= chEndLF {
			c.trailer++
			if c.trailer > maxTrailerBytes {
				return c.fail()
			}
		}
		n++
	}
	if c.state == chFailed {
		return c.fail()
	}
	return n, c.state == chDone, nil
}

func (c *Chunked) fail() (int, bool, error) {
	c.state = chFailed
	return 0, false, ErrChunk
}

func unhex(b byte) (byte, bool) {
	switch {
	case '0' <= b && b <= '9':
		return b - '0', true
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10, true
	case 'A' <= b && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}
