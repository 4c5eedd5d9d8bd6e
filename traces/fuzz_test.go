package traces

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// drain reads every record; it must never panic, and every error must be a
// *ParseError (reading goes on), io.EOF, or a final I/O error.
func drain(t *testing.T, data []byte, f Format) {
	rd, err := NewReader("fuzz", bytes.NewReader(data), f)
	if err != nil {
		return
	}
	parsed, bad := 0, 0
	for i := 0; ; i++ {
		rec, err := rd.Next()
		if err == io.EOF {
			if parsed == 0 {
				t.Fatalf("io.EOF after no record (%d bad lines): want ErrEmpty or ErrNotLog", bad)
			}
			return
		}
		if errors.Is(err, ErrEmpty) || errors.Is(err, ErrNotLog) {
			if parsed > 0 || errors.Is(err, ErrEmpty) != (bad == 0) {
				t.Fatalf("%v after %d records and %d bad lines", err, parsed, bad)
			}
			return
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			if pe.Line < 1 || pe.Reason == "" {
				t.Fatalf("bad parse error %+v", pe)
			}
			bad++
			continue
		}
		if err != nil {
			return
		}
		parsed++
		if rec.URL == "" {
			t.Fatalf("record without URL: %+v", rec)
		}
		if f.Kind == "" {
			// A parsed CLF record written back parses to the same fields.
			line := AppendCLF(nil, rec)
			back, perrs, _ := readAll(t, "again", line, Format{})
			if len(perrs) > 0 || len(back) != 1 || back[0].URL != rec.URL || back[0].Status != rec.Status || back[0].Bytes != rec.Bytes || back[0].Method != rec.Method {
				t.Fatalf("round trip of %q: %+v, %v", line, back, perrs)
			}
		}
	}
}

func FuzzParseCLF(f *testing.F) {
	for _, name := range []string{"testdata/odd.log", "testdata/antlr-slice.log"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.SplitN(string(data), "\n", 20) {
			f.Add([]byte(line))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(t, data, Format{})
	})
}

func FuzzParseCSV(f *testing.F) {
	data, err := os.ReadFile("testdata/edgar.csv")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f.Add([]byte(line), "host=1,date=2,time=3,url=5+6+7,status=8,bytes=9", false)
	}
	f.Add([]byte("1.2.3.4\t2003-09-02T00:00:09Z\tGET /a HTTP/1.0\t200\t5"), "host=1,time=2,request=3,status=4,bytes=5", true)
	f.Add([]byte(`"/a""b",10`), "url=1,bytes=2", false)
	f.Fuzz(func(t *testing.T, data []byte, spec string, tab bool) {
		cols, err := ParseColumns(spec)
		if err != nil {
			return
		}
		kind := "csv"
		if tab {
			kind = "tsv"
		}
		drain(t, data, Format{Kind: kind, Columns: cols})
	})
}

func FuzzGzip(f *testing.F) {
	plain, err := os.ReadFile("testdata/odd.log")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Add(gz(f, plain))
	trunc, err := os.ReadFile("testdata/truncated.log.gz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(trunc[:300])
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader("fuzz.gz", bytes.NewReader(data), Format{})
		if err != nil {
			if !IsGzip(data) {
				t.Fatalf("plain input rejected: %v", err)
			}
			return
		}
		for {
			_, err := rd.Next()
			if err == io.EOF || errors.Is(err, ErrEmpty) || errors.Is(err, ErrNotLog) {
				return
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				continue
			}
			if err != nil {
				if !IsGzip(data) || !strings.Contains(err.Error(), "fuzz.gz") {
					t.Fatalf("error %v", err)
				}
				return
			}
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"1MiB", "4MiB", "1.5KiB", "32MB", "0", "9223372036854775807", "1e3", ".", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseBytes(%q) = %d", s, n)
		}
		if back, err := ParseBytes(FormatBytes(n)); err != nil || back != n {
			t.Fatalf("ParseBytes(%q) = %d; FormatBytes round trip %d, %v", s, n, back, err)
		}
	})
}

func FuzzParseColumns(f *testing.F) {
	f.Add("host=1,date=2,time=3,url=5+6+7,status=8,bytes=9")
	f.Add("request=3")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColumns(s)
		if err != nil {
			return
		}
		c2, err := ParseColumns(c.String())
		if err != nil || c2.String() != c.String() {
			t.Fatalf("round trip of %q: %q, %v", s, c.String(), err)
		}
	})
}
