package xdp

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
	"github.com/lvslab/lvslab/dataplane/l4"
	"github.com/lvslab/lvslab/dataplane/l4/packet"
	"github.com/lvslab/lvslab/dataplane/l4/packet/packettest"
	"github.com/lvslab/lvslab/dataplane/link"
)

var (
	dirMAC    = [6]byte{0x02, 0, 0, 0, 0, 0xd1}
	clientMAC = [6]byte{0x02, 0, 0, 0, 0, 0xc1}
	rsMAC     = [6]byte{0x02, 0, 0, 0, 0, 0x51}
	vip       = netip.MustParseAddrPort("10.0.0.100:80")
	client    = netip.MustParseAddrPort("10.0.0.7:40000")
	rsAddr    = netip.MustParseAddr("10.0.0.11")
	t0        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

const mtu = 1000

// needRoot skips a test that loads BPF programs unless it runs as root.
// As root it never skips (a failure to load fails it), and the tests are
// named TestLive*, which scripts/test.sh checks do not skip as root (CI).
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading XDP programs needs root (as root this test never skips)")
	}
}

// bed is a director with one DR service and one real server on a
// memory link, whose fast path is the XDP program (loaded, not attached):
// the program runs on frames through BPF_PROG_TEST_RUN.
type bed struct {
	t   testing.TB
	fp  *FastPath
	d   *l4.Director
	mem *link.Mem
	now time.Time
}

func newBed(t testing.TB, fp *FastPath) *bed {
	t.Helper()
	b := &bed{t: t, fp: fp, now: t0}
	b.mem = link.NewMem(net.HardwareAddr(dirMAC[:]), mtu)
	nb := l4.StaticNeighbors{rsAddr: {Port: 0, MAC: rsMAC[:]}}
	d, err := l4.New(l4.Config{Ports: []l4.Port{{Link: b.mem, FastPath: fp}}, Neighbors: nb,
		Now: func() time.Time { return b.now }, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := algorithms.New("rr", algorithms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := l4.ServiceKey{Proto: l4.TCP, VIP: vip}
	if err := d.AddService(l4.ServiceConfig{Key: key, Scheduler: sched}); err != nil {
		t.Fatal(err)
	}
	rs := l4.RealServer{Server: dataplane.Server{ID: 1, Addr: netip.AddrPortFrom(rsAddr, 0), Weight: 1}, Method: l4.DR}
	if err := d.AddServer(key, rs); err != nil {
		t.Fatal(err)
	}
	b.d = d
	return b
}

// director runs the director on one frame and returns what it sends.
func (b *bed) director(frame []byte) [][]byte {
	in := []link.Frame{{Data: bytes.Clone(frame)}}
	var out [][]byte
	for _, fs := range b.d.Process(b.now, 0, in) {
		for _, f := range fs {
			out = append(out, bytes.Clone(f.Data))
		}
	}
	return out
}

// run runs the XDP program on one frame.
func (b *bed) run(frame []byte) (uint32, []byte) {
	b.t.Helper()
	out := make([]byte, len(frame)+256)
	opts := &ebpf.RunOptions{Data: bytes.Clone(frame), DataOut: out}
	v, err := b.fp.prog.Run(opts)
	if err != nil {
		b.t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	return v, opts.DataOut
}

func tcp(flags uint8, mod func(*packettest.Spec)) []byte {
	s := packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 6, Flags: flags,
		Seq: 1000, Ack: 1, DF: true, Payload: []byte("GET / HTTP/1.0\r\n\r\n")}
	if mod != nil {
		mod(&s)
	}
	return packettest.Frame(s)
}

const (
	syn = packet.SYN
	ack = packet.ACK
	fin = packet.FIN
	rst = packet.RST
	psh = packet.PSH
)

// establish opens the connection through the director: SYN, then ACK,
// which makes it ESTABLISHED and installs it in the fast path.
func (b *bed) establish() {
	b.t.Helper()
	if out := b.director(tcp(syn, func(s *packettest.Spec) { s.Payload = nil; s.Ack = 0 })); len(out) != 1 {
		b.t.Fatalf("SYN not forwarded: %v", b.d.Stats().Drops)
	}
	if out := b.director(tcp(ack, nil)); len(out) != 1 {
		b.t.Fatalf("ACK not forwarded: %v", b.d.Stats().Drops)
	}
	if st := b.d.Stats(); st.Fast.Installed != 1 {
		b.t.Fatalf("fast path installs %d, want 1", st.Fast.Installed)
	}
}

func (b *bed) clear() {
	b.t.Helper()
	var k [keySize]byte
	var keys [][keySize]byte
	it := b.fp.flows.Iterate()
	var v [valueSize]byte
	for it.Next(&k, &v) {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if err := b.fp.flows.Delete(k[:]); err != nil {
			b.t.Fatal(err)
		}
	}
}

func load(t testing.TB) *FastPath {
	t.Helper()
	needRoot(t)
	fp, err := Load(64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fp.Close() })
	return fp
}

// TestLiveProgramAgainstDirector checks the program's verdict and output
// against the director's for edge cases: a forwarded frame must be the
// one the director sends, and what the director must see is passed.
func TestLiveProgramAgainstDirector(t *testing.T) {
	fp := load(t)
	setCsum := func(f []byte) {
		binary.BigEndian.PutUint16(f[24:], 0)
		ihl := int(f[14]&0xf) * 4
		var s uint32
		for i := 14; i < 14+ihl; i += 2 {
			s += uint32(binary.BigEndian.Uint16(f[i:]))
		}
		for s > 0xffff {
			s = s&0xffff + s>>16
		}
		binary.BigEndian.PutUint16(f[24:], ^uint16(s))
	}
	cases := []struct {
		name  string
		frame []byte
		tx    bool // the program forwards it
	}{
		{"ack", tcp(ack, nil), true},
		{"ack psh", tcp(ack|psh, nil), true},
		{"no payload", tcp(ack, func(s *packettest.Spec) { s.Payload = nil }), true},
		{"tcp options", tcp(ack, func(s *packettest.Spec) { s.TCPOptions = []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} }), true},
		{"ttl 2", tcp(ack, func(s *packettest.Spec) { s.TTL = 2 }), true},
		{"padding", append(tcp(ack, func(s *packettest.Spec) { s.Payload = nil }), 0, 0, 0, 0, 0, 0), true},
		{"mtu", tcp(ack, func(s *packettest.Spec) { s.Payload = make([]byte, mtu-40) }), true},
		{"over mtu", tcp(ack, func(s *packettest.Spec) { s.Payload = make([]byte, mtu-39) }), false},
		{"over mtu no df", tcp(ack, func(s *packettest.Spec) { s.Payload = make([]byte, mtu-39); s.DF = false }), false},
		{"ttl 1", tcp(ack, func(s *packettest.Spec) { s.TTL = 1 }), false},
		{"ttl 0", func() []byte { f := tcp(ack, nil); f[22] = 0; setCsum(f); return f }(), false},
		{"syn", tcp(syn, nil), false},
		{"syn ack", tcp(syn|ack, nil), false},
		{"fin", tcp(fin|ack, nil), false},
		{"rst", tcp(rst|ack, nil), false},
		{"rst alone", tcp(rst, nil), false},
		{"no flags", tcp(0, nil), false},
		{"psh only", tcp(psh, nil), false},
		{"miss port", tcp(ack, func(s *packettest.Spec) { s.Src = netip.AddrPortFrom(client.Addr(), 40001) }), false},
		{"miss addr", tcp(ack, func(s *packettest.Spec) { s.Src = netip.MustParseAddrPort("10.0.0.8:40000") }), false},
		{"miss vport", tcp(ack, func(s *packettest.Spec) { s.Dst = netip.AddrPortFrom(vip.Addr(), 81) }), false},
		{"udp", packettest.Frame(packettest.Spec{DstMAC: dirMAC, SrcMAC: clientMAC, Src: client, Dst: vip, Proto: 17}), false},
		{"ip options", tcp(ack, func(s *packettest.Spec) { s.IPOptions = []byte{1, 1, 1, 0} }), false},
		{"fragment mf", tcp(ack, func(s *packettest.Spec) { s.MoreFragments = true }), false},
		{"fragment offset", tcp(ack, func(s *packettest.Spec) { s.FragOffset = 8 }), false},
		{"other mac", tcp(ack, func(s *packettest.Spec) { s.DstMAC = rsMAC }), false},
		{"broadcast mac", tcp(ack, func(s *packettest.Spec) { s.DstMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} }), false},
		{"own frame", tcp(ack, func(s *packettest.Spec) { s.SrcMAC = dirMAC }), false},
		{"truncated", tcp(ack, nil)[:60], false},
		{"short", tcp(ack, nil)[:40], false},
		{"eth only", tcp(ack, nil)[:14], false},
		{"not ipv4", func() []byte { f := tcp(ack, nil); f[12], f[13] = 0x86, 0xdd; return f }(), false},
		{"vlan", func() []byte { f := tcp(ack, nil); f[12], f[13] = 0x81, 0x00; return f }(), false},
		{"bad ip checksum", func() []byte { f := tcp(ack, nil); f[24] ^= 1; return f }(), false},
		{"bad version", func() []byte { f := tcp(ack, nil); f[14] = 0x65; setCsum(f); return f }(), false},
		{"total past frame", func() []byte {
			f := tcp(ack, nil)
			binary.BigEndian.PutUint16(f[16:], uint16(len(f)-13))
			setCsum(f)
			return f
		}(), false},
		{"total below headers", func() []byte { f := tcp(ack, nil); binary.BigEndian.PutUint16(f[16:], 39); setCsum(f); return f }(), false},
		{"tcp offset past segment", func() []byte {
			f := tcp(ack, func(s *packettest.Spec) { s.Payload = nil })
			f[46] = 6 << 4
			return f
		}(), false},
		{"tcp offset below 5", func() []byte { f := tcp(ack, nil); f[46] = 4 << 4; return f }(), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBed(t, fp)
			b.clear()
			b.establish()
			v, out := b.run(c.frame)
			want := uint32(verdictPass)
			if c.tx {
				want = verdictTX
			}
			if v != want {
				t.Fatalf("verdict %d, want %d", v, want)
			}
			b.compare(c.frame, v, out)
		})
	}
}

// compare checks a verdict against the director: a forwarded frame must
// be exactly what the director sends for it.
func (b *bed) compare(frame []byte, v uint32, out []byte) {
	b.t.Helper()
	if v != verdictTX {
		if v != verdictPass {
			b.t.Fatalf("verdict %d, want TX or PASS", v)
		}
		return
	}
	sent := b.director(frame)
	if len(sent) != 1 {
		b.t.Fatalf("the program forwarded a frame the director sends as %d frames (drops %v)", len(sent), b.d.Stats().Drops)
	}
	if !bytes.Equal(out, sent[0]) {
		b.t.Fatalf("program's frame\n%x\ndirector's\n%x", out, sent[0])
	}
	if !bytes.Equal(sent[0][:6], rsMAC[:]) {
		b.t.Fatalf("forwarded to %x, want the real server's MAC", sent[0][:6])
	}
}

// TestLiveProgramRandomFrames mutates a forwardable frame at random: whatever
// the program forwards, the director forwards identically.
func TestLiveProgramRandomFrames(t *testing.T) {
	fp := load(t)
	b := newBed(t, fp)
	b.establish()
	r := rand.New(rand.NewPCG(1, 2))
	var tx, pass int
	for i := range 3000 {
		f := tcp(uint8(r.IntN(64)), func(s *packettest.Spec) {
			if r.IntN(4) == 0 {
				s.Flags = ack | uint8(r.IntN(2))*psh
			}
			s.TTL = []uint8{1, 2, 3, 64, 255}[r.IntN(5)]
			s.Payload = make([]byte, r.IntN(mtu))
			if r.IntN(8) == 0 {
				s.IPOptions = []byte{1, 1, 1, 0}
			}
			if r.IntN(8) == 0 {
				s.TCPOptions = []byte{1, 1, 1, 1}
			}
			if r.IntN(8) == 0 {
				s.Src = netip.AddrPortFrom(client.Addr(), uint16(40000+r.IntN(2)))
			}
			if r.IntN(10) == 0 {
				s.MoreFragments = true
			}
			if r.IntN(10) == 0 {
				s.DstMAC[5] ^= 1
			}
			s.DF = r.IntN(2) == 0
			s.ID = uint16(r.Uint32()) // every header checksum
		})
		switch r.IntN(6) {
		case 0: // flip a random bit in the headers
			j := r.IntN(min(len(f), 60))
			f[j] ^= 1 << r.IntN(8)
		case 1: // cut
			f = f[:r.IntN(len(f)+1)]
		case 2: // pad
			f = append(f, make([]byte, r.IntN(20))...)
		}
		if len(f) < 14 { // BPF_PROG_TEST_RUN wants an Ethernet header
			continue
		}
		v, out := b.run(f)
		if v == verdictTX {
			tx++
		} else {
			pass++
		}
		b.compare(f, v, out)
		if t.Failed() {
			t.Fatalf("frame %d: %x", i, f)
		}
		// A frame that reached the director may have closed the
		// connection: open it again.
		if st := b.d.Stats(); st.Established != 1 || st.Entries != 1 {
			b = newBed(t, fp)
			b.clear()
			b.establish()
		}
	}
	if tx < 100 || pass < 100 {
		t.Fatalf("%d forwarded, %d passed: the frames do not exercise both verdicts", tx, pass)
	}
	t.Logf("%d forwarded, %d passed", tx, pass)
}

// TestLiveCounters checks that the program counts what it forwards and that
// the director folds it into its statistics and the connection's timer.
func TestLiveCounters(t *testing.T) {
	fp := load(t)
	b := newBed(t, fp)
	b.establish()
	f := tcp(ack, nil)
	for range 5 {
		if v, _ := b.run(f); v != verdictTX {
			t.Fatalf("verdict %d", v)
		}
	}
	k := l4.FastKey{Proto: 6, CAddr: u32(client.Addr()), CPort: client.Port(), VAddr: u32(vip.Addr()), VPort: vip.Port()}
	st, ok, err := fp.Lookup(k)
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	ipLen := uint64(len(f) - 14)
	if st.Packets != 5 || st.Bytes != 5*ipLen {
		t.Fatalf("counters %+v, want 5 packets, %d bytes", st, 5*ipLen)
	}
	if st.Idle <= 0 || st.Idle > time.Minute {
		t.Fatalf("idle %v", st.Idle)
	}
	before := b.d.Stats().Services[0].Servers[0].InPkts
	// The FIN comes up: the connection leaves ESTABLISHED, the entry goes,
	// and its counters are folded in.
	if out := b.director(tcp(fin|ack, nil)); len(out) != 1 {
		t.Fatal("FIN not forwarded")
	}
	if _, ok, _ := fp.Lookup(k); ok {
		t.Fatal("entry still installed after FIN")
	}
	s := b.d.Stats()
	if got := s.Services[0].Servers[0].InPkts - before; got != 6 { // 5 fast, the FIN
		t.Fatalf("server's in packets grew by %d, want 6", got)
	}
	if s.Fast.Removed != 1 || s.Fast.Packets != 5 {
		t.Fatalf("fast counters %+v", s.Fast)
	}
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// FuzzProgram: for any frame, the program passes it or forwards exactly
// what the director sends for it, on a connection it installed.
func FuzzProgram(f *testing.F) {
	fp := load(f)
	f.Add(tcp(ack, nil))
	f.Add(tcp(ack|psh, func(s *packettest.Spec) { s.TTL = 2; s.TCPOptions = []byte{1, 1, 1, 1} }))
	f.Add(tcp(fin|ack, nil))
	f.Add(tcp(ack, func(s *packettest.Spec) { s.IPOptions = []byte{1, 1, 1, 0} }))
	f.Add(tcp(ack, func(s *packettest.Spec) { s.MoreFragments = true }))
	f.Add(append(tcp(ack, nil), 0, 0))
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 4096 { // BPF_PROG_TEST_RUN wants an Ethernet header
			return
		}
		b := newBed(t, fp)
		b.clear()
		b.establish()
		v, out := b.run(frame)
		b.compare(frame, v, out)
	})
}

// TestLiveWalk reads every entry of a map larger than one batch, with its
// counters.
func TestLiveWalk(t *testing.T) {
	needRoot(t)
	big, err := Load(2000)
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	const n = 3*walkBatch + 7
	for i := range n {
		k := l4.FastKey{Proto: 6, CAddr: 0x0a000000 + uint32(i), CPort: uint16(1000 + i), VAddr: 0x0a0000fe, VPort: 80}
		if err := big.Install(l4.FastFlow{FastKey: k, DstMAC: rsMAC, SrcMAC: dirMAC, MTU: 1500}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[l4.FastKey]bool{}
	err = big.Walk(func(k l4.FastKey, st l4.FastStats) {
		if seen[k] || k.CPort != uint16(1000+int(k.CAddr-0x0a000000)) || k.VPort != 80 || k.Proto != 6 || st.Packets != 0 {
			t.Errorf("entry %+v %+v", k, st)
		}
		seen[k] = true
	})
	if err != nil || len(seen) != n {
		t.Fatalf("walked %d entries of %d: %v", len(seen), n, err)
	}
	if got, _ := big.Len(); got != n {
		t.Fatalf("Len %d", got)
	}
}
