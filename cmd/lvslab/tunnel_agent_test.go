package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

func TestTunnelAgentFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"tunnel-agent"}, "--vip is required"},
		{[]string{"tunnel-agent", "--vip", "vip"}, `--vip "vip": not an IPv4 address`},
		{[]string{"tunnel-agent", "--vip", "2001:db8::1"}, `--vip "2001:db8::1": not an IPv4 address`},
		{[]string{"tunnel-agent", "--vip", "198.18.0.254", "--listen-stats", "9180"}, `--listen-stats "9180": want ADDRESS:PORT`},
		{[]string{"tunnel-agent", "--vip", "198.18.0.254", "--mtu", "100"}, "MTU 100"},
		{[]string{"tunnel-agent", "--vip", "198.18.0.254", "--dev", "a/b"}, `device name "a/b"`},
		{[]string{"tunnel-agent", "--vip", "198.18.0.254", "extra"}, "unknown command"},
	}
	for _, tc := range tests {
		_, _, err := execLab(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// ipv4Packet is an IPv4 packet with a correct header checksum.
func ipv4Packet(src, dst netip.Addr, proto byte, payload []byte) []byte {
	p := make([]byte, 20, 20+len(payload))
	p[0], p[8], p[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(p[2:], uint16(20+len(payload)))
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	return append(p, payload...)
}

// TestNetnsTunnelAgentCLI runs `lvslab tunnel-agent` in the real server of
// a tun testbed: a tunnelled UDP datagram for the VIP reaches a socket
// there, the counters show it over HTTP and in the exit log, and the TUN
// device is gone after the stop.
func TestNetnsTunnelAgentCLI(t *testing.T) {
	topo, err := testbed.Derive(testbed.TUN, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := testbedtest.Up(t, topo)
	l := tb.Layout
	vip, dirIP, rsIP, clIP := l.VIP, l.Director().Ifaces[0].Addr.Addr(), l.Servers()[0].Ifaces[0].Addr.Addr(), l.Clients()[0].Ifaces[0].Addr.Addr()
	const stats = "127.0.0.1:9180" // inside rs1's namespace

	var udp net.PacketConn
	if err := tb.Do("rs1", func() (err error) {
		udp, err = net.ListenPacket("udp4", netip.AddrPortFrom(vip, 5000).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer udp.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- tb.Do("rs1", func() error {
			cmd := newRootCmd()
			cmd.SetOut(io.Discard)
			cmd.SetErr(&stderr)
			cmd.SetArgs([]string{"tunnel-agent", "--vip", vip.String(), "--dev", "lvst0", "--listen-stats", stats})
			return cmd.ExecuteContext(ctx)
		})
	}()
	// get fetches the counters from inside rs1's namespace.
	get := func() (map[string]uint64, error) {
		var c net.Conn
		if err := tb.Do("rs1", func() (err error) {
			c, err = net.DialTimeout("tcp4", stats, time.Second)
			return err
		}); err != nil {
			return nil, err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
		resp, err := io.ReadAll(c)
		if err != nil {
			return nil, err
		}
		_, body, _ := strings.Cut(string(resp), "\r\n\r\n")
		var v struct{ Counters map[string]uint64 }
		err = json.Unmarshal([]byte(body), &v)
		return v.Counters, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err = get(); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("tunnel-agent stopped: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no counters: %v\n%s", err, stderr.String())
		}
	}

	// The director's part, by hand: UDP (checksum 0: none) in IP-in-IP.
	udpHdr := []byte{0x9c, 0x40, 0x13, 0x88, 0, 13, 0, 0, 'h', 'e', 'l', 'l', 'o'} // 40000 -> 5000
	pkt := ipv4Packet(dirIP, rsIP, 4, ipv4Packet(clIP, vip, 17, udpHdr))
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
	buf := make([]byte, 64)
	udp.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := udp.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello" || from.String() != netip.AddrPortFrom(clIP, 40000).String() {
		t.Fatalf("on the VIP: %q from %v, %v; want \"hello\" from the client", buf[:n], from, err)
	}
	// The agent counts a packet after writing it to the TUN device, and the
	// kernel delivers it to the socket within that write: the datagram can
	// be read before the counter moves, so wait for it (as TestNetnsAgent
	// does) rather than read it once.
	var counters map[string]uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		counters, err = get()
		if err == nil && counters["decapsulated"] >= 1 || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || counters["decapsulated"] != 1 || counters["not_vip"] != 0 {
		t.Errorf("counters %v, %v: want decapsulated 1", counters, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tunnel-agent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tunnel-agent did not stop")
	}
	log := stderr.String()
	for _, want := range []string{"decapsulating IP-in-IP for " + vip.String() + " into lvst0", "stopped: decapsulated=1 not_ipip=0"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if err := tb.Do("rs1", func() error {
		_, err := net.InterfaceByName("lvst0")
		return err
	}); err == nil {
		t.Error("lvst0 still exists after the agent stopped")
	}
}
