package tunnel

import "golang.org/x/sys/unix"

// RawRcvBuf is the receive buffer of a's raw socket, as the kernel reports
// it (twice what was set: it counts its bookkeeping).
func RawRcvBuf(a *Agent) (int, error) {
	rc, err := a.raw.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		return 0, err
	}
	return n, serr
}

// RawRcvBufWanted is the receive buffer the agent asks for.
const RawRcvBufWanted = rawRcvBuf
