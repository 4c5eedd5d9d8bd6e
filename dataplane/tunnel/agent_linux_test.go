package tunnel_test

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/link"
	"github.com/lvslab/lvslab/dataplane/link/afpacket"
	"github.com/lvslab/lvslab/dataplane/tunnel"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

func sum16(b []byte, sum uint32) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ip4 is an IPv4 packet with a correct header checksum.
func ip4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	p := make([]byte, 20, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(p[6:], 0x4000)
	p[8], p[9] = 64, proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], fold(sum16(p, 0)))
	return append(p, payload...)
}

// syn is a TCP SYN from src:sport to dst:dport with sequence number seq,
// in an IPv4 packet, checksums correct.
func syn(src, dst netip.Addr, sport, dport uint16, seq uint32) []byte {
	tcp := make([]byte, 20)
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12], tcp[13] = 5<<4, 0x02 // data offset 5, SYN
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	s, d := src.As4(), dst.As4()
	pseudo := append(append(append([]byte{}, s[:]...), d[:]...), 0, 6, 0, byte(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], fold(sum16(tcp, sum16(pseudo, 0))))
	return ip4(src, dst, 6, tcp)
}

func sysctl(t *testing.T, tb *testbed.Testbed, node, key, value string) {
	t.Helper()
	if err := tb.Do(node, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestNetnsAgent runs the agent on the real server of a tun testbed and
// sends it, from the director, a hand-built IP-in-IP packet carrying a
// client's SYN to the VIP: the real server's SYN-ACK goes from the VIP
// straight to the client. Packets to another address or with a broken
// inner header are counted as drops; a strict rp_filter is loosened while
// the agent runs; Close removes the TUN device and restores it.
func TestNetnsAgent(t *testing.T) {
	topo, err := testbed.Derive(testbed.TUN, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := testbedtest.Up(t, topo)
	l := tb.Layout
	vip, dirIP, rsIP, clIP := l.VIP, l.Director().Ifaces[0].Addr.Addr(), l.Servers()[0].Ifaces[0].Addr.Addr(), l.Clients()[0].Ifaces[0].Addr.Addr()
	const port, cport = 8080, 40000

	sysctl(t, tb, "rs1", "conf.all.rp_filter", "1") // strict: the agent must loosen it
	var ln net.Listener
	var agent *tunnel.Agent
	var logs []string
	if err := tb.Do("rs1", func() (err error) {
		if ln, err = net.Listen("tcp4", netip.AddrPortFrom(vip, port).String()); err != nil {
			return err
		}
		agent, err = tunnel.Start(tunnel.Config{VIPs: []netip.Addr{vip},
			Logf: func(f string, a ...any) { logs = append(logs, f) }})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close(); ln.Close() })
	runErr := make(chan error, 1)
	go func() { runErr <- agent.Run() }()
	if got, _ := testbed.ReadSysctl(l.Servers()[0].NS, "net.ipv4.conf.all.rp_filter"); got != "2" {
		t.Errorf("all.rp_filter while the agent runs: %q, want 2 (logs %q)", got, logs)
	}
	if got, _ := testbed.ReadSysctl(l.Servers()[0].NS, "net.ipv4.conf."+agent.Dev()+".rp_filter"); got != "0" {
		t.Errorf("%s rp_filter: %q, want 0", agent.Dev(), got)
	}
	// A burst of tunnelled packets must not overflow the raw socket while
	// the agent is off the CPU: its buffer is far above the default.
	if n, err := tunnel.RawRcvBuf(agent); err != nil || n < tunnel.RawRcvBufWanted {
		t.Errorf("raw socket receive buffer %d bytes (%v), want at least %d", n, err, tunnel.RawRcvBufWanted)
	}

	// The client's view: every IPv4 frame reaching cl1.
	var capture *afpacket.Link
	if err := tb.Do("cl1", func() (err error) {
		capture, err = afpacket.Open("eth0", afpacket.Config{Filter: &afpacket.Match{IPv4: true}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { capture.Close() })
	synAck := make(chan []byte, 1)
	go func() {
		frames := make([]link.Frame, 16)
		for {
			n, err := capture.Recv(frames)
			if err != nil {
				return
			}
			for _, f := range frames[:n] {
				p := f.Data[14:]
				if len(p) >= 40 && p[9] == 6 && netip.AddrFrom4([4]byte(p[12:16])) == vip && netip.AddrFrom4([4]byte(p[16:20])) == clIP &&
					binary.BigEndian.Uint16(p[20:]) == port && binary.BigEndian.Uint16(p[22:]) == cport && p[33]&0x12 == 0x12 {
					select {
					case synAck <- append([]byte(nil), p...):
					default:
					}
				}
			}
		}
	}()

	// The director's part, by hand: a raw IP socket in its namespace.
	send := func(inner []byte) {
		t.Helper()
		pkt := ip4(dirIP, rsIP, 4, inner)
		if err := tb.Do("dir", func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return unix.Sendto(fd, pkt, 0, &unix.SockaddrInet4{Addr: rsIP.As4()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	await := func(r tunnel.Reason, n uint64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); agent.Count(r) < n && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if got := agent.Count(r); got != n {
			t.Errorf("%v: %d, want %d (%s)", r, got, n, tunnel.String(agent.Counts()))
		}
	}

	const isn = 1000
	send(syn(clIP, vip, cport, port, isn))
	select {
	case p := <-synAck:
		if ack := binary.BigEndian.Uint32(p[28:]); ack != isn+1 {
			t.Errorf("SYN-ACK acknowledges %d, want %d", ack, isn+1)
		}
	case <-time.After(5 * time.Second):
		for _, c := range [][]string{{"ip", "-s", "link"}, {"ip", "addr"}, {"ip", "route"}, {"nstat", "-az"}, {"ss", "-tan"}, {"sysctl", "-a", "-r", "rp_filter|arp_|forwarding"}} {
			out, _ := exec.Command("ip", append([]string{"netns", "exec", l.Servers()[0].NS}, c...)...).CombinedOutput()
			t.Logf("%v:\n%s", c, out)
		}
		t.Fatalf("no SYN-ACK from the VIP reached the client (%s)", tunnel.String(agent.Counts()))
	}
	await(tunnel.Decapsulated, 1)

	send(syn(clIP, netip.MustParseAddr("198.18.0.77"), cport, port, isn))
	await(tunnel.NotVIP, 1)
	bad := syn(clIP, vip, cport, port, isn)
	bad[10]++ // inner header checksum
	send(bad)
	await(tunnel.BadInner, 1)
	await(tunnel.Decapsulated, 1)

	if err := agent.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	if err := tb.Do("rs1", func() error {
		_, err := net.InterfaceByName(agent.Dev())
		return err
	}); err == nil {
		t.Errorf("%s still exists after Close", agent.Dev())
	}
	if got, _ := testbed.ReadSysctl(l.Servers()[0].NS, "net.ipv4.conf.all.rp_filter"); got != "1" {
		t.Errorf("all.rp_filter after Close: %q, want 1 restored", got)
	}
}

// TestNetnsAgentStartErrors: bad configurations and a device that exists
// already fail Start, leaving nothing behind.
func TestNetnsAgentStartErrors(t *testing.T) {
	topo, err := testbed.Derive(testbed.TUN, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := testbedtest.Up(t, topo)
	vip := []netip.Addr{tb.Layout.VIP}
	var first *tunnel.Agent
	if err := tb.Do("rs1", func() (err error) {
		first, err = tunnel.Start(tunnel.Config{VIPs: vip, Dev: "lvst1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	for _, tc := range []struct {
		name string
		cfg  tunnel.Config
		want string
	}{
		{"no vip", tunnel.Config{}, "no VIP"},
		{"ipv6 vip", tunnel.Config{VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, "not an IPv4"},
		{"long name", tunnel.Config{VIPs: vip, Dev: "a-very-long-device"}, "at most 15"},
		{"bad mtu", tunnel.Config{VIPs: vip, MTU: 100}, "MTU 100"},
		{"device exists", tunnel.Config{VIPs: vip, Dev: "lvst1"}, "exists already"},
	} {
		err := tb.Do("rs1", func() error {
			a, err := tunnel.Start(tc.cfg)
			if err == nil {
				a.Close()
			}
			return err
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// A VIP that is not local is put on the device, and goes with it.
	other := netip.MustParseAddr("198.18.0.200")
	var second *tunnel.Agent
	hasAddr := func() (found bool) {
		tb.Do("rs1", func() error {
			addrs, _ := net.InterfaceAddrs()
			for _, a := range addrs {
				found = found || strings.HasPrefix(a.String(), other.String()+"/")
			}
			return nil
		})
		return found
	}
	if err := tb.Do("rs1", func() (err error) {
		second, err = tunnel.Start(tunnel.Config{VIPs: []netip.Addr{other}, Dev: "lvst2"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !hasAddr() {
		t.Errorf("VIP %v not made local", other)
	}
	second.Close()
	if hasAddr() {
		t.Errorf("VIP %v left after Close", other)
	}
}
