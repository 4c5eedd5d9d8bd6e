package backend

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// preciseClock wakes waiters from one goroutine locked to its own OS
// thread, which sleeps in ppoll(2) until the earliest deadline (nanosecond
// timeout, timer slack set to 1 ns) or until an eventfd says that an
// earlier deadline arrived. Waiters wake within microseconds of their
// deadline instead of at the runtime's next millisecond.
type preciseClock struct {
	efd int

	mu      sync.Mutex
	waiters waitHeap
	closing bool

	closed chan struct{} // closed by close()
	done   chan struct{} // closed when run has returned
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

type waitHeap []*waiter

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h waitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)        { *h = append(*h, x.(*waiter)) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}

// newClock returns the precise clock.
func newClock() (clock, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("backend: eventfd: %w", err)
	}
	c := &preciseClock{efd: efd, closed: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *preciseClock) now() time.Time { return time.Now() }

func (c *preciseClock) waitUntil(ctx context.Context, at time.Time) error {
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	if !at.After(time.Now()) {
		return nil
	}
	w := &waiter{at: at, ch: make(chan struct{})}
	c.mu.Lock()
	heap.Push(&c.waiters, w)
	first := c.waiters[0] == w
	c.mu.Unlock()
	if first {
		c.kick()
	}
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err() // w stays in the heap and is dropped when due
	case <-c.closed:
		return ErrClosed
	}
}

// kick interrupts the clock thread's sleep.
func (c *preciseClock) kick() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(c.efd, one[:]) // EAGAIN: a kick is already pending
}

func (c *preciseClock) run() {
	defer close(c.done)
	// The thread is never unlocked: it exits with this goroutine, so its
	// timer slack never leaks to other goroutines.
	runtime.LockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	fds := []unix.PollFd{{Fd: int32(c.efd), Events: unix.POLLIN}}
	var buf [8]byte
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return
		}
		now := time.Now()
		for len(c.waiters) > 0 && !c.waiters[0].at.After(now) {
			close(heap.Pop(&c.waiters).(*waiter).ch)
		}
		var timeout *unix.Timespec
		if len(c.waiters) > 0 {
			ts := unix.NsecToTimespec(int64(c.waiters[0].at.Sub(now)))
			timeout = &ts
		}
		c.mu.Unlock()
		fds[0].Revents = 0
		_, err := unix.Ppoll(fds, timeout, nil)
		if err != nil && !errors.Is(err, unix.EINTR) {
			// Cannot happen with a valid eventfd; fall back to a short
			// sleep rather than spin.
			time.Sleep(time.Millisecond)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			_, _ = unix.Read(c.efd, buf[:])
		}
	}
}

func (c *preciseClock) close() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.mu.Unlock()
	close(c.closed)
	c.kick()
	<-c.done
	unix.Close(c.efd)
}
