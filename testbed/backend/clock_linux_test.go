package backend

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestPreciseClock: concurrent waiters with deadlines in any order all
// wake, none before its deadline; a cancelled wait returns the context's
// error; Close ends the waits in progress and later ones with ErrClosed.
func TestPreciseClock(t *testing.T) {
	c, err := newClock()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	base := time.Now()
	late := make([]time.Duration, 200)
	var wg sync.WaitGroup
	for i := range late {
		at := base.Add(time.Duration(200+r.IntN(5000)) * time.Microsecond)
		wg.Go(func() {
			if err := c.waitUntil(context.Background(), at); err != nil {
				t.Errorf("wait %d: %v", i, err)
			}
			late[i] = time.Since(at)
		})
	}
	wg.Wait()
	slices.Sort(late)
	if late[0] < 0 {
		t.Errorf("a waiter woke %v before its deadline", -late[0])
	}
	t.Logf("lateness: median %v, p90 %v, max %v", late[len(late)/2], late[len(late)*9/10], late[len(late)-1])

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.waitUntil(ctx, time.Now().Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	done := make(chan error)
	go func() { done <- c.waitUntil(context.Background(), time.Now().Add(time.Hour)) }()
	time.Sleep(time.Millisecond)
	c.close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("wait in progress at close: %v", err)
	}
	if err := c.waitUntil(context.Background(), time.Now()); !errors.Is(err, ErrClosed) {
		t.Errorf("wait after close: %v", err)
	}
	c.close() // idempotent
}

// BenchmarkWakeLateness measures how late a lone waiter wakes after a
// 200 µs wait, with the precise clock and with runtime timers.
func BenchmarkWakeLateness(b *testing.B) {
	for _, tc := range []struct {
		name string
		clk  func() clock
	}{
		{"precise", func() clock { c, _ := newClock(); return c }},
		{"timers", func() clock { return newTimerClock(time.Now) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := tc.clk()
			defer c.close()
			var late time.Duration
			for b.Loop() {
				at := time.Now().Add(200 * time.Microsecond)
				_ = c.waitUntil(context.Background(), at)
				late += time.Since(at)
			}
			b.ReportMetric(float64(late.Microseconds())/float64(b.N), "late-µs/op")
		})
	}
}
