//go:build !linux

package l7

import (
	"errors"
	"net"
)

const (
	epollSupported = false
	platformEngine = EngineGoroutine
)

func (s *Switch) serveLoop(ln net.Listener) error {
	ln.Close()
	return errors.New("l7: the epoll engine is not supported on this system")
}
