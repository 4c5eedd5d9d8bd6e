package link

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func TestMem(t *testing.T) {
	m := NewMem(net.HardwareAddr{2, 0, 0, 0, 0, 1}, 1500)
	buf := []byte{1, 2, 3}
	m.Inject(Frame{Data: buf}, Frame{Data: []byte{4}, CsumPartial: true})
	buf[0] = 9 // Inject copied
	frames := make([]Frame, 1)
	n, err := m.Recv(frames)
	if err != nil || n != 1 || !bytes.Equal(frames[0].Data, []byte{1, 2, 3}) {
		t.Fatalf("Recv = %d, %v, %v", n, err, frames[0])
	}
	if n, _ = m.Recv(frames); n != 1 || !frames[0].CsumPartial {
		t.Fatalf("second Recv = %d, %+v", n, frames[0])
	}
	if err := m.Send([]Frame{{Data: []byte{5}}}); err != nil {
		t.Fatal(err)
	}
	if s := m.Sent(); len(s) != 1 || s[0].Data[0] != 5 || len(m.Sent()) != 0 {
		t.Fatalf("Sent = %v", s)
	}
	done := make(chan error)
	go func() { _, err := m.Recv(frames); done <- err }()
	time.Sleep(10 * time.Millisecond)
	m.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close = %v", err)
	}
	if err := m.Send(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	if m.MTU() != 1500 || m.MAC().String() != "02:00:00:00:00:01" {
		t.Fatal("MTU/MAC")
	}
}
