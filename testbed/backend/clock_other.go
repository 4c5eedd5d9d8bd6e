//go:build !linux

package backend

import "time"

// newClock returns the runtime-timer clock: the precise clock thread is
// Linux-only.
func newClock() (clock, error) { return newTimerClock(time.Now), nil }
