package l7

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
)

// Switch is the layer-7 content switch. It is safe for concurrent use.
type Switch struct {
	svc *dataplane.Service
	cfg Config

	ev   counters
	open atomic.Int64

	keys  interner
	pools sync.Map // netip.AddrPort -> *idlePool

	mu        sync.Mutex
	closing   atomic.Bool
	listeners map[net.Listener]struct{}
	conns     map[*clientConn]struct{}
	loops     map[interface{ wake() }]struct{} // the epoll engine's event loops
	cut       atomic.Bool                      // Shutdown's context ended: close everything
	cutCtx    context.Context                  // canceled with cut (connection attempts)
	cutCancel context.CancelFunc
	wg        sync.WaitGroup
	done      chan struct{}
}

// New returns a switch that schedules every request on svc.
func New(svc *dataplane.Service, cfg Config) (*Switch, error) {
	if svc == nil {
		return nil, errors.New("l7: a switch needs a service")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cutCtx, cutCancel := context.WithCancel(context.Background())
	return &Switch{
		cutCtx:    cutCtx,
		cutCancel: cutCancel,
		svc:       svc,
		cfg:       cfg.withDefaults(),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*clientConn]struct{}{},
		loops:     map[interface{ wake() }]struct{}{},
		done:      make(chan struct{}),
	}, nil
}

// Service returns the switch's service.
func (s *Switch) Service() *dataplane.Service { return s.svc }

// Stats returns a snapshot of the counters.
func (s *Switch) Stats() Stats {
	var st Stats
	for i := range st.Events {
		st.Events[i] = s.ev[i].Load()
	}
	st.Open = s.open.Load()
	st.Servers = s.svc.Stats()
	return st
}

// errNoResponse is what Observe is told of a new back-end connection
// closed or reset before any byte of a response.
var errNoResponse = errors.New("closed or reset before answering")

// observe reports a new back-end connection's outcome to Config.Observe.
func (s *Switch) observe(id algorithms.ServerID, err error) {
	if s.cfg.Observe != nil {
		s.cfg.Observe(id, err)
	}
}

func (s *Switch) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// Listen opens n listeners on addr ("127.0.0.1:8080") with SO_REUSEPORT,
// so that the kernel spreads new connections over them (one per core),
// and without TCP keep-alive probes on accepted connections.
func Listen(ctx context.Context, addr string, n int) ([]net.Listener, error) {
	if n < 1 {
		n = 1
	}
	lc := net.ListenConfig{
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	var out []net.Listener
	for range n {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("l7: listen %s: %w", addr, err)
		}
		out = append(out, ln)
		addr = ln.Addr().String() // port 0: the others share the first's port
	}
	return out, nil
}

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("l7: switch closed")

// Serve accepts client connections on ln until Shutdown (then it returns
// ErrClosed) or until ln fails. With EngineEpoll it runs ln's event loop
// on the calling goroutine, locked to its thread, and returns once the
// loop's connections are done; ln must be a TCP listener (from Listen),
// whose socket the loop takes over (ln itself is closed at once).
func (s *Switch) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	if s.cfg.Engine == EngineEpoll {
		s.mu.Unlock()
		return s.serveLoop(ln)
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				// Out of descriptors or a transient failure: back off and go on.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("l7: accept: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("l7: accept: %w", err)
		}
		delay = 0
		s.ev.add(Accepted)
		cc := s.newClientConn(c)
		if cc == nil {
			continue
		}
		go cc.serve()
	}
}

// Shutdown stops accepting, closes idle client connections, lets requests
// in flight finish, and closes the rest when ctx ends. It returns
// ctx.Err() if connections had to be cut.
func (s *Switch) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing.Swap(true)
	for ln := range s.listeners {
		ln.Close()
	}
	for cc := range s.conns {
		cc.wakeIfIdle()
	}
	for l := range s.loops {
		l.wake()
	}
	s.mu.Unlock()
	if first {
		go func() {
			s.wg.Wait()
			close(s.done)
		}()
	}
	var err error
	select {
	case <-s.done:
	case <-ctx.Done():
		err = ctx.Err()
		s.mu.Lock()
		s.cut.Store(true)
		s.cutCancel()
		for cc := range s.conns {
			cc.c.Close()
			if bc := cc.cur.Load(); bc != nil {
				bc.c.SetDeadline(time.Unix(1, 0))
			}
		}
		for l := range s.loops {
			l.wake()
		}
		s.mu.Unlock()
		<-s.done
	}
	s.pools.Range(func(_, v any) bool {
		v.(*idlePool).closeAll()
		return true
	})
	s.cutCancel() // nothing is left to cut
	return err
}

// newClientConn registers a new client connection, or closes it when the
// switch is shutting down.
func (s *Switch) newClientConn(c net.Conn) *clientConn {
	cc := &clientConn{s: s, c: c}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		cc.client, cc.clientPort = ap.Addr().Unmap(), ap.Port()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		c.Close()
		return nil
	}
	s.conns[cc] = struct{}{}
	s.wg.Add(1)
	s.open.Add(1)
	return cc
}

func (s *Switch) forget(cc *clientConn) {
	s.mu.Lock()
	delete(s.conns, cc)
	s.mu.Unlock()
	s.open.Add(-1)
	s.wg.Done()
}

// pool returns the idle-connection pool of a back end.
func (s *Switch) pool(addr netip.AddrPort) *idlePool {
	if p, ok := s.pools.Load(addr); ok {
		return p.(*idlePool)
	}
	p, _ := s.pools.LoadOrStore(addr, &idlePool{max: s.cfg.MaxIdle, ttl: s.cfg.IdleBackendTimeout})
	return p.(*idlePool)
}
