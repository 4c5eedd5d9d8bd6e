package l4

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/conntab"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

// fuzzBed is a director with NAT, TUN and DR servers behind a persistent
// TCP service, a plain TCP service and a UDP service.
func fuzzBed(t testing.TB) (*Director, *time.Time) {
	now := t0
	nb := StaticNeighbors{}
	l := link.NewMem(net.HardwareAddr(dirMAC[:]), 1500)
	d, err := New(Config{Ports: []Port{{Link: l, Addr: dirAddr}}, Neighbors: nb, Now: func() time.Time { return now }, MaxConns: 64, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	keys := []ServiceConfig{
		{Key: tcpKey},
		{Key: ServiceKey{Proto: TCP, VIP: netip.MustParseAddrPort("198.18.0.254:443")}, Persistence: 30 * time.Second, PersistMask: 24},
		{Key: udpKey},
	}
	for _, c := range keys {
		c.Scheduler, _ = algorithms.New("wlc", algorithms.Options{})
		if err := d.AddService(c); err != nil {
			t.Fatal(err)
		}
		for i, m := range []Method{NAT, TUN, DR} {
			mac := rsMAC(i)
			nb[rsAddr(i)] = Hop{MAC: net.HardwareAddr(mac[:])}
			port := uint16(0)
			if m == NAT {
				port = 8080
			}
			rs := RealServer{Server: dataplane.Server{ID: algorithms.ServerID(i), Addr: netip.AddrPortFrom(rsAddr(i), port), Weight: 1, Upper: 20}, Method: m}
			if err := d.AddServer(c.Key, rs); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d, &now
}

// fuzzFrame turns a few bytes into a frame: client segments and datagrams
// for the services, real servers' replies, ICMP errors about both, and
// mangled copies of them.
func fuzzFrame(r *rand.Rand, op byte) []byte {
	c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(2)), byte(100 + r.IntN(3))}), uint16(1000+r.IntN(3)))
	ports := []uint16{80, 443, 53}
	vp := netip.AddrPortFrom(vip.Addr(), ports[r.IntN(3)])
	proto := uint8(6)
	if vp.Port() == 53 {
		proto = 17
	}
	flags := uint8(r.IntN(64))
	var f []byte
	switch op % 5 {
	case 0, 1:
		f = packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: c, Dst: vp, Proto: proto, Flags: flags,
			Seq: uint32(r.IntN(3)), DF: r.IntN(2) == 0, TTL: uint8(1 + r.IntN(3)), Payload: make([]byte, r.IntN(1500))})
	case 2:
		f = packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: rsMAC(0), Src: netip.AddrPortFrom(rsAddr(0), 8080), Dst: c,
			Proto: proto, Flags: flags, TTL: uint8(1 + r.IntN(3))})
	case 3:
		quoted := packettest.Frame(packettest.Spec{Src: vp, Dst: c, Proto: proto})
		if r.IntN(2) == 0 {
			quoted = packettest.Frame(packettest.Spec{Src: c, Dst: netip.AddrPortFrom(rsAddr(0), 8080), Proto: proto})
		}
		if r.IntN(3) == 0 {
			quoted = packettest.Frame(packettest.Spec{Src: netip.AddrPortFrom(dirAddr, 0), Dst: netip.AddrPortFrom(rsAddr(1), 0), Proto: 4, Payload: quoted[14:]})
		}
		dst := []netip.Addr{vip.Addr(), c.Addr(), dirAddr}[r.IntN(3)]
		f = packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: netip.AddrPortFrom(c.Addr(), 0),
			Dst: netip.AddrPortFrom(dst, 0), Proto: 1, ICMPType: []uint8{3, 11, 4, 8}[r.IntN(4)], ICMPCode: uint8(r.IntN(5)),
			ICMPRest: uint32(r.IntN(2000)), Payload: quoted[14 : 14+min(len(quoted)-14, 20+r.IntN(20))]})
	case 4:
		f = packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: c, Dst: vp, Proto: proto, Flags: flags})
		for range 1 + r.IntN(4) { // mangle
			if i := r.IntN(len(f)); i >= 12 {
				f[i] = byte(r.Uint32())
			}
		}
		f = f[:r.IntN(len(f)+1)]
	}
	return f
}

// Random frame sequences never crash the director, every frame it writes
// for a well-formed input verifies, and when time has run past every
// timeout the table is empty and every pool counter back to zero.
func FuzzDirector(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0, 0, 0, 2, 2, 2, 0, 0, 200, 3, 3, 3, 1, 1})
	f.Add([]byte("a connection of many packets and some time passing"))
	f.Fuzz(func(t *testing.T, ops []byte) { runFuzzOps(t, ops) })
}

func runFuzzOps(t testing.TB, ops []byte) {
	{
		d, now := fuzzBed(t)
		r := rand.New(rand.NewPCG(uint64(len(ops)), 1))
		for _, op := range ops {
			if op >= 240 { // time passes
				*now = now.Add(time.Duration(op-239) * 7 * time.Second)
				d.Tick(*now)
				continue
			}
			r = rand.New(rand.NewPCG(uint64(op), r.Uint64()))
			frame := fuzzFrame(r, op)
			wellFormed := op%5 != 4
			out := d.Process(*now, 0, []link.Frame{{Data: frame, CsumPartial: op%7 == 0 && op%5 < 3}})
			for _, o := range out[0] {
				var p packet.Packet
				if packet.Parse(o.Data, &p) != packet.OK {
					t.Fatalf("wrote a frame that does not parse: %x", o.Data)
				}
				if wellFormed && p.EtherType == packet.EtherTypeIPv4 {
					if err := packettest.Verify(o.Data); err != nil {
						t.Fatalf("op %d: %v", op, err)
					}
				}
			}
			if st := d.Stats(); st.Entries > st.MaxConns || st.Established > st.Entries {
				t.Fatalf("stats %+v", st)
			}
			checkControl(t, d)
		}
		// Two long steps: a template refreshed in the first (its
		// connections had not expired yet when the wheel reached it) goes
		// in the second.
		for range 2 {
			*now = now.Add(2 * time.Hour)
			d.Tick(*now)
		}
		st := d.Stats()
		if st.Entries != 0 {
			t.Fatalf("%d entries after every timeout: %+v", st.Entries, d.Conns())
		}
		for _, s := range st.Services {
			for _, rs := range s.Servers {
				if rs.Active != 0 || rs.Inactive != 0 {
					t.Fatalf("%v server %v: active %d inactive %d after every timeout", s.Key, rs.Addr, rs.Active, rs.Inactive)
				}
			}
		}
	}
}

// The fuzz target's invariants over many seeded sequences.
func TestRandomSequences(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range n {
		ops := make([]byte, 20+r.IntN(200))
		for i := range ops {
			ops[i] = byte(r.Uint32())
		}
		runFuzzOps(t, ops)
	}
}

// checkControl checks that every template's count of controlled
// connections is the number of connections pointing at it.
func checkControl(t testing.TB, d *Director) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	counts := map[*conntab.Entry[conn]]int{}
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		if c := d.tab.Control(e); c != nil {
			if !c.Template {
				t.Fatalf("connection %+v controlled by a non-template %+v", e.Key, c.Key)
			}
			counts[c]++
		}
		return true
	})
	d.tab.Range(func(e *conntab.Entry[conn]) bool {
		if e.Template && e.Controlled() != counts[e] {
			t.Fatalf("template %+v counts %d connections, %d point at it", e.Key, e.Controlled(), counts[e])
		}
		return true
	})
}
