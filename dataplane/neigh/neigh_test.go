package neigh

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvslab/lvslab/dataplane/link"
)

var (
	dirMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	rsMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x11}
	clMAC  = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x65}
	dirIP  = netip.MustParseAddr("198.18.0.1")
	rsIP   = netip.MustParseAddr("198.18.0.11")
	clIP   = netip.MustParseAddr("198.18.0.101")
	vip    = netip.MustParseAddr("198.18.0.254")
)

func TestRequestBytes(t *testing.T) {
	got := Request(dirMAC, dirIP, rsIP)
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06, // Ethernet
		0, 1, 0x08, 0, 6, 4, 0, 1, // Ethernet/IPv4, request
		0x02, 0, 0, 0, 0, 0x01, 198, 18, 0, 1, // sender
		0, 0, 0, 0, 0, 0, 198, 18, 0, 11, // target
	}
	want = append(want, make([]byte, 60-len(want))...)
	if !bytes.Equal(got, want) {
		t.Fatalf("request\n% x\nwant\n% x", got, want)
	}
	a, ok := ParseARP(got)
	if !ok || a.Op != OpRequest || !bytes.Equal(a.SenderMAC, dirMAC) || a.SenderIP != dirIP || a.TargetIP != rsIP {
		t.Errorf("parsed back: %+v, %v", a, ok)
	}
}

func TestAnswer(t *testing.T) {
	owns := func(a netip.Addr) bool { return a == vip }
	req := func(sender, target netip.Addr) []byte { return Request(clMAC, sender, target) }
	reply := AppendFrame(nil, dirMAC, ARP{Op: OpReply, SenderMAC: clMAC, SenderIP: clIP, TargetMAC: dirMAC, TargetIP: vip})
	notEthernet := req(clIP, vip)
	notEthernet[15] = 6 // hardware type 6
	tests := []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"request for the vip", req(clIP, vip), true},
		{"probe for the vip (sender 0.0.0.0)", req(netip.IPv4Unspecified(), vip), true},
		{"request for another address", req(clIP, rsIP), false},
		{"gratuitous", req(vip, vip), false},
		{"a reply", reply, false},
		{"truncated", req(clIP, vip)[:41], false},
		{"not ethernet", notEthernet, false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		out, ok := Answer(tc.frame, dirMAC, owns, nil)
		if ok != tc.want {
			t.Errorf("%s: answered %v, want %v", tc.name, ok, tc.want)
			continue
		}
		if !ok {
			if len(out) != 0 {
				t.Errorf("%s: no answer but %d bytes", tc.name, len(out))
			}
			continue
		}
		q, _ := ParseARP(tc.frame)
		a, ok := ParseARP(out)
		if !ok || a.Op != OpReply || !bytes.Equal(a.SenderMAC, dirMAC) || a.SenderIP != vip ||
			!bytes.Equal(a.TargetMAC, clMAC) || a.TargetIP != q.SenderIP || !bytes.Equal(out[0:6], clMAC) || !bytes.Equal(out[6:12], dirMAC) {
			t.Errorf("%s: answer % x", tc.name, out)
		}
	}
}

// peer answers the resolver's requests for addresses in macs on m, as the
// real servers would, until ctx ends.
func peer(ctx context.Context, m *link.Mem, r *Resolver, macs map[netip.Addr]net.HardwareAddr) {
	for ctx.Err() == nil {
		for _, f := range m.Sent() {
			q, ok := ParseARP(f.Data)
			if mac, known := macs[q.TargetIP]; ok && q.Op == OpRequest && known {
				r.Handle(AppendFrame(nil, q.SenderMAC, ARP{Op: OpReply, SenderMAC: mac, SenderIP: q.TargetIP,
					TargetMAC: q.SenderMAC, TargetIP: q.SenderIP}))
			}
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := link.NewMem(dirMAC, 1500)
		kernel := map[netip.Addr]net.HardwareAddr{netip.MustParseAddr("198.18.0.12"): {2, 0, 0, 0, 0, 0x12}}
		r, err := NewResolver(Config{Link: m, Addr: dirIP, Tries: 3, Timeout: 100 * time.Millisecond,
			Kernel: func(a netip.Addr) (net.HardwareAddr, bool) { mac, ok := kernel[a]; return mac, ok }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		peerDone := make(chan struct{})
		go func() {
			defer close(peerDone)
			peer(ctx, m, r, map[netip.Addr]net.HardwareAddr{rsIP: rsMAC})
		}()

		tests := []struct {
			name     string
			ip       netip.Addr
			want     net.HardwareAddr
			err      error
			requests uint64 // sent in total after the step
			elapsed  time.Duration
		}{
			{"from the kernel's table", netip.MustParseAddr("198.18.0.12"), kernel[netip.MustParseAddr("198.18.0.12")], nil, 0, 0},
			{"by ARP", rsIP, rsMAC, nil, 1, time.Millisecond},
			{"cached", rsIP, rsMAC, nil, 1, 0},
			{"nobody answers", vip, nil, ErrNoAnswer, 4, 300 * time.Millisecond},
		}
		for _, tc := range tests {
			start := time.Now()
			mac, err := r.Resolve(ctx, tc.ip)
			if !errors.Is(err, tc.err) || !bytes.Equal(mac, tc.want) {
				t.Errorf("%s: %v, %v; want %v, %v", tc.name, mac, err, tc.want, tc.err)
			}
			if got := r.Requests(); got != tc.requests {
				t.Errorf("%s: %d requests sent, want %d", tc.name, got, tc.requests)
			}
			if d := time.Since(start); d > tc.elapsed {
				t.Errorf("%s: took %v, want at most %v", tc.name, d, tc.elapsed)
			}
		}
		// A late reply for an address still pending is learned; ARP from
		// an address nobody asked for is not.
		r.Handle(AppendFrame(nil, dirMAC, ARP{Op: OpReply, SenderMAC: clMAC, SenderIP: vip, TargetMAC: dirMAC, TargetIP: dirIP}))
		r.Handle(Request(clMAC, clIP, dirIP))
		if mac, ok := r.Lookup(vip); !ok || !bytes.Equal(mac, clMAC) {
			t.Errorf("late reply for the VIP: %v, %v", mac, ok)
		}
		if _, ok := r.Lookup(clIP); ok {
			t.Errorf("learned %v, which nobody asked for", clIP)
		}
		// A known address that moves is updated; Forget drops it.
		newMAC := net.HardwareAddr{2, 0, 0, 0, 0, 0x99}
		r.Handle(Request(newMAC, rsIP, dirIP))
		if mac, _ := r.Lookup(rsIP); !bytes.Equal(mac, newMAC) {
			t.Errorf("after %v moved: %v", rsIP, mac)
		}
		r.Forget(rsIP)
		if _, ok := r.Lookup(rsIP); ok {
			t.Error("Forget kept the entry")
		}
		if r.Handle(make([]byte, 60)) {
			t.Error("Handle took a non-ARP frame for ARP")
		}
		// Cancelling stops a resolution at once.
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		if _, err := r.Resolve(cctx, netip.MustParseAddr("198.18.0.50")); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
		// Wait for the peer to see the cancellation: blocked here, the
		// bubble's clock moves on and wakes it from its sleep.
		cancel()
		<-peerDone
	})
}

func TestNewResolverErrors(t *testing.T) {
	m := link.NewMem(dirMAC, 1500)
	if _, err := NewResolver(Config{Addr: dirIP}); err == nil {
		t.Error("no link: no error")
	}
	if _, err := NewResolver(Config{Link: m}); err == nil {
		t.Error("no address: no error")
	}
	r, _ := NewResolver(Config{Link: m, Addr: dirIP})
	if _, err := r.Resolve(context.Background(), netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Error("IPv6 target: no error")
	}
	m.Close()
	if _, err := r.Resolve(context.Background(), rsIP); !errors.Is(err, link.ErrClosed) {
		t.Errorf("closed link: %v", err)
	}
}

// FuzzARP: parsing and answering never panic, and an answer parses back as
// the reply to the request it answers.
func FuzzARP(f *testing.F) {
	f.Add(Request(clMAC, clIP, vip))
	f.Add(Request(clMAC, vip, vip))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		q, isARP := ParseARP(frame)
		out, ok := Answer(frame, dirMAC, func(netip.Addr) bool { return true }, nil)
		if !ok {
			return
		}
		a, parsed := ParseARP(out)
		if !isARP || !parsed || a.Op != OpReply || a.SenderIP != q.TargetIP || a.TargetIP != q.SenderIP || len(out) < 60 {
			t.Fatalf("answer % x to % x", out, frame)
		}
	})
}

// TestGetThroughTap: Get never blocks; it starts one background
// resolution per address, whose reply reaches the Resolver through a
// tapped Link read by a loop that knows nothing of ARP.
func TestGetThroughTap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := link.NewMem(dirMAC, 1500)
		r, err := NewResolver(Config{Link: m, Addr: dirIP, Tries: 2, Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		tapped := Tap(m, r)
		var others [][]byte
		loopDone := make(chan struct{})
		go func() { // the forwarding loop
			defer close(loopDone)
			frames := make([]link.Frame, 8)
			for {
				n, err := tapped.Recv(frames)
				if err != nil {
					return
				}
				for _, f := range frames[:n] {
					if _, isARP := ParseARP(f.Data); !isARP {
						others = append(others, bytes.Clone(f.Data))
					}
				}
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { // the real server: answers on the wire, 5 ms late
			for ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
				for _, f := range m.Sent() {
					if q, ok := ParseARP(f.Data); ok && q.Op == OpRequest && q.TargetIP == rsIP {
						m.Inject(link.Frame{Data: AppendFrame(nil, q.SenderMAC, ARP{Op: OpReply, SenderMAC: rsMAC,
							SenderIP: rsIP, TargetMAC: q.SenderMAC, TargetIP: q.SenderIP})})
					}
				}
			}
		}()

		steps := []struct {
			name     string
			ip       netip.Addr
			advance  time.Duration // before the call
			want     net.HardwareAddr
			requests uint64
		}{
			{"miss starts a resolution", rsIP, 0, nil, 1},
			{"asked again at once: still one", rsIP, 0, nil, 1},
			{"answered meanwhile", rsIP, 10 * time.Millisecond, rsMAC, 1},
			{"silent address", vip, 0, nil, 2},
			{"still resolving: no new request", vip, 150 * time.Millisecond, nil, 3},
			{"given up, asked again", vip, time.Second, nil, 4},
		}
		for _, s := range steps {
			time.Sleep(s.advance)
			mac, ok := r.Get(s.ip)
			synctest.Wait()
			if ok != (s.want != nil) || !bytes.Equal(mac, s.want) || r.Requests() != s.requests {
				t.Errorf("%s: %v, %v, %d requests; want %v, %d", s.name, mac, ok, r.Requests(), s.want, s.requests)
			}
		}
		other := make([]byte, 60)
		other[12], other[13], other[59] = 0x08, 0x00, 7
		m.Inject(link.Frame{Data: other})
		synctest.Wait()
		if len(others) != 1 || !bytes.Equal(others[0], other) {
			t.Errorf("the loop got %d other frames, want the injected one unchanged", len(others))
		}
		if _, ok := r.Get(netip.MustParseAddr("2001:db8::1")); ok {
			t.Error("IPv6 resolved")
		}
		cancel()
		m.Close()
		<-loopDone
		time.Sleep(time.Second) // background resolutions end
	})
}
