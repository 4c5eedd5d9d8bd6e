package l7

// timerQueue is a FIFO of deadlines that all lie the same duration d
// after the moment they were armed. Arming at a non-decreasing clock keeps
// the queue sorted, so arming, stopping and finding the earliest deadline
// are O(1), with no allocation: the nodes live in their owners. Times are
// nanoseconds on the owner's clock (an event loop's monotonic clock, or a
// test's).
type timerQueue[T any] struct {
	d    int64
	head *timer[T]
	tail *timer[T]
}

// timer is one owner's deadline; it is in at most one queue at a time.
type timer[T any] struct {
	prev, next *timer[T]
	q          *timerQueue[T]
	at         int64
	owner      T
}

// arm (re)starts t at now+q.d, in q. now must not be earlier than any
// earlier arm of q.
func (q *timerQueue[T]) arm(t *timer[T], now int64) {
	t.stop()
	t.at = now + q.d
	t.q = q
	t.prev = q.tail
	if q.tail != nil {
		q.tail.next = t
	} else {
		q.head = t
	}
	q.tail = t
}

// stop removes t from its queue, if any.
func (t *timer[T]) stop() {
	q := t.q
	if q == nil {
		return
	}
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		q.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		q.tail = t.prev
	}
	t.prev, t.next, t.q = nil, nil, nil
}

// armed reports whether t is in a queue.
func (t *timer[T]) armed() bool { return t.q != nil }

// pop removes and returns the earliest timer if it is due at now.
func (q *timerQueue[T]) pop(now int64) (*timer[T], bool) {
	t := q.head
	if t == nil || t.at > now {
		return nil, false
	}
	t.stop()
	return t, true
}

// next returns the earliest deadline in q.
func (q *timerQueue[T]) next() (int64, bool) {
	if q.head == nil {
		return 0, false
	}
	return q.head.at, true
}
