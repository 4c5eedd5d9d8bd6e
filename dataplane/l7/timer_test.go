package l7

import (
	"slices"
	"testing"
)

// A timer queue fires its timers in deadline order; re-arming moves a
// timer to the end and stopping removes it, wherever it is.
func TestTimerQueue(t *testing.T) {
	type op struct {
		now   int64
		do    string // "arm", "stop", "pop"
		timer int
	}
	tests := []struct {
		name  string
		ops   []op
		fired []int // timers popped by the "pop" ops, in order
		left  []int // timers still armed at the end, earliest first
	}{
		{"in arming order", []op{{0, "arm", 1}, {5, "arm", 2}, {7, "arm", 3}, {10, "pop", 0}, {14, "pop", 0}}, []int{1}, []int{2, 3}},
		{"each when due", []op{{0, "arm", 1}, {5, "arm", 2}, {7, "arm", 3}, {10, "pop", 0}, {15, "pop", 0}, {16, "pop", 0}, {17, "pop", 0}}, []int{1, 2, 3}, nil},
		{"all due", []op{{0, "arm", 1}, {1, "arm", 2}, {2, "arm", 3}, {100, "pop", 0}}, []int{1, 2, 3}, nil},
		{"re-arm moves to the end", []op{{0, "arm", 1}, {1, "arm", 2}, {2, "arm", 1}, {11, "pop", 0}, {12, "pop", 0}}, []int{2, 1}, nil},
		{"stop head", []op{{0, "arm", 1}, {1, "arm", 2}, {2, "stop", 1}, {11, "pop", 0}}, []int{2}, nil},
		{"stop middle", []op{{0, "arm", 1}, {1, "arm", 2}, {2, "arm", 3}, {3, "stop", 2}, {20, "pop", 0}}, []int{1, 3}, nil},
		{"stop tail then arm", []op{{0, "arm", 1}, {1, "arm", 2}, {2, "stop", 2}, {3, "arm", 3}, {20, "pop", 0}}, []int{1, 3}, nil},
		{"stop twice", []op{{0, "arm", 1}, {1, "stop", 1}, {2, "stop", 1}, {20, "pop", 0}}, nil, nil},
		{"not yet due", []op{{0, "arm", 1}, {9, "pop", 0}}, nil, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &timerQueue[int]{d: 10}
			timers := make([]timer[int], 4)
			for i := range timers {
				timers[i].owner = i
			}
			var fired []int
			for _, o := range tc.ops {
				switch o.do {
				case "arm":
					q.arm(&timers[o.timer], o.now)
				case "stop":
					timers[o.timer].stop()
				case "pop":
					for {
						tm, ok := q.pop(o.now)
						if !ok {
							break
						}
						if tm.armed() {
							t.Fatalf("popped timer %d still armed", tm.owner)
						}
						fired = append(fired, tm.owner)
					}
				}
			}
			if !slices.Equal(fired, tc.fired) {
				t.Errorf("fired %v, want %v", fired, tc.fired)
			}
			var left []int
			last := int64(-1)
			for tm := q.head; tm != nil; tm = tm.next {
				if tm.at < last {
					t.Errorf("queue out of order at timer %d", tm.owner)
				}
				last = tm.at
				left = append(left, tm.owner)
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left %v, want %v", left, tc.left)
			}
			if at, ok := q.next(); ok != (len(left) > 0) || ok && at != q.head.at {
				t.Errorf("next() = %d %v", at, ok)
			}
		})
	}
}
