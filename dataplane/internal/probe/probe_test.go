package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Connection") != "close" || r.Host != "example.test" {
			http.Error(w, "bad probe", 400)
			return
		}
		w.WriteHeader(201)
		fmt.Fprint(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	code, body, err := Get(context.Background(), Dial, addr, "example.test", "/p", 10)
	if err != nil || code != 201 || string(body) != "xxxxxxxxxx" {
		t.Errorf("Get: %d %q %v", code, body, err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if _, _, err := Get(context.Background(), Dial, closed, closed, "/", 0); err == nil || err.Error() != "connect: connection refused" {
		t.Errorf("refused: %v", err)
	}
	// A server that accepts and never answers: the deadline ends the probe.
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := Get(ctx, Dial, ln.Addr().String(), "h", "/", 0); err == nil || err.Error() != "read response: timeout" {
		t.Errorf("silent server: %v", err)
	}
	if Cause(errors.New("x")).Error() != "x" {
		t.Error("Cause changed a plain error")
	}
}
