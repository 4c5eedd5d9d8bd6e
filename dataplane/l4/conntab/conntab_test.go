package conntab

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

const (
	syn = flagSYN
	ack = flagACK
	fin = flagFIN
	rst = flagRST
)

// Spot checks of IPVS's TCP tables: a NAT handshake and close seen in both
// directions, the same connection seen input-only (DR/TUN), RST's
// precedence, and a packet with no flags.
func TestNextTCP(t *testing.T) {
	tests := []struct {
		name  string
		from  State
		dir   Dir
		flags uint8
		want  State
	}{
		{"client SYN opens", None, Input, syn, SynRecv},
		{"server SYN-ACK keeps SYN_RECV", SynRecv, Output, syn | ack, SynRecv},
		{"client ACK establishes", SynRecv, Input, ack, Established},
		{"client FIN (NAT) is close-wait", Established, Input, fin | ack, CloseWait},
		{"client FIN (input only) is fin-wait", Established, InputOnly, fin | ack, FinWait},
		{"server FIN after client FIN is time-wait", CloseWait, Output, fin | ack, TimeWait},
		{"server FIN first is fin-wait", Established, Output, fin | ack, FinWait},
		{"client ACK in fin-wait (input only) stays", FinWait, InputOnly, ack, FinWait},
		{"client FIN in fin-wait is time-wait", FinWait, Input, fin, TimeWait},
		{"rst beats syn", Established, Input, rst | syn, Close},
		{"rst in syn-recv (input) stays", SynRecv, Input, rst, SynRecv},
		{"rst in synack (input only) closes", SynAck, InputOnly, rst, Close},
		{"syn on established stays", Established, Input, syn, Established},
		{"no flags closes", Established, Input, 0, Close},
		{"psh alone closes", Established, Input, 0x08, Close},
		{"ack in last-ack closes (input)", LastAck, Input, ack, Close},
		{"ack in last-ack stays (output)", LastAck, Output, ack, LastAck},
		{"syn in time-wait reopens", TimeWait, Input, syn, SynRecv},
		{"unknown state closes", UDP, Input, ack, Close},
		{"unknown dir closes", Established, Dir(7), ack, Close},
	}
	for _, tc := range tests {
		if got := NextTCP(tc.from, tc.dir, tc.flags); got != tc.want {
			t.Errorf("%s: NextTCP(%v, %d, %#x) = %v, want %v", tc.name, tc.from, tc.dir, tc.flags, got, tc.want)
		}
	}
	if Established.String() != "ESTABLISHED" || State(99).String() != "ERR!" {
		t.Error("names")
	}
}

func key(i int) Key {
	return Key{Proto: 6, CAddr: uint32(0x0a000000 + i), CPort: uint16(1024 + i%50000), VAddr: 0xc0a80001, VPort: 80}
}

func TestInsertLookupRemove(t *testing.T) {
	tab := New[int](100000, 1)
	const n = 20000 // several resizes
	for i := range n {
		e := tab.Insert(key(i), 0, 60)
		if e == nil {
			t.Fatal("full")
		}
		e.Value = i
		e.DAddr, e.DPort = uint32(i%7), 8080
		if i%2 == 0 {
			tab.HashOut(e)
		}
	}
	if tab.Len() != n {
		t.Fatalf("Len %d", tab.Len())
	}
	for i := range n {
		e := tab.Lookup(key(i))
		if e == nil || e.Value != i {
			t.Fatalf("lookup %d: %v", i, e)
		}
		k := key(i)
		o := tab.LookupOut(6, uint32(i%7), 8080, k.CAddr, k.CPort)
		if (o != nil) != (i%2 == 0) || o != nil && o != e {
			t.Fatalf("lookup out %d: %v", i, o)
		}
	}
	if tab.Lookup(Key{Proto: 17, CAddr: key(1).CAddr, CPort: key(1).CPort, VAddr: key(1).VAddr, VPort: 80}) != nil {
		t.Error("protocol ignored")
	}
	tk := key(3)
	tk.Template, tk.CPort = true, 0
	if tab.Lookup(tk) != nil {
		t.Error("template found for a connection")
	}
	for i := 0; i < n; i += 3 {
		tab.Remove(tab.Lookup(key(i)))
	}
	for i := range n {
		if (tab.Lookup(key(i)) == nil) != (i%3 == 0) {
			t.Fatalf("after removal, lookup %d wrong", i)
		}
	}
	// freed slots are reused before the slab grows
	chunks := len(tab.chunks)
	for i := 0; i < n; i += 3 {
		tab.Insert(key(i+n), 0, 60)
	}
	if len(tab.chunks) != chunks {
		t.Errorf("slab grew from %d to %d chunks with free slots", chunks, len(tab.chunks))
	}
	e := tab.Lookup(key(4))
	tab.Unhash(e)
	if tab.Lookup(key(4)) != nil || tab.LookupOut(6, e.DAddr, 8080, e.CAddr, e.CPort) != nil || tab.Len() != n {
		t.Error("unhash")
	}
	tab.Remove(e)
	tab.Remove(e) // twice: nothing
	if tab.Len() != n-1 {
		t.Errorf("Len %d after double remove", tab.Len())
	}
}

func TestFull(t *testing.T) {
	tab := New[int](5000, 2) // not a multiple of the chunk size
	for i := range 5000 {
		if tab.Insert(key(i), 0, 10) == nil {
			t.Fatalf("full at %d", i)
		}
	}
	if tab.Insert(key(9999), 0, 10) != nil {
		t.Fatal("inserted past max")
	}
	tab.Remove(tab.Lookup(key(17)))
	if tab.Insert(key(9999), 0, 10) == nil {
		t.Fatal("no room after a removal")
	}
}

// Entries time out at the tick their timeout says, whatever the refreshes,
// shortenings, long timeouts and jumps in time.
func TestWheel(t *testing.T) {
	type step struct {
		at      uint32
		op      string // "add", "refresh", "advance" (tick by tick), "jump" (one Advance)
		key     int
		timeout uint32
	}
	tests := []struct {
		name    string
		steps   []step
		expired map[int]uint32 // key -> tick at which expire was called
	}{
		{"plain", []step{{0, "add", 1, 10}, {0, "add", 2, 3}, {20, "advance", 0, 0}}, map[int]uint32{1: 10, 2: 3}},
		{"refresh later", []step{{0, "add", 1, 10}, {5, "advance", 0, 0}, {5, "refresh", 1, 10}, {30, "advance", 0, 0}}, map[int]uint32{1: 15}},
		{"refresh shorter", []step{{0, "add", 1, 900}, {2, "advance", 0, 0}, {2, "refresh", 1, 10}, {1000, "advance", 0, 0}}, map[int]uint32{1: 12}},
		{"beyond the wheel", []step{{0, "add", 1, 3000}, {0, "add", 2, 1024}, {0, "add", 3, 1023}, {5000, "advance", 0, 0}},
			map[int]uint32{1: 3000, 2: 1024, 3: 1023}},
		{"tick by tick", []step{{0, "add", 1, 2000}, {1, "advance", 0, 0}, {1999, "advance", 0, 0}, {2000, "advance", 0, 0}}, map[int]uint32{1: 2000}},
		{"jump over many rounds", []step{{0, "add", 1, 5}, {0, "add", 2, 3500}, {100000, "jump", 0, 0}}, map[int]uint32{1: 100000, 2: 100000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab := New[int](100, 3)
			got := map[int]uint32{}
			for _, s := range tc.steps {
				switch s.op {
				case "add":
					tab.Insert(key(s.key), s.at, s.timeout).Value = s.key
				case "refresh":
					tab.Refresh(tab.Lookup(key(s.key)), s.at, s.timeout)
				case "jump":
					tab.Advance(s.at, func(e *Entry[int]) { got[e.Value] = tab.Now(); tab.Remove(e) })
				case "advance":
					for tick := tab.Now() + 1; tick <= s.at; tick++ {
						tab.Advance(tick, func(e *Entry[int]) { got[e.Value] = tick; tab.Remove(e) })
					}
				}
			}
			if len(got) != len(tc.expired) {
				t.Fatalf("expired %v, want %v", got, tc.expired)
			}
			for k, at := range tc.expired {
				if got[k] != at {
					t.Errorf("key %d expired at %d, want %d", k, got[k], at)
				}
			}
			if tab.Len() != 0 {
				t.Errorf("%d entries left", tab.Len())
			}
		})
	}
}

// A template does not time out while it controls connections; expire may
// remove other entries, the next one in the slot included.
func TestTemplatesAndRemovalDuringExpire(t *testing.T) {
	tab := New[int](100, 4)
	tk := key(0)
	tk.Template, tk.CPort = true, 0
	tmpl := tab.Insert(tk, 0, 5)
	tmpl.Value = -1
	c1 := tab.Insert(key(1), 0, 5)
	c1.Value = 1
	c2 := tab.Insert(key(2), 0, 20)
	c2.Value = 2
	tab.SetControl(c1, tmpl)
	tab.SetControl(c2, tmpl)
	if tab.Control(c1) != tmpl || tmpl.Controlled() != 2 {
		t.Fatal("control")
	}
	var order []int
	expire := func(e *Entry[int]) {
		order = append(order, e.Value)
		if e.Controlled() > 0 {
			tab.Refresh(e, tab.Now(), 5)
			return
		}
		tab.Remove(e)
	}
	for tick := uint32(1); tick <= 40; tick++ {
		tab.Advance(tick, expire)
	}
	// at 5: the template (refreshed, controls c2) and c1 expire; at 10 and 15 the template again; at 20 c2, then the template at 20 or 25
	if tab.Len() != 0 {
		t.Fatalf("left %d entries, order %v", tab.Len(), order)
	}
	if order[len(order)-1] != -1 {
		t.Errorf("template expired before its connections: %v", order)
	}
	// removing the next entry of the same slot from expire
	tab = New[int](100, 5)
	a := tab.Insert(key(1), 0, 5)
	b := tab.Insert(key(2), 0, 5)
	a.Value, b.Value = 1, 2
	calls := 0
	tab.Advance(5, func(e *Entry[int]) {
		calls++
		other := a
		if e == a {
			other = b
		}
		tab.Remove(other)
		tab.Remove(e)
	})
	if calls != 1 || tab.Len() != 0 {
		t.Errorf("calls %d, left %d", calls, tab.Len())
	}
	// an entry expire leaves alone gets another tick
	tab.Insert(key(3), 5, 1)
	n := 0
	tab.Advance(6, func(e *Entry[int]) { n++ })
	tab.Advance(7, func(e *Entry[int]) { n++; tab.Remove(e) })
	if n != 2 || tab.Len() != 0 {
		t.Errorf("untouched entry: %d calls, %d left", n, tab.Len())
	}
}

// Random operations against a map model: every entry expires exactly at
// its last expiry, and lookups agree.
func TestWheelRandomAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	tab := New[int](4000, 9)
	model := map[int]uint32{} // key -> expiry
	now := uint32(0)
	for step := range 200000 {
		k := r.IntN(3000)
		switch r.IntN(4) {
		case 0, 1:
			to := uint32(1 + r.IntN(1500))
			if e := tab.Lookup(key(k)); e != nil {
				tab.Refresh(e, now, to)
			} else {
				tab.Insert(key(k), now, to).Value = k
			}
			model[k] = now + to
		case 2:
			if e := tab.Lookup(key(k)); e != nil {
				tab.Remove(e)
				delete(model, k)
			}
		case 3:
			prev := now
			now += uint32(r.IntN(3))
			tab.Advance(now, func(e *Entry[int]) {
				if model[e.Value] > tab.Now() || model[e.Value] <= prev {
					t.Fatalf("step %d: key %d expired at %d, want %d", step, e.Value, tab.Now(), model[e.Value])
				}
				delete(model, e.Value)
				tab.Remove(e)
			})
		}
		if tab.Len() != len(model) {
			t.Fatalf("step %d: Len %d, model %d", step, tab.Len(), len(model))
		}
		if step%500 == 0 {
			for k, exp := range model {
				if exp <= tab.Now() {
					t.Fatalf("step %d: key %d due at %d still there at %d", step, k, exp, tab.Now())
				}
			}
		}
	}
}

// The thesis's IPVS spent 128 bytes per connection (ch.5). This measures
// the table's cost per entry with a value the size of the director's.
func TestBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 10^5 entries")
	}
	type value [88]byte // the size of the director's per-connection value
	const n = 100000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := New[value](n, 10)
	for i := range n {
		e := tab.Insert(key(i), 0, 60)
		tab.HashOut(e)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per entry (entry %d + value %d + index buckets), %d entries", per,
		sizeofEntry[value](), sizeofValue[value](), tab.Len())
	if per > 256 {
		t.Errorf("%.0f bytes per entry, budget 256", per)
	}
	runtime.KeepAlive(tab)
}
