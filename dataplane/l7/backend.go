package l7

import (
	"net"
	"sync"
	"time"
)

// backendConn is a keep-alive connection to one back end with its read
// buffer.
type backendConn struct {
	c         net.Conn
	buf       []byte
	r, w      int // unread response bytes are buf[r:w]
	idleSince time.Time
	reused    bool // taken from the idle pool (it may have been closed by the back end meanwhile)
	unproven  bool // opened, and no response head read from it yet (Config.Observe hears of it then)
}

func (b *backendConn) close() {
	b.c.Close()
	putBuf(&bufPoolBig, b.buf)
	b.buf = nil
}

// idlePool keeps a back end's idle keep-alive connections, most recently
// used first out (LIFO keeps the working set small and warm).
type idlePool struct {
	mu     sync.Mutex
	max    int
	ttl    time.Duration
	conns  []*backendConn
	closed bool
}

// get returns an idle connection, or nil. Connections idle longer than
// the pool's ttl are closed.
func (p *idlePool) get(now time.Time) *backendConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.conns); n > 0; n = len(p.conns) {
		b := p.conns[n-1]
		p.conns[n-1] = nil
		p.conns = p.conns[:n-1]
		if now.Sub(b.idleSince) < p.ttl {
			b.reused = true
			return b
		}
		b.close()
	}
	return nil
}

// put keeps b for reuse, or closes it when the pool is full or closed.
func (p *idlePool) put(b *backendConn, now time.Time) {
	b.r, b.w = 0, 0
	b.idleSince = now
	p.mu.Lock()
	if p.closed || len(p.conns) >= p.max {
		p.mu.Unlock()
		b.close()
		return
	}
	p.conns = append(p.conns, b)
	p.mu.Unlock()
}

func (p *idlePool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, b := range p.conns {
		b.close()
	}
	p.conns = nil
}

// Buffers are recycled between connections.
var bufPoolBig sync.Pool

func getBuf(p *sync.Pool, size int) []byte {
	if b, ok := p.Get().(*[]byte); ok && len(*b) == size {
		return *b
	}
	return make([]byte, size)
}

func putBuf(p *sync.Pool, b []byte) {
	if b != nil {
		p.Put(&b)
	}
}

// interner turns request keys into strings without allocating for keys
// seen recently: schedulers such as LBLC keep keys in their tables, so a
// key must not alias a reused buffer, and allocating one string per
// request would be the switch's only allocation.
type interner struct {
	shards [16]struct {
		mu sync.Mutex
		m  map[string]string
	}
}

// maxInterned bounds each shard; a full shard is emptied.
const maxInterned = 4096

func (in *interner) get(b []byte) string {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	sh := &in.shards[h%uint32(len(in.shards))]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s, ok := sh.m[string(b)]; ok {
		return s
	}
	if sh.m == nil || len(sh.m) >= maxInterned {
		sh.m = make(map[string]string, 64)
	}
	s := string(b)
	sh.m[s] = s
	return s
}
