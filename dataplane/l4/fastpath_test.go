package l4

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/l4/packet"
)

// fakeFast is a fast path in memory: the test plays the kernel, setting
// an entry's counters as if packets had bypassed the director.
type fakeFast struct {
	flows      map[FastKey]*fakeFlow
	installErr error
	installs   int
}

type fakeFlow struct {
	FastFlow
	FastStats
}

func newFakeFast() *fakeFast { return &fakeFast{flows: map[FastKey]*fakeFlow{}} }

func (f *fakeFast) Install(fl FastFlow) error {
	if f.installErr != nil {
		return f.installErr
	}
	f.installs++
	f.flows[fl.FastKey] = &fakeFlow{FastFlow: fl}
	return nil
}

func (f *fakeFast) Lookup(k FastKey) (FastStats, bool, error) {
	if e, ok := f.flows[k]; ok {
		return e.FastStats, true, nil
	}
	return FastStats{}, false, nil
}

func (f *fakeFast) Remove(k FastKey) (FastStats, bool, error) {
	e, ok := f.flows[k]
	if !ok {
		return FastStats{}, false, nil
	}
	delete(f.flows, k)
	return e.FastStats, true, nil
}

func (f *fakeFast) Walk(fn func(FastKey, FastStats)) error {
	for k, e := range f.flows {
		fn(k, e.FastStats)
	}
	return nil
}

// forward plays n packets of ipLen bytes through the fast path, the last
// one idle ago.
func (f *fakeFast) forward(k FastKey, n, ipLen int, idle time.Duration) {
	e := f.flows[k]
	e.Packets += uint64(n)
	e.Bytes += uint64(n * ipLen)
	e.Idle = idle
}

func clientKey() FastKey {
	return FastKey{Proto: 6, CAddr: u32(client.Addr()), CPort: client.Port(), VAddr: u32(vip.Addr()), VPort: vip.Port()}
}

// open makes the client's connection ESTABLISHED through the director.
func (b *bed) open() {
	b.t.Helper()
	b.one(fromClient(client, packet.SYN, 1, ""))
	b.one(fromClient(client, packet.ACK, 2, ""))
}

func TestFastPathInstall(t *testing.T) {
	for _, m := range []Method{DR, NAT, TUN} {
		t.Run(m.String(), func(t *testing.T) {
			fp := newFakeFast()
			b := newBed(t, bedConfig{methods: []Method{m}, fast: fp})
			b.one(fromClient(client, packet.SYN, 1, ""))
			if len(fp.flows) != 0 {
				t.Fatal("installed at the SYN")
			}
			b.one(fromClient(client, packet.ACK, 2, ""))
			if m != DR {
				if len(fp.flows) != 0 {
					t.Fatalf("%v connection installed", m)
				}
				return
			}
			e := fp.flows[clientKey()]
			if e == nil {
				t.Fatalf("ESTABLISHED DR connection not installed: %v", fp.flows)
			}
			if e.DstMAC != rsMAC(0) || e.SrcMAC != dirMAC || e.MTU != 1500 {
				t.Fatalf("entry %+v", e.FastFlow)
			}
			// A packet that comes up anyway (the fast path passed it) is
			// forwarded and does not install again.
			b.one(fromClient(client, packet.ACK|packet.PSH, 3, "x"))
			if fp.installs != 1 {
				t.Fatalf("%d installs", fp.installs)
			}
		})
	}
}

func TestFastPathCloseFolds(t *testing.T) {
	for _, flags := range []uint8{packet.FIN | packet.ACK, packet.RST} {
		fp := newFakeFast()
		b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
		b.open()
		before := b.d.Stats().Services[0].Servers[0].Counters
		fp.forward(clientKey(), 7, 100, 0)
		b.one(fromClient(client, flags, 3, ""))
		if len(fp.flows) != 0 {
			t.Fatalf("flags %#x: entry still installed after the connection left ESTABLISHED", flags)
		}
		s := b.d.Stats()
		after := s.Services[0].Servers[0].Counters
		if after.InPkts-before.InPkts != 8 || after.InBytes-before.InBytes != 700+40 {
			t.Fatalf("flags %#x: server counters grew by %d packets, %d bytes; want 8, 740", flags,
				after.InPkts-before.InPkts, after.InBytes-before.InBytes)
		}
		if s.Services[0].InPkts != after.InPkts {
			t.Fatalf("service counts %d packets, server %d", s.Services[0].InPkts, after.InPkts)
		}
		if s.Fast.Installed != 1 || s.Fast.Removed != 1 || s.Fast.Packets != 7 {
			t.Fatalf("fast counters %+v", s.Fast)
		}
		if a, _ := b.pool(0); a != 0 {
			t.Fatalf("%d active after close", a)
		}
	}
}

// An installed connection whose packets bypass the director does not time
// out while they flow; it does once they stop.
func TestFastPathKeepsAlive(t *testing.T) {
	fp := newFakeFast()
	b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp, timeouts: Timeouts{Established: 10 * time.Second}})
	b.open()
	for range 5 { // 50 s of traffic, none of it through the director
		b.advance(5 * time.Second)
		fp.forward(clientKey(), 10, 100, 500*time.Millisecond)
		b.advance(5 * time.Second)
		if st := b.d.Stats(); st.Established != 1 {
			t.Fatalf("at %v: connection timed out while the fast path forwarded its packets", b.now.Sub(t0))
		}
	}
	if a, _ := b.pool(0); a != 1 {
		t.Fatalf("%d active, want 1", a)
	}
	// Quiet since the last packet: it times out 10 s after that packet.
	fp.flows[clientKey()].Idle = 7 * time.Second
	b.advance(2 * time.Second)
	if st := b.d.Stats(); st.Established != 1 {
		t.Fatal("timed out 9 s after its last packet, timeout 10 s")
	}
	fp.flows[clientKey()].Idle = 11 * time.Second
	b.advance(10 * time.Second)
	st := b.d.Stats()
	if st.Entries != 0 || len(fp.flows) != 0 {
		t.Fatalf("%d entries, %d fast entries after the connection went quiet", st.Entries, len(fp.flows))
	}
	if got := st.Services[0].Servers[0].InPkts; got != 2+50 {
		t.Fatalf("server in packets %d, want 52", got)
	}
	if a, i := b.pool(0); a != 0 || i != 0 {
		t.Fatalf("pool %d active, %d inactive after expiry", a, i)
	}
}

// The rate estimator sees the fast path's packets: they are folded in
// every 2 s.
func TestFastPathSweep(t *testing.T) {
	fp := newFakeFast()
	b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
	b.open()
	fp.forward(clientKey(), 1000, 100, 0)
	b.advance(2 * time.Second)
	s := b.d.Stats().Services[0]
	if s.InPkts != 1002 || s.InPPS == 0 {
		t.Fatalf("service in packets %d, rate %d", s.InPkts, s.InPPS)
	}
	b.advance(2 * time.Second) // nothing new: nothing folded twice
	if s := b.d.Stats().Services[0]; s.InPkts != 1002 {
		t.Fatalf("service in packets %d after a quiet sweep", s.InPkts)
	}
}

// A deleted real server's connections leave the fast path, so that their
// next packet comes up and ends them (expire_nodest_conn).
func TestFastPathServerDeleted(t *testing.T) {
	fp := newFakeFast()
	b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
	b.open()
	if err := b.d.DeleteServer(tcpKey, netip.AddrPortFrom(rsAddr(0), 0)); err != nil {
		t.Fatal(err)
	}
	if len(fp.flows) != 0 {
		t.Fatal("the deleted server's connection is still in the fast path")
	}
	b.none(fromClient(client, packet.ACK, 3, ""), DropDestRemoved)
}

// A real server whose next hop changes has its connections installed
// again with the new MAC.
func TestFastPathNeighborChange(t *testing.T) {
	fp := newFakeFast()
	b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
	b.open()
	mac := rsMAC(9)
	b.nb[rsAddr(0)] = Hop{Port: 0, MAC: net.HardwareAddr(mac[:])}
	b.advance(time.Second)
	if len(fp.flows) != 0 {
		t.Fatal("connection still installed with the old next hop")
	}
	b.one(fromClient(client, packet.ACK, 3, ""))
	if e := fp.flows[clientKey()]; e == nil || e.DstMAC != mac {
		t.Fatalf("not installed again with the new MAC: %v", e)
	}
}

// An entry the kernel evicted is installed again at the connection's next
// packet; a failing fast path leaves the connection to the director.
func TestFastPathEvictedAndErrors(t *testing.T) {
	fp := newFakeFast()
	b := newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
	b.open()
	delete(fp.flows, clientKey())
	b.one(fromClient(client, packet.ACK, 3, "")) // noticed by the next sweep only
	if fp.installs != 1 {
		t.Fatalf("%d installs before the sweep", fp.installs)
	}
	b.advance(2 * time.Second)
	b.one(fromClient(client, packet.ACK, 4, ""))
	if fp.flows[clientKey()] == nil {
		t.Fatal("evicted entry not installed again")
	}
	if s := b.d.Stats().Fast; s.Evicted != 1 || s.Installed != 2 {
		t.Fatalf("fast counters %+v", s)
	}

	fp = newFakeFast()
	fp.installErr = errors.New("map full")
	b = newBed(t, bedConfig{methods: []Method{DR}, fast: fp})
	b.open()
	b.one(fromClient(client, packet.ACK, 3, ""))
	if s := b.d.Stats().Fast; s.Errors != 2 || s.Installed != 0 {
		t.Fatalf("fast counters %+v", s)
	}
}
