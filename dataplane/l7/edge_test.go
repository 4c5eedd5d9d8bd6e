package l7

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Flow control, half-closed and reset clients, and the less common
// framings, for each engine: the cases where a connection waits for
// something other than the next read.
func TestEdgeCases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng Engine) {
		a := startBackend(t, "A")
		tests := []struct {
			name string
			cfg  Config
			run  func(t *testing.T, ts *testSwitch)
		}{
			{"slow reader of a large response", Config{}, func(t *testing.T, ts *testSwitch) {
				// The switch fills the client's socket and must wait for it
				// to drain, without losing or reordering bytes.
				c, br := ts.dial(t)
				const n = 8 << 20
				fmt.Fprintf(c, "GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n", n)
				time.Sleep(300 * time.Millisecond)
				if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || len(body) != n || strings.Count(body, "x") != n {
					t.Errorf("%d, %d bytes", resp.StatusCode, len(body))
				}
				if _, body := get(t, c, br, "/next"); body != "A GET /next" {
					t.Errorf("next request: %q", body)
				}
				c.Close()
			}},
			{"back end slow to read a large body", Config{}, func(t *testing.T, ts *testSwitch) {
				c, br := ts.dial(t)
				big := bytes.Repeat([]byte("0123456789abcdef"), 512<<10) // 8 MiB
				go func() {
					fmt.Fprintf(c, "POST /slowecho HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(big))
					c.Write(big)
				}()
				if _, body := readResponse(t, br, "POST"); body != fmt.Sprintf("%d %x", len(big), sha256.Sum256(big)) {
					t.Errorf("echo: %q", body)
				}
				c.Close()
			}},
			{"request pipelined during an exchange", Config{}, func(t *testing.T, ts *testSwitch) {
				c, br := ts.dial(t)
				get(t, c, br, "/first") // the connection now waits in the loop
				io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
				time.Sleep(50 * time.Millisecond)
				io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
				if _, body := readResponse(t, br, "GET"); body != "slow" {
					t.Errorf("first: %q", body)
				}
				if _, body := readResponse(t, br, "GET"); body != "A GET /second" {
					t.Errorf("second: %q", body)
				}
				c.Close()
			}},
			{"client half-closes after its request", Config{}, func(t *testing.T, ts *testSwitch) {
				for _, first := range []bool{false, true} {
					c, br := ts.dial(t)
					if first {
						get(t, c, br, "/first")
					}
					io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
					c.(*net.TCPConn).CloseWrite()
					if _, body := readResponse(t, br, "GET"); body != "slow" {
						t.Errorf("after a half-close: %q", body)
					}
					if _, err := br.ReadByte(); err != io.EOF {
						t.Errorf("connection left open: %v", err)
					}
				}
			}},
			{"client resets during an exchange", Config{}, func(t *testing.T, ts *testSwitch) {
				for _, first := range []bool{false, true} {
					c, br := ts.dial(t)
					if first {
						get(t, c, br, "/first")
					}
					io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
					time.Sleep(50 * time.Millisecond)
					resetClose(c)
				}
				ts.waitIdle(t)
				if n := ts.sw.Stats().Count(ClientWriteError); n != 2 {
					t.Errorf("client write errors %d, want 2", n)
				}
			}},
			{"idle keep-alive connection times out silently", Config{ClientTimeout: 200 * time.Millisecond}, func(t *testing.T, ts *testSwitch) {
				c, br := ts.dial(t)
				get(t, c, br, "/first")
				start := time.Now()
				if b, err := br.ReadByte(); err != io.EOF {
					t.Errorf("read %q %v, want the end of the stream", b, err)
				}
				if d := time.Since(start); d < 150*time.Millisecond {
					t.Errorf("closed after %v, before the timeout", d)
				}
				if n := ts.sw.Stats().Count(ClientTimeout); n != 0 {
					t.Errorf("client timeouts %d, want 0", n)
				}
			}},
			{"final answer instead of 100 Continue", Config{}, func(t *testing.T, ts *testSwitch) {
				// The back end refuses the body: the client gets its answer,
				// and the connection closes (the body was never read).
				c, br := ts.dial(t)
				io.WriteString(c, "PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
				if resp, _ := readResponse(t, br, "PUT"); resp.StatusCode != 417 {
					t.Errorf("status %d, want 417", resp.StatusCode)
				}
				if _, err := br.ReadByte(); err != io.EOF {
					t.Errorf("connection left open: %v", err)
				}
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.cfg.Engine = eng
				ts := startSwitch(t, "rr", tc.cfg, a.addr)
				tc.run(t, ts)
				ts.waitIdle(t)
			})
		}

		t.Run("close-delimited response", func(t *testing.T) {
			body := strings.Repeat("z", 100000)
			closer := rawBackend(t, func(c net.Conn) {
				readRequestHead(bufio.NewReader(c))
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"+body)
			})
			ts := startSwitch(t, "rr", Config{Engine: eng}, closer)
			c, br := ts.dial(t)
			if resp, got := get(t, c, br, "/z"); resp.StatusCode != 200 || got != body {
				t.Errorf("%d, %d bytes", resp.StatusCode, len(got))
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("connection left open: %v", err)
			}
			ts.waitIdle(t)
			if st := ts.sw.Stats(); st.Count(Responses) != 1 || st.Servers[0].Errors != 0 {
				t.Errorf("responses %d errors %d", st.Count(Responses), st.Servers[0].Errors)
			}
		})

		t.Run("client stalls in its body", func(t *testing.T) {
			ts := startSwitch(t, "rr", Config{Engine: eng, ClientTimeout: 200 * time.Millisecond}, a.addr)
			c, br := ts.dial(t)
			io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("b", 60000))
			if resp, _ := readResponse(t, br, "POST"); resp.StatusCode != 408 {
				t.Errorf("status %d, want 408", resp.StatusCode)
			}
			c.Close()
			ts.waitIdle(t)
			if st := ts.sw.Stats(); st.Count(ClientTimeout) != 1 || st.Servers[0].Errors != 1 {
				t.Errorf("client timeouts %d, server errors %d; want 1 1", st.Count(ClientTimeout), st.Servers[0].Errors)
			}
		})

		t.Run("back end stalls in its body", func(t *testing.T) {
			staller := rawBackend(t, func(c net.Conn) {
				readRequestHead(bufio.NewReader(c))
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nsome")
				time.Sleep(time.Second)
			})
			ts := startSwitch(t, "rr", Config{Engine: eng, BackendTimeout: 200 * time.Millisecond}, staller)
			c, br := ts.dial(t)
			io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatalf("want the relayed head: %v", err)
			}
			if body, err := io.ReadAll(resp.Body); err == nil || string(body) != "some" {
				t.Errorf("body %q, %v; want the part sent, then an error", body, err)
			}
			c.Close()
			ts.waitIdle(t)
			if st := ts.sw.Stats(); st.Count(BackendTimeout) != 1 || st.Count(ResetAfterHead) != 1 || st.Servers[0].Errors != 1 {
				t.Errorf("back-end timeouts %d, resets after head %d, server errors %d; want 1 1 1",
					st.Count(BackendTimeout), st.Count(ResetAfterHead), st.Servers[0].Errors)
			}
		})

		t.Run("shutdown cuts what does not finish", func(t *testing.T) {
			silent := rawBackend(t, func(c net.Conn) {
				readRequestHead(bufio.NewReader(c))
				time.Sleep(3 * time.Second)
			})
			ts := startSwitch(t, "rr", Config{Engine: eng}, silent)
			c, br := ts.dial(t)
			io.WriteString(c, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
			time.Sleep(100 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			if err := ts.sw.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("shutdown: %v, want the context's error", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("shutdown took %v: the exchange waiting for the back end was not cut", d)
			}
			if _, err := br.ReadByte(); err == nil {
				t.Error("connection still open after shutdown")
			}
			st := ts.sw.Stats()
			if st.Open != 0 || st.Servers[0].Active != 0 {
				t.Errorf("open %d, active %d after shutdown", st.Open, st.Servers[0].Active)
			}
		})
	})
}

// A back end whose accept queue is full never completes the connection:
// after ConnectTimeout the request is scheduled again, then answered 502.
func TestConnectTimeout(t *testing.T) {
	addr, ok := fullBacklog(t)
	if !ok {
		t.Skip("cannot make a listener that ignores connections here")
	}
	forEachEngine(t, func(t *testing.T, eng Engine) {
		ts := startSwitch(t, "rr", Config{Engine: eng, ConnectTimeout: 200 * time.Millisecond}, addr)
		c, br := ts.dial(t)
		start := time.Now()
		resp, _ := get(t, c, br, "/x")
		if resp.StatusCode != 502 {
			t.Errorf("status %d, want 502", resp.StatusCode)
		}
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("answered after %v, before two connect timeouts", d)
		}
		c.Close()
		ts.waitIdle(t)
		if st := ts.sw.Stats(); st.Count(ConnectFailed) != 2 || st.Count(Retried) != 1 || st.Servers[0].Errors != 2 {
			t.Errorf("connect failures %d retried %d errors %d, want 2 1 2", st.Count(ConnectFailed), st.Count(Retried), st.Servers[0].Errors)
		}
	})
}
