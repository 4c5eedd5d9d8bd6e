package afpacket_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvslab/lvslab/dataplane/link"
	"github.com/lvslab/lvslab/dataplane/link/afpacket"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// Privileged tests are named TestNetns* (scripts/test.sh fails when one of
// them skips as root). They run in a one-segment testbed: cl1, dir and rs1
// on one bridge, and send only frames of the local experimental EtherType
// 0x88b5, which no kernel answers, or IPv4 inside 198.18.0.0/15.

const etherTest = 0x88b5

// up brings up a DR testbed with one real server: three nodes on one
// segment.
func up(t testing.TB, o testbed.Offloads) *testbed.Testbed {
	return testbedtest.Up(t, testbed.Topology{Mode: testbed.DR, Servers: 1, Offloads: o})
}

// open opens a Link on node's eth0; the cleanup closes it before the
// testbed goes down.
func open(t testing.TB, tb *testbed.Testbed, node string, cfg afpacket.Config) *afpacket.Link {
	t.Helper()
	var l *afpacket.Link
	if err := tb.Do(node, func() (err error) {
		l, err = afpacket.Open("eth0", cfg)
		return err
	}); err != nil {
		t.Fatalf("open in %s: %v", node, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func ether(dst, src net.HardwareAddr, typ uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	copy(f, dst)
	copy(f[6:], src)
	binary.BigEndian.PutUint16(f[12:], typ)
	return append(f, payload...)
}

// got is a copy of a received frame.
type got struct {
	data               []byte
	partial, truncated bool
}

// collector receives on a Link in the background, keeping copies of the
// frames keep accepts.
type collector struct {
	mu     sync.Mutex
	frames []got
	done   chan error
}

func collect(l link.Link, keep func([]byte) bool) *collector {
	c := &collector{done: make(chan error, 1)}
	go func() {
		buf := make([]link.Frame, 64)
		for {
			n, err := l.Recv(buf)
			if err != nil {
				c.done <- err
				return
			}
			c.mu.Lock()
			for _, f := range buf[:n] {
				if keep(f.Data) {
					c.frames = append(c.frames, got{slices.Clone(f.Data), f.CsumPartial, f.Truncated})
				}
			}
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) snapshot() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.frames)
}

// await waits up to d until the collector holds n frames and returns them.
func (c *collector) await(t *testing.T, n int, d time.Duration) []got {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := c.snapshot()
		if len(s) >= n || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isTest(d []byte) bool { return len(d) >= 14 && binary.BigEndian.Uint16(d[12:]) == etherTest }

// TestNetnsSendRecv sends frames from cl1 to dir through the rings: every
// valid size arrives whole and in order, and the invalid ones are refused.
// A second Link on cl1 sees those transmits only with Outgoing (a socket
// never reads back its own ring's transmits; the kernel skips it).
func TestNetnsSendRecv(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	for _, tc := range []struct {
		name     string
		outgoing bool
	}{{"ignore-outgoing", false}, {"outgoing", true}} {
		t.Run(tc.name, func(t *testing.T) {
			a := open(t, tb, "cl1", afpacket.Config{})
			watch := open(t, tb, "cl1", afpacket.Config{Outgoing: tc.outgoing})
			b := open(t, tb, "dir", afpacket.Config{})
			if a.MTU() != 1500 || len(a.MAC()) != 6 || a.FrameSize() != 2048 {
				t.Fatalf("link: MTU %d, MAC %v, frame size %d", a.MTU(), a.MAC(), a.FrameSize())
			}
			ca, cw, cb := collect(a, isTest), collect(watch, isTest), collect(b, isTest)
			var valid, frames []link.Frame
			for i, size := range []int{14, 60, 61, 1000, 1514} {
				p := make([]byte, size-14)
				for j := range p {
					p[j] = byte(i*7 + j)
				}
				f := link.Frame{Data: ether(b.MAC(), a.MAC(), etherTest, p)}
				valid = append(valid, f)
				frames = append(frames, f)
			}
			frames = slices.Insert(frames, 2,
				link.Frame{Data: make([]byte, 13)},                                       // shorter than a header
				link.Frame{Data: ether(b.MAC(), a.MAC(), etherTest, make([]byte, 1501))}, // over the MTU
				link.Frame{Data: ether(b.MAC(), a.MAC(), etherTest, nil), Truncated: true})
			err := a.Send(frames)
			if !errors.Is(err, afpacket.ErrFrameSize) {
				t.Fatalf("send: %v, want ErrFrameSize for 3 frames", err)
			}
			rx := cb.await(t, len(valid), 5*time.Second)
			if len(rx) != len(valid) {
				t.Fatalf("dir received %d frames, want %d", len(rx), len(valid))
			}
			for i := range rx {
				if !slices.Equal(rx[i].data, valid[i].Data) || rx[i].partial || rx[i].truncated {
					t.Errorf("frame %d: %d bytes (partial %v, truncated %v), want the %d bytes sent", i, len(rx[i].data), rx[i].partial, rx[i].truncated, len(valid[i].Data))
				}
			}
			// An answer back: the sender reads only it; the watcher also
			// reads cl1's transmits with Outgoing.
			reply := link.Frame{Data: ether(a.MAC(), b.MAC(), etherTest, []byte("reply"))}
			if err := b.Send([]link.Frame{reply}); err != nil {
				t.Fatal(err)
			}
			want := 1
			if tc.outgoing {
				want += len(valid)
			}
			cw.await(t, want, 5*time.Second)
			ca.await(t, 1, 5*time.Second)
			time.Sleep(50 * time.Millisecond) // let anything extra arrive
			for _, c := range []struct {
				name   string
				frames []got
				want   int
			}{{"sender", ca.snapshot(), 1}, {"watcher", cw.snapshot(), want}} {
				if len(c.frames) != c.want || !slices.Equal(c.frames[len(c.frames)-1].data, reply.Data) {
					t.Errorf("cl1 %s read %d frames, want %d ending with the reply", c.name, len(c.frames), c.want)
				}
			}
			if s := a.Stats(); s.TXFrames != uint64(len(valid)) || s.TXRefused != 3 {
				t.Errorf("cl1 stats %+v: want %d frames sent, 3 refused", s, len(valid))
			}
			if s := b.Stats(); s.RXFrames < uint64(len(valid)) || s.RXDropped != 0 || s.TXFrames != 1 {
				t.Errorf("dir stats %+v", s)
			}
		})
	}
}

// TestNetnsBatch sends 10,000 numbered frames in batches through the
// transmit ring, with the receiver at most a window behind; all arrive,
// once each, in bounded time.
func TestNetnsBatch(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	a := open(t, tb, "cl1", afpacket.Config{})
	b := open(t, tb, "dir", afpacket.Config{})
	const total, batch, window = 10000, 32, 1024
	var received atomic.Int64
	seen := make([]int, total)
	done := make(chan error, 1)
	go func() {
		buf := make([]link.Frame, 128)
		for {
			n, err := b.Recv(buf)
			if err != nil {
				done <- err
				return
			}
			for _, f := range buf[:n] {
				if isTest(f.Data) && len(f.Data) >= 18 {
					if seq := binary.BigEndian.Uint32(f.Data[14:]); seq < total {
						seen[seq]++
					}
					received.Add(1)
				}
			}
		}
	}()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	frames := make([]link.Frame, batch)
	for i := range frames {
		frames[i].Data = ether(b.MAC(), a.MAC(), etherTest, make([]byte, 46))
	}
	for sent := 0; sent < total; {
		for int64(sent)-received.Load() > window {
			if time.Now().After(deadline) {
				t.Fatalf("after %v: sent %d, received %d", time.Since(start), sent, received.Load())
			}
			time.Sleep(100 * time.Microsecond)
		}
		n := min(batch, total-sent)
		for i := range n {
			binary.BigEndian.PutUint32(frames[i].Data[14:], uint32(sent+i))
		}
		if err := a.Send(frames[:n]); err != nil {
			t.Fatalf("send at %d: %v", sent, err)
		}
		sent += n
	}
	for received.Load() < total && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.Close()
	<-done
	if r := received.Load(); r != total {
		t.Fatalf("received %d of %d frames in %v (dir stats %+v)", r, total, elapsed, b.Stats())
	}
	for seq, n := range seen {
		if n != 1 {
			t.Fatalf("frame %d received %d times", seq, n)
		}
	}
	if s := b.Stats(); s.RXDropped != 0 {
		t.Errorf("dir stats %+v: ring drops", s)
	}
	t.Logf("%d frames in %v (%.0f frames/s)", total, elapsed, total/elapsed.Seconds())
}

// ipv4 is a minimal IPv4 packet (protocol 253, reserved for experiments)
// from src to dst.
func ipv4(src, dst string) []byte {
	p := make([]byte, 28)
	p[0], p[8], p[9] = 0x45, 64, 253
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	return p
}

// arpRequest asks who has target, from src.
func arpRequest(mac net.HardwareAddr, src, target string) []byte {
	p := make([]byte, 28)
	binary.BigEndian.PutUint16(p[0:], 1)
	binary.BigEndian.PutUint16(p[2:], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], 1)
	copy(p[8:], mac)
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(target).As4()
	copy(p[14:], s[:])
	copy(p[24:], d[:])
	return p
}

// TestNetnsFilter checks that the kernel runs a Match's program: only ARP
// and IPv4 to the VIP addressed to the director's MAC reach its ring.
func TestNetnsFilter(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	vip := tb.Layout.VIP.String()
	a := open(t, tb, "cl1", afpacket.Config{})
	b := open(t, tb, "dir", afpacket.Config{Filter: &afpacket.Match{ARP: true, IPv4: true, Dst: []netip.Addr{tb.Layout.VIP}}})
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	cl := "198.18.0.101"
	frames := []struct {
		name string
		data []byte
		want bool
	}{
		{"ipv4 to vip", ether(b.MAC(), a.MAC(), 0x0800, ipv4(cl, vip)), true},
		{"ipv4 to another address", ether(b.MAC(), a.MAC(), 0x0800, ipv4(cl, "198.18.0.77")), false},
		{"ipv4 to vip, broadcast", ether(bcast, a.MAC(), 0x0800, ipv4(cl, vip)), false},
		{"experimental ethertype", ether(b.MAC(), a.MAC(), etherTest, make([]byte, 46)), false},
		{"arp request", ether(bcast, a.MAC(), 0x0806, arpRequest(a.MAC(), cl, "198.18.0.250")), true},
	}
	c := collect(b, func([]byte) bool { return true })
	var want [][]byte
	for _, f := range frames {
		if err := a.Send([]link.Frame{{Data: f.data}}); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if f.want {
			want = append(want, f.data)
		}
	}
	c.await(t, len(want), 5*time.Second)
	time.Sleep(100 * time.Millisecond) // the filtered-out frames had time to arrive
	var rx [][]byte
	for _, g := range c.snapshot() {
		// Only our frames: the kernels of the segment may add ARP of their own.
		if slices.Equal(g.data[6:12], a.MAC()) {
			rx = append(rx, g.data)
		}
	}
	if !slices.EqualFunc(rx, want, slices.Equal) {
		for _, r := range rx {
			t.Logf("received % x", r[:min(len(r), 34)])
		}
		t.Errorf("dir received %d of cl1's frames, want %d (ipv4 to vip, arp)", len(rx), len(want))
	}
}

// TestNetnsOffloads sends TCP from cl1 to a listener in dir and reads it on
// dir's Link: with offloads off every frame is whole with a full checksum;
// with them on, locally originated segments carry partial checksums
// (CsumPartial) and segmentation offload makes frames longer than the MTU
// (Truncated).
func TestNetnsOffloads(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offloads  testbed.Offloads
		partial   bool
		truncated bool
	}{
		{"off", testbed.Offloads{}, false, false},
		{"on", testbed.Offloads{TX: true, TSO: true, GSO: true, GRO: true}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := up(t, tc.offloads)
			l := open(t, tb, "dir", afpacket.Config{Filter: &afpacket.Match{IPv4: true}})
			cl := netip.MustParseAddr("198.18.0.101").As4()
			c := collect(l, func(d []byte) bool {
				return len(d) >= 34 && d[23] == 6 && [4]byte(d[26:30]) == cl // TCP from cl1
			})
			var ln net.Listener
			if err := tb.Do("dir", func() (err error) {
				ln, err = net.Listen("tcp4", "198.18.0.1:0")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			const size = 4 << 20
			read := make(chan int64, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					read <- -1
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				n, _ := io.Copy(io.Discard, conn)
				read <- n
			}()
			var conn net.Conn
			if err := tb.Do("cl1", func() (err error) {
				conn, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := conn.Write(make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			if n := <-read; n != size {
				t.Fatalf("listener read %d bytes, want %d", n, size)
			}
			time.Sleep(50 * time.Millisecond)
			frames := c.snapshot()
			var partial, truncated, whole int
			for _, f := range frames {
				if f.partial {
					partial++
				}
				if f.truncated {
					truncated++
					if len(f.data) > l.FrameSize() {
						t.Errorf("truncated frame of %d bytes in a %d-byte slot", len(f.data), l.FrameSize())
					}
				} else {
					whole++
					if len(f.data) > l.MTU()+14 {
						t.Errorf("frame of %d bytes not marked truncated", len(f.data))
					}
				}
			}
			t.Logf("%d TCP frames from cl1: %d partial checksums, %d truncated", len(frames), partial, truncated)
			if len(frames) == 0 || (partial > 0) != tc.partial || (truncated > 0) != tc.truncated {
				t.Errorf("%d frames, %d partial, %d truncated: want partial %v, truncated %v", len(frames), partial, truncated, tc.partial, tc.truncated)
			}
			if s := l.Stats(); s.RXTruncated != uint64(truncated) || s.RXCsumPartial != uint64(partial) {
				t.Errorf("stats %+v, counted %d truncated, %d partial", s, truncated, partial)
			}
		})
	}
}

// TestNetnsClose: Close wakes a blocked Recv; afterwards every call says
// ErrClosed; a second Close is no error.
func TestNetnsClose(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	l := open(t, tb, "rs1", afpacket.Config{Filter: &afpacket.Match{}}) // receives nothing
	errc := make(chan error, 1)
	go func() {
		_, err := l.Recv(make([]link.Frame, 8))
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, link.ErrClosed) {
			t.Errorf("blocked Recv returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Recv")
	}
	if _, err := l.Recv(make([]link.Frame, 1)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	if err := l.Send([]link.Frame{{Data: make([]byte, 60)}}); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestNetnsCloseWhileHeld: frames a Recv handed out stay readable after
// another goroutine closes the Link, until the next Recv, which says
// ErrClosed (a forwarder stopping while it rewrites a batch).
func TestNetnsCloseWhileHeld(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	a := open(t, tb, "cl1", afpacket.Config{})
	rx := open(t, tb, "dir", afpacket.Config{})
	sent := ether(rx.MAC(), a.MAC(), etherTest, []byte("held across Close"))
	if err := a.Send([]link.Frame{{Data: sent}}); err != nil {
		t.Fatal(err)
	}
	frames := make([]link.Frame, 64)
	var held []byte
	for deadline := time.Now().Add(5 * time.Second); held == nil && time.Now().Before(deadline); {
		n, err := rx.Recv(frames)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames[:n] {
			if isTest(f.Data) {
				held = f.Data
			}
		}
	}
	if held == nil {
		t.Fatal("the test frame did not arrive")
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(held, sent) { // reads the ring after Close
		t.Errorf("held frame changed after Close: %q", held)
	}
	if _, err := rx.Recv(frames); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
}

// TestNetnsOpenErrors: bad interfaces and ring sizes are errors naming
// them.
func TestNetnsOpenErrors(t *testing.T) {
	tb := up(t, testbed.Offloads{})
	for _, tc := range []struct {
		name, ifname string
		cfg          afpacket.Config
		want         string
	}{
		{"no such interface", "eth9", afpacket.Config{}, `interface "eth9"`},
		{"frame size", "eth0", afpacket.Config{FrameSize: 1000}, "FrameSize 1000"},
		{"ring size", "eth0", afpacket.Config{TXFrames: 3}, "TXFrames 3"},
		{"filter", "eth0", afpacket.Config{Filter: &afpacket.Match{Dst: []netip.Addr{tb.Layout.VIP}}}, "without IPv4"},
	} {
		err := tb.Do("dir", func() error {
			l, err := afpacket.Open(tc.ifname, tc.cfg)
			if err == nil {
				l.Close()
			}
			return err
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// BenchmarkNetnsForward measures a forwarder's packet path: cl1 sends
// 64-byte frames to dir, which receives them and sends each batch on to
// rs1 (Recv + MAC rewrite + Send); rs1 counts them. The sender keeps at
// most a window in flight, so the rate is what the forwarder sustains.
func BenchmarkNetnsForward(b *testing.B) {
	tb := up(b, testbed.Offloads{})
	src := open(b, tb, "cl1", afpacket.Config{})
	fwd := open(b, tb, "dir", afpacket.Config{Filter: &afpacket.Match{IPv4: true}})
	dst := open(b, tb, "rs1", afpacket.Config{Filter: &afpacket.Match{IPv4: true}})
	var dstMAC net.HardwareAddr = dst.MAC()
	go func() {
		buf := make([]link.Frame, 64)
		for {
			n, err := fwd.Recv(buf)
			if err != nil {
				return
			}
			for i := range buf[:n] {
				copy(buf[i].Data[0:6], dstMAC)
				copy(buf[i].Data[6:12], fwd.MAC())
			}
			fwd.Send(buf[:n])
		}
	}()
	var received atomic.Int64
	go func() {
		buf := make([]link.Frame, 64)
		for {
			n, err := dst.Recv(buf)
			if err != nil {
				return
			}
			received.Add(int64(n))
		}
	}()
	frames := make([]link.Frame, 32)
	for i := range frames {
		frames[i].Data = ether(fwd.MAC(), src.MAC(), 0x0800, ipv4("198.18.0.101", "198.18.0.11")[:20])
		frames[i].Data = append(frames[i].Data, make([]byte, 64-len(frames[i].Data))...)
	}
	const window = 1024
	b.ResetTimer()
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for sent := 0; sent < b.N; {
		for int64(sent)-received.Load() > window {
			if time.Now().After(deadline) {
				b.Fatalf("stalled: sent %d, forwarded %d (dir %+v)", sent, received.Load(), fwd.Stats())
			}
			time.Sleep(20 * time.Microsecond)
		}
		n := min(len(frames), b.N-sent)
		if err := src.Send(frames[:n]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	for received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Microsecond)
	}
	b.StopTimer()
	got := received.Load()
	b.ReportMetric(float64(got)/time.Since(start).Seconds(), "frames/s")
	if lost := int64(b.N) - got; lost > 0 {
		b.ReportMetric(float64(lost), "lost")
	}
}
