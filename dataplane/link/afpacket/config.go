package afpacket

import (
	"errors"
	"time"
)

// Config configures a Link. The zero value is the default: rings of 8 MiB
// (receive) and 2 MiB (transmit) in slots sized for the interface's MTU,
// every frame received except the host's own transmits, sends through the
// interface's queueing discipline.
type Config struct {
	// FrameSize is the size of one ring slot in bytes, header included: a
	// power of two from 2048 to 1 MiB that holds an MTU-sized frame. Zero:
	// the smallest such (2048 for an MTU of 1500).
	FrameSize int
	// RXFrames and TXFrames are the number of slots of the receive and
	// transmit rings (64 to 1M, and at most 1 GiB per ring; rounded up to
	// whole blocks). Zero: 8 MiB and 2 MiB worth of slots.
	RXFrames, TXFrames int
	// Filter, if not nil, selects the frames the socket receives (a
	// classic BPF program attached before the socket is bound, so no
	// other frame ever enters the ring).
	Filter *Match
	// Outgoing also receives the frames the host sends out of the
	// interface: its stack's and other packet sockets' (never this Link's
	// own, which the kernel does not loop back). Default: they are
	// ignored (PACKET_IGNORE_OUTGOING), as a forwarder needs.
	Outgoing bool
	// QdiscBypass sends frames straight to the driver, past the
	// interface's queueing discipline (PACKET_QDISC_BYPASS).
	QdiscBypass bool
	// TXWait bounds how long Send waits for the kernel when the transmit
	// ring is full or the interface pushes back. Zero: 20 ms.
	TXWait time.Duration
}

// Errors of Send. Both wrap the frames' fate in their message; errors.Is
// tells them apart.
var (
	// ErrTXFull: the transmit ring stayed full for TXWait; the frames not
	// yet queued were not sent.
	ErrTXFull = errors.New("afpacket: transmit ring full")
	// ErrFrameSize: a frame was shorter than an Ethernet header, longer
	// than the interface's MTU allows, or marked Truncated; it was not
	// sent (the others were).
	ErrFrameSize = errors.New("afpacket: frame size")
)

// Stats are a Link's counters since Open.
type Stats struct {
	RXFrames      uint64 // frames returned by Recv
	RXTruncated   uint64 // of which Truncated
	RXCsumPartial uint64 // of which CsumPartial
	// RXDropped counts frames the kernel dropped because the receive ring
	// was full (PACKET_STATISTICS tp_drops).
	RXDropped uint64
	TXFrames  uint64 // frames queued for transmission
	TXRefused uint64 // frames Send refused (ErrFrameSize)
	TXFull    uint64 // frames not sent because the ring stayed full (ErrTXFull)
	// TXBusy counts the times the kernel pushed back (ENOBUFS, EAGAIN) on a
	// kick; the frames stayed queued and were retried.
	TXBusy uint64
}

func (c Config) txWait() time.Duration {
	if c.TXWait > 0 {
		return c.TXWait
	}
	return 20 * time.Millisecond
}
