package sim

import "time"

// evKind is the type of an event. Events are small typed values, not
// closures, so the hot path allocates nothing.
type evKind uint8

const (
	evCPUDone    evKind = iota + 1 // node's CPU finished its current job
	evDiskDone                     // node's disk finished its current job
	evOriginDone                   // a bypassed request was served by the origin
	evArrival                      // open admission: the next trace request arrives
	evMonitor                      // periodic load monitor (DFLB feedback, Server.Load)
	evNodeDown                     // Failure.At: a node crashes
	evNodeUp                       // Failure.Recover: a node comes back
	evDetect                       // the front end's health check notices a node's state
	evFrontEnd                     // reserved for front ends' own events (see frontEnd)
	evRefused                      // a request sent to a crashed node gives up (Config.ConnectTimeout)
)

// event is one scheduled happening. Events run in (at, seq) order. seq is
// the order in which they were scheduled, so that events of one instant
// keep their scheduling order (docs/reference-model.md); in a perturbed
// replicate it is a random key instead, which puts the events of one
// instant in a uniformly random order (Config.Replicate).
type event struct {
	at    time.Duration
	seq   uint64
	kind  evKind
	flag  bool   // evDetect: the node is down
	node  int32  // node index, or -1
	slot  int32  // in-flight request slot, or -1
	epoch uint32 // node epoch at scheduling time; stale events are ignored
}

func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// eventHeap is a binary min-heap of events by (at, seq), written out
// rather than through container/heap to avoid interface boxing on the hot
// path.
type eventHeap struct {
	ev []event
}

func (h *eventHeap) len() int { return len(h.ev) }

func (h *eventHeap) push(e event) {
	h.ev = append(h.ev, e)
	ev := h.ev
	j := len(ev) - 1
	for j > 0 {
		i := (j - 1) / 2
		if !e.before(&ev[i]) {
			break
		}
		ev[j] = ev[i]
		j = i
	}
	ev[j] = e
}

// pop removes and returns the earliest event. The heap must not be empty.
func (h *eventHeap) pop() event {
	ev := h.ev
	top := ev[0]
	n := len(ev) - 1
	last := ev[n]
	h.ev = ev[:n]
	ev = ev[:n]
	if n == 0 {
		return top
	}
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && ev[r].before(&ev[l]) {
			m = r
		}
		if !ev[m].before(&last) {
			break
		}
		ev[i] = ev[m]
		i = m
	}
	ev[i] = last
	return top
}
