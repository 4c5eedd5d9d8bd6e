// Package xdp is the layer-4 director's fast path for established DR
// connections (l4.FastPath): an XDP program on a director's interface
// that forwards a client's packets of a connection the director installed
// and passes everything else up to the director's packet socket.
//
// The program is built in Go with github.com/cilium/ebpf's asm package
// (no C compiler): for a frame that is Ethernet, IPv4 without options,
// with a verifying header checksum, a total length that fits the frame,
// not a fragment, TCP with a complete header and ACK without SYN, FIN or
// RST, it looks up <protocol, client address and port, VIP and port> in
// an LRU hash map. On a hit whose frame is addressed to the director's MAC
// (and not from it), with a TTL above 1 and a total length within the
// entry's MTU, it rewrites the destination MAC to the real server's and
// the source MAC to the director's, decrements the TTL (updating the
// header checksum incrementally, RFC 1624), adds the packet and its IP
// length to the entry's counters, stamps its last-seen time
// (bpf_ktime_get_ns) and sends the frame back out by the interface
// (XDP_TX). Every other frame is passed (XDP_PASS): the director sees it
// and decides, as without the fast path. The map's value is 40 bytes: the
// real server's and the director's MACs, the MTU, packets, bytes,
// last-seen.
//
// The TCP checksum is forwarded as it is, as the director does for DR:
// frames carrying only a partial checksum (sent by a local stack with
// checksum offload, as on veth) must not reach the fast path; turn
// transmit checksum offload off in namespaces that originate such traffic
// (ethtool -K dev tx off), as the director's benchmark does anyway.
//
// On veth, XDP_TX needs an XDP program on the peer: the kernel flushes
// the transmitted frames to the peer only if it has one (GRO on the peer
// is not enough: the frames wait until something else wakes it).
// WithPassProgram attaches one that passes everything; the testbed's
// xdp_peer option puts it on the switch end of the director's links.
//
// Linux only; elsewhere New fails and the director forwards in user
// space.
package xdp
