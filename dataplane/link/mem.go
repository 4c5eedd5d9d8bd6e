package link

import (
	"net"
	"sync"
)

// Mem is an in-memory Link for tests: frames given to Inject are what
// Recv returns, and frames passed to Send are kept for Sent. It copies
// every frame, so callers may reuse their buffers.
type Mem struct {
	mac net.HardwareAddr
	mtu int

	mu     sync.Mutex
	cond   *sync.Cond
	in     []Frame
	out    []Frame
	closed bool
}

var _ Link = (*Mem)(nil)

// NewMem returns an in-memory link with the given MAC and MTU.
func NewMem(mac net.HardwareAddr, mtu int) *Mem {
	m := &Mem{mac: mac, mtu: mtu}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// Inject queues frames for Recv.
func (m *Mem) Inject(frames ...Frame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range frames {
		f.Data = append([]byte(nil), f.Data...)
		m.in = append(m.in, f)
	}
	m.cond.Broadcast()
}

// Recv returns the injected frames, waiting for at least one.
func (m *Mem) Recv(frames []Frame) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.in) == 0 && !m.closed {
		m.cond.Wait()
	}
	if m.closed {
		return 0, ErrClosed
	}
	n := copy(frames, m.in)
	m.in = m.in[n:]
	return n, nil
}

// Send records copies of frames.
func (m *Mem) Send(frames []Frame) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, f := range frames {
		f.Data = append([]byte(nil), f.Data...)
		m.out = append(m.out, f)
	}
	return nil
}

// Sent returns and forgets the frames sent so far.
func (m *Mem) Sent() []Frame {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.out
	m.out = nil
	return out
}

// MTU returns the MTU given to NewMem.
func (m *Mem) MTU() int { return m.mtu }

// MAC returns the MAC given to NewMem.
func (m *Mem) MAC() net.HardwareAddr { return m.mac }

// Close makes Recv and Send return ErrClosed.
func (m *Mem) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.cond.Broadcast()
	return nil
}
