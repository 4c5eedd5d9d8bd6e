package traces

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/traces/embedded"
)

func checkAccounting(t *testing.T, w *Workload) {
	t.Helper()
	sum := 0
	for _, n := range w.Dropped {
		sum += n
	}
	if w.Lines != len(w.Requests)+sum {
		t.Errorf("Lines %d != kept %d + dropped %d (%v)", w.Lines, len(w.Requests), sum, w.Dropped)
	}
}

// TestLoadReferenceFilter applies the workload rules of docs/reference-model.md
// (thesis §6.3.7) to the hand-made odd.log, line by line.
func TestLoadReferenceFilter(t *testing.T) {
	var reported []string
	f := ReferenceFilter()
	f.OnError = func(pe *ParseError) { reported = append(reported, pe.Error()) }
	w, err := Load([]string{"testdata/odd.log"}, f)
	if err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, w)
	wantDropped := map[string]int{
		"malformed": 5, // lines 13-17
		"method":    1, // POST
		"status":    1, // 304
		"bytes":     1, // '-'
		"dynamic":   2, // cgi-bin, ?x=1
	}
	if !maps.Equal(w.Dropped, wantDropped) {
		t.Errorf("Dropped = %v, want %v", w.Dropped, wantDropped)
	}
	if len(reported) != 5 || reported[0] != "testdata/odd.log:13: no [time] field" {
		t.Errorf("OnError got %v", reported)
	}
	var targets []string
	for _, o := range w.Objects {
		targets = append(targets, fmt.Sprintf("%s=%d", o.Target, o.Size))
	}
	// /ipv6.html: 1200, 1500 and (target of /ipv6.html#frag) 1300 -> largest 1500;
	// the 304 (0 bytes) is not a kept request.
	want := `/ipv6.html=1500 /nepal.html=2048 /no-protocol.html=512 /say"hello".html=300 /escaped\"quote.html=301 /anon.html=100`
	if got := strings.Join(targets, " "); got != want {
		t.Errorf("objects:\n got %s\nwant %s", got, want)
	}
	if w.WorkingSet() != 1500+2048+512+300+301+100 {
		t.Errorf("working set %d", w.WorkingSet())
	}
	if len(w.Requests) != 8 || w.Name != "odd.log" {
		t.Fatalf("%d requests, name %q", len(w.Requests), w.Name)
	}
	// Times relative to the first kept request (00:00:09 -0700); +0545 line
	// is 00:00:10 +0545 = 18:15:10 -0700 the previous day.
	wantTimes := []time.Duration{0, time.Duration(-(12*3600+45*60)+1) * time.Second, 2 * time.Second}
	for i, d := range wantTimes {
		if w.Requests[i].Time != d {
			t.Errorf("request %d time %v, want %v", i, w.Requests[i].Time, d)
		}
	}
	if w.Clients[0] != "2001:db8::1" || w.Clients[5] != "a1b2c3d4e5" {
		t.Errorf("clients %q", w.Clients)
	}
}

func TestLoadFilters(t *testing.T) {
	from := time.Date(2003, 9, 2, 7, 0, 15, 0, time.UTC) // 00:00:15 -0700
	tests := []struct {
		name        string
		f           Filter
		kept        int
		dynamicKept int
		dropped     map[string]int
	}{
		{"zero filter keeps every parsed line", Filter{}, 13, 2, map[string]int{"malformed": 5}},
		{"keep dynamic", Filter{Methods: []string{"GET"}, Statuses: []int{200}, MinBytes: 1}, 10, 2,
			map[string]int{"malformed": 5, "method": 1, "status": 1, "bytes": 1}},
		{"extra dynamic pattern", Filter{DropDynamic: true, DynamicPatterns: []string{"/form"}}, 10, 0,
			map[string]int{"malformed": 5, "dynamic": 3}},
		{"byte bounds", Filter{MinBytes: 300, MaxBytes: 1300}, 7, 2,
			map[string]int{"malformed": 5, "bytes": 6}},
		{"max bytes keeps '-'", Filter{MaxBytes: 100}, 4, 0,
			map[string]int{"malformed": 5, "bytes": 9}},
		{"time window", Filter{From: from, To: from.Add(3 * time.Second)}, 3, 2,
			map[string]int{"malformed": 5, "window": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Load([]string{"testdata/odd.log"}, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			checkAccounting(t, w)
			dyn := 0
			for _, r := range w.Requests {
				if r.Dynamic {
					dyn++
				}
			}
			if len(w.Requests) != tt.kept || dyn != tt.dynamicKept || !maps.Equal(w.Dropped, tt.dropped) {
				t.Errorf("kept %d (%d dynamic), dropped %v; want %d (%d), %v", len(w.Requests), dyn, w.Dropped, tt.kept, tt.dynamicKept, tt.dropped)
			}
		})
	}
}

func TestLoadStrict(t *testing.T) {
	f := ReferenceFilter()
	f.Strict = true
	_, err := Load([]string{"testdata/antlr-slice.log", "testdata/odd.log"}, f)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Error() != "testdata/odd.log:13: no [time] field" {
		t.Errorf("got %v, want the first bad line of odd.log", err)
	}
	if _, err := Load([]string{"testdata/missing.log"}, Filter{}); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load([]string{"testdata/truncated.log.gz"}, Filter{}); err == nil || !strings.Contains(err.Error(), "truncated.log.gz: truncated gzip stream") {
		t.Errorf("truncated gzip: %v", err)
	}
	if _, err := Load(nil, Filter{}); err == nil {
		t.Error("no files accepted")
	}
}

// TestLoadMultiAndReader: several files concatenate in order; LoadReader on
// gzip bytes equals Load on the plain file.
func TestLoadMultiAndReader(t *testing.T) {
	a, err := Load([]string{"testdata/antlr-slice.log", "testdata/semicomplete-slice.log.gz"}, ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, a)
	if a.Name != "antlr-slice.log,semicomplete-slice.log.gz" || a.Lines != 600 {
		t.Errorf("name %q lines %d", a.Name, a.Lines)
	}
	plain, err := Load([]string{"testdata/semicomplete-slice.log"}, ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/semicomplete-slice.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := LoadReader("semicomplete-slice.log", bytes.NewReader(data), ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(plain) != fmt.Sprint(fromReader) {
		t.Error("LoadReader(gzip bytes) differs from Load(plain file)")
	}
}

// TestLoadDefault: the embedded trace is the committed antlr-2003.log.gz.
func TestLoadDefault(t *testing.T) {
	name, data := embedded.DefaultTrace()
	file, err := os.ReadFile("testdata/antlr-2003.log.gz")
	if err != nil {
		t.Fatal(err)
	}
	if name != "antlr-2003.log.gz" || !bytes.Equal(data, file) {
		t.Fatalf("embedded trace %q differs from testdata/antlr-2003.log.gz", name)
	}
	w, err := LoadDefault(ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	checkAccounting(t, w)
	if w.Lines != 6211 || len(w.Requests) == 0 || w.Dropped["malformed"] != 0 {
		t.Errorf("lines %d kept %d dropped %v", w.Lines, len(w.Requests), w.Dropped)
	}
}

// repoRoot returns the module root (the folder holding go.mod).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// sharedTrace returns the path of a real log in ../shared/traces next to
// the repository, skipping the test when it is absent.
func sharedTrace(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "..", "shared", "traces", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared trace %s not present: %v", p, err)
	}
	return p
}

// TestRealTraces loads both real logs, plain and gzip, and checks that they
// agree and that every line parses.
func TestRealTraces(t *testing.T) {
	for _, name := range []string{"antlr-2003.log", "semicomplete-2015.log"} {
		t.Run(name, func(t *testing.T) {
			plain, err := Load([]string{sharedTrace(t, name)}, ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			zipped, err := Load([]string{sharedTrace(t, name+".gz")}, ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			checkAccounting(t, plain)
			zipped.Name = plain.Name
			if fmt.Sprint(plain) != fmt.Sprint(zipped) {
				t.Error("gzip and plain workloads differ")
			}
			if plain.Dropped["malformed"] != 0 {
				t.Errorf("%d malformed lines", plain.Dropped["malformed"])
			}
			t.Logf("%s: lines %d kept %d targets %d working set %d dropped %v", name, plain.Lines, len(plain.Requests), len(plain.Objects), plain.WorkingSet(), plain.Dropped)
		})
	}
}

// TestLoadTimeSpan: request times are offsets from the first request, as
// time.Duration, for logs dated anywhere in 0000-9999 (no wrap through
// int64 Unix nanoseconds outside 1678-2262); an offset beyond the 292
// years a Duration holds is an error naming the file and line.
func TestLoadTimeSpan(t *testing.T) {
	line := func(date string) string {
		return `h - - [` + date + ` +0000] "GET /a HTTP/1.0" 200 10` + "\n"
	}
	tests := []struct {
		name  string
		dates []string
		want  []time.Duration // nil: an error
		err   string
	}{
		{"1600", []string{"01/Jan/1600:00:00:00", "01/Jan/1600:00:01:00"}, []time.Duration{0, time.Minute}, ""},
		{"2300", []string{"01/Jan/2300:00:00:00", "01/Jan/2300:00:00:05"}, []time.Duration{0, 5 * time.Second}, ""},
		{"1600 to 1800", []string{"01/Jan/1600:00:00:00", "01/Jan/1800:00:00:00"},
			[]time.Duration{0, time.Duration(73049*24) * time.Hour}, ""},
		{"1600 to 3000", []string{"01/Jan/1600:00:00:00", "01/Jan/1700:00:00:00", "01/Jan/3000:00:00:00"}, nil,
			"span.log:3: time 3000-01-01T00:00:00Z is more than 292 years after the first request's (1600-01-01T00:00:00Z)"},
		{"3000 back to 1600", []string{"01/Jan/3000:00:00:00", "01/Jan/1600:00:00:00"}, nil,
			"span.log:2: time 1600-01-01T00:00:00Z is more than 292 years before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			for _, d := range tt.dates {
				b.WriteString(line(d))
			}
			w, err := LoadReader("span.log", strings.NewReader(b.String()), Filter{})
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Duration
			for _, r := range w.Requests {
				got = append(got, r.Time)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("times %v, want %v", got, tt.want)
			}
		})
	}
}
