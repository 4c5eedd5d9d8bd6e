// Package afpacket is the Link of lvslab's layer-4 director on a real
// interface: an AF_PACKET socket with a TPACKET_V2 receive ring and a
// TPACKET_V2 transmit ring, both mmap'd, in pure Go (golang.org/x/sys/unix,
// no cgo).
//
// # Why these rings
//
// Measured on the testbed's veth pairs (docs: dataplane-notes), a
// user-space forwarder's cost is its system calls. TPACKET_V2 hands every
// frame to user space as soon as it arrives, and Recv returns all the frames
// that are ready after one poll(); TPACKET_V3 delivers whole blocks when they
// fill or a timer fires, which suits capture, not forwarding. Send copies a
// batch of frames into transmit slots and kicks the kernel with one send()
// (MSG_DONTWAIT); one write() per frame doubled the director's CPU per
// connection.
//
// # Use
//
// Open binds to one interface by index; it must run in the interface's
// network namespace (testbed.Do), after which the Link is used from any
// goroutine (one Recv and one Send at a time):
//
//	l, err := afpacket.Open("eth0", afpacket.Config{
//		Filter: afpacket.Match{ARP: true, IPv4: true, Dst: []netip.Addr{vip}},
//	})
//	n, err := l.Recv(frames) // frames[:n] point into the ring until the next Recv
//	err = l.Send(frames[:n]) // copied into the transmit ring, one send()
//
// By default the socket ignores the frames the host sends out of the
// interface (PACKET_IGNORE_OUTGOING): its stack's and other packet
// sockets' (a socket never reads back its own ring's transmits), so a
// forwarder reads only what arrives; Config.Filter attaches a classic BPF program built from a
// [Match] (e.g. "ARP, or IPv4 to the VIP addressed to this MAC"), and
// Config.QdiscBypass sends without the interface's queueing discipline.
//
// # Offloads must be off
//
// A ring slot holds one MTU-sized frame. With segmentation offloads on
// (TSO, GSO, GRO), the kernel hands packet sockets frames of up to 64 KB;
// Recv reports such frames (TP_STATUS_GSO_TCP, longer than the slot, or
// longer than the MTU allows) as Truncated, and they must not be forwarded.
// With transmit checksum offload on, frames a local stack sends carry only
// a partial TCP/UDP checksum (TP_STATUS_CSUMNOTREADY), reported as
// CsumPartial. The testbed turns every offload off (like `ethtool -K dev tx
// off tso off gso off gro off`); do the same on a real director.
//
// AF_PACKET taps frames, it does not steal them: the kernel of the
// director's namespace sees them too, so it must not forward (ip_forward=0)
// or own the VIP.
package afpacket
