package l7

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
)

// fixedBackend answers every request on a keep-alive connection with a
// size-byte body, reading heads with a minimal parser so that the
// benchmark measures the switch.
func fixedBackend(b testing.TB, size int) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + string(bytes.Repeat([]byte("x"), size)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for readRequestHead(br) == nil {
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkSwitch is one keep-alive GET through the switch on loopback,
// 1 KB and 10 KB responses, one client connection at a time.
func BenchmarkSwitch(b *testing.B) {
	for _, eng := range Engines() {
		for _, size := range []int{1024, 10240} {
			b.Run(fmt.Sprintf("%v/%dB", eng, size), func(b *testing.B) { benchmarkSwitch(b, eng, size) })
		}
	}
}

func benchmarkSwitch(b *testing.B, eng Engine, size int) {
	addr := fixedBackend(b, size)
	ts := startSwitch(b, "wlc", Config{Engine: eng}, mustAddrPort(addr))
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /bench/object.html HTTP/1.1\r\nHost: bench\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	want := int64(size)
	b.ReportAllocs()
	b.SetBytes(want)
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := readRequestHead(br); err != nil { // a response head reads the same way
			b.Fatal(err)
		}
		if _, err := br.Discard(int(want)); err != nil {
			b.Fatal(err)
		}
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// In steady state a request through the switch allocates nothing: the
// parsers do not, buffers and back-end connections are pooled, and the
// locality key is interned. (The back end and client here do not allocate
// either, and allocation counts are process-wide.)
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("timing-sensitive")
	}
	forEachEngine(t, testSteadyStateAllocs)
}

func testSteadyStateAllocs(t *testing.T, eng Engine) {
	addr := fixedBackend(t, 1024)
	ts := startSwitch(t, "lblc", Config{Engine: eng}, mustAddrPort(addr))
	c, br := ts.dial(t)
	req := []byte("GET /steady/state.html?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	roundTrip := func() {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		if err := readRequestHead(br); err != nil {
			t.Fatal(err)
		}
		if _, err := br.Discard(1024); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		roundTrip() // warm the pools and the key cache
	}
	if a := testing.AllocsPerRun(500, roundTrip); a >= 0.5 {
		t.Errorf("%.2f allocations per request, want 0", a)
	}
}
