package l4

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

var (
	dirMAC    = packettest.MAC(1)
	clientMAC = packettest.MAC(0x10)
	dirAddr   = netip.MustParseAddr("198.18.0.1")
	vip       = netip.MustParseAddrPort("198.18.0.254:80")
	client    = netip.MustParseAddrPort("198.18.0.101:40000")
	tcpKey    = ServiceKey{Proto: TCP, VIP: vip}
	udpKey    = ServiceKey{Proto: UDP, VIP: netip.MustParseAddrPort("198.18.0.254:53")}
	t0        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func rsMAC(i int) [6]byte { return packettest.MAC(byte(0x20 + i)) }

func rsAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, byte(11 + i)}) }

// bed is a director with one port, in-memory, and a hand-turned clock.
type bed struct {
	t   testing.TB
	d   *Director
	mem *link.Mem
	nb  StaticNeighbors
	now time.Time
}

type bedConfig struct {
	alg         string
	methods     []Method // one real server per method
	weights     []int    // default 1
	persistence time.Duration
	mask        int
	maxConns    int
	mtu         int
	noAddr      bool // the port has no address (TUN impossible)
	udp         bool // also a UDP service with the same servers
	fast        FastPath
	timeouts    Timeouts
}

func newBed(t testing.TB, c bedConfig) *bed {
	t.Helper()
	if c.alg == "" {
		c.alg = "rr"
	}
	if c.mtu == 0 {
		c.mtu = 1500
	}
	b := &bed{t: t, nb: StaticNeighbors{}, now: t0}
	b.mem = link.NewMem(net.HardwareAddr(dirMAC[:]), c.mtu)
	p := Port{Link: b.mem, Addr: dirAddr, FastPath: c.fast}
	if c.noAddr {
		p.Addr = netip.Addr{}
	}
	d, err := New(Config{Ports: []Port{p}, Neighbors: b.nb, Now: func() time.Time { return b.now }, MaxConns: c.maxConns, Seed: 1, Timeouts: c.timeouts})
	if err != nil {
		t.Fatal(err)
	}
	b.d = d
	keys := []ServiceKey{tcpKey}
	if c.udp {
		keys = append(keys, udpKey)
	}
	for _, k := range keys {
		sched, err := algorithms.New(c.alg, algorithms.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.AddService(ServiceConfig{Key: k, Scheduler: sched, Persistence: c.persistence, PersistMask: c.mask}); err != nil {
			t.Fatal(err)
		}
		for i, m := range c.methods {
			w := 1
			if i < len(c.weights) {
				w = c.weights[i]
			}
			b.addServer(k, i, m, w)
		}
	}
	return b
}

func (b *bed) addServer(k ServiceKey, i int, m Method, w int) {
	b.t.Helper()
	mac := rsMAC(i)
	b.nb[rsAddr(i)] = Hop{Port: 0, MAC: net.HardwareAddr(mac[:])}
	port := uint16(0)
	if m == NAT {
		port = 8080
	}
	rs := RealServer{Server: dataplane.Server{ID: algorithms.ServerID(i), Addr: netip.AddrPortFrom(rsAddr(i), port), Weight: w}, Method: m}
	if err := b.d.AddServer(k, rs); err != nil {
		b.t.Fatal(err)
	}
}

// send processes one frame at the bed's time and returns copies of what
// the director sends.
func (b *bed) send(frame []byte, partial ...bool) [][]byte {
	b.t.Helper()
	f := link.Frame{Data: append([]byte(nil), frame...), CsumPartial: len(partial) > 0 && partial[0]}
	out := b.d.Process(b.now, 0, []link.Frame{f})
	var got [][]byte
	for _, fr := range out[0] {
		got = append(got, append([]byte(nil), fr.Data...))
	}
	return got
}

// one sends a frame and expects exactly one frame back, whose checksums
// verify.
func (b *bed) one(frame []byte) (*packet.Packet, []byte) {
	b.t.Helper()
	out := b.send(frame)
	if len(out) != 1 {
		b.t.Fatalf("sent %d frames, want 1 (drops %v)", len(out), b.drops())
	}
	if err := packettest.Verify(out[0]); err != nil {
		b.t.Fatalf("checksums: %v", err)
	}
	var p packet.Packet
	if r := packet.Parse(out[0], &p); r != packet.OK {
		b.t.Fatalf("parse: %v", r)
	}
	return &p, out[0]
}

// none sends a frame and expects nothing back, the drop counted as why.
func (b *bed) none(frame []byte, why Drop) {
	b.t.Helper()
	before := b.d.Stats().Drops[why]
	if out := b.send(frame); len(out) != 0 {
		b.t.Fatalf("sent %d frames, want none", len(out))
	}
	if after := b.d.Stats().Drops[why]; after != before+1 {
		b.t.Fatalf("drop %v counted %d times, want 1 (drops %v)", why, after-before, b.drops())
	}
}

func (b *bed) drops() map[string]uint64 {
	m := map[string]uint64{}
	st := b.d.Stats()
	for i, v := range st.Drops {
		if v > 0 {
			m[Drop(i).String()] = v
		}
	}
	return m
}

func (b *bed) advance(d time.Duration) {
	b.now = b.now.Add(d)
	b.d.Tick(b.now)
}

// pool returns active and inactive counts of server i of the TCP service.
func (b *bed) pool(i int) (int, int) {
	b.t.Helper()
	for _, s := range b.d.Stats().Services[0].Servers {
		if s.ID == algorithms.ServerID(i) {
			return s.Active, s.Inactive
		}
	}
	b.t.Fatalf("no server %d", i)
	return 0, 0
}

// fromClient is a client's TCP segment to the VIP.
func fromClient(c netip.AddrPort, flags uint8, seq uint32, payload string) []byte {
	return packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: c, Dst: vip, Proto: 6,
		Flags: flags, Seq: seq, Payload: []byte(payload), DF: true, TOS: 0x10})
}

// fromServer is a NAT real server's TCP segment to a client.
func fromServer(i int, c netip.AddrPort, flags uint8, payload string) []byte {
	return packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: rsMAC(i), Src: netip.AddrPortFrom(rsAddr(i), 8080),
		Dst: c, Proto: 6, Flags: flags, Payload: []byte(payload), DF: true})
}

func u32of(a netip.Addr) uint32 { return u32(a) }
