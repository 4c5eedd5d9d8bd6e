package l7

import (
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/httpx"
)

// econn is a client connection of the epoll engine: the goroutine engine's
// clientConn as a state machine. advance runs it until it must wait for a
// socket (or is closed); the loop calls advance again when that socket is
// ready, and timeout when the wait's timer fires. The behaviour (statuses,
// counters, retries, leases) is the goroutine engine's, step for step.
type econn struct {
	l          *loop
	sk         sock
	tm         timer[*econn]
	client     netip.Addr
	clientPort uint16

	state    uint8
	waitFor  uint8 // what the connection waits for (wClientIn...)
	timerSet bool  // the wait's timer is set for the current state

	buf  []byte
	r, w int // unread client bytes are buf[r:w]

	// out[outFirst:outEnd] is what remains to be written to the client
	// before the state machine goes on; outMore sends it with MSG_MORE
	// (the connection closes right after, so the last bytes leave with
	// the FIN).
	out      [3][]byte
	outFirst int
	outEnd   int
	outMore  bool

	served   int
	req      httpx.Request
	areq     algorithms.Request
	ch       httpx.Chunked
	resp     httpx.Response
	rch      httpx.Chunked
	bodyLeft int64

	// The exchange in progress.
	lease    dataplane.Lease
	bc       *bconn
	end      int  // end of the request in buf
	complete bool // all of the request is buffered
	replay   bool // it can be sent again
	retried  bool // the request was scheduled again after a failure (once at most)
	redial   bool // bc is a fresh connection replacing a stale pooled one, same lease
	pending  bool // request body bytes still to read from the client
	relayed  bool // response bytes of this exchange were sent to the client
	send     int  // the request is sent up to buf[send]
	sent     int  // bytes of buf[r:send] sent (those of the dropped field not counted)
	dropFrom int  // buf[dropFrom:dropTo] is left out of the forwarded head (see dropClose)
	dropTo   int
	bodyOut  int  // request body bytes at buf[r:] scanned and not yet sent
	bodyDone bool // the request body was scanned to its end
	kind     httpx.BodyKind
	left     int64 // response Content-Length bytes not yet read
	start    int   // response bytes from bc.buf[start:bc.r] are still to be sent
	finished bool  // the response body was read to its end
	drain    int   // bytes still drained after an error status
	insertAt int   // if > 0, closeLine goes before bc.buf[insertAt] (the response head's final CRLF)

	iov [3]unix.Iovec
	msg unix.Msghdr
}

// States.
const (
	sHead     uint8 = iota // reading a request head
	sConnect               // connecting to a back end
	sSend                  // sending the request head and its buffered body
	sBody                  // sending the rest of the request body
	sRespHead              // reading a response head
	sRespBody              // relaying the response body
	sReply                 // writing an error status
	sDrain                 // draining what the client still sends after it
	sClosed
)

// What a connection waits for.
const (
	wClientIn uint8 = iota
	wClientOut
	wBackendIn
	wBackendOut
)

// readClient reads what the client socket has into c.buf[c.w:] and
// reports whether the caller should go on (bytes read, or the socket
// found not readable, or an interrupted read); false means end of stream
// or an error.
func (c *econn) readClient() bool {
	space := c.buf[c.w:]
	m, errno := readFd(c.sk.fd, space)
	switch {
	case m > 0:
		c.w += m
		c.sk.readable = m == len(space)
		return true
	case errno == unix.EAGAIN:
		c.sk.readable = false
		return true
	}
	return errno == unix.EINTR
}

func (c *econn) reset() {
	buf := c.buf
	l, tm, sk := c.l, c.tm, c.sk
	*c = econn{l: l, tm: tm, sk: sk, buf: buf}
}

func (c *econn) setState(st uint8) {
	c.state = st
	c.timerSet = false
}

// waiting reports whether an event on sk (readable as recorded in sk,
// writable as given) is what c waits for.
func (c *econn) waiting(sk *sock, writable bool) bool {
	switch c.waitFor {
	case wClientIn:
		return sk == &c.sk && sk.readable
	case wClientOut:
		return sk == &c.sk && writable
	case wBackendIn:
		return c.bc != nil && sk == &c.bc.sk && sk.readable
	case wBackendOut:
		return c.bc != nil && sk == &c.bc.sk && writable
	}
	return false
}

// wait registers interest in what c waits for and sets its timer: anew
// when rearm is set or the queue changes, else only on the state's first
// wait (a deadline from the first wait, as for a request head).
func (c *econn) wait(what uint8, q int, rearm bool) {
	l := c.l
	c.waitFor = what
	switch what {
	case wClientIn:
		l.interest(&c.sk, c.sk.reg|unix.EPOLLIN)
	case wClientOut:
		l.interest(&c.sk, c.sk.reg|unix.EPOLLOUT)
	case wBackendIn:
		l.interest(&c.bc.sk, c.bc.sk.reg|unix.EPOLLIN)
	case wBackendOut:
		l.interest(&c.bc.sk, c.bc.sk.reg|unix.EPOLLOUT)
	}
	if rearm || !c.timerSet || c.tm.q != &l.q[q] {
		l.q[q].arm(&c.tm, l.now)
		c.timerSet = true
	}
}

// wrote drops the write interest on sk once a write completed.
func (c *econn) wrote(sk *sock) {
	if sk.reg&unix.EPOLLOUT != 0 {
		c.l.interest(sk, sk.reg&^unix.EPOLLOUT)
	}
}

// advance runs the connection until it waits or is closed. Each step
// returns true to go on.
func (c *econn) advance() {
	for {
		if c.outFirst < c.outEnd && !c.flush() {
			return
		}
		var more bool
		switch c.state {
		case sHead:
			more = c.readHead()
		case sConnect:
			more = c.connected()
		case sSend:
			more = c.sendRequest()
		case sBody:
			more = c.streamBody()
		case sRespHead:
			more = c.readResponseHead()
		case sRespBody:
			more = c.relayBody()
		case sReply:
			more = c.replied()
		case sDrain:
			more = c.drainClient()
		default:
			return
		}
		if !more {
			return
		}
	}
}

// setOut queues p for the client.
func (c *econn) setOut(p []byte, more bool) {
	c.out[0] = p
	c.outFirst, c.outEnd, c.outMore = 0, 1, more
}

// flush writes what is queued to the client.
func (c *econn) flush() bool {
	for c.outFirst < c.outEnd {
		flags := 0
		if c.outMore {
			flags = unix.MSG_MORE
		}
		var n int
		var errno syscall.Errno
		if c.outEnd-c.outFirst == 1 {
			n, errno = sendFd(c.sk.fd, c.out[c.outFirst], flags)
		} else {
			n, errno = c.sendv(c.sk.fd, c.out[c.outFirst:c.outEnd], flags)
		}
		if n > 0 {
			for n > 0 {
				if p := c.out[c.outFirst]; n < len(p) {
					c.out[c.outFirst] = p[n:]
					break
				} else {
					n -= len(p)
					c.out[c.outFirst] = nil
					c.outFirst++
				}
			}
			continue
		}
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.wait(wClientOut, c.writeQueue(), false)
			return false
		}
		c.writeFailed()
		return false
	}
	c.wrote(&c.sk)
	c.timerSet = false
	return true
}

func (c *econn) writeQueue() int {
	if c.state == sReply {
		return qReply
	}
	return qClient
}

// writeFailed ends the connection after a failed write to the client.
func (c *econn) writeFailed() {
	if c.state != sReply {
		c.l.s.ev.add(ClientWriteError)
	}
	c.close()
}

// close closes the connection, its back-end connection and its lease.
func (c *econn) close() {
	if c.state == sClosed {
		return
	}
	l := c.l
	if c.bc != nil {
		c.bc.close(l)
		c.bc = nil
	}
	c.lease.Done()
	c.tm.stop()
	l.release(&c.sk)
	c.state = sClosed
	c.out = [3][]byte{}
	c.outFirst, c.outEnd = 0, 0
	l.conns--
	l.s.open.Add(-1)
	if len(l.free) < maxFree {
		l.free = append(l.free, c)
	}
}

// readHead reads until a complete request head is buffered.
func (c *econn) readHead() bool {
	s := c.l.s
	for {
		if c.r == c.w {
			c.r, c.w = 0, 0
		} else {
			n, err := httpx.ParseRequest(c.buf[c.r:c.w], &c.req, s.cfg.Limits)
			if err != nil {
				c.fail(requestEvent(err), httpx.Status(err))
				return true
			}
			if n > 0 {
				s.ev.add(Requests)
				return c.startRequest()
			}
		}
		if c.w == len(c.buf) {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		}
		idle := c.r == c.w
		if idle && s.closing.Load() {
			c.close()
			return false
		}
		if !c.sk.readable {
			c.wait(wClientIn, qClient, false)
			return false
		}
		if c.readClient() {
			continue
		}
		// End of stream or an error.
		if !idle {
			s.ev.add(ClientClosed)
		}
		c.close()
		return false
	}
}

// timeout handles the expiry of the connection's timer.
func (c *econn) timeout() {
	s := c.l.s
	var more bool
	switch {
	case c.state == sHead:
		if c.r == c.w && (c.served > 0 || s.closing.Load()) {
			c.close() // an idle keep-alive connection, or shutdown
			return
		}
		c.fail(ClientTimeout, 408)
		more = true
	case c.state == sReply || c.state == sDrain:
		c.close()
		return
	case c.waitFor == wClientOut:
		c.writeFailed()
		return
	case c.state == sConnect:
		b := c.bc
		c.bc = nil
		b.close(c.l)
		more = c.connectFailed(errConnectTimeout)
	case c.state == sSend:
		more = c.sendFailed()
	case c.state == sBody && c.waitFor == wClientIn:
		c.dropBackend(true)
		c.fail(ClientTimeout, 408)
		more = true
	case c.state == sBody:
		more = c.abort(false, BackendReset, 502)
	case c.state == sRespHead:
		s.logf("l7: %v sent no response in %v", c.lease.Addr, s.cfg.BackendTimeout)
		more = c.abort(c.relayed, BackendTimeout, 504)
	case c.state == sRespBody:
		c.dropBackend(true)
		s.ev.add(BackendTimeout)
		s.ev.add(ResetAfterHead)
		s.logf("l7: %v failed in the middle of a response: timeout", c.lease.Addr)
		c.close()
		return
	}
	if more {
		c.advance()
	}
}

// dropBackend closes the exchange's back-end connection, counting an
// error on its server when failed is set.
func (c *econn) dropBackend(failed bool) {
	if c.bc != nil {
		c.bc.close(c.l)
		c.bc = nil
	}
	if failed {
		c.lease.Failed()
	}
}

// fail counts ev and answers the client with status, then closes (see
// reply).
func (c *econn) fail(ev Event, status int) {
	c.l.s.ev.add(ev)
	c.reply(status)
}

// reply answers with an error status and closes gracefully: the write
// side first, then whatever the client still sends is drained for a
// moment, so that unread request bytes do not turn the close into a reset
// that would destroy the answer.
func (c *econn) reply(status int) {
	c.dropBackend(false)
	c.lease.Done()
	c.setState(sReply)
	c.setOut(canned[status], true)
}

// replied runs once the status is written: half-close, then drain.
func (c *econn) replied() bool {
	unix.Shutdown(c.sk.fd, unix.SHUT_WR)
	c.setState(sDrain)
	c.drain = drainBytes
	return true
}

func (c *econn) drainClient() bool {
	for {
		if !c.sk.readable {
			c.wait(wClientIn, qDrain, false)
			return false
		}
		m, errno := readFd(c.sk.fd, c.buf)
		switch {
		case m > 0:
			c.drain -= m
			if c.drain > 0 {
				continue
			}
		case errno == unix.EAGAIN:
			c.sk.readable = false
			continue
		case errno == unix.EINTR:
			continue
		}
		c.close()
		return false
	}
}

// startRequest schedules the buffered request.
func (c *econn) startRequest() bool {
	s, req := c.l.s, &c.req
	if string(req.Method) == "CONNECT" {
		c.fail(NotImplemented, 501)
		return true
	}
	end, complete, err := bufferedEnd(req, &c.ch, c.buf, c.r, c.w)
	if err != nil {
		c.fail(BadRequest, 400)
		return true
	}
	c.end, c.complete = end, complete
	c.replay = complete && req.Idempotent()
	c.dropFrom, c.dropTo = dropClose(req, c.buf, c.r)
	c.areq = s.schedRequest(req, c.client, c.clientPort)
	c.retried, c.redial = false, false
	return c.pick()
}

// pick schedules the request and takes a back-end connection for it.
func (c *econn) pick() bool {
	l := c.l
	c.lease.Done()
	var err error
	if c.lease, err = l.s.svc.Pick(&c.areq); err != nil {
		c.fail(NoServer, 503)
		return true
	}
	if b := l.pool(c.lease.Addr).get(l); b != nil {
		c.attach(b)
		return c.begin()
	}
	return c.dial()
}

func (c *econn) attach(b *bconn) {
	b.owner = c
	c.bc = b
}

// dial opens a new connection to the lease's server.
func (c *econn) dial() bool {
	b, err := c.l.dial(c.lease.Addr)
	if err != nil {
		return c.connectFailed(err)
	}
	c.attach(b)
	b.unproven = true
	if b.connecting {
		c.setState(sConnect)
		c.wait(wBackendOut, qConnect, false)
		return false
	}
	c.lease.Connected()
	return c.begin()
}

// connected runs when a connection attempt ended.
func (c *econn) connected() bool {
	b := c.bc
	b.connecting = false
	soerr, err := unix.GetsockoptInt(b.sk.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = syscall.Errno(soerr)
	}
	if err != nil {
		c.bc = nil
		b.close(c.l)
		return c.connectFailed(err)
	}
	c.l.interest(&b.sk, unix.EPOLLIN)
	c.lease.Connected()
	return c.begin()
}

func (c *econn) connectFailed(err error) bool {
	s := c.l.s
	s.ev.add(ConnectFailed)
	c.lease.Failed()
	s.logf("l7: connect to %v: %v", c.lease.Addr, err)
	s.observe(c.lease.ID, err)
	if !c.retried {
		// Nothing was sent on this connection: any request may go to
		// another back end (also after a redial, which sent nothing either).
		c.retried, c.redial = true, false
		s.ev.add(Retried)
		return c.pick()
	}
	c.reply(502) // counted above, once per attempt
	return true
}

// begin starts an exchange on c.bc: the head and what is buffered of the
// body; with Expect: 100-continue and a body still to come, only the head.
func (c *econn) begin() bool {
	req := &c.req
	c.send = c.end
	c.sent = 0
	c.pending = !c.complete
	c.relayed = false
	if c.pending {
		headEnd := c.r + req.Len
		if req.Expect100 {
			c.send = headEnd
			c.ch.Reset()
			c.bodyLeft = req.ContentLength
		} else {
			c.bodyLeft = req.ContentLength - int64(c.end-headEnd) // c.ch has scanned the buffered part
		}
	}
	c.setState(sSend)
	return true
}

func (c *econn) sendRequest() bool {
	b := c.bc
	dropped := c.dropTo - c.dropFrom
	for c.sent < c.send-c.r-dropped {
		var n int
		var errno syscall.Errno
		if p := c.r + c.sent; dropped > 0 && p < c.dropFrom {
			n, errno = c.sendAround(b.sk.fd, p)
		} else {
			if dropped > 0 {
				p += dropped
			}
			n, errno = sendFd(b.sk.fd, c.buf[p:c.send], 0)
		}
		if n > 0 {
			c.lease.Transferred(0, n)
			c.sent += n
			continue
		}
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			c.wait(wBackendOut, qBackend, false)
			return false
		}
		return c.sendFailed()
	}
	c.wrote(&b.sk)
	if c.pending {
		c.r = c.send
		if !c.req.Expect100 {
			c.startBody()
			return true
		}
	}
	c.setState(sRespHead)
	return true
}

// sendAround sends buf[p:send] but the dropped field.
func (c *econn) sendAround(fd, p int) (int, syscall.Errno) {
	segs := [2][]byte{c.buf[p:c.dropFrom], c.buf[c.dropTo:c.send]}
	return c.sendv(fd, segs[:], 0)
}

// sendv writes segs (at most 3) with one sendmsg.
func (c *econn) sendv(fd int, segs [][]byte, flags int) (int, syscall.Errno) {
	n := 0
	for _, p := range segs {
		if len(p) > 0 {
			c.iov[n].Base = &p[0]
			c.iov[n].SetLen(len(p))
			n++
		}
	}
	c.msg.Iov = &c.iov[0]
	c.msg.SetIovlen(n)
	m, _, errno := syscall.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&c.msg)), uintptr(flags|unix.MSG_NOSIGNAL))
	c.iov = [3]unix.Iovec{}
	c.msg.Iov = nil
	if errno != 0 {
		return 0, errno
	}
	return int(m), 0
}

// sendFailed ends an exchange whose request could not be sent.
func (c *econn) sendFailed() bool {
	if c.pending && c.sent > 0 {
		return c.abort(false, BackendReset, 502)
	}
	return c.noResponse()
}

func (c *econn) startBody() {
	c.setState(sBody)
	c.bodyOut = 0
	c.bodyDone = false
}

// streamBody sends the part of the request body that was not buffered
// when the request was sent, reading it from the client.
func (c *econn) streamBody() bool {
	s, req, b := c.l.s, &c.req, c.bc
	for {
		if c.bodyOut > 0 {
			n, errno := sendFd(b.sk.fd, c.buf[c.r:c.r+c.bodyOut], 0)
			if n > 0 {
				c.lease.Transferred(0, n)
				c.r += n
				c.bodyOut -= n
				continue
			}
			switch errno {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				c.wait(wBackendOut, qBackend, true)
				return false
			}
			return c.abort(false, BackendReset, 502)
		}
		c.wrote(&b.sk)
		if c.bodyDone {
			c.pending = false
			c.setState(sRespHead)
			return true
		}
		if req.Chunked || c.bodyLeft > 0 {
			if c.r < c.w {
				if req.Chunked {
					n, d, err := c.ch.Scan(c.buf[c.r:c.w])
					if err != nil {
						c.dropBackend(true)
						c.fail(BadRequest, 400)
						return true
					}
					c.bodyOut, c.bodyDone = n, d
				} else {
					k := int(min(int64(c.w-c.r), c.bodyLeft))
					c.bodyLeft -= int64(k)
					c.bodyOut, c.bodyDone = k, c.bodyLeft == 0
				}
				continue
			}
		} else {
			c.bodyDone = true
			continue
		}
		if c.r == c.w {
			c.r, c.w = 0, 0
		}
		if !c.sk.readable {
			c.wait(wClientIn, qClient, true)
			return false
		}
		if c.readClient() {
			continue
		}
		c.dropBackend(true)
		s.ev.add(ClientClosed)
		c.close()
		return false
	}
}

// readBackend reads from c.bc into bc.buf[bc.w:]. It returns the bytes
// read, or 0 and false when it must wait (the wait is set up), or 0 and
// true at the end of the stream or on an error.
func (c *econn) readBackend(rearm bool) (int, bool) {
	b := c.bc
	for {
		if !b.sk.readable {
			c.wait(wBackendIn, qBackend, rearm)
			return 0, false
		}
		space := b.buf[b.w:]
		m, errno := readFd(b.sk.fd, space)
		switch {
		case m > 0:
			b.w += m
			b.sk.readable = m == len(space)
			c.lease.Transferred(m, 0)
			return m, true
		case errno == unix.EAGAIN:
			b.sk.readable = false
			continue
		case errno == unix.EINTR:
			continue
		}
		return 0, true
	}
}

// readResponseHead reads until a complete response head is buffered in
// c.bc, relaying interim responses.
func (c *econn) readResponseHead() bool {
	s, b := c.l.s, c.bc
	for {
		if b.r == b.w {
			b.r, b.w = 0, 0
		} else {
			n, err := httpx.ParseResponse(b.buf[b.r:b.w], &c.resp, s.cfg.Limits)
			if err != nil {
				s.logf("l7: response from %v: %v", c.lease.Addr, err)
				return c.abort(c.relayed, BadResponse, 502)
			}
			if n > 0 {
				if b.unproven {
					b.unproven = false
					s.observe(c.lease.ID, nil)
				}
				return c.responseHead()
			}
			if b.w == len(b.buf) {
				b.w = copy(b.buf, b.buf[b.r:b.w])
				b.r = 0
			}
		}
		m, ok := c.readBackend(false)
		if !ok {
			return false
		}
		if m > 0 {
			continue
		}
		if !c.relayed && b.r == b.w {
			if !c.complete {
				// Part of the body was read from the client and sent:
				// the request cannot be sent again.
				return c.abort(false, BackendReset, 502)
			}
			return c.noResponse()
		}
		return c.abort(c.relayed, BackendReset, 502)
	}
}

// responseHead handles a parsed response head.
func (c *econn) responseHead() bool {
	s, b := c.l.s, c.bc
	if c.resp.Informational() {
		if c.resp.Status == 101 {
			s.logf("l7: %v answered 101 Switching Protocols: upgrades are not relayed", c.lease.Addr)
			return c.abort(c.relayed, BadResponse, 502)
		}
		// An interim response: relay it; 100 Continue releases the body.
		h := c.resp.Len
		c.setOut(b.buf[b.r:b.r+h], false)
		b.r += h
		c.relayed = true
		if c.resp.Status == 100 && c.pending {
			c.startBody()
		} else {
			c.setState(sRespHead)
		}
		return true
	}
	if c.complete {
		c.r = c.end
	}
	req, resp := &c.req, &c.resp
	c.kind = resp.Body(req.IsHead())
	c.start = b.r
	b.r += resp.Len
	c.insertAt = 0
	if c.dropTo > 0 && !resp.Close {
		c.insertAt = b.r - 2 // the client asked to close: say so (see dropClose)
	}
	switch c.kind {
	case httpx.LengthBody:
		c.left = resp.ContentLength
	case httpx.ChunkedBody:
		c.rch.Reset()
	}
	c.finished = c.kind == httpx.NoBody
	c.setState(sRespBody)
	return c.takeBody()
}

// closesAfter reports whether the client connection closes after this
// response.
func (c *econn) closesAfter() bool {
	return c.req.Close || c.resp.Close || c.kind == httpx.CloseBody || c.pending
}

// takeBody takes the body bytes buffered at bc.buf[bc.r:bc.w] and queues
// what is to be sent to the client.
func (c *econn) takeBody() bool {
	s, b := c.l.s, c.bc
	switch c.kind {
	case httpx.LengthBody:
		k := min(int64(b.w-b.r), c.left)
		b.r += int(k)
		c.left -= k
		c.finished = c.left == 0
	case httpx.ChunkedBody:
		n, d, err := c.rch.Scan(b.buf[b.r:b.w])
		if err != nil {
			s.logf("l7: response body from %v: %v", c.lease.Addr, err)
			c.dropBackend(true)
			s.ev.add(BadResponse)
			c.close()
			return false
		}
		b.r += n
		c.finished = d
	case httpx.CloseBody:
		b.r = b.w
	}
	if b.r > c.start {
		more := c.finished && c.closesAfter()
		if c.insertAt > 0 {
			// The response head, with "Connection: close" before its
			// final CRLF.
			c.out = [3][]byte{b.buf[c.start:c.insertAt], closeLine, b.buf[c.insertAt:b.r]}
			c.outFirst, c.outEnd, c.outMore = 0, 3, more
			c.insertAt = 0
		} else {
			c.setOut(b.buf[c.start:b.r], more)
		}
		c.start = b.r
	}
	return true
}

// relayBody runs once what was taken of the body is sent.
func (c *econn) relayBody() bool {
	s, b := c.l.s, c.bc
	if c.finished {
		return c.responded()
	}
	b.r, b.w, c.start = 0, 0, 0
	m, ok := c.readBackend(true)
	if !ok {
		return false
	}
	if m > 0 {
		return c.takeBody()
	}
	if c.kind == httpx.CloseBody {
		c.finished = true // the body ends where the connection does
		return c.responded()
	}
	c.dropBackend(true)
	s.ev.add(ResetAfterHead)
	s.logf("l7: %v failed in the middle of a response", c.lease.Addr)
	c.close()
	return false
}

// responded ends an exchange whose response was relayed completely.
func (c *econn) responded() bool {
	l, b := c.l, c.bc
	l.s.ev.add(Responses)
	c.bc = nil
	backendTold := c.req.Close && c.dropTo == 0 // the back end was asked to close
	keep := c.kind != httpx.CloseBody && !c.resp.Close && !backendTold && !c.pending && b.r == b.w
	if keep {
		b.owner = nil
		b.pool.put(l, b)
	} else {
		b.close(l)
	}
	c.lease.Done()
	if c.closesAfter() {
		c.close()
		return false
	}
	c.served++
	c.setState(sHead)
	return true
}

// abort ends an exchange that failed: the back-end connection is closed,
// the failure counted, and the client answered with status if nothing of
// the response was relayed yet, else its connection closed.
func (c *econn) abort(relayed bool, ev Event, status int) bool {
	c.dropBackend(true)
	if relayed {
		c.l.s.ev.add(ResetAfterHead)
		c.close()
		return false
	}
	c.fail(ev, status)
	return true
}

// noResponse handles a back end that closed or reset before answering:
// the request is sent again when that is safe (see the package
// documentation), else the client gets 502.
func (c *econn) noResponse() bool {
	s, b := c.l.s, c.bc
	c.bc = nil
	stale := b.reused
	b.close(c.l)
	if !stale {
		c.lease.Failed()
		s.observe(c.lease.ID, errNoResponse)
	}
	switch {
	case !c.replay:
	case stale:
		// A pooled connection the back end had closed: same server, new
		// connection. This is the keep-alive race, not a failure of the
		// server, and does not use up the request's retry.
		s.ev.add(Retried)
		c.redial = true
		return c.dial()
	case !c.retried:
		c.retried, c.redial = true, false
		s.ev.add(Retried)
		return c.pick() // schedule again: another back end may take it
	}
	c.fail(BackendReset, 502)
	return true
}

// bconn is a keep-alive connection of a loop to one back end.
type bconn struct {
	sk         sock
	addr       netip.AddrPort
	buf        []byte
	r, w       int // unread response bytes are buf[r:w]
	idleSince  int64
	reused     bool // taken from the idle pool (the back end may have closed it meanwhile)
	unproven   bool // opened, and no response head read from it yet (Config.Observe hears of it then)
	connecting bool
	owner      *econn // nil while idle in the pool
	pool       *bpool
}

// dial starts a connection to addr.
func (l *loop) dial(addr netip.AddrPort) (*bconn, error) {
	var sa unix.Sockaddr
	family := unix.AF_INET
	if a := addr.Addr(); a.Is4() || a.Is4In6() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.Unmap().As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	connecting := false
	switch err := unix.Connect(fd, sa); err {
	case nil:
	case unix.EINPROGRESS, unix.EINTR:
		connecting = true
	default:
		unix.Close(fd)
		return nil, err
	}
	var b *bconn
	if n := len(l.bfree); n > 0 {
		b = l.bfree[n-1]
		l.bfree[n-1] = nil
		l.bfree = l.bfree[:n-1]
	} else {
		b = &bconn{buf: make([]byte, bufSize(l.s))}
		b.sk.b = b
	}
	b.addr, b.r, b.w, b.reused, b.connecting, b.owner, b.pool = addr, 0, 0, false, connecting, nil, l.pool(addr)
	l.register(&b.sk, fd)
	ev := uint32(unix.EPOLLIN)
	if connecting {
		ev |= unix.EPOLLOUT
	}
	l.interest(&b.sk, ev)
	return b, nil
}

func (b *bconn) close(l *loop) {
	l.release(&b.sk)
	b.owner = nil
	if len(l.bfree) < maxFree {
		l.bfree = append(l.bfree, b)
	}
}

// bpool keeps a loop's idle keep-alive connections to one back end, most
// recently used first out.
type bpool struct {
	max   int
	ttl   int64
	conns []*bconn
}

func (l *loop) pool(addr netip.AddrPort) *bpool {
	p := l.pools[addr]
	if p == nil {
		p = &bpool{max: l.s.cfg.MaxIdle, ttl: int64(l.s.cfg.IdleBackendTimeout)}
		l.pools[addr] = p
	}
	return p
}

// get returns an idle connection, or nil; connections idle longer than
// the pool's ttl are closed.
func (p *bpool) get(l *loop) *bconn {
	for n := len(p.conns); n > 0; n = len(p.conns) {
		b := p.conns[n-1]
		p.conns[n-1] = nil
		p.conns = p.conns[:n-1]
		if l.now-b.idleSince < p.ttl {
			b.reused = true
			return b
		}
		b.close(l)
	}
	return nil
}

// put keeps b for reuse, or closes it when the pool is full.
func (p *bpool) put(l *loop, b *bconn) {
	if len(p.conns) >= p.max || b.sk.hup {
		b.close(l)
		return
	}
	b.r, b.w = 0, 0
	b.idleSince = l.now
	// Idle, it is watched for the back end closing it.
	b.sk.readable = false
	l.interest(&b.sk, unix.EPOLLIN)
	p.conns = append(p.conns, b)
}

// remove takes b out of the pool.
func (p *bpool) remove(b *bconn) {
	for i, x := range p.conns {
		if x == b {
			n := len(p.conns)
			copy(p.conns[i:], p.conns[i+1:])
			p.conns[n-1] = nil
			p.conns = p.conns[:n-1]
			return
		}
	}
}

func (p *bpool) closeAll(l *loop) {
	for _, b := range p.conns {
		b.close(l)
	}
	p.conns = nil
}
