package traces

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

var benchLog = flag.String("benchlog", "", "write the benchmark's generated log to this file (for comparisons with goaccess and wc)")

// benchLines is the size of the generated benchmark log.
const benchLines = 500_000

// genLog returns a deterministic Combined Log Format log of n lines shaped
// like a busy site's: Zipf-popular targets, a few hundred clients (IPv4 and
// IPv6), mixed statuses and methods, '-' byte counts, query strings.
func genLog(n int) []byte {
	rng := rand.New(rand.NewPCG(2000, 1))
	z := rand.NewZipf(rng, 1.2, 1, 50000)
	agents := []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows 98; Win 9x 4.90)",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	}
	statuses := []int{200, 200, 200, 200, 200, 200, 304, 304, 404, 302}
	t := time.Date(2003, 9, 2, 0, 0, 0, 0, time.FixedZone("", -7*3600))
	var b bytes.Buffer
	rec := Record{Proto: "HTTP/1.1"}
	var line []byte
	for i := range n {
		if rng.IntN(3) == 0 {
			t = t.Add(time.Second)
		}
		c := rng.IntN(500)
		if c%10 == 0 {
			rec.Host = fmt.Sprintf("2001:db8::%x", c)
		} else {
			rec.Host = fmt.Sprintf("10.%d.%d.%d", c%7, c/7, c%251)
		}
		rec.Time = t
		rec.Method = "GET"
		if rng.IntN(50) == 0 {
			rec.Method = "POST"
		}
		obj := z.Uint64()
		rec.URL = fmt.Sprintf("/docs/section%d/page%d.html", obj%37, obj)
		if obj%13 == 0 {
			rec.URL += fmt.Sprintf("?q=%d", i%100)
		}
		rec.Status = statuses[rng.IntN(len(statuses))]
		rec.Bytes = int64(obj*7919%200000 + 100)
		if rec.Status == 304 {
			rec.Bytes = -1
		}
		line = AppendCLF(line[:0], &rec)
		line = line[:len(line)-1]
		line = fmt.Appendf(line, " \"http://www.example.org/docs/section%d/\" \"%s\"\n", obj%37, agents[c%len(agents)])
		b.Write(line)
	}
	return b.Bytes()
}

// TestWriteBenchLog writes the benchmark log when -benchlog is given:
//
//	go test -run TestWriteBenchLog -benchlog /tmp/bench.log ./traces/
func TestWriteBenchLog(t *testing.T) {
	if *benchLog == "" {
		t.Skip("no -benchlog")
	}
	if err := os.WriteFile(*benchLog, genLog(benchLines), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkParse measures Reader throughput (MB/s, lines/s) on a generated
// Combined log held in memory. Target: ≥ 1,000,000 lines/s on one core.
func BenchmarkParse(b *testing.B) {
	data := genLog(benchLines)
	for _, tc := range []struct {
		name string
		data []byte
	}{{"plain", data}, {"gzip", gz(b, data)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			lines := 0
			for b.Loop() {
				rd, err := NewReader("bench", bytes.NewReader(tc.data), Format{})
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := rd.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					lines++
				}
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkLoad measures Load under the reference filters (parse, filter,
// intern) on the same log.
func BenchmarkLoad(b *testing.B) {
	data := genLog(benchLines)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadReader("bench", bytes.NewReader(data), ReferenceFilter()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
