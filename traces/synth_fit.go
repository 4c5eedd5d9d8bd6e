package traces

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lvslab/lvslab/models"
)

// SynthFit is a SynthModel estimated from a workload, with the evidence.
type SynthFit struct {
	// Model is the estimated model. Seed and Start are left zero
	// (defaults), WorkingSet 0 (sizes as drawn) and Cover true (a real
	// log requests every target it has).
	Model SynthModel `json:"model" yaml:"model"`

	// Zipf is the popularity fit (models.FitZipf) behind Model.Alpha.
	Zipf models.ZipfFit `json:"zipf" yaml:"zipf"`

	// Sizes is the size fit (models.FitSizeDist) behind Model.Sizes.
	Sizes models.SizeFit `json:"sizes" yaml:"sizes"`

	// LocalityHits is the fraction of kept requests whose target was
	// requested by one of the previous LocalityWindow kept requests;
	// LocalityBase is that fraction expected from popularity alone (the
	// mean, over requests, of the request share of the window's distinct
	// targets). Model.TemporalLocality = (Hits-Base)/(1-Base), the
	// re-reference probability that explains the excess.
	LocalityHits float64 `json:"locality_hits" yaml:"locality_hits"`
	LocalityBase float64 `json:"locality_base" yaml:"locality_base"`

	// WorkingSet is the workload's working set in bytes (Model.WorkingSet
	// is left 0; set it to this to make a look-alike of the same size).
	WorkingSet int64 `json:"working_set" yaml:"working_set"`

	// Span is the time from the first to the last kept request.
	Span time.Duration `json:"span" yaml:"span"`

	// Notes lists the parameters that could not be estimated and kept
	// their defaults.
	Notes []string `json:"notes,omitempty" yaml:"notes,omitempty"`
}

// FitSynth estimates a SynthModel from a workload, such as Load with
// ReferenceFilter returns for a real log, so that Synthesize can write a
// look-alike of any length. See FitSynthDetail.
func FitSynth(w *Workload) (SynthModel, error) {
	f, err := FitSynthDetail(w)
	return f.Model, err
}

// FitSynthDetail estimates a SynthModel from w and returns it with the
// evidence:
//
//   - Targets: the distinct objects; Clients: the distinct clients.
//   - Requests: kept requests plus Dropped["dynamic"], and DynamicShare the
//     dynamic ones (dropped, or kept and flagged) among those.
//   - Alpha: models.FitZipf on the objects' request counts (least squares
//     of log count on log rank over the ranks whose count is at least
//     models.FitZipfMinCount).
//   - Sizes: models.FitSizeDist on the objects' sizes (lognormal body by
//     truncation-corrected log-moments below a tail cutoff, Pareto tail by
//     the Hill estimator above it, cutoff by least KS distance).
//   - TemporalLocality over the default LocalityWindow: see SynthFit.
//   - Rate: kept requests per second between the first and the last,
//     divided by 1-DynamicShare (the dynamic requests arrive too).
//
// A parameter that cannot be estimated (too few points) keeps its default
// and is listed in Notes. An empty workload is an error.
func FitSynthDetail(w *Workload) (SynthFit, error) {
	if w == nil || len(w.Requests) == 0 {
		return SynthFit{}, errors.New("traces: fit synth model: the workload has no requests")
	}
	n := len(w.Requests)
	m := SynthModel{Name: w.Name, Targets: len(w.Objects), Cover: true}
	fit := SynthFit{WorkingSet: w.WorkingSet()}

	counts := make([]int, len(w.Objects))
	keptDynamic := 0
	lo, hi := w.Requests[0].Time, w.Requests[0].Time
	for _, r := range w.Requests {
		counts[r.Object]++
		if r.Dynamic {
			keptDynamic++
		}
		lo, hi = min(lo, r.Time), max(hi, r.Time)
	}
	total := n + w.Dropped[DropDynamic]
	m.Requests = total
	m.DynamicShare = float64(w.Dropped[DropDynamic]+keptDynamic) / float64(total)
	m.DynamicShare = min(m.DynamicShare, 0.999)
	m.Clients = min(max(len(w.Clients), 1), MaxSynthClients)

	if z, err := models.FitZipf(counts); err != nil {
		fit.Notes = append(fit.Notes, fmt.Sprintf("alpha: %v; default %v", err, DefaultSynthAlpha))
	} else {
		fit.Zipf = z
		m.Alpha = max(z.Alpha, 1e-9) // 0 would mean "default"
	}

	sizes := make([]float64, 0, len(w.Objects))
	for _, o := range w.Objects {
		if o.Size > 0 {
			sizes = append(sizes, float64(o.Size))
		}
	}
	if s, err := models.FitSizeDist(sizes); err != nil {
		fit.Notes = append(fit.Notes, fmt.Sprintf("sizes: %v; default SURGE sizes", err))
	} else {
		fit.Sizes = s
		m.Sizes = s.Dist
	}

	m.LocalityWindow = DefaultSynthLocalityWindow
	fit.LocalityHits, fit.LocalityBase = localityStats(w.Requests, counts, m.LocalityWindow)
	if fit.LocalityBase < 1 {
		m.TemporalLocality = min(max((fit.LocalityHits-fit.LocalityBase)/(1-fit.LocalityBase), 0), 0.99)
	}

	if lo < 0 && hi > math.MaxInt64+lo { // an unsorted log: times on both sides of the first
		return SynthFit{}, errors.New("traces: fit synth model: the requests span more than 292 years (time.Duration)")
	}
	fit.Span = hi - lo
	if fit.Span > 0 && n > 1 {
		m.Rate = float64(n-1) / fit.Span.Seconds() / (1 - m.DynamicShare)
	} else {
		fit.Notes = append(fit.Notes, fmt.Sprintf("rate: the requests span no time; default %v/s", DefaultSynthRate))
	}
	fit.Model = m
	if err := m.Validate(); err != nil {
		return fit, fmt.Errorf("traces: fit synth model: %w", err)
	}
	return fit, nil
}

// localityStats returns the fraction of requests whose object is among the
// objects of the previous k requests (hits), and the mean request share
// of the distinct objects of those windows (base): the hit fraction a
// trace with the same popularity and no temporal correlation would show.
func localityStats(reqs []Request, counts []int, k int) (hits, base float64) {
	if len(reqs) < 2 {
		return 0, 0
	}
	inWindow := make([]int32, len(counts))
	var windowCount int64 // Σ counts of the window's distinct objects
	var hitN int64
	var baseSum float64
	total := float64(len(reqs))
	for i, r := range reqs {
		if i > 0 {
			if inWindow[r.Object] > 0 {
				hitN++
			}
			baseSum += float64(windowCount) / total
		}
		if inWindow[r.Object] == 0 {
			windowCount += int64(counts[r.Object])
		}
		inWindow[r.Object]++
		if i >= k {
			old := reqs[i-k].Object
			inWindow[old]--
			if inWindow[old] == 0 {
				windowCount -= int64(counts[old])
			}
		}
	}
	steps := float64(len(reqs) - 1)
	return float64(hitN) / steps, baseSum / steps
}
