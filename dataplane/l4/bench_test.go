package l4

import (
	"net/netip"
	"runtime"
	"testing"
	"unsafe"

	"github.com/lvslab/lvslab/dataplane/l4/conntab"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

const benchBatch = 64

// forwardCase is an established connection and a frame of it to send
// again and again.
type forwardCase struct {
	name  string
	b     *bed
	frame []byte
}

func forwardCases(tb testing.TB) []forwardCase {
	var cases []forwardCase
	for _, m := range []Method{NAT, TUN, DR} {
		b := newBed(tb, bedConfig{methods: []Method{m}, alg: "wlc"})
		b.one(fromClient(client, syn, 1, ""))
		b.one(fromClient(client, ack, 2, ""))
		cases = append(cases, forwardCase{m.String() + "/request", b, fromClient(client, ack|psh, 2, "GET / HTTP/1.0\r\n\r\n")})
		if m == NAT {
			cases = append(cases, forwardCase{"nat/reply", b, fromServer(0, client, ack|psh, string(make([]byte, 1024)))})
		}
	}
	return cases
}

// The forwarding path allocates nothing, whatever the method.
func TestForwardAllocs(t *testing.T) {
	for _, c := range forwardCases(t) {
		frames := make([]link.Frame, benchBatch)
		bufs := make([][]byte, benchBatch)
		for i := range bufs {
			bufs[i] = make([]byte, len(c.frame))
		}
		allocs := testing.AllocsPerRun(100, func() {
			for i := range frames {
				copy(bufs[i], c.frame)
				frames[i] = link.Frame{Data: bufs[i]}
			}
			out := c.b.d.Process(c.b.now, 0, frames)
			if len(out[0]) != benchBatch {
				t.Fatalf("%s: %d frames out", c.name, len(out[0]))
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per batch", c.name, allocs)
		}
	}
}

// BenchmarkForward measures the director's cost per packet of an
// established connection, in batches of 64 as a ring delivers them (the
// copy of each frame into its buffer included).
func BenchmarkForward(b *testing.B) {
	for _, c := range forwardCases(b) {
		b.Run(c.name, func(b *testing.B) {
			frames := make([]link.Frame, benchBatch)
			bufs := make([][]byte, benchBatch)
			for i := range bufs {
				bufs[i] = make([]byte, len(c.frame))
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(c.frame) * benchBatch))
			for b.Loop() {
				for i := range frames {
					copy(bufs[i], c.frame)
					frames[i] = link.Frame{Data: bufs[i]}
				}
				c.b.d.Process(c.b.now, 0, frames)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchBatch), "ns/pkt")
		})
	}
}

// BenchmarkNewConnection measures scheduling a connection: a SYN with a
// new ISN on a reused client port ends the old entry and schedules the
// new one (WLC over 8 servers), as the first packet of every connection
// costs.
func BenchmarkNewConnection(b *testing.B) {
	for _, m := range []Method{NAT, DR} {
		b.Run(m.String(), func(b *testing.B) {
			bd := newBed(b, bedConfig{alg: "wlc", methods: []Method{m, m, m, m, m, m, m, m}})
			const clients = 4096
			syns := make([][]byte, clients)
			for i := range syns {
				syns[i] = fromClient(clientN(i), syn, 1, "")
			}
			buf := make([]byte, len(syns[0]))
			frames := []link.Frame{{Data: buf}}
			seq := uint32(0)
			b.ReportAllocs()
			for b.Loop() {
				i := int(seq % clients)
				copy(buf, syns[i])
				buf[14+20+4+3] = byte(seq / clients) // a new ISN each round
				seq++
				frames[0].Data = buf
				bd.d.Process(bd.now, 0, frames)
			}
		})
	}
}

// The connection table's memory per entry with the director's value,
// against the thesis's 128 bytes; Config.MaxConns times it is the budget.
func TestConnBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 10^5 entries")
	}
	var e conntab.Entry[conn]
	t.Logf("entry %d bytes (the director's value %d: a dataplane.Lease %d, a server pointer, a MAC, a port, a method)",
		unsafe.Sizeof(e), unsafe.Sizeof(e.Value), unsafe.Sizeof(e.Value.lease))
	const n = 100000
	b := newBed(t, bedConfig{methods: []Method{NAT}, maxConns: n})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1000)
		out := b.send(packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: c, Dst: vip, Proto: 6, Flags: syn}))
		if len(out) != 1 {
			t.Fatalf("connection %d not forwarded: %v", i, b.drops())
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := b.d.Stats(); st.Entries != n {
		t.Fatalf("%d entries", st.Entries)
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes of heap per connection (entry, hash buckets), %d connections", per, n)
	if per > 2*float64(unsafe.Sizeof(e)) {
		t.Errorf("%.0f bytes per connection, more than twice the entry's %d", per, unsafe.Sizeof(e))
	}
	b.none(fromClient(client, syn, 1, ""), DropTableFull)
}
