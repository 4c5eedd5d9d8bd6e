package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// SocketMode is the permission of the admin socket: its owner only.
const SocketMode fs.FileMode = 0o600

// MaxRequest bounds one request line.
const MaxRequest = 1 << 20

// idleTimeout closes an admin connection that sends nothing for this long.
const idleTimeout = 5 * time.Minute

// DefaultSocket is the admin socket's default path: /run/lvslab for root,
// else the user's runtime directory ($XDG_RUNTIME_DIR), else a per-user
// directory under the temporary directory.
func DefaultSocket() string {
	if os.Geteuid() == 0 {
		return "/run/lvslab/director.sock"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "lvslab", "director.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("lvslab-%d", os.Geteuid()), "director.sock")
}

// Server serves the admin API on a Unix socket.
type Server struct {
	table *Table
	ln    *net.UnixListener
	path  string
	ident os.FileInfo // the socket file we created, to remove only ours
	logf  func(string, ...any)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Listen creates the admin socket at path, mode 0600, for table. The
// socket appears at path with its final mode (it is bound in a private
// directory next to path and renamed into place), so no other user can
// connect in between. The parent directory is created (mode 0700) if
// missing. If path exists and a process answers on it, Listen refuses;
// a stale socket (nobody answers) is removed; anything else at path is
// an error. logf, if not nil, receives a line per failed connection.
func Listen(path string, table *Table, logf func(string, ...any)) (*Server, error) {
	if path == "" {
		return nil, errors.New("ctl: empty socket path")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, ".ctl")
	if err != nil {
		return nil, fmt.Errorf("ctl: %w", err)
	}
	defer os.RemoveAll(tmp)
	tmpSock := filepath.Join(tmp, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpSock, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("ctl: listen on %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*Server, error) {
		ln.Close()
		return nil, fmt.Errorf("ctl: %s: %w", path, err)
	}
	if err := os.Chmod(tmpSock, SocketMode); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpSock, path); err != nil {
		return fail(err)
	}
	ident, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &Server{table: table, ln: ln, path: path, ident: ident, logf: logf, conns: map[net.Conn]struct{}{}}, nil
}

// clearStale removes a socket at path that nobody answers on, and refuses
// a live one or a file that is not a socket.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ctl: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("ctl: %s exists and is not a socket; remove it or choose another path", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("ctl: %s: another process is serving this socket (a director already running?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("ctl: %s exists and could not be checked: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("ctl: remove the stale socket: %w", err)
	}
	return nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers connections until Close; it returns nil after Close.
func (s *Server) Serve() error {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("ctl: accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers the requests of one connection, one JSON object per
// line each way.
func (s *Server) serveConn(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), MaxRequest)
	enc := json.NewEncoder(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(idleTimeout))
		if !sc.Scan() {
			if err := sc.Err(); err != nil && s.logf != nil {
				s.logf("ctl: %v", err)
			}
			if errors.Is(sc.Err(), bufio.ErrTooLong) {
				_ = enc.Encode(Response{Error: fmt.Sprintf("request longer than %d bytes", MaxRequest)})
			}
			return
		}
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp = Response{Error: "bad request: " + err.Error()}
		} else {
			resp = s.table.Handle(context.Background(), req)
		}
		_ = c.SetWriteDeadline(time.Now().Add(idleTimeout))
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// Close stops accepting, closes the connections, waits for them and
// removes the socket file (if it is still the one Listen made).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if fi, serr := os.Lstat(s.path); serr == nil && os.SameFile(fi, s.ident) {
		_ = os.Remove(s.path)
	}
	return err
}
