package backend

import (
	"context"
	"errors"
	"time"
)

// ErrClosed is returned (wrapped) for requests cut short because the back
// end was closed.
var ErrClosed = errors.New("backend: closed")

// clock is the back end's time: what time it is, and how to wait until a
// deadline. Every wait is for an absolute instant, so a late wake-up never
// shifts the next deadline.
type clock interface {
	now() time.Time
	// waitUntil returns nil at or after at, ctx's error if ctx ends first,
	// or ErrClosed if the clock is closed first.
	waitUntil(ctx context.Context, at time.Time) error
	close()
}

// timerClock waits with the runtime's timers for at − now(). It is
// portable and works under testing/synctest (whose bubble fakes both the
// clock and the timers), but on Linux an idle Go process wakes from a timer
// only at the next whole millisecond (the runtime's netpoller sleeps in
// milliseconds), which is why New prefers preciseClock there.
type timerClock struct {
	nowFn  func() time.Time
	closed chan struct{}
}

func newTimerClock(now func() time.Time) *timerClock {
	return &timerClock{nowFn: now, closed: make(chan struct{})}
}

func (c *timerClock) now() time.Time { return c.nowFn() }

func (c *timerClock) waitUntil(ctx context.Context, at time.Time) error {
	d := at.Sub(c.nowFn())
	if d <= 0 {
		select {
		case <-c.closed:
			return ErrClosed
		default:
			return nil
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return ErrClosed
	}
}

func (c *timerClock) close() { close(c.closed) }
