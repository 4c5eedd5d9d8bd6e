package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/dataplane/link"
)

const (
	statusWrongFormat = 0x4                                          // TP_STATUS_WRONG_FORMAT
	ethPAll           = unix.ETH_P_ALL<<8&0xff00 | unix.ETH_P_ALL>>8 // htons(ETH_P_ALL)
)

// Link is an AF_PACKET socket bound to one interface, with TPACKET_V2
// receive and transmit rings. Recv and Send may run in two goroutines at
// once; concurrent Sends are serialised (each batch stays in order), as
// are concurrent Recvs; Close may be called from any goroutine and wakes a
// blocked Recv or Send.
type Link struct {
	name    string
	ifindex int
	mtu     int
	mac     net.HardwareAddr
	g       geometry
	txWait  time.Duration

	fd   int    // the packet socket
	efd  int    // an eventfd Close writes to, polled with fd
	ring []byte // the mmap: receive slots, then transmit slots
	rx   []byte
	tx   []byte

	closed atomic.Bool

	rxMu   sync.Mutex // one Recv at a time; held while the ring is read
	rxHead int        // the next receive slot to look at
	rxFrom int        // the first slot handed out by the last Recv
	rxHeld int        // how many slots the last Recv handed out

	txMu   sync.Mutex // one Send at a time
	txHead int        // the next transmit slot to fill

	// Close leaves the ring mapped while the last Recv's frames are out;
	// the next Recv unmaps it, or the cleanup when the Link is collected.
	late     runtime.Cleanup
	lateRing bool

	statsMu sync.Mutex // guards rxDropped and fd against Close in Stats
	c       struct {
		rxFrames, rxTrunc, rxPartial, txFrames, txRefused, txFull, txBusy atomic.Uint64
	}
	rxDropped uint64
}

var _ link.Link = (*Link)(nil)

// Open opens a Link on the interface named ifname in the calling thread's
// network namespace (run it inside testbed.Do for a testbed node); the Link
// stays bound to that interface. It needs CAP_NET_RAW.
func Open(ifname string, cfg Config) (*Link, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("afpacket: interface %q: %w", ifname, err)
	}
	g, err := newGeometry(cfg, ifi.MTU, unix.Getpagesize())
	if err != nil {
		return nil, fmt.Errorf("%w (interface %s)", err, ifname)
	}
	var prog []unix.SockFilter
	if cfg.Filter != nil {
		p, err := cfg.Filter.Program()
		if err != nil {
			return nil, err
		}
		for _, in := range p {
			prog = append(prog, unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K})
		}
	}
	// Protocol 0: the socket receives nothing until bind names a
	// protocol, after the filter and the rings are in place.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("afpacket: %s: socket: %w", ifname, err)
	}
	l := &Link{name: ifname, ifindex: ifi.Index, mtu: ifi.MTU, mac: ifi.HardwareAddr, g: g,
		txWait: cfg.txWait(), fd: fd, efd: -1}
	fail := func(op string, err error) (*Link, error) {
		l.release()
		return nil, fmt.Errorf("afpacket: %s: %s: %w", ifname, op, err)
	}
	opts := []struct {
		name string
		opt  int
		on   bool
	}{
		{"PACKET_VERSION", unix.PACKET_VERSION, true}, // TPACKET_V2 == 1
		{"PACKET_IGNORE_OUTGOING", unix.PACKET_IGNORE_OUTGOING, !cfg.Outgoing},
		{"PACKET_QDISC_BYPASS", unix.PACKET_QDISC_BYPASS, cfg.QdiscBypass},
		// A malformed transmit slot is skipped rather than left to wedge
		// the ring (Send never queues one: it checks sizes first).
		{"PACKET_LOSS", unix.PACKET_LOSS, true},
	}
	for _, o := range opts {
		if !o.on {
			continue
		}
		v := 1
		if o.opt == unix.PACKET_VERSION {
			v = unix.TPACKET_V2
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, o.opt, v); err != nil {
			return fail(o.name, err)
		}
	}
	if prog != nil {
		fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
			return fail("SO_ATTACH_FILTER", err)
		}
	}
	for _, r := range []struct {
		name   string
		opt    int
		frames int
	}{{"PACKET_RX_RING", unix.PACKET_RX_RING, g.rxFrames}, {"PACKET_TX_RING", unix.PACKET_TX_RING, g.txFrames}} {
		req := unix.TpacketReq{Block_size: uint32(g.blockSize), Block_nr: uint32(g.blocks(r.frames)),
			Frame_size: uint32(g.frameSize), Frame_nr: uint32(r.frames)}
		if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, r.opt, &req); err != nil {
			return fail(r.name, err)
		}
	}
	size := (g.rxFrames + g.txFrames) * g.frameSize
	l.ring, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail("mmap", err)
	}
	l.rx = l.ring[:g.rxFrames*g.frameSize]
	l.tx = l.ring[g.rxFrames*g.frameSize:]
	if l.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail("eventfd", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethPAll, Ifindex: ifi.Index}); err != nil {
		return fail("bind", err)
	}
	return l, nil
}

// unmapLate unmaps a ring that Close left mapped because the last Recv's
// frames were still out. Called with rxMu held, after Close.
func (l *Link) unmapLate() {
	if !l.lateRing {
		return
	}
	l.late.Stop()
	unix.Munmap(l.ring)
	l.ring, l.rx, l.tx = nil, nil, nil
	l.lateRing = false
	l.rxHeld = 0
}

// hdr is the tpacket2_hdr at the start of slot i of ring r.
func (l *Link) hdr(r []byte, i int) *unix.Tpacket2Hdr {
	return (*unix.Tpacket2Hdr)(unsafe.Pointer(&r[i*l.g.frameSize]))
}

// Recv returns the frames that are ready, at most len(frames), waiting for
// one if none is. It first gives back to the kernel the slots the previous
// Recv handed out, so frames[i].Data is valid until the next Recv. A frame
// longer than its slot, than the MTU allows, or flagged as a GSO
// super-frame is returned with Truncated set.
func (l *Link) Recv(frames []link.Frame) (int, error) {
	l.rxMu.Lock()
	defer l.rxMu.Unlock()
	if l.closed.Load() {
		l.unmapLate()
		return 0, link.ErrClosed
	}
	l.releaseRX()
	if len(frames) == 0 {
		return 0, nil
	}
	for {
		if n := l.take(frames); n > 0 {
			return n, nil
		}
		if err := l.wait(unix.POLLIN, -1); err != nil {
			return 0, err
		}
	}
}

// take fills frames from the ready slots from rxHead on.
func (l *Link) take(frames []link.Frame) int {
	fs := l.g.frameSize
	l.rxFrom = l.rxHead
	n, trunc, partial := 0, 0, 0
	for n < len(frames) {
		h := l.hdr(l.rx, l.rxHead)
		st := atomic.LoadUint32(&h.Status)
		if st&unix.TP_STATUS_USER == 0 {
			break
		}
		slot := l.rx[l.rxHead*fs : (l.rxHead+1)*fs]
		mac := min(int(h.Mac), fs) // never trust an offset to stay in the slot
		end := min(mac+int(h.Snaplen), fs)
		f := &frames[n]
		f.Data = slot[mac:end:end]
		f.CsumPartial = st&unix.TP_STATUS_CSUMNOTREADY != 0
		f.Truncated = end-mac < int(h.Len) || st&unix.TP_STATUS_GSO_TCP != 0 || int(h.Len) > l.mtu+l2Max
		if f.Truncated {
			trunc++
		}
		if f.CsumPartial {
			partial++
		}
		n++
		if l.rxHead++; l.rxHead == l.g.rxFrames {
			l.rxHead = 0
		}
	}
	l.rxHeld = n
	l.c.rxFrames.Add(uint64(n))
	l.c.rxTrunc.Add(uint64(trunc))
	l.c.rxPartial.Add(uint64(partial))
	return n
}

// releaseRX hands the slots of the last Recv back to the kernel.
func (l *Link) releaseRX() {
	i := l.rxFrom
	for range l.rxHeld {
		atomic.StoreUint32(&l.hdr(l.rx, i).Status, unix.TP_STATUS_KERNEL)
		if i++; i == l.g.rxFrames {
			i = 0
		}
	}
	l.rxHeld = 0
}

// wait polls the socket for events and the close eventfd, for at most
// timeout (negative: no limit). It returns link.ErrClosed after Close and
// the socket's pending error (say ENETDOWN when the interface went down)
// if it has one; nil on readiness or timeout.
func (l *Link) wait(events int16, timeout time.Duration) error {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	fds := [2]unix.PollFd{{Fd: int32(l.fd), Events: events}, {Fd: int32(l.efd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("afpacket: %s: poll: %w", l.name, err)
		}
		break
	}
	if fds[1].Revents != 0 || l.closed.Load() {
		return link.ErrClosed
	}
	if fds[0].Revents&unix.POLLERR != 0 {
		if e, err := unix.GetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && e != 0 {
			return fmt.Errorf("afpacket: %s: %w", l.name, unix.Errno(e))
		}
	}
	return nil
}

// Send copies frames into the transmit ring and kicks the kernel once. A
// frame that is Truncated, shorter than an Ethernet header or longer than
// the MTU allows is refused (ErrFrameSize) and the others are sent. If the
// ring stays full for Config.TXWait, the frames not yet queued are not
// sent (ErrTXFull).
func (l *Link) Send(frames []link.Frame) error {
	l.txMu.Lock()
	defer l.txMu.Unlock()
	if l.closed.Load() {
		return link.ErrClosed
	}
	refused, queued := 0, 0
	var err error
	for i := range frames {
		d := frames[i].Data
		if frames[i].Truncated || len(d) < 14 || len(d) > l.maxSend(d) {
			refused++
			continue
		}
		h, serr := l.txSlot()
		if serr != nil {
			left := len(frames) - i
			if errors.Is(serr, ErrTXFull) {
				l.c.txFull.Add(uint64(left))
				serr = fmt.Errorf("%w: %d of %d frames not sent (%s)", serr, left, len(frames), l.name)
			}
			err = serr
			break
		}
		copy(l.tx[l.txHead*l.g.frameSize+txDataOff:], d)
		h.Len = uint32(len(d))
		atomic.StoreUint32(&h.Status, unix.TP_STATUS_SEND_REQUEST)
		queued++
		if l.txHead++; l.txHead == l.g.txFrames {
			l.txHead = 0
		}
	}
	l.c.txFrames.Add(uint64(queued))
	if queued > 0 {
		err = errors.Join(err, l.flush())
	}
	if refused > 0 {
		l.c.txRefused.Add(uint64(refused))
		err = errors.Join(err, fmt.Errorf("%w: %d of %d frames refused (%s, MTU %d)", ErrFrameSize, refused, len(frames), l.name, l.mtu))
	}
	return err
}

// maxSend is the longest frame the kernel transmits on the interface:
// the MTU and an Ethernet header, and a VLAN tag if the frame has one.
func (l *Link) maxSend(d []byte) int {
	if t := binary.BigEndian.Uint16(d[12:]); t == 0x8100 || t == 0x88a8 {
		return l.mtu + l2Max
	}
	return l.mtu + 14
}

// txSlot returns the header of the slot at txHead once the kernel is done
// with it, kicking the kernel and waiting up to txWait if the ring is full.
func (l *Link) txSlot() (*unix.Tpacket2Hdr, error) {
	h := l.hdr(l.tx, l.txHead)
	var deadline time.Time
	for {
		if atomic.LoadUint32(&h.Status)&(unix.TP_STATUS_SEND_REQUEST|unix.TP_STATUS_SENDING) == 0 {
			return h, nil // available (or a skipped wrong-format slot)
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(l.txWait)
		}
		if err := l.kick(); err != nil && !errors.Is(err, errBusy) {
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, ErrTXFull
		}
		// POLLOUT: the kernel's current transmit slot is free again.
		if err := l.wait(unix.POLLOUT, min(left, time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

var errBusy = errors.New("afpacket: interface busy")

// kick asks the kernel to transmit every queued slot, without waiting.
func (l *Link) kick() error {
	for {
		_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(l.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.ENOBUFS, unix.EAGAIN:
			// The device dropped or refused a frame: the kernel put the
			// slot back as a send request; it goes with the next kick.
			l.c.txBusy.Add(1)
			return errBusy
		}
		return fmt.Errorf("afpacket: %s: send: %w", l.name, e)
	}
}

// flush kicks until the kernel takes every queued slot or txWait passes.
func (l *Link) flush() error {
	deadline := time.Now().Add(l.txWait)
	for {
		err := l.kick()
		if !errors.Is(err, errBusy) {
			return err
		}
		if l.closed.Load() {
			return link.ErrClosed
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("afpacket: %s: the interface pushed back for %v; frames stay queued for the next Send: %w", l.name, l.txWait, unix.ENOBUFS)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// MTU is the interface's MTU when the Link was opened.
func (l *Link) MTU() int { return l.mtu }

// MAC is the interface's hardware address.
func (l *Link) MAC() net.HardwareAddr { return l.mac }

// Name is the interface's name; Index its index.
func (l *Link) Name() string { return l.name }

// Index is the interface index the socket is bound to.
func (l *Link) Index() int { return l.ifindex }

// FrameSize is the size of a ring slot.
func (l *Link) FrameSize() int { return l.g.frameSize }

// Stats returns the Link's counters.
func (l *Link) Stats() Stats {
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	if !l.closed.Load() {
		// PACKET_STATISTICS reads and resets the kernel's counters.
		if ks, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			l.rxDropped += uint64(ks.Drops)
		}
	}
	return Stats{
		RXFrames: l.c.rxFrames.Load(), RXTruncated: l.c.rxTrunc.Load(), RXCsumPartial: l.c.rxPartial.Load(),
		RXDropped: l.rxDropped,
		TXFrames:  l.c.txFrames.Load(), TXRefused: l.c.txRefused.Load(), TXFull: l.c.txFull.Load(), TXBusy: l.c.txBusy.Load(),
	}
}

// Close wakes a blocked Recv or Send, waits for them to return, and
// releases the rings and the socket. Closing twice is not an error. The
// frames of the last Recv stay valid until Recv is called again (it then
// returns ErrClosed), as at any time: a forwarder that closes its links
// while another goroutine still rewrites or sends a received batch does
// not read unmapped memory. Until then the ring stays mapped (at the
// latest until the Link is garbage collected).
func (l *Link) Close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(l.efd, one[:])
	l.rxMu.Lock()
	defer l.rxMu.Unlock()
	l.txMu.Lock()
	defer l.txMu.Unlock()
	l.Stats() // the kernel's drop count, before the socket goes
	l.statsMu.Lock()
	defer l.statsMu.Unlock()
	return l.release()
}

// release unmaps the rings and closes the descriptors. Called with
// rxMu held (or before the Link is shared): if the last Recv's frames are
// still out, the ring's unmapping waits for the next Recv (unmapLate).
func (l *Link) release() error {
	var errs []error
	if l.ring != nil && l.rxHeld > 0 {
		ring := l.ring
		l.late = runtime.AddCleanup(l, func(r []byte) { unix.Munmap(r) }, ring)
		l.lateRing = true
	} else if l.ring != nil {
		errs = append(errs, unix.Munmap(l.ring))
		l.ring, l.rx, l.tx = nil, nil, nil
	}
	if l.efd >= 0 {
		errs = append(errs, unix.Close(l.efd))
		l.efd = -1
	}
	if l.fd >= 0 {
		errs = append(errs, unix.Close(l.fd))
		l.fd = -1
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("afpacket: %s: close: %w", l.name, err)
	}
	return nil
}
