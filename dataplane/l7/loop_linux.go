package l7

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	epollSupported = true
	platformEngine = EngineEpoll
)

// Epoll engine tuning.
const (
	// maxWait bounds each epoll_wait, so that timers are checked and the
	// loop's thread returns to the runtime regularly.
	maxWait = 50 * time.Millisecond
	// acceptBatch bounds the connections accepted per wake-up, so that
	// a connection storm does not starve established connections.
	acceptBatch = 64
	// maxFree bounds each loop's free lists of connection records (with
	// their buffers).
	maxFree = 1024
	// replyTimeout bounds the writing of an error status, drainTimeout
	// the draining of what the client still sends after it (as the
	// goroutine engine does).
	replyTimeout = time.Second
	drainTimeout = 500 * time.Millisecond
	drainBytes   = 256 << 10
)

// Timer queues of a loop, one per timeout length.
const (
	qClient = iota
	qConnect
	qBackend
	qReply
	qDrain
	numQueues
)

// Epoll registrations carry a generation in the event's Pad field, so that
// an event reported for a descriptor closed earlier in the same batch is not
// taken for the new connection that reused its number. Generations 0 and 1
// mark the listener and the wake-up descriptor.
const (
	genListener = 0
	genWake     = 1
	genFirst    = 2
)

// runningLoops counts the event loops of every switch in the process. Each
// loop's thread blocks in epoll_wait without releasing its processor (a
// system call the runtime does not see), so the runtime keeps one more
// processor than there are loops for everything else (timers, signals,
// garbage collection, the rest of the program).
var runningLoops atomic.Int32

func spareProcessor(loops int) {
	if runtime.GOMAXPROCS(0) <= loops {
		runtime.GOMAXPROCS(loops + 1)
	}
}

// loop is one event loop: it owns a listener, the client connections it
// accepted and its own pools of back-end connections, and runs on one
// locked OS thread. Nothing in it is shared with other loops but the
// Switch's service, counters and key interner.
type loop struct {
	s      *Switch
	epfd   int
	lnfd   int
	wakefd int

	listening bool
	err       error // a fatal listener error, returned by Serve

	events []unix.EpollEvent
	ctlEv  unix.EpollEvent
	socks  []*sock // by descriptor: the loop's client and back-end sockets
	gen    uint32
	conns  int // client connections open

	free  []*econn
	bfree []*bconn
	pools map[netip.AddrPort]*bpool

	q    [numQueues]timerQueue[*econn]
	base time.Time
	now  int64 // nanoseconds since base, read once per wake-up

	acceptPaused bool
	acceptResume int64

	sa    unix.RawSockaddrAny
	salen uint32
}

// sock is a non-blocking socket of a loop with its epoll state.
type sock struct {
	fd       int
	gen      uint32
	reg      uint32 // events registered with epoll
	inEpoll  bool
	readable bool // epoll said so (or a speculative read is due); cleared when a read comes up short
	hup      bool // error or hang-up reported: out of epoll, the next I/O fails
	c        *econn
	b        *bconn
}

// serveLoop runs an event loop on ln until Shutdown.
func (s *Switch) serveLoop(ln net.Listener) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	l := &loop{s: s, epfd: -1, lnfd: -1, wakefd: -1, gen: genFirst, base: time.Now(),
		events: make([]unix.EpollEvent, 256), pools: map[netip.AddrPort]*bpool{}}
	for i, d := range [numQueues]time.Duration{s.cfg.ClientTimeout, s.cfg.ConnectTimeout, s.cfg.BackendTimeout, replyTimeout, drainTimeout} {
		l.q[i].d = int64(d)
	}
	if err := l.open(ln); err != nil {
		l.closeFds()
		return err
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		l.closeFds()
		return ErrClosed
	}
	s.loops[l] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	spareProcessor(int(runningLoops.Add(1)))
	defer func() {
		runningLoops.Add(-1)
		s.mu.Lock()
		delete(s.loops, l)
		s.mu.Unlock()
		l.closeFds()
		s.wg.Done()
	}()
	return l.run()
}

// open takes over ln's socket (a duplicate descriptor, out of the
// runtime's poller; ln itself is closed) and makes the loop's epoll
// instance and wake-up descriptor.
func (l *loop) open(ln net.Listener) error {
	sc, ok := ln.(syscall.Conn)
	if _, tcp := ln.Addr().(*net.TCPAddr); !ok || !tcp {
		ln.Close()
		return fmt.Errorf("l7: the epoll engine serves TCP listeners, not %T", ln)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		ln.Close()
		return fmt.Errorf("l7: listener: %w", err)
	}
	var derr error
	err = rc.Control(func(fd uintptr) {
		l.lnfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	ln.Close()
	if err == nil {
		err = derr
	}
	if err != nil {
		l.lnfd = -1
		return fmt.Errorf("l7: listener: %w", err)
	}
	if err := unix.SetNonblock(l.lnfd, true); err != nil {
		return fmt.Errorf("l7: listener: %w", err)
	}
	// Accepted sockets inherit TCP_NODELAY. TCP_DEFER_ACCEPT hands over a
	// connection once its first data arrived, so the first read succeeds.
	_ = unix.SetsockoptInt(l.lnfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = unix.SetsockoptInt(l.lnfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1)
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		l.epfd = -1
		return fmt.Errorf("l7: epoll: %w", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		l.wakefd = -1
		return fmt.Errorf("l7: eventfd: %w", err)
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.wakefd, unix.EPOLLIN, genWake); err != nil {
		return err
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.lnfd, unix.EPOLLIN, genListener); err != nil {
		return err
	}
	l.listening = true
	return nil
}

func (l *loop) closeFds() {
	for _, fd := range []*int{&l.lnfd, &l.wakefd, &l.epfd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

var wakeValue = [8]byte{1} // an eventfd increment of 1 (little-endian; any non-zero value wakes)

// wake interrupts the loop's epoll_wait. Called with s.mu held.
func (l *loop) wake() { unix.Write(l.wakefd, wakeValue[:]) }

func (l *loop) clock() int64 { return int64(time.Since(l.base)) }

// run is the event loop.
func (l *loop) run() error {
	s := l.s
	l.now = l.clock()
	if s.closing.Load() {
		l.stopListening()
	}
	for l.listening || l.conns > 0 {
		// Blocking without releasing the processor needs a spare one
		// (see runningLoops): the program may have lowered GOMAXPROCS.
		var n int
		var errno syscall.Errno
		if runtime.GOMAXPROCS(0) > int(runningLoops.Load()) {
			n, errno = epollWait(l.epfd, l.events, l.waitMillis())
		} else {
			n, errno = epollWaitReleasing(l.epfd, l.events, l.waitMillis())
		}
		l.now = l.clock()
		if errno != 0 && errno != unix.EINTR {
			l.err = fmt.Errorf("l7: epoll_wait: %w", errno)
			break
		}
		for i := range n {
			ev := &l.events[i]
			fd, gen := int(ev.Fd), uint32(ev.Pad)
			switch {
			case gen == genListener && fd == l.lnfd && l.listening:
				l.accept()
			case gen == genWake && fd == l.wakefd:
				l.woken()
			case gen >= genFirst && fd < len(l.socks) && l.socks[fd] != nil && l.socks[fd].gen == gen:
				l.ready(l.socks[fd], ev.Events)
			}
		}
		l.expire()
		if l.err != nil {
			break
		}
	}
	l.closeAll()
	for _, p := range l.pools {
		p.closeAll(l)
	}
	if l.err != nil {
		return l.err
	}
	return ErrClosed
}

// waitMillis is the epoll_wait timeout: until the earliest deadline, at
// most maxWait.
func (l *loop) waitMillis() int {
	wait := int64(maxWait)
	for i := range l.q {
		if at, ok := l.q[i].next(); ok {
			wait = min(wait, at-l.now)
		}
	}
	if l.acceptPaused {
		wait = min(wait, l.acceptResume-l.now)
	}
	if wait <= 0 {
		return 0
	}
	return int((wait + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

// expire fires the timers that are due.
func (l *loop) expire() {
	for i := range l.q {
		for {
			t, ok := l.q[i].pop(l.now)
			if !ok {
				break
			}
			t.owner.timeout()
		}
	}
	if l.acceptPaused && l.now >= l.acceptResume && l.listening {
		l.acceptPaused = false
		if err := l.ctl(unix.EPOLL_CTL_MOD, l.lnfd, unix.EPOLLIN, genListener); err != nil {
			l.err = err
		}
	}
}

// woken handles a Shutdown: stop accepting, close idle connections, and
// cut the others when told to.
func (l *loop) woken() {
	var buf [8]byte
	unix.Read(l.wakefd, buf[:])
	s := l.s
	if !s.closing.Load() {
		return
	}
	l.stopListening()
	cut := s.cut.Load()
	for _, sk := range l.socks {
		if sk == nil || sk.b != nil {
			continue
		}
		if c := sk.c; cut || c.state == sHead && c.r == c.w {
			c.close()
		}
	}
}

func (l *loop) stopListening() {
	if !l.listening {
		return
	}
	l.listening = false
	unix.Close(l.lnfd)
	l.lnfd = -1
}

// closeAll closes every client connection (the loop is ending).
func (l *loop) closeAll() {
	for _, sk := range l.socks {
		if sk != nil && sk.b == nil {
			sk.c.close()
		}
	}
}

// accept takes new connections and serves what they sent.
func (l *loop) accept() {
	s := l.s
	for range acceptBatch {
		l.salen = unix.SizeofSockaddrAny
		fd, errno := accept4(l.lnfd, &l.sa, &l.salen)
		switch errno {
		case 0:
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			// Out of descriptors or memory: stop accepting for a moment.
			s.logf("l7: accept: %v; pausing for 50ms", errno)
			l.acceptPaused = true
			l.acceptResume = l.now + int64(50*time.Millisecond)
			if err := l.ctl(unix.EPOLL_CTL_MOD, l.lnfd, 0, genListener); err != nil {
				l.err = err
			}
			return
		default:
			l.err = fmt.Errorf("l7: accept: %w", errno)
			return
		}
		s.ev.add(Accepted)
		if s.closing.Load() {
			unix.Close(fd)
			continue
		}
		c := l.newConn(fd)
		c.sk.readable = true // deferred accept: the request is usually there
		c.advance()
	}
}

// newConn makes the record of an accepted client connection.
func (l *loop) newConn(fd int) *econn {
	var c *econn
	if n := len(l.free); n > 0 {
		c = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	} else {
		c = &econn{l: l, buf: make([]byte, bufSize(l.s))}
		c.tm.owner = c
		c.sk.c = c
	}
	c.reset()
	c.client, c.clientPort = sockaddrAddr(&l.sa)
	l.register(&c.sk, fd)
	l.conns++
	l.s.open.Add(1)
	return c
}

// register enters a new descriptor in the loop's table (not in epoll yet).
func (l *loop) register(sk *sock, fd int) {
	l.gen++
	if l.gen < genFirst {
		l.gen = genFirst
	}
	sk.fd, sk.gen, sk.reg, sk.inEpoll, sk.readable, sk.hup = fd, l.gen, 0, false, false, false
	for fd >= len(l.socks) {
		l.socks = append(l.socks, make([]*sock, max(64, len(l.socks)))...)
	}
	l.socks[fd] = sk
}

// release closes a socket of the loop.
func (l *loop) release(sk *sock) {
	if sk.fd < 0 {
		return
	}
	l.socks[sk.fd] = nil
	closeFd(sk.fd)
	sk.fd, sk.inEpoll, sk.reg = -1, false, 0
}

// interest sets the events sk is registered for.
func (l *loop) interest(sk *sock, ev uint32) {
	if sk.hup || sk.inEpoll && sk.reg == ev || !sk.inEpoll && ev == 0 {
		return
	}
	op := unix.EPOLL_CTL_MOD
	if !sk.inEpoll {
		op = unix.EPOLL_CTL_ADD
	}
	if err := l.ctl(op, sk.fd, ev, sk.gen); err != nil {
		// Only a broken invariant fails here; the connection's timer
		// will end it.
		l.s.logf("%v", err)
		return
	}
	sk.inEpoll, sk.reg = true, ev
}

func (l *loop) ctl(op, fd int, events uint32, gen uint32) error {
	l.ctlEv = unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(gen)}
	_, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(l.epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(&l.ctlEv)), 0, 0)
	if errno != 0 {
		return fmt.Errorf("l7: epoll_ctl(%d, fd %d): %w", op, fd, errno)
	}
	return nil
}

// ready handles an epoll report on one of the loop's sockets.
func (l *loop) ready(sk *sock, ev uint32) {
	if ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		// Errors and hang-ups cannot be masked: leave epoll, and let the
		// next read or write fail.
		if sk.inEpoll {
			_ = l.ctl(unix.EPOLL_CTL_DEL, sk.fd, 0, sk.gen)
		}
		sk.inEpoll, sk.reg, sk.hup, sk.readable = false, 0, true, true
	} else if ev&unix.EPOLLIN != 0 {
		sk.readable = true
	}
	writable := ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0
	c := sk.c
	if b := sk.b; b != nil {
		if b.owner == nil {
			// Idle in a pool: the back end closed it, or sent what nobody
			// asked for.
			b.pool.remove(b)
			b.close(l)
			return
		}
		c = b.owner
	}
	if c.waiting(sk, writable) {
		c.advance()
		return
	}
	// Not what the connection waits for: stop the level-triggered reports
	// until it does.
	want := sk.reg
	if ev&unix.EPOLLIN != 0 {
		want &^= unix.EPOLLIN
	}
	if ev&unix.EPOLLOUT != 0 {
		want &^= unix.EPOLLOUT
	}
	l.interest(sk, want)
}

// sockaddrAddr returns the address and port of a socket address.
func sockaddrAddr(sa *unix.RawSockaddrAny) (netip.Addr, uint16) {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrFrom4(p.Addr), ntohs(p.Port)
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrFrom16(p.Addr).Unmap(), ntohs(p.Port)
	}
	return netip.Addr{}, 0
}

func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// System calls on non-blocking sockets, made without telling the runtime
// (they do not block), and epoll_wait likewise (bounded by maxWait; the
// loop's thread keeps its processor, see runningLoops).

func epollWait(epfd int, ev []unix.EpollEvent, msec int) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&ev[0])), uintptr(len(ev)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// epollWaitReleasing is epoll_wait as an ordinary system call, which
// lets the runtime give the processor to other goroutines meanwhile.
func epollWaitReleasing(epfd int, ev []unix.EpollEvent, msec int) (int, syscall.Errno) {
	n, _, errno := syscall.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&ev[0])), uintptr(len(ev)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

func accept4(fd int, sa *unix.RawSockaddrAny, salen *uint32) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(salen)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(n), 0
}

func readFd(fd int, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// sendFd writes p with send(2) flags (MSG_NOSIGNAL always).
func sendFd(fd int, p []byte, flags int) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags|unix.MSG_NOSIGNAL), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

func closeFd(fd int) { syscall.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

var errConnectTimeout = errors.New("connection timed out")
