package traces

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readAll reads every record of a log, cloning them, and collects the
// parse errors.
func readAll(t *testing.T, name string, data []byte, f Format) ([]Record, []*ParseError, *Reader) {
	t.Helper()
	rd, err := NewReader(name, bytes.NewReader(data), f)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	var perrs []*ParseError
	for {
		rec, err := rd.Next()
		if err == io.EOF || errors.Is(err, ErrNotLog) || errors.Is(err, ErrEmpty) {
			break // the end of a log with no usable line: TestEndOfUselessLog
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			perrs = append(perrs, pe)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec.Clone())
	}
	return recs, perrs, rd
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestParseLine checks the CLF/Combined parser on the shapes real logs take
// (docs/reference-model.md workload rule 1 needs method, URL, status, bytes).
func TestParseLine(t *testing.T) {
	tests := []struct {
		name, line string
		want       Record // Line and Time compared separately
		time       string
		combined   bool
	}{
		{"clf", `1.2.3.4 - - [02/Sep/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 11690`,
			Record{Host: "1.2.3.4", Method: "GET", URL: "/", Proto: "HTTP/1.1", Status: 200, Bytes: 11690}, "02/Sep/2003:00:00:09 -0700", false},
		{"combined", `64.221.136.91 - - [02/Sep/2003:00:00:10 -0700] "GET /images/shim.gif HTTP/1.1" 200 43 "http://www.antlr.org/" "Mozilla/4.0 (compatible; MSIE 6.0)"`,
			Record{Host: "64.221.136.91", Method: "GET", URL: "/images/shim.gif", Proto: "HTTP/1.1", Status: 200, Bytes: 43, Referer: "http://www.antlr.org/", UserAgent: "Mozilla/4.0 (compatible; MSIE 6.0)"}, "02/Sep/2003:00:00:10 -0700", true},
		{"ipv6", `2001:db8::1 - - [02/Sep/2003:00:00:09 +0000] "GET /a HTTP/1.0" 200 5`,
			Record{Host: "2001:db8::1", Method: "GET", URL: "/a", Proto: "HTTP/1.0", Status: 200, Bytes: 5}, "02/Sep/2003:00:00:09 +0000", false},
		{"nepal zone", `h - - [02/Sep/2003:00:00:09 +0545] "GET /a HTTP/1.0" 200 5`,
			Record{Host: "h", Method: "GET", URL: "/a", Proto: "HTTP/1.0", Status: 200, Bytes: 5}, "02/Sep/2003:00:00:09 +0545", false},
		{"colon zone", `h - - [02/Sep/2003:00:00:09 -03:30] "GET /a HTTP/1.0" 200 5`,
			Record{Host: "h", Method: "GET", URL: "/a", Proto: "HTTP/1.0", Status: 200, Bytes: 5}, "02/Sep/2003:00:00:09 -0330", false},
		{"no zone is UTC, one-digit day, fraction", `h - - [2/Sep/2003:00:00:09.5] "GET /a HTTP/1.0" 200 5`,
			Record{Host: "h", Method: "GET", URL: "/a", Proto: "HTTP/1.0", Status: 200, Bytes: 5}, "02/Sep/2003:00:00:09.5 +0000", false},
		{"missing protocol", `h - - [02/Sep/2003:00:00:09 -0700] "GET /old.html" 200 5`,
			Record{Host: "h", Method: "GET", URL: "/old.html", Status: 200, Bytes: 5}, "02/Sep/2003:00:00:09 -0700", false},
		{"quote in request", `h - - [02/Sep/2003:00:00:09 -0700] "GET /a"b HTTP/1.1" 200 5 "-" "UA"`,
			Record{Host: "h", Method: "GET", URL: `/a"b`, Proto: "HTTP/1.1", Status: 200, Bytes: 5, Referer: "-", UserAgent: "UA"}, "02/Sep/2003:00:00:09 -0700", true},
		{"escaped quote and space in URL", `h - - [02/Sep/2003:00:00:09 -0700] "GET /a\" b.html HTTP/1.1" 404 -`,
			Record{Host: "h", Method: "GET", URL: `/a\" b.html`, Proto: "HTTP/1.1", Status: 404, Bytes: -1}, "02/Sep/2003:00:00:09 -0700", false},
		{"dash bytes", `h - - [02/Sep/2003:00:00:09 -0700] "HEAD /a HTTP/1.1" 304 -`,
			Record{Host: "h", Method: "HEAD", URL: "/a", Proto: "HTTP/1.1", Status: 304, Bytes: -1}, "02/Sep/2003:00:00:09 -0700", false},
		{"user with spaces", `anon42 - frank smith [02/Sep/2003:00:00:09 -0700] "GET /a HTTP/1.1" 200 1`,
			Record{Host: "anon42", Method: "GET", URL: "/a", Proto: "HTTP/1.1", Status: 200, Bytes: 1}, "02/Sep/2003:00:00:09 -0700", false},
		{"truncated user agent (semicomplete line 8899)", `46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /x.py HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html`,
			Record{Host: "46.118.127.106", Method: "GET", URL: "/x.py", Proto: "HTTP/1.1", Status: 200, Bytes: 235, Referer: "-", UserAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html"}, "20/May/2015:12:05:17 +0000", true},
		{"CRLF", "h - - [02/Sep/2003:00:00:09 -0700] \"GET /a HTTP/1.1\" 200 7 \"-\" \"UA\"\r",
			Record{Host: "h", Method: "GET", URL: "/a", Proto: "HTTP/1.1", Status: 200, Bytes: 7, Referer: "-", UserAgent: "UA"}, "02/Sep/2003:00:00:09 -0700", true},
		{"leap day", `h - - [29/Feb/2004:23:59:59 -0700] "GET /a HTTP/1.1" 200 7`,
			Record{Host: "h", Method: "GET", URL: "/a", Proto: "HTTP/1.1", Status: 200, Bytes: 7}, "29/Feb/2004:23:59:59 -0700", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, perrs, rd := readAll(t, "x.log", []byte(tt.line+"\n"), Format{})
			if len(perrs) > 0 || len(recs) != 1 {
				t.Fatalf("got %d records, errors %v", len(recs), perrs)
			}
			got := recs[0]
			wantTime, err := time.Parse("02/Jan/2006:15:04:05 -0700", tt.time)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(wantTime) {
				t.Errorf("time = %v, want %v", got.Time, wantTime)
			}
			_, gotOff := got.Time.Zone()
			_, wantOff := wantTime.Zone()
			if gotOff != wantOff {
				t.Errorf("zone offset = %d, want %d", gotOff, wantOff)
			}
			got.Time, got.Line = time.Time{}, 0
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if kind := rd.Kind(); (kind == "combined") != tt.combined {
				t.Errorf("kind = %q, combined want %v", kind, tt.combined)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	tests := []struct{ line, reason string }{
		{"", "empty line"},
		{"justonefield", "no host field"},
		{`h - - 02/Sep/2003 "GET / HTTP/1.1" 200 1`, "no [time] field"},
		{`h - - [02/Sep/2003:00:00:09 -0700 "GET / HTTP/1.1" 200 1`, "unterminated [time] field"},
		{`h - - [31/Feb/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 1`, "bad [time] field"},
		{`h - - [02/Sep/2003:24:00:09 -0700] "GET / HTTP/1.1" 200 1`, "bad [time] field"},
		{`h - - [02/Foo/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 1`, "bad [time] field"},
		{`h - - [02/Sep/2003:00:00:09 +2400] "GET / HTTP/1.1" 200 1`, "bad [time] field"},
		{`h - - [02/Sep/2003:00:00:09 -0700] GET / HTTP/1.1 200 1`, "no quoted request after [time]"},
		{`h - - [02/Sep/2003:00:00:09 -0700] "GET / HTTP/1.1" 200`, "request line not followed by status and bytes"},
		{`h - - [02/Sep/2003:00:00:09 -0700] "GET / HTTP/1.1" 200 12ab`, "bytes field is neither a number nor '-'"},
		{`h - - [02/Sep/2003:00:00:09 -0700] "-" 408 -`, "empty request line"},
		{`h - - [02/Sep/2003:00:00:09 -0700] "GARBAGE" 400 0`, "request line has no URL"},
		{`h - - [02/Sep/2003:00:00:09 -0700] "GET HTTP/1.1" 400 0`, "request line has no URL"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			_, perrs, _ := readAll(t, "bad.log", []byte("\n"+tt.line+"\n"), Format{})
			last := perrs[len(perrs)-1]
			if last.Reason != tt.reason || last.Line != 2 {
				t.Errorf("got %v, want bad.log:2: %s", last, tt.reason)
			}
			if want := "bad.log:2: " + tt.reason; last.Error() != want {
				t.Errorf("Error() = %q, want %q", last.Error(), want)
			}
		})
	}
}

// TestOddLog reads the hand-made testdata/odd.log and checks which lines
// fail, with file:line.
func TestOddLog(t *testing.T) {
	data, err := os.ReadFile("testdata/odd.log")
	if err != nil {
		t.Fatal(err)
	}
	recs, perrs, rd := readAll(t, "testdata/odd.log", data, Format{})
	if len(recs) != 13 {
		t.Errorf("parsed %d records, want 13", len(recs))
	}
	want := []string{
		"testdata/odd.log:13: no [time] field",
		"testdata/odd.log:14: bad [time] field",
		"testdata/odd.log:15: empty request line",
		"testdata/odd.log:16: bytes field is neither a number nor '-'",
		"testdata/odd.log:17: request line not followed by status and bytes",
	}
	var got []string
	for _, pe := range perrs {
		got = append(got, pe.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rd.Kind() != "clf" { // first parsed line is plain CLF
		t.Errorf("kind = %q, want clf", rd.Kind())
	}
	if recs[3].URL != `/say"hello".html` || recs[4].URL != `/escaped\"quote.html` || recs[12].URL != "/ipv6.html#frag" {
		t.Errorf("quoted URLs: %q %q %q", recs[3].URL, recs[4].URL, recs[12].URL)
	}
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipDetection: compression is recognised by magic bytes, not by name.
func TestGzipDetection(t *testing.T) {
	plain, err := os.ReadFile("testdata/semicomplete-slice.log")
	if err != nil {
		t.Fatal(err)
	}
	want, wantErrs, _ := readAll(t, "plain", plain, Format{})
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"compressed-without-suffix.log", gz(t, plain)},
		{"plain-with-suffix.log.gz", plain},
		{"two-members.gz", append(gz(t, plain[:1000]), gz(t, plain[1000:])...)},
	} {
		got, gotErrs, rd := readAll(t, tc.name, tc.data, Format{})
		if len(got) != len(want) || len(gotErrs) != len(wantErrs) {
			t.Fatalf("%s: %d records %d errors, want %d, %d", tc.name, len(got), len(gotErrs), len(want), len(wantErrs))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: record %d = %+v, want %+v", tc.name, i, got[i], want[i])
			}
		}
		if rd.Kind() != "combined" {
			t.Errorf("%s: kind %q, want combined", tc.name, rd.Kind())
		}
	}
}

// TestTruncatedGzip: a truncated gzip stream is an error naming the file,
// never a silent short read.
func TestTruncatedGzip(t *testing.T) {
	rd, err := Open(filepath.Join("testdata", "truncated.log.gz"), Format{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for {
		_, err = rd.Next()
		if err == nil {
			n++
			continue
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			continue
		}
		break
	}
	if err == io.EOF || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v after %d records, want a truncated-gzip error", err, n)
	}
	if msg := err.Error(); !strings.Contains(msg, "truncated.log.gz") || !strings.Contains(msg, "truncated gzip stream") {
		t.Errorf("error %q does not name the file and the truncation", msg)
	}
	if _, err2 := rd.Next(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("error is not sticky: %v", err2)
	}
	// A stream cut inside its header.
	_, err = NewReader("head.gz", bytes.NewReader([]byte{0x1f, 0x8b, 8}), Format{})
	if err == nil || !strings.Contains(err.Error(), "head.gz: truncated gzip stream") {
		t.Errorf("header cut: %v", err)
	}
	// A corrupt stream.
	bad := gz(t, []byte("h - - [02/Sep/2003:00:00:09 -0700] \"GET / HTTP/1.1\" 200 1\n"))
	bad[len(bad)-6] ^= 0xff // CRC
	r2, err := NewReader("crc.gz", bytes.NewReader(bad), Format{})
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = r2.Next()
	}
	if err == io.EOF || !strings.Contains(err.Error(), "crc.gz: corrupt gzip stream") {
		t.Errorf("corrupt CRC: %v", err)
	}
}

func TestLongLineAndHeader(t *testing.T) {
	good := `h - - [02/Sep/2003:00:00:09 -0700] "GET /a HTTP/1.1" 200 1`
	long := `h - - [02/Sep/2003:00:00:09 -0700] "GET /` + strings.Repeat("x", MaxLine) + ` HTTP/1.1" 200 1`
	mid := `h - - [02/Sep/2003:00:00:09 -0700] "GET /` + strings.Repeat("y", 3*bufSize) + ` HTTP/1.1" 200 1`
	data := []byte("header\n" + long + "\n" + mid + "\n" + good) // last line without newline
	recs, perrs, _ := readAll(t, "long.log", data, Format{Header: true})
	if len(perrs) != 1 || perrs[0].Line != 2 || !strings.Contains(perrs[0].Reason, "longer than") {
		t.Errorf("errors %v, want long.log:2 line too long", perrs)
	}
	if len(recs) != 2 || len(recs[0].URL) != 1+3*bufSize || recs[1].URL != "/a" || recs[1].Line != 4 {
		t.Errorf("records: %d", len(recs))
	}
}

// TestCSV reads the EDGAR-style sample through a column mapping.
func TestCSV(t *testing.T) {
	data, err := os.ReadFile("testdata/edgar.csv")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := ParseColumns("host=1,date=2,time=3,url=5+6+7,status=8,bytes=9")
	if err != nil {
		t.Fatal(err)
	}
	recs, perrs, rd := readAll(t, "edgar.csv", data, Format{Kind: "csv", Columns: cols, Header: true})
	if len(recs) != 6 || len(perrs) != 2 {
		t.Fatalf("%d records, errors %v", len(recs), perrs)
	}
	want0 := Record{Host: "101.81.133.jja", Method: "GET", URL: "/1608552.0/0001047469-17-004337/-index.htm",
		Status: 200, Bytes: 9197, Line: 2, Time: time.Date(2017, 6, 30, 0, 0, 0, 0, time.UTC)}
	if recs[0] != want0 {
		t.Errorf("got  %+v\nwant %+v", recs[0], want0)
	}
	if recs[4].Status != 404 || recs[4].Bytes != -1 {
		t.Errorf("empty size: %+v", recs[4])
	}
	if recs[5].URL != "/1540159.0/0001540159-17-000002/weird,name.htm" {
		t.Errorf("quoted field: %q", recs[5].URL)
	}
	if perrs[0].Line != 8 || !strings.Contains(perrs[0].Reason, `time "bad-time"`) ||
		perrs[1].Line != 9 || perrs[1].Reason != "4 columns, the mapping needs 9" {
		t.Errorf("errors: %v", perrs)
	}
	if rd.Kind() != "csv" {
		t.Errorf("kind %q", rd.Kind())
	}
}

func TestCSVVariants(t *testing.T) {
	tests := []struct {
		name, kind, cols, layout, line string
		want                           Record
		reason                         string
	}{
		{"tsv request column", "tsv", "host=1,time=2,request=3,status=4,bytes=5", "", "1.2.3.4\t2003-09-02T00:00:09-07:00\tGET /a?b HTTP/1.0\t200\t-",
			Record{Host: "1.2.3.4", Method: "GET", URL: "/a?b", Proto: "HTTP/1.0", Status: 200, Bytes: -1, Time: mustTime(t, "02/Sep/2003:00:00:09 -0700")}, ""},
		{"unix time, method", "csv", "time=1,method=2,url=3", "unix", "1062486009.5,HEAD,/x",
			Record{Method: "HEAD", URL: "/x", Status: 200, Bytes: -1, Time: time.Unix(1062486009, 5e8).UTC()}, ""},
		{"quoted quotes", "csv", "url=1,bytes=2", "", `"/a""b",10`,
			Record{Method: "GET", URL: `/a"b`, Status: 200, Bytes: 10}, ""},
		{"bad status", "csv", "url=1,status=2", "", "/a,abc", Record{}, `column 2: status "abc" is not a number`},
		{"fractional bytes", "csv", "url=1,bytes=2", "", "/a,10.5", Record{}, `column 2: bytes "10.5" is not a number`},
		{"unterminated quote", "csv", "url=1", "", `"/a`, Record{}, "unterminated quoted field"},
		{"text after quote", "csv", "url=1", "", `"/a"x,1`, Record{}, "text after a quoted field"},
		{"empty url", "csv", "url=1,bytes=2", "", ",1", Record{}, "empty url column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, err := ParseColumns(tt.cols)
			if err != nil {
				t.Fatal(err)
			}
			recs, perrs, _ := readAll(t, "v", []byte(tt.line+"\n"), Format{Kind: tt.kind, Columns: cols, TimeLayout: tt.layout})
			if tt.reason != "" {
				if len(perrs) != 1 || perrs[0].Reason != tt.reason {
					t.Errorf("errors %v, want %q", perrs, tt.reason)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("errors %v", perrs)
			}
			got := recs[0]
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time %v, want %v", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time, got.Line = time.Time{}, time.Time{}, 0
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseColumns(t *testing.T) {
	good := []string{"url=5,bytes=9", "host=1,date=2,time=3,url=5+6+7,status=8,bytes=9", "request=3, status=4"}
	for _, s := range good {
		c, err := ParseColumns(s)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		c2, err := ParseColumns(c.String())
		if err != nil || c2.String() != c.String() {
			t.Errorf("%q: round trip %q, %v", s, c.String(), err)
		}
	}
	bad := map[string]string{
		"bytes=9":              "needs url=N or request=N",
		"url=0":                "want a column number",
		"url=x":                "want a column number",
		"url=1,url=2":          "mapped twice",
		"url=1,color=2":        `unknown field "color"`,
		"url=1,request=2":      "both url and request",
		"request=1,method=2":   "both method and request",
		"url":                  "is not name=column",
		"url=1,bytes=2+3":      "only url may join",
		"url=1,status=1000000": "want a column number",
	}
	for s, want := range bad {
		if _, err := ParseColumns(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", s, err, want)
		}
	}
	if err := (Format{Kind: "json"}).Validate(); err == nil {
		t.Error("unknown kind accepted")
	}
}

// TestWriteCLFRoundTrip: AppendCLF's lines read back to the same record.
func TestWriteCLFRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/odd.log")
	if err != nil {
		t.Fatal(err)
	}
	recs, _, _ := readAll(t, "odd", data, Format{})
	var out []byte
	for i := range recs {
		out = AppendCLF(out, &recs[i])
	}
	back, perrs, _ := readAll(t, "out", out, Format{})
	if len(perrs) > 0 || len(back) != len(recs) {
		t.Fatalf("%d records, errors %v", len(back), perrs)
	}
	for i := range recs {
		a, b := recs[i], back[i]
		if !a.Time.Equal(b.Time) {
			t.Errorf("line %d: time %v != %v", i+1, a.Time, b.Time)
		}
		a.Time, b.Time, a.Line, b.Line, a.Referer, a.UserAgent = time.Time{}, time.Time{}, 0, 0, "", ""
		if a != b {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, b, a)
		}
	}
	noTime := AppendCLF(nil, &Record{URL: "/x", Status: 7, Bytes: -1, Host: "a b"})
	if want := `a_b - - [01/Jan/1970:00:00:00 +0000] "GET /x" 007 -` + "\n"; string(noTime) != want {
		t.Errorf("got %q, want %q", noTime, want)
	}
}

// TestEndOfUselessLog: a log none of whose lines parses (binary garbage,
// another format, the wrong column mapping), or with no line at all, ends
// in an error naming the file, how many lines were read and why the first
// failed, never in a quiet io.EOF after zero records. One good line is
// enough for a plain io.EOF.
func TestEndOfUselessLog(t *testing.T) {
	good := `h - - [02/Sep/2003:00:00:09 -0700] "GET /a HTTP/1.1" 200 1` + "\n"
	csvCols, err := ParseColumns("url=1,status=2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   string
		format Format
		is     error  // nil: io.EOF
		want   string // in the error
	}{
		{"binary", "\x00\x01\x02\xff\xfe garbage\x1b[2J\nmore\x00", Format{}, ErrNotLog,
			`bin: not a web log: none of its 2 lines parses as Common or Combined Log Format (first: line 1: unterminated [time] field)`},
		{"one bad line", "hello world\n", Format{}, ErrNotLog, "its only line does not parse as Common or Combined Log Format (first: line 1: no [time] field)"},
		{"control bytes escaped", "/a,\x1b[31m\x00\n", Format{Kind: "csv", Columns: csvCols}, ErrNotLog, `first: line 1: column 2: status "\x1b[31m\x00" is not a number`},
		{"wrong mapping", "/a,abc\n/b,xyz\n", Format{Kind: "csv", Columns: csvCols}, ErrNotLog,
			`CSV with columns url=1,status=2 (first: line 1: column 2: status "abc" is not a number)`},
		{"empty", "", Format{}, ErrEmpty, "bin: empty: no line to read"},
		{"header only", "url,status\n", Format{Kind: "csv", Columns: csvCols, Header: true}, ErrEmpty, "empty: no line to read after the header"},
		{"empty gzip", string(gz(t, nil)), Format{}, ErrEmpty, "bin: empty"},
		{"bad then good", "junk\n" + good, Format{}, nil, ""},
		{"good then bad", good + "junk\n", Format{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader("bin", strings.NewReader(tt.data), tt.format)
			if err != nil {
				t.Fatal(err)
			}
			for {
				_, err = rd.Next()
				var pe *ParseError
				if errors.As(err, &pe) {
					continue
				}
				if err != nil {
					break
				}
				if tt.is != nil {
					t.Fatal("a record from a log with no usable line")
				}
			}
			if tt.is == nil {
				if err != io.EOF {
					t.Fatalf("got %v, want io.EOF", err)
				}
				return
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.is, tt.want)
			}
			for _, c := range err.Error() {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("error %q holds a control character", err)
				}
			}
			if _, again := rd.Next(); again != err {
				t.Errorf("Next after the end: %v, want the same error", again)
			}
		})
	}
}

// TestUnixTimeRange: a unix time column is read up to the end of the year
// 9999 (the last a log writes with four digits), so that every record
// read can be written back as CLF and read again.
func TestUnixTimeRange(t *testing.T) {
	cols, err := ParseColumns("time=1,url=2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"0", true}, {"253402300799.5", true}, {"253402300800", false}, {"999999999999", false}, {"-1", false}, {"NaN", false}, {"+Inf", false},
	} {
		recs, perrs, _ := readAll(t, "u.csv", []byte(tc.v+",/a\n"), Format{Kind: "csv", Columns: cols, TimeLayout: "unix"})
		if tc.ok != (len(recs) == 1) {
			t.Errorf("time %s: records %v, errors %v; want accepted %v", tc.v, recs, perrs, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		line := AppendCLF(nil, &recs[0])
		back, perrs, _ := readAll(t, "again", line, Format{})
		if len(back) != 1 || back[0].Time.Unix() != recs[0].Time.Unix() {
			t.Errorf("time %s: CLF %q reads back as %v, %v", tc.v, line, back, perrs)
		}
	}
}
