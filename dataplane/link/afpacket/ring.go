package afpacket

import (
	"fmt"
	"math/bits"
)

// Layout of a TPACKET_V2 slot (linux/if_packet.h, net/packet/af_packet.c):
// a struct tpacket2_hdr (32 bytes, TPACKET_ALIGN'ed) and a struct
// sockaddr_ll (20 bytes) make tp_hdrlen; received frames start so that
// their network header is aligned: netoff = TPACKET_ALIGN(tp_hdrlen + 16),
// the MAC header 14 bytes before it. Transmitted frames start right after
// the aligned tpacket2_hdr.
const (
	hdrLen      = 32 // TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
	sockaddrLen = 20 // sizeof(struct sockaddr_ll)
	rxNetOff    = (hdrLen + sockaddrLen + 16 + 15) &^ 15
	txDataOff   = hdrLen  // tp_hdrlen - sizeof(struct sockaddr_ll)
	l2Max       = 14 + 4  // Ethernet header and one VLAN tag
	minFrame    = 2048    // smallest slot
	maxFrame    = 1 << 20 // largest slot
	defRXBytes  = 8 << 20 // default receive ring size
	defTXBytes  = 2 << 20 // default transmit ring size
	minFrames   = 64      // smallest ring, in slots
	maxFrames   = 1 << 20 // largest ring, in slots
	maxRing     = 1 << 30 // largest ring, in bytes
)

// geometry is the shape of both rings: slots of frameSize bytes in blocks
// of blockSize bytes, so that slot i of a ring starts at i*frameSize.
type geometry struct {
	frameSize, blockSize int
	rxFrames, txFrames   int
}

// slotFor is the smallest slot that holds a frame of an MTU-sized packet.
func slotFor(mtu int) int {
	need := rxNetOff + l2Max + mtu
	if need <= minFrame {
		return minFrame
	}
	return 1 << bits.Len(uint(need-1))
}

// newGeometry checks cfg's ring sizes for an interface of mtu and fills in
// the defaults; pageSize is the kernel's page size.
func newGeometry(cfg Config, mtu, pageSize int) (geometry, error) {
	g := geometry{frameSize: cfg.FrameSize, rxFrames: cfg.RXFrames, txFrames: cfg.TXFrames}
	if g.frameSize == 0 {
		g.frameSize = slotFor(mtu)
	}
	switch {
	case g.frameSize < minFrame || g.frameSize > maxFrame || g.frameSize&(g.frameSize-1) != 0:
		return g, fmt.Errorf("afpacket: FrameSize %d: want a power of two from %d to %d", cfg.FrameSize, minFrame, maxFrame)
	case g.frameSize < slotFor(mtu):
		return g, fmt.Errorf("afpacket: FrameSize %d is too small for MTU %d (want at least %d)", cfg.FrameSize, mtu, slotFor(mtu))
	}
	g.blockSize = max(g.frameSize, pageSize)
	perBlock := g.blockSize / g.frameSize
	ring := func(name string, n, defBytes int) (int, error) {
		if n == 0 {
			n = max(minFrames, defBytes/g.frameSize)
		}
		if n < minFrames || n > maxFrames || n*g.frameSize > maxRing {
			return 0, fmt.Errorf("afpacket: %s %d: want %d to %d slots and at most %d MiB", name, n, minFrames, maxFrames, maxRing>>20)
		}
		return (n + perBlock - 1) / perBlock * perBlock, nil // whole blocks
	}
	var err error
	if g.rxFrames, err = ring("RXFrames", g.rxFrames, defRXBytes); err != nil {
		return g, err
	}
	if g.txFrames, err = ring("TXFrames", g.txFrames, defTXBytes); err != nil {
		return g, err
	}
	return g, nil
}

func (g geometry) blocks(frames int) int { return frames * g.frameSize / g.blockSize }
