package traces

import (
	"bytes"
	"slices"
	"testing"
)

// SynthesizeProgress writes what Synthesize writes and reports every pass
// over the request process, in order, ending each one, done never going
// back within a pass.
func TestSynthesizeProgress(t *testing.T) {
	small, err := SynthPreset("small")
	if err != nil {
		t.Fatal(err)
	}
	small.Requests = 3*SynthProgressEvery + 5
	small.Targets = small.Requests / 2 // some never drawn: cover places them
	noCover := small
	noCover.Cover = false
	for _, tc := range []struct {
		name   string
		m      SynthModel
		phases []string
	}{
		{"cover", small, []string{SynthCounting, SynthPlacing, SynthWriting}},
		{"no cover", noCover, []string{SynthWriting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := Synthesize(&want, tc.m); err != nil {
				t.Fatal(err)
			}
			var reports []SynthProgress
			if err := SynthesizeProgress(&got, tc.m, func(p SynthProgress) { reports = append(reports, p) }); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatal("SynthesizeProgress writes other bytes than Synthesize")
			}
			var phases []string
			for i, r := range reports {
				if r.Total != tc.m.Requests || r.Done < 0 || r.Done > r.Total {
					t.Fatalf("report %d: %+v", i, r)
				}
				if len(phases) == 0 || phases[len(phases)-1] != r.Phase {
					phases = append(phases, r.Phase)
				} else if r.Done <= reports[i-1].Done {
					t.Fatalf("report %d goes back: %+v after %+v", i, r, reports[i-1])
				}
			}
			if !slices.Equal(phases, tc.phases) {
				t.Errorf("phases %v, want %v", phases, tc.phases)
			}
			if last := reports[len(reports)-1]; last.Phase != SynthWriting || last.Done != last.Total {
				t.Errorf("last report %+v, want the end of writing", last)
			}
			if n := len(reports); n < 4 {
				t.Errorf("%d reports for %d requests, want one every %d", n, tc.m.Requests, SynthProgressEvery)
			}
		})
	}
}
