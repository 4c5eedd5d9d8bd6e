// Package link is the packet I/O seam of lvslab's layer-4 director: the
// forwarding logic (dataplane/l4) reads and writes Ethernet frames through
// a Link, and never knows whether the frames come from an AF_PACKET ring
// on a real interface or from memory in a test (style: "swap the link,
// not the logic").
//
// Frames are batched in both directions, because a user-space forwarder's
// cost is dominated by system calls: a ring-backed Link hands over every
// frame that is ready in one Recv, and Send queues a whole batch before it
// kicks the kernel once.
package link

import (
	"errors"
	"net"
)

// ErrClosed is returned by Recv and Send after Close.
var ErrClosed = errors.New("link: closed")

// Frame is one Ethernet frame and what the link knows about it.
type Frame struct {
	// Data is the frame from the destination MAC on, without the FCS. A
	// frame returned by Recv is valid until the next Recv on the same
	// Link; the caller may rewrite it in place and pass it to Send.
	Data []byte

	// CsumPartial says the kernel handed the frame over with only a
	// partial TCP/UDP checksum (TP_STATUS_CSUMNOTREADY: a frame sent by a
	// local stack with checksum offload). Whoever forwards it must compute
	// the full L4 checksum, not update the partial one.
	CsumPartial bool

	// Truncated says the frame was longer than the link's buffer and Data
	// holds only its beginning; such a frame must not be forwarded.
	Truncated bool
}

// Link is one network interface seen as a source and a sink of frames.
// Recv and Send may be called from different goroutines; each of them
// from one goroutine at a time.
type Link interface {
	// Recv fills frames with the frames that are ready, waiting until at
	// least one is, and returns how many it filled. It returns ErrClosed
	// after Close.
	Recv(frames []Frame) (int, error)

	// Send transmits the frames in order. It may return before the kernel
	// has put them on the wire; a full transmit queue is an error counted
	// by the caller, never a silent drop.
	Send(frames []Frame) error

	// MTU is the interface's MTU: the largest IP packet Send can carry.
	MTU() int

	// MAC is the interface's hardware address.
	MAC() net.HardwareAddr

	// Close stops the link; a blocked Recv returns ErrClosed.
	Close() error
}
