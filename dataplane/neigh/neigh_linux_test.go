package neigh_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/link"
	"github.com/lvslab/lvslab/dataplane/link/afpacket"
	"github.com/lvslab/lvslab/dataplane/neigh"
	"github.com/lvslab/lvslab/testbed"
	"github.com/lvslab/lvslab/testbed/testbedtest"
)

// TestNetnsResolve runs a Resolver on the director of a DR testbed: it
// learns the real server's MAC by ARP, finds a kernel entry without ARP,
// gets no answer for the VIP (the real server holds it on lo but, with
// arp_ignore=1, does not answer), and, answering ARP for the VIP itself,
// teaches a client's kernel the director's MAC.
func TestNetnsResolve(t *testing.T) {
	tb := testbedtest.Up(t, testbed.Topology{Mode: testbed.DR, Servers: 1})
	dir, rs, cl := tb.Layout.Director(), tb.Layout.Servers()[0], tb.Layout.Clients()[0]
	vip := tb.Layout.VIP
	var (
		l  *afpacket.Link
		kt *neigh.KernelTable
	)
	if err := tb.Do("dir", func() (err error) {
		if l, err = afpacket.Open("eth0", afpacket.Config{Filter: &afpacket.Match{ARP: true}}); err != nil {
			return err
		}
		kt, err = neigh.OpenKernelTable(l.Index())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); kt.Close() })
	// One request must be enough for the real server (the test counts
	// them), so a request waits long for its reply: on a loaded machine
	// (CI runs other packages' live tests meanwhile) the reply and the
	// goroutine reading it can take more than 100 ms, and a retry then
	// made two requests. The VIP, which gets no answer, costs Tries ×
	// Timeout.
	r, err := neigh.NewResolver(neigh.Config{Link: l, Addr: dir.Ifaces[0].Addr.Addr(), Kernel: kt.Lookup,
		Timeout: time.Second, Tries: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The forwarding loop's part: read through the tap, which feeds the
	// Resolver; answer ARP for the VIP.
	tapped := neigh.Tap(l, r)
	answered := make(chan struct{}, 16)
	go func() {
		frames := make([]link.Frame, 16)
		var buf []byte
		for {
			n, err := tapped.Recv(frames)
			if err != nil {
				return
			}
			for _, f := range frames[:n] {
				var ok bool
				if buf, ok = neigh.Answer(f.Data, l.MAC(), func(a netip.Addr) bool { return a == vip }, buf[:0]); ok {
					l.Send([]link.Frame{{Data: buf}})
					answered <- struct{}{}
				}
			}
		}
	}()

	macOf := func(node string) (mac net.HardwareAddr) {
		if err := tb.Do(node, func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err == nil {
				mac = ifi.HardwareAddr
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return mac
	}
	ctx := context.Background()
	rsIP := rs.Ifaces[0].Addr.Addr()
	// As a director asks: Get, without blocking, until the answer is in.
	var mac net.HardwareAddr
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var ok bool
		if mac, ok = r.Get(rsIP); ok {
			break
		}
	}
	if !bytes.Equal(mac, macOf(rs.Name)) {
		t.Errorf("real server %v: %v; want %v", rsIP, mac, macOf(rs.Name))
	}
	if mac, err := r.Resolve(ctx, rsIP); err != nil || !bytes.Equal(mac, macOf(rs.Name)) {
		t.Errorf("real server %v, resolved again: %v, %v", rsIP, mac, err)
	}
	if n := r.Requests(); n != 1 {
		t.Errorf("%d ARP requests for the real server, want 1", n)
	}
	if mac, err := r.Resolve(ctx, vip); !errors.Is(err, neigh.ErrNoAnswer) {
		t.Errorf("VIP: %v, %v; want no answer (arp_ignore on the real server)", mac, err)
	}

	// A kernel entry is used as is.
	fake := netip.MustParseAddr("198.18.0.77")
	fakeMAC := net.HardwareAddr{0x02, 0xaa, 0, 0, 0, 0x77}
	if err := tb.Do("dir", func() error {
		return netlink.NeighAdd(&netlink.Neigh{LinkIndex: l.Index(), Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
			IP: fake.AsSlice(), HardwareAddr: fakeMAC})
	}); err != nil {
		t.Fatal(err)
	}
	before := r.Requests()
	if mac, err := r.Resolve(ctx, fake); err != nil || !bytes.Equal(mac, fakeMAC) || r.Requests() != before {
		t.Errorf("kernel entry: %v, %v, %d requests; want %v without ARP", mac, err, r.Requests()-before, fakeMAC)
	}

	// The client forgets its static entry for the VIP and asks; the
	// director's answer lands in the client's neighbour table.
	var got net.HardwareAddr
	if err := tb.Do(cl.Name, func() error {
		eth0, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if err := netlink.NeighDel(&netlink.Neigh{LinkIndex: eth0.Attrs().Index, Family: unix.AF_INET, IP: vip.AsSlice()}); err != nil {
			return err
		}
		c, err := net.Dial("udp4", net.JoinHostPort(vip.String(), "9"))
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write([]byte("x")) // makes the kernel resolve the VIP
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			ns, err := netlink.NeighList(eth0.Attrs().Index, unix.AF_INET)
			if err != nil {
				return err
			}
			for _, n := range ns {
				if n.IP.Equal(vip.AsSlice()) && n.State&netlink.NUD_REACHABLE != 0 {
					got = n.HardwareAddr
					return nil
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, l.MAC()) {
		t.Errorf("client's entry for the VIP: %v, want the director's %v", got, l.MAC())
	}
	select {
	case <-answered:
	default:
		t.Error("the director answered no ARP request")
	}
}
