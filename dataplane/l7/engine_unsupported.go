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
	s.mu.Unlock()
	ln.Close()
	return errors.New("l7: the epoll engine is not supported on this system")
}
