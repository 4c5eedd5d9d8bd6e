// Package httpx parses HTTP/1.x for a proxy, without allocating: request
// and response heads ([ParseRequest], [ParseResponse]) and the end of a
// chunked body ([Chunked]). Parsed fields are slices of the caller's
// buffer; a parser is called again with the whole buffer when more bytes
// arrive, and answers the same however the input was split.
//
// It reads what a relay needs to frame messages and pick a back end:
// method, target, version, Host, Connection, Content-Length,
// Transfer-Encoding, Expect. Everything else is passed through untouched.
// It is strict where lenient parsing lets a front end and a back end
// disagree about where a message ends (request smuggling): CRLF line
// endings only, no obsolete line folding, one Content-Length value, never
// Content-Length together with Transfer-Encoding in a request.
//
//	var req httpx.Request
//	n, err := httpx.ParseRequest(buf, &req, httpx.Limits{})
//	switch {
//	case err != nil:  // answer httpx.Status(err): 400, 414, 431, 501 or 505
//	case n == 0:      // incomplete: read more
//	default:          // buf[:n] is the head; a body follows if req.HasBody()
//	}
//
// [Key] and [Cost] turn a target into the scheduler's locality key and
// cost (thesis §6.3.5), as the simulator does.
package httpx
