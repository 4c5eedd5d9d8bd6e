package traces

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lvslab/lvslab/models"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestCharacterizeGolden: "lvslab trace stats --json" on the testdata
// slices under the reference filters (docs/reference-model.md).
func TestCharacterizeGolden(t *testing.T) {
	for _, name := range []string{"antlr-slice.log", "semicomplete-slice.log"} {
		t.Run(name, func(t *testing.T) {
			s, err := Characterize([]string{filepath.Join("testdata", name)}, ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := s.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(name, ".log")+".stats.json", b.Bytes())
			// The summary agrees with the workload built by Load.
			w, err := Load([]string{filepath.Join("testdata", name)}, ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			var dropped int64
			for _, n := range s.Dropped {
				dropped += n
			}
			if s.Lines != int64(w.Lines) || s.Kept != int64(len(w.Requests)) || s.Targets != len(w.Objects) ||
				s.WorkingSetBytes != w.WorkingSet() || s.Clients != len(w.Clients) || s.Lines != s.Kept+dropped ||
				s.Parsed != s.Lines-s.Errors {
				t.Errorf("summary %+v disagrees with workload (lines %d kept %d targets %d ws %d)", s, w.Lines, len(w.Requests), len(w.Objects), w.WorkingSet())
			}
		})
	}
}

func TestCharacterizeOdd(t *testing.T) {
	s, err := Characterize([]string{"testdata/odd.log"}, ReferenceFilter())
	if err != nil {
		t.Fatal(err)
	}
	if s.Lines != 18 || s.Parsed != 13 || s.Errors != 5 || s.Kept != 8 || s.Targets != 6 || s.Format != "clf" {
		t.Errorf("%+v", s)
	}
	if s.Status["200"] != 12 || s.Status["304"] != 1 || s.Methods["POST"] != 1 || s.Methods["GET"] != 12 {
		t.Errorf("mix: %v %v", s.Status, s.Methods)
	}
	// 6 targets: top 1% = 1 target = /ipv6.html with 3 of 8 requests.
	if s.Top1PctShare != 3.0/8 || s.Top10PctShare != 3.0/8 {
		t.Errorf("top shares %v %v", s.Top1PctShare, s.Top10PctShare)
	}
	if s.BytesTransferred != 1200+2048+512+300+301+100+1500+1300 {
		t.Errorf("bytes %d", s.BytesTransferred)
	}
	// Sizes 100, 300, 301, 512, 1500, 2048; request-weighted: 1500 ×3.
	if s.ObjectSize != (Percentiles{Min: 100, P50: 301, P90: 2048, P99: 2048, Max: 2048, Mean: 4761.0 / 6}) {
		t.Errorf("object sizes %+v", s.ObjectSize)
	}
	if s.RequestSize.P50 != 512 || s.RequestSize.Mean != (4761.0+3000)/8 {
		t.Errorf("request sizes %+v", s.RequestSize)
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lines:                 18", "dropped malformed:     5", "working set:           4761 (4.6 KiB)", "status mix:            200 92.3%, 304 7.7%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, text.String())
		}
	}
}

// zipfLog returns a CLF log in which target /t<i>.html is requested
// counts[i] times, the requests interleaved round-robin so that the order
// of the log is not the order of popularity. A first line the reference
// filter drops (status 404) keeps a log of no requests a web log.
func zipfLog(counts []int) string {
	var b strings.Builder
	b.WriteString("10.0.0.1 - - [02/Sep/2003:00:00:09 -0700] \"GET /missing.html HTTP/1.1\" 404 100\n")
	left := slices.Clone(counts)
	for more := true; more; {
		more = false
		for i := range left {
			if left[i] > 0 {
				left[i]--
				more = true
				fmt.Fprintf(&b, "10.0.0.%d - - [02/Sep/2003:00:00:09 -0700] \"GET /t%d.html HTTP/1.1\" 200 1000\n", i%250, i)
			}
		}
	}
	return b.String()
}

// TestCharacterizeZipf: the Summary's Zipf fit is models.FitZipf on the
// per-target counts (the estimator of "trace synth --fit", so one trace
// reports one alpha), rounded to 6 places, and the text output says n/a
// when the head of ranks with count >= models.FitZipfMinCount is too
// short to fit. Reference: §6.3.7 (the filtered workload the fit sees).
func TestCharacterizeZipf(t *testing.T) {
	reversed := func(c []int) []int {
		slices.Reverse(c)
		return c
	}
	power := func(n int, alpha float64) []int {
		c := make([]int, n)
		for i := range c {
			c[i] = max(1, int(math.Round(3000*math.Pow(float64(i+1), -alpha))))
		}
		return c
	}
	tests := []struct {
		name   string
		counts []int
		fitted bool    // enough ranks with count >= models.FitZipfMinCount
		alpha  float64 // if > 0, the fit must recover it within 0.05
	}{
		{"alpha 0.7", power(400, 0.7), true, 0.7},
		{"alpha 1.2", power(400, 1.2), true, 1.2},
		{"reversed", reversed(power(300, 0.9)), true, 0.9},
		{"three points", []int{50, 9, 5, 4, 4, 3, 1, 1, 1}, true, 0},
		{"two points", []int{50, 9, 4, 4, 3, 1, 1, 1}, false, 0},
		{"all below min count", []int{4, 4, 3, 2, 1}, false, 0},
		{"empty", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := CharacterizeReader("zipf.log", strings.NewReader(zipfLog(tt.counts)), ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			want, ferr := models.FitZipf(tt.counts)
			want.Alpha, want.R2 = round6(want.Alpha), round6(want.R2)
			if s.Zipf != want {
				t.Errorf("summary zipf %+v, models.FitZipf %+v", s.Zipf, want)
			}
			wantText := fmt.Sprintf("zipf alpha:            %.3f (R² %.3f over ranks 1-%d, %d points)\n", want.Alpha, want.R2, want.Ranks, want.Points)
			switch {
			case (ferr == nil) != tt.fitted:
				t.Errorf("fit %+v, error %v; want fitted %v", s.Zipf, ferr, tt.fitted)
			case !tt.fitted:
				wantText = "zipf alpha:            n/a (too few ranks with count >= 5)\n"
				if s.Zipf.Alpha != 0 || s.Zipf.R2 != 0 || s.Zipf.Points >= models.FitZipfMinPoints {
					t.Errorf("unfitted %+v", s.Zipf)
				}
			case tt.alpha > 0 && math.Abs(s.Zipf.Alpha-tt.alpha) > 0.05:
				t.Errorf("fit %+v; want alpha %v", s.Zipf, tt.alpha)
			}
			var text bytes.Buffer
			if err := s.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(text.String(), wantText) {
				t.Errorf("text output lacks %q:\n%s", wantText, text.String())
			}
			var js bytes.Buffer
			if err := s.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back struct {
				Zipf map[string]float64 `json:"zipf"`
			}
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			wantJSON := map[string]float64{"alpha": want.Alpha, "r2": want.R2, "ranks": float64(want.Ranks), "points": float64(want.Points)}
			if !maps.Equal(back.Zipf, wantJSON) {
				t.Errorf("JSON zipf %v, want %v", back.Zipf, wantJSON)
			}
		})
	}
}

// TestCharacterizeReal runs over both real logs (larger than the reader's
// buffer, so aliased strings get overwritten): the summary must agree with
// Load and the method and status keys must stay intact.
func TestCharacterizeReal(t *testing.T) {
	for _, name := range []string{"antlr-2003.log.gz", "semicomplete-2015.log"} {
		path := sharedTrace(t, name)
		s, err := Characterize([]string{path}, ReferenceFilter())
		if err != nil {
			t.Fatal(err)
		}
		w, err := Load([]string{path}, ReferenceFilter())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kept != int64(len(w.Requests)) || s.Targets != len(w.Objects) || s.WorkingSetBytes != w.WorkingSet() {
			t.Errorf("%s: summary and workload disagree", name)
		}
		// One trace, one alpha: stats and the synthesizer's fit agree.
		fit, err := FitSynthDetail(w)
		if err != nil {
			t.Fatal(err)
		}
		if want := (models.ZipfFit{Alpha: round6(fit.Zipf.Alpha), R2: round6(fit.Zipf.R2), Ranks: fit.Zipf.Ranks, Points: fit.Zipf.Points}); s.Zipf != want {
			t.Errorf("%s: stats zipf %+v, synth fit zipf %+v", name, s.Zipf, fit.Zipf)
		}
		t.Logf("%s: zipf %+v", name, s.Zipf)
		var methods, statuses int64
		for m, n := range s.Methods {
			if m != strings.ToUpper(m) || strings.ContainsAny(m, " \"/") || m == "" {
				t.Errorf("%s: corrupt method key %q", name, m)
			}
			methods += n
		}
		for _, n := range s.Status {
			statuses += n
		}
		if methods != s.Parsed || statuses != s.Parsed {
			t.Errorf("%s: method mix sums to %d, status mix to %d, parsed %d", name, methods, statuses, s.Parsed)
		}
		for i, o := range w.Objects {
			if Target(o.Target) != o.Target || (i > 0 && o.Target == w.Objects[i-1].Target) {
				t.Errorf("%s: object %d target %q", name, i, o.Target)
			}
		}
	}
}

// TestCharacterizeLongSpan: the time span of a log is reported exactly
// (never negative, never clipped at time.Duration's 292 years) for logs
// dated anywhere in 0000-9999.
func TestCharacterizeLongSpan(t *testing.T) {
	for _, tc := range []struct {
		first, last string
		span        float64 // seconds
		text        string
	}{
		{"01/Jan/2000:00:00:00", "01/Jan/2000:01:00:01", 3601, "(1h0m1s)"},
		{"01/Jan/1600:00:00:00", "01/Jan/1601:00:00:00", 366 * 86400, "(8784h0m0s)"},
		{"01/Jan/1600:00:00:00", "01/Jan/3000:00:00:00", 511340 * 86400, "(12272160h0m0s)"},        // 3.5 Gregorian cycles less a day
		{"01/Jan/0000:00:00:00", "31/Dec/9999:23:59:59", 25*146097*86400 - 1, "(87658199h59m59s)"}, // 25 cycles
	} {
		log := fmt.Sprintf("h - - [%s +0000] \"GET /a HTTP/1.0\" 200 10\nh - - [%s +0000] \"GET /b HTTP/1.0\" 200 10\n", tc.last, tc.first)
		s, err := CharacterizeReader("span.log", strings.NewReader(log), ReferenceFilter())
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(s.SpanSeconds-tc.span) > 1e-6*tc.span {
			t.Errorf("%s .. %s: span %v s, want %v", tc.first, tc.last, s.SpanSeconds, tc.span)
		}
		var b bytes.Buffer
		if err := s.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.text) {
			t.Errorf("%s .. %s: text lacks %s:\n%s", tc.first, tc.last, tc.text, b.String())
		}
	}
}

// TestWriteTextEscapes: methods and names from a log reach the text report
// with control characters escaped (they could rewrite a terminal).
func TestWriteTextEscapes(t *testing.T) {
	log := "h - - [01/Jan/2000:00:00:00 +0000] \"G\x1b[2JET /a HTTP/1.0\" 200 10\n"
	s, err := CharacterizeReader("x\x00.log", strings.NewReader(log), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `G\x1b[2JET 100.0%`) || !strings.Contains(out, `x\x00.log`) {
		t.Errorf("text lacks the escaped method and name:\n%s", out)
	}
	if strings.ContainsAny(out, "\x00\x1b") {
		t.Errorf("text holds raw control characters:\n%q", out)
	}
}
