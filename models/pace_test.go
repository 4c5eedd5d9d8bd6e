package models

import (
	"testing"
	"time"
)

func TestPaceFinish(t *testing.T) {
	const us = time.Microsecond
	x2 := Slowdown{From: 1000 * us, To: 11000 * us, Factor: 2}
	for _, tc := range []struct {
		name        string
		p           Pace
		start, work time.Duration
		want        time.Duration
	}{
		{"zero value is the reference model", Pace{}, 140 * us, 28410 * us, 28550 * us},
		{"speed 2 halves", Pace{Speed: 2}, 0, 28410 * us, 14205 * us},
		{"speed 0.5 doubles", Pace{Speed: 0.5}, 10 * us, 140 * us, 290 * us},
		// 860 µs of work before the slowdown, 5,000 during its 10,000 µs,
		// the remaining 22,550 after it: 11,000 + 22,550.
		{"straddles both boundaries", Pace{Slowdowns: []Slowdown{x2}}, 140 * us, 28410 * us, 33550 * us},
		{"ends before the slowdown", Pace{Slowdowns: []Slowdown{x2}}, 0, 1000 * us, 1000 * us},
		{"wholly inside", Pace{Slowdowns: []Slowdown{x2}}, 2000 * us, 1000 * us, 4000 * us},
		// 1,000 µs in force from 10,000 to 11,000 does 500 of work.
		{"starts inside, ends after", Pace{Slowdowns: []Slowdown{x2}}, 10000 * us, 1000 * us, 11500 * us},
		{"after the slowdown", Pace{Slowdowns: []Slowdown{x2}}, 11000 * us, 1000 * us, 12000 * us},
		// Speed 2 under ×2: 2,000 of work by 1,000 (rate 2), then rate 1.
		{"speed and slowdown", Pace{Speed: 2, Slowdowns: []Slowdown{x2}}, 0, 12000 * us, 11000 * us},
		// Overlapping ×2 and ×3 multiply: 1,000 of work on [0, 2000)
		// (rate 1/2), 166.67 on [2000, 3000) (rate 1/6), 666.67 on
		// [3000, 5000) (rate 1/3), the last 166.67 at rate 1.
		{"overlapping slowdowns multiply", Pace{Slowdowns: []Slowdown{
			{From: 0, To: 3000 * us, Factor: 2}, {From: 2000 * us, To: 5000 * us, Factor: 3},
		}}, 0, 2000 * us, 5166667 * time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Finish(tc.start, tc.work); got != tc.want {
				t.Errorf("Finish(%v, %v) = %v, want %v", tc.start, tc.work, got, tc.want)
			}
		})
	}
}
