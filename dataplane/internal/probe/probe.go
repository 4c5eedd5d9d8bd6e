// Package probe sends the one-shot HTTP GETs of the director's health
// checks and load monitor: a fresh connection from an injected dialer,
// "Connection: close", the whole exchange bounded by the context, and no
// goroutine left behind (so that tests run it under testing/synctest).
package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// DialFunc opens a connection, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Get sends "GET path" to addr (Host: host) and returns the status and at
// most limit bytes of the body. Errors name the step that failed and say
// "timeout" when ctx's deadline ended it.
func Get(ctx context.Context, dial DialFunc, addr, host, path string, limit int64) (int, []byte, error) {
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return 0, nil, stepError("connect", ctx, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) }) // cancellation wakes blocked I/O
	defer stop()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lvslab\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, nil, stepError("send request", ctx, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, stepError("read response", ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return resp.StatusCode, body, stepError("read body", ctx, err)
	}
	return resp.StatusCode, body, nil
}

// Dial is the default dialer.
func Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

func stepError(step string, ctx context.Context, err error) error {
	if TimedOut(ctx, err) {
		return fmt.Errorf("%s: timeout", step)
	}
	return fmt.Errorf("%s: %w", step, Cause(err))
}

// TimedOut reports whether err ended an operation bounded by ctx because
// ctx's deadline passed: the connection's deadline (set to ctx's) may fire
// a moment before ctx reports it.
func TimedOut(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.Canceled) {
		return false
	}
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// Cause returns the system error under a network error ("connection
// refused" rather than "dial tcp 10.0.0.2:80: connect: connection
// refused"), or err itself.
func Cause(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}
