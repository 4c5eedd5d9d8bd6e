package afpacket

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
)

// run interprets the subset of classic BPF that Program emits, as the
// kernel does: an out-of-bounds load drops the frame.
func run(t *testing.T, prog []Instruction, frame []byte, pkttype uint32) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Op {
		case opLdH:
			if int(in.K)+2 > len(frame) {
				return 0
			}
			a = uint32(binary.BigEndian.Uint16(frame[in.K:]))
		case opLdW:
			if in.K == adPktype {
				a = pkttype
				break
			}
			if int(in.K)+4 > len(frame) {
				return 0
			}
			a = binary.BigEndian.Uint32(frame[in.K:])
		case opJeqK:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case opRetK:
			return in.K
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, in.Op)
		}
	}
	t.Fatal("program falls off its end")
	return 0
}

// frame is an Ethernet frame of EtherType typ; for IPv4, dst is at bytes
// 30-33 as in an IPv4 header without options.
func frame(typ uint16, dst string) []byte {
	f := make([]byte, 64)
	binary.BigEndian.PutUint16(f[12:], typ)
	if dst != "" {
		a := netip.MustParseAddr(dst).As4()
		copy(f[30:], a[:])
	}
	return f
}

func TestMatchProgram(t *testing.T) {
	const host, bcast, other = 0, 1, 3 // PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST
	vip := "198.18.0.254"
	vips := []netip.Addr{netip.MustParseAddr(vip), netip.MustParseAddr("198.18.0.253")}
	arp := frame(etherARP, "")
	toVIP := frame(etherIPv4, vip)
	toVIP2 := frame(etherIPv4, "198.18.0.253")
	toOther := frame(etherIPv4, "198.18.0.7")
	ipv6 := frame(0x86dd, "")
	short := frame(etherIPv4, vip)[:20]
	type pkt struct {
		name    string
		frame   []byte
		pkttype uint32
		want    bool
	}
	tests := []struct {
		name  string
		match Match
		pkts  []pkt
	}{
		{"vip-and-arp", Match{ARP: true, IPv4: true, Dst: vips}, []pkt{
			{"arp broadcast", arp, bcast, true},
			{"ipv4 to vip", toVIP, host, true},
			{"ipv4 to second vip", toVIP2, host, true},
			{"ipv4 to other", toOther, host, false},
			{"ipv4 to vip, other host", toVIP, other, false},
			{"ipv4 to vip, broadcast", toVIP, bcast, false},
			{"ipv6", ipv6, host, false},
			{"short ipv4", short, host, false},
			{"empty", nil, host, false},
		}},
		{"all-ipv4-no-arp", Match{IPv4: true}, []pkt{
			{"arp", arp, bcast, false},
			{"ipv4 to vip", toVIP, host, true},
			{"ipv4 to other", toOther, host, true},
			{"ipv4 other host", toOther, other, false},
			{"short ipv4", short, host, true}, // no address to load
		}},
		{"arp-only", Match{ARP: true}, []pkt{
			{"arp", arp, bcast, true},
			{"ipv4", toVIP, host, false},
		}},
		{"nothing", Match{}, []pkt{
			{"arp", arp, bcast, false},
			{"ipv4", toVIP, host, false},
		}},
	}
	for _, tc := range tests {
		prog, err := tc.match.Program()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, p := range tc.pkts {
			if got := run(t, prog, p.frame, p.pkttype) != 0; got != p.want {
				t.Errorf("%s: %s: accepted %v, want %v", tc.name, p.name, got, p.want)
			}
		}
	}
}

func TestMatchProgramErrors(t *testing.T) {
	many := make([]netip.Addr, MaxDst+1)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 18, 0, byte(i)})
	}
	tests := []struct {
		name  string
		match Match
		want  string
	}{
		{"too many", Match{IPv4: true, Dst: many}, "at most"},
		{"ipv6 dst", Match{IPv4: true, Dst: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, "not an IPv4"},
		{"dst without ipv4", Match{ARP: true, Dst: many[:1]}, "without IPv4"},
	}
	for _, tc := range tests {
		if _, err := tc.match.Program(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// The most addresses still assemble, with every jump in range.
	if _, err := (Match{IPv4: true, Dst: many[:MaxDst]}).Program(); err != nil {
		t.Errorf("%d addresses: %v", MaxDst, err)
	}
}

func TestGeometry(t *testing.T) {
	tests := []struct {
		name                   string
		cfg                    Config
		mtu, page              int
		frame, block, rxN, txN int
		err                    string
	}{
		{"default 1500", Config{}, 1500, 4096, 2048, 4096, 4096, 1024, ""},
		{"jumbo", Config{}, 9000, 4096, 16384, 16384, 512, 128, ""},
		{"largest mtu", Config{}, 65535, 4096, 131072, 131072, 64, 64, ""},
		{"exact fit 2048", Config{}, 2048 - rxNetOff - l2Max, 4096, 2048, 4096, 4096, 1024, ""},
		{"one over 2048", Config{}, 2048 - rxNetOff - l2Max + 1, 4096, 4096, 4096, 2048, 512, ""},
		{"odd count rounded to blocks", Config{RXFrames: 65, TXFrames: 64}, 1500, 4096, 2048, 4096, 66, 64, ""},
		{"big pages", Config{}, 1500, 65536, 2048, 65536, 4096, 1024, ""},
		{"frame size given", Config{FrameSize: 8192}, 1500, 4096, 8192, 8192, 1024, 256, ""},
		{"not a power of two", Config{FrameSize: 3000}, 1500, 4096, 0, 0, 0, 0, "power of two"},
		{"too small for mtu", Config{FrameSize: 2048}, 9000, 4096, 0, 0, 0, 0, "too small for MTU 9000"},
		{"too few", Config{RXFrames: 10}, 1500, 4096, 0, 0, 0, 0, "RXFrames 10"},
		{"too many bytes", Config{TXFrames: 1 << 20, FrameSize: 4096}, 1500, 4096, 0, 0, 0, 0, "TXFrames"},
	}
	for _, tc := range tests {
		g, err := newGeometry(tc.cfg, tc.mtu, tc.page)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		want := geometry{frameSize: tc.frame, blockSize: tc.block, rxFrames: tc.rxN, txFrames: tc.txN}
		if g != want {
			t.Errorf("%s: %+v, want %+v", tc.name, g, want)
		}
		// The kernel's rules: blocks of whole pages, slots tiling blocks,
		// frame_nr = frames per block * block_nr, and room for the frame.
		for _, n := range []int{g.rxFrames, g.txFrames} {
			if g.blockSize%tc.page != 0 || g.blockSize%g.frameSize != 0 || g.blocks(n)*(g.blockSize/g.frameSize) != n ||
				g.frameSize < rxNetOff+l2Max+tc.mtu {
				t.Errorf("%s: %+v breaks the kernel's ring rules", tc.name, g)
			}
		}
	}
}
