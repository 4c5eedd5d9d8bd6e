package l7

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/httpx"
	"github.com/lvslab/lvslab/internal/target"
)

// clientConn is one client connection, served by one goroutine: read a
// request, schedule it, relay it to a back end over a pooled keep-alive
// connection, relay the response, and go on with the next request, which
// may go to another back end. Pipelined requests wait in the buffer and
// are answered in order, one at a time.
type clientConn struct {
	s          *Switch
	c          net.Conn
	client     netip.Addr
	clientPort uint16

	buf  []byte
	r, w int // unread client bytes are buf[r:w]
	idle atomic.Bool
	cur  atomic.Pointer[backendConn] // the exchange's back-end connection, for Shutdown to cut

	req      httpx.Request
	areq     algorithms.Request
	ch       httpx.Chunked // the request body's framer
	bodyLeft int64         // Content-Length body bytes not yet sent to the back end
	dropFrom int           // buf[dropFrom:dropTo] is left out of the forwarded head (see dropClose)
	dropTo   int
	resp     httpx.Response
	rch      httpx.Chunked // the response body's framer
	served   int
}

// wakeIfIdle interrupts a read waiting for the next request (shutdown).
func (cc *clientConn) wakeIfIdle() {
	if cc.idle.Load() {
		cc.c.SetReadDeadline(time.Unix(1, 0))
	}
}

func (cc *clientConn) serve() {
	defer cc.s.forget(cc)
	cc.buf = getBuf(&bufPoolBig, bufSize(cc.s))
	defer func() { putBuf(&bufPoolBig, cc.buf) }()
	for cc.readHead() && cc.handle() {
		cc.served++
	}
	cc.c.Close()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// readHead reads until a complete request head is buffered. It returns
// false when the connection is done (closed, timed out or answered with an
// error status).
func (cc *clientConn) readHead() bool {
	s := cc.s
	deadline := time.Now().Add(s.cfg.ClientTimeout)
	deadlineSet := false
	for {
		if cc.r == cc.w {
			cc.r, cc.w = 0, 0
		} else {
			n, err := httpx.ParseRequest(cc.buf[cc.r:cc.w], &cc.req, s.cfg.Limits)
			if err != nil {
				cc.fail(requestEvent(err), httpx.Status(err))
				return false
			}
			if n > 0 {
				s.ev.add(Requests)
				return true
			}
		}
		if cc.w == len(cc.buf) {
			cc.w = copy(cc.buf, cc.buf[cc.r:cc.w])
			cc.r = 0
		}
		// The deadline is set before the idle flag, so that Shutdown's
		// wake-up (a deadline in the past) cannot be overwritten.
		if !deadlineSet {
			cc.c.SetReadDeadline(deadline)
			deadlineSet = true
		}
		idle := cc.r == cc.w
		if idle {
			cc.idle.Store(true)
			if s.closing.Load() {
				cc.idle.Store(false)
				return false
			}
		}
		m, err := cc.c.Read(cc.buf[cc.w:])
		cc.idle.Store(false)
		cc.w += m
		if m > 0 {
			continue
		}
		switch {
		case err == nil:
		case idle && (cc.served > 0 || s.closing.Load()):
			return false // an idle keep-alive connection, or shutdown
		case isTimeout(err):
			cc.fail(ClientTimeout, 408)
			return false
		default:
			if !idle {
				s.ev.add(ClientClosed)
			}
			return false
		}
	}
}

func requestEvent(err error) Event {
	switch httpx.Status(err) {
	case 414:
		return URITooLong
	case 431:
		return HeadersTooLarge
	case 501:
		return NotImplemented
	case 505:
		return VersionRejected
	}
	return BadRequest
}

// statusText holds the reason phrases of the statuses the switch sends.
var statusText = map[int]string{
	400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large",
	501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
	505: "HTTP Version Not Supported",
}

// canned are the complete error responses, built once.
var canned = func() map[int][]byte {
	m := map[int][]byte{}
	for code, text := range statusText {
		body := strconv.Itoa(code) + " " + text + "\n"
		m[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\nContent-Type: text/plain\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body)
	}
	return m
}()

// fail counts ev, answers the client with status and closes the
// connection gracefully: the write side first, then whatever the client
// still sends is drained for a moment, so that unread request bytes do not
// turn the close into a reset that would destroy the answer.
func (cc *clientConn) fail(ev Event, status int) {
	cc.s.ev.add(ev)
	cc.reply(status)
}

// reply answers with an error status and closes gracefully (see fail).
func (cc *clientConn) reply(status int) {
	cc.c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := cc.c.Write(canned[status]); err != nil {
		return
	}
	if tc, ok := cc.c.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		io.CopyN(io.Discard, tc, 256<<10)
	}
}

// outcome is how an exchange with a back end ended.
type outcome int

const (
	done       outcome = iota // response relayed; the client connection may go on
	closeAfter                // response relayed (or answered); close the client connection
	noResponse                // the back end failed before any response byte; nothing was sent to the client
)

// handle relays one buffered request and its response. It returns false
// when the client connection must close.
func (cc *clientConn) handle() bool {
	s, req := cc.s, &cc.req
	if string(req.Method) == "CONNECT" {
		cc.fail(NotImplemented, 501)
		return false
	}
	// The request is replayable when all of it is in the buffer.
	end, complete, err := cc.bufferedEnd()
	if err != nil {
		cc.fail(BadRequest, 400)
		return false
	}
	replay := complete && req.Idempotent()
	cc.dropFrom, cc.dropTo = dropClose(req, cc.buf, cc.r)

	cc.areq = s.schedRequest(req, cc.client, cc.clientPort)
	var lease dataplane.Lease
	defer func() { lease.Done() }()
	// retried: the request was scheduled again after a failure (once at
	// most); redial: the next attempt is a fresh connection to the same
	// lease, replacing a pooled one the back end had closed.
	retried, redial := false, false
	var bc *backendConn
	for {
		if redial {
			bc, err = cc.dial(&lease)
		} else {
			lease.Done()
			if lease, err = s.svc.Pick(&cc.areq); err != nil {
				cc.fail(NoServer, 503)
				return false
			}
			bc, err = cc.connect(&lease)
		}
		if err != nil {
			s.ev.add(ConnectFailed)
			lease.Failed()
			s.logf("l7: connect to %v: %v", lease.Addr, err)
			s.observe(lease.ID, err)
			if !retried {
				// Nothing was sent on this connection: any request may go
				// to another back end.
				retried, redial = true, false
				s.ev.add(Retried)
				continue
			}
			cc.reply(502) // counted above, once per attempt
			return false
		}
		switch cc.exchange(bc, &lease, end, complete) {
		case done:
			return true
		case closeAfter:
			return false
		}
		// noResponse: the back end closed or reset before answering.
		stale := bc.reused
		bc.close()
		if !stale {
			lease.Failed()
			s.observe(lease.ID, errNoResponse)
		}
		switch {
		case !replay:
		case stale:
			// A pooled connection the back end had closed: same server,
			// new connection. This is the keep-alive race, not a failure
			// of the server, and does not use up the request's retry.
			s.ev.add(Retried)
			redial = true
			continue
		case !retried:
			retried, redial = true, false
			s.ev.add(Retried)
			continue // schedule again: another back end may take it
		}
		cc.fail(BackendReset, 502)
		return false
	}
}

// bufferedEnd returns the end of the current request in the buffer and
// whether all of it is there.
func (cc *clientConn) bufferedEnd() (end int, complete bool, err error) {
	return bufferedEnd(&cc.req, &cc.ch, cc.buf, cc.r, cc.w)
}

// bufferedEnd returns the end of the request req, whose head starts at
// buf[r:w], and whether all of its body is in buf[:w]. A chunked body is
// scanned with ch, which is reset first and left where the buffered part
// ends.
func bufferedEnd(req *httpx.Request, ch *httpx.Chunked, buf []byte, r, w int) (end int, complete bool, err error) {
	start := r + req.Len
	switch {
	case req.Chunked:
		ch.Reset()
		n, done, err := ch.Scan(buf[start:w])
		if err != nil {
			return 0, false, err
		}
		return start + n, done, nil
	case req.ContentLength > 0:
		if avail := int64(w - start); avail < req.ContentLength {
			return w, false, nil
		}
		return start + int(req.ContentLength), true, nil
	}
	return start, true, nil
}

// schedRequest is what the scheduler sees of req: its locality key
// (interned), cost, client and content class.
func (s *Switch) schedRequest(req *httpx.Request, client netip.Addr, port uint16) algorithms.Request {
	tgt := req.Target
	ar := algorithms.Request{
		Key:        s.keys.get(target.Key(tgt)),
		Cost:       target.Cost(target.Dynamic(tgt, nil)),
		Client:     client,
		ClientPort: port,
	}
	if s.cfg.Rules != nil {
		ar.Class = s.cfg.Rules.Match(tgt).Class()
	}
	return ar
}

// connect returns a pooled connection to the lease's server, or a new one.
func (cc *clientConn) connect(l *dataplane.Lease) (*backendConn, error) {
	if bc := cc.s.pool(l.Addr).get(time.Now()); bc != nil {
		return bc, nil
	}
	return cc.dial(l)
}

func (cc *clientConn) dial(l *dataplane.Lease) (*backendConn, error) {
	d := net.Dialer{Timeout: cc.s.cfg.ConnectTimeout, KeepAlive: -1}
	c, err := d.DialContext(cc.s.cutCtx, "tcp", l.Addr.String())
	if err != nil {
		return nil, err
	}
	l.Connected()
	return &backendConn{c: c, buf: getBuf(&bufPoolBig, bufSize(cc.s)), unproven: true}, nil
}

// bufSize is the size of connection buffers: a whole head and a
// 16 KiB window of body (a 10 KB response is relayed in one write).
func bufSize(s *Switch) int { return s.cfg.Limits.MaxHeaderBytes + 16<<10 }

// exchange sends the request to bc and relays the response. end and
// complete come from bufferedEnd. On noResponse the client buffer is
// untouched, so the request can be sent again.
func (cc *clientConn) exchange(bc *backendConn, l *dataplane.Lease, end int, complete bool) outcome {
	s, req := cc.s, &cc.req
	// Send the head and what is buffered of the body; with Expect:
	// 100-continue and a body still to come, only the head.
	send := end
	pending := !complete // body bytes still to read from the client
	if pending {
		headEnd := cc.r + req.Len
		if req.Expect100 {
			send = headEnd
			cc.ch.Reset()
			cc.bodyLeft = req.ContentLength
		} else {
			cc.bodyLeft = req.ContentLength - int64(end-headEnd) // cc.ch has scanned the buffered part
		}
	}
	cc.cur.Store(bc)
	defer cc.cur.Store(nil)
	cc.backendDeadline(bc, false, time.Now().Add(s.cfg.BackendTimeout))
	var n int
	var err error
	if cc.dropTo > 0 {
		bufs := net.Buffers{cc.buf[cc.r:cc.dropFrom], cc.buf[cc.dropTo:send]}
		var m int64
		m, err = bufs.WriteTo(bc.c)
		n = int(m)
	} else {
		n, err = bc.c.Write(cc.buf[cc.r:send])
	}
	l.Transferred(0, n)
	if err != nil {
		if pending && n > 0 {
			return cc.abort(bc, l, false, BackendReset, 502)
		}
		return noResponse
	}
	if pending {
		cc.r = send
		if !req.Expect100 {
			if !cc.streamBody(bc, l) {
				return closeAfter
			}
			pending = false
		}
	}
	relayed := false // bytes of this exchange's response sent to the client
	for {
		o, ok := cc.readResponseHead(bc, l, relayed)
		if !ok {
			if o == noResponse && !complete {
				// Part of the body was read from the client and sent: the
				// request cannot be sent again.
				return cc.abort(bc, l, false, BackendReset, 502)
			}
			return o
		}
		if !cc.resp.Informational() {
			break
		}
		if cc.resp.Status == 101 {
			s.logf("l7: %v answered 101 Switching Protocols: upgrades are not relayed", l.Addr)
			return cc.abort(bc, l, relayed, BadResponse, 502)
		}
		// An interim response: relay it; 100 Continue releases the body.
		h := cc.resp.Len
		if !cc.toClient(bc.buf[bc.r : bc.r+h]) {
			bc.close()
			return closeAfter
		}
		relayed = true
		bc.r += h
		if cc.resp.Status == 100 && pending {
			if !cc.streamBody(bc, l) {
				return closeAfter
			}
			pending = false
		}
	}
	if complete {
		cc.r = end
	}
	return cc.relayResponse(bc, l, pending)
}

// abort ends an exchange that failed: the back-end connection is closed,
// the failure counted, and the client answered with status if nothing of
// the response was relayed yet, else its connection closed.
func (cc *clientConn) abort(bc *backendConn, l *dataplane.Lease, relayed bool, ev Event, status int) outcome {
	bc.close()
	l.Failed()
	if relayed {
		cc.s.ev.add(ResetAfterHead)
		return closeAfter
	}
	cc.fail(ev, status)
	return closeAfter
}

// streamBody sends the part of the request body that was not buffered
// when the request was sent, reading it from the client. On failure it
// answers or closes and returns false.
func (cc *clientConn) streamBody(bc *backendConn, l *dataplane.Lease) bool {
	s, req := cc.s, &cc.req
	for {
		if req.Chunked || cc.bodyLeft > 0 {
			if cc.r < cc.w {
				var k int
				var finished bool
				if req.Chunked {
					n, d, err := cc.ch.Scan(cc.buf[cc.r:cc.w])
					if err != nil {
						bc.close()
						l.Failed()
						cc.fail(BadRequest, 400)
						return false
					}
					k, finished = n, d
				} else {
					k = int(min(int64(cc.w-cc.r), cc.bodyLeft))
					cc.bodyLeft -= int64(k)
					finished = cc.bodyLeft == 0
				}
				if k > 0 {
					cc.backendDeadline(bc, false, time.Now().Add(s.cfg.BackendTimeout))
					n, err := bc.c.Write(cc.buf[cc.r : cc.r+k])
					l.Transferred(0, n)
					if err != nil {
						cc.abort(bc, l, false, BackendReset, 502)
						return false
					}
					cc.r += k
				}
				if finished {
					return true
				}
			}
		} else if !req.Chunked {
			return true
		}
		if cc.r == cc.w {
			cc.r, cc.w = 0, 0
		}
		cc.c.SetReadDeadline(time.Now().Add(s.cfg.ClientTimeout))
		m, err := cc.c.Read(cc.buf[cc.w:])
		cc.w += m
		if m == 0 && err != nil {
			bc.close()
			l.Failed()
			if isTimeout(err) {
				cc.fail(ClientTimeout, 408)
			} else {
				s.ev.add(ClientClosed)
			}
			return false
		}
	}
}

// readResponseHead reads until a complete response head is buffered in
// bc. ok is false when the exchange ended: with noResponse when the back
// end closed before sending anything (and nothing was relayed), else
// closeAfter once the client was answered or its connection condemned.
func (cc *clientConn) readResponseHead(bc *backendConn, l *dataplane.Lease, relayed bool) (outcome, bool) {
	s := cc.s
	cc.backendDeadline(bc, true, time.Now().Add(s.cfg.BackendTimeout))
	for {
		if bc.r == bc.w {
			bc.r, bc.w = 0, 0
		} else {
			n, err := httpx.ParseResponse(bc.buf[bc.r:bc.w], &cc.resp, s.cfg.Limits)
			if err != nil {
				s.logf("l7: response from %v: %v", l.Addr, err)
				return cc.abort(bc, l, relayed, BadResponse, 502), false
			}
			if n > 0 {
				if bc.unproven {
					bc.unproven = false
					s.observe(l.ID, nil)
				}
				return done, true
			}
			if bc.w == len(bc.buf) {
				bc.w = copy(bc.buf, bc.buf[bc.r:bc.w])
				bc.r = 0
			}
		}
		m, err := bc.c.Read(bc.buf[bc.w:])
		bc.w += m
		l.Transferred(m, 0)
		if m > 0 {
			continue
		}
		switch {
		case err == nil:
		case isTimeout(err) && s.cut.Load():
			bc.close() // Shutdown gave up
			return closeAfter, false
		case isTimeout(err):
			s.logf("l7: %v sent no response in %v", l.Addr, s.cfg.BackendTimeout)
			return cc.abort(bc, l, relayed, BackendTimeout, 504), false
		case !relayed && bc.r == bc.w:
			return noResponse, false
		default:
			return cc.abort(bc, l, relayed, BackendReset, 502), false
		}
	}
}

// backendDeadline sets bc's read or write deadline, unless Shutdown gave
// up on the exchanges in flight: then any wait on bc ends now. (Shutdown
// sets s.cut before it cuts, so whichever of the two deadlines comes
// last, the wait ends.)
func (cc *clientConn) backendDeadline(bc *backendConn, read bool, t time.Time) {
	if read {
		bc.c.SetReadDeadline(t)
	} else {
		bc.c.SetWriteDeadline(t)
	}
	if cc.s.cut.Load() {
		bc.c.SetDeadline(time.Unix(1, 0))
	}
}

// toClient writes p to the client.
func (cc *clientConn) toClient(p []byte) bool {
	cc.c.SetWriteDeadline(time.Now().Add(cc.s.cfg.ClientTimeout))
	if _, err := cc.c.Write(p); err != nil {
		cc.s.ev.add(ClientWriteError)
		return false
	}
	return true
}

// toClientv writes bufs to the client.
func (cc *clientConn) toClientv(bufs net.Buffers) bool {
	cc.c.SetWriteDeadline(time.Now().Add(cc.s.cfg.ClientTimeout))
	if _, err := bufs.WriteTo(cc.c); err != nil {
		cc.s.ev.add(ClientWriteError)
		return false
	}
	return true
}

// relayResponse relays the parsed response head in bc and its body.
// pending is true when the request body was never sent (the back end
// answered before 100 Continue): the client connection then closes.
func (cc *clientConn) relayResponse(bc *backendConn, l *dataplane.Lease, pending bool) outcome {
	s, req, resp := cc.s, &cc.req, &cc.resp
	kind := resp.Body(req.IsHead())
	start := bc.r
	bc.r += resp.Len
	var left int64
	switch kind {
	case httpx.LengthBody:
		left = resp.ContentLength
	case httpx.ChunkedBody:
		cc.rch.Reset()
	}
	finished := kind == httpx.NoBody
	insertAt := 0
	if cc.dropTo > 0 && !resp.Close {
		insertAt = bc.r - 2 // the client asked to close: say so (see closeLine)
	}
	for {
		// Take the body bytes buffered at bc.buf[bc.r:bc.w].
		switch kind {
		case httpx.LengthBody:
			k := min(int64(bc.w-bc.r), left)
			bc.r += int(k)
			left -= k
			finished = left == 0
		case httpx.ChunkedBody:
			n, d, err := cc.rch.Scan(bc.buf[bc.r:bc.w])
			if err != nil {
				s.logf("l7: response body from %v: %v", l.Addr, err)
				bc.close()
				l.Failed()
				s.ev.add(BadResponse)
				return closeAfter
			}
			bc.r += n
			finished = d
		case httpx.CloseBody:
			bc.r = bc.w
		}
		if bc.r > start {
			var ok bool
			if insertAt > 0 {
				ok = cc.toClientv(net.Buffers{bc.buf[start:insertAt], closeLine, bc.buf[insertAt:bc.r]})
				insertAt = 0
			} else {
				ok = cc.toClient(bc.buf[start:bc.r])
			}
			if !ok {
				bc.close()
				return closeAfter
			}
		}
		if finished {
			break
		}
		bc.r, bc.w = 0, 0
		start = 0
		cc.backendDeadline(bc, true, time.Now().Add(s.cfg.BackendTimeout))
		m, err := bc.c.Read(bc.buf)
		bc.w = m
		l.Transferred(m, 0)
		if m == 0 && err != nil {
			if kind == httpx.CloseBody && !isTimeout(err) {
				break // the body ends where the connection does
			}
			if s.cut.Load() {
				bc.close() // Shutdown gave up
				return closeAfter
			}
			bc.close()
			l.Failed()
			if isTimeout(err) {
				s.ev.add(BackendTimeout)
			}
			s.ev.add(ResetAfterHead)
			s.logf("l7: %v failed in the middle of a response: %v", l.Addr, err)
			return closeAfter
		}
	}
	s.ev.add(Responses)
	backendTold := req.Close && cc.dropTo == 0 // the back end was asked to close
	keepBackend := kind != httpx.CloseBody && !resp.Close && !backendTold && !pending && bc.r == bc.w
	if keepBackend {
		s.pool(l.Addr).put(bc, time.Now())
	} else {
		bc.close()
	}
	if req.Close || resp.Close || kind == httpx.CloseBody || pending {
		return closeAfter
	}
	return done
}
