// Package packet parses and rewrites Ethernet/IPv4 frames in place for
// the layer-4 director, without allocating: a Packet is a set of offsets
// and header fields over the frame's bytes, filled by Parse; rewrites
// update the Internet checksums incrementally (RFC 1624) or recompute
// them where the frame's checksum is only partial; builders write ICMP
// errors, ARP replies and IPIP encapsulations into caller-owned buffers.
//
// Only IPv4 is parsed. Fragments are recognised and left to the caller
// (the director drops them: it does not reassemble). Parse checks what a
// router must check before it forwards (RFC 1812 §5.2.2: length, version,
// header length, header checksum) and the transport header's framing; it
// never verifies a TCP or UDP checksum, which the receiving host does.
package packet
