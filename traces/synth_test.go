package traces

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvslab/lvslab/models"
)

// small returns a quick model for tests.
func smallModel(t testing.TB) SynthModel {
	t.Helper()
	m, err := SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func synthBytes(t testing.TB, m SynthModel) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Synthesize(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func synthHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestSynthesizeGolden pins the bytes of the "small" preset: the first
// lines and the SHA-256 of the whole log. Regenerate with -update
// after an intended change of the generator.
func TestSynthesizeGolden(t *testing.T) {
	out := synthBytes(t, smallModel(t))
	if again := synthBytes(t, smallModel(t)); !bytes.Equal(out, again) {
		t.Fatal("two runs of the same model differ")
	}
	head := strings.Join(strings.SplitAfterN(string(out), "\n", 6)[:5], "")
	got := fmt.Sprintf("sha256 %s\nlines %d\n%s", synthHash(out), bytes.Count(out, []byte("\n")), head)
	golden(t, "synth-small.golden", []byte(got))
}

func TestSynthesizeSeed(t *testing.T) {
	m := smallModel(t)
	a := synthHash(synthBytes(t, m))
	m.Seed++
	if b := synthHash(synthBytes(t, m)); a == b {
		t.Error("seeds 1 and 2 give the same log")
	}
}

// TestSynthWorkloadMatchesReader checks the fast path against the text
// path: reading the CLF log back with Load and ReferenceFilter gives the
// Workload that SynthWorkload builds. Reference: docs/reference-model.md,
// workload rules 1-3.
func TestSynthWorkloadMatchesReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*SynthModel)
	}{
		{"static", func(m *SynthModel) { m.DynamicShare = 0 }},
		{"dynamic", func(m *SynthModel) { m.DynamicShare = 0.2 }},
		{"zone-and-locality", func(m *SynthModel) {
			m.Start = time.Date(2003, 9, 2, 23, 59, 58, 500e6, time.FixedZone("", -7*3600))
			m.TemporalLocality, m.LocalityWindow, m.Rate = 0.5, 10, 50
		}},
		{"no-cover-tiny", func(m *SynthModel) { m.Requests, m.Targets, m.Cover, m.Clients = 50, 400, false, 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := smallModel(t)
			tc.edit(&m)
			log := synthBytes(t, m)
			// sameAsReader checks that reading the synthesized log through f
			// gives what the constructor (named what) built.
			sameAsReader := func(what string, build func(SynthModel) (*Workload, error), f Filter) *Workload {
				t.Helper()
				want, err := build(m)
				if err != nil {
					t.Fatal(err)
				}
				got, err := LoadReader("log", bytes.NewReader(log), f)
				if err != nil {
					t.Fatal(err)
				}
				got.Name = want.Name
				if !reflect.DeepEqual(got, want) {
					t.Errorf("reader: %d lines, %d requests, %d objects, dropped %v; %s: %d, %d, %d, %v",
						got.Lines, len(got.Requests), len(got.Objects), got.Dropped, what,
						want.Lines, len(want.Requests), len(want.Objects), want.Dropped)
				}
				return want
			}
			if want := sameAsReader("SynthWorkload", SynthWorkload, ReferenceFilter()); want.Lines != m.Requests {
				t.Errorf("lines %d, want requests %d", want.Lines, m.Requests)
			}
			// Keeping dynamic requests: as the reader without DropDynamic.
			f := ReferenceFilter()
			f.DropDynamic = false
			sameAsReader("SynthWorkloadDynamic", SynthWorkloadDynamic, f)
		})
	}
}

// TestSynthWorkloadConsistency checks the invariants of the Workload
// contract on its own.
func TestSynthWorkloadConsistency(t *testing.T) {
	m := smallModel(t)
	w, err := SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for _, v := range w.Dropped {
		dropped += v
	}
	if w.Lines != len(w.Requests)+dropped || w.Lines != m.Requests {
		t.Errorf("lines %d, requests %d, dropped %d, model requests %d", w.Lines, len(w.Requests), dropped, m.Requests)
	}
	if len(w.Objects) != m.Targets {
		t.Errorf("%d objects, want every one of %d targets (cover)", len(w.Objects), m.Targets)
	}
	seenObj := make([]bool, len(w.Objects))
	seenCli := make([]bool, len(w.Clients))
	var prev time.Duration
	for i, r := range w.Requests {
		if !seenObj[r.Object] && (r.Object == 0 || seenObj[r.Object-1]) {
			seenObj[r.Object] = true
		} else if !seenObj[r.Object] {
			t.Fatalf("request %d: object %d appears before object %d", i, r.Object, r.Object-1)
		}
		if !seenCli[r.Client] && r.Client > 0 && !seenCli[r.Client-1] {
			t.Fatalf("request %d: client %d appears before client %d", i, r.Client, r.Client-1)
		}
		seenCli[r.Client] = true
		if r.Time < prev || r.Time%time.Second != 0 || r.Dynamic {
			t.Fatalf("request %d: time %v after %v, dynamic %v", i, r.Time, prev, r.Dynamic)
		}
		prev = r.Time
	}
	if w.Requests[0].Time != 0 {
		t.Errorf("first time %v, want 0", w.Requests[0].Time)
	}
	names := map[string]bool{}
	for _, o := range w.Objects {
		if o.Size < 1 || names[o.Target] || Target(o.Target) != o.Target || IsDynamic(o.Target, nil) {
			t.Fatalf("bad object %+v", o)
		}
		names[o.Target] = true
	}
	// Poisson arrivals at Rate: the span is about Requests/Rate.
	span := w.Requests[len(w.Requests)-1].Time.Seconds()
	if want := float64(m.Requests) / m.Rate; math.Abs(span-want) > 0.03*want {
		t.Errorf("span %.0f s, want about %.0f s", span, want)
	}
}

// TestSynthPresetThesis checks the thesis workload (thesis §4.3, §6.3.7:
// 37,804 targets covering 1,629 MB).
func TestSynthPresetThesis(t *testing.T) {
	m, err := SynthPreset("thesis")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if m.Targets != 37_804 || m.WorkingSet != 1_629<<20 {
		t.Fatalf("targets %d, working set %d", m.Targets, m.WorkingSet)
	}
	if testing.Short() {
		m.Requests = 200_000 // still enough for every target with cover
	}
	w, err := SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Objects) != ThesisTargets {
		t.Errorf("%d distinct targets, want %d", len(w.Objects), ThesisTargets)
	}
	if ws := w.WorkingSet(); math.Abs(float64(ws-ThesisWorkingSet)) > 0.01*ThesisWorkingSet {
		t.Errorf("working set %d, want %d ± 1%%", ws, int64(ThesisWorkingSet))
	} else if ws != ThesisWorkingSet {
		t.Errorf("working set %d, want exactly %d", ws, int64(ThesisWorkingSet))
	}
	if len(w.Requests) != m.Requests || w.Lines != m.Requests {
		t.Errorf("%d requests, want %d (no dynamic requests)", len(w.Requests), m.Requests)
	}
}

func TestSynthPresets(t *testing.T) {
	for _, name := range SynthPresets() {
		m, err := SynthPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if m != m.Resolved() {
			t.Errorf("%s is not resolved", name)
		}
	}
	if _, err := SynthPreset("nope"); err == nil || !strings.Contains(err.Error(), "thesis") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestSynthValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*SynthModel)
	}{
		{"requests", func(m *SynthModel) { m.Requests = -1 }},
		{"targets", func(m *SynthModel) { m.Targets = -5 }},
		{"alpha", func(m *SynthModel) { m.Alpha = -0.5 }},
		{"working_set", func(m *SynthModel) { m.WorkingSet = -1 }},
		{"working_set", func(m *SynthModel) { m.WorkingSet = 10 }},
		{"temporal_locality", func(m *SynthModel) { m.TemporalLocality = 1 }},
		{"locality_window", func(m *SynthModel) { m.LocalityWindow = -2 }},
		{"dynamic_share", func(m *SynthModel) { m.DynamicShare = 1.5 }},
		{"clients", func(m *SynthModel) { m.Clients = MaxSynthClients + 1 }},
		{"rate", func(m *SynthModel) { m.Rate = math.Inf(1) }},
		{"rate", func(m *SynthModel) { m.Rate = 1e-6 }}, // 20,000 requests over 634 years
		{"rate", func(m *SynthModel) { m.Start = time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC) }},
		{"start", func(m *SynthModel) { m.Start = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"start", func(m *SynthModel) { m.Start = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"requests", func(m *SynthModel) { m.Requests = 100 }}, // fewer than targets, with cover
		{"sizes", func(m *SynthModel) { m.Sizes = models.SizeDist{Mu: 1} }},
	} {
		m := smallModel(t)
		tc.edit(&m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v does not name the field", tc.field, err)
		}
		if err := Synthesize(&bytes.Buffer{}, m); err == nil {
			t.Errorf("%s: Synthesize accepted an invalid model", tc.field)
		}
		if _, err := SynthWorkload(m); err == nil {
			t.Errorf("%s: SynthWorkload accepted an invalid model", tc.field)
		}
	}
	if err := (SynthModel{}).Validate(); err != nil {
		t.Errorf("zero model (all defaults): %v", err)
	}
}

// TestSynthCover: without Cover a short trace misses unpopular targets;
// with it every target appears, at the same request count.
func TestSynthCover(t *testing.T) {
	m := SynthModel{Seed: 3, Requests: 3000, Targets: 1000, Alpha: 1.2}
	w, err := SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Objects) >= m.Targets {
		t.Fatalf("without cover: %d objects; the test needs missing targets", len(w.Objects))
	}
	m.Cover = true
	wc, err := SynthWorkload(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(wc.Objects) != m.Targets || len(wc.Requests) != m.Requests {
		t.Errorf("with cover: %d objects, %d requests; want %d, %d", len(wc.Objects), len(wc.Requests), m.Targets, m.Requests)
	}
	// Exactly as many requests changed as targets were missing.
	changed := 0
	for i := range w.Requests {
		if w.Objects[w.Requests[i].Object].Target != wc.Objects[wc.Requests[i].Object].Target {
			changed++
		}
	}
	if changed != m.Targets-len(w.Objects) {
		t.Errorf("%d requests changed, want %d", changed, m.Targets-len(w.Objects))
	}
	// Requests == Targets: every request must be a different target.
	m.Requests = m.Targets
	if wc, err = SynthWorkload(m); err != nil || len(wc.Objects) != m.Targets {
		t.Errorf("requests = targets: %v, %d objects", err, len(wc.Objects))
	}
	// Dynamic requests can leave too few static ones.
	m.DynamicShare = 0.5
	if _, err := SynthWorkload(m); err == nil || !strings.Contains(err.Error(), "cover") {
		t.Errorf("too few static requests for cover: %v", err)
	}
}

// TestSynthStreams: each random element has its own stream, so changing
// one parameter leaves the others' draws alone.
func TestSynthStreams(t *testing.T) {
	targets := func(m SynthModel) []string {
		w, err := SynthWorkload(m)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(w.Requests))
		for i, r := range w.Requests {
			out[i] = fmt.Sprintf("%s %d", w.Objects[r.Object].Target, w.Objects[r.Object].Size)
		}
		return out
	}
	m := smallModel(t)
	m.DynamicShare = 0
	base := targets(m)
	m.Clients, m.Rate = 7, 99
	if !reflect.DeepEqual(base, targets(m)) {
		t.Error("changing clients and rate changed the target sequence")
	}
}

// TestFitSynthRoundTrip synthesizes a trace from known parameters and
// recovers them with FitSynth.
func TestFitSynthRoundTrip(t *testing.T) {
	truth := SynthModel{
		Seed: 5, Requests: 300_000, Targets: 3000, Alpha: 0.8,
		Sizes:            models.SizeDist{Mu: 9.357, Sigma: 1.318, TailShare: 0.07, TailXm: 133000, TailShape: 1.2, Max: 1e9},
		TemporalLocality: 0.3, DynamicShare: 0.1, Clients: 500, Rate: 20, Cover: true,
	}
	w, err := SynthWorkload(truth)
	if err != nil {
		t.Fatal(err)
	}
	fit, err := FitSynthDetail(w)
	if err != nil {
		t.Fatal(err)
	}
	f := fit.Model
	t.Logf("fit: %+v\nzipf %+v, sizes tail %d KS %.4f, locality hits %.3f base %.3f", f, fit.Zipf, fit.Sizes.TailCount, fit.Sizes.KS, fit.LocalityHits, fit.LocalityBase)
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"targets", float64(f.Targets), float64(truth.Targets), 0},
		{"requests", float64(f.Requests), float64(truth.Requests), 0},
		{"clients", float64(f.Clients), float64(truth.Clients), 0},
		{"alpha", f.Alpha, truth.Alpha, 0.05},
		{"temporal_locality", f.TemporalLocality, truth.TemporalLocality, 0.03},
		{"dynamic_share", f.DynamicShare, truth.DynamicShare, 0.005},
		{"rate", f.Rate, truth.Rate, 0.03 * truth.Rate},
		{"sizes.mu", f.Sizes.Mu, truth.Sizes.Mu, 0.15},
		{"sizes.sigma", f.Sizes.Sigma, truth.Sizes.Sigma, 0.15},
		{"sizes.tail_shape", f.Sizes.TailShape, truth.Sizes.TailShape, 0.3},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s: fitted %v, want %v ± %v", c.name, c.got, c.want, c.tol)
		}
	}
	var dist float64
	for x := 10.0; x < 1e9; x *= 1.05 {
		dist = max(dist, math.Abs(f.Sizes.CDF(x)-truth.Sizes.CDF(x)))
	}
	if dist > 0.04 {
		t.Errorf("size CDF: sup |F_fit - F_true| = %.3f > 0.04", dist)
	}
	// Without temporal locality the estimate is near 0.
	truth.TemporalLocality = 0
	w, _ = SynthWorkload(truth)
	if f, _ := FitSynth(w); f.TemporalLocality > 0.02 {
		t.Errorf("no locality: fitted %v", f.TemporalLocality)
	}
	if _, err := FitSynth(&Workload{}); err == nil {
		t.Error("empty workload: no error")
	}
}

// TestFitSynthRealTraces fits the shared real logs, then fits a look-alike
// synthesized from each fit and checks that it has the same parameters.
func TestFitSynthRealTraces(t *testing.T) {
	for _, name := range []string{"antlr-2003.log", "semicomplete-2015.log"} {
		t.Run(name, func(t *testing.T) {
			w, err := Load([]string{sharedTrace(t, name)}, ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			fit, err := FitSynthDetail(w)
			if err != nil {
				t.Fatal(err)
			}
			m := fit.Model
			t.Logf("fit: %+v\nzipf %+v; sizes tail %d KS %.3f; locality hits %.3f base %.3f; notes %v",
				m, fit.Zipf, fit.Sizes.TailCount, fit.Sizes.KS, fit.LocalityHits, fit.LocalityBase, fit.Notes)
			if m.Targets != len(w.Objects) || m.Requests != len(w.Requests)+w.Dropped[DropDynamic] || len(fit.Notes) > 0 {
				t.Fatalf("fit %+v of %d objects, %d requests", m, len(w.Objects), len(w.Requests))
			}
			if m.Alpha < 0.5 || m.Alpha > 1.6 || fit.Zipf.R2 < 0.8 {
				t.Errorf("alpha %v (R² %v) outside what web logs show", m.Alpha, fit.Zipf.R2)
			}
			m.Seed = 1
			look, err := SynthWorkload(m)
			if err != nil {
				t.Fatal(err)
			}
			again, err := FitSynthDetail(look)
			if err != nil {
				t.Fatal(err)
			}
			a := again.Model
			if len(look.Objects) != len(w.Objects) || math.Abs(a.Alpha-m.Alpha) > 0.2 ||
				math.Abs(a.DynamicShare-m.DynamicShare) > 0.02 || math.Abs(a.TemporalLocality-m.TemporalLocality) > 0.1 {
				t.Errorf("look-alike fits to %+v", a)
			}
		})
	}
}

// FuzzSynthesize: any small model either fails validation or writes a log
// that reads back, line for line, into the Workload SynthWorkload builds.
func FuzzSynthesize(f *testing.F) {
	f.Add(uint64(1), uint16(100), uint16(50), 0.8, 0.1, 0.1, uint8(5), true)
	f.Add(uint64(7), uint16(1), uint16(1), 2.0, 0.0, 0.0, uint8(1), false)
	f.Fuzz(func(t *testing.T, seed uint64, requests, targets uint16, alpha, locality, dynamic float64, clients uint8, cover bool) {
		m := SynthModel{
			Seed: seed, Requests: int(requests), Targets: int(targets) + 1, Alpha: alpha,
			TemporalLocality: locality, DynamicShare: dynamic, Clients: int(clients), Cover: cover,
			Sizes: models.SizeDist{Mu: 8, Sigma: 2, TailShare: 0.1, TailXm: 1e5, TailShape: 1},
		}
		if m.Validate() != nil {
			return
		}
		var buf bytes.Buffer
		err := Synthesize(&buf, m)
		want, werr := SynthWorkload(m)
		if (err == nil) != (werr == nil) {
			t.Fatalf("Synthesize: %v, SynthWorkload: %v", err, werr)
		}
		if err != nil {
			return
		}
		got, err := LoadReader("fuzz", &buf, ReferenceFilter())
		if err != nil {
			t.Fatal(err)
		}
		got.Name = want.Name
		if !reflect.DeepEqual(emptyToNil(got), emptyToNil(want)) {
			t.Fatalf("model %+v: the log does not read back into SynthWorkload's workload", m)
		}
	})
}

// emptyToNil makes a workload's empty slices nil, so that a model whose
// requests are all dropped (every one dynamic) compares equal whichever
// way the two builders represent "none" (testdata/fuzz/FuzzSynthesize).
func emptyToNil(w *Workload) *Workload {
	c := *w
	if len(c.Objects) == 0 {
		c.Objects = nil
	}
	if len(c.Clients) == 0 {
		c.Clients = nil
	}
	if len(c.Requests) == 0 {
		c.Requests = nil
	}
	return &c
}

func ExampleSynthesize() {
	m := SynthModel{Seed: 1, Requests: 5, Targets: 10, Clients: 3, DynamicShare: 0.4, Rate: 0.5}
	var buf bytes.Buffer
	if err := Synthesize(&buf, m); err != nil {
		panic(err)
	}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	// Output:
	// 10.0.0.2 - - [01/Mar/2000:00:00:00 +0000] "GET /d04/f000004.html HTTP/1.0" 200 5522
	// 10.0.0.3 - - [01/Mar/2000:00:00:02 +0000] "GET /d02/f000002.jpg HTTP/1.0" 200 64722
	// 10.0.0.3 - - [01/Mar/2000:00:00:06 +0000] "GET /d02/f000002.jpg?q=197147 HTTP/1.0" 200 64722
	// 10.0.0.1 - - [01/Mar/2000:00:00:10 +0000] "GET /d01/f000001.jpg HTTP/1.0" 200 55872
	// 10.0.0.1 - - [01/Mar/2000:00:00:10 +0000] "GET /d06/f000006.html HTTP/1.0" 200 8890
}

func benchmarkSynth(b *testing.B, f func(m SynthModel) error) {
	m, err := SynthPreset("thesis")
	if err != nil {
		b.Fatal(err)
	}
	m.Requests = 200_000
	for b.Loop() {
		if err := f(m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(m.Requests)*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkSynthWorkload measures the in-memory path on the thesis preset
// (200,000 requests per run, 37,804 targets, cover on).
func BenchmarkSynthWorkload(b *testing.B) {
	benchmarkSynth(b, func(m SynthModel) error { _, err := SynthWorkload(m); return err })
}

// BenchmarkSynthesize measures the CLF writer on the same model.
func BenchmarkSynthesize(b *testing.B) {
	benchmarkSynth(b, func(m SynthModel) error { return Synthesize(synthDiscard{}, m) })
}

type synthDiscard struct{}

func (synthDiscard) Write(p []byte) (int, error) { return len(p), nil }

// TestSynthTimeLimits: a log's timestamps are written as they are, far
// from 1970 too (no wrap through int64 nanoseconds), and a request that
// would come past the end of 9999 or more than 292 years after the start
// stops generation with an error naming it, never a wrapped time.
func TestSynthTimeLimits(t *testing.T) {
	base := smallModel(t)
	base.Cover, base.Requests = false, 50
	at := func(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name      string
		start     time.Time
		rate      float64
		firstYear string // of the first line; "" when generation must fail
		err       string
	}{
		{"2300", at(2300), 10, "/2300:", ""},
		{"1600", at(1600), 10, "/1600:", ""},
		{"year 0", at(0), 10, "/0000:", ""},
		{"1e-6 per second", at(2000), 1e-6, "/2000:", ""}, // 50 requests over 1.5 years
		// The mean span fits, a Poisson draw does not: 2 requests at a
		// mean gap of 290 years.
		{"past 292 years", at(2000), 1 / (290 * 365.2425 * 86400), "", "292 years"},
		{"past 9999", time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC), 1, "", "9999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base
			m.Start, m.Rate = tc.start, tc.rate
			if tc.err != "" {
				m.Requests = 2
				if strings.Contains(tc.err, "9999") {
					m.Requests = 50 // mean span 49 s: past the 60 s left for some seeds
				}
				for seed := uint64(0); seed < 100; seed++ {
					m.Seed = seed
					if m.Validate() != nil {
						continue // refused up front: fine, but try a seed that gets further
					}
					var buf bytes.Buffer
					err := Synthesize(&buf, m)
					_, werr := SynthWorkload(m)
					if err == nil {
						if werr != nil {
							t.Fatalf("seed %d: Synthesize succeeded, SynthWorkload %v", seed, werr)
						}
						continue
					}
					if !strings.Contains(err.Error(), tc.err) || werr == nil || werr.Error() != err.Error() {
						t.Fatalf("seed %d: Synthesize: %v; SynthWorkload: %v; want errors naming %s", seed, err, werr, tc.err)
					}
					return
				}
				t.Fatal("no seed made generation fail")
			}
			out := synthBytes(t, m)
			first, _, _ := bytes.Cut(out, []byte("\n"))
			if !bytes.Contains(first, []byte(tc.firstYear)) {
				t.Fatalf("first line %q, want the year %s", first, tc.firstYear)
			}
			w, err := LoadReader("log", bytes.NewReader(out), ReferenceFilter())
			if err != nil {
				t.Fatal(err)
			}
			want, err := SynthWorkload(m)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range w.Requests {
				if r.Time < 0 || i > 0 && r.Time < w.Requests[i-1].Time || r.Time != want.Requests[i].Time {
					t.Fatalf("request %d at %v (previous %v, SynthWorkload %v): time went back", i, r.Time, w.Requests[max(i-1, 0)].Time, want.Requests[i].Time)
				}
			}
		})
	}
}
