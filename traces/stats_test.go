package traces

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
// slices under the reference filters (reference-model.md).
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

// TestFitZipf recovers the exponent of exact power laws.
func TestFitZipf(t *testing.T) {
	for _, alpha := range []float64{0.6, 0.8, 1.0, 1.4} {
		counts := make([]int64, 2000)
		for i := range counts {
			counts[len(counts)-1-i] = int64(math.Round(1e9 * math.Pow(float64(i+1), -alpha))) // reversed: order must not matter
		}
		fit := FitZipf(counts)
		if math.Abs(fit.Alpha-alpha) > 1e-3 || fit.R2 < 0.9999 || fit.N != 2000 {
			t.Errorf("alpha %v: fit %+v", alpha, fit)
		}
		if math.Abs(fit.Intercept-math.Log(1e9)) > 1e-3 {
			t.Errorf("alpha %v: intercept %v", alpha, fit.Intercept)
		}
	}
	if fit := FitZipf([]int64{5, 5, 5, 0}); fit.Alpha != 0 || fit.R2 != 1 || fit.N != 3 {
		t.Errorf("flat: %+v", fit)
	}
	if fit := FitZipf(nil); fit != (ZipfFit{}) {
		t.Errorf("empty: %+v", fit)
	}
	if fit := FitZipf([]int64{7}); fit.N != 1 || fit.Alpha != 0 {
		t.Errorf("one: %+v", fit)
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
