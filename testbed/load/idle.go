package load

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// idlePool holds the trace clients' idle kept-alive connections
// (Config.ClientKeepAlive): at most one per client, each closed once idle
// keepAlive.
type idlePool struct {
	keepAlive time.Duration
	mu        sync.Mutex
	conns     map[int32]*idleConn
	closed    bool
}

type idleConn struct {
	c     net.Conn
	br    *bufio.Reader
	timer *time.Timer
}

func newIdlePool(keepAlive time.Duration) *idlePool {
	return &idlePool{keepAlive: keepAlive, conns: map[int32]*idleConn{}}
}

// take returns client's idle connection and its read buffer, or nil if it
// has none.
func (p *idlePool) take(client int32) (net.Conn, *bufio.Reader) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ic := p.conns[client]
	if ic == nil {
		return nil, nil
	}
	delete(p.conns, client)
	ic.timer.Stop() // the expiry, if it runs now, finds the entry gone
	return ic.c, ic.br
}

// put keeps c as client's idle connection, closing the one it had, and
// closes it after keepAlive unless taken before.
func (p *idlePool) put(client int32, c net.Conn, br *bufio.Reader) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return
	}
	if old := p.conns[client]; old != nil {
		old.timer.Stop()
		old.c.Close()
	}
	ic := &idleConn{c: c, br: br}
	ic.timer = time.AfterFunc(p.keepAlive, func() { p.expire(client, ic) })
	p.conns[client] = ic
}

// expire closes ic if it is still client's idle connection.
func (p *idlePool) expire(client int32, ic *idleConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns[client] == ic {
		delete(p.conns, client)
		ic.c.Close()
	}
}

// closeAll closes every idle connection; later puts close theirs at once.
func (p *idlePool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for k, ic := range p.conns {
		ic.timer.Stop()
		ic.c.Close()
		delete(p.conns, k)
	}
}
