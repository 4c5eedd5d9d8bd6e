package l7

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvslab/lvslab/algorithms"
	"github.com/lvslab/lvslab/dataplane"
)

// The epoll engine serves TCP listeners only, and says so.
func TestEpollServeNonTCP(t *testing.T) {
	sched, _ := algorithms.New("rr", algorithms.Options{})
	svc, _ := dataplane.NewService(dataplane.Config{Scheduler: sched})
	sw, err := New(svc, Config{Engine: EngineEpoll})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Serve(ln); err == nil || !strings.Contains(err.Error(), "TCP listeners") {
		t.Errorf("Serve on a unix socket: %v", err)
	}
	if _, err := net.Dial("unix", ln.Addr().String()); err == nil {
		t.Error("the listener was left open")
	}
	_ = os.Remove(ln.Addr().String())
}

// fullBacklog returns the address of a listener with a full accept
// queue, to which connection attempts hang (the kernel drops their SYNs).
func fullBacklog(t *testing.T) (netip.AddrPort, bool) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*unix.SockaddrInet4).Port))
	for range 4 { // fill the queue (backlog 0 holds one connection)
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err != nil {
			return addr, true
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr, false
}
