package conntab

import (
	"math/bits"
)

// Key identifies a connection as IPVS's input lookup does
// (ip_vs_conn_in_get): <protocol, client address and port, virtual address
// and port>. A persistence template has Template set and CPort 0, and its
// CAddr is the client address masked to the service's persistence
// netmask (ip_vs_sched_persist).
type Key struct {
	Proto    uint8
	Template bool
	CPort    uint16
	VPort    uint16
	CAddr    uint32
	VAddr    uint32
}

// Entry is one connection or persistence template. The table owns it;
// pointers to it stay valid until Remove.
type Entry[V any] struct {
	Key
	DAddr uint32 // real server
	DPort uint16
	State State
	flags uint8
	ISN   uint32 // the client's initial sequence number (TCP)

	expires uint32 // tick at which the entry times out
	due     uint32 // tick at which the wheel visits it
	id      int32
	next    int32 // in-index chain, or free list
	onext   int32 // out-index chain
	wprev   int32
	wnext   int32
	slot    uint16 // wheel list holding the entry, noSlot if none
	control int32  // id+1 of the template controlling this connection, 0 if none
	nctl    int32  // connections this template controls

	// Value is the user's data (the director's lease and real server).
	Value V
}

const (
	fLive   = 1 << iota // allocated
	fIn                 // in the in-index
	fOut                // in the out-index
	fNoSlot             // not in any wheel list
)

// Expires returns the tick at which the entry times out.
func (e *Entry[V]) Expires() uint32 { return e.expires }

// Hashed reports whether the entry can be found by Lookup (false after
// Unhash).
func (e *Entry[V]) Hashed() bool { return e.flags&fIn != 0 }

// Controlled returns the number of connections a template controls.
func (e *Entry[V]) Controlled() int { return int(e.nctl) }

const (
	chunkBits  = 12
	chunkSize  = 1 << chunkBits
	wheelBits  = 10
	wheelSize  = 1 << wheelBits // slots of one tick each: 1024 s
	tmpList    = wheelSize      // the list Advance works from
	noSlot     = 0xffff
	minBuckets = 1024
)

// Table is a connection table: entries in chunks of a slab, found through
// two chained hash indexes (in: by client and virtual address; out: by
// real server and client address, for NAT replies), and timed out by a
// hashed timing wheel of 1024 one-tick slots.
//
// The thesis's IPVS times connections with a slow timer of 1 s resolution
// in three wheels (ch.5) rather than a kernel timer per connection. One
// hashed wheel (Varghese and Lauck's scheme 6) does the same job: an entry
// sits in the slot of its expiry tick modulo 1024, and one due more than
// 1023 ticks ahead waits in the farthest slot and is moved on when it is
// visited. Refreshing an entry on every packet only stores its new expiry;
// the entry moves between slots only when its expiry comes earlier than
// the slot it is in (a state with a shorter timeout), or when the wheel
// reaches it.
//
// A Table is not safe for concurrent use.
type Table[V any] struct {
	chunks [][]Entry[V]
	free   int32 // head of the free list, -1 if empty
	n      int   // live entries
	max    int

	in, out []int32 // bucket heads
	mask    uint64
	seed    [2]uint64

	heads [wheelSize + 1]int32 // wheel slots and the work list
	now   uint32               // last tick advanced to
}

// New returns an empty table holding at most max entries, its hash keyed
// by seed. It allocates memory as entries are added, never more than max
// entries' worth.
func New[V any](max int, seed uint64) *Table[V] {
	if max < 1 {
		max = 1
	}
	t := &Table[V]{free: -1, max: max}
	t.seed = [2]uint64{seed ^ 0x243f6a8885a308d3, bits.RotateLeft64(seed, 29) ^ 0x13198a2e03707344}
	for i := range t.heads {
		t.heads[i] = -1
	}
	t.resize(minBuckets)
	return t
}

// Len returns the number of entries.
func (t *Table[V]) Len() int { return t.n }

// Max returns the capacity given to New.
func (t *Table[V]) Max() int { return t.max }

// Now returns the last tick the table was advanced to.
func (t *Table[V]) Now() uint32 { return t.now }

func (t *Table[V]) at(id int32) *Entry[V] { return &t.chunks[id>>chunkBits][id&(chunkSize-1)] }

// hash mixes a 128-bit key with the table's seed (the folded 128-bit
// product, as wyhash does): keyed, so that addresses a client chooses
// cannot be aimed at one bucket.
func (t *Table[V]) hash(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^t.seed[0], b^t.seed[1])
	hi, lo = bits.Mul64(hi^lo^0x9e3779b97f4a7c15, t.seed[0]|1)
	return hi ^ lo
}

func inKey(k *Key) (uint64, uint64) {
	var tf uint64
	if k.Template {
		tf = 1 << 40
	}
	return uint64(k.CAddr)<<32 | uint64(k.VAddr), tf | uint64(k.Proto)<<32 | uint64(k.CPort)<<16 | uint64(k.VPort)
}

func outKey(proto uint8, daddr uint32, dport uint16, caddr uint32, cport uint16) (uint64, uint64) {
	return uint64(daddr)<<32 | uint64(caddr), uint64(proto)<<32 | uint64(dport)<<16 | uint64(cport)
}

func (t *Table[V]) resize(n int) {
	t.in = make([]int32, n)
	t.out = make([]int32, n)
	for i := range t.in {
		t.in[i], t.out[i] = -1, -1
	}
	t.mask = uint64(n - 1)
	for c := range t.chunks {
		for i := range t.chunks[c] {
			e := &t.chunks[c][i]
			if e.flags&fIn != 0 {
				t.linkIn(e)
			}
			if e.flags&fOut != 0 {
				t.linkOut(e)
			}
		}
	}
}

func (t *Table[V]) linkIn(e *Entry[V]) {
	h := t.hash(inKey(&e.Key)) & t.mask
	e.next = t.in[h]
	t.in[h] = e.id
}

func (t *Table[V]) linkOut(e *Entry[V]) {
	h := t.hash(outKey(e.Proto, e.DAddr, e.DPort, e.CAddr, e.CPort)) & t.mask
	e.onext = t.out[h]
	t.out[h] = e.id
}

// Lookup returns the hashed entry with key k, or nil.
func (t *Table[V]) Lookup(k Key) *Entry[V] {
	for id := t.in[t.hash(inKey(&k))&t.mask]; id >= 0; {
		e := t.at(id)
		if e.Key == k {
			return e
		}
		id = e.next
	}
	return nil
}

// LookupOut returns the entry in the out-index for a packet from a real
// server daddr:dport to a client caddr:cport (ip_vs_conn_out_get), or nil.
func (t *Table[V]) LookupOut(proto uint8, daddr uint32, dport uint16, caddr uint32, cport uint16) *Entry[V] {
	for id := t.out[t.hash(outKey(proto, daddr, dport, caddr, cport))&t.mask]; id >= 0; {
		e := t.at(id)
		if e.DAddr == daddr && e.DPort == dport && e.CAddr == caddr && e.CPort == cport && e.Proto == proto && !e.Template {
			return e
		}
		id = e.onext
	}
	return nil
}

// Insert adds an entry with key k, hashed in the in-index, timing out
// timeout ticks after now. It returns nil when the table is full. The
// caller sets the entry's other fields; it must not insert a key that is
// already hashed.
func (t *Table[V]) Insert(k Key, now, timeout uint32) *Entry[V] {
	if t.n >= t.max {
		return nil
	}
	var e *Entry[V]
	if t.free >= 0 {
		e = t.at(t.free)
		t.free = e.next
	} else {
		total := len(t.chunks) * chunkSize
		last := len(t.chunks) - 1
		if last < 0 || len(t.chunks[last]) == cap(t.chunks[last]) {
			size := min(chunkSize, t.max-total)
			t.chunks = append(t.chunks, make([]Entry[V], 0, max(size, 1)))
			last++
		}
		c := &t.chunks[last]
		*c = (*c)[:len(*c)+1]
		e = &(*c)[len(*c)-1]
		e.id = int32(last<<chunkBits | (len(*c) - 1))
	}
	id := e.id
	*e = Entry[V]{Key: k, id: id, flags: fLive | fIn | fNoSlot, slot: noSlot}
	t.n++
	if t.n > 2*len(t.in) && len(t.in) < 1<<30 {
		t.resize(2 * len(t.in)) // links e too
	} else {
		t.linkIn(e)
	}
	t.setExpiry(e, now, timeout)
	return e
}

// HashOut adds e to the out-index under its DAddr and DPort (a NAT
// connection, whose replies come back through the director).
func (t *Table[V]) HashOut(e *Entry[V]) {
	if e.flags&fOut == 0 {
		e.flags |= fOut
		t.linkOut(e)
	}
}

// Unhash takes e out of both indexes: it can no longer be found, but it
// lives until it times out or is removed (an invalidated template that
// still controls connections, ip_vs_check_template).
func (t *Table[V]) Unhash(e *Entry[V]) {
	if e.flags&fIn != 0 {
		unlinkChain(t, &t.in[t.hash(inKey(&e.Key))&t.mask], e.id, false)
		e.flags &^= fIn
	}
	if e.flags&fOut != 0 {
		unlinkChain(t, &t.out[t.hash(outKey(e.Proto, e.DAddr, e.DPort, e.CAddr, e.CPort))&t.mask], e.id, true)
		e.flags &^= fOut
	}
}

func unlinkChain[V any](t *Table[V], head *int32, id int32, out bool) {
	p := head
	for *p >= 0 {
		e := t.at(*p)
		if *p == id {
			if out {
				*p = e.onext
			} else {
				*p = e.next
			}
			return
		}
		if out {
			p = &e.onext
		} else {
			p = &e.next
		}
	}
}

// Refresh restarts e's timeout: it now times out timeout ticks after now
// (ip_vs_conn_put restarting the connection timer).
func (t *Table[V]) Refresh(e *Entry[V], now, timeout uint32) { t.setExpiry(e, now, timeout) }

func (t *Table[V]) setExpiry(e *Entry[V], now, timeout uint32) {
	if now < t.now {
		now = t.now
	}
	e.expires = now + max(timeout, 1)
	if e.flags&fNoSlot == 0 && e.due <= e.expires {
		return // the wheel reaches it first; it moves on then
	}
	t.schedule(e, now)
}

// schedule links e into the slot of its expiry, or of the farthest tick
// the wheel can hold.
func (t *Table[V]) schedule(e *Entry[V], now uint32) {
	t.unlinkWheel(e)
	due := e.expires
	if due-now >= wheelSize {
		due = now + wheelSize - 1
	}
	if due <= t.now {
		due = t.now + 1
	}
	e.due = due
	t.linkWheel(e, uint16(due&(wheelSize-1)))
}

func (t *Table[V]) linkWheel(e *Entry[V], slot uint16) {
	e.slot = slot
	e.flags &^= fNoSlot
	e.wprev = -1
	e.wnext = t.heads[slot]
	if e.wnext >= 0 {
		t.at(e.wnext).wprev = e.id
	}
	t.heads[slot] = e.id
}

func (t *Table[V]) unlinkWheel(e *Entry[V]) {
	if e.flags&fNoSlot != 0 {
		return
	}
	if e.wprev >= 0 {
		t.at(e.wprev).wnext = e.wnext
	} else {
		t.heads[e.slot] = e.wnext
	}
	if e.wnext >= 0 {
		t.at(e.wnext).wprev = e.wprev
	}
	e.flags |= fNoSlot
	e.slot = noSlot
}

// Remove deletes e: out of the indexes and the wheel, its template's
// count of controlled connections decremented, its slot reused. A template
// that still controls connections must not be removed.
func (t *Table[V]) Remove(e *Entry[V]) {
	if e.flags&fLive == 0 {
		return
	}
	t.Unhash(e)
	t.unlinkWheel(e)
	if e.control != 0 {
		t.at(e.control-1).nctl--
	}
	id := e.id
	*e = Entry[V]{id: id, next: t.free, slot: noSlot, flags: fNoSlot}
	t.free = id
	t.n--
}

// SetControl records that template controls e (ip_vs_control_add): the
// template cannot time out while it controls connections.
func (t *Table[V]) SetControl(e, template *Entry[V]) {
	if e.control != 0 {
		t.at(e.control-1).nctl--
	}
	e.control = template.id + 1
	template.nctl++
}

// Control returns the template controlling e, or nil.
func (t *Table[V]) Control(e *Entry[V]) *Entry[V] {
	if e.control == 0 {
		return nil
	}
	return t.at(e.control - 1)
}

// Advance moves the table's clock to tick now and calls expire for every
// entry whose timeout has passed, earliest slot first. expire must Remove
// the entry or Refresh it (a template that still controls connections is
// refreshed, as ip_vs_conn_expire restarts its timer); an entry it leaves
// as it was is given one more tick. expire may remove other entries.
func (t *Table[V]) Advance(now uint32, expire func(*Entry[V])) {
	if now <= t.now {
		return
	}
	from := t.now + 1
	if now-t.now > wheelSize {
		from = now - wheelSize + 1 // every slot once
	}
	// Entries are compared with now, not with the slot's tick: what has
	// timed out by now expires in this call, and expire sees Now() == now.
	t.now = now
	for tick := from; tick <= now; tick++ {
		slot := uint16(tick & (wheelSize - 1))
		// Move the slot's list to the work list, then take entries off
		// it one at a time, so that expire may remove or reschedule any
		// entry (the next one included) without breaking the walk.
		for id := t.heads[slot]; id >= 0; {
			e := t.at(id)
			id = e.wnext
			t.unlinkWheel(e)
			t.linkWheel(e, tmpList)
		}
		for t.heads[tmpList] >= 0 {
			e := t.at(t.heads[tmpList])
			t.unlinkWheel(e)
			if e.expires > now {
				t.schedule(e, now)
				continue
			}
			expire(e)
			if e.flags&fLive != 0 && e.flags&fNoSlot != 0 {
				e.expires = now + 1
				t.schedule(e, now)
			}
		}
	}
}

// Range calls fn for every entry, in no particular order, until fn
// returns false. fn must not insert or remove entries.
func (t *Table[V]) Range(fn func(*Entry[V]) bool) {
	for c := range t.chunks {
		for i := range t.chunks[c] {
			if e := &t.chunks[c][i]; e.flags&fLive != 0 && !fn(e) {
				return
			}
		}
	}
}
