package httpx

import (
	"strings"
	"testing"
)

// A browser-like request head and a typical response head.
var (
	benchRequest = []byte("GET /images/logo.gif?v=3 HTTP/1.1\r\nHost: www.example.org\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0\r\n" +
		"Accept: image/avif,image/webp,*/*\r\nAccept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nReferer: http://www.example.org/\r\n\r\n")
	benchResponse = []byte("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n" +
		"Content-Type: image/gif\r\nContent-Length: 1024\r\nLast-Modified: Wed, 31 Dec 2025 00:00:00 GMT\r\n" +
		"Connection: keep-alive\r\nETag: \"abc-400\"\r\nAccept-Ranges: bytes\r\n\r\n")
	benchChunked = []byte(strings.Repeat("400\r\n"+strings.Repeat("x", 1024)+"\r\n", 10) + "0\r\n\r\n")
)

func BenchmarkParseRequest(b *testing.B) {
	var r Request
	b.SetBytes(int64(len(benchRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ParseRequest(benchRequest, &r, Limits{}); n == 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	var r Response
	b.SetBytes(int64(len(benchResponse)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ParseResponse(benchResponse, &r, Limits{}); n == 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkChunked(b *testing.B) {
	var c Chunked
	b.SetBytes(int64(len(benchChunked)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		if _, done, err := c.Scan(benchChunked); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}
