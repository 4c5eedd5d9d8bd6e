package algorithms

import (
	"fmt"
	"time"
)

// DefaultTableExpiry is how long an unused entry stays in a table keyed by
// request (Options.TableExpiry): ip_vs_lblc.c's DEFAULT_EXPIRATION, the
// default of the lblc_expiration and lblcr_expiration sysctls.
const DefaultTableExpiry = 24 * time.Hour

// DefaultMaxEntries is the default bound on the entries of a table keyed
// by request (Options.MaxEntries): seven times the 37,804 distinct targets
// of the thesis's trace (§6.3.7), and sixteen times ip_vs_lblc.c's
// max_size, so that neither the thesis's workloads nor an IPVS-sized
// table ever reach it.
const DefaultMaxEntries = 1 << 18

// keyTable is a table of entries keyed by an arbitrary string (a URL
// target), bounded by size and by age as ip_vs_lblc.c bounds its table:
//
//   - it holds at most max entries: inserting into a full table first
//     removes the least recently used entry (the kernel instead collects
//     entries unused for 6 minutes once a minute while it is over
//     max_size, which lets the table grow without bound between checks);
//   - an entry unused for expire or longer is removed (the kernel's
//     full check, every 30 minutes, with lblc_expiration of 24 h); the
//     check runs at every use of the table, so removal is exact rather
//     than up to 30 minutes late.
//
// Entries sit on a list in order of last use, oldest first, so both
// removals take the oldest entries: deterministic (no map iteration) and
// O(1) per entry removed, amortised over the insertions. Entries live in
// blocks that never move, so a value's address is stable while its entry
// lives, and the slot of a removed entry is reused, with its value's
// storage, by the next insertion: a table that stays full allocates
// nothing.
type keyTable[V any] struct {
	max    int
	expire time.Duration
	index  map[string]int32
	blocks [][]keyEntry[V] // keyBlock entries each
	used   int32           // slots handed out so far
	free   int32           // a removed entry's slot, chained through next; -1: none
	head   int32           // least recently used entry; -1: empty
	tail   int32           // most recently used entry
	now    time.Duration   // latest time seen
}

type keyEntry[V any] struct {
	key        string
	lastUse    time.Duration
	prev, next int32
	val        V
}

// keyBlock is the number of entries allocated at once.
const keyBlock = 64

func newKeyTable[V any](max int, expire time.Duration) keyTable[V] {
	return keyTable[V]{max: max, expire: expire, index: make(map[string]int32), free: -1, head: -1, tail: -1}
}

// resolveTableBounds resolves Options.MaxEntries and Options.TableExpiry.
func resolveTableBounds(name string, o Options) (max int, expire time.Duration, err error) {
	switch {
	case o.MaxEntries < 0:
		return 0, 0, fmt.Errorf("algorithms: %s: max entries must be >= 0, got %d", name, o.MaxEntries)
	case o.TableExpiry < 0:
		return 0, 0, fmt.Errorf("algorithms: %s: table expiry must be >= 0, got %v", name, o.TableExpiry)
	}
	max, expire = o.MaxEntries, o.TableExpiry
	if max == 0 {
		max = DefaultMaxEntries
	}
	if expire == 0 {
		expire = DefaultTableExpiry
	}
	return max, expire, nil
}

func (t *keyTable[V]) at(i int32) *keyEntry[V] { return &t.blocks[i/keyBlock][i%keyBlock] }

// Len returns the number of entries.
func (t *keyTable[V]) Len() int { return len(t.index) }

// advance records the time now (an earlier now counts as the latest seen)
// and removes the entries unused for expire or longer. It returns now.
func (t *keyTable[V]) advance(now time.Duration) time.Duration {
	if now < t.now {
		now = t.now
	}
	t.now = now
	for t.head >= 0 && now-t.at(t.head).lastUse >= t.expire {
		t.remove(t.head)
	}
	return now
}

// peek returns key's value without counting a use, or nil.
func (t *keyTable[V]) peek(key string) *V {
	if i, ok := t.index[key]; ok {
		return &t.at(i).val
	}
	return nil
}

// use returns key's value and records a use at the latest time seen
// (advance), or nil if key has no entry.
func (t *keyTable[V]) use(key string) *V {
	i, ok := t.index[key]
	if !ok {
		return nil
	}
	e := t.at(i)
	e.lastUse = t.now
	if i != t.tail {
		t.unlink(i, e)
		t.pushBack(i, e)
	}
	return &e.val
}

// insert adds an entry for key, which must have none, used at the latest
// time seen, removing the least recently used entry first if the table is
// full. The value it returns holds whatever a removed entry's value held
// (or V's zero value): the caller resets it, and may reuse its storage.
func (t *keyTable[V]) insert(key string) *V {
	if len(t.index) >= t.max {
		t.remove(t.head)
	}
	var i int32
	switch {
	case t.free >= 0:
		i = t.free
		t.free = t.at(i).next
	default:
		if int(t.used) == len(t.blocks)*keyBlock {
			t.blocks = append(t.blocks, make([]keyEntry[V], keyBlock))
		}
		i = t.used
		t.used++
	}
	e := t.at(i)
	e.key, e.lastUse = key, t.now
	t.pushBack(i, e)
	t.index[key] = i
	return &e.val
}

// remove takes entry i out of the table and puts its slot on the free
// list. The value is left as it is, for the next insert to reuse.
func (t *keyTable[V]) remove(i int32) {
	e := t.at(i)
	t.unlink(i, e)
	delete(t.index, e.key)
	e.key = "" // do not keep the key's bytes alive
	e.next = t.free
	t.free = i
}

func (t *keyTable[V]) unlink(i int32, e *keyEntry[V]) {
	if e.prev >= 0 {
		t.at(e.prev).next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.at(e.next).prev = e.prev
	} else {
		t.tail = e.prev
	}
}

func (t *keyTable[V]) pushBack(i int32, e *keyEntry[V]) {
	e.prev, e.next = t.tail, -1
	if t.tail >= 0 {
		t.at(t.tail).next = i
	} else {
		t.head = i
	}
	t.tail = i
}

// all calls f with every entry's key and value, least recently used first.
func (t *keyTable[V]) all(f func(key string, v *V)) {
	for i := t.head; i >= 0; {
		e := t.at(i)
		f(e.key, &e.val)
		i = e.next
	}
}
